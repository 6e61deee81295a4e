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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import versions
from components.account import AccountBaseline, AccountBaselineArgs
from components.alerting import (
    PUBLISHERS,
    AlarmThresholds,
    Alerting,
    AlertingArgs,
    OperationsDashboard,
    OperationsDashboardArgs,
)
from components.budget import AnomalyArgs, Budget, BudgetActionArgs, BudgetArgs, TeamBudget
from components.cluster import (
    ApiAccessArgs,
    EksClusterArgs,
    ExistingClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
    SystemNodesArgs,
)
from components.cluster.karpenter import NODE_CLASS
from components.cluster.nodes import SYSTEM_NODE_LABELS
from components.data import (
    Access,
    AuroraArgs,
    Cache,
    CacheArgs,
    DocumentEventsArgs,
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
from components.global_entry import GlobalEntry, GlobalEntryArgs, RegionalEndpoint
from components.helm import Chart
from components.monitoring import Monitored
from components.naming import cluster_name
from components.network import Network, NetworkArgs
from components.observability import LogsArgs, Observability, ObservabilityArgs, PrometheusArgs
from components.prometheus_rules import RuleThresholds
from components.registry import ContainerRegistry, ContainerRegistryArgs
from components.serving_plane import (
    AccessArgs,
    AutoscalerArgs,
    CertificateArgs,
    CpuNodePoolArgs,
    CpuWorkersArgs,
    ExposureArgs,
    GcsArgs,
    HeadArgs,
    IngestionArgs,
    IngestionEventsArgs,
    MigrationsArgs,
    ModelCopyArgs,
    SecretRef,
    ServingPlane,
    ServingPlaneArgs,
    WorkerGroupArgs,
)
from core import gpu_pool
from core.catalog import eks
from core.literals import COST_ALLOCATION_TAG_KEYS
from serving.config import render_serve_config_yaml
from stacks import serve_config as serving_section
from stacks.config import (
    ClusterAccessConfig,
    ClusterConfig,
    DataConfig,
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
    retain_logs: bool
    """Keep the control-plane and flow-log groups when the stack is destroyed (the audit
    trail outlives the stack); elsewhere they go with it. The data stores' own teardown
    (emptied buckets, final snapshots) is :data:`DATA_PROFILES`'."""
    encrypt_logs: bool = False
    """Encrypt the control-plane and flow-log groups with customer-managed KMS keys."""
    load_balancer_controller_replicas: int = 2
    """Replicas of the AWS Load Balancer Controller (one is enough where an outage only
    delays target registration)."""


PROFILES: dict[Environment, EnvironmentProfile] = {
    "dev": EnvironmentProfile(
        deletion_protection=False, karpenter_replicas=1, consolidate_after="1m", retain_logs=False, load_balancer_controller_replicas=1
    ),
    "staging": EnvironmentProfile(deletion_protection=False, karpenter_replicas=2, consolidate_after="5m", retain_logs=False),
    "prod": EnvironmentProfile(
        deletion_protection=True, karpenter_replicas=2, consolidate_after="5m", retain_logs=True, encrypt_logs=True
    ),
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
class AlertProfile:
    """What an environment decides for alerting, metrics and logs (the composition's
    choices; ``llmops:alerting.thresholds`` overrides single thresholds)."""

    alarms: AlarmThresholds
    """CloudWatch alarm thresholds (latency and error rate come from ``llmops:alerting``)."""
    rules: RuleThresholds
    """Prometheus alert thresholds (latency, error rate and cost rate come from the config)."""
    prometheus: PrometheusArgs
    """Retention and replicas of the in-cluster Prometheus and Alertmanager."""
    log_retention_days: int
    """Retention of the pod log groups."""


ALERT_PROFILES: dict[Environment, AlertProfile] = {
    # dev: alarms on lasting trouble only; short retention, single replicas.
    "dev": AlertProfile(
        alarms=AlarmThresholds(evaluation_minutes=15, node_cpu_percent=95, aurora_cpu_percent=95, aurora_acu_percent=95, queue_age_seconds=900),
        rules=RuleThresholds(queue_depth=50, gpu_idle_percent=5, gpu_memory_percent=97, tokens_drop_percent=80),
        prometheus=PrometheusArgs(retention="3d", replicas=1, alertmanager_replicas=1),
        log_retention_days=14,
    ),
    "staging": AlertProfile(
        alarms=AlarmThresholds(evaluation_minutes=10, queue_age_seconds=600),
        rules=RuleThresholds(queue_depth=30, gpu_idle_percent=10, gpu_memory_percent=95, tokens_drop_percent=60),
        prometheus=PrometheusArgs(retention="7d", replicas=1, alertmanager_replicas=1),
        log_retention_days=30,
    ),
    # prod: five minutes of trouble pages someone; two Prometheus and Alertmanager replicas.
    "prod": AlertProfile(
        alarms=AlarmThresholds(evaluation_minutes=5, queue_age_seconds=300),
        rules=RuleThresholds(queue_depth=20, gpu_idle_percent=10, gpu_memory_percent=95, tokens_drop_percent=50),
        prometheus=PrometheusArgs(retention="15d", replicas=2, alertmanager_replicas=2),
        log_retention_days=90,
    ),
}

DASHBOARDS_DIR = Path(__file__).resolve().parents[1] / "dashboards"
"""Grafana dashboards as code (``<name>.json``), provisioned into each cluster's Grafana."""
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class RegionalOperations:
    """A region's alerting and observability; the home region also holds the stack's budget
    and CloudWatch dashboard."""

    alerting: Alerting
    observability: Observability | None
    """None when the region brings its own cluster (its owner monitors it)."""
    budget: Budget | None = None
    dashboard: OperationsDashboard | None = None


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
    serving: ServingPlane | None = None
    """None when the stack has no serving plane."""
    operations: RegionalOperations | None = None
    """Alerting and observability (set once every region's resources exist)."""


def region_provider(region: RegionConfig, tags: dict[str, str], account_id: str) -> aws.Provider:
    """The explicit provider every resource in ``region`` uses, limited to the stack's
    account."""
    return account_provider(f"aws-{region.name}", region.name, tags, account_id)


def account_provider(name: str, region: str, tags: dict[str, str], account_id: str) -> aws.Provider:
    """An explicit AWS provider for ``region`` that refuses credentials of any account but
    the stack's, and tags what it creates with the cost-allocation tags."""
    return aws.Provider(name, region=region, allowed_account_ids=[account_id], default_tags=aws.ProviderDefaultTagsArgs(tags=tags))


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
        encrypt_logs=profile.encrypt_logs,
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
            encrypt_flow_logs=profile.encrypt_logs,
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
    regions = {name: replace(platform, data=planes.get(name)) for name, platform in regions.items()}
    regions = build_serving(config, regions, stack, project)
    operations = build_operations(config, regions, stack, project)
    return {name: replace(platform, operations=operations[name]) for name, platform in regions.items()}


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
        iam_db_user=SERVING_DB_USER,
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
            events=document_events_args(config),
        ),
        opts=opts,
    )
    return DataPlane(vector_store=vector_store, cache=cache, documents=documents)


INGEST_RUN_DEADLINE_SECONDS = 6 * 3600
"""An ingest run that takes longer is stopped (the next resumes where it ended)."""
EVENT_VISIBILITY_SECONDS = 300
"""How long a document event stays hidden once the trigger received it (it extends it while
it holds the event)."""


def events_trigger(config: PlatformConfig) -> bool:
    """New documents start ingest runs: ingestion on, by events, with a serving plane."""
    ingestion = config.data.ingestion
    serving = config.serving is not None and config.serving.enabled
    return serving and ingestion.enabled and ingestion.trigger in ("events", "both")


def document_events_args(config: PlatformConfig) -> DocumentEventsArgs | None:
    """The document bucket's event queue, when new documents start ingest runs."""
    if not events_trigger(config):
        return None
    ingestion = config.data.ingestion
    return DocumentEventsArgs(
        prefix=ingestion.prefix,
        consumer="the ingestion trigger",
        max_receive_count=ingestion.events.max_receive_count,
        retention_seconds=ingestion.events.retention_days * 24 * 3600,
        visibility_timeout_seconds=EVENT_VISIBILITY_SECONDS,
        # Events wait while a run is under way (up to its deadline), then for the debounce.
        held_seconds=INGEST_RUN_DEADLINE_SECONDS + ingestion.events.debounce_seconds + EVENT_VISIBILITY_SECONDS,
    )


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
            "eventsQueueUrl": d.events_queue_url,
            "eventsQueueArn": d.events_queue_arn,
            "eventsDeadLetterQueueArn": d.events_dead_letter_queue_arn,
        },
    }


# --------------------------------------------------------------------------- serving


def _bounded(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` characters, ending in a short hash of the whole when cut."""
    if len(name) <= limit:
        return name
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"


def foreign_registry_note(config: PlatformConfig) -> str | None:
    """What must hold for the release image in another account's ECR registry to be pulled
    (None: the image is in the stack's own account, or not in ECR)."""
    import re

    serving = config.serving
    if serving is None:
        return None
    match = re.match(r"^(\d{12})\.dkr\.ecr\.", serving.release.image)
    if match is None or match.group(1) == config.account.id:
        return None
    return (
        f"llmops:serving.release.image: the image is in account {match.group(1)}'s registry and this stack deploys "
        f"into {config.account.id}: its nodes pull across accounts, which works once the stack that manages that "
        f"repository lists {config.account.id} in llmops:serving.registry.pullAccountIds"
    )


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


def model_prefix(model_id: str, revision: str) -> str:
    """Where a model revision lives in a region's document bucket (the copy job writes it,
    replicas read it): ``models/<id>/<revision>/``."""
    return f"models/{model_id.strip('/')}/{revision}/"


def region_serve_config_yaml(
    config: PlatformConfig,
    region: RegionConfig,
    model_bucket: pulumi.Input[str] | None = None,
    wiring: serving_section.DataWiring | None = None,
) -> tuple[pulumi.Input[str], dict[str, dict[str, int]]]:
    """The region's ``serveConfigV2`` and the custom Ray resources of each worker group. With
    a model bucket, the release model's backends load its copy there (``s3_uri``); with the
    region's data plane (``wiring``), the applications reach its stores."""
    serving = config.serving
    assert serving is not None
    base, problems = serving_section.base_serve_config(serving)
    if base is None:
        raise ValueError("the serve config has problems: " + "; ".join(map(str, problems)))
    placed = serving_section.placements(config, base, region)
    resources = serving_section.group_resources(placed)
    release = serving.release

    def render(model_uri: Mapping[str, str] | None = None) -> str:
        rendered = serving_section.region_serve_config(base, placed, model_uri)
        return render_serve_config_yaml(serving_section.wire_data_plane(rendered, wiring) if wiring is not None else rendered)

    if model_bucket is None or release.model_id is None or release.model_revision is None:
        return render(), resources
    key, prefix = f"{release.model_id}@{release.model_revision}", model_prefix(release.model_id, release.model_revision)
    return pulumi.Output.from_input(model_bucket).apply(lambda bucket: render({key: f"s3://{bucket}/{prefix}"})), resources


def _text(value: object) -> str:
    """An output of a data store as text (numbers as integers; empty while unknown)."""
    if value is None:
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def env_files_supported(region: RegionConfig) -> bool:
    """Whether the region's cluster reads environment variables from files (EnvFiles, on by
    default from Kubernetes 1.35); a cluster brought as it is is taken to."""
    if region.cluster.existing is not None:
        return True
    return tuple(int(p) for p in region.cluster.kubernetes_version.split(".")) >= (1, 35)


@dataclass(frozen=True)
class DataBindings:
    """What a region's data plane gives its serving plane."""

    env: dict[str, pulumi.Input[str]]
    secret_env: dict[str, SecretRef]
    access: AccessArgs
    gcs: GcsArgs | None
    model_copy: ModelCopyArgs | None
    model_bucket: pulumi.Input[str] | None
    wiring: serving_section.DataWiring | None = None
    migrations: MigrationsArgs | None = None


SERVING_DB_USER = "llmops_serving"
"""The database user the serving pods log in as with IAM tokens (the vector store creates
its ``rds-db:connect`` policy for it; the migrations create the role)."""


def data_bindings(config: PlatformConfig, region: str, plane: DataPlane | None) -> DataBindings:
    """The serving plane's view of the region's data stores, all from their outputs:

    - the document bucket (read; the release model's copy under ``models/``);
    - the vector store: Aurora's endpoint in libpq's variables, the pods logging in as
      :data:`SERVING_DB_USER` with IAM tokens (the store's ``rds-db:connect`` policy on their
      role), the schema migrated first by a Job that alone reads the master secret; a global
      database's secondary region reads its local replica the same way and migrates nothing;
      or OpenSearch Serverless's collection endpoint, with SigV4 requests;
    - the cache: its TLS endpoint, the IAM-authenticated user and the cache's ARN (the
      store's ``elasticache:Connect`` policy on the role);
    - the GCS Redis and its token (Ray's GCS takes a password only).
    """
    serving = config.serving
    assert serving is not None
    if plane is None:
        return DataBindings({}, {}, AccessArgs(), None, None, None)
    data = config.data
    release = serving.release
    documents, cache, vectors = plane.documents, plane.cache, plane.vector_store
    env: dict[str, pulumi.Input[str]] = {}
    secrets: dict[str, SecretRef] = {}
    keys: dict[str, pulumi.Input[str]] = {"documents": documents.kms_key_arn}
    policies: dict[str, pulumi.Input[str]] = {"vectors": vectors.access_policy_arn, "cache": cache.access_policy_arn}
    collections: dict[str, pulumi.Input[str]] = {}
    migrations = None
    if data.vector_store_engine == "aurora-pgvector":
        # A global database's secondary regions hold read-only replicas: they read locally.
        writer = not data.global_database or region == config.home_region
        database: dict[str, pulumi.Input[str]] = {
            "PGHOST": (vectors.endpoint if writer else vectors.reader_endpoint).apply(_text),
            "PGPORT": vectors.port.apply(_text),
            "PGDATABASE": vectors.database_name.apply(_text),
            serving_section.PG_DSN_ENV: "sslmode=verify-full",
        }
        env.update(database, PGUSER=SERVING_DB_USER)
        if writer:
            migrations = MigrationsArgs(
                master_secret_arn=vectors.master_secret_arn.apply(_text),
                admin_policy_arn=vectors.admin_policy_arn.apply(_text),
                env=database,
            )
    else:
        env[serving_section.OPENSEARCH_ENDPOINT_ENV] = vectors.endpoint.apply(_text)
        collections["vectors"] = vectors.collection_name.apply(_text)
    env.update(
        {
            serving_section.CACHE_URL_ENV: pulumi.Output.all(cache.endpoint, cache.port).apply(lambda v: f"rediss://{_text(v[0])}:{_text(v[1])}"),
            serving_section.CACHE_USER_ENV: cache.user_name.apply(_text),
            serving_section.CACHE_ARN_ENV: cache.cache_arn.apply(_text),
        }
    )
    wiring = serving_section.DataWiring(
        vector_engine=data.vector_store_engine, serving_role=SERVING_DB_USER, cache_cluster_mode=data.cache.mode == "serverless"
    )
    gcs = None
    if data.gcs_fault_tolerance.enabled and not env_files_supported(config.region(region)):
        pulumi.log.warn(
            f"{region}: the GCS Redis exists but the RayService does not use it: the Ray head reads its token through "
            "an env file (valueFrom.fileKeyRef), which Kubernetes runs from 1.35; set the region's "
            "cluster.kubernetesVersion to '1.35' to turn GCS fault tolerance on"
        )
    elif data.gcs_fault_tolerance.enabled:
        address = pulumi.Output.all(cache.gcs_endpoint, cache.gcs_port).apply(lambda v: f"rediss://{_text(v[0])}:{_text(v[1])}")
        gcs = GcsArgs(redis_address=address, password=SecretRef(cache.gcs_auth_secret_arn.apply(_text), "password"))
        keys["cache"] = cache.kms_key_arn
    copy = None
    if release.model_id is not None and release.model_revision is not None:
        size = release.model_parameter_count_b
        copy = ModelCopyArgs(
            model_id=release.model_id,
            revision=release.model_revision,
            bucket_name=documents.bucket_name,
            bucket_arn=documents.bucket_arn,
            prefix=model_prefix(release.model_id, release.model_revision),
            hub_token=_secret_ref(serving.hub_token_secret) if serving.hub_token_secret else None,
            kms_key_arn=documents.kms_key_arn,
            # 16-bit weights plus the hub's download cache, with room.
            disk_gib=max(50, int(size * 2 * 2.5) + 20) if size is not None else 100,
        )
    return DataBindings(
        env=env,
        secret_env=secrets,
        access=AccessArgs(read_bucket_arns={"documents": documents.bucket_arn}, kms_key_arns=keys, policy_arns=policies, search_collections=collections),
        gcs=gcs,
        model_copy=copy,
        model_bucket=documents.bucket_name if copy is not None else None,
        wiring=wiring,
        migrations=migrations,
    )


def ingestion_args(data: DataConfig, plane: DataPlane | None) -> IngestionArgs | None:
    """Ingestion of the region's document bucket, on a schedule and/or by its events (None:
    off, or no data plane)."""
    ingestion = data.ingestion
    if plane is None or not ingestion.enabled:
        return None
    prefix = ingestion.prefix
    documents = plane.documents
    events = None
    if ingestion.trigger in ("events", "both"):
        events = IngestionEventsArgs(
            queue_url=documents.events_queue_url.apply(_text),
            queue_arn=documents.events_queue_arn.apply(_text),
            debounce_seconds=ingestion.events.debounce_seconds,
            visibility_timeout_seconds=EVENT_VISIBILITY_SECONDS,
            history=ingestion.events.history,
        )
    return IngestionArgs(
        source_uri=documents.bucket_name.apply(lambda bucket: f"s3://{_text(bucket)}/{prefix}"),
        schedule=ingestion.schedule if ingestion.trigger in ("schedule", "both") else None,
        time_zone=ingestion.time_zone,
        events=events,
        actors=ingestion.actors,
        actor_cpus=ingestion.actor_cpus,
        workers=ingestion.workers,
        worker_cpu=ingestion.worker_cpu,
        worker_memory_gib=ingestion.worker_memory_gib,
        active_deadline_seconds=INGEST_RUN_DEADLINE_SECONDS,
    )


def serving_plane_args(config: PlatformConfig, platform: RegionalPlatform, stack: str, project: str) -> ServingPlaneArgs:
    """The region's serving plane as the component takes it."""
    serving = config.serving
    assert serving is not None
    region = config.region(platform.region)
    network, cluster, provider = platform.network, platform.cluster, platform.provider
    profile = PROFILES[config.environment]
    bound = data_bindings(config, region.name, platform.data)
    serve_yaml, resources = region_serve_config_yaml(config, region, bound.model_bucket, bound.wiring)
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
        gcs=bound.gcs,
        secret_env={**bound.secret_env, **{name: _secret_ref(value) for name, value in serving.secrets.items()}},
        env=bound.env,
        access=bound.access,
        model_copy=bound.model_copy,
        migrations=bound.migrations,
        ingestion=ingestion_args(config.data, platform.data),
        exposure=ExposureArgs(
            scheme=serving.exposure.scheme,
            vpc_id=vpc_id,
            subnet_ids=subnets,
            node_security_group_id=node_security_group_id(platform),
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


def build_serving(config: PlatformConfig, regions: dict[str, RegionalPlatform], stack: str, project: str) -> dict[str, RegionalPlatform]:
    """Every region's serving plane (on its data plane), the image repository when the
    stack manages it, and the global entry."""
    serving = config.serving
    if serving is None or not serving.enabled:
        return regions
    served = {
        name: replace(
            platform,
            serving=ServingPlane(
                f"{name}-serving",
                serving_plane_args(config, platform, stack, project),
                opts=pulumi.ResourceOptions(providers={"aws": platform.provider, "kubernetes": platform.cluster.k8s_provider}),
            ),
        )
        for name, platform in regions.items()
    }
    home = served[config.home_region].provider
    note = foreign_registry_note(config)
    if note is not None:
        pulumi.log.info(note)
    if serving.registry.manage:
        ContainerRegistry(
            f"{config.home_region}-serving-image",
            registry_args(config, served, stack, project),
            opts=pulumi.ResourceOptions(providers=[home]),
        )
    if serving.entry is not None:
        GlobalEntry(
            f"{config.home_region}-serving-entry",
            global_entry_args(config, served),
            opts=pulumi.ResourceOptions(providers=[home]),
        )
    return served


def registry_args(config: PlatformConfig, regions: dict[str, RegionalPlatform], stack: str, project: str) -> ContainerRegistryArgs:
    """The serving image's repository in the home region, replicated into the replica
    regions (each with its AWS provider: the region's, or one of its own for a region the
    stack does not run in)."""
    serving = config.serving
    assert serving is not None
    tags = config.cost_tags(stack, project)
    providers = {
        name: regions[name].provider if name in regions else account_provider(f"aws-{name}-registry", name, tags, config.account.id)
        for name in serving.registry.replica_regions
        if name != config.home_region
    }
    return ContainerRegistryArgs(
        region=config.home_region,
        repository=serving.registry.repository,
        replicate_to=providers,
        force_delete=not PROFILES[config.environment].deletion_protection,
        pull_account_ids=tuple(serving.registry.pull_account_ids),
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
# --------------------------------------------------------------------------- operations


def alarm_thresholds(config: PlatformConfig) -> AlarmThresholds:
    """The environment's alarm thresholds with the stack config's latency, error rate and
    overrides."""
    alerting = config.alerting
    overrides = {
        name: value
        for name, value in alerting.thresholds.model_dump().items()
        if value is not None and name in AlarmThresholds.__dataclass_fields__
    }
    from_config = {"error_rate_percent": alerting.error_rate_percent, "latency_p99_seconds": alerting.latency_p99_ms / 1000}
    return replace(ALERT_PROFILES[config.environment].alarms, **{**from_config, **overrides})


def rule_thresholds(config: PlatformConfig) -> RuleThresholds:
    """The environment's Prometheus thresholds with the stack config's latency, error rate,
    cost rate (default: the monthly budget spread over the month) and overrides."""
    alerting = config.alerting
    overrides = {
        name: value
        for name, value in alerting.thresholds.model_dump().items()
        if value is not None and name in RuleThresholds.__dataclass_fields__
    }
    from_config = {
        "latency_p99_ms": alerting.latency_p99_ms,
        "error_rate_percent": alerting.error_rate_percent,
        "cost_per_hour_usd": config.budget.monthly_usd / HOURS_PER_MONTH,
    }
    return replace(ALERT_PROFILES[config.environment].rules, **{**from_config, **overrides})


def region_monitoring(platform: RegionalPlatform) -> tuple[Monitored, ...]:
    """What the alarms of a region watch: every component's ``monitoring`` description (the
    network's NAT gateways, the data plane's Aurora cluster and serverless cache, the serving
    plane's load balancer, a created cluster's nodes and Karpenter's interruption queue)."""
    found: list[Monitored] = list(platform.network.monitoring) if platform.network else []
    if platform.data is not None:
        found += [*platform.data.vector_store.monitoring, *platform.data.cache.monitoring, *platform.data.documents.monitoring]
    if platform.serving is not None:
        found += platform.serving.monitoring
    found += platform.cluster.monitoring
    return tuple(found)


def grafana_dashboards(directory: Path = DASHBOARDS_DIR) -> dict[str, str]:
    """The dashboards as code, by file stem."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.json"))}


def alerting_args(config: PlatformConfig, region: str, name: str, monitored: tuple[Monitored, ...], tags: dict[str, str]) -> AlertingArgs:
    """A region's topic, receivers and alarms. The home region's topic also takes budget and
    anomaly notifications."""
    alerting = config.alerting
    publishers = [p for p in PUBLISHERS if region == config.home_region or p not in ("budgets.amazonaws.com", "costalerts.amazonaws.com")]
    if alerting.metrics != "amp":
        publishers.remove("aps.amazonaws.com")
    return AlertingArgs(
        region=region,
        name_prefix=name,
        emails=tuple(alerting.emails or config.budget.alert_emails),
        webhooks=tuple(alerting.webhooks),
        publishers=tuple(publishers),
        monitored=monitored,
        thresholds=alarm_thresholds(config),
        runbook_base=alerting.runbook_base_url,
        tags=tags,
    )


def observability_args(
    config: PlatformConfig, platform: RegionalPlatform, name: str, alerting: Alerting, tags: dict[str, str]
) -> ObservabilityArgs:
    """A created cluster's metrics stack, rules, dashboards and pod logs."""
    profile = ALERT_PROFILES[config.environment]
    logs = config.alerting.logs
    return ObservabilityArgs(
        region=platform.region,
        cluster_name=platform.cluster.cluster_name,
        topic_arn=alerting.topic_arn,
        topic_key_arn=alerting.key_arn,
        name_prefix=name,
        metrics=config.alerting.metrics,
        prometheus=profile.prometheus,
        rules=rule_thresholds(config),
        runbook_base=config.alerting.runbook_base_url,
        dashboards=grafana_dashboards(),
        logs=LogsArgs(retention_days=logs.retention_days or profile.log_retention_days, kms=logs.kms) if logs.enabled else None,
        subnet_ids=platform.network.private_subnet_ids if platform.network else None,
        kubernetes_version=config.region(platform.region).cluster.kubernetes_version,
        depends_on=[platform.cluster],
        tags=tags,
    )


def gpu_launcher_roles(config: PlatformConfig, regions: Mapping[str, RegionalPlatform]) -> list[pulumi.Output[str]]:
    """The roles that launch the stack's GPU instances: Karpenter's controller in every
    region whose cluster the stack creates with Karpenter (what the stop-GPU budget action
    denies launches to unless ``llmops:budget.action.roleNames`` names others)."""
    return [
        platform.cluster.karpenter_role_name
        for name, platform in sorted(regions.items())
        if config.region(name).cluster.existing is None and config.region(name).cluster.capacity_provider == "karpenter"
    ]


def budget_args(
    config: PlatformConfig,
    stack: str,
    project: str,
    topic_arn: pulumi.Output[str],
    tags: dict[str, str],
    launcher_roles: Sequence[pulumi.Input[str]] = (),
) -> BudgetArgs:
    """The stack's budget. Account-wide resources (tag activation, the account's anomaly
    monitor) only where ``llmops:budget.accountSingletons`` says this stack owns them. The
    stop-GPU action, when on, applies to ``llmops:budget.action.roleNames``, or else to
    ``launcher_roles`` (:func:`gpu_launcher_roles`)."""
    budget = config.budget
    singletons = budget.account_singletons
    anomaly = budget.anomaly
    teams = tuple(
        TeamBudget(name=t.name, monthly_usd=t.monthly_usd, tag_key=t.tag_key, tag_value=t.tag_value or t.name, emails=tuple(t.emails))
        for t in budget.teams
    )
    return BudgetArgs(
        budget_name=f"{project}-{stack}",
        stack=stack,
        monthly_usd=budget.monthly_usd,
        thresholds_percent=tuple(budget.thresholds_percent),
        topic_arn=topic_arn,
        emails=tuple(budget.alert_emails),
        teams=teams,
        anomaly=AnomalyArgs(
            threshold_usd=anomaly.threshold_usd,
            create_account_monitor=singletons,
            monitor_arns=(anomaly.monitor_arn,) if anomaly.monitor_arn else (),
        )
        if anomaly.enabled
        else None,
        action=BudgetActionArgs(
            role_names=tuple(budget.action.role_names) or tuple(launcher_roles),
            threshold_percent=budget.action.threshold_percent,
            approval=budget.action.approval,
        )
        if budget.action.enabled
        else None,
        activate_tags=tuple(dict.fromkeys([*COST_ALLOCATION_TAG_KEYS, *(t.tag_key for t in teams)])) if singletons else (),
        tags=tags,
    )


def anomaly_alerts_gap(config: PlatformConfig) -> str | None:
    """Why anomaly alerts are on but reach no one: the stack neither owns the account's
    anomaly monitor (``accountSingletons``) nor names it (``anomaly.monitorArn``); None when
    they reach the topic (or are off)."""
    budget = config.budget
    if not budget.anomaly.enabled or budget.account_singletons or budget.anomaly.monitor_arn:
        return None
    return (
        "llmops:budget.anomaly: no Cost Anomaly Detection alerts yet: this stack does not own the account-wide cost "
        "resources (llmops:budget.accountSingletons: false) and names no monitor (anomaly.monitorArn). Set "
        "accountSingletons: true on the one stack of the account that owns them, once its tags show in billing "
        "(about a day after the first deploy), and give the other stacks its monitor's ARN; or set anomaly.enabled: false"
    )


def build_operations(
    config: PlatformConfig, regions: dict[str, RegionalPlatform], stack: str, project: str
) -> dict[str, RegionalOperations]:
    """Alerting and observability in every region; the budget and the CloudWatch dashboard
    in the home region."""
    tags = config.cost_tags(stack, project)
    operations: dict[str, RegionalOperations] = {}
    monitored_by_region: dict[str, tuple[Monitored, ...]] = {}
    for name, platform in regions.items():
        prefix = cluster_name(project, stack, name)
        monitored = region_monitoring(platform)
        monitored_by_region[name] = monitored
        aws_only = pulumi.ResourceOptions(providers=[platform.provider])
        alerting = Alerting(f"{name}-alerting", alerting_args(config, name, prefix, monitored, tags), opts=aws_only)
        observability = None
        if config.region(name).cluster.existing is None:
            observability = Observability(
                f"{name}-observability",
                observability_args(config, platform, prefix, alerting, tags),
                opts=pulumi.ResourceOptions(providers={"aws": platform.provider, "kubernetes": platform.cluster.k8s_provider}),
            )
        operations[name] = RegionalOperations(alerting=alerting, observability=observability)
    home = regions[config.home_region]
    home_opts = pulumi.ResourceOptions(providers=[home.provider])
    gap = anomaly_alerts_gap(config)
    if gap is not None:
        pulumi.log.warn(gap)

    budget = Budget(
        f"{config.home_region}-budget",
        budget_args(config, stack, project, operations[config.home_region].alerting.topic_arn, tags, gpu_launcher_roles(config, regions)),
        opts=home_opts,
    )
    # CloudWatch refuses a dashboard without widgets: a stack of brought clusters has none.
    dashboard = (
        OperationsDashboard(
            f"{config.home_region}-dashboard",
            OperationsDashboardArgs(dashboard_name=f"{project}-{stack}", monitored=monitored_by_region),
            opts=home_opts,
        )
        if any(monitored_by_region.values())
        else None
    )
    operations[config.home_region] = replace(operations[config.home_region], budget=budget, dashboard=dashboard)
    return operations


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
                **({"serving": serving_outputs(r.serving)} if r.serving is not None else {}),
            }
            for name, r in regions.items()
        },
        # Secret as a whole; kept apart so the region details above stay readable.
        "kubeconfigs": {name: r.cluster.kubeconfig for name, r in regions.items()},
        **operations_outputs(config, regions),
    }


def operations_outputs(config: PlatformConfig, regions: dict[str, RegionalPlatform]) -> dict[str, object]:
    """Where alerts go (the topic of each region), the budget and the dashboard."""
    operations = {name: r.operations for name, r in regions.items() if r.operations is not None}
    home = operations.get(config.home_region)
    return {
        "alerting": {
            "topicArns": {name: o.alerting.topic_arn for name, o in operations.items()},
            "alarmCount": {name: len(o.alerting.alarm_names) for name, o in operations.items()},
            "logGroups": {name: o.observability.log_group_names for name, o in operations.items() if o.observability},
            "budgetName": home.budget.budget_name if home and home.budget else None,
            "dashboardArn": home.dashboard.dashboard_arn if home and home.dashboard else None,
        }
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
