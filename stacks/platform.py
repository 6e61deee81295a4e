"""Composition: what a stack is made of, per region and globally.

For every configured region: one explicit ``aws.Provider`` (default tags carry the
cost-allocation tags), then the region's components with that provider. Global pieces live
in the home region. ``build`` only composes; each component validates its own arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.naming import cluster_name
from components.network import Network, NetworkArgs
from stacks.config import PlatformConfig, RegionConfig


@dataclass
class RegionalPlatform:
    """The resources a region ends up with."""

    region: str
    provider: aws.Provider
    network: Network
    cluster_name: str


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
    network = Network(
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
    return RegionalPlatform(region=region.name, provider=provider, network=network, cluster_name=name)


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
                "vpcId": r.network.vpc_id,
                "privateSubnetIds": r.network.private_subnet_ids,
                "publicSubnetIds": r.network.public_subnet_ids,
                "availabilityZones": r.network.availability_zones,
                "clusterName": r.cluster_name,
            }
            for name, r in regions.items()
        },
    }
