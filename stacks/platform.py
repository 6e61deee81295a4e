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

from dataclasses import dataclass, replace

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
from components.data import (
    Access,
    AuroraArgs,
    Cache,
    CacheArgs,
    DocumentStore,
    DocumentStoreArgs,
    GcsStoreArgs,
    GlobalPrimary,
    GlobalSecondary,
    OpenSearchArgs,
    Placement,
    ReplicationTarget,
    VectorStore,
    VectorStoreArgs,
)
from components.naming import cluster_name
from components.network import Network, NetworkArgs
from core.catalog import eks
from stacks.config import (
    ClusterAccessConfig,
    ClusterConfig,
    DataConfig,
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
    retain_logs: bool
    """Keep the control-plane and flow-log groups when the stack is destroyed (the audit
    trail outlives the stack); elsewhere they go with it. The data stores' own teardown
    (emptied buckets, final snapshots) is :data:`DATA_PROFILES`'."""


PROFILES: dict[Environment, EnvironmentProfile] = {
    "dev": EnvironmentProfile(deletion_protection=False, karpenter_replicas=1, consolidate_after="1m", retain_logs=False),
    "staging": EnvironmentProfile(deletion_protection=False, karpenter_replicas=2, consolidate_after="5m", retain_logs=False),
    "prod": EnvironmentProfile(deletion_protection=True, karpenter_replicas=2, consolidate_after="5m", retain_logs=True),
}


@dataclass(frozen=True)
class DataProfile:
    """What an environment decides for the data plane (the composition's choices; the stack
    file does not set them). Deletion protection follows :attr:`EnvironmentProfile.deletion_protection`."""

    backup_retention_days: int
    """Days of Aurora automated backups."""
    final_snapshot: bool
    """Snapshot the Aurora cluster when it is deleted."""
    vector_store_readers: int
    """Aurora reader instances besides the writer (a failover target in another zone)."""
    search_standby_replicas: bool
    """OpenSearch Serverless standby replicas in another zone."""
    cache_replicas: int
    """Replicas of node-based caches (the replication-group mode, the GCS Redis): >= 1 turns
    on automatic failover and Multi-AZ."""
    cache_snapshot_retention_days: int
    """Days of daily cache snapshots (0: none)."""
    force_destroy_documents: bool
    """Empty the document bucket when the stack is destroyed."""
    document_access_log_days: int
    """Days of S3 server access logs of the document bucket (0: none)."""
    log_retention_days: int
    """Retention of the database's exported engine log."""


DATA_PROFILES: dict[Environment, DataProfile] = {
    "dev": DataProfile(
        backup_retention_days=1, final_snapshot=False, vector_store_readers=0, search_standby_replicas=False,
        cache_replicas=0, cache_snapshot_retention_days=0, force_destroy_documents=True, document_access_log_days=0,
        log_retention_days=14,
    ),
    "staging": DataProfile(
        backup_retention_days=7, final_snapshot=False, vector_store_readers=0, search_standby_replicas=False,
        cache_replicas=1, cache_snapshot_retention_days=1, force_destroy_documents=False, document_access_log_days=30,
        log_retention_days=30,
    ),
    "prod": DataProfile(
        backup_retention_days=14, final_snapshot=True, vector_store_readers=1, search_standby_replicas=True,
        cache_replicas=1, cache_snapshot_retention_days=14, force_destroy_documents=False, document_access_log_days=90,
        log_retention_days=90,
    ),
}


@dataclass(frozen=True)
class DataPlane:
    """A region's data stores."""

    vector_store: VectorStore
    cache: Cache
    documents: DocumentStore


@dataclass
class RegionalPlatform:
    """The resources a region ends up with."""

    region: str
    provider: aws.Provider
    network: Network | None
    """None when the region brings its own cluster (and so its own VPC)."""
    cluster: GpuCluster
    data: DataPlane | None = None
    """None when the data plane is off or the region brings its own cluster."""


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
        retain_logs=profile.retain_logs,
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
            retain_logs=profile.retain_logs,
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
    planes = build_data_planes(config, regions, stack, project)
    return {name: replace(platform, data=planes.get(name)) for name, platform in regions.items()}


# --------------------------------------------------------------------------- data plane


def node_security_group_id(platform: RegionalPlatform) -> pulumi.Output[str]:
    """The security group the region's nodes run with: the EKS cluster security group, which
    managed node groups get and Karpenter's node class selects (by its discovery tag). Read
    from the cluster once it exists (the lookup waits for it)."""
    found = aws.eks.get_cluster_output(name=platform.cluster.cluster_name, opts=pulumi.InvokeOutputOptions(provider=platform.provider))
    return found.vpc_config.cluster_security_group_id


def vector_store_args(
    data: DataConfig, profile: EnvironmentProfile, data_profile: DataProfile, role: GlobalPrimary | GlobalSecondary | None
) -> AuroraArgs | OpenSearchArgs:
    """The vector store's engine settings."""
    if data.vector_store_engine == "opensearch-serverless":
        return OpenSearchArgs(standby_replicas=data_profile.search_standby_replicas)
    return AuroraArgs(
        min_acu=data.min_acu,
        max_acu=data.max_acu,
        auto_pause_seconds=data.auto_pause_minutes * 60,
        readers=data_profile.vector_store_readers,
        backup_retention_days=data_profile.backup_retention_days,
        deletion_protection=profile.deletion_protection,
        final_snapshot=data_profile.final_snapshot,
        log_retention_days=data_profile.log_retention_days,
        global_database=role,
    )


def cache_args(data: DataConfig, data_profile: DataProfile, region: str, identifier: str, placement: Placement) -> CacheArgs:
    """The region's cache, and the GCS fault-tolerance Redis when it is on."""
    gcs = data.gcs_fault_tolerance
    return CacheArgs(
        region=region,
        identifier=identifier,
        placement=placement,
        engine=data.cache_engine,
        mode=data.cache.mode,
        max_data_gb=data.cache.max_data_gb,
        max_ecpu_per_second=data.cache.max_ecpu_per_second,
        node_type=data.cache.node_type,
        replicas=data_profile.cache_replicas,
        snapshot_retention_days=data_profile.cache_snapshot_retention_days,
        gcs=GcsStoreArgs(
            node_type=gcs.node_type,
            replicas=data_profile.cache_replicas,
            snapshot_retention_days=data_profile.cache_snapshot_retention_days,
            auth_token_version=gcs.auth_token_version,
        )
        if gcs.enabled
        else None,
    )


def build_data_plane(config: PlatformConfig, platform: RegionalPlatform, home: DataPlane | None, stack: str, project: str) -> DataPlane:
    """One region's vector store, cache and document bucket, in its private subnets, open to
    its cluster's nodes. The serving plane attaches the stores' access policies to its role
    (their ARNs are outputs); until then no role may use them."""
    assert platform.network is not None
    region = platform.region
    data = config.data
    profile, data_profile = PROFILES[config.environment], DATA_PROFILES[config.environment]
    identifier = cluster_name(project, stack, region)
    placement = Placement(
        vpc_id=platform.network.vpc_id,
        subnet_ids=platform.network.private_subnet_ids,
        client_security_group_ids={"nodes": node_security_group_id(platform)},
    )
    opts = pulumi.ResourceOptions(providers=[platform.provider])
    role: GlobalPrimary | GlobalSecondary | None = None
    if data.global_database:
        role = (
            home.vector_store.secondary()
            if home is not None
            else GlobalPrimary(global_cluster_identifier=f"{project.removesuffix('-platform')}-{stack}-vectors")
        )
    vector_store = VectorStore(
        f"{region}-vectors",
        VectorStoreArgs(
            region=region,
            identifier=identifier,
            placement=placement,
            engine=vector_store_args(data, profile, data_profile, role),
            access=Access(),
        ),
        opts=opts,
    )
    cache = Cache(f"{region}-cache", cache_args(data, data_profile, region, identifier, placement), opts=opts)
    target = None
    if data.documents.replicate_to_home and home is not None:
        target = ReplicationTarget(
            region=config.home_region,
            bucket_arn=home.documents.bucket_arn,
            kms_key_arn=home.documents.kms_key_arn,
            depends_on=[home.documents],
        )
    documents = DocumentStore(
        f"{region}-documents",
        DocumentStoreArgs(
            region=region,
            identifier=identifier,
            noncurrent_version_days=data.documents.noncurrent_version_days,
            force_destroy=data_profile.force_destroy_documents,
            access_log_days=data_profile.document_access_log_days,
            replicate_to=target,
        ),
        opts=opts,
    )
    return DataPlane(vector_store=vector_store, cache=cache, documents=documents)


def build_data_planes(config: PlatformConfig, regions: dict[str, RegionalPlatform], stack: str, project: str) -> dict[str, DataPlane]:
    """The data plane of every region whose network the platform creates, the home region's
    first (secondaries of a global database and document replication point at it)."""
    planes: dict[str, DataPlane] = {}
    if not config.data.enabled:
        return planes
    for name in sorted(regions, key=lambda n: n != config.home_region):
        platform = regions[name]
        if platform.network is not None:
            home = planes.get(config.home_region) if name != config.home_region else None
            planes[name] = build_data_plane(config, platform, home, stack, project)
    return planes


def data_outputs(plane: DataPlane) -> dict[str, object]:
    """What the serving plane, the migrations and operators need of a region's data stores
    (secret ARNs, never secrets)."""
    v, c, d = plane.vector_store, plane.cache, plane.documents
    return {
        "vectorStore": {
            "engine": v.engine,
            "endpoint": v.endpoint,
            "readerEndpoint": v.reader_endpoint,
            "port": v.port,
            "databaseName": v.database_name,
            "masterSecretArn": v.master_secret_arn,
            "iamDbUser": v.iam_db_user,
            "securityGroupId": v.security_group_id,
            "kmsKeyArn": v.kms_key_arn,
            "accessPolicyArn": v.access_policy_arn,
            "adminPolicyArn": v.admin_policy_arn,
            "globalClusterId": v.global_cluster_id,
            "collectionArn": v.collection_arn,
        },
        "cache": {
            "engine": c.engine,
            "mode": c.mode,
            "endpoint": c.endpoint,
            "readerEndpoint": c.reader_endpoint,
            "port": c.port,
            "tls": c.tls,
            "auth": c.auth,
            "userName": c.user_name,
            "securityGroupId": c.security_group_id,
            "accessPolicyArn": c.access_policy_arn,
            "gcsEndpoint": c.gcs_endpoint,
            "gcsPort": c.gcs_port,
            "gcsAuthSecretArn": c.gcs_auth_secret_arn,
        },
        "documents": {
            "bucketName": d.bucket_name,
            "bucketArn": d.bucket_arn,
            "kmsKeyArn": d.kms_key_arn,
            "accessPolicyArn": d.access_policy_arn,
        },
    }


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
                **({"data": data_outputs(r.data)} if r.data else {}),
            }
            for name, r in regions.items()
        },
        # Secret as a whole; kept apart so the region details above stay readable.
        "kubeconfigs": {name: r.cluster.kubeconfig for name, r in regions.items()},
    }
