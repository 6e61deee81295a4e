"""Composition: what a stack is made of, per region and globally.

For every configured region: one explicit ``aws.Provider`` (default tags carry the
cost-allocation tags), then the region's components with that provider. Global pieces live
in the home region. ``build`` only composes; each component validates its own arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cluster import GpuCluster, GpuClusterArgs
from components.naming import cluster_name
from components.network import Network, NetworkArgs
from stacks.config import PlatformConfig, RegionConfig


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
            environment=config.environment,
            cluster=region.cluster,
            gpu_pools=tuple(region.gpu_pools),
            vpc_id=network.vpc_id if network else None,
            private_subnet_ids=network.private_subnet_ids if network else None,
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
