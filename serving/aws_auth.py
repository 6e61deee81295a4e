"""Credentials fetched at run time from the pod's own AWS identity (EKS Pod Identity), never
written into a manifest, the serve config or the Pulumi plan:

- :class:`RdsIamLogin`: a fresh RDS IAM authentication token for each new PostgreSQL
  connection (``rds.generate_db_auth_token``; valid 15 minutes, signed locally), with TLS
  verified against the bundled RDS certificate authorities (:data:`RDS_CA_BUNDLE`);
- :class:`ElastiCacheIamCredentials`: a redis-py credential provider that signs an
  ElastiCache IAM token (SigV4 presigned ``connect`` request, valid 15 minutes) for each
  new connection;
- :class:`SigV4Auth`: an ``httpx`` auth that signs requests with SigV4, for OpenSearch
  Serverless (service ``aoss``) or an OpenSearch domain (``es``);
- :func:`secret_json`: a Secrets Manager secret's JSON (the database's master secret, read
  by the migrations job only).

boto3 and botocore resolve credentials the usual way (Pod Identity, environment, profile),
so tests point them at moto or at fixed test credentials.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from redis.credentials import CredentialProvider

if TYPE_CHECKING:
    from collections.abc import Generator

#: The Amazon RDS global certificate bundle (see ``certs/SOURCE.md``).
RDS_CA_BUNDLE = Path(__file__).parent / "certs" / "rds-global-bundle.pem"

#: How long a signed token is used before a new one is made (tokens last 15 minutes).
TOKEN_REUSE_S = 600.0

_RDS_HOST = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com\.?$")
_ELASTICACHE_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticache:([a-z0-9-]+):\d{12}:(serverlesscache|replicationgroup):([A-Za-z0-9-]+)$"
)


class AwsAuthError(RuntimeError):
    """Credentials cannot be made or read (the message names the setting and the fix)."""


def _session() -> Any:
    import boto3

    return boto3.session.Session()


def region_of_rds_host(host: str) -> str | None:
    """The region in an RDS endpoint name (``x.cluster-abc.us-east-1.rds.amazonaws.com``)."""
    m = _RDS_HOST.search(host)
    return m.group(1) if m else None


# ------------------------------------------------------------------------ PostgreSQL


@dataclass(frozen=True)
class RdsIamLogin:
    """Connection arguments for PostgreSQL with an RDS IAM token as the password.

    Call it for each new connection (``psycopg_pool`` accepts a callable ``kwargs``): the
    token is signed locally from the current credentials, so rotation needs nothing.
    ``host``, ``port`` and ``user`` must be what the connection uses: the token is signed
    for exactly those."""

    host: str
    port: int
    user: str
    region: str
    ssl_root_cert: str = str(RDS_CA_BUNDLE)
    client: Any = None

    @classmethod
    def resolve(cls, conninfo: str, region: str | None = None) -> RdsIamLogin:
        """The login for ``conninfo`` completed with libpq's ``PG*`` variables; the region
        from ``region``, ``$AWS_REGION`` or the host name. Every missing part is named."""
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(conninfo) if conninfo else {}
        host = str(params.get("host") or os.environ.get("PGHOST") or "")
        port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
        user = str(params.get("user") or os.environ.get("PGUSER") or "")
        missing = [n for n, v in (("host (PGHOST)", host), ("user (PGUSER)", user)) if not v]
        if missing:
            raise AwsAuthError(
                f"IAM authentication needs the database {' and '.join(missing)}: set them in "
                "the DSN or the environment"
            )
        reg = region or os.environ.get("AWS_REGION") or region_of_rds_host(host)
        if not reg:
            raise AwsAuthError(
                "IAM authentication needs the region: set vector_store.region or AWS_REGION"
            )
        if not port.isdigit():
            raise AwsAuthError(f"database port {port!r} is not a number")
        root = str(params.get("sslrootcert") or os.environ.get("PGSSLROOTCERT") or RDS_CA_BUNDLE)
        return cls(host, int(port), user, reg, root)

    def token(self) -> str:
        """A new IAM authentication token for this host, port and user."""
        client = self.client or _session().client("rds", region_name=self.region)
        try:
            return str(
                client.generate_db_auth_token(
                    DBHostname=self.host, Port=self.port, DBUsername=self.user, Region=self.region
                )
            )
        except Exception as exc:  # botocore's NoCredentialsError and friends
            raise AwsAuthError(
                f"cannot sign an RDS IAM token for {self.user}@{self.host} ({type(exc).__name__}: "
                f"{exc}); the pod's role needs rds-db:connect on this database user"
            ) from None

    def __call__(self) -> dict[str, Any]:
        """Connection keyword arguments: the token as password, TLS verified (full)."""
        return {
            "password": self.token(),
            "sslmode": "verify-full",
            "sslrootcert": self.ssl_root_cert,
        }


# ------------------------------------------------------------------------ ElastiCache


def parse_elasticache_arn(arn: str) -> tuple[str, str, bool]:
    """(region, cache name, serverless) of a serverless cache or replication group ARN."""
    m = _ELASTICACHE_ARN.match(arn.strip())
    if m is None:
        raise AwsAuthError(
            f"{arn!r} is not an ElastiCache serverless cache or replication group ARN "
            "(arn:aws:elasticache:<region>:<account>:serverlesscache:<name>)"
        )
    return m.group(1), m.group(3), m.group(2) == "serverlesscache"


def elasticache_token(
    user: str, cache_name: str, region: str, serverless: bool, credentials: Any = None
) -> str:
    """An ElastiCache IAM authentication token: a SigV4-presigned ``connect`` request for
    ``user`` on ``cache_name``, without its scheme, valid 15 minutes."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    creds = credentials or _session().get_credentials()
    if creds is None:
        raise AwsAuthError(
            "no AWS credentials for the cache's IAM token: the pod needs its Pod Identity role"
        )
    params = {"Action": "connect", "User": user}
    if serverless:
        params["ResourceType"] = "ServerlessCache"
    request = AWSRequest(method="GET", url=f"http://{cache_name}/", params=params)
    SigV4QueryAuth(creds, "elasticache", region, expires=900).add_auth(request)
    return str(request.url).removeprefix("http://")


class ElastiCacheIamCredentials(CredentialProvider):
    """redis-py credentials for ElastiCache IAM authentication: ``(user, token)``, a token
    reused for :data:`TOKEN_REUSE_S` and signed anew after."""

    def __init__(
        self,
        user: str,
        cache_arn: str,
        credentials: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user = user
        self.region, self.cache_name, self.serverless = parse_elasticache_arn(cache_arn)
        self._credentials = credentials
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, str] | None = None

    def get_credentials(self) -> tuple[str, str]:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= TOKEN_REUSE_S:
                token = elasticache_token(
                    self.user, self.cache_name, self.region, self.serverless, self._credentials
                )
                self._cached = (now, token)
            return self.user, self._cached[1]

    async def get_credentials_async(self) -> tuple[str, str]:
        return self.get_credentials()


# ------------------------------------------------------------------------ OpenSearch


class SigV4Auth(httpx.Auth):
    """Signs each request with SigV4 for ``service`` (``aoss`` or ``es``) in ``region``,
    including the payload hash OpenSearch Serverless requires."""

    requires_request_body = True

    def __init__(self, service: str, region: str, credentials: Any = None) -> None:
        self.service = service
        self.region = region
        self._credentials = credentials

    def _creds(self) -> Any:
        creds = self._credentials or _session().get_credentials()
        if creds is None:
            raise AwsAuthError(
                f"no AWS credentials to sign {self.service} requests: the pod needs its Pod "
                "Identity role"
            )
        return creds.get_frozen_credentials() if hasattr(creds, "get_frozen_credentials") else creds

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        import hashlib

        from botocore.auth import SigV4Auth as BotoSigV4
        from botocore.awsrequest import AWSRequest

        body = request.content
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower()
            not in ("authorization", "x-amz-date", "x-amz-security-token", "connection")
        }
        headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        aws = AWSRequest(method=request.method, url=str(request.url), data=body, headers=headers)
        BotoSigV4(self._creds(), self.service, self.region).add_auth(aws)
        for k, v in aws.headers.items():
            request.headers[k] = v
        yield request


# -------------------------------------------------------------------- Secrets Manager


def secret_json(arn: str, client: Any = None) -> dict[str, Any]:
    """The JSON object a Secrets Manager secret holds (e.g. the database's master secret,
    ``{"username", "password"}``)."""
    m = re.match(r"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):", arn)
    sm = client or _session().client("secretsmanager", region_name=m.group(1) if m else None)
    try:
        text = sm.get_secret_value(SecretId=arn).get("SecretString")
    except Exception as exc:
        raise AwsAuthError(
            f"cannot read the secret {arn} ({type(exc).__name__}: {exc}); the job's role needs "
            "secretsmanager:GetSecretValue on it and kms:Decrypt on its key"
        ) from None
    try:
        value = json.loads(text or "")
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise AwsAuthError(f"the secret {arn} does not hold a JSON object")
    return value
