""":class:`GpuCluster`: the EKS control plane, its access entries, add-ons and system node
group, and the parts that give it GPU capacity (:class:`Karpenter`, :class:`GpuNodeGroup`,
:class:`ClusterAutoscaler`) and make GPUs usable (:class:`GpuSoftware`); or, for an
existing cluster, only the GPU software."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.cluster.addons import GpuSoftware, GpuSoftwareArgs
from components.cluster.args import (
    EksClusterArgs,
    ExistingClusterArgs,
    GpuClusterArgs,
    GpuPoolArgs,
    admin_entry_id,
)
from components.cluster.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.cluster.karpenter import Karpenter, KarpenterArgs
from components.cluster.nodes import (
    SYSTEM_NODE_LABELS,
    GpuNodeGroup,
    GpuNodeGroupArgs,
    NodeGroupSpec,
    NodePlacement,
    managed_node_group,
    node_role,
)
from components.iam import assume_role_policy
from components.naming import TYPE_PREFIX, name_tags

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (no static credentials)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


def uses_karpenter(pool: GpuPoolArgs, cluster: EksClusterArgs) -> bool:
    """Karpenter provides scale-from-zero pools; warm pools (min_nodes > 0) need a node group."""
    return cluster.capacity_provider == "karpenter" and pool.min_nodes == 0


@dataclass(frozen=True)
class ClusterAccess:
    """How the rest of the platform reaches a cluster."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """Secret."""


@dataclass(frozen=True)
class _Created:
    access: ClusterAccess
    provider: k8s.Provider
    node_role_arns: pulumi.Output[list[str]]
    system_nodes: aws.eks.NodeGroup


class GpuCluster(pulumi.ComponentResource):
    """An EKS cluster with GPU capacity (or the GPU software on an existing cluster). Give it
    the region's AWS provider (``opts.providers``); ``k8s_provider`` is the cluster's
    Kubernetes provider for the components that deploy into it."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    node_role_arns: pulumi.Output[list[str]]
    k8s_provider: k8s.Provider

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:cluster:GpuCluster", name, None, opts)
        if isinstance(args.cluster, ExistingClusterArgs):
            access = self._existing(name, args, args.cluster)
            provider = self._kubernetes_provider(name, access.kubeconfig, depends_on=[])
            node_role_arns: pulumi.Output[list[str]] = pulumi.Output.from_input([])
            software_waits_for: list[pulumi.Resource] = []
        else:
            created = self._create(name, args, args.cluster)
            access, provider, node_role_arns = created.access, created.provider, created.node_role_arns
            software_waits_for = [created.system_nodes]
        GpuSoftware(
            f"{name}-gpu-software",
            GpuSoftwareArgs(depends_on=software_waits_for),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider}),
        )
        self.cluster_name = access.cluster_name
        self.endpoint = access.endpoint
        self.oidc_issuer = access.oidc_issuer
        self.kubeconfig = access.kubeconfig
        self.node_role_arns = node_role_arns
        self.k8s_provider = provider
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "oidcIssuer": self.oidc_issuer,
                "kubeconfig": self.kubeconfig,
                "nodeRoleArns": self.node_role_arns,
            }
        )

    def _child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _kubernetes_provider(self, name: str, config: pulumi.Input[str], depends_on: Sequence[pulumi.Resource]) -> k8s.Provider:
        return k8s.Provider(f"{name}-k8s", kubeconfig=config, enable_server_side_apply=True, opts=self._child(depends_on))

    # ------------------------------------------------------------------ existing cluster
    def _existing(self, name: str, args: GpuClusterArgs, existing: ExistingClusterArgs) -> ClusterAccess:
        if existing.kubeconfig is not None:
            return ClusterAccess(
                cluster_name=pulumi.Output.from_input(args.cluster_name),
                endpoint=pulumi.Output.from_input(""),
                oidc_issuer=pulumi.Output.from_input(""),
                kubeconfig=pulumi.Output.secret(existing.kubeconfig),
            )
        found = aws.eks.get_cluster_output(name=str(existing.cluster_name), opts=pulumi.InvokeOutputOptions(parent=self))
        return ClusterAccess(
            cluster_name=found.name,
            endpoint=found.endpoint,
            oidc_issuer=found.identities[0].oidcs[0].issuer,
            kubeconfig=pulumi.Output.secret(
                pulumi.Output.all(found.name, found.endpoint, found.certificate_authorities[0].data).apply(
                    lambda v: kubeconfig(v[0], v[1], v[2], args.region)
                )
            ),
        )

    # ------------------------------------------------------------------ created cluster
    def _create(self, name: str, args: GpuClusterArgs, spec: EksClusterArgs) -> _Created:
        cluster = self._control_plane(name, args, spec)
        addons = {addon: self._addon(name, cluster, addon, depends_on=[]) for addon in versions.EKS_NODE_ADDONS}
        self._admin_entries(name, cluster, spec.admin_role_arns)

        # Managed node groups get their access entry from EKS; Karpenter's nodes use a role of
        # their own with an explicit EC2_LINUX entry (one principal cannot have both).
        nodes = node_role(f"{name}-node", tags=args.tags, opts=self._child())
        placement = NodePlacement(
            cluster=cluster,
            cluster_name=args.cluster_name,
            node_role_arn=nodes.role.arn,
            subnet_ids=spec.private_subnet_ids,
            tags=args.tags,
            launch_tags=args.launch_tags,
        )
        system = managed_node_group(
            f"{name}-system",
            "system",
            NodeGroupSpec(
                instance_types=spec.system_nodes.instance_types,
                capacity_type="ON_DEMAND",
                min_size=spec.system_nodes.min_nodes,
                max_size=spec.system_nodes.max_nodes,
                ami_type=versions.SYSTEM_AMI_TYPE,
                disk_gib=spec.system_nodes.disk_gib,
                labels=SYSTEM_NODE_LABELS,
            ),
            placement,
            opts=self._child(),
            depends_on=[*nodes.attachments, addons["vpc-cni"]],
        ).node_group
        for addon in versions.EKS_WORKLOAD_ADDONS:
            addons[addon] = self._addon(name, cluster, addon, depends_on=[system])

        access = ClusterAccess(
            cluster_name=cluster.name,
            endpoint=cluster.endpoint,
            oidc_issuer=cluster.identities[0].oidcs[0].issuer,
            kubeconfig=pulumi.Output.secret(
                pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                    lambda v: kubeconfig(v[0], v[1], v[2], args.region)
                )
            ),
        )
        provider = self._kubernetes_provider(name, access.kubeconfig, depends_on=[system])
        in_cluster = pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider})
        controllers_wait_for = [system, addons["eks-pod-identity-agent"]]

        group_pools = [p for p in args.gpu_pools if not uses_karpenter(p, spec)]
        for pool in group_pools:
            GpuNodeGroup(
                f"{name}-gpu-{pool.name}",
                GpuNodeGroupArgs(pool=pool, placement=placement, depends_on=nodes.attachments),
                opts=pulumi.ResourceOptions(parent=self),
            )
        node_role_arns: list[pulumi.Output[str]] = [nodes.role.arn]
        karpenter_pools = [p for p in args.gpu_pools if uses_karpenter(p, spec)]
        if karpenter_pools or spec.capacity_provider == "karpenter":
            karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(
                    region=args.region,
                    cluster_name=args.cluster_name,
                    cluster=cluster,
                    pools=karpenter_pools,
                    replicas=spec.karpenter_replicas,
                    consolidate_after=spec.consolidate_after,
                    controller_depends_on=controllers_wait_for,
                    tags=args.tags,
                    launch_tags=args.launch_tags,
                ),
                opts=in_cluster,
            )
            node_role_arns.append(karpenter.node_role_arn)
        if spec.capacity_provider == "managedNodeGroups" and group_pools:
            ClusterAutoscaler(
                f"{name}-cluster-autoscaler",
                ClusterAutoscalerArgs(
                    region=args.region,
                    cluster_name=args.cluster_name,
                    cluster=cluster,
                    depends_on=controllers_wait_for,
                    tags=args.tags,
                ),
                opts=in_cluster,
            )
        return _Created(access, provider, pulumi.Output.all(*node_role_arns), system)

    def _control_plane(self, name: str, args: GpuClusterArgs, spec: EksClusterArgs) -> aws.eks.Cluster:
        """The EKS cluster: private endpoint, Secrets encrypted with a rotating KMS key, every
        control-plane log type to a retained log group, an OIDC provider, API access entries."""
        tags = args.tags
        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS secrets envelope encryption for {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=name_tags(tags, f"{name}-secrets"),
            opts=self._child(),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{args.cluster_name}-eks-secrets", target_key_id=key.key_id, opts=self._child())
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=spec.log_retention_days,
            tags=name_tags(tags, f"{name}-control-plane"),
            opts=self._child(),
        )
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=assume_role_policy("eks.amazonaws.com"),
            tags=name_tags(tags, f"{name}-cluster-role"),
            opts=self._child(),
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=self._child(),
        )
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=spec.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=spec.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=spec.endpoint_public_access,
                public_access_cidrs=list(spec.public_access_cidrs) if spec.endpoint_public_access else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=spec.creator_admin
            ),
            bootstrap_self_managed_addons=False,
            deletion_protection=spec.deletion_protection,
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            tags={**name_tags(tags, f"{name}-eks"), "karpenter.sh/discovery": args.cluster_name},
            opts=self._child(depends_on=[log_group, cluster_policy]),
        )
        # Karpenter discovers the security group of its nodes by tag.
        aws.ec2.Tag(
            f"{name}-cluster-sg-discovery",
            resource_id=cluster.vpc_config.cluster_security_group_id,
            key="karpenter.sh/discovery",
            value=args.cluster_name,
            opts=self._child(),
        )
        aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=cluster.identities[0].oidcs[0].issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=name_tags(tags, f"{name}-oidc"),
            opts=self._child(),
        )
        return cluster

    def _addon(self, name: str, cluster: aws.eks.Cluster, addon: str, depends_on: Sequence[pulumi.Resource]) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=self._child(depends_on),
        )

    def _admin_entries(self, name: str, cluster: aws.eks.Cluster, role_arns: Sequence[str]) -> list[aws.eks.AccessPolicyAssociation]:
        """Cluster-admin for each role, keyed by the role (:func:`admin_entry_id`), so adding or
        removing one replaces no other. Each is aliased to the name it had when entries were
        keyed by their position in the list."""
        associations = []
        for index, arn in enumerate(role_arns):
            entry_name = f"{name}-admin-{admin_entry_id(arn)}"
            positional = pulumi.Alias(name=f"{name}-admin-{index}")
            entry = aws.eks.AccessEntry(
                entry_name,
                cluster_name=cluster.name,
                principal_arn=arn,
                type="STANDARD",
                opts=pulumi.ResourceOptions(parent=self, aliases=[positional]),
            )
            associations.append(
                aws.eks.AccessPolicyAssociation(
                    entry_name,
                    cluster_name=cluster.name,
                    principal_arn=arn,
                    policy_arn=CLUSTER_ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[entry], aliases=[positional]),
                )
            )
        return associations
