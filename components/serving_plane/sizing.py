"""What a pod may request on a node: the allocatable CPU and memory of an instance type (from
the catalogue, minus what the kubelet reserves and a DaemonSet allowance), and the requests
that fill what is left.

Allocatable follows how EKS nodes reserve resources (the EKS AL2023 bootstrap and Karpenter
compute the same ``kubeReserved``):

* CPU: 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% of every
  core above four;
* memory: the instance's memory less Karpenter's VM overhead (``vmMemoryOverheadPercent``,
  7.5%, what the kernel and firmware keep), less ``kubeReserved`` (255 MiB + 11 MiB per pod,
  counted at the most pods a node allows, :data:`MAX_PODS`), less the eviction threshold
  (``memory.available < 100Mi``).

Every node also runs DaemonSets (VPC CNI, kube-proxy, the Pod Identity agent; on GPU nodes
the NVIDIA device plugin with feature discovery and the DCGM exporter): their requests are
budgeted as :data:`DAEMONSET_ALLOWANCE` and :data:`GPU_DAEMONSET_ALLOWANCE`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core import catalog

VM_MEMORY_OVERHEAD = 0.075
"""Share of an instance's memory the node does not see (Karpenter's default
``vmMemoryOverheadPercent``)."""
MAX_PODS = 110
"""Pods per node the memory reservation is counted for (the kubelet's default limit; VPC CNI
limits small types to fewer, so this reserves at least as much as the node does)."""
EVICTION_MIB = 100
"""The kubelet's hard eviction threshold for memory (``memory.available``)."""


@dataclass(frozen=True)
class Resources:
    """CPU (millicores) and memory (MiB)."""

    cpu_m: int
    memory_mib: int

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m - other.cpu_m, self.memory_mib - other.memory_mib)

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory_mib + other.memory_mib)

    def fits_in(self, other: Resources) -> bool:
        return self.cpu_m <= other.cpu_m and self.memory_mib <= other.memory_mib

    def __str__(self) -> str:
        return f"{self.cpu_m}m CPU, {self.memory_mib}Mi memory"


DAEMONSET_ALLOWANCE = Resources(cpu_m=300, memory_mib=512)
"""What the DaemonSets on every node request, at most (VPC CNI and its network policy agent,
kube-proxy, the EKS Pod Identity agent, with room for a node log or metrics agent)."""
GPU_DAEMONSET_ALLOWANCE = Resources(cpu_m=200, memory_mib=1024)
"""What the GPU DaemonSets add on GPU nodes (NVIDIA device plugin, GPU feature discovery,
node feature discovery worker, DCGM exporter)."""


def kube_reserved_cpu_m(vcpus: int) -> int:
    """The kubelet's CPU reservation for a node with ``vcpus`` cores (millicores)."""
    reserved = 0.0
    for core in range(1, vcpus + 1):
        if core == 1:
            reserved += 60
        elif core == 2:
            reserved += 10
        elif core <= 4:
            reserved += 5
        else:
            reserved += 2.5
    return math.ceil(reserved)


def allocatable(instance_type: str) -> Resources:
    """CPU and memory a node of ``instance_type`` offers to pods."""
    spec = catalog.instance_types()[instance_type]
    memory = math.floor(spec.memory_gib * 1024 * (1 - VM_MEMORY_OVERHEAD))
    reserved_memory = 255 + 11 * MAX_PODS + EVICTION_MIB
    return Resources(spec.vcpu * 1000 - kube_reserved_cpu_m(spec.vcpu), memory - reserved_memory)


def available(instance_type: str) -> Resources:
    """What one pod may request on a node of ``instance_type`` after the DaemonSets."""
    spec = catalog.instance_types()[instance_type]
    overhead = DAEMONSET_ALLOWANCE + (GPU_DAEMONSET_ALLOWANCE if spec.is_nvidia_gpu else Resources(0, 0))
    return allocatable(instance_type) - overhead


def smallest(instance_types: tuple[str, ...] | list[str]) -> Resources:
    """What a pod may request to fit on any of ``instance_types`` (the smallest of each)."""
    sizes = [available(t) for t in instance_types]
    return Resources(min(s.cpu_m for s in sizes), min(s.memory_mib for s in sizes))


def whole_node(instance_types: tuple[str, ...] | list[str], reserve: Resources) -> Resources:
    """Requests for a pod that takes a node of any of ``instance_types`` for itself, leaving
    ``reserve`` for the pod's other containers (init containers, sidecars). CPU in whole
    cores (Ray counts CPUs in whole units), memory rounded down to 256 MiB."""
    room = smallest(instance_types) - reserve
    return Resources(cpu_m=max(room.cpu_m // 1000, 0) * 1000, memory_mib=max(room.memory_mib // 256, 0) * 256)
