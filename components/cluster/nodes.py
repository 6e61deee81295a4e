"""Nodes: the EC2 role nodes run as, EKS managed node groups (the system group and warm or
cluster-autoscaled GPU pools) and :class:`GpuNodeGroup`, one GPU pool as a managed node
group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import versions
from components.cluster.args import GpuPoolArgs
from components.cluster.moved import child_options
from components.iam import assume_role_policy
from components.naming import TYPE_PREFIX, name_tags
from core import gpu_pool

NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
"""AWS managed policies every worker node's role needs (those of Karpenter's reference node
role: image pulls only, no registry reads beyond that)."""
SYSTEM_NODE_LABELS = {"llmops.io/pool": "system"}
"""Labels of the system node group; controllers select these nodes."""


@dataclass(frozen=True)
class NodeRole:
    """An EC2 role for worker nodes and the attachments of :data:`NODE_POLICIES`."""

    role: aws.iam.Role
    attachments: tuple[aws.iam.RolePolicyAttachment, ...]


def node_role(prefix: str, *, tags: Mapping[str, str], opts: pulumi.ResourceOptions) -> NodeRole:
    """``{prefix}-role`` with the node policies attached (``{prefix}-<policy name>``)."""
    role = aws.iam.Role(
        f"{prefix}-role",
        assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
        tags=name_tags(tags, f"{prefix}-role"),
        opts=opts,
    )
    attachments = tuple(
        aws.iam.RolePolicyAttachment(f"{prefix}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
        for arn in NODE_POLICIES
    )
    return NodeRole(role, attachments)


@dataclass(frozen=True)
class NodeGroupSpec:
    """What one managed node group runs: instance types, how they are bought, its size range,
    AMI, disk, labels and taints."""

    instance_types: Sequence[str]
    capacity_type: str
    """EKS ``capacityType``: ``ON_DEMAND`` or ``SPOT``."""
    min_size: int
    max_size: int
    ami_type: str
    disk_gib: int
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: Sequence[aws.eks.NodeGroupTaintArgs] = ()
    extra_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the node group only (e.g. cluster-autoscaler discovery)."""
    release_version: str | None = None
    """The AMI release the nodes boot (``<kubernetes patch>-<AMI date>``); None: EKS's newest
    for the cluster's version at creation."""


@dataclass(frozen=True)
class NodePlacement:
    """Where a cluster's managed node groups put their nodes, and how they tag them."""

    cluster: aws.eks.Cluster
    """The EKS cluster the nodes join."""
    cluster_name: str
    """The cluster's name (node group names, cluster-autoscaler discovery)."""
    node_role_arn: pulumi.Input[str]
    """Role of the nodes (EKS gives a node group's role its access entry itself)."""
    kubernetes_version: str
    """The cluster's Kubernetes version, which the node groups run."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets the nodes start in."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the launch templates and node groups."""
    launch_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every instance and volume the groups launch."""


@dataclass(frozen=True)
class ManagedNodeGroup:
    """A node group and the launch template its nodes start from."""

    launch_template: aws.ec2.LaunchTemplate
    node_group: aws.eks.NodeGroup


def managed_node_group(
    resource_name: str,
    role: str,
    spec: NodeGroupSpec,
    placement: NodePlacement,
    *,
    opts: pulumi.ResourceOptions,
    depends_on: Sequence[pulumi.Resource] = (),
) -> ManagedNodeGroup:
    """An EKS managed node group named ``{cluster_name}-{role}`` whose nodes require IMDSv2
    with a hop limit of 1 (pods cannot reach the instance's credentials; they get theirs
    from Pod Identity) and boot from an encrypted gp3 volume; the group and its launch
    template are both named ``resource_name``. The placement's ``launch_tags`` go on every
    instance and volume it launches; the desired size is left to the autoscaler after
    creation."""
    cluster_name = placement.cluster_name
    own_tags = name_tags(placement.tags, resource_name)
    template = aws.ec2.LaunchTemplate(
        resource_name,
        description=f"{role} nodes of {cluster_name}: IMDSv2 only, encrypted gp3 root volume",
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=spec.disk_gib, volume_type="gp3", encrypted="true", delete_on_termination="true"
                ),
            )
        ],
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**placement.launch_tags, **own_tags})
            for kind in ("instance", "volume")
        ],
        update_default_version=True,
        tags=own_tags,
        opts=opts,
    )
    group = aws.eks.NodeGroup(
        resource_name,
        cluster_name=placement.cluster.name,
        node_group_name=f"{cluster_name}-{role}"[:63],
        node_role_arn=placement.node_role_arn,
        subnet_ids=placement.subnet_ids,
        instance_types=list(spec.instance_types),
        capacity_type=spec.capacity_type,
        ami_type=spec.ami_type,
        version=placement.kubernetes_version,
        release_version=spec.release_version,
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=spec.min_size, max_size=spec.max_size, desired_size=spec.min_size),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
        labels=dict(spec.labels),
        taints=list(spec.taints),
        tags={**own_tags, **spec.extra_tags},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(depends_on), ignore_changes=["scalingConfig.desiredSize"])),
    )
    return ManagedNodeGroup(template, group)


def autoscaler_tags(cluster_name: str, pool: GpuPoolArgs) -> dict[str, str]:
    """Tags by which cluster-autoscaler finds a pool's node group and, while it has no node,
    learns the labels, taint and GPUs a new node would have (scale from zero)."""
    template = "k8s.io/cluster-autoscaler/node-template"
    return {
        f"k8s.io/cluster-autoscaler/{cluster_name}": "owned",
        "k8s.io/cluster-autoscaler/enabled": "true",
        **{f"{template}/label/{k}": v for k, v in gpu_node_labels(pool).items()},
        f"{template}/taint/{gpu_pool.GPU_TAINT['key']}": f"{gpu_pool.GPU_TAINT['value']}:{gpu_pool.GPU_TAINT['effect']}",
        f"{template}/resources/{gpu_pool.GPU_RESOURCE}": str(pool.min_gpus_per_node),
    }


def gpu_node_labels(pool: GpuPoolArgs) -> dict[str, str]:
    """The labels of a GPU pool's nodes (:func:`core.gpu_pool.node_labels`)."""
    return gpu_pool.node_labels(pool.name, pool.accelerator_model, pool.labels)


@dataclass(frozen=True)
class GpuNodeGroupArgs:
    """Arguments of :class:`GpuNodeGroup`."""

    pool: GpuPoolArgs
    """The GPU pool the node group runs."""
    placement: NodePlacement
    """The cluster, role, subnets and tags of the nodes."""
    autoscaled: bool = True
    """cluster-autoscaler scales the group (its discovery and node-template tags); False for
    a fixed-size group (min_nodes == max_nodes) beside a Karpenter NodePool."""
    release_version: str | None = None
    """The AMI release of the nodes (see :attr:`NodeGroupSpec.release_version`)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the node group waits for (the node role's policy attachments, the VPC CNI)."""


class GpuNodeGroup(pulumi.ComponentResource):
    """One GPU pool as an EKS managed node group: GPU AMI, the GPU taint and labels, and,
    when cluster-autoscaler scales it, the tags it finds the group by and learns a new node's
    labels, taint and GPUs from (scale from zero)."""

    node_group_name: pulumi.Output[str]
    launch_template_id: pulumi.Output[str]

    def __init__(self, name: str, args: GpuNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = args.pool.problems(f"GpuNodeGroupArgs.pool[{args.pool.name}]")
        if not args.autoscaled and args.pool.min_nodes != args.pool.max_nodes:
            problems.append(
                f"GpuNodeGroupArgs.pool[{args.pool.name}]: a group nothing scales must have min_nodes == max_nodes "
                f"(got {args.pool.min_nodes}..{args.pool.max_nodes}); set autoscaled or pass the pool's warm_base()"
            )
        if problems:
            raise ValueError("invalid GpuNodeGroupArgs:\n  " + "\n  ".join(problems))
        super().__init__(f"{TYPE_PREFIX}:cluster:GpuNodeGroup", name, None, opts)
        pool = args.pool
        taint = gpu_pool.GPU_TAINT
        group = managed_node_group(
            name,
            f"gpu-{pool.name}",
            NodeGroupSpec(
                instance_types=pool.instance_types,
                capacity_type=gpu_pool.node_group_capacity_type(pool.capacity_type),
                min_size=pool.min_nodes,
                max_size=pool.max_nodes,
                ami_type=versions.GPU_AMI_TYPE,
                disk_gib=pool.disk_gib,
                labels=gpu_node_labels(pool),
                taints=[aws.eks.NodeGroupTaintArgs(key=taint["key"], value=taint["value"], effect="NO_SCHEDULE")],
                extra_tags=autoscaler_tags(args.placement.cluster_name, pool) if args.autoscaled else {},
                release_version=args.release_version,
            ),
            args.placement,
            opts=child_options(self, opts.parent if opts else None),
            depends_on=args.depends_on,
        )
        self.node_group_name = group.node_group.node_group_name
        self.launch_template_id = group.launch_template.id
        self.register_outputs({"nodeGroupName": self.node_group_name, "launchTemplateId": self.launch_template_id})
