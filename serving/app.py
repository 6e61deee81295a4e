"""The typed app builder: ``serving.app:build_app`` is the ``import_path`` of every rendered
application; Serve calls it with the application's ``args``, which are validated as an
:class:`serving.config.AppConfig` before anything is built.

Deployment options (replicas, autoscaling, resources, ``user_config``) come from the same
config object, so ``serve.run(build_app(args))`` locally and ``serveConfigV2`` on KubeRay
produce the same application.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray.serve import Application

from serving.config import AppConfig, parse_app_config


def build_app(args: Mapping[str, Any] | AppConfig) -> Application:
    """Build the RAG application: the ingress bound to the embedder and one LLM deployment
    per configured model. Raises :class:`serving.config.ConfigError` naming the bad field."""
    from serving import deployments, ingress

    # Deployment objects (typed loosely: mypy sees the decorated classes)
    embedder_d: Any = deployments.Embedder
    llm_d: Any = deployments.LLMServer
    ingress_d: Any = ingress.RAGIngress

    cfg = args if isinstance(args, AppConfig) else parse_app_config(args)
    user_configs = cfg.user_configs()
    embedder = embedder_d.options(**cfg.embeddings.deployment.serve_options()).bind(
        cfg.embeddings.model_dump(mode="json")
    )
    llms = {
        m.name: llm_d.options(
            name=m.deployment_name,
            user_config=user_configs[m.deployment_name],
            **m.deployment.serve_options(),
        ).bind(m.model_dump(mode="json"))
        for m in cfg.models
    }
    app: Application = ingress_d.options(
        user_config=cfg.ingress_user_config(), **cfg.ingress.serve_options()
    ).bind(cfg.model_dump(mode="json"), embedder, llms)
    return app
