"""Prod resilience: stateful resources cannot be deleted by accident, are backed up, and
survive the loss of an Availability Zone.

The policies apply only in the environments they list (default: prod). The environment is
the resource's ``Environment`` tag (its own or its AWS provider's default tags), else the
policy config's ``environment`` (set by ``config/<env>.json``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
)

from policies.common.context import in_environments
from policies.common.policy import Check, ResourcePolicy, short_type, table_validator
from policies.common.props import flag, get, number
from policies.common.settings import ENVIRONMENT, ENVIRONMENTS, Setting, config_schema, resolve

APPLIES_IN = Setting(
    "environments",
    {"type": "array", "items": {"type": "string", "enum": list(ENVIRONMENTS)}},
    ["prod"],
    "Environments in which the policy applies.",
)
MIN_RETENTION_DAYS = Setting(
    "minRetentionDays",
    {"type": "integer", "minimum": 1, "maximum": 35},
    7,
    "Fewest days of automated backups (RDS) or snapshots (ElastiCache) to keep.",
)


def _applies(args: ResourceValidationArgs) -> bool:
    return in_environments(args, APPLIES_IN)


def _deletion_protection(props: Mapping[str, Any]) -> str | None:
    return None if flag(props.get("deletionProtection")) is True else "set deletion_protection=True"


_PROTECTION: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "aws:rds/cluster:Cluster": _deletion_protection,
    "aws:rds/instance:Instance": _deletion_protection,
    "aws:dynamodb/table:Table": lambda p: None if flag(p.get("deletionProtectionEnabled")) is True else "set deletion_protection_enabled=True",
    "aws:rds/globalCluster:GlobalCluster": _deletion_protection,
    "aws:eks/cluster:Cluster": _deletion_protection,
    "aws:lb/loadBalancer:LoadBalancer": lambda p: None if flag(p.get("enableDeletionProtection")) is True else "set enable_deletion_protection=True",
    "aws:alb/loadBalancer:LoadBalancer": lambda p: None if flag(p.get("enableDeletionProtection")) is True else "set enable_deletion_protection=True",
}


def validate_deletion_protection(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Databases, tables and clusters have deletion protection on (in the listed environments)."""
    check = _PROTECTION.get(args.resource_type)
    if check is None or not _applies(args):
        return
    fix = check(args.props)
    if fix is not None:
        report_violation(
            f"{short_type(args.resource_type)} '{args.name}' can be deleted by a single mistaken update or destroy; {fix}.",
            None,
        )


def deletion_protection() -> ResourcePolicy:
    return ResourcePolicy(
        name="deletion-protection-in-prod",
        description="Prod databases, tables, EKS clusters and load balancers have deletion protection enabled.",
        validate=validate_deletion_protection,
        resource_types=_PROTECTION,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(APPLIES_IN, ENVIRONMENT),
        tags=["resilience"],
    )


def _retention(props: Mapping[str, Any], key: str, default: float, minimum: int, field: str) -> list[str]:
    days = number(props.get(key))
    days = default if days is None else days
    if days < minimum:
        return [f"keeps {int(days)} day(s) of backups; set {field}={minimum} or more"]
    return []


def _backup_problems(resource_type: str, props: Mapping[str, Any], minimum: int) -> list[str]:
    if resource_type in ("aws:rds/cluster:Cluster", "aws:rds/instance:Instance"):
        if props.get("replicateSourceDb"):
            return []  # a read replica: its source keeps the backups
        problems = _retention(props, "backupRetentionPeriod", 1, minimum, "backup_retention_period")
        if flag(props.get("skipFinalSnapshot")) is True:
            problems.append("skips the final snapshot on delete; set skip_final_snapshot=False and a final_snapshot_identifier")
        return problems
    if resource_type in ("aws:elasticache/serverlessCache:ServerlessCache", "aws:elasticache/replicationGroup:ReplicationGroup"):
        if str(props.get("engine") or "").lower() == "memcached":
            return []  # Memcached keeps no snapshots
        return _retention(props, "snapshotRetentionLimit", 0, minimum, "snapshot_retention_limit")
    if resource_type == "aws:elasticache/cluster:Cluster":
        if props.get("replicationGroupId") or str(props.get("engine") or "").lower() == "memcached":
            return []  # the replication group decides; Memcached keeps no snapshots
        return _retention(props, "snapshotRetentionLimit", 0, minimum, "snapshot_retention_limit")
    if resource_type == "aws:dynamodb/table:Table" and flag(get(props, "pointInTimeRecovery", "enabled")) is not True:
        return ["has no point-in-time recovery; set point_in_time_recovery={'enabled': True}"]
    return []


_BACKED_UP = frozenset(
    {
        "aws:rds/cluster:Cluster",
        "aws:rds/instance:Instance",
        "aws:elasticache/serverlessCache:ServerlessCache",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
        "aws:dynamodb/table:Table",
    }
)


def validate_backups(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Databases and caches keep automated backups (in the listed environments)."""
    if args.resource_type not in _BACKED_UP or not _applies(args):
        return
    minimum = int(resolve(args, MIN_RETENTION_DAYS)[MIN_RETENTION_DAYS.name])
    for problem in _backup_problems(args.resource_type, args.props, minimum):
        report_violation(f"{short_type(args.resource_type)} '{args.name}' {problem}.", None)


def backups() -> ResourcePolicy:
    return ResourcePolicy(
        name="backups-in-prod",
        description="Prod databases and caches keep automated backups for at least the configured number of days.",
        validate=validate_backups,
        resource_types=_BACKED_UP,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(APPLIES_IN, MIN_RETENTION_DAYS, ENVIRONMENT),
        tags=["resilience"],
    )


# --------------------------------------------------------------------------- availability


def _multi_az_instance(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if props.get("replicateSourceDb"):
        return []
    if flag(props.get("multiAz")) is not True:
        return ["runs in one Availability Zone; set multi_az=True (a standby in a second zone takes over in about a minute)"]
    return []


def _replication_group_failover(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    problems = []
    if flag(props.get("automaticFailoverEnabled")) is not True:
        problems.append("does not fail over by itself; set automatic_failover_enabled=True with at least one replica")
    if flag(props.get("multiAzEnabled")) is not True:
        problems.append("keeps its replicas in one zone; set multi_az_enabled=True")
    return problems


def _search_domain_masters(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    config = get(props, "clusterConfig") or {}
    problems = []
    count = number(get(config, "dedicatedMasterCount"))
    if flag(get(config, "dedicatedMasterEnabled")) is not True or (count is not None and count < 3):
        problems.append("has no quorum of dedicated master nodes; set cluster_config.dedicated_master_enabled=True and dedicated_master_count=3")
    if flag(get(config, "zoneAwarenessEnabled")) is not True:
        problems.append("keeps every shard in one zone; set cluster_config.zone_awareness_enabled=True with zone_awareness_config.availability_zone_count=3")
    return problems


_AVAILABILITY: dict[str, Check] = {
    "aws:rds/instance:Instance": _multi_az_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group_failover,
    "aws:opensearch/domain:Domain": _search_domain_masters,
    "aws:elasticsearch/domain:Domain": _search_domain_masters,
}


validate_high_availability = table_validator(_AVAILABILITY, environments=APPLIES_IN)
"""Databases, caches and search domains survive the loss of a zone (in the listed environments)."""


def high_availability() -> ResourcePolicy:
    return ResourcePolicy(
        name="high-availability-in-prod",
        description="Prod RDS instances are Multi-AZ, replication groups fail over across zones, search domains have three dedicated masters and zone awareness.",
        validate=validate_high_availability,
        resource_types=_AVAILABILITY,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(APPLIES_IN, ENVIRONMENT),
        tags=["resilience"],
    )
