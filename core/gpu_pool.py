"""The GPU-pool contract: what the resources of a GPU pool carry, and how to read it back.

A GPU pool reaches AWS as a Karpenter ``NodePool`` (from zero), an EKS managed node group
(every pool with ``capacityProvider: managedNodeGroups``), or both: with Karpenter, a warm
pool keeps its ``minNodes`` in a fixed-size node group (min = max) and bursts through a
NodePool of the same name for the remaining ``maxNodes - minNodes``. The resources of one
pool carry the same pool name; their node ranges add up to the pool's (:func:`combined`).
``components.cluster`` writes those resources through the functions here; the cost model
(``llmops.cost``) and the cost policy pack (``policies.cost``) read them back through
:func:`read_pool` / :func:`read_gpu_pool`, one resource at a time (each is capacity of its
own, priced and bounded on its own). One module, so the three cannot drift; a round-trip
test (``tests/components/test_gpu_pool_contract.py``) proves they agree.

What a NodePool carries:

* ``metadata.labels[llmops.io/gpu-pool]`` and ``metadata.annotations[llmops.io/gpu-pool]``:
  the pool name (the annotation also marks the NodePool as a GPU pool);
* ``metadata.annotations[llmops.io/min-nodes]`` / ``[llmops.io/max-nodes]``: the node range
  of the pool, which Karpenter itself has no field for;
* requirements on ``node.kubernetes.io/instance-type`` and ``karpenter.sh/capacity-type``;
* ``spec.limits[nvidia.com/gpu]``: the most GPUs the pool may hold.

A managed node group carries the same facts in its own fields (``instanceTypes``,
``capacityType``, ``scalingConfig``) and the node labels below. Nodes of either kind are
labelled ``llmops.io/gpu-pool`` (pool name), ``llmops.io/accelerator`` (GPU model) and
``nvidia.com/gpu.present=true`` and tainted ``nvidia.com/gpu=true:NoSchedule``.

GPUs per node are counted from the catalogue (:func:`core.catalog.instance_types`): a pool
that allows several instance types has a smallest count (``min_gpus_per_node``: what one
node guarantees) and a largest (``max_gpus_per_node``: what bounds the pool's reach).

The readers accept what a policy analyzer hands over as well as plain dicts: read-only
``Mapping``/``Sequence`` proxies, numbers as floats or strings, nested values as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from core import catalog

CapacityType = Literal["spot", "on-demand"]
PoolKind = Literal["NodePool", "NodeGroup", "Instance"]

NODE_GROUP_TYPE = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL_TYPES = ("kubernetes:karpenter.sh/v1:NodePool", "kubernetes:karpenter.sh/v1beta1:NodePool")
EC2_INSTANCE_TYPE = "aws:ec2/instance:Instance"
POOL_TYPES = (NODE_GROUP_TYPE, *NODE_POOL_TYPES, EC2_INSTANCE_TYPE)
"""Resource types that hold node capacity (the readers return None for any other type)."""

POOL_LABEL = "llmops.io/gpu-pool"
"""Node label (and NodePool label) with the pool name."""
POOL_ANNOTATION = "llmops.io/gpu-pool"
"""NodePool annotation with the pool name; its presence marks a declared GPU pool."""
MIN_NODES_ANNOTATION = "llmops.io/min-nodes"
"""NodePool annotation: nodes the pool keeps when idle (Karpenter has no minimum of its own)."""
MAX_NODES_ANNOTATION = "llmops.io/max-nodes"
"""NodePool annotation: the most nodes the pool may reach."""
ACCELERATOR_LABEL = "llmops.io/accelerator"
"""Node label with the GPU model (``A10G``, ``L4``, ``H100`` ...)."""
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
"""Node label NVIDIA GPU feature discovery also sets; the GPU software schedules on it."""
GPU_RESOURCE = "nvidia.com/gpu"
"""The GPUs' extended resource name: the NodePool limit key and the taint key."""
GPU_TAINT = {"key": GPU_RESOURCE, "value": "true", "effect": "NoSchedule"}
"""The taint every GPU pool node carries, so only pods that tolerate it land there."""
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
"""The toleration of pods that run on GPU pool nodes (GPU software, model servers)."""
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
GPU_REQUIREMENT_KEYS = (
    "karpenter.k8s.aws/instance-gpu-count",
    "karpenter.k8s.aws/instance-gpu-name",
    "karpenter.k8s.aws/instance-gpu-manufacturer",
)
"""Karpenter well-known labels that constrain a NodePool to GPU instances."""


# ----------------------------------------------------------------------------- GPU counts


def gpu_counts(instance_types: Iterable[str]) -> list[int]:
    """GPUs per node of each listed type that carries NVIDIA GPUs (unknown types skipped)."""
    known = catalog.instance_types()
    return [known[t].accelerator_count for t in instance_types if t in known and known[t].is_nvidia_gpu]


def gpu_reach(max_nodes: int | None, instance_types: Iterable[str], gpu_limit: int | None = None) -> int | None:
    """The most GPUs a pool can hold: the smaller of its GPU limit and ``max_nodes`` nodes of
    its largest type; None when neither bounds it."""
    counts = gpu_counts(instance_types)
    bounds = [gpu_limit] if gpu_limit is not None else []
    if max_nodes is not None and counts:
        bounds.append(max_nodes * max(counts))
    return min(bounds) if bounds else None


# ----------------------------------------------------------------------------- writing


def node_labels(pool: str, accelerator_model: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels of a GPU pool's nodes (``extra`` last: a pool's own labels may add, not hide)."""
    return {POOL_LABEL: pool, ACCELERATOR_LABEL: accelerator_model, GPU_PRESENT_LABEL: "true", **(extra or {})}


def node_pool_metadata(pool: str, min_nodes: int, max_nodes: int) -> dict[str, Any]:
    """``metadata`` of a GPU pool's Karpenter NodePool."""
    return {
        "name": pool,
        "labels": {POOL_LABEL: pool},
        "annotations": {
            MIN_NODES_ANNOTATION: str(min_nodes),
            MAX_NODES_ANNOTATION: str(max_nodes),
            POOL_ANNOTATION: pool,
        },
    }


def capacity_requirements(instance_types: Sequence[str], capacity_type: CapacityType) -> list[dict[str, Any]]:
    """The NodePool requirements that pin a pool's instance types and how they are bought."""
    return [
        {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": list(instance_types)},
        {"key": CAPACITY_TYPE_LABEL, "operator": "In", "values": [capacity_type]},
    ]


def tolerates(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, str] = GPU_TAINT) -> bool:
    """Whether a pod with ``tolerations`` may run on a node tainted ``taint``, by the
    Kubernetes rules: an empty key with ``Exists`` tolerates everything; otherwise the keys
    match, the values match unless the operator is ``Exists`` (``Equal`` is the default), and
    the toleration's effect is empty or the taint's."""
    for toleration in tolerations:
        operator = toleration.get("operator") or "Equal"
        effect = toleration.get("effect") or ""
        key = toleration.get("key") or ""
        if effect and effect != taint.get("effect"):
            continue
        if not key and operator == "Exists":
            return True
        if key != taint.get("key"):
            continue
        if operator == "Exists" or str(toleration.get("value", "")) == str(taint.get("value", "")):
            return True
    return False


def node_group_capacity_type(capacity_type: CapacityType) -> str:
    """The EKS ``capacityType`` of a node group bought as ``capacity_type``."""
    return "SPOT" if capacity_type == "spot" else "ON_DEMAND"


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class CapacityPool:
    """Node capacity as its resource declares it: what it runs on, how it is bought, how far
    it scales. Fields are None where the resource does not say."""

    kind: PoolKind
    instance_types: tuple[str, ...]
    """Instance types the pool may launch (empty: not pinned)."""
    capacity_types: tuple[str, ...]
    """``spot`` and/or ``on-demand``."""
    min_nodes: int | None
    max_nodes: int | None
    gpu_limit: int | None = None
    """A hard cap on GPUs (the NodePool's ``spec.limits['nvidia.com/gpu']``)."""
    name: str | None = None
    """The pool name the resource carries (annotation or node label), if any."""
    desired_nodes: int | None = None
    """A node group's ``scalingConfig.desiredSize``."""
    declared: bool = False
    """Whether the resource says it is a GPU pool (the pool annotation, a GPU requirement or
    a GPU limit on a NodePool; an NVIDIA AMI type on a node group)."""

    @property
    def gpu_types(self) -> tuple[str, ...]:
        """The pool's instance types that carry NVIDIA GPUs."""
        known = catalog.instance_types()
        return tuple(t for t in self.instance_types if t in known and known[t].is_nvidia_gpu)

    @property
    def is_gpu(self) -> bool:
        return self.declared or bool(self.gpu_types)

    @property
    def min_gpus_per_node(self) -> int | None:
        """GPUs on the smallest allowed GPU type: what every node of the pool has."""
        counts = gpu_counts(self.instance_types)
        return min(counts) if counts else None

    @property
    def max_gpus_per_node(self) -> int | None:
        """GPUs on the largest allowed GPU type."""
        counts = gpu_counts(self.instance_types)
        return max(counts) if counts else None

    @property
    def max_gpus(self) -> int | None:
        """The most GPUs the pool can hold (see :func:`gpu_reach`)."""
        return gpu_reach(self.max_nodes, self.instance_types, self.gpu_limit)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    value = _decode(value)
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    value = _decode(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return []


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) and _decode(value) is value:
        return (value,)
    return tuple(str(v) for v in _list(value) if isinstance(v, str | int | float))


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _requirement(requirements: Iterable[Any], key: str) -> tuple[str, ...] | None:
    """Values of an ``In`` requirement on ``key`` (None when the key is not constrained)."""
    for requirement in requirements:
        requirement = _mapping(requirement)
        if requirement.get("key") == key and requirement.get("operator", "In") == "In":
            return _strings(requirement.get("values"))
    return None


def _node_pool(props: Mapping[str, Any]) -> CapacityPool:
    metadata = _mapping(props.get("metadata"))
    annotations = _mapping(metadata.get("annotations"))
    spec = _mapping(props.get("spec"))
    requirements = _list(_mapping(_mapping(spec.get("template")).get("spec")).get("requirements"))
    limit = _count(_mapping(spec.get("limits")).get(GPU_RESOURCE))
    capacity = _requirement(requirements, CAPACITY_TYPE_LABEL)
    name = _text(annotations.get(POOL_ANNOTATION))
    return CapacityPool(
        kind="NodePool",
        instance_types=_requirement(requirements, INSTANCE_TYPE_LABEL) or (),
        capacity_types=capacity if capacity is not None else ("on-demand",),  # Karpenter's default
        min_nodes=_count(annotations.get(MIN_NODES_ANNOTATION)),
        max_nodes=_count(annotations.get(MAX_NODES_ANNOTATION)),
        gpu_limit=limit,
        name=name or _text(_mapping(metadata.get("labels")).get(POOL_LABEL)),
        declared=name is not None
        or limit is not None
        or any(_requirement(requirements, key) is not None for key in GPU_REQUIREMENT_KEYS),
    )


def _node_group(props: Mapping[str, Any]) -> CapacityPool:
    scaling = _mapping(props.get("scalingConfig"))
    ami = str(props.get("amiType") or "")
    spot = str(props.get("capacityType") or "ON_DEMAND").upper() == "SPOT"
    return CapacityPool(
        kind="NodeGroup",
        instance_types=_strings(props.get("instanceTypes")),
        capacity_types=("spot",) if spot else ("on-demand",),
        min_nodes=_count(scaling.get("minSize")),
        max_nodes=_count(scaling.get("maxSize")),
        desired_nodes=_count(scaling.get("desiredSize")),
        name=_text(_mapping(props.get("labels")).get(POOL_LABEL)),
        declared="GPU" in ami or "NVIDIA" in ami,
    )


def _instance(props: Mapping[str, Any]) -> CapacityPool:
    instance_type = _text(props.get("instanceType"))
    spot = props.get("instanceMarketOptions") is not None
    return CapacityPool(
        kind="Instance",
        instance_types=(instance_type,) if instance_type else (),
        capacity_types=("spot",) if spot else ("on-demand",),
        min_nodes=1,
        max_nodes=1,
    )


def read_pool(resource_type: str, props: Mapping[str, Any]) -> CapacityPool | None:
    """The node capacity a NodePool, node group or EC2 instance declares, GPU or not; None
    for any other resource type."""
    if resource_type in NODE_POOL_TYPES:
        return _node_pool(props)
    if resource_type == NODE_GROUP_TYPE:
        return _node_group(props)
    if resource_type == EC2_INSTANCE_TYPE:
        return _instance(props)
    return None


def read_gpu_pool(resource_type: str, props: Mapping[str, Any]) -> CapacityPool | None:
    """The GPU pool a resource declares, or None when it is not GPU capacity."""
    pool = read_pool(resource_type, props)
    return pool if pool is not None and pool.is_gpu else None


def _total(values: Iterable[int | None]) -> int | None:
    found = list(values)
    return None if any(v is None for v in found) else sum(v for v in found if v is not None)


def combined(parts: Sequence[CapacityPool]) -> CapacityPool:
    """The pool the resources of one pool name make together (a warm node group and its
    burst NodePool): node ranges and GPU limits add up, instance and capacity types are the
    union. Raises ``ValueError`` for parts of different pools."""
    if not parts:
        raise ValueError("combined() needs at least one part")
    names = {p.name for p in parts}
    if len(names) != 1:
        raise ValueError(f"parts of different pools: {sorted(str(n) for n in names)}")
    limits = [p.gpu_limit for p in parts if p.gpu_limit is not None]
    return CapacityPool(
        kind=parts[0].kind if len({p.kind for p in parts}) == 1 else "NodePool",
        instance_types=tuple(dict.fromkeys(t for p in parts for t in p.instance_types)),
        capacity_types=tuple(dict.fromkeys(c for p in parts for c in p.capacity_types)),
        min_nodes=_total(p.min_nodes for p in parts),
        max_nodes=_total(p.max_nodes for p in parts),
        gpu_limit=sum(limits) if len(limits) == len(parts) else None,
        name=parts[0].name,
        declared=any(p.declared for p in parts),
    )
