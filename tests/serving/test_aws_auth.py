"""Credentials made at run time from the pod's AWS identity: RDS IAM tokens with TLS
verified against the bundled RDS authorities, ElastiCache IAM tokens, and the bundle itself.
Tokens are signed locally (no AWS call), with fixed test credentials."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

import pytest
from botocore.credentials import Credentials
from cryptography import x509

from serving.aws_auth import (
    RDS_CA_BUNDLE,
    AwsAuthError,
    ElastiCacheIamCredentials,
    RdsIamLogin,
    region_of_rds_host,
)
from serving.config import VectorStoreConfig
from serving.stores.base import VectorStoreError
from serving.stores.factory import open_store

HOST = "llmops-dev.cluster-c1a2b3.eu-west-1.rds.amazonaws.com"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTEST0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for var in ("PGHOST", "PGUSER", "PGPORT", "PGSSLROOTCERT"):
        monkeypatch.delenv(var, raising=False)


def test_rds_login_signs_a_token_per_connection_and_verifies_the_server(aws_env: None) -> None:
    login = RdsIamLogin.resolve(f"host={HOST} port=5432 dbname=llmops user=llmops_serving")
    assert (login.host, login.port, login.user, login.region) == (
        HOST,
        5432,
        "llmops_serving",
        "eu-west-1",
    )
    kwargs = login()
    assert kwargs["sslmode"] == "verify-full" and kwargs["sslrootcert"] == str(RDS_CA_BUNDLE)
    host, _, query = kwargs["password"].partition("/?")
    params = parse_qs(query)
    assert host == f"{HOST}:5432"
    assert params["Action"] == ["connect"] and params["DBUser"] == ["llmops_serving"]
    assert params["X-Amz-Credential"][0].split("/")[2:4] == ["eu-west-1", "rds-db"]
    assert "X-Amz-Signature" in params


def test_rds_login_names_what_is_missing(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AwsAuthError, match=r"host \(PGHOST\) and user \(PGUSER\)"):
        RdsIamLogin.resolve("dbname=llmops")
    with pytest.raises(AwsAuthError, match="region"):
        RdsIamLogin.resolve("host=db.internal user=u")
    monkeypatch.setenv("PGHOST", "db.internal")
    monkeypatch.setenv("PGUSER", "u")
    assert RdsIamLogin.resolve("", region="us-east-2").region == "us-east-2"
    assert region_of_rds_host(HOST) == "eu-west-1" and region_of_rds_host("db.internal") is None
    # the store factory turns it into a store error naming the setting
    cfg = VectorStoreConfig(dsn="dbname=x", iam_auth=True)
    monkeypatch.delenv("PGHOST")
    with pytest.raises(VectorStoreError, match="PGHOST"):
        open_store(cfg, 3)


def test_elasticache_token_is_reused_then_renewed(monkeypatch: pytest.MonkeyPatch) -> None:
    import serving.aws_auth as aws_auth

    signed: list[str] = []
    sign = aws_auth.elasticache_token

    def counting(*args: object) -> str:
        signed.append(sign(*args))  # type: ignore[arg-type]
        return signed[-1]

    monkeypatch.setattr(aws_auth, "elasticache_token", counting)
    clock = [0.0]
    creds = ElastiCacheIamCredentials(
        "llmops-serving",
        "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:llmops-dev",
        Credentials("AKIATESTTESTTEST0001", "test-secret"),
        clock=lambda: clock[0],
    )
    user, token = creds.get_credentials()
    assert user == "llmops-serving" and token.startswith("llmops-dev/?")
    params = parse_qs(token.partition("?")[2])
    assert params["ResourceType"] == ["ServerlessCache"] and params["User"] == ["llmops-serving"]
    assert params["X-Amz-Expires"] == ["900"]
    clock[0] = 300
    assert creds.get_credentials()[1] == token and len(signed) == 1
    clock[0] = 601  # tokens last 15 minutes; a new one is signed after 10
    creds.get_credentials()
    assert len(signed) == 2
    with pytest.raises(AwsAuthError, match="serverlesscache"):
        ElastiCacheIamCredentials("u", "arn:aws:s3:::bucket")


def test_the_rds_bundle_holds_only_unexpired_rds_roots() -> None:
    certs = x509.load_pem_x509_certificates(RDS_CA_BUNDLE.read_bytes())
    now = dt.datetime.now(dt.UTC)
    assert len(certs) >= 100
    names = set()
    for cert in certs:
        assert cert.subject == cert.issuer  # self-signed roots
        (ou,) = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)
        assert ou.value == "Amazon RDS"
        assert cert.not_valid_after_utc > now
        (cn,) = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        names.add(str(cn.value))
    for region in ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"):
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names
