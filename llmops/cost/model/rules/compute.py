"""Compute: Karpenter NodePools and EKS managed node groups (read through the GPU-pool
contract, :mod:`core.gpu_pool`), standalone EC2 instances and EKS control planes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from core import catalog
from core.catalog.prices import MissingPriceError, check_instance_type
from core.gpu_pool import (
    GPU_RESOURCE,
    INSTANCE_TYPE_LABEL,
    MAX_NODES_ANNOTATION,
    CapacityPool,
    read_pool,
)
from llmops.cost.model.rules.base import Context, Priced, Unpriced, hourly_line, number, region_of
from llmops.cost.model.types import CostInput, CostLine

# Defaults the AWS APIs apply when an argument is left out (documented API behaviour).
EKS_NODEGROUP_DEFAULT_INSTANCE_TYPE = "t3.medium"  # CreateNodegroup: instanceTypes default
EKS_NODEGROUP_DEFAULT_DISK_GB = 20  # CreateNodegroup: diskSize default for Linux AMIs
EC2_DEFAULT_ROOT_VOLUME_GB = 8  # typical root volume of Amazon Linux AMIs

_QUANTITY = re.compile(r"^\s*([0-9.]+)\s*([KMGTP]i?)?\s*$")
# EBS sizes volumes in GiB and bills them per "GB-month" of that GiB; the unit here is GiB.
_GIB_FACTOR: dict[str | None, float] = {
    None: 1024**-3, "K": 1e3 / 1024**3, "M": 1e6 / 1024**3, "G": 1e9 / 1024**3, "T": 1e12 / 1024**3,
    "Ki": 1024**-2, "Mi": 1024**-1, "Gi": 1.0, "Ti": 1024.0, "P": 1e15 / 1024**3, "Pi": 1024.0**2,
}


def gigabytes(value: Any) -> float | None:
    """A Kubernetes quantity (``200Gi``) or a plain number (GiB, as EBS takes it), in GiB."""
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(str(value or ""))
    if not match:
        return None
    amount, suffix = float(match.group(1)), match.group(2)
    return amount * _GIB_FACTOR[suffix]


def _block_devices(mappings: Iterable[Mapping[str, Any]]) -> tuple[float, str]:
    """Total EBS size (GiB) of block device mappings and the type of the last sized one."""
    total, volume_type = 0.0, "gp3"
    for mapping in mappings:
        ebs = mapping.get("ebs") or {}
        size = gigabytes(ebs.get("volumeSize"))
        if size:
            total += size
            volume_type = str(ebs.get("volumeType") or volume_type)
    return total, volume_type


def _node_lines(
    ctx: Context,
    region: str,
    instance_type: str,
    capacity: Literal["spot", "on-demand"],
    min_nodes: float,
    expected_nodes: float,
    volume_gb: float,
    volume_type: str,
) -> tuple[list[CostLine], str]:
    hourly, how = ctx.catalogue.hourly(region, instance_type, capacity)
    lines = [
        CostLine(
            f"{instance_type} {capacity} instances",
            "instance-hour",
            hourly,
            min_nodes * ctx.hours,
            expected_nodes * ctx.hours,
        )
    ]
    if volume_gb > 0:
        key = "ebs.gp2" if volume_type == "gp2" else "ebs.gp3"
        price, unit = ctx.service(key, region)
        lines.append(
            CostLine(
                f"root volumes ({volume_gb:g} GB {key.split('.')[1]} per node)",
                unit,
                price,
                min_nodes * volume_gb,
                expected_nodes * volume_gb,
            )
        )
    return lines, how


def _expected_nodes(min_nodes: float, max_nodes: float, utilization: float) -> float:
    return min_nodes + utilization * max(max_nodes - min_nodes, 0.0)


def _pool(item: CostInput, inputs: Mapping[str, Any]) -> CapacityPool:
    pool = read_pool(item.type, inputs)
    if pool is None:
        raise Unpriced(f"{item.type} holds no node capacity the GPU-pool contract can read")
    return pool


def _node_class_volume(ctx: Context, region: str | None, spec: Mapping[str, Any]) -> tuple[float, str] | None:
    ref = ((spec.get("template") or {}).get("spec") or {}).get("nodeClassRef") or {}
    node_class = ctx.node_classes.get((region, str(ref.get("name", ""))))
    if node_class is None:
        return None
    total, volume_type = _block_devices((node_class.get("spec") or {}).get("blockDeviceMappings") or [])
    return (total, volume_type) if total else None


def price_nodepool(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    pool = _pool(item, inputs)
    types = list(pool.instance_types)
    if not types:
        raise Unpriced(
            f"no '{INSTANCE_TYPE_LABEL} In [...]' requirement; the model cannot tell which instances Karpenter launches"
        )
    for name in types:
        check_instance_type(name, region)
    capacities = list(pool.capacity_types) or ["on-demand"]
    capacity: Literal["spot", "on-demand"] = "spot" if "spot" in capacities else "on-demand"
    preferred = types[0]
    spec = catalog.instance_types().get(preferred)
    per_node = spec.accelerator_count if spec is not None else 0
    min_nodes = float(pool.min_nodes or 0)
    max_nodes: float | None = None
    max_source = ""
    if pool.max_nodes is not None:
        max_nodes = float(pool.max_nodes)
        max_source = f"annotation {MAX_NODES_ANNOTATION}"
    elif pool.gpu_limit is not None and per_node:
        max_nodes = float(pool.gpu_limit // per_node)
        max_source = f"limits {GPU_RESOURCE} {pool.gpu_limit} / {per_node} GPU(s) per {preferred}"
    assumptions = []
    label = pool.name or (inputs.get("metadata") or {}).get("name") or item.name
    if max_nodes is None:
        expected = min_nodes
        assumptions.append(
            f"pool {label}: no {MAX_NODES_ANNOTATION} annotation or GPU limit, so the expected figure keeps "
            f"the minimum of {min_nodes:g} node(s); add the annotation to price bursts"
        )
    else:
        expected = _expected_nodes(min_nodes, max_nodes, ctx.usage.gpu_utilization)
        assumptions.append(
            f"pool {label}: expected nodes = min {min_nodes:g} + gpuUtilization {ctx.usage.gpu_utilization:g} x "
            f"(max {max_nodes:g} - min {min_nodes:g}) = {expected:g} (max from {max_source})"
        )
    volume = _node_class_volume(ctx, item.region, inputs.get("spec") or {})
    if volume is None:
        volume_gb, volume_type = ctx.usage.gpu_node_volume_gb, "gp3"
        assumptions.append(f"root volume {volume_gb:g} GB gp3 per node (usage gpuNodeVolumeGb)")
    else:
        volume_gb, volume_type = volume
        assumptions.append(f"root volume {volume_gb:g} GB {volume_type} per node (from the EC2NodeClass)")
    lines, how = _node_lines(ctx, region, preferred, capacity, min_nodes, expected, volume_gb, volume_type)
    priced_how = how
    if len(types) > 1:
        others = []
        for other in types[1:]:
            try:
                others.append(ctx.catalogue.hourly(region, other, capacity)[0])
            except MissingPriceError:
                continue
        low = min([lines[0].unit_price, *others])
        high = max([lines[0].unit_price, *others])
        priced_how += (
            f"; priced as the first of {len(types)} allowed types (their {capacity} range ${low:.4f}-${high:.4f}/h)"
        )
    if len(capacities) > 1 and capacity == "spot":
        priced_how += "; spot assumed (Karpenter prefers spot when both capacity types are allowed)"
    assumptions.insert(0, priced_how)
    return Priced(lines, assumptions)


def _node_group_volume(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> tuple[float, str, str]:
    """Root volume per node: ``diskSize``, else the launch template's block devices, else
    the EKS default."""
    disk = inputs.get("diskSize")
    if disk not in (None, ""):
        return number(disk, EKS_NODEGROUP_DEFAULT_DISK_GB), "gp3", ""
    ref = inputs.get("launchTemplate") or {}
    template = None
    for key in (ref.get("id"), ref.get("name")):
        if key and (item.region, str(key)) in ctx.launch_templates:
            template = ctx.launch_templates[(item.region, str(key))]
            break
    if template is not None:
        total, volume_type = _block_devices(template.get("blockDeviceMappings") or [])
        if total:
            return total, volume_type, f"root volume {total:g} GB {volume_type} per node (from the launch template)"
    source = "launch template not in the plan, " if ref else ""
    size = float(EKS_NODEGROUP_DEFAULT_DISK_GB)
    return size, "gp3", f"root volume {size:g} GB gp3 per node ({source}EKS default diskSize)"


def price_nodegroup(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    pool = _pool(item, inputs)
    types = list(pool.instance_types) or [EKS_NODEGROUP_DEFAULT_INSTANCE_TYPE]
    for name in types:
        check_instance_type(name, region)
    capacity: Literal["spot", "on-demand"] = "spot" if pool.capacity_types == ("spot",) else "on-demand"
    min_nodes = float(pool.min_nodes) if pool.min_nodes is not None else 1.0
    max_nodes = float(pool.max_nodes) if pool.max_nodes is not None else min_nodes
    desired_nodes = float(pool.desired_nodes) if pool.desired_nodes is not None else min_nodes
    desired = min(max(desired_nodes, min_nodes), max_nodes)
    preferred = types[0]
    accelerated = catalog.is_accelerated(preferred)
    assumptions: list[str] = []
    if accelerated:
        expected = _expected_nodes(min_nodes, max_nodes, ctx.usage.gpu_utilization)
        assumptions.append(
            f"expected nodes = min {min_nodes:g} + gpuUtilization {ctx.usage.gpu_utilization:g} x "
            f"(max {max_nodes:g} - min {min_nodes:g}) = {expected:g}"
        )
    else:
        expected = desired
        assumptions.append(f"expected nodes = desiredSize {desired:g} (minimum {min_nodes:g})")
    volume_gb, volume_type, volume_note = _node_group_volume(item, inputs, ctx)
    if volume_note:
        assumptions.append(volume_note)
    lines, how = _node_lines(ctx, region, preferred, capacity, min_nodes, expected, volume_gb, volume_type)
    if len(types) > 1:
        how += f"; priced as the first of {len(types)} allowed types"
    assumptions.insert(0, how)
    return Priced(lines, assumptions)


def price_instance(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    name = str(inputs.get("instanceType") or "")
    if not name:
        raise Unpriced("no instanceType argument (launch template not inspected)")
    check_instance_type(name, region)
    market = ((inputs.get("instanceMarketOptions") or {}).get("marketType") or "").lower()
    capacity: Literal["spot", "on-demand"] = "spot" if market == "spot" else "on-demand"
    root = inputs.get("rootBlockDevice") or {}
    volume_gb = number(root.get("volumeSize"), EC2_DEFAULT_ROOT_VOLUME_GB)
    volume_type = str(root.get("volumeType") or "gp3")
    lines, how = _node_lines(ctx, region, name, capacity, 1.0, 1.0, volume_gb, volume_type)
    return Priced(lines, [how])


def price_eks(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    version = inputs.get("version")
    support = str(((inputs.get("upgradePolicy") or {}).get("supportType")) or "EXTENDED").upper()
    extended = support != "STANDARD" and ctx.catalogue.eks_extended_support(str(version) if version else None)
    key = "eks.cluster.extended" if extended else "eks.cluster.standard"
    note = (
        f"Kubernetes {version} is past standard support: extended-support rate"
        if extended
        else f"Kubernetes {version or '(latest)'}: standard-support rate"
    )
    return Priced([hourly_line(ctx, "EKS control plane", key, region)], [note])
