"""The vector store's migrations job: ``python -m serving.migrate [serve-config.yaml]``
(on a cluster: ``--serve-config-env LLMOPS_SERVE_CONFIG``, the RayService's own rendered
``serveConfigV2``, so the Job migrates exactly the stores the pods will open).

Runs every pending schema migration of each application's PostgreSQL store (the same
versioned steps an embedded store applies when it opens), including the one that creates
the serving role with ``GRANT rds_iam``. It logs in as the database's owner, from inside
the VPC: the DSN from the application's ``vector_store`` (libpq's ``PG*`` variables fill in
what it leaves out) and, with ``--master-secret-arn`` (or ``$LLMOPS_PG_MASTER_SECRET_ARN``),
the user and password from the Secrets Manager secret Aurora manages. The serving pods,
logged in as the serving role with IAM tokens and ``vector_store.migrate_on_start: false``,
then only check the schema version.

Exit status 0 when every store is at the latest version, 1 otherwise (the message names
the fix).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from serving.config import AppConfig, ServeConfig, load_serve_config, rendered_applications

log = logging.getLogger("serving.migrate")

MASTER_SECRET_ENV = "LLMOPS_PG_MASTER_SECRET_ARN"


def migrate_app(app: AppConfig, master_secret_arn: str | None = None) -> list[int]:
    """Apply the pending migrations of ``app``'s vector store; the versions applied."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from serving.stores.factory import resolve_dsn
    from serving.vectorstore import PgVectorStore

    vs = app.vector_store
    if vs.engine != "pgvector":
        log.info("%s: %s keeps no SQL schema; nothing to migrate", app.name, vs.engine)
        return []
    dsn = resolve_dsn(vs.model_copy(update={"iam_auth": bool(master_secret_arn)}))
    if master_secret_arn:
        from serving.aws_auth import secret_json

        secret = secret_json(master_secret_arn)
        params = conninfo_to_dict(dsn) if dsn else {}
        params.update(user=str(secret["username"]), password=str(secret["password"]))
        params.setdefault("sslmode", "verify-full")
        if params["sslmode"] == "verify-full":
            from serving.aws_auth import RDS_CA_BUNDLE

            params.setdefault("sslrootcert", str(RDS_CA_BUNDLE))
        dsn = make_conninfo("", **params)
    store = PgVectorStore(
        dsn,
        app.embeddings.dimensions,
        table_prefix=vs.table_prefix,
        pool_min_size=0,
        pool_max_size=1,
        connect_timeout_s=vs.connect_timeout_s,
        hnsw_m=vs.hnsw_m,
        hnsw_ef_construction=vs.hnsw_ef_construction,
        serving_role=vs.serving_role,
    )
    store.close()
    return store.applied


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving.migrate", description=__doc__)
    parser.add_argument("config", nargs="?", help="serve config (YAML); default: one default app")
    parser.add_argument(
        "--serve-config-env",
        help="an environment variable holding the rendered Ray Serve config (serveConfigV2) instead",
    )
    parser.add_argument(
        "--master-secret-arn",
        default=os.environ.get(MASTER_SECRET_ENV),
        help=f"the database's master secret (default: ${MASTER_SECRET_ENV})",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from core.problems import ConfigError
    from serving.stores.base import VectorStoreError

    try:
        if args.serve_config_env:
            apps = rendered_applications(os.environ.get(args.serve_config_env, ""), f"${args.serve_config_env}")
        else:
            apps = (load_serve_config(args.config) if args.config else ServeConfig()).applications
        for app in apps:
            applied = migrate_app(app, args.master_secret_arn)
            print(f"{app.name}: applied {applied or 'nothing (up to date)'}")
    except (ConfigError, VectorStoreError, RuntimeError) as exc:
        print(f"migrations failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
