"""Retrieval data: Aurora (Serverless v2), ElastiCache (serverless and node-based),
OpenSearch Serverless, S3, and the Secrets Manager rotation functions the data stores deploy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops.cost.model.rules.base import (
    Context,
    Priced,
    Unpriced,
    number,
    region_of,
    usage_line,
)
from llmops.cost.model.types import CostInput, CostLine

ELASTICACHE_MIN_DATA_GB = {"valkey": 0.1, "redis": 1.0, "memcached": 1.0}  # serverless minimum metered data
OPENSEARCH_MIN_OCUS = {"ENABLED": 2.0, "DISABLED": 1.0}  # per account/KMS key: with / without standby replicas


def _scaling(inputs: Mapping[str, Any]) -> tuple[float, float] | None:
    config = inputs.get("serverlessv2ScalingConfiguration")
    if isinstance(config, list):
        config = config[0] if config else None
    if not config:
        return None
    low = number(config.get("minCapacity"), 0.5)
    return low, max(number(config.get("maxCapacity"), low), low)


def _io_optimized(inputs: Mapping[str, Any]) -> bool:
    return str(inputs.get("storageType") or "") == "aurora-iopt1"


def price_rds_cluster(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    engine = str(inputs.get("engine") or "aurora-postgresql")
    if not engine.startswith("aurora"):
        raise Unpriced(f"engine {engine}: only Aurora clusters are in the price catalogue")
    iopt = _io_optimized(inputs)
    gb = ctx.usage.aurora_storage_gb
    return Priced(
        [usage_line(ctx, "Aurora storage", "aurora.storage.iopt" if iopt else "aurora.storage", region, gb)],
        [
            f"{gb:g} GB stored (usage auroraStorageGb); I/O {'included (I/O-Optimized)' if iopt else 'requests not included'}",
            "compute is priced on the cluster's instances",
        ],
    )


def price_rds_instance(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    klass = str(inputs.get("instanceClass") or "")
    if klass != "db.serverless":
        raise Unpriced(f"provisioned Aurora instance class '{klass}' is not in the price catalogue")
    cluster = ctx.rds_clusters.get(str(inputs.get("clusterIdentifier") or ""))
    scaling = _scaling(inputs) or (_scaling(cluster) if cluster is not None else None)
    if scaling is None:
        raise Unpriced(
            "db.serverless instance whose cluster (and serverlessv2ScalingConfiguration) is not in the plan"
        )
    low, high = scaling
    iopt = _io_optimized(cluster or {})
    price, unit = ctx.service("aurora.serverless.acu.iopt" if iopt else "aurora.serverless.acu", region)
    util = ctx.usage.aurora_utilization
    expected = low + util * (high - low)
    assumptions = [
        f"expected ACUs = min {low:g} + auroraUtilization {util:g} x (max {high:g} - min {low:g}) = {expected:g}"
    ]
    if low == 0:
        assumptions.append("minCapacity 0: the instance auto-pauses when idle (no ACU charge at the minimum)")
    return Priced([CostLine("Aurora Serverless v2 capacity", unit, price, low * ctx.hours, expected * ctx.hours)], assumptions)


def price_serverless_cache(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    engine = str(inputs.get("engine") or "valkey").lower()
    if engine not in ELASTICACHE_MIN_DATA_GB:
        raise Unpriced(f"ElastiCache serverless engine '{engine}' is not in the price catalogue")
    family = "valkey" if engine == "valkey" else "redis"
    limits = inputs.get("cacheUsageLimits") or {}
    if isinstance(limits, list):
        limits = limits[0] if limits else {}
    storage = limits.get("dataStorage") or {}
    if isinstance(storage, list):
        storage = storage[0] if storage else {}
    floor = max(ELASTICACHE_MIN_DATA_GB[engine], number(storage.get("minimum"), 0.0))
    data = max(ctx.usage.cache_data_gb, floor)
    ecpu = ctx.usage.cache_ecpu_millions_per_month
    price, unit = ctx.service(f"elasticache.serverless.{family}.data", region)
    return Priced(
        [
            CostLine(f"{engine} data stored", unit, price, floor * ctx.hours, data * ctx.hours),
            usage_line(ctx, "ElastiCache Processing Units", f"elasticache.serverless.{family}.ecpu", region, ecpu),
        ],
        [
            f"minimum metered data {floor:g} GB; expected {data:g} GB (usage cacheDataGb)",
            f"{ecpu:g} million ECPUs/month (usage cacheEcpuMillionsPerMonth)",
        ],
    )


def _cache_nodes(inputs: Mapping[str, Any]) -> float:
    """Nodes of a replication group: ``num_cache_clusters`` with cluster mode off, shards x
    (1 + replicas) with it on."""
    if inputs.get("numCacheClusters") is not None:
        return number(inputs.get("numCacheClusters"), 1.0)
    shards = number(inputs.get("numNodeGroups"), 1.0)
    return shards * (1 + number(inputs.get("replicasPerNodeGroup"), 0.0))


def price_replication_group(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    engine = str(inputs.get("engine") or "redis").lower()
    if engine not in ("valkey", "redis"):
        raise Unpriced(f"ElastiCache engine '{engine}' is not in the price catalogue")
    node_type = str(inputs.get("nodeType") or "")
    key = f"elasticache.node.{engine}.{node_type}"
    if not ctx.catalogue.has_service(key):
        raise Unpriced(f"ElastiCache node type '{node_type}' ({engine}) is not in the price catalogue; add '{key}' to it")
    price, unit = ctx.service(key, region)
    nodes = _cache_nodes(inputs)
    hours = nodes * ctx.hours
    return Priced(
        [CostLine(f"{engine} {node_type} nodes ({nodes:g})", unit, price, hours, hours)],
        [f"{nodes:g} node(s) on demand around the clock; snapshots beyond one day's worth and data transfer not included"],
    )


ROTATION_APPLICATIONS = ("RotationSingleUser", "RotationMultiUser")


def price_application_stack(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    application = str(inputs.get("applicationId") or "")
    if application.endswith(ROTATION_APPLICATIONS):
        return Priced(
            [],
            ["a Secrets Manager rotation function: a few seconds of Lambda per rotation, well under USD 0.01 a month"],
        )
    raise Unpriced(f"Serverless Application Repository application '{application}': what it deploys is not known to the cost model")


def price_search_collection(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    standby = str(inputs.get("standbyReplicas") or "ENABLED").upper()
    floor = OPENSEARCH_MIN_OCUS.get(standby, OPENSEARCH_MIN_OCUS["ENABLED"])
    ocus = max(ctx.usage.search_ocus, floor)
    price, unit = ctx.service("opensearch.serverless.ocu", region)
    gb = ctx.usage.search_storage_gb
    return Priced(
        [
            CostLine("OpenSearch Serverless OCUs", unit, price, floor * ctx.hours, ocus * ctx.hours),
            usage_line(ctx, "OpenSearch Serverless storage", "opensearch.serverless.storage", region, gb),
        ],
        [
            f"minimum {floor:g} OCU (standby replicas {standby.lower()}; shared by collections with the same KMS key)",
            f"expected {ocus:g} OCU (usage searchOcus), {gb:g} GB indexed (usage searchStorageGb)",
        ],
    )


def price_bucket(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    gb = ctx.usage.s3_storage_gb_per_bucket
    return Priced(
        [usage_line(ctx, "S3 Standard storage", "s3.standard", region, gb)],
        [f"{gb:g} GB stored (usage s3StorageGbPerBucket); requests and transfer not included"],
    )
