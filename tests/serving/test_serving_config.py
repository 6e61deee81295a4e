"""The typed serve config: validation with field paths, and rendering to the Ray Serve
config document (checked against Ray's own schema)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from serving.config import (
    EMBEDDER_DEPLOYMENT,
    IMPORT_PATH,
    INGRESS_DEPLOYMENT,
    AppConfig,
    ConfigError,
    ServeConfig,
    load_serve_config,
    parse_app_config,
    parse_serve_config,
    render_serve_config,
    render_serve_config_yaml,
)

TWO_APPS = {
    "http_port": 8000,
    "applications": [
        {
            "name": "rag",
            "route_prefix": "/",
            "models": [
                {
                    "name": "llama-8b",
                    "backends": [
                        {
                            "kind": "vllm",
                            "model_id": "meta-llama/Llama-3.1-8B-Instruct",
                            "revision": "0e9e39f",
                        },
                        {
                            "kind": "openai",
                            "base_url": "https://api.openai.com/v1",
                            "model": "gpt-4o-mini",
                            "api_key_env": "OPENAI_API_KEY",
                        },
                    ],
                    "pricing": {
                        "input_per_1k_tokens_usd": 0.0002,
                        "output_per_1k_tokens_usd": 0.0006,
                    },
                    "deployment": {
                        "autoscaling": {
                            "min_replicas": 0,
                            "max_replicas": 4,
                            "target_ongoing_requests": 8,
                        },
                        "max_ongoing_requests": 32,
                        "resources": {"num_cpus": 4, "num_gpus": 1, "accelerator_type": "A10G"},
                    },
                },
                {
                    "name": "llama-8b-canary",
                    "backends": [
                        {
                            "kind": "vllm",
                            "model_id": "meta-llama/Llama-3.1-8B-Instruct",
                            "revision": "c4a54320",
                        }
                    ],
                },
            ],
            "router": {
                "splits": [
                    {"model": "llama-8b", "weight": 95},
                    {"model": "llama-8b-canary", "weight": 5},
                ]
            },
        },
        {"name": "search", "route_prefix": "/search"},
    ],
}


def test_renders_valid_ray_serve_config() -> None:
    from ray.serve.schema import ServeDeploySchema

    doc = render_serve_config(parse_serve_config(TWO_APPS))
    ServeDeploySchema.model_validate(doc)  # Ray's own schema accepts it
    rag = doc["applications"][0]
    assert rag["import_path"] == IMPORT_PATH == "serving.app:build_app"
    names = [d["name"] for d in rag["deployments"]]
    assert names == [INGRESS_DEPLOYMENT, EMBEDDER_DEPLOYMENT, "LLM-llama-8b", "LLM-llama-8b-canary"]
    llm = rag["deployments"][2]
    assert llm["autoscaling_config"] == {
        "min_replicas": 0,
        "max_replicas": 4,
        "target_ongoing_requests": 8.0,
        "upscale_delay_s": 30.0,
        "downscale_delay_s": 600.0,
    }
    assert "num_replicas" not in llm  # autoscaling decides
    assert llm["max_ongoing_requests"] == 32
    assert llm["ray_actor_options"] == {
        "num_cpus": 4.0,
        "num_gpus": 1.0,
        "accelerator_type": "A10G",
    }
    assert llm["user_config"] == {
        "pricing": {"input_per_1k_tokens_usd": 0.0002, "output_per_1k_tokens_usd": 0.0006}
    }
    ingress = rag["deployments"][0]
    assert ingress["user_config"]["router"]["splits"][1] == {
        "model": "llama-8b-canary",
        "weight": 5.0,
    }
    # the args round-trip through the builder's validation to the same config
    assert parse_app_config(rag["args"]) == parse_serve_config(TWO_APPS).applications[0]
    assert doc["applications"][1]["route_prefix"] == "/search"
    assert doc["http_options"] == {"host": "0.0.0.0", "port": 8000}


def test_yaml_is_the_same_document_and_has_no_deprecated_fields() -> None:
    cfg = parse_serve_config(TWO_APPS)
    text = render_serve_config_yaml(cfg)
    assert yaml.safe_load(text) == render_serve_config(cfg)
    for old in ("max_concurrent_queries", "target_num_ongoing_requests_per_replica"):
        assert old not in text


def test_the_ingest_job_reads_its_application_from_the_rendered_config() -> None:
    from serving.ingest.pipeline import IngestError, app_from_serve_config

    cfg = parse_serve_config(TWO_APPS)
    text = render_serve_config_yaml(cfg)
    assert app_from_serve_config(text) == cfg.applications[0]
    assert app_from_serve_config(text, "search") == cfg.applications[1]
    with pytest.raises(
        IngestError, match=r"no application 'nope'.*'rag', 'search': pass one of them with --app"
    ):
        app_from_serve_config(text, "nope")
    with pytest.raises(
        ConfigError, match=r"(?s)in \$LLMOPS_SERVE_CONFIG .*applications: the Serve config is empty"
    ):
        app_from_serve_config("", source="$LLMOPS_SERVE_CONFIG")
    with pytest.raises(
        ConfigError, match=r"applications\[0\]\.args:rag\.chunk_size_chars: must be >= 100"
    ):
        app_from_serve_config("applications: [{name: x, args: {rag: {chunk_size_chars: -1}}}]")


def test_config_module_imports_without_heavy_dependencies() -> None:
    code = (
        "import sys; import serving.config as c; c.render_serve_config_yaml(c.ServeConfig()); "
        "heavy = [m for m in ('ray', 'torch', 'transformers', 'psycopg', 'numpy') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize(
    ("patch", "path", "words"),
    [
        (
            {"models": [{"name": "a", "backends": [{"kind": "gpt"}]}]},
            "models[0].backends[0]",
            "must be one of",
        ),
        ({"models": [{"name": "a", "backends": []}]}, "models[0].backends", "at least 1"),
        (
            {"router": {"default_model": "missing"}},
            "(root)",
            "router.default_model 'missing' is not a model",
        ),
        (
            {"router": {"splits": [{"model": "extractive", "weight": 0}]}},
            "router",
            "weights sum to 0",
        ),
        (
            {
                "models": [
                    {
                        "name": "a",
                        "backends": [{"kind": "openai", "base_url": "ftp://x", "model": "m"}],
                    }
                ]
            },
            "models[0].backends[0].base_url",
            "http(s) URL",
        ),
        (
            {
                "models": [
                    {
                        "name": "a",
                        "backends": [
                            {
                                "kind": "openai",
                                "base_url": "http://x/v1",
                                "model": "m",
                                "api_key_env": "sk-123 secret",
                            }
                        ],
                    }
                ]
            },
            "models[0].backends[0].api_key_env",
            "variable NAME",
        ),
        (
            {
                "models": [
                    {
                        "name": "a",
                        "backends": [{"kind": "extractive"}],
                        "deployment": {"num_replicas": 2, "autoscaling": {"max_replicas": 3}},
                    }
                ]
            },
            "models[0].deployment",
            "drop num_replicas",
        ),
        (
            {
                "models": [
                    {
                        "name": "a",
                        "backends": [{"kind": "extractive"}],
                        "deployment": {"autoscaling": {"min_replicas": 5, "max_replicas": 3}},
                    }
                ]
            },
            "models[0].deployment.autoscaling",
            "min_replicas (5) > max_replicas (3)",
        ),
        (
            {"embeddings": {"max_batch_size": 64, "deployment": {"max_ongoing_requests": 8}}},
            "embeddings",
            "raise max_ongoing_requests",
        ),
        (
            {"vector_store": {"dsn": "postgresql://u:hunter2@db/x"}},
            "vector_store.dsn",
            "contains a password",
        ),
        (
            {"vector_store": {"table_prefix": "Drop Table"}},
            "vector_store.table_prefix",
            "SQL identifier",
        ),
        (
            {"rag": {"chunk_size_chars": 200, "chunk_overlap_chars": 200}},
            "rag",
            "smaller than chunk_size_chars",
        ),
        ({"rag": {"prompts": {"user": "no placeholders"}}}, "rag.prompts", "{context}"),
        (
            {
                "models": [
                    {"name": "x", "backends": [{"kind": "extractive"}]},
                    {"name": "x", "backends": [{"kind": "extractive"}]},
                ]
            },
            "(root)",
            "duplicate model names ['x']",
        ),
        (
            {"cache": {"similarity_threshold": 1.5}},
            "cache.similarity_threshold",
            "must be <= 1",
        ),
        ({"unknown_field": 1}, "unknown_field", "unknown key; remove it"),
        (
            {
                "models": [
                    {"name": "m", "aliases": ["shared"], "backends": [{"kind": "extractive"}]}
                ],
                "embeddings": {"aliases": ["shared"]},
            },
            "(root)",
            "['shared'] appear twice",
        ),
        ({"embeddings": {"aliases": ["bad alias!"]}}, "embeddings.aliases", "alias 'bad alias!'"),
        (
            {"embeddings": {"matryoshka_dimensions": [128, 384]}},
            "embeddings",
            "matryoshka_dimensions [384] must each be between 1 and dimensions - 1 (383)",
        ),
        ({"rag": {"retrieval": "keyword"}}, "rag.retrieval", "must be one of"),
        (
            {"runtime_env": {"env_vars": {"OPENAI_API_KEY": "sk-live"}}},
            "(root)",
            "looks like it holds a secret",
        ),
    ],
)
def test_validation_errors_name_the_field_and_the_fix(patch: dict, path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_app_config(patch, source="app")
    msg = str(err.value)
    assert msg.startswith("invalid serve config in app ("), msg
    assert f"\n  {path}: " in msg, msg
    assert words in msg, msg


def test_serve_config_rejects_duplicate_route_prefixes() -> None:
    with pytest.raises(ConfigError, match=r"applications: duplicate route_prefix \['/'\]"):
        parse_serve_config({"applications": [{"name": "a"}, {"name": "b"}]})


def test_load_serve_config_reports_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "serve.yaml"
    p.write_text("applications:\n  - name: a\n    request_timeout_s: -1\n")
    with pytest.raises(
        ConfigError,
        match=rf"invalid serve config in {p} \(1 problem\(s\)\):\n  applications\[0\]\.request_timeout_s: must be > 0",
    ):
        load_serve_config(p)
    p.write_text("applications: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_serve_config(p)
    with pytest.raises(ConfigError, match="cannot read"):
        load_serve_config(tmp_path / "missing.yaml")


def test_defaults_are_extractive_and_secret_free() -> None:
    app = AppConfig()
    assert [m.name for m in app.models] == ["extractive"]
    assert app.models[0].is_extractive_only
    text = render_serve_config_yaml(ServeConfig())
    assert "LLMOPS_PG_DSN" in text and "REDIS_URL" in text  # names of secrets, not values
    assert "password" not in text.lower()


def test_pricing_cost() -> None:
    from serving.config import Pricing

    assert Pricing(input_per_1k_tokens_usd=0.5, output_per_1k_tokens_usd=1.5).cost(
        1000, 2000
    ) == pytest.approx(3.5)
