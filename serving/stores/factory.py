"""Opening the vector store a serve config names (``vector_store``), with its credentials
fetched at run time: the DSN from the environment, an RDS IAM token per connection with
``iam_auth``, SigV4-signed requests for OpenSearch."""

from __future__ import annotations

import os

from serving.config import VectorStoreConfig
from serving.stores.base import VectorStore, VectorStoreError


def resolve_dsn(cfg: VectorStoreConfig) -> str:
    """The libpq DSN: ``dsn``, else the variable ``dsn_env``. With ``iam_auth`` it may be
    empty (libpq's ``PG*`` variables name host, port, database and user)."""
    dsn = cfg.dsn or os.environ.get(cfg.dsn_env, "")
    if not dsn and not cfg.iam_auth:
        raise VectorStoreError(
            f"vector store DSN missing: set the environment variable {cfg.dsn_env} (from a "
            "secret) or vector_store.dsn"
        )
    return dsn


def open_store(
    cfg: VectorStoreConfig,
    dimensions: int,
    pool_min_size: int | None = None,
    pool_max_size: int | None = None,
    migrate_on_start: bool | None = None,
) -> VectorStore:
    """The store ``cfg`` describes, open and checked (its schema migrated when
    ``migrate_on_start``, default the config's)."""
    if cfg.engine == "opensearch-serverless":
        from serving.stores.opensearch import from_config

        return from_config(cfg, dimensions, cfg.hnsw_m, cfg.hnsw_ef_construction)
    from serving.vectorstore import PgVectorStore

    dsn = resolve_dsn(cfg)
    login = None
    if cfg.iam_auth:
        from serving.aws_auth import AwsAuthError, RdsIamLogin

        try:
            login = RdsIamLogin.resolve(dsn, cfg.region)
        except AwsAuthError as exc:
            raise VectorStoreError(str(exc)) from None
    return PgVectorStore(
        dsn,
        dimensions,
        table_prefix=cfg.table_prefix,
        pool_min_size=cfg.pool_min_size if pool_min_size is None else pool_min_size,
        pool_max_size=cfg.pool_max_size if pool_max_size is None else pool_max_size,
        connect_timeout_s=cfg.connect_timeout_s,
        statement_timeout_ms=cfg.statement_timeout_ms,
        hnsw_m=cfg.hnsw_m,
        hnsw_ef_construction=cfg.hnsw_ef_construction,
        ef_search=cfg.hnsw_ef_search,
        connect_kwargs=login,
        migrate_on_start=cfg.migrate_on_start if migrate_on_start is None else migrate_on_start,
        serving_role=cfg.serving_role,
    )
