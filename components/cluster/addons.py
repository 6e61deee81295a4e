""":class:`GpuSoftware`: what makes GPUs usable in a cluster: the NVIDIA device plugin (GPUs
become schedulable, with GPU feature discovery labels) and the DCGM exporter (GPU metrics
for alerting), each in a namespace of its own, on GPU nodes only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.cluster.moved import child_options, former_name
from components.helm import Chart, helm_release
from components.naming import TYPE_PREFIX
from core import gpu_pool

DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"
MONITORING_NAMESPACE = "gpu-monitoring"
DCGM_PORT = 9400


def namespace_manifest(name: str) -> dict[str, Any]:
    """A namespace for GPU system software (device plugin and DCGM need privileged pods)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/part-of": "llmops-platform", "pod-security.kubernetes.io/enforce": "privileged"},
        },
    }


GPU_NODE_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": gpu_pool.GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]}]}
            ]
        }
    }
}
"""Schedules a pod on GPU pool nodes only."""


def device_plugin_values() -> dict[str, Any]:
    """Values of the NVIDIA device plugin chart: the plugin and GPU feature discovery on GPU
    nodes, and the node-feature-discovery worker (a subchart GFD needs) tolerating the GPU
    pools' taint. The subchart's default tolerates only ``nvidia.com/gpu=present``, so on
    nodes tainted ``nvidia.com/gpu=true`` GFD would never get its labels."""
    toleration = dict(gpu_pool.GPU_TOLERATION)
    return {
        "tolerations": [toleration],
        "affinity": GPU_NODE_AFFINITY,
        "gfd": {"enabled": True},
        "nfd": {"worker": {"tolerations": [toleration]}},
    }


def dcgm_exporter_values() -> dict[str, Any]:
    """Values of the DCGM exporter chart: on GPU nodes only (its default tolerates nothing),
    scraped through the Service's annotations."""
    return {
        "tolerations": [dict(gpu_pool.GPU_TOLERATION)],
        "affinity": GPU_NODE_AFFINITY,
        "serviceMonitor": {"enabled": False},
        "service": {"enable": True, "port": DCGM_PORT},
        "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(DCGM_PORT)},
    }


@dataclass(frozen=True)
class GpuSoftwareArgs:
    """Arguments of :class:`GpuSoftware`."""

    device_plugin: Chart = versions.NVIDIA_DEVICE_PLUGIN
    """The NVIDIA device plugin chart."""
    dcgm_exporter: Chart = versions.DCGM_EXPORTER
    """The DCGM exporter chart."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the namespaces wait for (nodes to run on, in a cluster being created)."""


class GpuSoftware(pulumi.ComponentResource):
    """The NVIDIA device plugin and the DCGM exporter. Give it the cluster's Kubernetes
    provider (``opts.providers``)."""

    namespaces: list[str]
    metrics_port: int

    def __init__(self, name: str, args: GpuSoftwareArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:cluster:GpuSoftware", name, None, opts)
        former_parent = opts.parent if opts else None

        def child(role: str, **kwargs: Any) -> pulumi.ResourceOptions:
            return child_options(self, former_parent, former_name(name, "gpu-software", role), **kwargs)

        namespaces = {
            namespace: k8s.core.v1.Namespace(
                f"{name}-{namespace}",
                metadata=namespace_manifest(namespace)["metadata"],
                opts=child(namespace, depends_on=list(args.depends_on)),
            )
            for namespace in (DEVICE_PLUGIN_NAMESPACE, MONITORING_NAMESPACE)
        }
        helm_release(
            f"{name}-nvidia-device-plugin",
            release="nvidia-device-plugin",
            chart=args.device_plugin,
            namespace=DEVICE_PLUGIN_NAMESPACE,
            values=device_plugin_values(),
            opts=child("nvidia-device-plugin", depends_on=[namespaces[DEVICE_PLUGIN_NAMESPACE]]),
        )
        helm_release(
            f"{name}-dcgm-exporter",
            release="dcgm-exporter",
            chart=args.dcgm_exporter,
            namespace=MONITORING_NAMESPACE,
            values=dcgm_exporter_values(),
            opts=child("dcgm-exporter", depends_on=[namespaces[MONITORING_NAMESPACE]]),
        )
        self.namespaces = list(namespaces)
        self.metrics_port = DCGM_PORT
        self.register_outputs({"namespaces": self.namespaces, "metricsPort": self.metrics_port})
