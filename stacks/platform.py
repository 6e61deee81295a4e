"""Composition: what a stack is made of, per region and globally.

For every configured region: one explicit ``aws.Provider`` (default tags carry the
cost-allocation tags), then the region's components with that provider. Global pieces live
in the home region. ``build`` only composes: it maps the stack config to each component's
own arguments (the ``*_args`` functions) and decides what an environment means for them
(:data:`PROFILES`); each component validates its own arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cluster import (
    EksClusterArgs,
    ExistingClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
    SystemNodesArgs,
)
from components.naming import cluster_name
from components.network import Network, NetworkArgs
from stacks.config import ClusterConfig, Environment, GpuPoolConfig, PlatformConfig, RegionConfig


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


PROFILES: dict[Environment, EnvironmentProfile] = {
    "dev": EnvironmentProfile(deletion_protection=False, karpenter_replicas=1, consolidate_after="1m"),
    "staging": EnvironmentProfile(deletion_protection=False, karpenter_replicas=2, consolidate_after="5m"),
    "prod": EnvironmentProfile(deletion_protection=True, karpenter_replicas=2, consolidate_after="5m"),
}


@dataclass
class RegionalPlatform:
    """The resources a region ends up with."""

    region: str
    provider: aws.Provider
    network: Network | None
    """None when the region brings its own cluster (and so its own VPC)."""
    cluster: GpuCluster


def region_provider(region: RegionConfig, tags: dict[str, str]) -> aws.Provider:
    """The explicit provider every resource in ``region`` uses."""
    return aws.Provider(
        f"aws-{region.name}",
        region=region.name,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
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
    system = cluster.system_nodes
    return EksClusterArgs(
        private_subnet_ids=network.private_subnet_ids,
        kubernetes_version=cluster.kubernetes_version,
        endpoint_public_access=cluster.endpoint_public_access,
        public_access_cidrs=tuple(cluster.public_access_cidrs),
        creator_admin=cluster.creator_admin,
        admin_role_arns=tuple(cluster.admin_role_arns),
        log_retention_days=cluster.log_retention_days,
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
    provider = region_provider(region, tags)
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
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    cluster = GpuCluster(
        region.name,
        GpuClusterArgs(
            region=region.name,
            cluster_name=name,
            cluster=cluster_args(region.cluster, PROFILES[config.environment], network),
            gpu_pools=() if byo else tuple(gpu_pool_args(p) for p in region.gpu_pools),
            launch_tags=tags,
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
    return RegionalPlatform(region=region.name, provider=provider, network=network, cluster=cluster)


def build(config: PlatformConfig, stack: str, project: str) -> dict[str, RegionalPlatform]:
    """The whole platform for a stack; returns the regional pieces by region."""
    return {region.name: build_region(config, region, stack, project) for region in config.regions}


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
                    }
                    if r.network
                    else {}
                ),
                "clusterName": r.cluster.cluster_name,
                "clusterEndpoint": r.cluster.endpoint,
                "oidcIssuer": r.cluster.oidc_issuer,
                "nodeRoleArns": r.cluster.node_role_arns,
            }
            for name, r in regions.items()
        },
        # Secret as a whole; kept apart so the region details above stay readable.
        "kubeconfigs": {name: r.cluster.kubeconfig for name, r in regions.items()},
    }
