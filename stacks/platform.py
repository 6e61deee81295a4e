"""Composition: what a stack is made of, per region and globally.

For every configured region: one explicit ``aws.Provider`` (default tags carry the
cost-allocation tags; ``allowedAccountIds`` holds the stack's account, so credentials for
another account fail before anything changes), then the region's components with that
provider. Global pieces live in the home region, and so do the account-wide ones when the
stack owns them (``account.singletons``). ``build`` only composes: it maps the stack config
to each component's own arguments (the ``*_args`` functions) and decides what an
environment means for them (:data:`PROFILES`); each component validates its own arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.account import AccountBaseline, AccountBaselineArgs
from components.cluster import (
    ApiAccessArgs,
    EksClusterArgs,
    ExistingClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
    SystemNodesArgs,
)
from components.naming import cluster_name
from components.network import Network, NetworkArgs
from core.catalog import eks
from stacks.config import (
    ClusterAccessConfig,
    ClusterConfig,
    Environment,
    GpuPoolConfig,
    PlatformConfig,
    RegionConfig,
)


@dataclass(frozen=True)
class EnvironmentProfile:
    """What an environment decides for the components (the composition's choices; the
    stack file does not set them)."""

    deletion_protection: bool
    """Refuse to delete stateful resources (the EKS cluster) until this is turned off."""
    karpenter_replicas: int
    """Karpenter controller replicas (one is enough where an outage only delays scaling)."""
    consolidate_after: str
    """How long a Karpenter GPU node stays empty or underused before it goes."""
    retain_data: bool
    """What ``pulumi destroy`` does with what holds data. True: log groups (audit trail) are
    kept and data stores are protected (``retain_on_delete``/``protect``, no
    ``force_destroy``); False: everything goes, buckets and repositories emptied first
    (``force_destroy``), so a destroyed stack leaves nothing that bills."""

    @property
    def force_destroy(self) -> bool:
        """Empty buckets and repositories on destroy (components' ``force_destroy``)."""
        return not self.retain_data


PROFILES: dict[Environment, EnvironmentProfile] = {
    "dev": EnvironmentProfile(deletion_protection=False, karpenter_replicas=1, consolidate_after="1m", retain_data=False),
    "staging": EnvironmentProfile(deletion_protection=False, karpenter_replicas=2, consolidate_after="5m", retain_data=False),
    "prod": EnvironmentProfile(deletion_protection=True, karpenter_replicas=2, consolidate_after="5m", retain_data=True),
}


@dataclass
class RegionalPlatform:
    """The resources a region ends up with."""

    region: str
    provider: aws.Provider
    network: Network | None
    """None when the region brings its own cluster (and so its own VPC)."""
    cluster: GpuCluster


def region_provider(region: RegionConfig, tags: dict[str, str], account_id: str) -> aws.Provider:
    """The explicit provider every resource in ``region`` uses, limited to the stack's
    account."""
    return aws.Provider(
        f"aws-{region.name}",
        region=region.name,
        allowed_account_ids=[account_id],
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
    )


def access_args(access: ClusterAccessConfig) -> ApiAccessArgs:
    """The deployers' paths to the API server, as the cluster component takes them."""
    return ApiAccessArgs(
        public_cidrs=tuple(access.deployer_cidrs) if access.mode == "publicRestricted" else (),
        private_cidrs=tuple(access.runner_cidrs) if access.deploy_from == "vpcRunner" else (),
        ssm_bastion=access.deploy_from == "ssmTunnel",
        tunnel_local_port=access.tunnel_local_port,
        ci_role_arn=access.ci_role_arn,
    )


def gpu_pool_args(pool: GpuPoolConfig) -> GpuPoolArgs:
    """A GPU pool of the stack config as the cluster component takes it."""
    return GpuPoolArgs(
        name=pool.name,
        instance_types=tuple(pool.instance_types),
        capacity_type=pool.capacity_type,
        min_nodes=pool.min_nodes,
        max_nodes=pool.max_nodes,
        labels=dict(pool.labels),
    )


def cluster_args(
    cluster: ClusterConfig, profile: EnvironmentProfile, network: Network | None
) -> EksClusterArgs | ExistingClusterArgs:
    """The region's cluster: an existing one, or one created in ``network``."""
    if cluster.existing is not None:
        return ExistingClusterArgs(cluster_name=cluster.existing.cluster_name, kubeconfig=cluster.existing.kubeconfig)
    if network is None:
        raise ValueError("a created cluster needs the region's network")
    if cluster.access is None:
        raise ValueError("a created cluster needs cluster.access (the stack config requires it)")
    system = cluster.system_nodes
    return EksClusterArgs(
        private_subnet_ids=network.private_subnet_ids,
        access=access_args(cluster.access),
        kubernetes_version=cluster.kubernetes_version,
        creator_admin=cluster.creator_admin,
        admin_role_arns=tuple(cluster.admin_role_arns),
        log_retention_days=cluster.log_retention_days,
        retain_logs=profile.retain_data,
        deletion_protection=profile.deletion_protection,
        system_nodes=SystemNodesArgs(
            instance_types=tuple(system.instance_types),
            min_nodes=system.min_nodes,
            max_nodes=system.max_nodes,
            disk_gib=system.disk_gib,
        ),
        capacity_provider=cluster.capacity_provider,
        karpenter_replicas=profile.karpenter_replicas,
        consolidate_after=profile.consolidate_after,
    )


def build_region(config: PlatformConfig, region: RegionConfig, stack: str, project: str) -> RegionalPlatform:
    """Everything one region runs."""
    tags = config.cost_tags(stack, project)
    provider = region_provider(region, tags, config.account.id)
    profile = PROFILES[config.environment]
    name = cluster_name(project, stack, region.name)
    byo = region.cluster.existing is not None
    network = None if byo else Network(
        region.name,
        NetworkArgs(
            region=region.name,
            cidr=region.cidr,
            az_count=region.az_count,
            cluster_name=name,
            nat_gateways=region.nat_gateways,
            interface_endpoints=tuple(region.interface_endpoints),
            flow_logs=region.flow_logs.enabled,
            flow_log_retention_days=region.flow_logs.retention_days,
            flow_log_traffic_type=region.flow_logs.traffic_type,
            excluded_zone_ids=eks.unsupported_zone_ids(region.name),
            account_id=config.account.id,
            retain_logs=profile.retain_data,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    cluster = GpuCluster(
        region.name,
        GpuClusterArgs(
            region=region.name,
            cluster_name=name,
            cluster=cluster_args(region.cluster, profile, network),
            gpu_pools=() if byo else tuple(gpu_pool_args(p) for p in region.gpu_pools),
            launch_tags=tags,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return RegionalPlatform(region=region.name, provider=provider, network=network, cluster=cluster)


def build(config: PlatformConfig, stack: str, project: str) -> dict[str, RegionalPlatform]:
    """The whole platform for a stack; returns the regional pieces by region."""
    regions = {region.name: build_region(config, region, stack, project) for region in config.regions}
    if config.account.singletons:
        AccountBaseline(
            "account",
            AccountBaselineArgs(account_id=config.account.id),
            opts=pulumi.ResourceOptions(providers=[regions[config.home_region].provider]),
        )
    return regions


def stack_outputs(config: PlatformConfig, regions: dict[str, RegionalPlatform]) -> dict[str, object]:
    """What the stack exports (read by CI, promotion and operators)."""
    return {
        "environment": config.environment,
        "homeRegion": config.home_region,
        "regions": {
            name: {
                **(
                    {
                        "vpcId": r.network.vpc_id,
                        "privateSubnetIds": r.network.private_subnet_ids,
                        "publicSubnetIds": r.network.public_subnet_ids,
                        "availabilityZones": r.network.availability_zones,
                        "availabilityZoneIds": r.network.availability_zone_ids,
                    }
                    if r.network
                    else {}
                ),
                "clusterName": r.cluster.cluster_name,
                "clusterEndpoint": r.cluster.endpoint,
                "oidcIssuer": r.cluster.oidc_issuer,
                "nodeRoleArns": r.cluster.node_role_arns,
                # The SSM tunnel bastion deploys go through (deployFrom: ssmTunnel), else empty.
                "apiBastionId": r.cluster.api_bastion_id,
            }
            for name, r in regions.items()
        },
        # Secret as a whole; kept apart so the region details above stay readable.
        "kubeconfigs": {name: r.cluster.kubeconfig for name, r in regions.items()},
    }
