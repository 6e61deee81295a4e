"""CLI commands and the local runtime helpers that need no Ray: keys, serve-config, local
key creation, Redis discovery, LLM selection from the environment, error messages."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from serving_fakes import RedisProcess, free_port
from typer.testing import CliRunner

from core.errors import LlmopsError
from llmops.cli import app
from serving.auth import hash_key
from serving.client import resolve_url
from serving.config import OpenAIBackend, TransformersBackend
from serving.local import (
    LocalPaths,
    LocalRuntimeError,
    RayAccess,
    RunningServer,
    discover_redis,
    ensure_local_key,
    llm_from_env,
    load_keys,
    local_app_config,
    running_server,
)

runner = CliRunner()


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    home = ["--home", str(tmp_path)]
    r = runner.invoke(
        app,
        [
            "keys",
            "create",
            "ci-bot",
            "--team",
            "platform",
            "--rate-limit",
            "30",
            "--model",
            "tiny",
            *home,
        ],
    )
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("sk-llmops-")
    stored = json.loads((tmp_path / "keys.json").read_text())
    assert stored == {
        "keys": [
            {
                "id": "ci-bot",
                "sha256": hash_key(key),
                "team": "platform",
                "rate_limit_per_minute": 30,
                "models": ["tiny"],
            }
        ]
    }
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    listed = runner.invoke(app, ["keys", "list", *home]).output
    assert "ci-bot" in listed and "team=platform" in listed and key not in listed
    dup = runner.invoke(app, ["keys", "create", "ci-bot", *home])
    assert isinstance(dup.exception, LlmopsError) and "exists" in str(dup.exception)
    assert runner.invoke(app, ["keys", "revoke", "ci-bot", *home]).exit_code == 0
    gone = runner.invoke(app, ["keys", "revoke", "ci-bot", *home])
    assert "no key with id 'ci-bot'" in str(gone.exception)


def test_serve_config_renders_yaml(tmp_path: Path) -> None:
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "applications": [
                    {
                        "name": "rag",
                        "models": [
                            {
                                "name": "m",
                                "backends": [
                                    {
                                        "kind": "openai",
                                        "base_url": "https://api.example.com/v1",
                                        "model": "x",
                                        "api_key_env": "EXAMPLE_KEY",
                                    }
                                ],
                            }
                        ],
                    }
                ]
            }
        )
    )
    out = tmp_path / "rendered.yaml"
    r = runner.invoke(app, ["serve-config", "--config", str(cfg), "--output", str(out)])
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(out.read_text())
    assert doc["applications"][0]["import_path"] == "serving.app:build_app"
    assert [d["name"] for d in doc["applications"][0]["deployments"]] == [
        "RAGIngress",
        "Embedder",
        "LLM-m",
    ]
    cfg.write_text("applications:\n  - name: rag\n    models: []\n")
    bad = runner.invoke(app, ["serve-config", "--config", str(cfg)])
    assert isinstance(bad.exception, LlmopsError)
    assert (
        f"invalid serve config in {cfg} (1 problem(s)):\n  applications[0].models: must have at least 1 item"
        in str(bad.exception)
    )


def test_serve_rejects_a_bad_config_before_starting_anything(tmp_path: Path) -> None:
    cfg = tmp_path / "serve.yaml"
    cfg.write_text("applications:\n  - name: rag\n    router: {default_model: nope}\n")
    r = runner.invoke(app, ["serve", "--config", str(cfg), "--home", str(tmp_path / "home")])
    assert isinstance(r.exception, LlmopsError)
    assert "router.default_model 'nope' is not a model" in str(r.exception)
    assert not (tmp_path / "home" / "pgdata").exists()


def test_ask_and_ingest_errors_are_clean(tmp_path: Path) -> None:
    r = runner.invoke(app, ["ask", "hi", "--home", str(tmp_path)], env={"LLMOPS_API_KEY": ""})
    assert isinstance(r.exception, LlmopsError) and "llmops serve" in str(r.exception)
    url = f"http://127.0.0.1:{free_port()}"
    home = ["--home", str(tmp_path / "home")]
    r = runner.invoke(app, ["ingest", str(tmp_path / "missing"), *home])
    assert isinstance(r.exception, LlmopsError) and "does not exist" in str(r.exception)
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    (pictures / "cat.png").write_bytes(b"\x89PNG")
    r = runner.invoke(app, ["ingest", str(pictures), *home])
    assert (
        str(r.exception) == f"no Markdown/text files (.md, .markdown, .txt, .rst) under {pictures}"
    )
    r = runner.invoke(app, ["ingest", "s3://Not_A_Bucket/docs/", *home])
    assert "is not an S3 location: write s3://bucket/prefix/" in str(r.exception)
    # one ingest path: the pipeline; nothing is sent to the server's API
    r = runner.invoke(app, ["ingest", str(pictures), "--url", url, *home])
    assert r.exit_code == 2 and "No such option: --url" in r.output
    assert not (tmp_path / "home" / "pgdata").exists()  # refused before anything started
    r = runner.invoke(app, ["ask", "hi", "--url", url, "--api-key", "k"])
    assert f"cannot reach {url}" in str(r.exception)


def test_the_server_file_says_how_to_reach_the_server_and_a_stale_one_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMOPS_URL", raising=False)
    paths = LocalPaths(tmp_path)
    cfg = local_app_config(paths, "postgresql://postgres:@/postgres?host=/tmp/pg", None)
    ray = RayAccess("127.0.0.1:6379", loopback=True, auth_mode="token")
    _write = paths.server_file.write_text
    _write(RunningServer("http://127.0.0.1:8123", os.getpid(), ray, cfg).to_json())
    assert running_server(paths) == RunningServer("http://127.0.0.1:8123", os.getpid(), ray, cfg)
    assert resolve_url(None, paths) == "http://127.0.0.1:8123"
    assert "sk-llmops" not in paths.server_file.read_text()  # no key, no token in it
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    _write(RunningServer("http://127.0.0.1:8123", int(gone.stdout), ray, cfg).to_json())
    assert running_server(paths) is None  # its server was killed without cleaning up
    assert resolve_url(None, paths) == "http://127.0.0.1:8000"
    _write("{not json")
    assert running_server(paths) is None


def test_joining_a_ray_that_is_gone_fails_at_once() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(
        LocalRuntimeError,
        match=rf"nothing answers at 127.0.0.1:{port} .*the Ray there is not running",
    ):
        RayAccess(f"127.0.0.1:{port}", loopback=True, auth_mode="token").join()
    assert time.monotonic() - started < 10


def test_local_key_is_created_once_and_reused(tmp_path: Path) -> None:
    paths = LocalPaths(tmp_path)
    key, created = ensure_local_key(paths)
    assert created and load_keys(paths).lookup(key).id == "local"  # type: ignore[union-attr]
    assert stat.S_IMODE(paths.local_key_file.stat().st_mode) == 0o600
    again, created2 = ensure_local_key(paths)
    assert (again, created2) == (key, False)
    paths.keys_file.write_text('{"keys": []}')  # hash lost: a new key replaces the stale file
    fresh, created3 = ensure_local_key(paths)
    assert created3 and fresh != key and load_keys(paths).lookup(fresh) is not None


def test_redis_discovery(monkeypatch: pytest.MonkeyPatch, redis_server: RedisProcess) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    assert discover_redis() == redis_server.url
    monkeypatch.delenv("REDIS_URL")
    found = discover_redis()  # a server on 6379 only if one runs on this machine
    assert found in (None, "redis://127.0.0.1:6379/0")


def test_llm_from_env_and_local_config(tmp_path: Path) -> None:
    assert llm_from_env({}) == []
    models = llm_from_env(
        {
            "LLMOPS_LLM_BASE_URL": "http://127.0.0.1:11434/v1",
            "LLMOPS_LLM_MODEL": "llama3.2",
            "LLMOPS_LLM_PATH": "/models/tiny",
        }
    )
    hosted, local = models
    assert isinstance(hosted.backends[0], OpenAIBackend) and hosted.backends[0].model == "llama3.2"
    assert hosted.backends[0].api_key_env is None and hosted.backends[-1].kind == "extractive"
    assert isinstance(local.backends[0], TransformersBackend) and local.name == "local-llm"
    paths = LocalPaths(tmp_path)
    cfg = local_app_config(
        paths, "postgresql://postgres:@/postgres?host=/tmp/x", None, models=models
    )
    assert [m.name for m in cfg.models] == ["llm", "local-llm", "extractive"]
    assert cfg.router.default_model == "llm"
    assert cfg.cache.backend == "memory" and cfg.auth.keys_file == str(paths.keys_file)
    assert cfg.vector_store.dsn.startswith("postgresql://")  # type: ignore[union-attr]
    with_redis = local_app_config(paths, "postgresql:///x", "redis://127.0.0.1:6379/0")
    assert with_redis.cache.backend == "redis" and with_redis.cache.url_env == "REDIS_URL"
    assert [m.name for m in with_redis.models] == ["extractive"]


TWO_MODELS = """
applications:
  - name: rag
    models:
      - name: a
        backends: [{kind: extractive}]
      - name: b
        backends: [{kind: extractive}]
"""


def test_serve_refuses_a_config_that_does_not_fit_before_starting_anything(tmp_path: Path) -> None:
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(TWO_MODELS)
    home = tmp_path / "home"
    r = runner.invoke(app, ["serve", "--config", str(cfg), "--num-cpus", "2", "--home", str(home)])
    assert isinstance(r.exception, LlmopsError), r.output
    msg = str(r.exception)
    # defaults: ingress 0.5, embeddings 1, each model 1 CPU
    assert "CPU: needs 3.5 (RAGIngress 0.5, Embedder 1, LLM-a 1, LLM-b 1) but Ray here has 2" in msg
    assert "--num-cpus 4" in msg and "resources.num_cpus" in msg
    assert not home.exists()  # nothing started, nothing written


def test_resource_needs_and_shortfall() -> None:
    from serving.config import AppConfig
    from serving.local import resource_needs, resource_shortfall

    cfg = AppConfig.model_validate(
        {
            "models": [
                {
                    "name": "big",
                    "backends": [{"kind": "extractive"}],
                    "deployment": {
                        "autoscaling": {
                            "min_replicas": 0,
                            "max_replicas": 4,
                            "initial_replicas": 2,
                        },
                        "resources": {"num_cpus": 0.5, "num_gpus": 1, "custom": {"spot": 1}},
                    },
                }
            ]
        }
    )
    needs = {n.name: n for n in resource_needs(cfg)}
    assert needs["LLM-big"].replicas == 2 and needs["LLM-big"].per_replica == {
        "CPU": 0.5,
        "GPU": 1,
        "spot": 1,
    }
    assert needs["LLM-big"].path == "applications[0].models[0].deployment"
    lines = resource_shortfall(cfg, {"CPU": 8.0})
    assert [line.split(":")[0] for line in lines] == ["GPU", "spot"]
    assert "needs 2 (LLM-big 1 x2)" in lines[0] and "run on a machine with a GPU" in lines[0]
    assert resource_shortfall(cfg, {"CPU": 8.0, "GPU": 2.0, "spot": 2.0}) == []


def _running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # an unreaped exit
    except psutil.NoSuchProcess:
        return False


@pytest.mark.postgres
def test_stopping_serve_stops_the_embedded_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serving import local

    started: list[int | None] = []
    real_start = local.start_postgres

    def start(pgdata: Path) -> local.EmbeddedPostgres:
        pg = real_start(pgdata)
        started.append(pg.pid)
        return pg

    def failing_start_local(*args: object, **kwargs: object) -> None:
        raise local.LocalRuntimeError("application 'llmops' did not start within the start timeout")

    monkeypatch.setattr(local, "start_postgres", start)
    monkeypatch.setattr(local, "start_local", failing_start_local)
    monkeypatch.setattr(local, "stop_local", lambda paths: None)  # no Ray to stop here
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    r = runner.invoke(app, ["serve", "--home", str(tmp_path / "home"), "--start-timeout", "1"])
    assert isinstance(r.exception, LlmopsError) and "start timeout" in str(r.exception)
    assert started and started[0] is not None
    assert not _running(started[0])  # the postmaster went with the command
