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

Every node also runs DaemonSets (:data:`NODE_DAEMONS`: the EKS add-ons' agents, the
CloudWatch agent and Fluent Bit, node-exporter; on GPU nodes the NVIDIA device plugin with
feature discovery and the DCGM exporters): their requests are budgeted as
:data:`DAEMONSET_ALLOWANCE` and :data:`GPU_DAEMONSET_ALLOWANCE`, which cover the table.
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


@dataclass(frozen=True)
class NodeDaemon:
    """A DaemonSet's pod on a node, as the add-on or chart that installs it requests it by
    default (a container without requests counts zero)."""

    name: str
    installed_by: str
    """``addon:<EKS add-on name>`` or ``chart:<Helm chart name>``."""
    requests: Resources
    gpu_nodes_only: bool = False
    source: str = ""


NODE_DAEMONS: tuple[NodeDaemon, ...] = (
    NodeDaemon("aws-node", "addon:vpc-cni", Resources(50, 0), source="aws/amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml: aws-node 25m, the network policy agent 25m"),
    NodeDaemon("kube-proxy", "addon:kube-proxy", Resources(100, 0), source="the EKS kube-proxy DaemonSet: 100m"),
    NodeDaemon("eks-pod-identity-agent", "addon:eks-pod-identity-agent", Resources(0, 0), source="aws/eks-charts stable/eks-pod-identity-agent/values.yaml: resources {}"),
    NodeDaemon("ebs-csi-node", "addon:aws-ebs-csi-driver", Resources(30, 120), source="kubernetes-sigs/aws-ebs-csi-driver charts values: node, registrar, liveness probe 10m/40Mi each"),
    NodeDaemon("cloudwatch-agent", "addon:amazon-cloudwatch-observability", Resources(250, 128), source="aws-observability/helm-charts amazon-cloudwatch-observability values.yaml: agent"),
    NodeDaemon("fluent-bit", "addon:amazon-cloudwatch-observability", Resources(50, 25), source="amazon-cloudwatch-observability values.yaml: containerLogs.fluentBit"),
    NodeDaemon("node-exporter", "chart:kube-prometheus-stack", Resources(0, 0), source="prometheus-node-exporter values.yaml (vendored): resources {}"),
    NodeDaemon("cloudwatch-dcgm-exporter", "addon:amazon-cloudwatch-observability", Resources(250, 128), True, "amazon-cloudwatch-observability values.yaml: dcgmExporter (GPU instance types)"),
    NodeDaemon("nvidia-device-plugin", "chart:nvidia-device-plugin", Resources(0, 0), True, "nvidia-device-plugin 0.17.4 values.yaml (vendored): resources {}; GFD and the NFD worker likewise"),
    NodeDaemon("dcgm-exporter", "chart:dcgm-exporter", Resources(0, 0), True, "dcgm-exporter 4.5.2 values.yaml (vendored): resources {}"),
)
"""The DaemonSet pods every node (or every GPU node) of a cluster the platform creates runs."""


def daemon_requests(gpu_nodes: bool) -> Resources:
    """What :data:`NODE_DAEMONS` request on a CPU node, or on top of that on a GPU node."""
    total = Resources(0, 0)
    for daemon in NODE_DAEMONS:
        if daemon.gpu_nodes_only == gpu_nodes:
            total = total + daemon.requests
    return total


DAEMONSET_ALLOWANCE = Resources(cpu_m=600, memory_mib=512)
"""What the DaemonSets on every node request, at most: :data:`NODE_DAEMONS` (480m, 273Mi)
with room for one more node agent."""
GPU_DAEMONSET_ALLOWANCE = Resources(cpu_m=300, memory_mib=1024)
"""What the GPU DaemonSets add on GPU nodes: :data:`NODE_DAEMONS` on GPU nodes only (250m,
128Mi; the NVIDIA charts request nothing by default) with room to give them requests."""


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
