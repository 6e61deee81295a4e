"""GPU capacity as the policies see it: one :class:`GpuPool` per EKS managed node group,
Karpenter NodePool or standalone GPU instance, read from the resource's properties through
the platform's GPU-pool contract (:mod:`core.gpu_pool`), the reader the cost model also uses
on what ``components.cluster`` writes.

GPU counts per instance type come from the project's catalog
(``core.catalog.instance_types()``).
"""

from __future__ import annotations

from core.gpu_pool import (
    CAPACITY_TYPE_LABEL,
    INSTANCE_TYPE_LABEL,
    POOL_TYPES,
    CapacityPool,
    read_gpu_pool,
)

GpuPool = CapacityPool
"""A pool of GPU nodes (``kind`` is ``NodeGroup``, ``NodePool`` or ``Instance``)."""

gpu_pool = read_gpu_pool
"""The GPU pool a resource declares, or None when it is not GPU capacity."""

__all__ = ["CAPACITY_TYPE_LABEL", "INSTANCE_TYPE_LABEL", "POOL_TYPES", "GpuPool", "gpu_pool"]
