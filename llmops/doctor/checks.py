"""The decisions of ``llmops doctor``: pure functions from the stack config and what AWS
answered (:mod:`llmops.doctor.probe`) to :class:`~llmops.doctor.findings.Finding` lines.
Nothing here calls AWS, so each decision is tested on its own."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from components import versions
from components.account import SPOT_ROLE_NAME, spot_role_arn
from core import catalog
from core.catalog import eks
from llmops.capacity.models import QuotaObservation
from llmops.capacity.resolve import quota_for
from llmops.doctor.findings import Finding, Status
from llmops.doctor.probe import CallerIdentity, ClusterInfo, ProbeError, RoleInfo, ZoneInfo
from stacks.config import PlatformConfig, RegionConfig
from stacks.preflight import version_findings

CREDENTIALS_FIX = (
    "set credentials for the stack's account: export AWS_PROFILE=<profile> (after `aws sso login --profile <profile>`), "
    "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
)


def unreachable(check: str, subject: str, error: ProbeError, permission: str) -> Finding:
    """A check AWS would not answer: a failure that names the permission it needs."""
    if error.code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        fix = f"grant the identity {permission}, or run doctor with one that has it"
    elif error.code in ("NoCredentials", "InvalidClientTokenId", "ExpiredToken", "UnrecognizedClientException"):
        fix = CREDENTIALS_FIX
    else:
        fix = "check the network path to AWS (or --endpoint-url) and run doctor again"
    return Finding(check, subject, "fail", f"AWS did not answer: {error}", fix)


# ----------------------------------------------------------------------------- account


def credentials(expected: str, identity: CallerIdentity | ProbeError) -> Finding:
    """The credentials work, and they are for the account the stack names."""
    subject = f"account {expected}"
    if isinstance(identity, ProbeError):
        return Finding("credentials", subject, "fail", f"no usable AWS credentials ({identity})", CREDENTIALS_FIX)
    if identity.account != expected:
        return Finding(
            "credentials",
            subject,
            "fail",
            f"the credentials are for account {identity.account} ({identity.arn}); the stack deploys into {expected}, "
            "and its providers refuse any other account",
            f"switch to credentials for {expected}, or correct llmops:account.id",
        )
    return Finding("credentials", subject, "pass", f"authenticated as {identity.arn}")


def account_owners(stack: str, account: str, owners: Mapping[str, Sequence[str]]) -> Finding:
    """At most one stack of the project creates an account's account-wide resources."""
    subject = f"account {account}"
    claimed = list(owners.get(account, ()))
    if len(claimed) > 1:
        return Finding(
            "account-owner",
            subject,
            "fail",
            f"stacks {', '.join(claimed)} all set account.singletons for this account; the second to deploy fails "
            "creating what the first created",
            f"keep account.singletons: true in one of {', '.join(claimed)} and set it false in the others",
        )
    if claimed:
        return Finding("account-owner", subject, "pass", f"stack {claimed[0]} creates the account-wide resources")
    return Finding("account-owner", subject, "pass", "no stack of the project creates account-wide resources here")


def spot_role(config: PlatformConfig, stack: str, role: RoleInfo | ProbeError | None) -> Finding:
    """The EC2 Spot service-linked role exists (spot launches need it), or this stack creates
    it; and a stack that would create it does not find another one there."""
    subject = f"account {config.account.id}"
    if isinstance(role, ProbeError):
        return unreachable("spot-role", subject, role, "iam:GetRole")
    spot_pools = [f"{r.name}/{p.name}" for r in config.regions for p in r.gpu_pools if p.capacity_type == "spot"]
    owns = config.account.singletons
    if role is None:
        if owns:
            return Finding("spot-role", subject, "pass", f"{SPOT_ROLE_NAME} is missing; this stack creates it")
        if spot_pools:
            return Finding(
                "spot-role",
                subject,
                "fail",
                f"{SPOT_ROLE_NAME} is missing, so the first spot launch fails "
                f"(AuthFailure.ServiceLinkedRoleCreationNotPermitted) for {', '.join(spot_pools)}",
                "set account.singletons: true in one stack of this account, or run "
                "`aws iam create-service-linked-role --aws-service-name spot.amazonaws.com` once",
            )
        return Finding("spot-role", subject, "pass", f"{SPOT_ROLE_NAME} is missing; no pool of this stack buys spot")
    if owns and role.tags.get("Stack") != stack:
        return Finding(
            "spot-role",
            subject,
            "fail",
            f"{SPOT_ROLE_NAME} exists already and this stack would create it again (AWS refuses: the name is taken)",
            "set account.singletons: false, or adopt the role: pulumi import "
            f"aws:iam/serviceLinkedRole:ServiceLinkedRole account-spot {spot_role_arn(config.account.id)}",
        )
    return Finding("spot-role", subject, "pass", f"{SPOT_ROLE_NAME} exists ({role.arn})")


# ----------------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class VcpuNeed:
    """vCPUs a region's GPU pools hold under one EC2 quota: at their minimum and at most."""

    code: str
    name: str
    minimum: int
    maximum: int
    pools: tuple[str, ...]


def vcpu_needs(region: RegionConfig) -> list[VcpuNeed]:
    """The region's GPU pools by the EC2 vCPU quota that limits them (the capacity planner's
    mapping, :func:`llmops.capacity.resolve.quota_for`)."""
    known = catalog.instance_types()
    needs: dict[str, VcpuNeed] = {}
    for pool in region.gpu_pools:
        by_quota: dict[tuple[str, str], list[int]] = {}
        for instance_type in pool.instance_types:
            quota = quota_for(instance_type, pool.capacity_type)
            if quota is not None:
                by_quota.setdefault(quota, []).append(known[instance_type].vcpu)
        for index, ((code, name), vcpus) in enumerate(by_quota.items()):
            # the warm minimum runs on the preferred type; the pool reaches max_nodes of its largest
            minimum = pool.min_nodes * known[pool.instance_types[0]].vcpu if index == 0 else 0
            before = needs.get(code, VcpuNeed(code, name, 0, 0, ()))
            needs[code] = VcpuNeed(
                code, name, before.minimum + minimum, before.maximum + pool.max_nodes * max(vcpus), (*before.pools, pool.name)
            )
    return list(needs.values())


def quota(region: str, need: VcpuNeed, observed: QuotaObservation) -> Finding:
    """A vCPU quota holds the pools' minimum (else fail) and their maximum (else warn)."""
    subject = f"{region} {need.name}"
    increase = (
        f"aws service-quotas request-service-quota-increase --region {region} --service-code ec2 "
        f"--quota-code {need.code} --desired-value {need.maximum}"
    )
    if observed.value is None:
        return Finding(
            "quotas",
            subject,
            "warn",
            f"could not read quota {need.code} ({observed.note or 'no value'}); pools {', '.join(need.pools)} need up to {need.maximum} vCPUs",
            f"check it in the Service Quotas console, or grant servicequotas:GetServiceQuota; then {increase}",
        )
    value = int(observed.value)
    if value < need.minimum:
        return Finding(
            "quotas",
            subject,
            "fail",
            f"quota {value} vCPUs is below the {need.minimum} vCPUs pools {', '.join(need.pools)} keep running",
            increase,
        )
    if value < need.maximum:
        return Finding(
            "quotas",
            subject,
            "warn",
            f"quota {value} vCPUs: pools {', '.join(need.pools)} stop growing before their maximum ({need.maximum} vCPUs)",
            increase,
        )
    return Finding("quotas", subject, "pass", f"quota {value} vCPUs holds the pools' maximum of {need.maximum}")


# ----------------------------------------------------------------------------- versions


def eks_versions(config: PlatformConfig, day: date) -> list[Finding]:
    """Each created cluster's version is in standard support on ``day`` (else fail)."""
    status: dict[str, Status] = {"ok": "pass", "warn": "warn", "fail": "fail"}
    return [Finding("eks-version", f.region, status[f.severity], f.message, f.fix) for f in version_findings(config, day)]


def addon_builds(region: str, kubernetes_version: str, offered: Mapping[str, tuple[str, ...] | ProbeError]) -> Finding:
    """The add-on builds pinned for the cluster's version are offered in the region."""
    pins = versions.pins_for(kubernetes_version)
    if pins is None:
        return Finding("addon-builds", region, "pass", f"no builds pinned for {kubernetes_version}: AWS's defaults are used")
    missing, unknown = [], []
    for addon, build in pins.addons.items():
        answer = offered.get(addon)
        if isinstance(answer, ProbeError) or answer is None:
            unknown.append(f"{addon} ({answer})" if answer is not None else addon)
        elif build not in answer:
            newest = answer[0] if answer else "none"
            missing.append(f"{addon} {build} (offered: {newest} and {max(len(answer) - 1, 0)} more)")
    if missing:
        return Finding(
            "addon-builds",
            region,
            "fail",
            f"not offered for Kubernetes {kubernetes_version} here: {'; '.join(missing)}; CreateAddon would fail",
            "pin builds EKS offers (aws eks describe-addon-versions --kubernetes-version "
            f"{kubernetes_version} --addon-name <name>) in components/versions.py",
        )
    if unknown:
        return Finding(
            "addon-builds", region, "warn", f"could not list builds of {', '.join(unknown)}", "grant eks:DescribeAddonVersions"
        )
    return Finding("addon-builds", region, "pass", f"all {len(pins.addons)} pinned add-on builds are offered for {kubernetes_version}")


# ----------------------------------------------------------------------------- network


def zones(region: RegionConfig, found: Sequence[ZoneInfo] | ProbeError) -> Finding:
    """The region offers the account enough zones EKS accepts, by zone ID."""
    if isinstance(found, ProbeError):
        return unreachable("zones", region.name, found, "ec2:DescribeAvailabilityZones")
    rejected = set(eks.unsupported_zone_ids(region.name))
    usable = sorted(
        (z for z in found if z.state == "available" and z.zone_type == "availability-zone" and z.zone_id not in rejected),
        key=lambda z: z.zone_id,
    )
    skipped = sorted(z.zone_id for z in found if z.zone_id in rejected)
    note = f" ({', '.join(skipped)} left out: EKS rejects it)" if skipped else ""
    if len(usable) < region.az_count:
        return Finding(
            "zones",
            region.name,
            "fail",
            f"{len(usable)} zones EKS accepts{note}, the stack asks for {region.az_count}",
            f"lower llmops:regions[].azCount for {region.name} to {len(usable)}",
        )
    chosen = usable[: region.az_count]
    return Finding(
        "zones", region.name, "pass", f"the VPC spans {', '.join(f'{z.zone_id} ({z.name})' for z in chosen)}{note}"
    )


VPC_RANGES = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
"""The ranges a VPC's addresses come from (RFC 1918 and the shared space VPCs may use)."""


def _in_a_vpc_range(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in VPC_RANGES)


def _within(address: str, cidrs: Sequence[str]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs)


def api_access(
    region: RegionConfig, cluster_name: str, cluster: ClusterInfo | ProbeError | None, deployer: str | None
) -> Finding:
    """Whoever runs the deploy (``deployer``: this machine's address, or the one given) has
    a path to the cluster's API server, the declared one and, for a cluster that exists,
    the one it has."""
    subject = f"{region.name} {cluster_name}"
    if isinstance(cluster, ProbeError):
        return unreachable("api-access", subject, cluster, "eks:DescribeCluster")
    access = region.cluster.access
    if access is None:  # an existing cluster: only what it has counts
        if cluster is None:
            return Finding("api-access", subject, "fail", "the existing cluster does not exist in this account and region",
                           "correct llmops:regions[].cluster.existing.clusterName, or switch account")
        return _existing_path(subject, cluster, deployer)
    if cluster is not None and cluster.public_access and access.mode == "publicRestricted":
        cidrs: Sequence[str] = cluster.public_access_cidrs
    else:
        cidrs = access.deployer_cidrs
    if access.mode == "publicRestricted":
        if deployer is None:
            return Finding("api-access", subject, "warn", "this machine's public address is unknown, so its path cannot be checked",
                           "pass --deployer-ip <address deploys come from>")
        if not _within(deployer, cidrs):
            return Finding(
                "api-access",
                subject,
                "fail",
                f"deploys from {deployer} cannot reach the public endpoint, open to {', '.join(cidrs)} only",
                "add the range deploys come from to access.deployerCidrs (and pulumi up from an address already "
                "allowed), or deploy from an allowed network",
            )
        return Finding("api-access", subject, "pass", f"{deployer} is allowed to the public endpoint ({', '.join(cidrs)})")
    if cluster is not None and cluster.public_access:
        note = "; the next pulumi up closes its public endpoint"
    else:
        note = ""
    if access.deploy_from == "vpcRunner":
        if deployer is None or not _in_a_vpc_range(deployer):
            return Finding(
                "api-access",
                subject,
                "warn",
                f"deploys must run on a runner in {', '.join(access.runner_cidrs)}{note}",
                "run doctor on the runner with --deployer-ip <its private address>",
            )
        if not _within(deployer, access.runner_cidrs):
            return Finding(
                "api-access",
                subject,
                "fail",
                f"{deployer} is not in the runner ranges the cluster admits ({', '.join(access.runner_cidrs)})",
                "add the runner network to access.runnerCidrs, or deploy from a runner inside them",
            )
        return Finding("api-access", subject, "pass", f"{deployer} is in the runner ranges the cluster admits{note}")
    tunnel = access.tunnel_local_port
    if cluster is None:
        return Finding(
            "api-access",
            subject,
            "pass",
            f"deploys tunnel through the bastion the stack creates (https://127.0.0.1:{tunnel})",
            "first deploy: pulumi up --exclude '**kubernetes**' --exclude-dependents, open the tunnel, "
            "then pulumi up (docs/deploying.md)",
        )
    return Finding(
        "api-access",
        subject,
        "pass",
        f"deploys tunnel to {cluster.endpoint} through the bastion (https://127.0.0.1:{tunnel}){note}",
        "open the tunnel before pulumi up (docs/deploying.md, ssmTunnel)",
    )


def _existing_path(subject: str, cluster: ClusterInfo, deployer: str | None) -> Finding:
    if not cluster.public_access:
        return Finding("api-access", subject, "warn", "the cluster's endpoint is private: deploys must run inside its network",
                       "run the deploy on a runner in the cluster's VPC (or a network peered with it)")
    cidrs = cluster.public_access_cidrs or ("0.0.0.0/0",)
    if deployer is None:
        return Finding("api-access", subject, "warn", f"the public endpoint admits {', '.join(cidrs)}; this machine's address is unknown",
                       "pass --deployer-ip <address deploys come from>")
    if not _within(deployer, cidrs):
        return Finding("api-access", subject, "fail", f"{deployer} is outside the endpoint's allowed ranges ({', '.join(cidrs)})",
                       "add the deployer's range to the cluster's public access CIDRs, or deploy from an allowed network")
    return Finding("api-access", subject, "pass", f"{deployer} is allowed to the public endpoint")
