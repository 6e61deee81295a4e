"""The vector store's migrations on embedded PostgreSQL + pgvector: the serving role (IAM
login on Aurora, exactly the grants it needs), from empty and from the previous schema
version, through the migrations job as it runs on the cluster."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from serving.migrate import main as migrate_main
from serving.vectorstore import LATEST_SCHEMA_VERSION, ChunkIn, PgVectorStore, VectorStoreError


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def as_role(dsn: str, role: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(dsn), "user": role, "password": ""})


def versions(dsn: str, prefix: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(f"SELECT version FROM {prefix}_schema_migrations ORDER BY 1").fetchall()
    return [int(r[0]) for r in rows]


def member_of_rds_iam(dsn: str, role: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
            "JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = %s AND g.rolname = 'rds_iam'",
            (role,),
        ).fetchone()
    return row is not None


@pytest.fixture
def rds_iam(pg_dsn: str) -> Iterator[None]:
    """The ``rds_iam`` role Aurora has (created here, dropped after)."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE rds_iam")
    yield
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE rds_iam")


def test_serving_role_from_the_previous_version_without_rds_iam(
    pg_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    old = PgVectorStore(pg_dsn, 2, table_prefix="mig_role_old", schema_version=4)
    old.upsert_document("kept.md", "h-kept", [ChunkIn(0, "kept across the upgrade", unit([1, 0]))])
    old.close()
    assert versions(pg_dsn, "mig_role_old") == [1, 2, 3, 4]
    with caplog.at_level(logging.WARNING, logger="serving.vectorstore"):
        new = PgVectorStore(pg_dsn, 2, table_prefix="mig_role_old", serving_role="serving_a")
    assert new.applied == [5] and versions(pg_dsn, "mig_role_old") == [1, 2, 3, 4, 5]
    assert any("no rds_iam role here" in r.getMessage() for r in caplog.records)
    assert not member_of_rds_iam(pg_dsn, "serving_a")
    new.close()
    # the serving role reads and writes the store, checks the schema, and changes nothing else
    served = PgVectorStore(
        as_role(pg_dsn, "serving_a"), 2, table_prefix="mig_role_old", migrate_on_start=False
    )
    assert served.search(unit([1, 0]), top_k=1)[0].source == "kept.md"
    assert served.upsert_document("new.md", "h-new", [ChunkIn(0, "new", unit([0, 1]))]).status == (
        "created"
    )
    assert served.delete_document("new.md")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        served.migrate()  # no DDL: the migrations job owns the schema
    served.close()


def test_serving_role_from_empty_with_rds_iam_through_the_job(
    pg_dsn: str, rds_iam: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text(
        "applications:\n"
        "  - name: docs\n"
        f"    vector_store: {{dsn: '{pg_dsn}', table_prefix: mig_job, serving_role: serving_b}}\n",
        encoding="utf-8",
    )
    assert migrate_main([str(config)]) == 0
    assert f"docs: applied {list(range(1, LATEST_SCHEMA_VERSION + 1))}" in capsys.readouterr().out
    assert versions(pg_dsn, "mig_job") == list(range(1, LATEST_SCHEMA_VERSION + 1))
    assert member_of_rds_iam(pg_dsn, "serving_b")  # Aurora: IAM tokens only
    assert migrate_main([str(config)]) == 0  # again: nothing to do
    assert "docs: applied nothing (up to date)" in capsys.readouterr().out


def test_serving_pods_refuse_an_old_schema_and_a_bad_role_name(pg_dsn: str) -> None:
    PgVectorStore(pg_dsn, 2, table_prefix="mig_behind", schema_version=4).close()
    with pytest.raises(VectorStoreError, match=r"version 4, this code needs 5: run the migrations"):
        PgVectorStore(pg_dsn, 2, table_prefix="mig_behind", migrate_on_start=False)
    with pytest.raises(VectorStoreError, match="not a plain PostgreSQL name"):
        PgVectorStore(pg_dsn, 2, table_prefix="mig_bad_role", serving_role="x; DROP TABLE y")


def test_the_cluster_job_migrates_the_rendered_serve_config_with_the_master_secret(
    pg_dsn: str,
    rds_iam: None,
    moto_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The Job's own command line (``--serve-config-env``, as the serving plane renders it):
    the RayService's serveConfigV2 in the environment, libpq's variables naming the database,
    and the owner's login read from the master secret at run time."""
    import boto3

    from components.serving_plane.manifests import MASTER_SECRET_ENV, SERVE_CONFIG_ENV
    from serving.config import ServeConfig, render_serve_config_yaml

    params = conninfo_to_dict(pg_dsn)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_ENDPOINT_URL", moto_url), ("AWS_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="rds!cluster-job", SecretString=json.dumps({"username": params["user"], "password": params.get("password", "")})
    )
    config = ServeConfig.model_validate(
        {"applications": [{"name": "docs", "vector_store": {
            "iam_auth": True, "migrate_on_start": False, "table_prefix": "mig_cluster", "serving_role": "serving_c"}}]}
    )
    monkeypatch.setenv(SERVE_CONFIG_ENV, render_serve_config_yaml(config))
    monkeypatch.setenv(MASTER_SECRET_ENV, secret["ARN"])
    monkeypatch.setenv("LLMOPS_PG_DSN", "sslmode=disable")  # the embedded server has no TLS
    monkeypatch.setenv("PGHOST", str(params["host"]))
    monkeypatch.setenv("PGPORT", str(params.get("port", 5432)))
    monkeypatch.setenv("PGDATABASE", str(params.get("dbname", "postgres")))
    assert migrate_main(["--serve-config-env", SERVE_CONFIG_ENV]) == 0
    assert f"docs: applied {list(range(1, LATEST_SCHEMA_VERSION + 1))}" in capsys.readouterr().out
    assert member_of_rds_iam(pg_dsn, "serving_c")
    monkeypatch.setenv(SERVE_CONFIG_ENV, "applications: []")
    assert migrate_main(["--serve-config-env", SERVE_CONFIG_ENV]) == 1
    assert "no applications" in capsys.readouterr().err
