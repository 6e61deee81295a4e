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

from components import versions
from components.cluster import (
    EksClusterArgs,
    ExistingClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
    SystemNodesArgs,
)
from components.cluster.karpenter import NODE_CLASS
from components.cluster.nodes import SYSTEM_NODE_LABELS
from components.global_entry import GlobalEntry, GlobalEntryArgs, RegionalEndpoint
from components.helm import Chart
from components.naming import cluster_name
from components.network import Network, NetworkArgs
from components.registry import ContainerRegistry, ContainerRegistryArgs
from components.serving_plane import (
    AutoscalerArgs,
    CertificateArgs,
    CpuNodePoolArgs,
    CpuWorkersArgs,
    ExposureArgs,
    HeadArgs,
    SecretRef,
    ServingPlane,
    ServingPlaneArgs,
    WorkerGroupArgs,
)
from core import gpu_pool
from serving.config import render_serve_config_yaml
from stacks import serve_config as serving_section
from stacks.config import (
    ClusterConfig,
    Environment,
    GpuPoolConfig,
    PlatformConfig,
    RegionConfig,
    ServingConfig,
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
    load_balancer_controller_replicas: int = 2
    """Replicas of the AWS Load Balancer Controller (one is enough where an outage only
    delays target registration)."""


PROFILES: dict[Environment, EnvironmentProfile] = {
    "dev": EnvironmentProfile(deletion_protection=False, karpenter_replicas=1, consolidate_after="1m", load_balancer_controller_replicas=1),
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
    serving: ServingPlane | None = None
    """None when the stack has no serving plane."""


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
    serving = None
    if config.serving is not None and config.serving.enabled:
        serving = ServingPlane(
            f"{region.name}-serving",
            serving_plane_args(config, region, stack, project, network, cluster, provider),
            opts=pulumi.ResourceOptions(providers={"aws": provider, "kubernetes": cluster.k8s_provider}),
        )
    return RegionalPlatform(region=region.name, provider=provider, network=network, cluster=cluster, serving=serving)


def build(config: PlatformConfig, stack: str, project: str) -> dict[str, RegionalPlatform]:
    """The whole platform for a stack; returns the regional pieces by region."""
    regions = {region.name: build_region(config, region, stack, project) for region in config.regions}
    serving = config.serving
    if serving is not None and serving.enabled:
        home = regions[config.home_region].provider
        if serving.registry.manage:
            ContainerRegistry(
                f"{config.home_region}-serving-image",
                registry_args(config, regions, stack, project),
                opts=pulumi.ResourceOptions(providers=[home]),
            )
        if serving.entry is not None:
            GlobalEntry(
                f"{config.home_region}-serving-entry",
                global_entry_args(config, regions),
                opts=pulumi.ResourceOptions(providers=[home]),
            )
    return regions


# --------------------------------------------------------------------------- serving


def _bounded(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` characters, ending in a short hash of the whole when cut."""
    if len(name) <= limit:
        return name
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def region_image(image: str, serving: ServingConfig, region: str) -> str:
    """The release image as ``region`` pulls it: an image of the serving repository in an
    ECR registry is pulled from the region's replica (same digest) when the repository
    replicates there (``registry.replicaRegions``); any other as pinned."""
    import re

    match = re.match(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/(.+)$", image)
    if match is None or not match.group(3).startswith(serving.registry.repository) or region not in serving.registry.replica_regions:
        return image
    return f"{match.group(1)}.dkr.ecr.{region}.amazonaws.com/{match.group(3)}"


def _secret_ref(value: str) -> SecretRef:
    arn, _, key = value.partition("#")
    return SecretRef(arn=arn, key=key or None)


def region_serve_config_yaml(config: PlatformConfig, region: RegionConfig) -> tuple[str, dict[str, dict[str, int]]]:
    """The region's ``serveConfigV2`` and the custom Ray resources of each worker group."""
    serving = config.serving
    assert serving is not None
    base, problems = serving_section.base_serve_config(serving)
    if base is None:
        raise ValueError("the serve config has problems: " + "; ".join(map(str, problems)))
    placed = serving_section.placements(config, base, region)
    rendered = serving_section.region_serve_config(base, placed)
    return render_serve_config_yaml(rendered), serving_section.group_resources(placed)


def serving_plane_args(
    config: PlatformConfig,
    region: RegionConfig,
    stack: str,
    project: str,
    network: Network | None,
    cluster: GpuCluster,
    provider: aws.Provider,
) -> ServingPlaneArgs:
    """The region's serving plane as the component takes it."""
    serving = config.serving
    assert serving is not None
    profile = PROFILES[config.environment]
    serve_yaml, resources = region_serve_config_yaml(config, region)
    created = region.cluster.existing is None
    system = region.cluster.system_nodes
    workers = (serving.regions[region.name].cpu_workers if region.name in serving.regions else None) or serving.cpu_workers
    karpenter = created and region.cluster.capacity_provider == "karpenter"
    system_labels = dict(SYSTEM_NODE_LABELS) if created else {}
    found = aws.eks.get_cluster_output(
        name=cluster.cluster_name, opts=pulumi.InvokeOutputOptions(provider=provider, depends_on=[cluster])
    )
    vpc_id: pulumi.Input[str] = network.vpc_id if network is not None else found.vpc_config.vpc_id
    public = serving.exposure.scheme == "internet-facing"
    if network is not None:
        subnets: pulumi.Input[list[str]] = network.public_subnet_ids if public else network.private_subnet_ids
    else:
        subnets = found.vpc_config.subnet_ids
    entry = serving.entry
    release = serving.release
    return ServingPlaneArgs(
        region=region.name,
        cluster_name=cluster.cluster_name,
        image=region_image(release.image, serving, region.name),
        ray_version=release.ray_version or versions.RAY_VERSION,
        serve_config=serve_yaml,
        kubernetes_version=region.cluster.kubernetes_version if created else None,
        head=HeadArgs(
            instance_types=tuple(system.instance_types),
            node_selector=system_labels,
            cpu=serving.head.cpu,
            memory_gib=serving.head.memory_gib,
        ),
        cpu_workers=CpuWorkersArgs(
            instance_types=tuple(workers.instance_types) if karpenter else tuple(system.instance_types),
            min_replicas=workers.min_replicas,
            max_replicas=workers.max_replicas,
            node_pool=CpuNodePoolArgs(
                node_class=NODE_CLASS,
                instance_types=tuple(workers.instance_types),
                max_nodes=workers.max_replicas,
                capacity_type=workers.capacity_type,
                consolidate_after=profile.consolidate_after,
            )
            if karpenter
            else None,
            system_node_selector=system_labels,
            ray_resources=resources.get(serving_section.CPU_GROUP, {}),
        ),
        gpu_workers=tuple(
            WorkerGroupArgs(
                name=pool.name,
                instance_types=tuple(pool.instance_types),
                min_replicas=pool.min_nodes,
                max_replicas=pool.max_nodes,
                node_selector={gpu_pool.POOL_LABEL: pool.name},
                tolerations=(dict(gpu_pool.GPU_TOLERATION),),
                ray_resources=resources.get(pool.name, {}),
            )
            for pool in region.gpu_pools
        ),
        autoscaler=AutoscalerArgs(idle_timeout_seconds=serving.idle_timeout_seconds),
        upgrade_strategy=serving.upgrade_strategy,
        secret_env={name: _secret_ref(value) for name, value in serving.secrets.items()},
        exposure=ExposureArgs(
            scheme=serving.exposure.scheme,
            vpc_id=vpc_id,
            subnet_ids=subnets,
            node_security_group_id=found.vpc_config.cluster_security_group_id,
            load_balancer_name=_bounded(cluster_name(project, stack, region.name), 32),
            client_cidrs=(region.cidr, *serving.exposure.client_cidrs),
            certificate=CertificateArgs(domain_name=entry.record_name, zone_id=entry.hosted_zone_id) if public and entry else None,
            waf=serving.exposure.waf,
            waf_rate_limit=serving.exposure.waf_rate_limit,
            deletion_protection=profile.deletion_protection,
            force_destroy_logs=not profile.deletion_protection,
        ),
        kuberay=Chart("kuberay-operator", release.chart_version("kuberay-operator"), versions.KUBERAY_REPO),
        load_balancer_controller=Chart(
            "aws-load-balancer-controller",
            release.chart_version("aws-load-balancer-controller"),
            versions.AWS_LOAD_BALANCER_CONTROLLER_REPO,
        ),
        controller_replicas=profile.load_balancer_controller_replicas,
        vpc_id=vpc_id,
        depends_on=[cluster],
    )


def registry_args(config: PlatformConfig, regions: dict[str, RegionalPlatform], stack: str, project: str) -> ContainerRegistryArgs:
    """The serving image's repository in the home region, replicated into the replica
    regions (each with its AWS provider: the region's, or one of its own for a region the
    stack does not run in)."""
    serving = config.serving
    assert serving is not None
    tags = config.cost_tags(stack, project)
    providers = {
        name: regions[name].provider if name in regions else aws.Provider(f"aws-{name}-registry", region=name, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
        for name in serving.registry.replica_regions
        if name != config.home_region
    }
    return ContainerRegistryArgs(
        region=config.home_region,
        repository=serving.registry.repository,
        replicate_to=providers,
        force_delete=not PROFILES[config.environment].deletion_protection,
    )


def global_entry_args(config: PlatformConfig, regions: dict[str, RegionalPlatform]) -> GlobalEntryArgs:
    """The global name over every region's serving endpoint."""
    serving = config.serving
    assert serving is not None and serving.entry is not None
    private = serving.exposure.scheme == "internal"
    endpoints = []
    for name, r in regions.items():
        plane = r.serving
        assert plane is not None
        endpoints.append(
            RegionalEndpoint(
                region=name,
                dns_name=plane.load_balancer_dns_name.apply(str),
                zone_id=plane.load_balancer_zone_id.apply(str),
                load_balancer_arn=plane.load_balancer_arn.apply(str),
                health_alarm_name=plane.health_alarm_name.apply(str) if private else None,
                vpc_id=r.network.vpc_id if private and r.network is not None else None,
            )
        )
    return GlobalEntryArgs(
        record_name=serving.entry.record_name,
        zone_id=serving.entry.hosted_zone_id,
        endpoints=endpoints,
        private=private,
        routing=serving.entry.routing,
        primary_region=config.home_region,
    )


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
                **({"serving": serving_outputs(r.serving)} if r.serving is not None else {}),
            }
            for name, r in regions.items()
        },
        # Secret as a whole; kept apart so the region details above stay readable.
        "kubeconfigs": {name: r.cluster.kubeconfig for name, r in regions.items()},
    }


def serving_outputs(plane: ServingPlane) -> dict[str, object]:
    """A region's serving plane as operators and alerting read it."""
    return {
        "endpoint": plane.endpoint,
        "namespace": plane.namespace,
        "rayService": plane.ray_service_name,
        "serveService": plane.serve_service_name,
        "metricsPort": plane.metrics_port,
        "loadBalancerArnSuffix": plane.load_balancer_arn_suffix,
        "targetGroupArnSuffix": plane.target_group_arn_suffix,
    }
