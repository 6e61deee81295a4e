"""``GpuCluster``: one region's EKS cluster with GPU capacity, or an existing cluster.

Created cluster (:class:`EksClusterArgs`):
  * EKS with a private API endpoint (public only with an allow-list), all control-plane log
    types to a retained log group, envelope encryption of Secrets with a rotating KMS key,
    an OIDC provider for IRSA plus the Pod Identity agent, and access entries (API
    authentication mode, no aws-auth ConfigMap), each admin entry keyed by its role;
  * a small on-demand CPU node group for controllers (IMDSv2 required, encrypted gp3);
  * GPU pools (:class:`GpuPoolArgs`): pools that scale from zero become NodePools of the
    :class:`Karpenter` part (controller via Helm with Pod Identity, SQS interruption queue
    fed by EventBridge, an ``EC2NodeClass`` with a pinned AL2023 AMI); warm pools
    (min_nodes > 0), and every pool with ``capacity_provider="managedNodeGroups"``, become
    :class:`GpuNodeGroup` parts, scaled by the :class:`ClusterAutoscaler` part in the latter
    case (scale from zero through node-template tags). What the pools' resources carry is
    the GPU-pool contract, :mod:`core.gpu_pool`;
  * the :class:`GpuSoftware` part: the NVIDIA device plugin and the DCGM exporter (Helm), so
    GPUs are schedulable and their metrics exist for alerting;
  * a Kubernetes provider built from the cluster's outputs, for the components that deploy
    into this region's cluster.

Existing cluster (:class:`ExistingClusterArgs`): only the GPU software is installed, through
a provider built from the given kubeconfig (secret) or from the named cluster.

Modules: :mod:`.args` (all arguments), :mod:`.cluster` (GpuCluster and the control plane),
:mod:`.nodes` (node roles, managed node groups, GpuNodeGroup), :mod:`.karpenter`,
:mod:`.autoscaler`, :mod:`.addons` (GpuSoftware) and :mod:`.moved` (the aliases that keep
resources created before the parts existed).
"""

from components.cluster.addons import GpuSoftware, GpuSoftwareArgs
from components.cluster.args import (
    EksClusterArgs,
    ExistingClusterArgs,
    GpuClusterArgs,
    GpuPoolArgs,
    SystemNodesArgs,
)
from components.cluster.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.cluster.cluster import GpuCluster
from components.cluster.karpenter import Karpenter, KarpenterArgs
from components.cluster.nodes import GpuNodeGroup, GpuNodeGroupArgs

__all__ = [
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
