""":class:`Karpenter`: the controller (Helm, with its CRDs from the ``karpenter-crd`` chart,
Pod Identity, an SQS interruption queue fed by EventBridge), the role and access entry of
the nodes it launches, an ``EC2NodeClass`` with a pinned AL2023 AMI, and one ``NodePool``
per GPU pool for what the pool launches above its kept minimum."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.cluster.args import GpuPoolArgs
from components.cluster.moved import child_options, former_name
from components.cluster.nodes import SYSTEM_NODE_LABELS, gpu_node_labels, node_role
from components.helm import helm_release
from components.iam import deny_without_tls, policy_json
from components.monitoring import Monitored, Queue
from components.naming import TYPE_PREFIX, name_tags
from components.pod_identity import pod_identity
from core import catalog, gpu_pool

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
NODE_CLASS = "gpu"
"""Name of the EC2NodeClass every GPU NodePool launches from."""

INTERRUPTION_EVENTS = {
    "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
    "capacity-reservation": {"source": ["aws.ec2"], "detail-type": ["EC2 Capacity Reservation Instance Interruption Warning"]},
}
"""EventBridge patterns of the events Karpenter handles from its interruption queue (the
reference template's rules at the pinned version)."""
CONTROLLER_POLICIES = ("node-lifecycle", "iam-integration", "eks-integration", "interruption", "resource-discovery")
"""The controller's inline policies, named after the reference template's managed policies."""


# ----------------------------------------------------------------------------- pure parts


def pool_limits(pool: GpuPoolArgs) -> dict[str, str]:
    """Karpenter limits that cap a pool at max_nodes of its largest instance type."""
    types = [catalog.instance_types()[n] for n in pool.instance_types]
    return {
        gpu_pool.GPU_RESOURCE: str(pool.max_gpus),
        "cpu": str(pool.max_nodes * max(t.vcpu for t in types)),
        "memory": f"{int(pool.max_nodes * max(t.memory_gib for t in types))}Gi",
    }


def node_pool_manifest(pool: GpuPoolArgs, node_class: str, consolidate_after: str) -> dict[str, Any]:
    """The Karpenter ``NodePool`` (karpenter.sh/v1) of a GPU pool."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": gpu_pool.node_pool_metadata(pool.name, pool.min_nodes, pool.max_nodes),
        "spec": {
            "template": {
                "metadata": {"labels": gpu_node_labels(pool)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
                    "requirements": [
                        *gpu_pool.capacity_requirements(pool.instance_types, pool.capacity_type),
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "taints": [dict(gpu_pool.GPU_TAINT)],
                    "expireAfter": "720h",
                },
            },
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": consolidate_after,
                # Never disrupt more than one GPU node at a time for consolidation.
                "budgets": [{"nodes": "1"}],
            },
            "limits": pool_limits(pool),
        },
    }


def ec2_node_class_manifest(
    name: str, cluster_name: str, node_role: str, disk_gib: int = 200, launch_tags: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Karpenter ``EC2NodeClass`` (karpenter.k8s.aws/v1) of the GPU pools. ``launch_tags``
    go on every instance and volume Karpenter launches (provider default tags do not reach them)."""
    discovery = {"karpenter.sh/discovery": cluster_name}
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": name},
        "spec": {
            "role": node_role,
            "amiSelectorTerms": [{"alias": versions.GPU_AMI_ALIAS}],
            "subnetSelectorTerms": [{"tags": discovery}],
            "securityGroupSelectorTerms": [{"tags": discovery}],
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {"volumeSize": f"{disk_gib}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True},
                }
            ],
            "tags": {**(launch_tags or {}), **discovery, "llmops.io/cluster": cluster_name},
        },
    }


def _arn_parts(cluster_arn: str) -> tuple[str, str]:
    """(partition, account) of an EKS cluster ARN."""
    parts = cluster_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"{cluster_arn!r} is not an EKS cluster ARN")
    return parts[1], parts[4]


def karpenter_controller_policies(
    cluster_name: str, cluster_arn: str, region: str, queue_arn: str, node_role_arn: str
) -> dict[str, str]:
    """The controller's policies, statement for statement those of Karpenter's reference
    template at the pinned version (aws/karpenter-provider-aws v1.14.1,
    website/content/en/docs/getting-started/getting-started-with-karpenter/cloudformation.yaml):
    launches, tags and terminations only of resources tagged for this cluster, one of its
    NodePools and ``eks:eks-cluster-name``; instance profiles only for its EC2NodeClasses in
    this region; only the node role passed to EC2. One document per upstream managed policy
    (the zonal-shift policy is left out: zonal shift is not enabled). Pricing is read in its
    own statement without a region condition: the Pricing API answers from us-east-1 and
    eu-central-1 only."""
    partition, account = _arn_parts(cluster_arn)
    ec2 = f"arn:{partition}:ec2:{region}"
    profiles = f"arn:{partition}:iam::{account}:instance-profile/*"
    cluster_tag = f"kubernetes.io/cluster/{cluster_name}"
    launched = ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    request_scoped = {
        "StringEquals": {f"aws:RequestTag/{cluster_tag}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster_name},
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
    }
    resource_scoped = {
        "StringEquals": {f"aws:ResourceTag/{cluster_tag}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }
    node_lifecycle = policy_json(
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [
                f"{ec2}::image/*",
                f"{ec2}::snapshot/*",
                f"{ec2}:*:security-group/*",
                f"{ec2}:*:subnet/*",
                f"{ec2}:*:capacity-reservation/*",
                f"{ec2}:*:placement-group/*",
            ],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": resource_scoped,
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:{kind}/*" for kind in launched],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": request_scoped,
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:{kind}/*" for kind in launched],
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {
                    **request_scoped["StringEquals"],
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": request_scoped["StringLike"],
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                **resource_scoped,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": resource_scoped,
        },
    )
    profile_owned = {
        f"aws:ResourceTag/{cluster_tag}": "owned",
        "aws:ResourceTag/topology.kubernetes.io/region": region,
    }
    profile_request = {
        f"aws:RequestTag/{cluster_tag}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
        "aws:RequestTag/topology.kubernetes.io/region": region,
    }
    iam_integration = policy_json(
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {
                "StringEquals": profile_request,
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {**profile_owned, **profile_request},
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            "Condition": {
                "StringEquals": profile_owned,
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
    )
    eks_integration = policy_json(
        {"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow", "Resource": cluster_arn, "Action": "eks:DescribeCluster"}
    )
    interruption = policy_json(
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        }
    )
    resource_discovery = policy_json(
        {
            "Sid": "AllowRegionalReadActions",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribePlacementGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            ],
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "AllowSSMReadActions",
            "Effect": "Allow",
            "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
            "Action": "ssm:GetParameter",
        },
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
        {"Sid": "AllowUnscopedInstanceProfileListAction", "Effect": "Allow", "Resource": "*", "Action": "iam:ListInstanceProfiles"},
        {
            "Sid": "AllowInstanceProfileReadActions",
            "Effect": "Allow",
            "Resource": profiles,
            "Action": "iam:GetInstanceProfile",
        },
    )
    return {
        "node-lifecycle": node_lifecycle,
        "iam-integration": iam_integration,
        "eks-integration": eks_integration,
        "interruption": interruption,
        "resource-discovery": resource_discovery,
    }


def interruption_queue_policy(queue_arn: str) -> str:
    """Lets EventBridge deliver to the interruption queue; refuses anything but TLS."""
    return policy_json(
        {
            "Sid": "EventBridgeWrite",
            "Effect": "Allow",
            "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
        },
        deny_without_tls("sqs:*", queue_arn, sid="DenyHTTP"),
    )


# ----------------------------------------------------------------------------- component


@dataclass(frozen=True)
class KarpenterArgs:
    """Arguments of :class:`Karpenter`."""

    region: str
    """AWS region of the cluster (scopes the controller's policy)."""
    cluster_name: str
    """The EKS cluster name (settings, discovery tags, policy conditions)."""
    cluster: aws.eks.Cluster
    """The EKS cluster Karpenter runs in."""
    pools: Sequence[GpuPoolArgs] = ()
    """What Karpenter launches for each GPU pool: everything above the pool's kept minimum,
    from zero (:meth:`GpuPoolArgs.burst`); one NodePool each."""
    replicas: int = 2
    """Controller replicas."""
    consolidate_after: str = "5m"
    """How long a node stays empty or underused before it is consolidated."""
    node_disk_gib: int = 200
    """Root volume of every node (the EC2NodeClass)."""
    controller_depends_on: Sequence[pulumi.Resource] = ()
    """What the controller's Helm release waits for (nodes to run on, the Pod Identity agent)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the AWS children."""
    launch_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every instance and volume Karpenter launches."""

    def validate(self) -> None:
        found = [p for pool in self.pools for p in pool.problems(f"KarpenterArgs.pools[{pool.name}]")]
        found += [
            f"KarpenterArgs.pools[{p.name}].min_nodes: Karpenter keeps no minimum; pass the pool's burst "
            "(GpuPoolArgs.burst()) and keep its minimum in a node group"
            for p in self.pools
            if p.min_nodes
        ]
        if self.replicas < 1:
            found.append(f"KarpenterArgs.replicas: must be >= 1 (got {self.replicas})")
        if found:
            raise ValueError("invalid KarpenterArgs:\n  " + "\n  ".join(found))


def _document(key: str) -> Callable[[Mapping[str, str]], str]:
    """Picks one document out of :func:`karpenter_controller_policies`' result."""
    return lambda documents: documents[key]


def controller_values(cluster_name: str, queue_name: pulumi.Input[str], replicas: int) -> dict[str, Any]:
    """Values of the Karpenter chart (keys of its values.yaml at the pinned version): the
    controller runs on the system nodes under the Pod Identity service account."""
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {"name": SERVICE_ACCOUNT},
        "replicas": replicas,
        "nodeSelector": dict(SYSTEM_NODE_LABELS),
        "controller": {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
    }


class Karpenter(pulumi.ComponentResource):
    """Karpenter in one cluster, with a NodePool per GPU pool. Give it the cluster's
    Kubernetes provider (``opts.providers``).

    Dependencies make ``pulumi destroy`` leave nothing behind: the NodePools go first, while
    the controller still runs and terminates their nodes (NodeClaim finalizers); then the
    EC2NodeClass, whose finalizer removes the instance profiles and launch templates
    Karpenter created; then the controller, its Pod Identity and queue; the node role last."""

    node_role_arn: pulumi.Output[str]
    controller_role_name: pulumi.Output[str]
    """The controller's role: the one that launches the cluster's GPU instances."""
    interruption_queue_name: pulumi.Output[str]
    node_pool_names: list[str]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:cluster:Karpenter", name, None, opts)
        former_parent = opts.parent if opts else None

        def child(renamed_from: str | None = None, **kwargs: Any) -> pulumi.ResourceOptions:
            return child_options(self, former_parent, renamed_from, **kwargs)

        nodes = node_role(f"{name}-node", tags=args.tags, opts=child())
        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=f"{args.cluster_name}-karpenter"[:80],
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=name_tags(args.tags, f"{name}-interruptions"),
            opts=child(),
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-interruptions", queue_url=queue.url, policy=queue.arn.apply(interruption_queue_policy), opts=child()
        )
        event_targets = []
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                description=f"Karpenter interruption handling for {args.cluster_name}: {event}",
                event_pattern=json.dumps(pattern),
                tags=name_tags(args.tags, f"{name}-{event}"),
                opts=child(),
            )
            event_targets.append(
                aws.cloudwatch.EventTarget(
                    f"{name}-{event}", rule=rule.name, arn=queue.arn, target_id="karpenter-interruption-queue", opts=child()
                )
            )
        policies = pulumi.Output.all(args.cluster.arn, queue.arn, nodes.role.arn).apply(
            lambda v: karpenter_controller_policies(args.cluster_name, v[0], args.region, v[1], v[2])
        )
        identity = pod_identity(
            name,
            cluster_name=args.cluster.name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policies={key: policies.apply(_document(key)) for key in CONTROLLER_POLICIES},
            tags=args.tags,
            opts=child(),
        )
        # The nodes Karpenter launches join through an EC2_LINUX access entry for their role.
        node_entry = aws.eks.AccessEntry(
            f"{name}-nodes",
            cluster_name=args.cluster.name,
            principal_arn=nodes.role.arn,
            type="EC2_LINUX",
            opts=child(depends_on=list(nodes.attachments)),
        )
        # CRDs from their own chart: Helm installs a chart's crds/ once and never upgrades them.
        crds = helm_release(
            f"{name}-crd",
            release="karpenter-crd",
            chart=versions.KARPENTER_CRD,
            namespace=NAMESPACE,
            values={},
            opts=child(depends_on=list(args.controller_depends_on)),
        )
        release = helm_release(
            name,
            release="karpenter",
            chart=versions.KARPENTER,
            namespace=NAMESPACE,
            values=controller_values(args.cluster_name, queue.name, args.replicas),
            skip_crds=True,
            opts=child(depends_on=[*args.controller_depends_on, crds, *identity.ready, queue_policy, *event_targets]),
        )
        node_class = k8s.apiextensions.CustomResource(
            f"{name}-nodeclass-{NODE_CLASS}",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": NODE_CLASS},
            spec=nodes.role.name.apply(
                lambda role: ec2_node_class_manifest(
                    NODE_CLASS, args.cluster_name, role, args.node_disk_gib, args.launch_tags
                )["spec"]
            ),
            opts=child(
                former_name(name, "karpenter", f"nodeclass-{NODE_CLASS}"),
                depends_on=[release, node_entry, *nodes.attachments],
            ),
        )
        for pool in args.pools:
            manifest = node_pool_manifest(pool, NODE_CLASS, args.consolidate_after)
            k8s.apiextensions.CustomResource(
                f"{name}-nodepool-{pool.name}",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=child(former_name(name, "karpenter", f"nodepool-{pool.name}"), depends_on=[release, node_class]),
            )
        self.node_role_arn = nodes.role.arn
        self.controller_role_name = identity.role.role.name
        self.interruption_queue_name = queue.name
        self.monitoring: tuple[Monitored, ...] = (Queue(key="karpenter-interruptions", queue_name=queue.name, consumer="Karpenter"),)
        """What the alerting watches here: the interruption queue Karpenter must keep
        draining (:mod:`components.monitoring`)."""
        self.node_pool_names = [pool.name for pool in args.pools]
        self.register_outputs(
            {
                "nodeRoleArn": self.node_role_arn,
                "controllerRoleName": self.controller_role_name,
                "interruptionQueueName": self.interruption_queue_name,
                "nodePoolNames": self.node_pool_names,
            }
        )
