""":class:`ClusterAutoscaler`: cluster-autoscaler (Helm, Pod Identity) scaling the GPU node
groups it discovers by tag, from zero where a pool allows it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import versions
from components.cluster.moved import child_options
from components.cluster.nodes import SYSTEM_NODE_LABELS
from components.helm import helm_release
from components.iam import policy_json
from components.naming import TYPE_PREFIX
from components.pod_identity import pod_identity

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


def cluster_autoscaler_policy(cluster_name: str) -> str:
    """Describe anything; scale and terminate only the groups tagged as this cluster's."""
    return policy_json(
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
                "eks:DescribeNodegroup",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ScaleOwnedGroups",
            "Effect": "Allow",
            "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
        },
    )


def autoscaler_values(cluster_name: str, region: str, image_tag: str | None) -> dict[str, Any]:
    """Values of the cluster-autoscaler chart (keys of its values.yaml at the pinned
    version): auto-discovery of this cluster's node groups, the image of the cluster's
    minor version, on the system nodes."""
    values: dict[str, Any] = {
        "autoDiscovery": {"clusterName": cluster_name},
        "awsRegion": region,
        "rbac": {"serviceAccount": {"name": SERVICE_ACCOUNT}},
        "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste", "scale-down-unneeded-time": "5m"},
        "nodeSelector": dict(SYSTEM_NODE_LABELS),
    }
    if image_tag is not None:
        values["image"] = {"repository": versions.CLUSTER_AUTOSCALER_IMAGE, "tag": image_tag}
    return values


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    """Arguments of :class:`ClusterAutoscaler`."""

    region: str
    """AWS region of the cluster."""
    cluster_name: str
    """The EKS cluster name (auto-discovery, policy condition)."""
    cluster: aws.eks.Cluster
    """The EKS cluster."""
    image_tag: str | None = None
    """cluster-autoscaler image tag, of the cluster's Kubernetes minor version (None: the
    chart's own)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the Helm release waits for (nodes to run on, the Pod Identity agent)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the AWS children."""


class ClusterAutoscaler(pulumi.ComponentResource):
    """cluster-autoscaler in one cluster. Give it the cluster's Kubernetes provider
    (``opts.providers``)."""

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:cluster:ClusterAutoscaler", name, None, opts)
        former_parent = opts.parent if opts else None
        identity = pod_identity(
            name,
            cluster_name=args.cluster.name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policies={"autoscaling": cluster_autoscaler_policy(args.cluster_name)},
            tags=args.tags,
            opts=child_options(self, former_parent),
        )
        helm_release(
            name,
            release="cluster-autoscaler",
            chart=versions.CLUSTER_AUTOSCALER,
            namespace=NAMESPACE,
            values=autoscaler_values(args.cluster_name, args.region, args.image_tag),
            opts=child_options(self, former_parent, depends_on=[*args.depends_on, *identity.ready]),
        )
        self.role_arn = identity.role.role.arn
        self.register_outputs({"roleArn": self.role_arn})
