"""The stack config schema: everything under the ``llmops:`` namespace of a
``Pulumi.<stack>.yaml``, validated before any resource is created.

One typed description drives the whole platform (network, clusters, serving, data,
alerting, budgets, the cost estimate and the policy checks), so this module is the
contract between a stack file and everything else. Field names are camelCase in YAML and
snake_case in Python.

Validation reports *every* problem at once, each with its config path and a fix::

    llmops:regions[1].gpuPools[0].maxNodes: must be >= minNodes (2); raise maxNodes or lower minNodes

Structural and per-field problems come from pydantic; problems that span several fields
(duplicate regions, overlapping CIDRs, a home region that is not deployed) are found by
:func:`_cross_checks` on the raw document, so they are reported even when other parts of
the document are invalid.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from core import catalog, gpu_pool
from core.catalog import eks
from core.literals import CONFIG_NAMESPACE as NAMESPACE
from core.literals import COST_ALLOCATION_TAG_KEYS, LOG_RETENTION_DAYS, PLATFORM_TAG_KEYS
from core.problems import ConfigError as _BaseConfigError
from core.problems import Problem, format_path, problems_from, sort_key
from core.serving_pins import RAY_VERSION, SERVING_CHART_VERSIONS

__all__ = [
    "COST_ALLOCATION_TAG_KEYS",
    "NAMESPACE",
    "PLATFORM_TAG_KEYS",
    "ConfigError",
    "PlatformConfig",
    "Problem",
    "parse",
]

Environment = Literal["dev", "staging", "prod"]
CapacityType = Literal["spot", "on-demand"]
NatMode = Literal["single", "perAz"]
InterfaceEndpoint = Literal["ecr.api", "ecr.dkr", "sts", "logs", "ec2", "ssm", "secretsmanager"]
DEFAULT_INTERFACE_ENDPOINTS: tuple[InterfaceEndpoint, ...] = ("ecr.api", "ecr.dkr", "sts")
DEFAULT_KUBERNETES_VERSION = "1.35"

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")


class _Model(BaseModel):
    """Base for every config section: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        str_strip_whitespace=True,
    )


class FlowLogsConfig(_Model):
    """VPC flow logs to CloudWatch Logs."""

    enabled: bool = True
    """Capture flow logs for the VPC (recommended; required by most audit regimes)."""
    retention_days: int = 30
    """How long CloudWatch keeps them; one of the values CloudWatch Logs accepts."""
    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"
    """Which traffic to record."""

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            nearest = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - value))
            raise ValueError(
                f"CloudWatch Logs does not accept {value} days; use one of "
                f"{', '.join(map(str, LOG_RETENTION_DAYS))} (nearest: {nearest})"
            )
        return value


GPU_TYPE_FIX = "use an NVIDIA GPU type such as g5.xlarge, g6.xlarge, g6e.xlarge or p5.48xlarge"


def _check_gpu_instance_type(name: str) -> str:
    catalog.check_instance_type(name, fix=GPU_TYPE_FIX, hints=catalog.gpu_instance_types())
    spec = catalog.instance_types().get(name)
    if spec is None:
        raise ValueError(
            f"'{name}' is an EC2 instance type the instance catalogue has no specifications for (GPU model and "
            f"count, memory), which GPU pools need; {GPU_TYPE_FIX}, or add the type to core/catalog/data/instance_types.json"
        )
    if spec.accelerator == "neuron":
        raise ValueError(
            f"'{name}' is an AWS {spec.accelerator_model} (Neuron) instance, not an NVIDIA GPU; "
            "GPU pools need NVIDIA types such as g5.xlarge or g6.xlarge"
        )
    if not spec.is_nvidia_gpu:
        raise ValueError(
            f"'{name}' has no GPU; GPU pools need NVIDIA GPU types such as g5.xlarge or g6.xlarge "
            "(CPU nodes belong in the system node group)"
        )
    return name


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"'{value}' is not an email address; use an address like ml-platform@example.com")
    return value


def _check_cpu_instance_type(name: str) -> str:
    catalog.check_instance_type(name, fix="use a general-purpose type such as m7i.large or m6i.xlarge")
    if catalog.is_accelerated(name):
        raise ValueError(f"'{name}' is an accelerated instance; system nodes use CPU types such as m7i.large")
    return name


GpuInstanceType = Annotated[str, AfterValidator(_check_gpu_instance_type)]
CpuInstanceType = Annotated[str, AfterValidator(_check_cpu_instance_type)]
Email = Annotated[str, AfterValidator(_check_email)]


class _NodeRange(_Model):
    """Base of the node pools: ``maxNodes`` may not fall below ``minNodes`` (subclasses set
    the bounds and defaults of both fields)."""

    min_nodes: int
    max_nodes: int

    @field_validator("max_nodes")
    @classmethod
    def _max_ge_min(cls, value: int, info: ValidationInfo) -> int:
        min_nodes = info.data.get("min_nodes")
        if isinstance(min_nodes, int) and value < min_nodes:
            raise ValueError(f"must be >= minNodes ({min_nodes}); raise maxNodes or lower minNodes")
        return value


class GpuPoolConfig(_NodeRange):
    """A pool of GPU nodes in one region: what it runs on, how it is bought, how far it scales."""

    name: str
    """Pool name, a DNS label (lowercase letters, digits, '-'); unique within the region."""
    instance_types: list[GpuInstanceType] = Field(min_length=1)
    """EC2 instance types with NVIDIA GPUs, e.g. ``[g5.xlarge, g5.2xlarge]``; the first is preferred."""
    capacity_type: CapacityType = "spot"
    """``spot`` (cheaper, interruptible) or ``on-demand``."""
    min_nodes: int = Field(default=0, ge=0, le=1000)
    """Nodes kept running when idle."""
    max_nodes: int = Field(default=2, ge=1, le=1000)
    """Upper bound the autoscaler may reach; must be >= minNodes."""
    scale_to_zero: bool = Field(default=None, validate_default=True)
    """Whether the pool empties when idle. Defaults to ``minNodes == 0``; true requires minNodes 0,
    false requires minNodes >= 1."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra Kubernetes node labels."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _DNS_LABEL.match(value) or len(value) > 40:
            raise ValueError(
                "must be a DNS label of at most 40 characters (lowercase letters, digits and '-', "
                "starting and ending with a letter or digit), e.g. 'a10g-spot'"
            )
        return value

    @field_validator("instance_types")
    @classmethod
    def _unique_types(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an instance type twice; list each type once")
        return value

    @field_validator("scale_to_zero", mode="before")
    @classmethod
    def _default_scale_to_zero(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return info.data.get("min_nodes", 0) == 0
        return value

    @field_validator("scale_to_zero")
    @classmethod
    def _scale_to_zero(cls, value: bool, info: ValidationInfo) -> bool:
        min_nodes = info.data.get("min_nodes")
        if not isinstance(min_nodes, int):
            return value
        if value and min_nodes > 0:
            raise ValueError(
                f"is true but minNodes is {min_nodes}; set minNodes: 0, or scaleToZero: false to keep nodes warm"
            )
        if not value and min_nodes == 0:
            raise ValueError(
                "is false but minNodes is 0; set minNodes >= 1 to keep nodes warm, or scaleToZero: true"
            )
        return value

    @property
    def min_gpus_per_node(self) -> int:
        """GPUs on the smallest allowed instance type (what every node of the pool has)."""
        return min(gpu_pool.gpu_counts(self.instance_types))

    @property
    def max_gpus_per_node(self) -> int:
        """GPUs on the largest allowed instance type."""
        return max(gpu_pool.gpu_counts(self.instance_types))

    @property
    def max_gpus(self) -> int:
        """GPUs the pool can reach at maxNodes on its largest allowed instance type."""
        return self.max_nodes * self.max_gpus_per_node


class SystemNodesConfig(_NodeRange):
    """The small on-demand CPU node group that runs controllers (Karpenter, CoreDNS, operators)."""

    instance_types: list[CpuInstanceType] = Field(default_factory=lambda: ["m7i.large", "m6i.large"], min_length=1)
    """CPU instance types (no GPUs)."""
    min_nodes: int = Field(default=2, ge=1, le=50)
    """At least 2 for controller availability across AZs (1 is fine in dev)."""
    max_nodes: int = Field(default=4, ge=1, le=50)
    """Upper bound; must be >= minNodes."""
    disk_gib: int = Field(default=50, ge=20, le=1000)
    """Encrypted gp3 root volume size."""


class ExistingClusterConfig(_Model):
    """Bring your own cluster: only the in-cluster parts (device plugin, DCGM exporter) are created."""

    kubeconfig: str | None = None
    """Kubeconfig of the cluster; set it as a secret (``pulumi config set --secret``)."""
    cluster_name: str | None = None
    """Name of an existing EKS cluster in this region (its kubeconfig is derived, auth via ``aws eks get-token``)."""

    @field_validator("cluster_name")
    @classmethod
    def _exactly_one(cls, value: str | None, info: ValidationInfo) -> str | None:
        kubeconfig = info.data.get("kubeconfig")
        if (value is None) == (kubeconfig is None):
            raise ValueError("set exactly one of kubeconfig (as a secret) or clusterName for an existing cluster")
        return value


AccessMode = Literal["publicRestricted", "private"]
DeployFrom = Literal["vpcRunner", "ssmTunnel"]
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_BROADEST_DEPLOYER_PREFIX = 8
"""A deployer range broader than this (fewer prefix bits) covers a large share of the
internet; list the ranges deploys really come from."""
TUNNEL_DEFAULT_PORT = 8443
"""The local port an SSM tunnel listens on unless ``tunnelLocalPort`` says otherwise."""


_DOCUMENTATION_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
"""RFC 5737 ranges: placeholders in examples (routed nowhere, so ``llmops doctor`` reports
that a deployer in them has no path)."""


def _public(block: ipaddress.IPv4Network) -> bool:
    return block.is_global or any(block.subnet_of(doc) for doc in _DOCUMENTATION_RANGES)


def _ipv4_block(cidr: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        raise ValueError(f"'{cidr}' is not an IPv4 CIDR block (EKS takes IPv4 only); use e.g. 203.0.113.0/24") from None


def _check_role_arn(value: str) -> str:
    if not _ROLE_ARN.match(value):
        raise ValueError(f"'{value}' is not an IAM role ARN; use arn:aws:iam::<account>:role/<name>")
    return value


class ClusterAccessConfig(_Model):
    """How the identities that deploy (a laptop, a CI runner) reach the cluster's API server.

    Every Kubernetes resource of the stack (Helm releases, namespaces, Karpenter NodePools)
    is created through the API server, so a deploy needs a network path to it:

    * ``publicRestricted``: the public endpoint, open only to ``deployerCidrs`` (the
      egress ranges of the office, VPN or CI runners), plus the private endpoint for nodes;
    * ``private``: no public endpoint; the deploy runs inside the VPC's reach
      (``deployFrom: vpcRunner``, a runner in ``runnerCidrs``, i.e. this VPC or a network
      peered with it) or through an SSM port-forwarding tunnel to a bastion the stack
      creates (``deployFrom: ssmTunnel``; see docs/deploying.md).
    """

    mode: AccessMode
    """``publicRestricted`` or ``private`` (see above)."""
    deployer_cidrs: list[str] = Field(default_factory=list, validate_default=True)
    """publicRestricted: public IPv4 ranges allowed to the public endpoint. 0.0.0.0/0 and
    ranges that together cover the internet are refused."""
    deploy_from: DeployFrom | None = Field(default=None, validate_default=True)
    """private: ``vpcRunner`` (the deploy runs on a runner inside the VPC or a network
    peered with it) or ``ssmTunnel`` (through an SSM-managed bastion, no inbound ports)."""
    runner_cidrs: list[str] = Field(default_factory=list, validate_default=True)
    """vpcRunner: private IPv4 ranges the runners deploy from (this VPC's range, or a
    peered/transit network's); the cluster security group admits HTTPS from them."""
    tunnel_local_port: int = Field(default=TUNNEL_DEFAULT_PORT, ge=1024, le=65535)
    """ssmTunnel: the local port the tunnel listens on; the stack's kubeconfig points at
    https://127.0.0.1:<port> and checks the API server's certificate by its real name."""
    ci_role_arn: str | None = Field(default=None, validate_default=True)
    """The IAM role CI deploys with; it gets its own cluster-admin access entry."""

    @field_validator("deployer_cidrs")
    @classmethod
    def _deployer_cidrs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        mode = info.data.get("mode")
        if mode == "private" and value:
            raise ValueError("only a publicRestricted endpoint has deployer CIDRs; remove them, or set mode: publicRestricted")
        if mode == "publicRestricted" and not value:
            raise ValueError(
                "mode publicRestricted needs the public ranges deploys come from (office, VPN or CI egress), "
                "e.g. [203.0.113.0/24]; or set mode: private with deployFrom"
            )
        blocks = [_ipv4_block(cidr) for cidr in value]
        for cidr, block in zip(value, blocks, strict=True):
            if block.prefixlen == 0:
                raise ValueError("0.0.0.0/0 opens the API server to the internet; list your office, VPN or CI egress ranges")
            if not _public(block):
                raise ValueError(
                    f"{cidr} is not a public range, and only public addresses reach a public endpoint; "
                    "for deploys from inside the network use mode: private with deployFrom: vpcRunner"
                )
            if block.prefixlen < _BROADEST_DEPLOYER_PREFIX:
                raise ValueError(
                    f"{cidr} covers a large part of the internet; list the narrower ranges deploys come from "
                    f"(/{_BROADEST_DEPLOYER_PREFIX} or longer)"
                )
        if ipaddress.IPv4Network("0.0.0.0/0") in list(ipaddress.collapse_addresses(blocks)):
            raise ValueError("these ranges together cover the whole internet; list the ranges deploys come from")
        return value

    @field_validator("deploy_from")
    @classmethod
    def _deploy_from(cls, value: DeployFrom | None, info: ValidationInfo) -> DeployFrom | None:
        mode = info.data.get("mode")
        if mode == "private" and value is None:
            raise ValueError(
                "a private endpoint needs a path for the deploy: vpcRunner (a runner inside the VPC or a peered "
                "network, listed in runnerCidrs) or ssmTunnel (an SSM port-forwarding tunnel through a bastion the "
                "stack creates)"
            )
        if mode == "publicRestricted" and value is not None:
            raise ValueError("deployFrom applies to mode: private; remove it, or set mode: private")
        return value

    @field_validator("runner_cidrs")
    @classmethod
    def _runner_cidrs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        deploy_from = info.data.get("deploy_from")
        if deploy_from == "vpcRunner" and not value:
            raise ValueError(
                "deployFrom vpcRunner needs the private ranges the runners deploy from (this VPC's range or a "
                "peered network's), e.g. [10.100.0.0/24]"
            )
        if deploy_from != "vpcRunner" and value:
            raise ValueError("runnerCidrs apply to deployFrom: vpcRunner; remove them")
        for cidr in value:
            if not _ipv4_block(cidr).is_private:
                raise ValueError(f"{cidr} is not a private range; runners reach the private endpoint from inside the network")
        return value

    @field_validator("ci_role_arn")
    @classmethod
    def _ci_role(cls, value: str | None) -> str | None:
        return None if value is None else _check_role_arn(value)


class ClusterConfig(_Model):
    """The region's EKS cluster."""

    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    """EKS Kubernetes version (``1.x``, quoted in YAML), one of the project's EKS version
    table (``core/catalog/data/eks_versions.json``); upgrade one minor version at a time.
    Plans warn when it is out of standard support; ``llmops doctor`` fails."""
    access: ClusterAccessConfig | None = None
    """How deploys reach the API server (required for a created cluster)."""
    capacity_provider: Literal["karpenter", "managedNodeGroups"] = "karpenter"
    """How GPU pools get nodes: Karpenter NodePools (default; a warm pool keeps its
    minNodes in a fixed-size managed node group and bursts through a NodePool) or EKS managed
    node groups + cluster-autoscaler."""
    system_nodes: SystemNodesConfig = Field(default_factory=SystemNodesConfig)
    """The CPU node group for controllers."""
    creator_admin: bool = True
    """Give the identity that creates the cluster (the one running ``pulumi up``) cluster-admin
    through an access entry, so the in-cluster parts can be installed. Set at creation only
    (changing it replaces the cluster); when false, list the deploying role in adminRoleArns
    or access.ciRoleArn."""
    admin_role_arns: list[str] = Field(default_factory=list, validate_default=True)
    """IAM roles granted cluster-admin through EKS access entries."""
    log_retention_days: int = 90
    """Retention of the control-plane log group."""
    existing: ExistingClusterConfig | None = None
    """Use an existing cluster instead of creating one."""

    @field_validator("kubernetes_version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        known = list(eks.eks_versions())
        if isinstance(value, float):
            raise ValueError(f"{value!r} was read as a number; quote it in YAML, e.g. '{DEFAULT_KUBERNETES_VERSION}'")
        if value not in known:
            raise ValueError(
                catalog.unknown_name_message("EKS Kubernetes version", str(value), known, f"use one of {', '.join(known)}")
            )
        return value

    @field_validator("admin_role_arns")
    @classmethod
    def _arns(cls, value: list[str], info: ValidationInfo) -> list[str]:
        access = info.data.get("access")
        ci_role = access.ci_role_arn if isinstance(access, ClusterAccessConfig) else None
        if info.data.get("creator_admin") is False and not value and ci_role is None:
            raise ValueError(
                "creatorAdmin is false and no admin role is listed, so nothing could install Karpenter or the "
                "GPU software; add the role that runs pulumi up (or set access.ciRoleArn), or set creatorAdmin: true"
            )
        for arn in value:
            _check_role_arn(arn)
        if ci_role is not None and ci_role in value:
            raise ValueError(f"{ci_role} is also access.ciRoleArn, which has its own access entry; list it once")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return FlowLogsConfig._retention(value)


class RegionConfig(_Model):
    """One region of the platform: its network and its GPU capacity."""

    name: str
    """AWS region code, e.g. ``us-east-1``."""
    cidr: str = "10.0.0.0/16"
    """The VPC's IPv4 range: a private (RFC 1918) block from /16 to /20, unique across regions."""
    az_count: int = Field(default=3, ge=2, le=6)
    """Availability zones the VPC spans (2 or more; at most what the region offers)."""
    nat_gateways: NatMode = "perAz"
    """``perAz``: one NAT gateway per AZ (HA, for prod); ``single``: one shared NAT (cheaper, for dev)."""
    interface_endpoints: list[InterfaceEndpoint] = Field(default_factory=lambda: list(DEFAULT_INTERFACE_ENDPOINTS))
    """AWS services reached through interface endpoints instead of NAT (ECR image pulls, STS for IRSA)."""
    flow_logs: FlowLogsConfig = Field(default_factory=FlowLogsConfig)
    """VPC flow logs."""
    gpu_pools: list[GpuPoolConfig] = Field(default_factory=list)
    """GPU node pools in this region."""
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    """The region's EKS cluster (or an existing one)."""

    @field_validator("name")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in catalog.regions():
            raise ValueError(
                catalog.unknown_name_message(
                    "AWS region", value, catalog.regions(), "use a region code such as us-east-1, us-west-2 or eu-west-1"
                )
            )
        return value

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"'{value}' is not an IPv4 network ({exc}); use a block such as 10.10.0.0/16") from None
        if not 16 <= network.prefixlen <= 20:
            raise ValueError(
                f"prefix /{network.prefixlen} is out of range; use /16 (recommended for EKS pod IPs) to /20"
            )
        if not network.is_private:
            raise ValueError(f"{value} is not a private range; use a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        return str(network)

    @field_validator("az_count")
    @classmethod
    def _az_count(cls, value: int, info: ValidationInfo) -> int:
        region = catalog.regions().get(info.data.get("name", ""))
        if region is None:
            return value
        # EKS refuses some zones for cluster subnets (by zone ID); the VPC skips them.
        refused = eks.unsupported_zone_ids(region.name)
        usable = region.availability_zones - len(refused)
        if value > usable:
            why = f", {len(refused)} of which EKS does not accept for cluster subnets ({', '.join(refused)})" if refused else ""
            raise ValueError(
                f"{region.name} has {region.availability_zones} availability zones{why}; "
                f"set azCount to at most {usable}"
            )
        return value

    @field_validator("interface_endpoints")
    @classmethod
    def _unique_endpoints(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists an endpoint twice; list each service once")
        return value


class TeamBudgetConfig(_Model):
    """A team's monthly budget over the resources carrying its cost-allocation tag."""

    name: str
    """Team name, a DNS label (part of the budget's name)."""
    monthly_usd: float = Field(gt=0, le=10_000_000)
    """The team's monthly limit in US dollars."""
    tag_key: str = "Team"
    """Cost-allocation tag key that marks the team's resources."""
    tag_value: str | None = None
    """Its value for this team (default: the team's name)."""
    emails: list[Email] = Field(default_factory=list, max_length=10)
    """Addresses told besides the alert topic."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _DNS_LABEL.match(value) or len(value) > 40:
            raise ValueError("must be a DNS label of at most 40 characters, e.g. 'search'")
        return value

    @field_validator("tag_key")
    @classmethod
    def _tag_key(cls, value: str) -> str:
        if value.lower().startswith("aws:") or not _TAG_KEY.match(value):
            raise ValueError(f"'{value}' is not a valid tag key (1-128 characters, not starting with 'aws:')")
        return value


class AnomalyConfig(_Model):
    """Cost Anomaly Detection alerts (to the alert topic, as they are found)."""

    enabled: bool = True
    """Subscribe the alert topic to the account's anomaly monitor."""
    threshold_usd: float = Field(default=100, gt=0)
    """Alert on anomalies whose total impact is at least this many dollars."""
    monitor_arn: str | None = None
    """The account's existing anomaly monitor, when another stack owns the account-wide
    resources (``accountSingletons``) and created it."""

    @field_validator("monitor_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"arn:aws[a-z-]*:ce::\d{12}:anomalymonitor/[\w-]+", value):
            raise ValueError(f"'{value}' is not an anomaly monitor ARN; use arn:aws:ce::<account>:anomalymonitor/<id>")
        return value


class BudgetActionConfig(_Model):
    """Stop new GPU capacity when the budget is reached (an AWS Budgets action that attaches
    a deny-GPU-launch IAM policy). Off by default."""

    enabled: bool = False
    """Turn the action on."""
    threshold_percent: int = Field(default=100, ge=1, le=1000)
    """Percentage of the budget (actual spend) at which new GPU launches stop."""
    approval: Literal["AUTOMATIC", "MANUAL"] = "AUTOMATIC"
    """``AUTOMATIC``: applied at once; ``MANUAL``: approved by someone in the Budgets console."""
    role_names: list[str] = Field(default_factory=list)
    """IAM role names that launch GPU instances, to which the deny policy is attached.
    Empty (the default): the controller role of Karpenter in every region whose cluster the
    stack creates with Karpenter. Managed node groups grow through EC2 Auto Scaling's
    service-linked role, to which no policy can be attached: the action cannot stop them."""

    @field_validator("role_names")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if not re.fullmatch(r"[\w+=,.@-]{1,64}", role):
                raise ValueError(f"'{role}' is not an IAM role name (the name, not the ARN)")
        return value


class BudgetConfig(_Model):
    """The stack's monthly spending limit and who is told when it is approached."""

    monthly_usd: float = Field(gt=0, le=10_000_000)
    """Monthly budget in US dollars for everything the stack creates."""
    alert_emails: list[Email] = Field(min_length=1, max_length=10)
    """Addresses that receive budget and anomaly alerts."""
    thresholds_percent: list[int] = Field(default_factory=lambda: [50, 80, 100])
    """Percentages of the budget (actual or forecast) that trigger an alert."""
    teams: list[TeamBudgetConfig] = Field(default_factory=list)
    """Per-team budgets, each over the resources carrying the team's tag."""
    anomaly: AnomalyConfig = Field(default_factory=AnomalyConfig)
    """Cost Anomaly Detection alerts."""
    action: BudgetActionConfig = Field(default_factory=BudgetActionConfig)
    """The optional stop-GPU budget action."""
    account_singletons: bool = False
    """Whether this stack owns the account-wide cost resources: the activation of the
    cost-allocation tags and the account's anomaly monitor. Exactly one stack per account
    (the management account, for tag activation) sets it, after the stack's tags have shown
    up in billing data (about a day after the first deploy). Not ``llmops:account.singletons``
    (the EC2 Spot service-linked role, on the first deploy): see docs/alerting.md."""

    @field_validator("thresholds_percent")
    @classmethod
    def _thresholds(cls, value: list[int]) -> list[int]:
        if not value or any(not 1 <= t <= 1000 for t in value):
            raise ValueError("must list percentages between 1 and 1000, e.g. [50, 80, 100]")
        return sorted(set(value))

    @field_validator("teams")
    @classmethod
    def _unique_teams(cls, value: list[TeamBudgetConfig]) -> list[TeamBudgetConfig]:
        names = [t.name for t in value]
        if len(set(names)) != len(names):
            raise ValueError("lists a team twice; give each team one budget")
        return value


# --------------------------------------------------------------------------- serving

_IMAGE_BY_DIGEST = re.compile(
    r"^(?P<repository>[a-z0-9][a-z0-9.-]*(?::\d+)?(?:/[a-z0-9._-]+)+)(?::(?P<tag>[\w][\w.-]{0,127}))?@sha256:[a-f0-9]{64}$"
)
_RAY_TAG = re.compile(r"^(?:ray-?)?(?P<version>\d+\.\d+\.\d+)(?:[-_.].*)?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_REF = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+(#[\w.-]+)?$")
RELEASE_APP_SETTINGS = ("rag", "request_timeout_s")
"""Serve application settings a release may carry (serve spelling); they apply to every
application of the stack's serve config."""


def image_ray_version(image: str) -> str | None:
    """The Ray version an image reference's tag carries (``...:ray2.60.0-<commit>@sha256:...``
    or ``...:2.60.0-py311-gpu@...``), or None when its tag says nothing about it."""
    match = _IMAGE_BY_DIGEST.match(image)
    tag = match.group("tag") if match else None
    version = _RAY_TAG.match(tag) if tag else None
    return version.group("version") if version else None


def _check_secret_ref(value: str) -> str:
    if not _SECRET_REF.match(value):
        raise ValueError(
            f"'{value}' is not a Secrets Manager secret ARN; use arn:aws:secretsmanager:<region>:<account>:secret:<name> "
            "(add #<key> to pick one key of a JSON secret)"
        )
    return value


SecretArn = Annotated[str, AfterValidator(_check_secret_ref)]


class ReleaseConfig(_Model):
    """What moves between stacks on promotion (``llmops promote``): the serving image, the
    model and its pinned revision, Serve application settings and chart versions."""

    image: str
    """The serving image by digest: ``<registry>/<repository>[:<tag>]@sha256:<digest>``. CI
    tags images ``ray<version>-<commit>``, which says the Ray version the image runs."""
    ray_version: str | None = Field(default=None, validate_default=True)
    """The image's Ray version; derived from the image's tag when it carries one (then it
    may only repeat it). Must be the project's Ray pin."""
    model_id: str | None = None
    """The release model (a hub repository id): what vllm/transformers backends without a
    ``model_id`` of their own serve."""
    model_revision: str | None = None
    """The release model's pinned revision: a 40-character commit hash."""
    model_parameter_count_b: float | None = Field(default=None, gt=0, le=10_000)
    """The release model's parameters in billions (for the GPU memory check)."""
    chart_versions: dict[str, str] = Field(default_factory=dict)
    """Chart versions of the serving plane (``kuberay-operator``, ``aws-load-balancer-controller``);
    only versions whose schemas the project carries."""
    app_settings: dict[str, Any] = Field(default_factory=dict)
    """Serve application settings for every application, in the serve schema's spelling:
    ``rag`` (retrieval and prompts) and ``request_timeout_s``."""

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE_BY_DIGEST.match(value):
            raise ValueError(
                f"'{value}' does not name the image by digest; pin <registry>/<repository>[:<tag>]@sha256:<64 hex digits>, "
                "e.g. with `llmops release set --stack <stack> image=...` from the build's digest"
            )
        return value

    @field_validator("ray_version")
    @classmethod
    def _ray_version(cls, value: str | None, info: ValidationInfo) -> str | None:
        derived = image_ray_version(str(info.data.get("image") or ""))
        if value is not None and derived is not None and value != derived:
            raise ValueError(f"is {value}, but the image's tag says Ray {derived}; drop rayVersion (it is derived from the tag)")
        version = value or derived
        if version is None:
            if "image" not in info.data:
                return None
            raise ValueError(
                "cannot be derived: the image's tag carries no Ray version; set rayVersion, or pin an image tagged "
                f"ray{RAY_VERSION}-<commit>"
            )
        if version != RAY_VERSION:
            raise ValueError(
                f"the image runs Ray {version}, but the project pins Ray {RAY_VERSION} (pyproject.toml, serving/Dockerfile); "
                f"pin an image built from this project (tagged ray{RAY_VERSION}-<commit>)"
            )
        return version

    @field_validator("model_revision")
    @classmethod
    def _revision(cls, value: str | None) -> str | None:
        if value is not None and not _COMMIT.match(value):
            raise ValueError(f"'{value}' is not a commit hash; pin the model's 40-character revision (a branch name moves)")
        return value

    @field_validator("chart_versions")
    @classmethod
    def _charts(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for chart, version in value.items():
            known = SERVING_CHART_VERSIONS.get(chart)
            if known is None:
                problems.append(
                    catalog.unknown_name_message("chart", chart, list(SERVING_CHART_VERSIONS), f"use one of {', '.join(SERVING_CHART_VERSIONS)}")
                )
            elif str(version) not in known:
                problems.append(f"{chart} {version} has no schemas in the project; use {' or '.join(known)}")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("app_settings")
    @classmethod
    def _app_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(RELEASE_APP_SETTINGS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: a release carries only {', '.join(RELEASE_APP_SETTINGS)}")
        return value

    def chart_version(self, chart: str) -> str:
        """The version of ``chart`` this release installs (its pin when the release names none)."""
        return self.chart_versions.get(chart) or SERVING_CHART_VERSIONS[chart][0]


class DeploymentOverride(_Model):
    """Where one Serve deployment runs in a region, and how many replicas it may have."""

    pools: list[str] | None = None
    """Worker groups it runs on: GPU pool names of the region, or ``cpu`` (the CPU worker
    group). Default: every GPU pool for a deployment that asks for GPUs, else ``cpu``."""
    min_replicas: int | None = Field(default=None, ge=0)
    """Replicas kept (autoscaling's min_replicas, or the fixed count's floor)."""
    max_replicas: int | None = Field(default=None, ge=1)
    """The most replicas (autoscaling's max_replicas)."""
    replicas: int | None = Field(default=None, ge=1)
    """A fixed replica count (num_replicas; not with min/max)."""

    @field_validator("max_replicas")
    @classmethod
    def _bounds(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_replicas")
        if value is not None and isinstance(low, int) and value < low:
            raise ValueError(f"must be >= minReplicas ({low})")
        return value

    @field_validator("replicas")
    @classmethod
    def _fixed(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and (info.data.get("min_replicas") is not None or info.data.get("max_replicas") is not None):
            raise ValueError("is a fixed count; drop minReplicas/maxReplicas, or drop replicas to autoscale")
        return value


class AppOverride(_Model):
    """Per-region settings of one Serve application, keyed by deployment."""

    ingress: DeploymentOverride | None = None
    """The RAG ingress."""
    embeddings: DeploymentOverride | None = None
    """The embedding model."""
    models: dict[str, DeploymentOverride] = Field(default_factory=dict)
    """Model deployments by the model's name."""


class CpuWorkersConfig(_Model):
    """The CPU worker group (ingress, embeddings, CPU-only models)."""

    instance_types: list[CpuInstanceType] = Field(default_factory=lambda: ["m7i.xlarge", "m7i.2xlarge"], min_length=1)
    """CPU instance types of its nodes (a Karpenter NodePool of its own when the cluster runs Karpenter)."""
    capacity_type: CapacityType = "on-demand"
    """How its nodes are bought."""
    min_replicas: int = Field(default=1, ge=0, le=100)
    """Pods kept running (one per node)."""
    max_replicas: int = Field(default=4, ge=1, le=100)
    """The most pods."""


class RegionServingConfig(_Model):
    """What differs in one region: replicas and placement, keyed by application name."""

    applications: dict[str, AppOverride] = Field(default_factory=dict)
    """Overrides by application name."""
    cpu_workers: CpuWorkersConfig | None = None
    """The region's CPU worker group (default: the stack's)."""


class HeadConfig(_Model):
    """The Ray head pod (on the system nodes)."""

    cpu: float = Field(default=0.5, gt=0, le=64)
    """CPU cores requested."""
    memory_gib: float = Field(default=2, gt=0, le=512)
    """Memory requested and limited (GiB)."""


class ExposureConfig(_Model):
    """How clients reach a region's Serve endpoint."""

    scheme: Literal["internal", "internet-facing"] = "internal"
    """``internal``: an NLB inside the VPC; ``internet-facing``: a public ALB with TLS (needs
    ``entry`` for the certificate) and WAF."""
    client_cidrs: list[str] = Field(default_factory=list)
    """internal: ranges besides the region's VPC that may connect (peered networks)."""
    waf: bool = True
    """internet-facing: a WAF web ACL in front of the ALB (required in prod)."""
    waf_rate_limit: int = Field(default=2000, ge=100)
    """Requests per client IP in 5 minutes before the WAF blocks it."""

    @field_validator("client_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                network = ipaddress.IPv4Network(cidr, strict=True)
            except ValueError:
                raise ValueError(f"'{cidr}' is not an IPv4 CIDR block; use e.g. 10.100.0.0/16") from None
            if not network.is_private:
                raise ValueError(f"{cidr} is not a private range; an internal load balancer is reached from private networks")
        return value


class EntryConfig(_Model):
    """The global name of the serving endpoint (in the home region)."""

    hosted_zone_id: str
    """The existing Route 53 hosted zone the record goes in (private for an internal entry)."""
    record_name: str
    """The name clients use, e.g. ``llm.dev.example.com``."""
    routing: Literal["latency", "failover", "accelerator"] = "latency"
    """Several regions: ``latency`` records with health checks, ``failover`` (two regions;
    the home region primary), or a Global ``accelerator``."""

    @field_validator("hosted_zone_id")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not re.fullmatch(r"Z[A-Z0-9]{1,31}", value):
            raise ValueError(f"'{value}' is not a Route 53 hosted zone id (Z followed by letters and digits)")
        return value

    @field_validator("record_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.rstrip(".").lower()
        if not re.fullmatch(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}", value):
            raise ValueError(f"'{value}' is not a DNS name such as llm.example.com")
        return value


class RegistryConfig(_Model):
    """The ECR repository of the serving image (one per account, shared by its stacks)."""

    repository: str = "llmops-serving"
    """Repository name (CI pushes here)."""
    manage: bool = False
    """Whether this stack creates the repository in its home region and the account's
    registry replication into ``replicaRegions``. Account-wide: exactly one stack per
    account sets it (the others use the repository it makes)."""
    replica_regions: list[str] = Field(default_factory=list)
    """Regions the account's repository replicates into (every region any stack of the
    account serves from, besides the repository's own). A region listed here pulls the
    release image from its replica (same digest); any other pulls it as pinned."""
    pull_account_ids: list[str] = Field(default_factory=list)
    """With ``manage``: other accounts whose stacks run this repository's images (prod in an
    account of its own, promoted from a staging in this one): each may pull from the
    repository and its replicas, and nothing else. Quote the ids in YAML."""

    @field_validator("pull_account_ids", mode="before")
    @classmethod
    def _pull_accounts(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        found = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        for account in found:
            if not isinstance(account, str) or not re.fullmatch(r"\d{12}", account):
                raise ValueError(f"{account!r} is not an AWS account id (12 digits); quote it in YAML, e.g. '012345678901'")
        if len(set(found)) != len(found):
            raise ValueError("lists an account twice")
        return found

    @field_validator("replica_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in catalog.regions():
                raise ValueError(catalog.unknown_name_message("region", name, catalog.regions(), "use an AWS region code"))
        if len(set(value)) != len(value):
            raise ValueError("lists a region twice")
        return value


class ServingConfig(_Model):
    """The serving plane: the Serve applications on every region's cluster (KubeRay)."""

    enabled: bool = True
    """Deploy the serving plane into each region's cluster."""
    release: ReleaseConfig
    """The release pinned in this stack (what ``llmops promote`` moves)."""
    serve: dict[str, Any] = Field(default_factory=dict)
    """The Serve applications, in the serve config's own schema and spelling
    (``serving.config.ServeConfig``: ``applications``, ``http_port`` ...), the same document
    ``llmops serve --config`` runs locally. Empty: one default application."""
    regions: dict[str, RegionServingConfig] = Field(default_factory=dict)
    """Per-region replicas and placement, keyed by region name."""
    cpu_workers: CpuWorkersConfig = Field(default_factory=CpuWorkersConfig)
    """The CPU worker group of every region (a region may override it)."""
    head: HeadConfig = Field(default_factory=HeadConfig)
    """The Ray head pod."""
    secrets: dict[str, SecretArn] = Field(default_factory=dict)
    """Environment variables the Serve replicas read from Secrets Manager at start (upstream
    API keys, the hashed client keys): variable name -> secret ARN (``#key`` for a key of a
    JSON secret). Values never enter the plan."""
    hub_token_secret: SecretArn | None = None
    """The hub token (gated models) the model copy job reads."""
    exposure: ExposureConfig = Field(default_factory=ExposureConfig)
    """The regional load balancers."""
    entry: EntryConfig | None = None
    """The global name; None: clients use the regional endpoints."""
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    """The serving image's repository."""
    idle_timeout_seconds: int = Field(default=300, ge=0, le=86_400)
    """Seconds an idle Ray worker stays before the autoscaler removes its node."""
    upgrade_strategy: Literal["NewCluster", "None"] = "NewCluster"
    """``NewCluster``: a changed cluster starts beside the old one and takes traffic once it
    serves (no downtime); ``None``: changes apply in place."""

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _ENV_NAME.match(name)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: keys are environment variable names, e.g. OPENAI_API_KEY")
        return value


_CACHE_NODE_TYPE = re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$")


def _check_cache_node_type(value: str) -> str:
    if not _CACHE_NODE_TYPE.match(value):
        raise ValueError(f"'{value}' is not an ElastiCache node type; use e.g. cache.t4g.small or cache.r7g.large")
    return value


CacheNodeType = Annotated[str, AfterValidator(_check_cache_node_type)]


def _half_steps(value: float) -> float:
    if value * 2 != int(value * 2):
        raise ValueError(f"Aurora capacity goes in steps of 0.5 ACU; use e.g. {round(value * 2) / 2:g}")
    return value


class CacheConfig(_Model):
    """The response and semantic cache (ElastiCache)."""

    mode: Literal["serverless", "replicationGroup"] = "serverless"
    """``serverless`` (ElastiCache Serverless: scales by itself, cluster mode, TLS only) or a
    node-based ``replicationGroup`` (cluster mode off; replicas across zones per environment)."""
    max_data_gb: int = Field(default=5, ge=1, le=5000)
    """Serverless: the most data the cache may hold (GB); writes beyond it evict or fail."""
    max_ecpu_per_second: int = Field(default=5000, ge=1000, le=15_000_000)
    """Serverless: the most ElastiCache Processing Units per second (caps the request rate and the bill)."""
    node_type: CacheNodeType = "cache.t4g.small"
    """Replication group: the node type of the primary and its replicas."""


class GcsFaultToleranceConfig(_Model):
    """A standalone Redis (Valkey) per region for KubeRay's GCS fault tolerance: the Ray head
    can restart without losing the Serve applications' state."""

    enabled: bool = False
    """Create it (the serving plane points the RayService's GCS at it)."""
    node_type: CacheNodeType = "cache.t4g.small"
    """Node type of the primary (and, per environment, its replica)."""
    auth_token_version: int = Field(default=1, ge=1)
    """Raise by one to rotate its AUTH token (the old one stays valid until the next change)."""


class DocumentsConfig(_Model):
    """The S3 bucket per region for source documents and model artifacts."""

    replicate_to_home: bool = False
    """Replicate every region's documents into the home region's bucket (where one ingestion
    can read them all)."""
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)
    """Days an overwritten or deleted document's previous version is kept."""


class IngestionEventsConfig(_Model):
    """Runs started by new documents: S3 announces each new object under the prefix on an
    SQS queue; the ingestion trigger gathers a burst and starts one run."""

    debounce_seconds: int = Field(default=60, ge=0, le=900)
    """Seconds of events gathered into one run after the first (0 to 900)."""
    max_receive_count: int = Field(default=5, ge=1, le=100)
    """Receives of an event without its deletion before it moves to the dead-letter queue
    (which alarms)."""
    retention_days: int = Field(default=4, ge=1, le=14)
    """Days an unread event is kept (SQS keeps at most 14)."""
    history: int = Field(default=3, ge=0, le=100)
    """Finished runs the trigger started that are kept for inspection."""


class IngestionConfig(_Model):
    """Ingestion of the region's document bucket into its vector store on the cluster: runs
    of the Ray Data ingest pipeline (each resumes where the last ended and reads only what
    changed), started on a schedule (a KubeRay RayCronJob), by new documents (S3 events ->
    SQS -> the ingestion trigger), or both."""

    enabled: bool = False
    """Run it (needs the serving plane and the data plane)."""
    trigger: Literal["schedule", "events", "both"] = "schedule"
    """What starts a run: ``schedule``, ``events`` (new documents), or ``both`` (events for
    freshness, the schedule as a safety net)."""
    events: IngestionEventsConfig = Field(default_factory=IngestionEventsConfig)
    """With trigger ``events`` or ``both``: debouncing and the queue's limits."""
    schedule: str = "0 3 * * *"
    """Cron schedule (five fields), with trigger ``schedule`` or ``both``."""
    time_zone: str = "Etc/UTC"
    """IANA time zone of the schedule."""
    prefix: str = "documents/"
    """Key prefix of the documents in the bucket."""
    actors: int = Field(default=1, ge=1, le=64)
    """Embedding actors."""
    actor_cpus: float = Field(default=1.0, gt=0, le=64)
    """CPUs each embedding actor reserves."""
    workers: int = Field(default=1, ge=1, le=100)
    """Worker pods of each run's Ray cluster."""
    worker_cpu: float = Field(default=2.0, gt=0, le=192)
    """CPUs of each worker pod."""
    worker_memory_gib: float = Field(default=8.0, gt=0, le=1536)
    """Memory of each worker pod (GiB)."""

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("must be a five-field cron schedule, e.g. '0 3 * * *'")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value.startswith("/") or (value and not value.endswith("/")):
            raise ValueError("must be a key prefix ending with '/' and not starting with one, e.g. 'documents/'")
        return value


class DataConfig(_Model):
    """Retrieval data: vector store, cache, document store. Created in every region whose
    network the platform creates (a region with ``cluster.existing`` brings its own)."""

    enabled: bool = True
    """Create the data plane."""
    vector_store_engine: Literal["aurora-pgvector", "opensearch-serverless"] = "aurora-pgvector"
    """Managed vector database engine."""
    min_acu: Annotated[float, AfterValidator(_half_steps)] = Field(default=0.5, ge=0, le=256)
    """Aurora Serverless v2 minimum capacity (ACUs, steps of 0.5); 0 lets idle instances pause."""
    max_acu: Annotated[float, AfterValidator(_half_steps)] = Field(default=4, ge=1, le=256)
    """Aurora Serverless v2 maximum capacity (ACUs, steps of 0.5); must be >= minAcu."""
    auto_pause_minutes: int = Field(default=60, ge=5, le=1440)
    """With minAcu 0: idle minutes before an instance pauses (the first connection after waits ~15 s)."""
    global_database: bool = False
    """Aurora Global Database: the home region holds the writer, every other region a read-only
    secondary that serves reads locally and can be promoted. Needs aurora-pgvector and minAcu >= 0.5."""
    cache_engine: Literal["valkey", "redis"] = "valkey"
    """ElastiCache engine for the response and semantic cache (and the GCS fault-tolerance Redis)."""
    cache: CacheConfig = Field(default_factory=CacheConfig)
    """The cache's mode and limits."""
    gcs_fault_tolerance: GcsFaultToleranceConfig = Field(default_factory=GcsFaultToleranceConfig)
    """Redis for KubeRay's GCS fault tolerance."""
    documents: DocumentsConfig = Field(default_factory=DocumentsConfig)
    """The document buckets."""
    ingestion: IngestionConfig = Field(default_factory=IngestionConfig)
    """Ingestion of the document bucket on the cluster (on a schedule, by new documents)."""

    @field_validator("max_acu")
    @classmethod
    def _acu(cls, value: float, info: ValidationInfo) -> float:
        min_acu = info.data.get("min_acu")
        if isinstance(min_acu, int | float) and value < min_acu:
            raise ValueError(f"must be >= minAcu ({min_acu:g}); raise maxAcu or lower minAcu")
        return value

    @field_validator("global_database")
    @classmethod
    def _global(cls, value: bool, info: ValidationInfo) -> bool:
        if not value:
            return value
        if info.data.get("vector_store_engine") == "opensearch-serverless":
            raise ValueError("a global database is an Aurora feature; set vectorStoreEngine: aurora-pgvector or globalDatabase: false")
        if info.data.get("min_acu") == 0:
            raise ValueError("an Aurora Global Database cannot pause at 0 ACUs; set minAcu: 0.5 (or more) or globalDatabase: false")
        return value


MetricsStack = Literal["kube-prometheus-stack", "amp", "none"]


class AlertThresholdsConfig(_Model):
    """Overrides of the environment's alert thresholds (unset: the environment's default,
    ``stacks/platform.py`` ``ALERT_PROFILES``)."""

    evaluation_minutes: int | None = Field(default=None, ge=1, le=1440)
    """How long a CloudWatch condition must hold before its alarm fires (minutes)."""
    nat_packet_drop_percent: float | None = Field(default=None, gt=0, le=100)
    """Share of a NAT gateway's packets dropped."""
    node_cpu_percent: float | None = Field(default=None, gt=0, le=100)
    """Average CPU over a cluster's nodes."""
    aurora_cpu_percent: float | None = Field(default=None, gt=0, le=100)
    """Aurora CPU."""
    aurora_acu_percent: float | None = Field(default=None, gt=0, le=100)
    """Aurora Serverless v2 capacity in use against maxAcu."""
    aurora_freeable_memory_mib: float | None = Field(default=None, gt=0)
    """Aurora freeable memory floor (MiB)."""
    cache_ecpu_percent: float | None = Field(default=None, gt=0, le=100)
    """ElastiCache Serverless ECPUs against the cache's limit."""
    cache_storage_percent: float | None = Field(default=None, gt=0, le=100)
    """ElastiCache Serverless data against the cache's limit."""
    queue_age_seconds: float | None = Field(default=None, gt=0)
    """Age of a queue's oldest message (its consumer is stuck)."""
    queue_depth: float | None = Field(default=None, gt=0)
    """Requests queued in a Serve deployment, waiting for a replica."""
    gpu_idle_percent: float | None = Field(default=None, gt=0, le=100)
    """Average GPU utilization of a pool below which it counts as idle (for an hour)."""
    gpu_memory_percent: float | None = Field(default=None, gt=0, le=100)
    """GPU memory in use above which a GPU is near full."""
    tokens_drop_percent: float | None = Field(default=None, gt=0, le=100)
    """Drop of generated tokens per second against the same time a day earlier."""
    cost_per_hour_usd: float | None = Field(default=None, gt=0)
    """Estimated serving spend per hour (default: the monthly budget spread over 730 hours)."""


class LogsConfig(_Model):
    """Pod logs (Ray head and workers, controllers, the serving API's request log) to
    CloudWatch Logs, in each region whose cluster the stack creates."""

    enabled: bool = True
    """Ship pod logs (the EKS CloudWatch observability add-on)."""
    retention_days: int | None = None
    """How long CloudWatch keeps them (default: the environment's, 14/30/90 days)."""
    kms: bool = True
    """Encrypt them with a customer-managed KMS key."""

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int | None) -> int | None:
        return None if value is None else FlowLogsConfig._retention(value)


class AlertingConfig(_Model):
    """Operational alerting (CloudWatch + SNS, Prometheus rules), metrics, dashboards and logs."""

    emails: list[Email] = Field(default_factory=list)
    """On-call addresses; empty means the budget's alert emails."""
    webhooks: list[str] = Field(default_factory=list)
    """HTTPS endpoints subscribed to every region's alert topic (paging tools that confirm
    SNS subscriptions themselves, e.g. PagerDuty or Opsgenie)."""
    latency_p99_ms: int = Field(default=5000, gt=0)
    """Alert when the serving p99 latency stays above this."""
    error_rate_percent: float = Field(default=2.0, gt=0, le=100)
    """Alert when the share of 5xx responses stays above this."""
    metrics: MetricsStack = "kube-prometheus-stack"
    """Prometheus in each cluster (kube-prometheus-stack), Amazon Managed Service for
    Prometheus with a managed scraper (``amp``), or ``none``."""
    runbook_base_url: str = "docs/runbooks"
    """Where alerts link their runbooks: the repository's ``docs/runbooks`` path, or its URL
    (e.g. https://github.com/<org>/<repo>/blob/main/docs/runbooks)."""
    thresholds: AlertThresholdsConfig = Field(default_factory=AlertThresholdsConfig)
    """Overrides of the environment's alert thresholds."""
    logs: LogsConfig = Field(default_factory=LogsConfig)
    """Pod logs to CloudWatch Logs."""

    @field_validator("webhooks")
    @classmethod
    def _webhooks(cls, value: list[str]) -> list[str]:
        for url in value:
            if not re.fullmatch(r"https://[^\s/]+(/\S*)?", url):
                raise ValueError(f"'{url}' is not an HTTPS URL; SNS delivers alerts to https:// endpoints")
        if len(set(value)) != len(value):
            raise ValueError("lists a webhook twice; list each endpoint once")
        return value


class UsageConfig(_Model):
    """Assumptions for usage-based costs; shown beside every estimate that uses them."""

    gpu_utilization: float = Field(default=0.25, ge=0, le=1)
    """Expected share of the time GPU pools run above their minimum, at maxNodes (0..1)."""
    nat_data_gb_per_month: float = Field(default=100, ge=0)
    """Data processed by each NAT gateway per month (GB)."""
    hours_per_month: float = Field(default=730, gt=0, le=744)
    """Hours in a billing month."""
    gpu_node_volume_gb: float = Field(default=100, ge=0)
    """Root volume (gp3) of each node a Karpenter NodePool launches, when its EC2NodeClass is not in
    the plan; managed node groups use their own diskSize."""
    endpoint_data_gb_per_month: float = Field(default=20, ge=0)
    """Data processed by each interface VPC endpoint per month (GB)."""
    log_ingestion_gb_per_month: float = Field(default=5, ge=0)
    """Logs ingested into each CloudWatch log group per month (GB); storage follows from retention."""
    aurora_utilization: float = Field(default=0.1, ge=0, le=1)
    """Expected share of the time Aurora Serverless v2 runs at maxCapacity (the rest at minCapacity)."""
    aurora_storage_gb: float = Field(default=20, ge=0)
    """Data stored per Aurora cluster (GB)."""
    cache_data_gb: float = Field(default=1, ge=0)
    """Average data held by each ElastiCache serverless cache (GB; the engine's minimum still applies)."""
    cache_ecpu_millions_per_month: float = Field(default=100, ge=0)
    """ElastiCache Processing Units (ECPUs) per cache per month (millions)."""
    search_ocus: float = Field(default=2, ge=0)
    """Average OpenSearch Serverless OCUs (indexing plus search) per collection; the minimum still applies."""
    search_storage_gb: float = Field(default=10, ge=0)
    """Data indexed per OpenSearch Serverless collection (GB)."""
    s3_storage_gb_per_bucket: float = Field(default=50, ge=0)
    """Data stored in each S3 bucket (GB, S3 Standard)."""
    load_balancer_lcus: float = Field(default=1, ge=0)
    """Average capacity units (LCU/NLCU) each load balancer consumes."""
    queue_requests_millions_per_month: float = Field(default=1, ge=0)
    """Requests to each SQS queue per month (millions)."""
    accelerator_data_gb_per_month: float = Field(default=100, ge=0)
    """Data through each Global Accelerator per month (GB, dominant direction)."""
    registry_storage_gb: float = Field(default=100, ge=0)
    """Images stored in each ECR repository (GB; serving images with CUDA and vLLM are large)."""
    waf_requests_millions_per_month: float = Field(default=10, ge=0)
    """Requests each WAF web ACL inspects per month (millions)."""
    metrics_active_series: float = Field(default=20_000, ge=0)
    """Active series each Amazon Managed Service for Prometheus workspace ingests."""
    metrics_scrape_interval_seconds: float = Field(default=30, gt=0)
    """How often each series is scraped (seconds): samples ingested follow from it."""


class AccountConfig(_Model):
    """The AWS account the stack deploys into."""

    id: str
    """The 12-digit account id (quoted in YAML). Every AWS provider of the stack is limited
    to it (``allowedAccountIds``), so a deploy with another account's credentials stops
    before it changes anything."""
    singletons: bool = False
    """Whether this stack creates the account's account-wide resources (the EC2 Spot
    service-linked role Karpenter's spot launches need). Exactly one stack per account sets
    it, and only when the account does not have them yet: ``llmops doctor`` tells. Stacks
    that share an account (dev and staging, say) leave it false but one."""

    @field_validator("id", mode="before")
    @classmethod
    def _account_id(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value.strip()):
            raise ValueError(
                f"{value!r} is not an AWS account id (12 digits); quote it in YAML so leading zeros survive, "
                "e.g. '012345678901'"
            )
        return value


class PlatformConfig(_Model):
    """The whole ``llmops:`` namespace of a stack."""

    environment: Environment
    """Deployment environment: dev, staging or prod (drives defaults and policies)."""
    owner: str = Field(min_length=1, max_length=128)
    """Owning team, carried as the ``Owner`` tag on every resource."""
    cost_center: str = Field(min_length=1, max_length=128)
    """Cost center, carried as the ``CostCenter`` cost-allocation tag."""
    account: AccountConfig
    """The AWS account the stack deploys into, and whether it owns the account-wide resources."""
    regions: list[RegionConfig] = Field(min_length=1, max_length=64)
    """Regions the platform runs in; each is an independent failure domain."""
    home_region: str
    """Region that holds the global pieces (budget, alert topic, entry point); one of ``regions``."""
    budget: BudgetConfig
    """Monthly budget and its alert emails."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Extra tags applied to every resource (may not override the platform's own tag keys)."""
    serving: ServingConfig | None = None
    """The serving plane; None (no ``llmops:serving`` block): the clusters run no serving plane."""
    data: DataConfig = Field(default_factory=DataConfig)
    """Retrieval data settings."""
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    """Alerting settings."""
    usage: UsageConfig = Field(default_factory=UsageConfig)
    """Usage assumptions for the cost estimate."""

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for key in value:
            if key in PLATFORM_TAG_KEYS:
                problems.append(f"'{key}' is set by the platform; remove it or use another key")
            elif key.lower().startswith("aws:") or not _TAG_KEY.match(key):
                problems.append(f"'{key}' is not a valid tag key (1-128 characters, not starting with 'aws:')")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def region(self, name: str) -> RegionConfig:
        """The region config named ``name``."""
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)

    def cost_tags(self, stack: str, project: str) -> dict[str, str]:
        """The cost-allocation tags every taggable resource carries (provider default tags)."""
        return {
            **self.tags,
            "Project": project,
            "Stack": stack,
            "Environment": self.environment,
            "Owner": self.owner,
            "CostCenter": self.cost_center,
            "ManagedBy": "pulumi",
        }


# --------------------------------------------------------------------------- errors


class ConfigError(_BaseConfigError):
    """The stack config is invalid. ``problems`` lists every problem found, in document order."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        super().__init__(problems, source, what="stack config")


def _format_path(loc: tuple[int | str, ...]) -> str:
    """``llmops:regions[1].gpuPools[0].maxNodes``: keys as the YAML spells them."""
    return format_path(loc, root=NAMESPACE, key_style=to_camel)


def _cross_checks(raw: Mapping[str, Any]) -> list[Problem]:
    """Problems spanning several fields, found on the raw document so they are reported
    together with any per-field problems."""
    problems: list[Problem] = []
    regions = raw.get("regions")
    if not isinstance(regions, list):
        return problems
    seen_names: dict[str, int] = {}
    networks: list[tuple[int, ipaddress.IPv4Network]] = []
    for index, region in enumerate(regions):
        if not isinstance(region, Mapping):
            continue
        name = region.get("name")
        if isinstance(name, str):
            if name in seen_names:
                problems.append(
                    Problem(
                        _format_path(("regions", index, "name")),
                        f"duplicate region '{name}' (also regions[{seen_names[name]}]); list each region once",
                    )
                )
            else:
                seen_names[name] = index
        try:
            network = ipaddress.IPv4Network(str(region.get("cidr", "10.0.0.0/16")), strict=True)
        except ValueError:
            network = None
        if network is not None:
            for other_index, other in networks:
                if network.overlaps(other):
                    problems.append(
                        Problem(
                            _format_path(("regions", index, "cidr")),
                            f"{network} overlaps regions[{other_index}].cidr ({other}); give each region "
                            f"its own range, e.g. {_free_block(network.prefixlen, [n for _, n in networks] + [network])}",
                        )
                    )
                    break
            networks.append((index, network))
        problems += _cluster_problems(index, region, network)
        pools = region.get("gpuPools")
        if isinstance(pools, list):
            pool_names: dict[str, int] = {}
            for pool_index, pool in enumerate(pools):
                pool_name = pool.get("name") if isinstance(pool, Mapping) else None
                if isinstance(pool_name, str):
                    if pool_name in pool_names:
                        problems.append(
                            Problem(
                                _format_path(("regions", index, "gpuPools", pool_index, "name")),
                                f"duplicate pool name '{pool_name}' (also gpuPools[{pool_names[pool_name]}]); "
                                "pool names must be unique within a region",
                            )
                        )
                    else:
                        pool_names[pool_name] = pool_index
    problems += _tunnel_port_problems(regions)
    home = raw.get("homeRegion")
    if isinstance(home, str) and seen_names and home not in seen_names:
        problems.append(
            Problem(
                _format_path(("homeRegion",)),
                f"'{home}' is not one of the stack's regions ({', '.join(seen_names)}); set it to one of them",
            )
        )
    if isinstance(home, str) and home in seen_names:
        problems += _data_checks(raw.get("data"), home, regions[seen_names[home]])
    problems += _ingestion_checks(raw.get("data"), raw.get("serving"))
    problems += _budget_action_checks(raw.get("budget"), regions)
    problems += _registry_checks(raw.get("serving"), raw.get("account"))
    return problems


def _registry_checks(serving: Any, account: Any) -> list[Problem]:
    """``serving.registry.pullAccountIds`` only where the stack manages the repository, and
    never the stack's own account."""
    registry = serving.get("registry") if isinstance(serving, Mapping) else None
    if not isinstance(registry, Mapping) or not registry.get("pullAccountIds"):
        return []
    path = _format_path(("serving", "registry", "pullAccountIds"))
    if not registry.get("manage"):
        return [
            Problem(
                path,
                "only the stack that manages the repository (registry.manage: true) grants pulls; move the list to "
                "that stack's config",
            )
        ]
    own = str(account.get("id")) if isinstance(account, Mapping) else None
    if own in [str(a) for a in registry["pullAccountIds"]]:
        return [Problem(path, f"{own} is this stack's own account, which pulls already; remove it")]
    return []


def _budget_action_checks(budget: Any, regions: list[Any]) -> list[Problem]:
    """An enabled stop-GPU action needs roles to attach its policy to: the ones named, or
    else the Karpenter controllers of the clusters the stack creates."""
    action = budget.get("action") if isinstance(budget, Mapping) else None
    if not isinstance(action, Mapping) or action.get("enabled") is not True or action.get("roleNames"):
        return []
    for region in regions:
        cluster = region.get("cluster") if isinstance(region, Mapping) else None
        cluster = cluster if isinstance(cluster, Mapping) else {}
        if cluster.get("existing") is None and cluster.get("capacityProvider", "karpenter") == "karpenter":
            return []
    return [
        Problem(
            _format_path(("budget", "action", "roleNames")),
            "the action is enabled but no region's cluster is created with Karpenter, whose controller role it would "
            "use; list the role names that launch GPU instances here, or set enabled: false",
        )
    ]


def _tunnel_port_problems(regions: list[Any]) -> list[Problem]:
    """Regions reached through SSM tunnels listen on ports of their own: one deploy holds
    every region's tunnel open at once, and two tunnels cannot share a local port."""
    problems = []
    taken: dict[int, int] = {}
    for index, region in enumerate(regions):
        cluster = region.get("cluster") if isinstance(region, Mapping) else None
        access = cluster.get("access") if isinstance(cluster, Mapping) else None
        if not isinstance(access, Mapping) or access.get("deployFrom") != "ssmTunnel":
            continue
        port = access.get("tunnelLocalPort", TUNNEL_DEFAULT_PORT)
        if not isinstance(port, int) or isinstance(port, bool):
            continue  # reported by the field itself
        if port in taken:
            free = next(p for p in range(TUNNEL_DEFAULT_PORT, 65536) if p not in taken and p != port)
            problems.append(
                Problem(
                    _format_path(("regions", index, "cluster", "access", "tunnelLocalPort")),
                    f"{port} is also the tunnel port of regions[{taken[port]}]; a deploy keeps one tunnel per region "
                    f"open at once, so give each region its own port, e.g. tunnelLocalPort: {free}",
                )
            )
        else:
            taken[port] = index
    return problems


def _data_checks(data: Any, home: str, home_region: Any) -> list[Problem]:
    """What the data plane needs of the home region: a network the platform creates, when
    it holds the global database's writer or receives the other regions' documents."""
    if not isinstance(data, Mapping) or data.get("enabled") is False:
        return []
    if not isinstance(home_region, Mapping) or not isinstance(home_region.get("cluster"), Mapping):
        return []
    if home_region["cluster"].get("existing") is None:
        return []
    why = f"the home region {home} brings its own cluster, so the platform creates no data plane there"
    problems = []
    if data.get("globalDatabase") is True:
        problems.append(Problem(_format_path(("data", "global_database")), f"{why} to hold the writer; set globalDatabase: false or choose another homeRegion"))
    documents = data.get("documents")
    if isinstance(documents, Mapping) and documents.get("replicateToHome") is True:
        problems.append(
            Problem(_format_path(("data", "documents", "replicate_to_home")), f"{why} to replicate into; set replicateToHome: false or choose another homeRegion")
        )
    return problems


def _ingestion_checks(data: Any, serving: Any) -> list[Problem]:
    """Ingestion runs on the serving plane's cluster, from the data plane's document bucket
    (whose S3 events start the event-driven runs): both must be there."""
    ingestion = data.get("ingestion") if isinstance(data, Mapping) else None
    if not isinstance(ingestion, Mapping) or ingestion.get("enabled") is not True:
        return []
    trigger = ingestion.get("trigger", "schedule")
    what = "the runs and the trigger that starts them on new documents" if trigger in ("events", "both") else "the runs"
    problems = []
    if isinstance(data, Mapping) and data.get("enabled") is False:
        problems.append(
            Problem(
                _format_path(("data", "ingestion", "enabled")),
                "ingestion reads the data plane's document bucket (and its S3 events), but data.enabled is false; "
                "set data.enabled: true, or ingestion.enabled: false",
            )
        )
    if not isinstance(serving, Mapping) or serving.get("enabled") is False:
        problems.append(
            Problem(
                _format_path(("data", "ingestion", "enabled")),
                f"{what} run in the serving plane's namespace, and the stack has no serving plane; "
                "add a serving section (enabled: true), or set ingestion.enabled: false",
            )
        )
    return problems


MOVED_CLUSTER_KEYS = {
    "endpointPublicAccess": "access.mode (publicRestricted or private)",
    "publicAccessCidrs": "access.deployerCidrs (with access.mode: publicRestricted)",
}
"""Cluster keys that became part of ``cluster.access``."""


def _cluster_problems(index: int, region: Mapping[str, Any], network: ipaddress.IPv4Network | None) -> list[Problem]:
    """A created cluster says how deploys reach its API server; keys that moved into
    ``access`` say where they went; runner ranges either sit inside the VPC or beside it."""
    cluster = region.get("cluster")
    cluster = cluster if isinstance(cluster, Mapping) else {}
    problems = []
    if cluster.get("existing") is None and cluster.get("access") is None:
        problems.append(
            Problem(
                _format_path(("regions", index, "cluster", "access")),
                "is required: say how deploys reach the API server, e.g. {mode: publicRestricted, deployerCidrs: "
                "[203.0.113.0/24]} or {mode: private, deployFrom: ssmTunnel} (see docs/deploying.md)",
            )
        )
    access = cluster.get("access")
    runners = access.get("runnerCidrs") if isinstance(access, Mapping) else None
    if network is not None and isinstance(runners, list):
        for runner_index, cidr in enumerate(runners):
            try:
                block = ipaddress.IPv4Network(str(cidr), strict=True)
            except ValueError:
                continue  # reported by the field itself
            if block.overlaps(network) and not block.subnet_of(network):
                problems.append(
                    Problem(
                        _format_path(("regions", index, "cluster", "access", "runnerCidrs", runner_index)),
                        f"{block} overlaps the region's VPC ({network}) without lying inside it; a runner network "
                        "peered with the VPC needs a range of its own",
                    )
                )
    return problems


def _moved_keys(raw: Mapping[str, Any]) -> list[Problem]:
    """Keys of an older schema, each with where it went (instead of "unknown key")."""
    regions = raw.get("regions")
    problems = []
    for index, region in enumerate(regions if isinstance(regions, list) else []):
        cluster = region.get("cluster") if isinstance(region, Mapping) else None
        for key, where in MOVED_CLUSTER_KEYS.items():
            if isinstance(cluster, Mapping) and key in cluster:
                problems.append(
                    Problem(
                        format_path(("regions", index, "cluster", key), root=NAMESPACE, key_style=to_camel, raw_last=True),
                        f"moved to {where}; e.g. access: {{mode: publicRestricted, deployerCidrs: [203.0.113.0/24]}}",
                    )
                )
    return problems


def _free_block(prefix: int, taken: list[ipaddress.IPv4Network]) -> str:
    for candidate in ipaddress.IPv4Network("10.0.0.0/8").subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in taken):
            return str(candidate)
    return "a non-overlapping private block"


def parse(raw: Mapping[str, Any], source: str | None = None) -> PlatformConfig:
    """Validates the ``llmops:`` namespace (keys without the namespace prefix).

    Raises :class:`ConfigError` listing every problem; returns the typed config otherwise.
    """
    moved = _moved_keys(raw)
    problems = _cross_checks(raw) + moved
    try:
        config = PlatformConfig.model_validate(dict(raw))
    except ValidationError as exc:
        explained = {p.path for p in moved}
        found = problems_from(exc, root=NAMESPACE, key_style=to_camel, root_model=PlatformConfig)
        problems = [p for p in found if p.path not in explained] + problems
        config = None
    if config is not None and not problems:
        # The serving section's cross-checks need the typed config (and import this module).
        from stacks.serve_config import serving_problems

        problems = serving_problems(config)
    if problems:
        raise ConfigError(sorted(problems, key=sort_key), source)
    assert config is not None
    return config


def decode_value(value: Any) -> Any:
    """Pulumi hands structured config values to programs as JSON text; decode those."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def namespace_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``llmops:`` keys of a flat Pulumi config map, without the prefix, decoded."""
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix):]: decode_value(v) for k, v in config.items() if k.startswith(prefix)}


def _without_ciphertexts(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return "[secret]"
        return {k: _without_ciphertexts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_ciphertexts(v) for v in value]
    return value


def stack_file_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``llmops:`` keys of a stack file's ``config`` as the schema reads them, with
    ``{secure: ...}`` ciphertexts standing as a placeholder (as the offline engine does):
    for checking an edit of the file before it is written."""
    return _without_ciphertexts(namespace_values(config))  # type: ignore[no-any-return]


def from_pulumi() -> PlatformConfig:
    """Reads and validates the running program's stack config (real engine or offline)."""
    from pulumi.runtime import config as runtime_config

    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    import pulumi

    return parse(namespace_values(merged), source=f"Pulumi.{pulumi.get_stack()}.yaml")
