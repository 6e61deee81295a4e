"""The boto3 shell of ``llmops doctor``: asks AWS what the checks need and hands back plain
observations, or a :class:`ProbeError` with AWS's error code. Clients, retries and the
EC2 quota lookup are the capacity planner's (:mod:`llmops.capacity.aws`): inject a session
or an endpoint (a moto server) through its :class:`~llmops.capacity.aws.ClientFactory`.

Calls (IAM the identity needs): ``sts:GetCallerIdentity``, ``iam:GetRole``,
``servicequotas:GetServiceQuota``, ``ec2:DescribeAvailabilityZones``,
``eks:DescribeCluster``, ``eks:DescribeAddonVersions``; and, unless turned off, one HTTPS
GET to a what-is-my-address service (default ``https://checkip.amazonaws.com``).
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from llmops.capacity.aws import ClientFactory, Observer, RetryPolicy, ThrottledError, error_code
from llmops.capacity.models import QuotaObservation

T = TypeVar("T")
CHECKIP_URL = "https://checkip.amazonaws.com"


class ProbeError(Exception):
    """AWS (or the address lookup) did not answer: ``code`` is AWS's error code when there is
    one (``AccessDenied``, ``NoCredentials``, ``Unreachable`` ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CallerIdentity:
    account: str
    arn: str


@dataclass(frozen=True)
class RoleInfo:
    arn: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ZoneInfo:
    name: str
    zone_id: str
    state: str
    zone_type: str = "availability-zone"


@dataclass(frozen=True)
class ClusterInfo:
    """What ``DescribeCluster`` says about reaching a cluster's API server."""

    name: str
    version: str
    endpoint: str
    public_access: bool
    private_access: bool
    public_access_cidrs: tuple[str, ...]
    status: str


@dataclass
class AwsProbe:
    """Asks AWS; every method raises :class:`ProbeError` when AWS does not answer."""

    clients: ClientFactory
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    address_lookup: Callable[[], str] | None = None
    """Returns this machine's public address (None: not looked up)."""

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return self.retry.call(fn)
        except ThrottledError as exc:
            raise ProbeError(exc.code, f"still throttled after {exc.attempts} attempts") from None
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", "")).strip()
            raise ProbeError(error_code(exc), message) from None
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise ProbeError("NoCredentials", str(exc)) from None
        except BotoCoreError as exc:
            raise ProbeError("Unreachable", str(exc)) from None

    def caller_identity(self, region: str) -> CallerIdentity:
        sts = self.clients.client("sts", region)
        answer: dict[str, Any] = self._call(sts.get_caller_identity)
        return CallerIdentity(account=str(answer["Account"]), arn=str(answer["Arn"]))

    def role(self, region: str, name: str) -> RoleInfo | None:
        """The IAM role ``name`` (None when the account has none of that name)."""
        iam = self.clients.client("iam", region)
        try:
            answer: dict[str, Any] = self._call(lambda: iam.get_role(RoleName=name))
        except ProbeError as exc:
            if exc.code == "NoSuchEntity":
                return None
            raise
        role = answer["Role"]
        tags = {str(t["Key"]): str(t["Value"]) for t in role.get("Tags") or []}
        return RoleInfo(arn=str(role["Arn"]), tags=tags)

    def quota(self, region: str, code: str, name: str) -> QuotaObservation:
        """An EC2 quota, as the capacity planner reads it (its value None, with a note, when
        it cannot be read)."""
        return Observer(clients=self.clients, retry=self.retry).quota(region, code, name)

    def zones(self, region: str) -> list[ZoneInfo]:
        """The region's availability zones (no Local or Wavelength Zones) with their IDs."""
        ec2 = self.clients.client("ec2", region)
        answer: dict[str, Any] = self._call(
            lambda: ec2.describe_availability_zones(Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required"]}])
        )
        return [
            ZoneInfo(
                name=str(z["ZoneName"]),
                zone_id=str(z.get("ZoneId", "")),
                state=str(z.get("State", "available")),
                zone_type=str(z.get("ZoneType", "availability-zone")),
            )
            for z in answer.get("AvailabilityZones", [])
        ]

    def cluster(self, region: str, name: str) -> ClusterInfo | None:
        """The EKS cluster ``name`` (None when it does not exist yet)."""
        eks = self.clients.client("eks", region)
        try:
            answer: dict[str, Any] = self._call(lambda: eks.describe_cluster(name=name))
        except ProbeError as exc:
            if exc.code == "ResourceNotFoundException":
                return None
            raise
        cluster = answer["cluster"]
        vpc = cluster.get("resourcesVpcConfig") or {}
        return ClusterInfo(
            name=str(cluster["name"]),
            version=str(cluster.get("version", "")),
            endpoint=str(cluster.get("endpoint", "")),
            public_access=bool(vpc.get("endpointPublicAccess", True)),
            private_access=bool(vpc.get("endpointPrivateAccess", False)),
            public_access_cidrs=tuple(str(c) for c in vpc.get("publicAccessCidrs") or ()),
            status=str(cluster.get("status", "")),
        )

    def addon_versions(self, region: str, kubernetes_version: str, addon: str) -> tuple[str, ...]:
        """The builds of ``addon`` EKS offers for ``kubernetes_version`` in ``region``."""
        eks = self.clients.client("eks", region)
        answer: dict[str, Any] = self._call(
            lambda: eks.describe_addon_versions(kubernetesVersion=kubernetes_version, addonName=addon)
        )
        return tuple(
            str(version["addonVersion"])
            for found in answer.get("addons", [])
            if found.get("addonName") == addon
            for version in found.get("addonVersions", [])
        )

    def deployer_address(self) -> str | None:
        """This machine's public address, as the lookup service sees it (None when not
        looked up)."""
        return self.address_lookup() if self.address_lookup is not None else None


def address_lookup(url: str = CHECKIP_URL, timeout_s: float = 5.0) -> Callable[[], str]:
    """A lookup of this machine's public IPv4 address from a service that answers with it as
    plain text (``https://checkip.amazonaws.com``)."""

    def lookup() -> str:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                text = response.read(64).decode("ascii", errors="replace").strip()
        except (urllib.error.URLError, OSError) as exc:
            raise ProbeError("Unreachable", f"{url}: {exc}") from None
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise ProbeError("BadAnswer", f"{url} answered {text[:40]!r}, not an IPv4 address") from None

    return lookup
