"""Pinned versions of what the platform installs into clusters. Upgrades are deliberate:
bump here, plan, review the diff, roll through dev -> staging -> prod.

Approach for what depends on the cluster's Kubernetes minor version (EKS managed add-on
builds, the managed node groups' AMI release, the cluster-autoscaler image): they are
*pinned* per minor in :data:`KUBERNETES_PINS`, so a plan shows the exact build that will be
installed and a change of build is a reviewed diff. A minor without a row still deploys:
its add-ons resolve to AWS's default build for that minor at deploy time
(``aws.eks.get_addon_version``) and its node groups take EKS's newest AMI release; the
stack program warns about it. ``llmops doctor`` checks that the pinned builds are offered
for the cluster's version in the account's region before the first ``pulumi up``.

Each pin says when and where it was last confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.helm import Chart
from core.serving_pins import (
    AWS_LOAD_BALANCER_CONTROLLER_VERSION as AWS_LOAD_BALANCER_CONTROLLER_VERSION,
)
from core.serving_pins import KUBERAY_VERSION as KUBERAY_VERSION
from core.serving_pins import RAY_VERSION as RAY_VERSION
from core.serving_pins import SERVING_CHART_VERSIONS as SERVING_CHART_VERSIONS

KARPENTER_CHART = "oci://public.ecr.aws/karpenter/karpenter"
KARPENTER_CRD_CHART = "oci://public.ecr.aws/karpenter/karpenter-crd"
KARPENTER_VERSION = "1.14.1"
"""aws/karpenter-provider-aws v1.14.1 (commit bde00654cd31): the newest release, and the
first whose ``MaxK8sVersion`` is 1.36 (1.35 needs >= 1.9, 1.36 needs >= 1.13; upstream
compatibility matrix, website/content/en/docs/upgrading/compatibility.md). Confirmed
2026-11-30."""

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
CLUSTER_AUTOSCALER_VERSION = "9.59.0"
"""kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0 (appVersion 1.35.0); the
image is set per cluster minor from :data:`KUBERNETES_PINS` (cluster-autoscaler's
versions match Kubernetes minors exactly)."""
CLUSTER_AUTOSCALER_IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"

GPU_AMI_RELEASE = "v20260930"
"""The AL2023 EKS-optimized AMI release every node boots (awslabs/amazon-eks-ami release
tag; last confirmed 2026-10-02 via the SSM parameter
``/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/standard/amazon-eks-node-al2023-x86_64-standard-1.35-v20260930/image_id``
in us-east-1). Karpenter resolves the NVIDIA variant of this release for GPU types; managed
node groups pin the same release through :attr:`KubernetesPins.node_release`."""
GPU_AMI_ALIAS = f"al2023@{GPU_AMI_RELEASE}"
"""Karpenter ``EC2NodeClass`` ``amiSelectorTerms[].alias``: AL2023 pinned to the release
above (never ``latest`` in production)."""

# The serving plane: Ray (the serving image and every RayService's rayVersion), the KubeRay
# operator and the AWS Load Balancer Controller; the versions live in core.serving_pins,
# which the stack config checks releases against.
KUBERAY_REPO = "https://ray-project.github.io/kuberay-helm/"
AWS_LOAD_BALANCER_CONTROLLER_REPO = "https://aws.github.io/eks-charts"

SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"

# EKS managed add-ons: these run before any node exists (networking, Pod Identity) ...
EKS_NODE_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# ... and these need nodes to schedule on, so they wait for the system node group.
EKS_WORKLOAD_ADDONS = ("coredns", "aws-ebs-csi-driver")


@dataclass(frozen=True)
class KubernetesPins:
    """What the platform installs for one Kubernetes minor version."""

    addons: Mapping[str, str]
    """EKS managed add-on builds (``addon_version``), by add-on name."""
    node_release: str
    """Managed node groups' AMI ``release_version`` (``<kubernetes patch>-<AMI date>``), the
    same AMI release as :data:`GPU_AMI_ALIAS`."""
    cluster_autoscaler_tag: str
    """cluster-autoscaler image tag of the same minor."""
    confirmed: str = ""
    """When and from where the pins were last confirmed."""
    sources: tuple[str, ...] = field(default_factory=tuple)


KUBERNETES_PINS: Mapping[str, KubernetesPins] = {
    "1.35": KubernetesPins(
        addons={
            "vpc-cni": "v1.22.4-eksbuild.3",
            "kube-proxy": "v1.35.3-eksbuild.29",
            "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
            "coredns": "v1.13.2-eksbuild.31",
            "aws-ebs-csi-driver": "v1.66.0-eksbuild.1",
        },
        node_release="1.35.8-20260930",
        cluster_autoscaler_tag="v1.35.2",
        confirmed="2026-10-04 (add-ons: AWS-reported default builds for 1.35, us-east-2); 2026-10-02 (AMI release); 2026-07-23 (cluster-autoscaler 1.35.2 release)",
        sources=(
            "aws eks describe-addon-versions --kubernetes-version 1.35 (default builds, as recorded in a public validation report)",
            "awslabs/amazon-eks-ami release v20260930 (SSM /aws/service/eks/optimized-ami/1.35/...-v20260930)",
            "kubernetes/autoscaler release cluster-autoscaler-1.35.2",
        ),
    ),
}
"""Pins by Kubernetes minor version. Re-confirm every pin when bumping a minor: an add-on
build made for another minor fails ``CreateAddon``/``UpdateAddon`` at apply time."""


def pins_for(kubernetes_version: str) -> KubernetesPins | None:
    """The pins of a Kubernetes minor version, or None when it has none (see the module
    docstring for what happens then)."""
    return KUBERNETES_PINS.get(kubernetes_version)


def addon_version(addon: str, kubernetes_version: str, parent: pulumi.Resource) -> pulumi.Input[str]:
    """The build of EKS managed add-on ``addon`` for ``kubernetes_version``: the one pinned
    in :data:`KUBERNETES_PINS`, else AWS's default build for that version, looked up at
    deploy time with ``parent``'s provider."""
    pins = pins_for(kubernetes_version)
    if pins is not None and addon in pins.addons:
        return pins.addons[addon]
    return aws.eks.get_addon_version_output(
        addon_name=addon, kubernetes_version=kubernetes_version, opts=pulumi.InvokeOutputOptions(parent=parent)
    ).version


# The charts above as the components install them.
KARPENTER = Chart(KARPENTER_CHART, KARPENTER_VERSION)
KARPENTER_CRD = Chart(KARPENTER_CRD_CHART, KARPENTER_VERSION)
NVIDIA_DEVICE_PLUGIN = Chart("nvidia-device-plugin", NVIDIA_DEVICE_PLUGIN_VERSION, NVIDIA_DEVICE_PLUGIN_REPO)
DCGM_EXPORTER = Chart("dcgm-exporter", DCGM_EXPORTER_VERSION, DCGM_EXPORTER_REPO)
CLUSTER_AUTOSCALER = Chart("cluster-autoscaler", CLUSTER_AUTOSCALER_VERSION, CLUSTER_AUTOSCALER_REPO)
KUBERAY_OPERATOR = Chart("kuberay-operator", KUBERAY_VERSION, KUBERAY_REPO)
AWS_LOAD_BALANCER_CONTROLLER = Chart(
    "aws-load-balancer-controller", AWS_LOAD_BALANCER_CONTROLLER_VERSION, AWS_LOAD_BALANCER_CONTROLLER_REPO
)
