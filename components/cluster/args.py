"""Arguments of :class:`~components.cluster.GpuCluster` and its parts: plain, typed values
the composition (``stacks/platform.py``) fills from the stack config. Nothing here knows the
stack schema or an environment: the composition decides (``deletion_protection=True``), the
component obeys.

``validate()`` reports every problem at once, each naming its property path
(``GpuClusterArgs.gpu_pools[a10g].max_nodes``), before any child resource exists.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import pulumi

from core import catalog, gpu_pool

CapacityType = Literal["spot", "on-demand"]
CapacityProvider = Literal["karpenter", "managedNodeGroups"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/([\w+=,.@/-]+)$")
_DURATION = re.compile(r"^(\d+(ms|s|m|h))+$")


def _size_problems(path: str, min_nodes: int, max_nodes: int, disk_gib: int, least: int) -> list[str]:
    """A node range of at least ``least`` nodes that can hold one node, and a usable disk."""
    found = []
    if min_nodes < least:
        found.append(f"{path}.min_nodes: must be >= {least} (got {min_nodes})")
    if max_nodes < max(min_nodes, 1):
        found.append(f"{path}.max_nodes: must be >= 1 and >= min_nodes ({min_nodes}); got {max_nodes}")
    if disk_gib < 20:
        found.append(f"{path}.disk_gib: must be >= 20 (got {disk_gib})")
    return found


@dataclass(frozen=True)
class GpuPoolArgs:
    """One pool of GPU nodes. With Karpenter, a NodePool for everything above ``min_nodes``
    plus, for a warm pool, a fixed-size managed node group of ``min_nodes``; with
    cluster-autoscaler, one managed node group (see :attr:`EksClusterArgs.capacity_provider`)."""

    name: str
    """Pool name, a DNS label unique within the cluster (NodePool name, node label value)."""
    instance_types: Sequence[str]
    """NVIDIA GPU instance types, the preferred first (its GPU model labels the nodes)."""
    capacity_type: CapacityType = "spot"
    """``spot`` or ``on-demand``."""
    min_nodes: int = 0
    """Nodes kept running when idle (with Karpenter, in a fixed-size managed node group:
    Karpenter keeps no minimum)."""
    max_nodes: int = 2
    """The most nodes the pool may reach; >= min_nodes."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra node labels, added after the pool's own (:func:`core.gpu_pool.node_labels`)."""
    disk_gib: int = 200
    """Root volume of each node of a managed node group (Karpenter nodes use the node
    class's volume)."""

    @property
    def accelerator_model(self) -> str:
        """The GPU model of the preferred instance type (``A10G``, ``L4`` ...)."""
        return str(catalog.instance_types()[self.instance_types[0]].accelerator_model)

    @property
    def min_gpus_per_node(self) -> int:
        """GPUs on the smallest allowed type: what every node of the pool has."""
        return min(gpu_pool.gpu_counts(self.instance_types))

    @property
    def max_gpus(self) -> int:
        """GPUs the pool can reach: max_nodes nodes of its largest allowed type."""
        reach = gpu_pool.gpu_reach(self.max_nodes, self.instance_types)
        assert reach is not None  # validate() requires NVIDIA GPU types
        return reach

    def problems(self, path: str) -> list[str]:
        found = []
        if not _DNS_LABEL.match(self.name) or len(self.name) > 40:
            found.append(f"{path}.name: {self.name!r} is not a DNS label of at most 40 characters")
        if not self.instance_types:
            found.append(f"{path}.instance_types: list at least one NVIDIA GPU instance type")
        known = catalog.instance_types()
        for instance_type in self.instance_types:
            spec = known.get(instance_type)
            if spec is None or not spec.is_nvidia_gpu:
                found.append(f"{path}.instance_types: {instance_type!r} is not an NVIDIA GPU instance type in the catalogue")
        if self.capacity_type not in ("spot", "on-demand"):
            found.append(f"{path}.capacity_type: must be 'spot' or 'on-demand' (got {self.capacity_type!r})")
        return found + _size_problems(path, self.min_nodes, self.max_nodes, self.disk_gib, least=0)

    def warm_base(self) -> GpuPoolArgs | None:
        """The part of the pool kept running: ``min_nodes`` nodes, fixed (None when it scales
        to zero)."""
        if self.min_nodes == 0:
            return None
        return replace(self, max_nodes=self.min_nodes)

    def burst(self) -> GpuPoolArgs | None:
        """The part of the pool that comes and goes: up to ``max_nodes - min_nodes`` nodes
        from zero (None when the pool is fixed at its minimum)."""
        if self.max_nodes == self.min_nodes:
            return None
        return replace(self, min_nodes=0, max_nodes=self.max_nodes - self.min_nodes)


@dataclass(frozen=True)
class SystemNodesArgs:
    """The on-demand CPU node group that runs controllers (Karpenter, CoreDNS, operators)."""

    instance_types: Sequence[str] = ("m7i.large", "m6i.large")
    """CPU instance types."""
    min_nodes: int = 2
    """At least 2 for controllers spread across AZs."""
    max_nodes: int = 4
    """Upper bound; >= min_nodes."""
    disk_gib: int = 50
    """Encrypted gp3 root volume size."""

    def problems(self, path: str) -> list[str]:
        found = []
        if not self.instance_types:
            found.append(f"{path}.instance_types: list at least one CPU instance type")
        return found + _size_problems(path, self.min_nodes, self.max_nodes, self.disk_gib, least=1)


_DOCUMENTATION_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))


def _cidr_problems(path: str, cidrs: Sequence[str], *, public: bool) -> list[str]:
    found = []
    for cidr in cidrs:
        try:
            block = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            found.append(f"{path}: {cidr!r} is not an IPv4 CIDR block")
            continue
        if block.prefixlen == 0:
            found.append(f"{path}: 0.0.0.0/0 opens the API server to the internet")
        elif public and block.is_private and not any(block.subnet_of(doc) for doc in _DOCUMENTATION_RANGES):
            found.append(f"{path}: {cidr} is not a public range")
        elif not public and not block.is_private:
            found.append(f"{path}: {cidr} is not a private range")
    return found


@dataclass(frozen=True)
class ApiAccessArgs:
    """The network paths to the API server for whoever deploys into the cluster (every
    Helm release and Kubernetes object goes through it). At least one is required: a public
    endpoint limited to ``public_cidrs``, private ranges admitted to the private endpoint
    (``private_cidrs``: runners inside the VPC or a peered network), or an SSM-managed
    bastion to tunnel through (``ssm_bastion``). Nodes always use the private endpoint."""

    public_cidrs: Sequence[str] = ()
    """Public IPv4 ranges allowed to a public endpoint; empty: no public endpoint."""
    private_cidrs: Sequence[str] = ()
    """Private IPv4 ranges the cluster security group admits on HTTPS (443)."""
    ssm_bastion: bool = False
    """Create a bastion (no public IP, no inbound rule, reached through SSM Session Manager)
    whose security group the cluster admits on HTTPS, for port-forwarding tunnels."""
    tunnel_local_port: int = 8443
    """With ``ssm_bastion``: the kubeconfigs the component builds point at
    ``https://127.0.0.1:<port>`` (the tunnel) and check the certificate by the endpoint's name."""
    ci_role_arn: str | None = None
    """An IAM role that deploys from CI: it gets a cluster-admin access entry of its own."""

    def problems(self, path: str) -> list[str]:
        found = _cidr_problems(f"{path}.public_cidrs", self.public_cidrs, public=True)
        found += _cidr_problems(f"{path}.private_cidrs", self.private_cidrs, public=False)
        if not (self.public_cidrs or self.private_cidrs or self.ssm_bastion):
            found.append(
                f"{path}: no path to the API server for deploys; give public_cidrs, private_cidrs or ssm_bastion"
            )
        if not 1024 <= self.tunnel_local_port <= 65535:
            found.append(f"{path}.tunnel_local_port: must be 1024 to 65535 (got {self.tunnel_local_port})")
        if self.ci_role_arn is not None and not _ROLE_ARN.match(self.ci_role_arn):
            found.append(f"{path}.ci_role_arn: {self.ci_role_arn!r} is not an IAM role ARN")
        return found


@dataclass(frozen=True)
class EksClusterArgs:
    """Create the EKS cluster: private endpoint (public only to listed ranges), encrypted
    Secrets, control-plane logs, API access entries, a system node group, and GPU capacity
    from the pools."""

    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets for the control plane's network interfaces and every node."""
    access: ApiAccessArgs
    """How deploys reach the API server."""
    kubernetes_version: str = "1.35"
    """EKS Kubernetes version (``1.x``); add-on builds, the node AMI release and the
    cluster-autoscaler image follow it (:mod:`components.versions`)."""
    creator_admin: bool = True
    """Grant the identity that creates the cluster cluster-admin (set at creation only)."""
    admin_role_arns: Sequence[str] = ()
    """IAM roles granted cluster-admin through access entries (each keyed by its ARN)."""
    log_retention_days: int = 90
    """Retention of the control-plane log group."""
    retain_logs: bool = False
    """Keep the control-plane log group when the stack is destroyed (audit trail)."""
    deletion_protection: bool = False
    """Refuse to delete the cluster until this is turned off."""
    system_nodes: SystemNodesArgs = field(default_factory=SystemNodesArgs)
    """The CPU node group for controllers."""
    capacity_provider: CapacityProvider = "karpenter"
    """``karpenter``: every pool bursts through a Karpenter NodePool, and a warm pool keeps
    its ``min_nodes`` in a fixed-size managed node group; ``managedNodeGroups``: every pool
    is a node group scaled by cluster-autoscaler."""
    karpenter_replicas: int = 2
    """Replicas of the Karpenter controller."""
    consolidate_after: str = "5m"
    """How long a Karpenter node stays empty or underused before it is consolidated
    (a Go duration such as ``1m``)."""

    def problems(self, path: str) -> list[str]:
        found = self.system_nodes.problems(f"{path}.system_nodes") + self.access.problems(f"{path}.access")
        if not re.fullmatch(r"1\.\d{1,2}", self.kubernetes_version):
            found.append(f"{path}.kubernetes_version: {self.kubernetes_version!r} is not a Kubernetes minor version such as '1.35'")
        if not self.creator_admin and not self.admin_role_arns and self.access.ci_role_arn is None:
            found.append(f"{path}.admin_role_arns: with creator_admin off, list the role that installs the in-cluster parts")
        for arn in self.admin_role_arns:
            if not _ROLE_ARN.match(arn):
                found.append(f"{path}.admin_role_arns: {arn!r} is not an IAM role ARN")
        if len(set(self.admin_role_arns)) != len(self.admin_role_arns):
            found.append(f"{path}.admin_role_arns: lists a role twice")
        if self.access.ci_role_arn in self.admin_role_arns:
            found.append(f"{path}.admin_role_arns: {self.access.ci_role_arn} is also access.ci_role_arn; list it once")
        if self.capacity_provider not in ("karpenter", "managedNodeGroups"):
            found.append(f"{path}.capacity_provider: must be 'karpenter' or 'managedNodeGroups'")
        if self.karpenter_replicas < 1:
            found.append(f"{path}.karpenter_replicas: must be >= 1 (got {self.karpenter_replicas})")
        if not _DURATION.match(self.consolidate_after):
            found.append(f"{path}.consolidate_after: {self.consolidate_after!r} is not a duration such as '1m' or '30s'")
        return found


@dataclass(frozen=True)
class ExistingClusterArgs:
    """Use a cluster that exists: only the in-cluster GPU software is installed, through a
    provider built from ``kubeconfig`` or from the EKS cluster named ``cluster_name``."""

    cluster_name: str | None = None
    """Name of an EKS cluster in the region (authentication via ``aws eks get-token``)."""
    kubeconfig: pulumi.Input[str] | None = None
    """A kubeconfig for the cluster (kept secret)."""

    def problems(self, path: str) -> list[str]:
        if (self.cluster_name is None) == (self.kubeconfig is None):
            return [f"{path}: set exactly one of cluster_name or kubeconfig"]
        return []


@dataclass(frozen=True)
class GpuClusterArgs:
    """Arguments of :class:`~components.cluster.GpuCluster`."""

    region: str
    """AWS region code; must match the AWS provider the component is given."""
    cluster_name: str
    """EKS cluster name (also the Karpenter discovery tag value)."""
    cluster: EksClusterArgs | ExistingClusterArgs
    """Create the cluster, or use one that exists."""
    gpu_pools: Sequence[GpuPoolArgs] = ()
    """GPU pools of a created cluster (an existing cluster brings its own capacity)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags added to every AWS child (the provider's default tags carry the cost tags)."""
    launch_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for the instances and volumes nodes launch (launch templates, Karpenter node
    classes): the cost-allocation tags, which the provider's default tags do not reach."""

    def validate(self) -> None:
        """Raises ``ValueError`` listing every problem, before any child is created."""
        found = self.cluster.problems("GpuClusterArgs.cluster")
        if not self.cluster_name or len(self.cluster_name) > 100:
            found.append("GpuClusterArgs.cluster_name: must be 1 to 100 characters")
        if isinstance(self.cluster, ExistingClusterArgs) and self.gpu_pools:
            found.append("GpuClusterArgs.gpu_pools: an existing cluster brings its own capacity; pass no pools")
        names = [p.name for p in self.gpu_pools]
        for name in sorted({n for n in names if names.count(n) > 1}):
            found.append(f"GpuClusterArgs.gpu_pools: pool name {name!r} is used twice; pool names must be unique")
        for pool in self.gpu_pools:
            found += pool.problems(f"GpuClusterArgs.gpu_pools[{pool.name}]")
        if found:
            raise ValueError("invalid GpuClusterArgs:\n  " + "\n  ".join(found))


def admin_entry_id(role_arn: str) -> str:
    """The stable key of a cluster-admin access entry: the role's account and name (path
    included), so adding or removing another role never replaces this one."""
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise ValueError(f"{role_arn!r} is not an IAM role ARN")
    account, name = match.groups()
    return f"{account}-{name.replace('/', '-')}"
