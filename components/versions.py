"""Pinned versions of what the platform installs into clusters. Upgrades are deliberate:
bump here, plan, review the diff, roll through dev -> staging -> prod."""

from __future__ import annotations

from components.helm import Chart

KARPENTER_CHART = "oci://public.ecr.aws/karpenter/karpenter"
KARPENTER_VERSION = "1.6.3"

NVIDIA_DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"
NVIDIA_DEVICE_PLUGIN_VERSION = "0.17.4"

KUBE_PROMETHEUS_STACK_REPO = "https://prometheus-community.github.io/helm-charts"
KUBE_PROMETHEUS_STACK_VERSION = "88.5.3"
"""prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3 (prometheus-operator
v0.93.1, Prometheus v3.14.0, Alertmanager v0.34.0, Grafana chart 12.11.1)."""
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", KUBE_PROMETHEUS_STACK_VERSION, KUBE_PROMETHEUS_STACK_REPO)
CLOUDWATCH_OBSERVABILITY_ADDON = "amazon-cloudwatch-observability"
"""EKS managed add-on that ships pod logs (Fluent Bit) and Container Insights metrics; its
build is EKS's default for the cluster's version (Pod Identity needs >= v3.1.0)."""

DCGM_EXPORTER_REPO = "https://nvidia.github.io/dcgm-exporter/helm-charts"
DCGM_EXPORTER_VERSION = "4.5.2"

CLUSTER_AUTOSCALER_REPO = "https://kubernetes.github.io/autoscaler"
CLUSTER_AUTOSCALER_VERSION = "9.50.1"

# Karpenter EC2NodeClass AMI alias: AL2023 pinned to a release; Karpenter selects the
# NVIDIA-accelerated variant of this release for GPU instance types.
GPU_AMI_ALIAS = "al2023@v20251023"
# Managed node groups: the AMI types (release pinned per node group via release_version when set).
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"

# EKS managed add-ons: these run before any node exists (networking, Pod Identity) ...
EKS_NODE_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# ... and these need nodes to schedule on, so they wait for the system node group.
EKS_WORKLOAD_ADDONS = ("coredns",)

# The charts above as the components install them.
KARPENTER = Chart(KARPENTER_CHART, KARPENTER_VERSION)
NVIDIA_DEVICE_PLUGIN = Chart("nvidia-device-plugin", NVIDIA_DEVICE_PLUGIN_VERSION, NVIDIA_DEVICE_PLUGIN_REPO)
DCGM_EXPORTER = Chart("dcgm-exporter", DCGM_EXPORTER_VERSION, DCGM_EXPORTER_REPO)
CLUSTER_AUTOSCALER = Chart("cluster-autoscaler", CLUSTER_AUTOSCALER_VERSION, CLUSTER_AUTOSCALER_REPO)
