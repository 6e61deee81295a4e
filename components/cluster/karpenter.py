""":class:`Karpenter`: the controller (Helm, Pod Identity, an SQS interruption queue fed by
EventBridge), the role and access entry of the nodes it launches, an ``EC2NodeClass`` with a
pinned AL2023 AMI, and one ``NodePool`` per GPU pool that scales from zero."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
from components.iam import policy_json
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
}
"""EventBridge patterns of the events Karpenter handles from its interruption queue."""


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


def karpenter_controller_policy(
    cluster_name: str, cluster_arn: str, region: str, queue_arn: str, node_role_arn: str
) -> str:
    """Least-privilege controller policy (after the Karpenter reference policy): launches
    and terminates only instances tagged for this cluster, passes only the node role."""
    owned = {"StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"}}
    request_owned = {"StringEquals": {f"aws:RequestTag/kubernetes.io/cluster/{cluster_name}": "owned"}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadOnly",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
                "pricing:GetProducts",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Sid": "LaunchScopedToCluster",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Resource": [
                f"arn:aws:ec2:{region}:*:fleet/*",
                f"arn:aws:ec2:{region}:*:instance/*",
                f"arn:aws:ec2:{region}:*:volume/*",
                f"arn:aws:ec2:{region}:*:network-interface/*",
                f"arn:aws:ec2:{region}:*:launch-template/*",
                f"arn:aws:ec2:{region}:*:spot-instances-request/*",
            ],
            "Condition": request_owned,
        },
        {
            "Sid": "LaunchFromSharedResources",
            "Effect": "Allow",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Resource": [
                f"arn:aws:ec2:{region}::image/*",
                f"arn:aws:ec2:{region}::snapshot/*",
                f"arn:aws:ec2:{region}:*:security-group/*",
                f"arn:aws:ec2:{region}:*:subnet/*",
                f"arn:aws:ec2:{region}:*:launch-template/*",
            ],
        },
        {
            "Sid": "TagOnLaunch",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": [f"arn:aws:ec2:{region}:*:{kind}/*" for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")],
            "Condition": {**request_owned, "StringEquals": {**request_owned["StringEquals"], "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]}},
        },
        {
            "Sid": "TerminateOwned",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate", "ec2:CreateTags"],
            "Resource": [f"arn:aws:ec2:{region}:*:instance/*", f"arn:aws:ec2:{region}:*:launch-template/*"],
            "Condition": owned,
        },
        {"Sid": "PassNodeRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": node_role_arn,
         "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
        {
            "Sid": "ManageInstanceProfiles",
            "Effect": "Allow",
            "Action": [
                "iam:CreateInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:ListInstanceProfiles",
            ],
            "Resource": "arn:aws:iam::*:instance-profile/*",
        },
        {"Sid": "ReadAmiParameters", "Effect": "Allow", "Action": "ssm:GetParameter", "Resource": f"arn:aws:ssm:{region}::parameter/aws/service/*"},
        {"Sid": "DescribeCluster", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": cluster_arn},
        {
            "Sid": "InterruptionQueue",
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            "Resource": queue_arn,
        },
    ]
    return policy_json(*statements)


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
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
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
    """GPU pools that scale from zero: one NodePool each."""
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
        found += [f"KarpenterArgs.pools[{p.name}].min_nodes: Karpenter has no minimum; warm pools are node groups" for p in self.pools if p.min_nodes]
        if self.replicas < 1:
            found.append(f"KarpenterArgs.replicas: must be >= 1 (got {self.replicas})")
        if found:
            raise ValueError("invalid KarpenterArgs:\n  " + "\n  ".join(found))


class Karpenter(pulumi.ComponentResource):
    """Karpenter in one cluster, with a NodePool per GPU pool. Give it the cluster's
    Kubernetes provider (``opts.providers``)."""

    node_role_arn: pulumi.Output[str]
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
        aws.sqs.QueuePolicy(
            f"{name}-interruptions", queue_url=queue.url, policy=queue.arn.apply(interruption_queue_policy), opts=child()
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{event}",
                description=f"Karpenter interruption handling for {args.cluster_name}: {event}",
                event_pattern=json.dumps(pattern),
                tags=name_tags(args.tags, f"{name}-{event}"),
                opts=child(),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{event}", rule=rule.name, arn=queue.arn, target_id="karpenter-interruption-queue", opts=child()
            )
        policy = pulumi.Output.all(args.cluster.arn, queue.arn, nodes.role.arn).apply(
            lambda v: karpenter_controller_policy(args.cluster_name, v[0], args.region, v[1], v[2])
        )
        pod_identity(
            name,
            cluster_name=args.cluster.name,
            namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=policy,
            tags=args.tags,
            opts=child(),
        )
        # The nodes Karpenter launches join through an EC2_LINUX access entry for their role.
        aws.eks.AccessEntry(
            f"{name}-nodes",
            cluster_name=args.cluster.name,
            principal_arn=nodes.role.arn,
            type="EC2_LINUX",
            opts=child(depends_on=list(nodes.attachments)),
        )
        release = helm_release(
            name,
            release="karpenter",
            chart=versions.KARPENTER,
            namespace=NAMESPACE,
            values={
                "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue.name},
                "serviceAccount": {"name": SERVICE_ACCOUNT},
                "replicas": args.replicas,
                "nodeSelector": dict(SYSTEM_NODE_LABELS),
                "controller": {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
            },
            opts=child(depends_on=list(args.controller_depends_on)),
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
            opts=child(former_name(name, "karpenter", f"nodeclass-{NODE_CLASS}"), depends_on=[release]),
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
        self.interruption_queue_name = queue.name
        self.node_pool_names = [pool.name for pool in args.pools]
        self.register_outputs(
            {
                "nodeRoleArn": self.node_role_arn,
                "interruptionQueueName": self.interruption_queue_name,
                "nodePoolNames": self.node_pool_names,
            }
        )
