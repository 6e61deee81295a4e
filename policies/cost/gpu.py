"""GPU capacity: which instance types, how many GPUs per pool / region / stack, and how
dev pools are bought (spot) and scaled (to zero when idle)."""

from __future__ import annotations

import fnmatch
from collections import defaultdict

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.common.context import AWS_PROVIDER, environment_of
from policies.common.policy import ResourcePolicy, StackPolicy
from policies.common.settings import ENVIRONMENT, ENVIRONMENTS, Setting, config_schema, resolve
from policies.cost.pools import (
    CAPACITY_TYPE_LABEL,
    INSTANCE_TYPE_LABEL,
    POOL_TYPES,
    GpuPool,
    gpu_pool,
)
from policies.cost.stackinfo import StackIndex

ALLOWED_TYPES = Setting(
    "allowedInstanceTypes",
    {"type": "array", "items": {"type": "string"}, "minItems": 1},
    ["g4dn.*", "g5.*", "g6.*", "g6e.*"],
    "GPU instance types pools may use; shell patterns such as 'g6e.*' are allowed.",
)
MAX_PER_POOL = Setting("maxGpusPerPool", {"type": "integer", "minimum": 0}, 16, "Most GPUs one pool may reach at its maximum size.")
MAX_PER_REGION = Setting("maxGpusPerRegion", {"type": "integer", "minimum": 0}, 64, "Most GPUs all pools in one region may reach together.")
MAX_PER_STACK = Setting("maxGpusPerStack", {"type": "integer", "minimum": 0}, 192, "Most GPUs all pools in the stack may reach together.")
DEV_ONLY = Setting(
    "environments",
    {"type": "array", "items": {"type": "string", "enum": list(ENVIRONMENTS)}},
    ["dev"],
    "Environments in which the policy applies.",
)


def _label(args: ResourceValidationArgs, pool: GpuPool) -> str:
    return f"{pool.kind} '{args.name}'"


def allowed(instance_type: str, patterns: list[str]) -> bool:
    """Whether ``instance_type`` matches one of the allow-list ``patterns``."""
    return any(fnmatch.fnmatchcase(instance_type, p) for p in patterns)


def validate_gpu_instance_types(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """GPU pools use only allow-listed instance types."""
    if args.resource_type not in POOL_TYPES:
        return
    pool = gpu_pool(args.resource_type, args.props)
    if pool is None:
        return
    patterns = [str(p) for p in resolve(args, ALLOWED_TYPES)[ALLOWED_TYPES.name]]
    if not pool.instance_types:
        where = f"a requirement on {INSTANCE_TYPE_LABEL}" if pool.kind == "NodePool" else "instance_types"
        report_violation(f"{_label(args, pool)} does not pin its GPU instance types; list them in {where} (allowed: {', '.join(patterns)}).", None)
        return
    denied = [t for t in pool.gpu_types if not allowed(t, patterns)]
    if denied:
        report_violation(
            f"{_label(args, pool)} uses {', '.join(denied)}, not allowed in this environment; use {', '.join(patterns)} "
            "or add the type to the policy's allowedInstanceTypes for this environment.",
            None,
        )


def gpu_instance_types() -> ResourcePolicy:
    return ResourcePolicy(
        resource_types=POOL_TYPES,
        name="gpu-instance-types-allowed",
        description="GPU pools use only the instance types allowed in the environment.",
        validate=validate_gpu_instance_types,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(ALLOWED_TYPES),
        tags=["gpu", "cost"],
    )


def validate_gpu_pool_max(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A GPU pool is bounded and cannot grow past the per-pool GPU limit."""
    if args.resource_type not in POOL_TYPES:
        return
    pool = gpu_pool(args.resource_type, args.props)
    if pool is None:
        return
    limit = int(resolve(args, MAX_PER_POOL)[MAX_PER_POOL.name])
    reach = pool.max_gpus
    if reach is None:
        fix = "set spec.limits['nvidia.com/gpu'] (and the llmops.io/max-nodes annotation)" if pool.kind == "NodePool" else "set scaling_config.max_size"
        report_violation(f"{_label(args, pool)} has no upper bound on GPUs; {fix} so it reaches at most {limit} GPUs.", None)
    elif reach > limit:
        report_violation(
            f"{_label(args, pool)} can reach {reach} GPUs, above the per-pool limit of {limit}; lower its maximum size "
            "(or GPU limit) or split the capacity across pools.",
            None,
        )


def gpu_pool_max() -> ResourcePolicy:
    return ResourcePolicy(
        resource_types=POOL_TYPES,
        name="gpu-pool-max-gpus",
        description="Each GPU pool is bounded and reaches at most the per-pool GPU limit.",
        validate=validate_gpu_pool_max,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(MAX_PER_POOL),
        tags=["gpu", "cost"],
    )


def _in_scope(args: ResourceValidationArgs) -> bool:
    settings = resolve(args, DEV_ONLY, ENVIRONMENT)
    environment = environment_of(args.props, args.provider, settings)
    return environment is not None and environment in settings[DEV_ONLY.name]


def validate_gpu_spot(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """GPU pools buy spot capacity only (in the listed environments)."""
    if args.resource_type not in POOL_TYPES:
        return
    pool = gpu_pool(args.resource_type, args.props)
    if pool is None or not _in_scope(args):
        return
    if set(pool.capacity_types) != {"spot"}:
        if pool.kind == "NodePool":
            fix = f"require {CAPACITY_TYPE_LABEL} In ['spot']"
        elif pool.kind == "NodeGroup":
            fix = "set capacity_type='SPOT'"
        else:
            fix = "set instance_market_options={'market_type': 'spot'}"
        report_violation(f"{_label(args, pool)} buys {' and '.join(pool.capacity_types)} capacity; {fix}.", None)


def gpu_spot() -> ResourcePolicy:
    return ResourcePolicy(
        resource_types=POOL_TYPES,
        name="gpu-spot-in-dev",
        description="GPU pools in dev run on spot capacity.",
        validate=validate_gpu_spot,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(DEV_ONLY, ENVIRONMENT),
        tags=["gpu", "cost"],
    )


def validate_gpu_scale_to_zero(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """GPU pools keep no node running when idle (in the listed environments)."""
    if args.resource_type not in POOL_TYPES:
        return
    pool = gpu_pool(args.resource_type, args.props)
    if pool is None or not _in_scope(args):
        return
    if pool.kind == "Instance":
        report_violation(f"{_label(args, pool)} is a standalone GPU instance that runs until deleted; use a GPU pool that scales to zero.", None)
    elif pool.min_nodes is None and pool.kind == "NodeGroup":
        report_violation(f"{_label(args, pool)} does not set scaling_config.min_size; set it to 0.", None)
    elif pool.min_nodes:
        fix = "set the llmops.io/min-nodes annotation to '0'" if pool.kind == "NodePool" else "set scaling_config.min_size=0 (and desired_size=0)"
        report_violation(f"{_label(args, pool)} keeps {pool.min_nodes} GPU node(s) running when idle; {fix}.", None)


def gpu_scale_to_zero() -> ResourcePolicy:
    return ResourcePolicy(
        resource_types=POOL_TYPES,
        name="gpu-scale-to-zero-in-dev",
        description="GPU pools in dev scale to zero nodes when idle.",
        validate=validate_gpu_scale_to_zero,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(DEV_ONLY, ENVIRONMENT),
        tags=["gpu", "cost"],
    )


def validate_gpu_capacity(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """All GPU pools together stay within the per-region and per-stack GPU limits."""
    settings = resolve(args, MAX_PER_REGION, MAX_PER_STACK)
    region_limit, stack_limit = int(settings[MAX_PER_REGION.name]), int(settings[MAX_PER_STACK.name])
    index: StackIndex | None = None
    by_region: dict[str, list[tuple[str, int]]] = defaultdict(list)
    total = 0
    for r in args.resources:
        if r.resource_type not in POOL_TYPES:
            continue
        pool = gpu_pool(r.resource_type, r.props)
        if pool is None or pool.max_gpus is None:
            continue  # unbounded pools are reported by gpu-pool-max-gpus
        index = index or StackIndex(args.resources)
        region = index.region(r) or "unknown region"
        by_region[region].append((r.name, pool.max_gpus))
        total += pool.max_gpus
    for region, pools in sorted(by_region.items()):
        reach = sum(n for _, n in pools)
        if reach > region_limit:
            detail = ", ".join(f"{name}: {n}" for name, n in pools)
            report_violation(
                f"GPU pools in {region} can reach {reach} GPUs together ({detail}), above the per-region limit of "
                f"{region_limit}; lower their maximum sizes or move capacity to another region.",
                None,
            )
    if total > stack_limit:
        report_violation(
            f"GPU pools in the stack can reach {total} GPUs together, above the per-stack limit of {stack_limit}; "
            "lower pool maximum sizes or raise maxGpusPerStack in the policy config for this environment.",
            None,
        )


def gpu_capacity_limits() -> StackPolicy:
    return StackPolicy(
        name="gpu-capacity-limits",
        # The pools' properties, and the providers' (regions); every other resource only for
        # the parent walk that finds a Kubernetes pool's region.
        properties_of=[*POOL_TYPES, AWS_PROVIDER],
        description="GPU pools together stay within the per-region and per-stack GPU limits.",
        validate=validate_gpu_capacity,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(MAX_PER_REGION, MAX_PER_STACK),
        tags=["gpu", "cost"],
    )
