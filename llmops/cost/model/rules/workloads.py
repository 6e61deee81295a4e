"""Workloads outside the platform's own shape, as ``llmops plan --program`` meets them in
users' programs: Auto Scaling groups (priced from the EC2 catalogue through their launch
template or configuration), ECS services on Fargate (from their task definition), Kinesis
data streams, Lambda functions, and the types whose price depends on catalogue entries not
taken yet (RDS instances, Redshift, CloudFront), which come back unpriced with what AWS
bills for them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from core.catalog.prices import check_instance_type
from llmops.cost.model.rules.base import Context, Priced, Unpriced, hourly_line, number, region_of
from llmops.cost.model.rules.compute import EC2_DEFAULT_ROOT_VOLUME_GB, _block_devices, _node_lines
from llmops.cost.model.types import CostInput, CostLine

# Defaults the AWS APIs apply when an argument is left out (documented API behaviour).
ECS_DEFAULT_DESIRED_COUNT = 0  # aws.ecs.Service desired_count default
KINESIS_DEFAULT_SHARDS = 1  # a provisioned stream needs shard_count; one shard is the least

# --------------------------------------------------------------------------- Auto Scaling


def _first(value: Any) -> Mapping[str, Any]:
    """A nested block as the SDK records it: a mapping, or a one-element list of one."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], Mapping) else {}
    return value if isinstance(value, Mapping) else {}


def _launch_source(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> tuple[str | None, Mapping[str, Any] | None, str]:
    """(instance type, launch template or configuration inputs, where the type came from)."""
    mixed = _first(inputs.get("mixedInstancesPolicy"))
    spec = _first(_first(mixed.get("launchTemplate")).get("launchTemplateSpecification"))
    overrides = _first(mixed.get("launchTemplate")).get("overrides") or []
    refs: list[Any] = [spec.get("launchTemplateId"), spec.get("launchTemplateName")]
    template_ref = _first(inputs.get("launchTemplate"))
    refs += [template_ref.get("id"), template_ref.get("name"), inputs.get("launchConfiguration")]
    source = next((ctx.launch_templates[(item.region, str(r))] for r in refs if r and (item.region, str(r)) in ctx.launch_templates), None)
    override_type = next((str(o.get("instanceType")) for o in overrides if isinstance(o, Mapping) and o.get("instanceType")), None)
    if override_type:
        return override_type, source, "the first instance type override of the mixed instances policy"
    if source is not None and source.get("instanceType"):
        return str(source["instanceType"]), source, "the launch template" if "blockDeviceMappings" in source or "imageId" in source else "the launch configuration"
    where = "launch template or configuration not in the plan" if any(refs) else "no launch template, configuration or instance type override"
    return None, source, where


def _capacity(inputs: Mapping[str, Any], source: Mapping[str, Any] | None) -> Literal["spot", "on-demand"]:
    distribution = _first(_first(inputs.get("mixedInstancesPolicy")).get("instancesDistribution"))
    if distribution:
        base = number(distribution.get("onDemandBaseCapacity"), 0)
        above = number(distribution.get("onDemandPercentageAboveBaseCapacity"), 100)
        return "spot" if base == 0 and above == 0 else "on-demand"
    market = str(_first((source or {}).get("instanceMarketOptions")).get("marketType") or "").lower()
    return "spot" if market == "spot" or (source or {}).get("spotPrice") else "on-demand"


def _root_volume(source: Mapping[str, Any] | None) -> tuple[float, str, str]:
    if source is not None:
        total, volume_type = _block_devices(source.get("blockDeviceMappings") or [])
        if total:
            return total, volume_type, f"root volume {total:g} GB {volume_type} per instance (from the launch template)"
        root = _first(source.get("rootBlockDevice"))
        if root.get("volumeSize"):
            size = number(root.get("volumeSize"), EC2_DEFAULT_ROOT_VOLUME_GB)
            kind = str(root.get("volumeType") or "gp3")
            return size, kind, f"root volume {size:g} GB {kind} per instance (from the launch configuration)"
    size = float(EC2_DEFAULT_ROOT_VOLUME_GB)
    return size, "gp3", f"root volume {size:g} GB gp3 per instance (typical AMI root volume)"


def price_autoscaling_group(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    """An Auto Scaling group: ``minSize`` instances at the minimum, ``desiredCapacity`` (else
    the minimum) expected, each priced as an EC2 instance of its launch template's type."""
    region = region_of(item)
    instance_type, source, where = _launch_source(item, inputs, ctx)
    if instance_type is None:
        raise Unpriced(f"Auto Scaling group whose instance type is not known ({where}); AWS bills its instances as EC2 instances")
    check_instance_type(instance_type, region)
    low = number(inputs.get("minSize"), 0)
    high = max(number(inputs.get("maxSize"), low), low)
    desired = min(max(number(inputs.get("desiredCapacity"), low), low), high)
    volume_gb, volume_type, volume_note = _root_volume(source)
    lines, how = _node_lines(ctx, region, instance_type, _capacity(inputs, source), low, desired, volume_gb, volume_type)
    return Priced(
        lines,
        [
            f"{how} (type from {where})",
            f"minimum minSize {low:g} instance(s); expected desiredCapacity {desired:g} (max {high:g})",
            volume_note,
        ],
    )


# --------------------------------------------------------------------------- ECS on Fargate

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def _task_family(reference: Any) -> str:
    """``family`` of a task definition reference: an ARN (``...:task-definition/web:3``),
    ``family:revision`` or ``family``."""
    text = str(reference or "")
    if "task-definition/" in text:
        text = text.split("task-definition/", 1)[1]
    return text.split(":", 1)[0]


def price_ecs_service(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    """An ECS service on Fargate: ``desiredCount`` tasks around the clock, each billed for the
    task definition's vCPU and memory. Services on EC2 capacity cost nothing themselves
    (their container instances are priced as EC2 instances or Auto Scaling groups)."""
    region = region_of(item)
    strategies = [s for s in inputs.get("capacityProviderStrategies") or [] if isinstance(s, Mapping)]
    providers = {str(s.get("capacityProvider") or "").upper() for s in strategies}
    launch = str(inputs.get("launchType") or "").upper()
    if launch != "FARGATE" and not providers & set(FARGATE_PROVIDERS):
        if launch == "EXTERNAL":
            raise Unpriced("ECS Anywhere service: AWS bills each external instance per hour; the cost model does not price them")
        return Priced([], ["EC2 launch type: its tasks run on container instances priced as EC2 instances or Auto Scaling groups"])
    reference = inputs.get("taskDefinition")
    task = ctx.task_definitions.get((item.region, str(reference))) or ctx.task_definitions.get((item.region, _task_family(reference)))
    if task is None:
        raise Unpriced(
            f"Fargate service whose task definition ({reference or 'not set'}) is not in the plan; AWS bills each task's vCPU and memory per hour"
        )
    cpu_units, memory_mib = number(task.get("cpu"), 0), number(task.get("memory"), 0)
    if not cpu_units or not memory_mib:
        raise Unpriced("Fargate task definition without task-level cpu and memory (Fargate requires both); AWS bills them per hour")
    platform = _first(task.get("runtimePlatform"))
    if str(platform.get("operatingSystemFamily") or "LINUX").upper() != "LINUX":
        raise Unpriced(f"Fargate {platform.get('operatingSystemFamily')} tasks: the price catalogue has Linux Fargate prices only")
    arm = str(platform.get("cpuArchitecture") or "X86_64").upper() == "ARM64"
    suffix = ".arm" if arm else ""
    vcpu, memory_gb = cpu_units / 1024, memory_mib / 1024
    tasks = number(inputs.get("desiredCount"), ECS_DEFAULT_DESIRED_COUNT)
    cpu_price, cpu_unit = ctx.service(f"fargate.vcpu{suffix}", region)
    memory_price, memory_unit = ctx.service(f"fargate.memory{suffix}", region)
    hours = tasks * ctx.hours
    assumptions = [
        f"{tasks:g} task(s) (desiredCount) of {vcpu:g} vCPU and {memory_gb:g} GB ({'ARM64' if arm else 'X86_64'}) around the clock",
        "ephemeral storage beyond the included 20 GB and public IPv4 addresses of tasks not included",
    ]
    if "FARGATE_SPOT" in providers:
        assumptions.append("FARGATE_SPOT capacity is priced at the on-demand rate (an upper bound)")
    return Priced(
        [
            CostLine("Fargate vCPU", cpu_unit, cpu_price, vcpu * hours, vcpu * hours),
            CostLine("Fargate memory", memory_unit, memory_price, memory_gb * hours, memory_gb * hours),
        ],
        assumptions,
    )


# --------------------------------------------------------------------------- Kinesis


def price_kinesis_stream(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    """A Kinesis data stream: shard-hours in provisioned mode, the stream-hour in on-demand
    mode; data is billed per use and stated, not estimated."""
    region = region_of(item)
    mode = str(_first(inputs.get("streamModeDetails")).get("streamMode") or "PROVISIONED").upper()
    retention = number(inputs.get("retentionPeriod"), 24)
    notes = [] if retention <= 24 else [f"extended retention ({retention:g} h) is billed per shard-hour and not included"]
    if mode == "ON_DEMAND":
        return Priced(
            [hourly_line(ctx, "on-demand stream hours", "kinesis.ondemand.stream.hour", region)],
            ["on-demand mode: data ingested and retrieved are billed per GB and not included", *notes],
        )
    shards = number(inputs.get("shardCount"), KINESIS_DEFAULT_SHARDS)
    return Priced(
        [hourly_line(ctx, f"shard hours ({shards:g} shard(s))", "kinesis.shard.hour", region, shards)],
        [f"provisioned mode, {shards:g} shard(s); PUT payload units are billed per million and not included", *notes],
    )


# --------------------------------------------------------------------------- Lambda


def price_lambda_function(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region_of(item)
    return Priced(
        [],
        [
            "billed per request and per GB-second of duration only; the always-free tier covers 1 million requests "
            "and 400,000 GB-seconds a month per account (provisioned concurrency is a resource of its own)"
        ],
    )


# --------------------------------------------------------------------------- priced from catalogue entries not taken yet


def price_db_instance(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    """An RDS DB instance: instance hours of its class and engine (twice with Multi-AZ) plus
    its storage, when the catalogue has them (``rds.instance.<engine>.<class>``)."""
    region = region_of(item)
    klass = str(inputs.get("instanceClass") or "")
    engine = str(inputs.get("engine") or "")
    multi_az = bool(inputs.get("multiAz"))
    storage = number(inputs.get("allocatedStorage"), 0)
    storage_type = str(inputs.get("storageType") or "gp2")
    key = f"rds.instance.{engine}.{klass}"
    if not ctx.catalogue.has_service(key):
        raise Unpriced(
            f"RDS {engine or 'instance'} {klass or '(no instanceClass)'}{' Multi-AZ' if multi_az else ''}: AWS bills instance hours by "
            f"class and engine{' (twice for Multi-AZ)' if multi_az else ''} and {storage:g} GB of {storage_type} storage; "
            f"the price catalogue has no '{key}' price yet"
        )
    instances = 2.0 if multi_az else 1.0
    lines = [hourly_line(ctx, f"{klass} {engine} instance hours", key, region, instances)]
    storage_key = f"rds.storage.{storage_type}"
    if storage and ctx.catalogue.has_service(storage_key):
        price, unit = ctx.service(storage_key, region)
        lines.append(CostLine(f"{storage:g} GB {storage_type} storage", unit, price, storage * instances, storage * instances))
    return Priced(lines, [f"{instances:g} instance(s){' (Multi-AZ standby)' if multi_az else ''}; backups beyond the database size not included"])


def price_redshift_cluster(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    node_type = str(inputs.get("nodeType") or "")
    nodes = number(inputs.get("numberOfNodes"), 1)
    key = f"redshift.node.{node_type}"
    if not ctx.catalogue.has_service(key):
        raise Unpriced(
            f"Redshift {nodes:g} x {node_type or '(no nodeType)'}: AWS bills node hours around the clock (and RA3 managed storage "
            f"per GB-month); the price catalogue has no '{key}' price yet"
        )
    return Priced([hourly_line(ctx, f"{node_type} node hours ({nodes:g})", key, region, nodes)], ["RA3 managed storage not included"])


def price_cloudfront_distribution(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    raise Unpriced(
        "CloudFront bills data transfer out and requests only, with no hourly fee; the usage assumptions have no CDN traffic "
        "figure (the always-free tier covers 1 TB and 10 million requests a month)"
    )
