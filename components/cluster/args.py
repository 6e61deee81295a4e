"""Arguments of :class:`~components.cluster.GpuCluster` and its parts: plain, typed values
the composition (``stacks/platform.py``) fills from the stack config. Nothing here knows the
stack schema or an environment: the composition decides (``deletion_protection=True``), the
component obeys.

``validate()`` reports every problem at once, each naming its property path
(``GpuClusterArgs.gpu_pools[a10g].max_nodes``), before any child resource exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    """One pool of GPU nodes: a Karpenter NodePool when it scales from zero, else an EKS
    managed node group (see :attr:`EksClusterArgs.capacity_provider`)."""

    name: str
    """Pool name, a DNS label unique within the cluster (NodePool name, node label value)."""
    instance_types: Sequence[str]
    """NVIDIA GPU instance types, the preferred first (its GPU model labels the nodes)."""
    capacity_type: CapacityType = "spot"
    """``spot`` or ``on-demand``."""
    min_nodes: int = 0
    """Nodes kept running when idle; above 0 the pool is a managed node group (Karpenter has
    no minimum)."""
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


@dataclass(frozen=True)
class EksClusterArgs:
    """Create the EKS cluster: private endpoint, encrypted Secrets, control-plane logs, API
    access entries, a system node group, and GPU capacity from the pools."""

    private_subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets for the control plane's network interfaces and every node."""
    kubernetes_version: str = "1.33"
    """EKS Kubernetes version (``1.x``)."""
    endpoint_public_access: bool = False
    """Expose the API server publicly (only to ``public_access_cidrs``)."""
    public_access_cidrs: Sequence[str] = ()
    """Allow-list of the public endpoint; required when it is public."""
    creator_admin: bool = True
    """Grant the identity that creates the cluster cluster-admin (set at creation only)."""
    admin_role_arns: Sequence[str] = ()
    """IAM roles granted cluster-admin through access entries (each keyed by its ARN)."""
    log_retention_days: int = 90
    """Retention of the control-plane log group."""
    deletion_protection: bool = False
    """Refuse to delete the cluster until this is turned off."""
    system_nodes: SystemNodesArgs = field(default_factory=SystemNodesArgs)
    """The CPU node group for controllers."""
    capacity_provider: CapacityProvider = "karpenter"
    """``karpenter``: pools that scale from zero become Karpenter NodePools (warm pools stay
    node groups); ``managedNodeGroups``: every pool is a node group scaled by
    cluster-autoscaler."""
    karpenter_replicas: int = 2
    """Replicas of the Karpenter controller."""
    consolidate_after: str = "5m"
    """How long a Karpenter node stays empty or underused before it is consolidated
    (a Go duration such as ``1m``)."""

    def problems(self, path: str) -> list[str]:
        found = self.system_nodes.problems(f"{path}.system_nodes")
        if self.endpoint_public_access and not self.public_access_cidrs:
            found.append(f"{path}.public_access_cidrs: list the ranges that may reach a public endpoint")
        if not self.creator_admin and not self.admin_role_arns:
            found.append(f"{path}.admin_role_arns: with creator_admin off, list the role that installs the in-cluster parts")
        for arn in self.admin_role_arns:
            if not _ROLE_ARN.match(arn):
                found.append(f"{path}.admin_role_arns: {arn!r} is not an IAM role ARN")
        if len(set(self.admin_role_arns)) != len(self.admin_role_arns):
            found.append(f"{path}.admin_role_arns: lists a role twice")
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
