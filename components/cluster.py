"""``GpuCluster``: one region's EKS cluster with GPU capacity, or an existing cluster.

Created cluster (the default):
  * EKS with a private API endpoint (public only with an allow-list), all control-plane log
    types to a retained log group, envelope encryption of Secrets with a rotating KMS key,
    an OIDC provider for IRSA plus the Pod Identity agent, and access entries (API
    authentication mode, no aws-auth ConfigMap);
  * a small on-demand CPU node group for controllers (IMDSv2 required, encrypted gp3);
  * GPU pools from config: Karpenter (controller via Helm with Pod Identity, SQS
    interruption queue fed by EventBridge, an ``EC2NodeClass`` with a pinned AL2023 AMI and a
    ``NodePool`` per pool: instance types, capacity type, GPU limits, consolidation, the
    ``nvidia.com/gpu`` NoSchedule taint and GPU labels). Karpenter has no minimum size, so
    a pool that keeps nodes warm (minNodes > 0) becomes a managed node group; with
    ``capacityProvider: managedNodeGroups`` every pool is a managed node group scaled by
    cluster-autoscaler (scale from zero through node-template tags);
  * the NVIDIA device plugin and the DCGM exporter (Helm), so GPUs are schedulable and
    their metrics exist for alerting;
  * a Kubernetes provider built from the cluster's outputs, for the components that deploy
    into this region's cluster.

Existing cluster (``cluster.existing``): only the in-cluster parts are created, through a
provider built from the given kubeconfig (secret) or from the named cluster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import versions
from components.iam import assume_role_policy, policy_json
from components.naming import TYPE_PREFIX
from core import catalog
from stacks.config import ClusterConfig, GpuPoolConfig

GPU_TAINT_KEY = "nvidia.com/gpu"
POOL_LABEL = "llmops.io/gpu-pool"
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}


# ----------------------------------------------------------------------------- pure parts


def pool_uses_karpenter(pool: GpuPoolConfig, cluster: ClusterConfig) -> bool:
    """Karpenter provides scale-from-zero pools; warm pools (minNodes > 0) need a node group."""
    return cluster.capacity_provider == "karpenter" and pool.min_nodes == 0


def gpu_labels(pool: GpuPoolConfig) -> dict[str, str]:
    """Node labels of a GPU pool's nodes."""
    spec = catalog.instance_types()[pool.instance_types[0]]
    return {
        POOL_LABEL: pool.name,
        "llmops.io/accelerator": str(spec.accelerator_model),
        "nvidia.com/gpu.present": "true",
        **pool.labels,
    }


def pool_limits(pool: GpuPoolConfig) -> dict[str, str]:
    """Karpenter limits that cap a pool at maxNodes of its largest instance type."""
    types = [catalog.instance_types()[n] for n in pool.instance_types]
    return {
        "nvidia.com/gpu": str(pool.max_gpus),
        "cpu": str(pool.max_nodes * max(t.vcpu for t in types)),
        "memory": f"{int(pool.max_nodes * max(t.memory_gib for t in types))}Gi",
    }


def node_pool_manifest(pool: GpuPoolConfig, node_class: str, environment: str) -> dict[str, Any]:
    """The Karpenter ``NodePool`` (karpenter.sh/v1) of a GPU pool."""
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {
            "name": pool.name,
            "labels": {POOL_LABEL: pool.name},
            "annotations": {
                "llmops.io/min-nodes": str(pool.min_nodes),
                "llmops.io/max-nodes": str(pool.max_nodes),
                POOL_LABEL: pool.name,
            },
        },
        "spec": {
            "template": {
                "metadata": {"labels": gpu_labels(pool)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instance_types)},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [pool.capacity_type]},
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "taints": [{"key": GPU_TAINT_KEY, "value": "true", "effect": "NoSchedule"}],
                    "expireAfter": "720h",
                },
            },
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": "1m" if environment == "dev" else "5m",
                # Never disrupt more than one GPU node at a time for consolidation.
                "budgets": [{"nodes": "1"}],
            },
            "limits": pool_limits(pool),
        },
    }


def ec2_node_class_manifest(
    name: str, cluster_name: str, node_role: str, disk_gib: int = 200, launch_tags: dict[str, str] | None = None
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


def namespace_manifest(name: str) -> dict[str, Any]:
    """A namespace for GPU system software (device plugin and DCGM need privileged pods)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/part-of": "llmops-platform", "pod-security.kubernetes.io/enforce": "privileged"},
        },
    }


INTERRUPTION_EVENTS = {
    "health": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
}


# ----------------------------------------------------------------------------- component


@dataclass(frozen=True)
class GpuClusterArgs:
    """Arguments of :class:`GpuCluster`."""

    region: str
    """AWS region code; must match the provider the component is given."""
    cluster_name: str
    """EKS cluster name (also the Karpenter discovery tag value)."""
    environment: str
    """dev, staging or prod (consolidation timing, deletion protection)."""
    cluster: ClusterConfig
    """Cluster settings from the stack config (version, endpoint access, capacity provider, ...)."""
    gpu_pools: Sequence[GpuPoolConfig] = ()
    """GPU pools of the region."""
    vpc_id: pulumi.Input[str] | None = None
    """VPC of the cluster (not needed for an existing cluster)."""
    private_subnet_ids: pulumi.Input[Sequence[str]] | None = None
    """Subnets for the control plane ENIs and nodes (not needed for an existing cluster)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags added to every AWS child (the provider's default tags carry the cost tags)."""
    launch_tags: dict[str, str] = field(default_factory=dict)
    """Tags for the instances and volumes nodes launch (launch templates, Karpenter node
    classes): the cost-allocation tags, which the provider's default tags do not reach."""

    def validate(self) -> None:
        if self.cluster.existing is None and (self.vpc_id is None or self.private_subnet_ids is None):
            raise ValueError("GpuClusterArgs.vpc_id and private_subnet_ids are required unless cluster.existing is set")
        names = [p.name for p in self.gpu_pools]
        if len(set(names)) != len(names):
            raise ValueError(f"GpuClusterArgs.gpu_pools: pool names must be unique (got {names})")


class GpuCluster(pulumi.ComponentResource):
    """An EKS cluster with GPU capacity (or the in-cluster parts on an existing cluster)."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    node_role_arns: pulumi.Output[list[str]]
    k8s_provider: k8s.Provider

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:cluster:GpuCluster", name, None, opts)
        self._name = name
        self._args = args
        if args.cluster.existing is not None:
            self._adopt_existing(args)
        else:
            self._create(args)
        self._gpu_software()
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "oidcIssuer": self.oidc_issuer,
                "kubeconfig": self.kubeconfig,
                "nodeRoleArns": self.node_role_arns,
            }
        )

    # ------------------------------------------------------------------ helpers
    def _child(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _k8s(self, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self.k8s_provider, **kwargs)

    def _helm(
        self,
        release: str,
        *,
        chart: str,
        version: str,
        namespace: str,
        values: dict[str, Any],
        depends_on: Sequence[pulumi.Resource],
        repo: str | None = None,
    ) -> k8s.helm.v3.Release:
        """A pinned Helm release in this cluster (``repo`` for HTTP repositories; OCI charts
        carry their registry in ``chart``)."""
        return k8s.helm.v3.Release(
            f"{self._name}-{release}",
            name=release,
            chart=chart,
            version=version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo) if repo else None,
            namespace=namespace,
            values=values,
            opts=self._k8s(depends_on=list(depends_on)),
        )

    def _tags(self, suffix: str) -> dict[str, str]:
        return {**self._args.tags, "Name": f"{self._name}-{suffix}"}

    # ------------------------------------------------------------------ existing cluster
    def _adopt_existing(self, args: GpuClusterArgs) -> None:
        existing = args.cluster.existing
        assert existing is not None
        if existing.kubeconfig is not None:
            config_text: pulumi.Output[str] = pulumi.Output.secret(existing.kubeconfig)
            self.cluster_name = pulumi.Output.from_input(args.cluster_name)
            self.endpoint = pulumi.Output.from_input("")
            self.oidc_issuer = pulumi.Output.from_input("")
        else:
            found = aws.eks.get_cluster_output(name=existing.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self))
            self.cluster_name = found.name
            self.endpoint = found.endpoint
            self.oidc_issuer = found.identities[0].oidcs[0].issuer
            config_text = pulumi.Output.secret(
                pulumi.Output.all(found.name, found.endpoint, found.certificate_authorities[0].data).apply(
                    lambda v: kubeconfig(v[0], v[1], v[2], args.region)
                )
            )
        self.kubeconfig = config_text
        self.node_role_arns = pulumi.Output.from_input([])
        self.k8s_provider = k8s.Provider(
            f"{self._name}-k8s", kubeconfig=config_text, enable_server_side_apply=True, opts=self._child()
        )

    # ------------------------------------------------------------------ created cluster
    def _create(self, args: GpuClusterArgs) -> None:
        name = self._name
        cfg = args.cluster
        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS secrets envelope encryption for {args.cluster_name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=self._tags("secrets"),
            opts=self._child(),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{args.cluster_name}-eks-secrets", target_key_id=key.key_id, opts=self._child())
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=cfg.log_retention_days,
            tags=self._tags("control-plane"),
            opts=self._child(),
        )
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role", assume_role_policy=assume_role_policy("eks.amazonaws.com"), tags=self._tags("cluster-role"), opts=self._child()
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
            version=cfg.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.private_subnet_ids,  # type: ignore[arg-type]
                endpoint_private_access=True,
                endpoint_public_access=cfg.endpoint_public_access,
                public_access_cidrs=list(cfg.public_access_cidrs) if cfg.endpoint_public_access else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=cfg.creator_admin
            ),
            bootstrap_self_managed_addons=False,
            deletion_protection=args.environment == "prod",
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            tags={**self._tags("eks"), "karpenter.sh/discovery": args.cluster_name},
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
        issuer = cluster.identities[0].oidcs[0].issuer  # type: ignore[index]
        aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], tags=self._tags("oidc"), opts=self._child()
        )
        addons = {addon: self._addon(cluster, addon, depends_on=[]) for addon in versions.EKS_NODE_ADDONS}
        for index, arn in enumerate(cfg.admin_role_arns):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{index}", cluster_name=cluster.name, principal_arn=arn, type="STANDARD", opts=self._child()
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}",
                cluster_name=cluster.name,
                principal_arn=arn,
                policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=self._child(depends_on=[entry]),
            )

        # Managed node groups get their access entry from EKS; Karpenter's nodes use a role of
        # their own with an explicit EC2_LINUX entry (one principal cannot have both).
        node_role, node_attachments = self._node_role("node")
        system = self._node_group(
            "system",
            cluster=cluster,
            node_role=node_role,
            instance_types=cfg.system_nodes.instance_types,
            capacity_type="ON_DEMAND",
            min_size=cfg.system_nodes.min_nodes,
            max_size=cfg.system_nodes.max_nodes,
            ami_type=versions.SYSTEM_AMI_TYPE,
            disk_gib=cfg.system_nodes.disk_gib,
            labels={"llmops.io/pool": "system"},
            taints=[],
            depends_on=[*node_attachments, addons["vpc-cni"]],
        )
        self._system_node_group = system
        for addon in versions.EKS_WORKLOAD_ADDONS:
            addons[addon] = self._addon(cluster, addon, depends_on=[system])

        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.oidc_issuer = issuer
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
                lambda v: kubeconfig(v[0], v[1], v[2], args.region)
            )
        )
        node_role_arns: list[pulumi.Output[str]] = [node_role.arn]
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=self._child(depends_on=[system]),
        )

        karpenter_pools = [p for p in args.gpu_pools if pool_uses_karpenter(p, cfg)]
        group_pools = [p for p in args.gpu_pools if not pool_uses_karpenter(p, cfg)]
        for pool in group_pools:
            spec_types = [catalog.instance_types()[t] for t in pool.instance_types]
            autoscaler_tags = {
                f"k8s.io/cluster-autoscaler/{args.cluster_name}": "owned",
                "k8s.io/cluster-autoscaler/enabled": "true",
                **{f"k8s.io/cluster-autoscaler/node-template/label/{k}": v for k, v in gpu_labels(pool).items()},
                f"k8s.io/cluster-autoscaler/node-template/taint/{GPU_TAINT_KEY}": "true:NoSchedule",
                "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu": str(min(t.accelerator_count for t in spec_types)),
            }
            self._node_group(
                f"gpu-{pool.name}",
                cluster=cluster,
                node_role=node_role,
                instance_types=pool.instance_types,
                capacity_type="SPOT" if pool.capacity_type == "spot" else "ON_DEMAND",
                min_size=pool.min_nodes,
                max_size=pool.max_nodes,
                ami_type=versions.GPU_AMI_TYPE,
                disk_gib=200,
                labels=gpu_labels(pool),
                taints=[aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value="true", effect="NO_SCHEDULE")],
                depends_on=node_attachments,
                extra_tags=autoscaler_tags,
            )
        if karpenter_pools or cfg.capacity_provider == "karpenter":
            karpenter_role = self._karpenter(cluster, karpenter_pools, depends_on=[system, addons["eks-pod-identity-agent"]])
            node_role_arns.append(karpenter_role.arn)
        self.node_role_arns = pulumi.Output.all(*node_role_arns)
        if cfg.capacity_provider == "managedNodeGroups" and group_pools:
            self._cluster_autoscaler(cluster, depends_on=[system, addons["eks-pod-identity-agent"]])

    def _addon(self, cluster: aws.eks.Cluster, addon: str, depends_on: Sequence[pulumi.Resource]) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=cluster.name,
            addon_name=addon,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            opts=self._child(depends_on=list(depends_on)),
        )

    def _node_role(self, purpose: str) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        """An EC2 role for worker nodes with the standard node policies attached."""
        role = aws.iam.Role(
            f"{self._name}-{purpose}-role",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            tags=self._tags(f"{purpose}-role"),
            opts=self._child(),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{purpose}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=self._child()
            )
            for arn in NODE_POLICIES
        ]
        return role, attachments

    def _node_group(
        self,
        pool: str,
        *,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        instance_types: Sequence[str],
        capacity_type: str,
        min_size: int,
        max_size: int,
        ami_type: str,
        disk_gib: int,
        labels: dict[str, str],
        taints: list[aws.eks.NodeGroupTaintArgs],
        depends_on: Sequence[pulumi.Resource],
        extra_tags: dict[str, str] | None = None,
    ) -> aws.eks.NodeGroup:
        name = f"{self._name}-{pool}"
        template = aws.ec2.LaunchTemplate(
            name,
            description=f"{pool} nodes of {self._args.cluster_name}: IMDSv2 only, encrypted gp3 root volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=2
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=disk_gib, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**self._args.launch_tags, **self._tags(pool)})
                for kind in ("instance", "volume")
            ],
            update_default_version=True,
            tags=self._tags(pool),
            opts=self._child(),
        )
        return aws.eks.NodeGroup(
            name,
            cluster_name=cluster.name,
            node_group_name=f"{self._args.cluster_name}-{pool}"[:63],
            node_role_arn=node_role.arn,
            subnet_ids=self._args.private_subnet_ids,  # type: ignore[arg-type]
            instance_types=list(instance_types),
            capacity_type=capacity_type,
            ami_type=ami_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=min_size, max_size=max_size, desired_size=min_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
            labels=labels,
            taints=taints,
            tags={**self._tags(pool), **(extra_tags or {})},
            opts=self._child(depends_on=list(depends_on), ignore_changes=["scalingConfig.desiredSize"]),
        )

    def _pod_identity_role(self, cluster: aws.eks.Cluster, purpose: str, namespace: str, service_account: str, policy: pulumi.Input[str]) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{self._name}-{purpose}",
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", session_tags=True),
            tags=self._tags(purpose),
            opts=self._child(),
        )
        aws.iam.RolePolicy(f"{self._name}-{purpose}", role=role.id, policy=policy, opts=self._child())
        aws.eks.PodIdentityAssociation(
            f"{self._name}-{purpose}",
            cluster_name=cluster.name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            opts=self._child(),
        )
        return role

    def _karpenter(
        self, cluster: aws.eks.Cluster, pools: Sequence[GpuPoolConfig], depends_on: Sequence[pulumi.Resource]
    ) -> aws.iam.Role:
        """Karpenter and its GPU NodePools; returns the role of the nodes it launches."""
        name, args = self._name, self._args
        node_role, node_attachments = self._node_role("karpenter-node")
        queue = aws.sqs.Queue(
            f"{name}-karpenter-interruptions",
            name=f"{args.cluster_name}-karpenter"[:80],
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            tags=self._tags("karpenter-interruptions"),
            opts=self._child(),
        )
        aws.sqs.QueuePolicy(
            f"{name}-karpenter-interruptions",
            queue_url=queue.url,
            policy=queue.arn.apply(
                lambda arn: policy_json(
                    {
                        "Sid": "EventBridgeWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                        "Action": "sqs:SendMessage",
                        "Resource": arn,
                    },
                    {
                        "Sid": "DenyHTTP",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sqs:*",
                        "Resource": arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                )
            ),
            opts=self._child(),
        )
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-karpenter-{event}",
                description=f"Karpenter interruption handling for {args.cluster_name}: {event}",
                event_pattern=json.dumps(pattern),
                tags=self._tags(f"karpenter-{event}"),
                opts=self._child(),
            )
            aws.cloudwatch.EventTarget(f"{name}-karpenter-{event}", rule=rule.name, arn=queue.arn, target_id="karpenter-interruption-queue", opts=self._child())

        policy = pulumi.Output.all(cluster.arn, queue.arn, node_role.arn).apply(
            lambda v: karpenter_controller_policy(args.cluster_name, v[0], args.region, v[1], v[2])
        )
        self._pod_identity_role(cluster, "karpenter", KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, policy)
        # Nodes Karpenter launches join through an EC2_LINUX access entry for the node role.
        aws.eks.AccessEntry(
            f"{name}-karpenter-nodes",
            cluster_name=cluster.name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            opts=self._child(depends_on=node_attachments),
        )

        release = self._helm(
            "karpenter",
            chart=versions.KARPENTER_CHART,
            version=versions.KARPENTER_VERSION,
            namespace=KARPENTER_NAMESPACE,
            depends_on=depends_on,
            values={
                "settings": {"clusterName": args.cluster_name, "interruptionQueue": queue.name},
                "serviceAccount": {"name": KARPENTER_SERVICE_ACCOUNT},
                "replicas": 1 if args.environment == "dev" else 2,
                "nodeSelector": {"llmops.io/pool": "system"},
                "controller": {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
            },
        )
        node_class = "gpu"
        node_class_doc = node_role.name.apply(
            lambda role: ec2_node_class_manifest(node_class, args.cluster_name, role, launch_tags=args.launch_tags)
        )
        node_class_resource = k8s.apiextensions.CustomResource(
            f"{name}-nodeclass-{node_class}",
            api_version="karpenter.k8s.aws/v1",
            kind="EC2NodeClass",
            metadata={"name": node_class},
            spec=node_class_doc.apply(lambda doc: doc["spec"]),
            opts=self._k8s(depends_on=[release]),
        )
        for pool in pools:
            manifest = node_pool_manifest(pool, node_class, args.environment)
            k8s.apiextensions.CustomResource(
                f"{name}-nodepool-{pool.name}",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=self._k8s(depends_on=[release, node_class_resource]),
            )
        return node_role

    def _cluster_autoscaler(self, cluster: aws.eks.Cluster, depends_on: Sequence[pulumi.Resource]) -> None:
        args = self._args
        policy = policy_json(
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
                "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{args.cluster_name}": "owned"}},
            },
        )
        self._pod_identity_role(cluster, "cluster-autoscaler", "kube-system", "cluster-autoscaler", policy)
        self._helm(
            "cluster-autoscaler",
            chart="cluster-autoscaler",
            version=versions.CLUSTER_AUTOSCALER_VERSION,
            repo=versions.CLUSTER_AUTOSCALER_REPO,
            namespace="kube-system",
            depends_on=depends_on,
            values={
                "autoDiscovery": {"clusterName": args.cluster_name},
                "awsRegion": args.region,
                "rbac": {"serviceAccount": {"name": "cluster-autoscaler"}},
                "extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste", "scale-down-unneeded-time": "5m"},
                "nodeSelector": {"llmops.io/pool": "system"},
            },
        )

    # ------------------------------------------------------------------ in-cluster GPU software
    def _gpu_software(self) -> None:
        name = self._name
        gpu_affinity = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}]}]
                }
            }
        }
        depends: list[pulumi.Resource] = [self._system_node_group] if hasattr(self, "_system_node_group") else []
        namespaces = {
            namespace: k8s.core.v1.Namespace(
                f"{name}-{namespace}",
                metadata=namespace_manifest(namespace)["metadata"],
                opts=self._k8s(depends_on=depends),
            )
            for namespace in ("nvidia-device-plugin", "gpu-monitoring")
        }
        self._helm(
            "nvidia-device-plugin",
            chart="nvidia-device-plugin",
            version=versions.NVIDIA_DEVICE_PLUGIN_VERSION,
            repo=versions.NVIDIA_DEVICE_PLUGIN_REPO,
            namespace="nvidia-device-plugin",
            values={"tolerations": [GPU_TOLERATION], "affinity": gpu_affinity, "gfd": {"enabled": True}},
            depends_on=[namespaces["nvidia-device-plugin"]],
        )
        self._helm(
            "dcgm-exporter",
            chart="dcgm-exporter",
            version=versions.DCGM_EXPORTER_VERSION,
            repo=versions.DCGM_EXPORTER_REPO,
            namespace="gpu-monitoring",
            depends_on=[namespaces["gpu-monitoring"]],
            values={
                "tolerations": [GPU_TOLERATION],
                "affinity": gpu_affinity,
                "serviceMonitor": {"enabled": False},
                "service": {"enable": True, "port": 9400},
                "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9400"},
            },
        )
