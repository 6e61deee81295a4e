"""``GpuCluster``: one region's EKS cluster with GPU capacity, or an existing cluster.

Created cluster (:class:`EksClusterArgs`):
  * EKS with a private API endpoint (public only to listed ranges), the deployers' paths to
    it (:class:`ApiAccessArgs`: HTTPS from runner ranges, an SSM tunnel bastion
    :class:`ApiBastion`, a CI role's access entry), all control-plane log types to a
    retained log group, envelope encryption of Secrets with a rotating KMS key, an OIDC
    provider for IRSA plus the Pod Identity agent, EKS add-ons at pinned builds (the EBS CSI
    driver with its Pod Identity role), and access entries (API authentication mode, no
    aws-auth ConfigMap), each admin entry keyed by its role;
  * a small on-demand CPU node group for controllers (IMDSv2 with hop limit 1, encrypted
    gp3, the pinned AMI release);
  * GPU pools (:class:`GpuPoolArgs`): with Karpenter, every pool bursts through a NodePool
    of the :class:`Karpenter` part (controller and CRDs via Helm with Pod Identity, SQS
    interruption queue fed by EventBridge, an ``EC2NodeClass`` with a pinned AL2023 AMI) and
    a warm pool keeps its min_nodes in a fixed-size :class:`GpuNodeGroup`; with
    ``capacity_provider="managedNodeGroups"`` every pool is a :class:`GpuNodeGroup` scaled by
    the :class:`ClusterAutoscaler` part (scale from zero through node-template tags). What
    the pools' resources carry is the GPU-pool contract, :mod:`core.gpu_pool`;
  * the :class:`GpuSoftware` part: the NVIDIA device plugin and the DCGM exporter (Helm), so
    GPUs are schedulable and their metrics exist for alerting;
  * a Kubernetes provider built from the cluster's outputs, for the components that deploy
    into this region's cluster.

Existing cluster (:class:`ExistingClusterArgs`): only the GPU software is installed, through
a provider built from the given kubeconfig (secret) or from the named cluster.

Modules: :mod:`.args` (all arguments), :mod:`.cluster` (GpuCluster and the control plane),
:mod:`.nodes` (node roles, managed node groups, GpuNodeGroup), :mod:`.karpenter`,
:mod:`.autoscaler`, :mod:`.bastion` (ApiBastion), :mod:`.addons` (GpuSoftware) and
:mod:`.moved` (the aliases that keep resources created before the parts existed).
"""

from components.cluster.addons import GpuSoftware, GpuSoftwareArgs
from components.cluster.args import (
    ApiAccessArgs,
    EksClusterArgs,
    ExistingClusterArgs,
    GpuClusterArgs,
    GpuPoolArgs,
    SystemNodesArgs,
)
from components.cluster.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.cluster.bastion import ApiBastion, ApiBastionArgs
from components.cluster.cluster import GpuCluster
from components.cluster.karpenter import Karpenter, KarpenterArgs
from components.cluster.nodes import GpuNodeGroup, GpuNodeGroupArgs

__all__ = [
    "ApiAccessArgs",
    "ApiBastion",
    "ApiBastionArgs",
    "ClusterAutoscaler",
    "ClusterAutoscalerArgs",
    "EksClusterArgs",
    "ExistingClusterArgs",
    "GpuCluster",
    "GpuClusterArgs",
    "GpuNodeGroup",
    "GpuNodeGroupArgs",
    "GpuPoolArgs",
    "GpuSoftware",
    "GpuSoftwareArgs",
    "Karpenter",
    "KarpenterArgs",
    "SystemNodesArgs",
]
