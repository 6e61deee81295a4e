""":class:`GpuCluster`: the EKS control plane, its access entries, add-ons and system node
group, and the parts that give it GPU capacity (:class:`Karpenter`, :class:`GpuNodeGroup`,
:class:`ClusterAutoscaler`) and make GPUs usable (:class:`GpuSoftware`); or, for an
existing cluster, only the GPU software."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

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
from components.cluster.bastion import ApiBastion, ApiBastionArgs
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
from components.kms import account_key, key_policy, log_group_key
from components.monitoring import EksCluster, Monitored
from components.naming import TYPE_PREFIX, name_tags
from components.pod_identity import pod_identity_role

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str, tunnel_port: int | None = None) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (no static credentials).
    With ``tunnel_port`` it talks to ``https://127.0.0.1:<port>`` (an SSM port-forwarding
    tunnel to the endpoint) and still checks the certificate against the endpoint's name."""
    server: dict[str, str] = {"server": endpoint, "certificate-authority-data": ca_data}
    if tunnel_port is not None:
        host = urlsplit(endpoint).netloc.rsplit("@", 1)[-1].split(":", 1)[0] or endpoint
        server = {**server, "server": f"https://127.0.0.1:{tunnel_port}", "tls-server-name": host}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": server}],
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


@dataclass(frozen=True)
class PoolCapacity:
    """What carries a GPU pool's nodes: managed node groups (each with whether
    cluster-autoscaler scales it) and the pools Karpenter launches for."""

    node_groups: tuple[tuple[GpuPoolArgs, bool], ...]
    karpenter_pools: tuple[GpuPoolArgs, ...]


def pool_capacity(pools: Sequence[GpuPoolArgs], capacity_provider: str) -> PoolCapacity:
    """With Karpenter every pool bursts through a NodePool from zero, and a warm pool keeps
    its ``min_nodes`` in a fixed-size node group (Karpenter keeps no minimum), so every pool
    reaches its ``max_nodes``; with cluster-autoscaler each pool is one node group it scales
    between ``min_nodes`` and ``max_nodes``."""
    if capacity_provider == "managedNodeGroups":
        return PoolCapacity(tuple((pool, True) for pool in pools), ())
    bases = tuple((base, False) for pool in pools if (base := pool.warm_base()) is not None)
    bursts = tuple(burst for pool in pools if (burst := pool.burst()) is not None)
    return PoolCapacity(bases, bursts)


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
    api_bastion_id: pulumi.Output[str]
    karpenter_role_name: pulumi.Output[str]
    monitoring: tuple[Monitored, ...]


class GpuCluster(pulumi.ComponentResource):
    """An EKS cluster with GPU capacity (or the GPU software on an existing cluster). Give it
    the region's AWS provider (``opts.providers``); ``k8s_provider`` is the cluster's
    Kubernetes provider for the components that deploy into it."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    node_role_arns: pulumi.Output[list[str]]
    api_bastion_id: pulumi.Output[str]
    """The SSM tunnel bastion's instance id (empty without one)."""
    karpenter_role_name: pulumi.Output[str]
    """The role of Karpenter's controller, which launches the GPU instances (empty without
    Karpenter: managed node groups grow through EC2 Auto Scaling's service-linked role)."""
    monitoring: tuple[Monitored, ...]
    """What the alerting watches here (:mod:`components.monitoring`): a created cluster's
    nodes and Karpenter's interruption queue; nothing of a cluster brought as it is."""
    k8s_provider: k8s.Provider

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:cluster:GpuCluster", name, None, opts)
        if isinstance(args.cluster, ExistingClusterArgs):
            access = self._existing(name, args, args.cluster)
            provider = self._kubernetes_provider(name, access.kubeconfig, depends_on=[])
            node_role_arns: pulumi.Output[list[str]] = pulumi.Output.from_input([])
            bastion_id: pulumi.Output[str] = pulumi.Output.from_input("")
            karpenter_role: pulumi.Output[str] = pulumi.Output.from_input("")
            monitoring: tuple[Monitored, ...] = ()
            software_waits_for: list[pulumi.Resource] = []
        else:
            created = self._create(name, args, args.cluster)
            access, provider, node_role_arns = created.access, created.provider, created.node_role_arns
            bastion_id = created.api_bastion_id
            karpenter_role = created.karpenter_role_name
            monitoring = created.monitoring
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
        self.api_bastion_id = bastion_id
        self.karpenter_role_name = karpenter_role
        self.monitoring = monitoring
        self.k8s_provider = provider
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "oidcIssuer": self.oidc_issuer,
                "kubeconfig": self.kubeconfig,
                "nodeRoleArns": self.node_role_arns,
                "apiBastionId": self.api_bastion_id,
                "karpenterRoleName": self.karpenter_role_name,
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
        pins = versions.pins_for(spec.kubernetes_version)
        addons = {
            addon: self._addon(name, cluster, spec, addon, depends_on=[]) for addon in versions.EKS_NODE_ADDONS
        }
        # What deploys reach the API server through and are authorised by: the Kubernetes
        # provider depends on all of it, so pulumi destroy removes every in-cluster resource
        # before it takes any of it away.
        deploy_paths: list[pulumi.Resource] = [*self._admin_entries(name, cluster, spec.admin_role_arns, "admin")]
        if spec.access.ci_role_arn is not None:
            deploy_paths += self._admin_entries(name, cluster, [spec.access.ci_role_arn], "ci")
        runner_rules, bastion = self._api_paths(name, args, spec, cluster)
        deploy_paths += [*runner_rules, *([bastion] if bastion is not None else [])]

        # Managed node groups get their access entry from EKS; Karpenter's nodes use a role of
        # their own with an explicit EC2_LINUX entry (one principal cannot have both).
        nodes = node_role(f"{name}-node", tags=args.tags, opts=self._child())
        placement = NodePlacement(
            cluster=cluster,
            cluster_name=args.cluster_name,
            node_role_arn=nodes.role.arn,
            kubernetes_version=spec.kubernetes_version,
            subnet_ids=spec.private_subnet_ids,
            tags=args.tags,
            launch_tags=args.launch_tags,
        )
        release = pins.node_release if pins is not None else None
        # Nodes need the VPC CNI to get pod IPs and turn Ready (and keep it until they are gone).
        nodes_wait_for = [*nodes.attachments, addons["vpc-cni"]]
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
                release_version=release,
            ),
            placement,
            opts=self._child(),
            depends_on=nodes_wait_for,
        ).node_group
        addons["coredns"] = self._addon(name, cluster, spec, "coredns", depends_on=[system])
        ebs_csi = pod_identity_role(
            f"{name}-ebs-csi", managed_policy_arns=[EBS_CSI_POLICY], tags=args.tags, opts=self._child()
        )
        addons["aws-ebs-csi-driver"] = self._addon(
            name,
            cluster,
            spec,
            "aws-ebs-csi-driver",
            depends_on=[system, addons["eks-pod-identity-agent"], *ebs_csi.grants],
            pod_identity_associations=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=ebs_csi.role.arn, service_account=EBS_CSI_SERVICE_ACCOUNT)
            ],
        )

        access = ClusterAccess(
            cluster_name=cluster.name,
            endpoint=cluster.endpoint,
            oidc_issuer=cluster.identities[0].oidcs[0].issuer,
            kubeconfig=pulumi.Output.secret(
                pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                    lambda v: kubeconfig(v[0], v[1], v[2], args.region, _tunnel_port(spec))
                )
            ),
        )
        provider = self._kubernetes_provider(name, access.kubeconfig, depends_on=[system, *deploy_paths])
        in_cluster = pulumi.ResourceOptions(parent=self, providers={"kubernetes": provider})
        controllers_wait_for = [system, addons["eks-pod-identity-agent"]]

        capacity = pool_capacity(args.gpu_pools, spec.capacity_provider)
        for pool, autoscaled in capacity.node_groups:
            GpuNodeGroup(
                f"{name}-gpu-{pool.name}",
                GpuNodeGroupArgs(
                    pool=pool, placement=placement, autoscaled=autoscaled, release_version=release, depends_on=nodes_wait_for
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        node_role_arns: list[pulumi.Output[str]] = [nodes.role.arn]
        karpenter_role: pulumi.Output[str] = pulumi.Output.from_input("")
        monitoring: list[Monitored] = [EksCluster(key="eks", cluster_name=cluster.name)]
        if spec.capacity_provider == "karpenter":
            karpenter = Karpenter(
                f"{name}-karpenter",
                KarpenterArgs(
                    region=args.region,
                    cluster_name=args.cluster_name,
                    cluster=cluster,
                    pools=capacity.karpenter_pools,
                    replicas=spec.karpenter_replicas,
                    consolidate_after=spec.consolidate_after,
                    controller_depends_on=controllers_wait_for,
                    tags=args.tags,
                    launch_tags=args.launch_tags,
                ),
                opts=in_cluster,
            )
            node_role_arns.append(karpenter.node_role_arn)
            karpenter_role = karpenter.controller_role_name
            monitoring += karpenter.monitoring
        elif capacity.node_groups:
            ClusterAutoscaler(
                f"{name}-cluster-autoscaler",
                ClusterAutoscalerArgs(
                    region=args.region,
                    cluster_name=args.cluster_name,
                    cluster=cluster,
                    image_tag=pins.cluster_autoscaler_tag if pins is not None else None,
                    depends_on=controllers_wait_for,
                    tags=args.tags,
                ),
                opts=in_cluster,
            )
        bastion_id = bastion.instance_id if bastion is not None else pulumi.Output.from_input("")
        return _Created(access, provider, pulumi.Output.all(*node_role_arns), system, bastion_id, karpenter_role, tuple(monitoring))

    def _control_plane(self, name: str, args: GpuClusterArgs, spec: EksClusterArgs) -> aws.eks.Cluster:
        """The EKS cluster: private endpoint (public only to the listed ranges), Secrets
        encrypted with a rotating KMS key that has a key policy, every control-plane log type
        to a log group (encrypted with a key of its own when asked), an OIDC provider, API
        access entries."""
        tags = args.tags
        key = account_key(
            f"{name}-secrets",
            alias=f"{args.cluster_name}-eks-secrets",
            description=f"EKS secrets envelope encryption for {args.cluster_name}",
            policy=lambda account, partition: key_policy(account, partition),
            tags=tags,
            parent=self,
        )
        log_group_name = f"/aws/eks/{args.cluster_name}/cluster"
        logs_key = (
            log_group_key(
                f"{name}-control-plane-key",
                alias=f"{args.cluster_name}-control-plane-logs",
                region=args.region,
                log_group=log_group_name,
                tags=tags,
                parent=self,
                retain_on_delete=spec.retain_logs,
            )
            if spec.encrypt_logs
            else None
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=log_group_name,
            retention_in_days=spec.log_retention_days,
            kms_key_id=logs_key.arn if logs_key is not None else None,
            tags=name_tags(tags, f"{name}-control-plane"),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=spec.retain_logs or None),
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
        public = bool(spec.access.public_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=spec.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=spec.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(spec.access.public_cidrs) if public else None,
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

    def _api_paths(
        self, name: str, args: GpuClusterArgs, spec: EksClusterArgs, cluster: aws.eks.Cluster
    ) -> tuple[list[aws.vpc.SecurityGroupIngressRule], ApiBastion | None]:
        """The private ways deploys reach the API server: HTTPS from the runners' ranges
        (each rule keyed by its range), and the tunnel bastion when there is one."""
        sg_id = cluster.vpc_config.cluster_security_group_id
        rules = [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{_cidr_id(cidr)}",
                security_group_id=sg_id,
                description=f"HTTPS to the API server from deploy runners in {cidr}",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=cidr,
                opts=self._child(),
            )
            for cidr in spec.access.private_cidrs
        ]
        if not spec.access.ssm_bastion:
            return rules, None
        return rules, ApiBastion(
            f"{name}-api-bastion",
            ApiBastionArgs(
                cluster_name=args.cluster_name,
                vpc_id=cluster.vpc_config.vpc_id,
                subnet_ids=spec.private_subnet_ids,
                cluster_security_group_id=sg_id,
                tags=args.tags,
                launch_tags=args.launch_tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _addon(
        self,
        name: str,
        cluster: aws.eks.Cluster,
        spec: EksClusterArgs,
        addon: str,
        depends_on: Sequence[pulumi.Resource],
        pod_identity_associations: Sequence[aws.eks.AddonPodIdentityAssociationArgs] | None = None,
    ) -> aws.eks.Addon:
        """An EKS managed add-on at the build pinned for the cluster's version, or AWS's
        default build for that version when none is pinned."""
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            addon_version=versions.addon_version(addon, spec.kubernetes_version, self),
            pod_identity_associations=list(pod_identity_associations) if pod_identity_associations else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=self._child(depends_on),
        )

    def _admin_entries(
        self, name: str, cluster: aws.eks.Cluster, role_arns: Sequence[str], kind: str
    ) -> list[aws.eks.AccessPolicyAssociation]:
        """Cluster-admin for each role, keyed by the role (:func:`admin_entry_id`), so adding or
        removing one replaces no other. Admin entries are aliased to the name they had when
        entries were keyed by their position in the list."""
        associations = []
        for index, arn in enumerate(role_arns):
            entry_name = f"{name}-{kind}-{admin_entry_id(arn)}"
            aliases = [pulumi.Alias(name=f"{name}-admin-{index}")] if kind == "admin" else []
            entry = aws.eks.AccessEntry(
                entry_name,
                cluster_name=cluster.name,
                principal_arn=arn,
                type="STANDARD",
                opts=pulumi.ResourceOptions(parent=self, aliases=aliases),
            )
            associations.append(
                aws.eks.AccessPolicyAssociation(
                    entry_name,
                    cluster_name=cluster.name,
                    principal_arn=arn,
                    policy_arn=CLUSTER_ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[entry], aliases=aliases),
                )
            )
        return associations


def _tunnel_port(spec: EksClusterArgs) -> int | None:
    return spec.access.tunnel_local_port if spec.access.ssm_bastion else None


def _cidr_id(cidr: str) -> str:
    """A CIDR as a name part: ``10.100.0.0/24`` -> ``10-100-0-0-24``."""
    return re.sub(r"[./]", "-", cidr)
