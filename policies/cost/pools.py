"""GPU capacity as the policies see it: one :class:`GpuPool` per EKS managed node group,
Karpenter NodePool or standalone GPU instance, read from the resource's properties.

GPU counts per instance type come from the project's catalog
(``core.catalog.instance_types()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core import catalog
from policies.common.props import flag, get, items, mapping, number, strings

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
INSTANCE = "aws:ec2/instance:Instance"
POOL_TYPES = (NODE_GROUP, NODE_POOL, INSTANCE)

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
GPU_RESOURCE = "nvidia.com/gpu"
ANNOTATION_MIN = "llmops.io/min-nodes"
ANNOTATION_MAX = "llmops.io/max-nodes"
ANNOTATION_GPU = "llmops.io/gpu-pool"
_GPU_REQUIREMENT_KEYS = ("karpenter.k8s.aws/instance-gpu-count", "karpenter.k8s.aws/instance-gpu-name", "karpenter.k8s.aws/instance-gpu-manufacturer")


@dataclass(frozen=True)
class GpuPool:
    """A pool of GPU nodes: what it runs on, how it is bought and how far it scales."""

    kind: str
    """``NodeGroup``, ``NodePool`` or ``Instance``."""
    instance_types: tuple[str, ...]
    """Instance types the pool may launch (empty: not pinned)."""
    capacity_types: tuple[str, ...]
    """``spot`` and/or ``on-demand``."""
    min_nodes: int | None
    max_nodes: int | None
    gpu_limit: int | None
    """A hard cap on GPUs (Karpenter ``spec.limits['nvidia.com/gpu']``)."""

    @property
    def gpu_types(self) -> tuple[str, ...]:
        """The pool's instance types that carry NVIDIA GPUs."""
        known = catalog.instance_types()
        return tuple(t for t in self.instance_types if t in known and known[t].is_nvidia_gpu)

    @property
    def gpus_per_node(self) -> int | None:
        """GPUs on the largest instance type the pool may launch."""
        known = catalog.instance_types()
        counts = [known[t].accelerator_count for t in self.gpu_types]
        return max(counts) if counts else None

    @property
    def max_gpus(self) -> int | None:
        """Most GPUs the pool can reach: the smaller of its GPU limit and max nodes times
        GPUs per node; None when neither bounds it."""
        bounds = []
        if self.gpu_limit is not None:
            bounds.append(self.gpu_limit)
        if self.max_nodes is not None and self.gpus_per_node is not None:
            bounds.append(self.max_nodes * self.gpus_per_node)
        return min(bounds) if bounds else None


def _int(value: Any) -> int | None:
    n = number(value)
    return int(n) if n is not None else None


def _requirement(requirements: list[Any], key: str) -> list[str] | None:
    """Values of an ``In`` requirement on ``key`` (None when the key is not constrained)."""
    for r in requirements:
        if isinstance(r, Mapping) and r.get("key") == key and r.get("operator", "In") == "In":
            return strings(r.get("values"))
    return None


def _node_group(props: Mapping[str, Any]) -> GpuPool | None:
    types = tuple(strings(props.get("instanceTypes")))
    ami = str(props.get("amiType") or "")
    pool = GpuPool(
        kind="NodeGroup",
        instance_types=types,
        capacity_types=("spot",) if str(props.get("capacityType") or "ON_DEMAND").upper() == "SPOT" else ("on-demand",),
        min_nodes=_int(get(props, "scalingConfig", "minSize")),
        max_nodes=_int(get(props, "scalingConfig", "maxSize")),
        gpu_limit=None,
    )
    if pool.gpu_types or "GPU" in ami or "NVIDIA" in ami:
        return pool
    return None


def _node_pool(props: Mapping[str, Any]) -> GpuPool | None:
    annotations = mapping(get(props, "metadata", "annotations"))
    requirements = items(get(props, "spec", "template", "spec", "requirements"))
    limits = mapping(get(props, "spec", "limits"))
    capacity = _requirement(requirements, CAPACITY_TYPE_LABEL)
    pool = GpuPool(
        kind="NodePool",
        instance_types=tuple(_requirement(requirements, INSTANCE_TYPE_LABEL) or ()),
        capacity_types=tuple(capacity) if capacity is not None else ("on-demand",),  # Karpenter's default
        min_nodes=_int(annotations.get(ANNOTATION_MIN)),
        max_nodes=_int(annotations.get(ANNOTATION_MAX)),
        gpu_limit=_int(limits.get(GPU_RESOURCE)),
    )
    declared = flag(annotations.get(ANNOTATION_GPU)) is True
    constrained = any(_requirement(requirements, k) is not None for k in _GPU_REQUIREMENT_KEYS)
    if declared or constrained or pool.gpu_limit is not None or pool.gpu_types:
        return pool
    return None


def _instance(props: Mapping[str, Any]) -> GpuPool | None:
    itype = props.get("instanceType")
    spot = props.get("instanceMarketOptions") is not None
    pool = GpuPool("Instance", (str(itype),) if itype else (), ("spot",) if spot else ("on-demand",), 1, 1, None)
    return pool if pool.gpu_types else None


def gpu_pool(resource_type: str, props: Mapping[str, Any]) -> GpuPool | None:
    """The GPU pool a resource declares, or None when it is not GPU capacity."""
    if resource_type == NODE_GROUP:
        return _node_group(props)
    if resource_type == NODE_POOL:
        return _node_pool(props)
    if resource_type == INSTANCE:
        return _instance(props)
    return None
