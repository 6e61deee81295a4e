"""Prod resilience: stateful resources cannot be deleted by accident and are backed up.

Both policies apply only in the environments they list (default: prod). The environment is
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
    ResourceValidationPolicy,
    Severity,
)

from policies.common.context import environment_of
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
    settings = resolve(args, APPLIES_IN, ENVIRONMENT)
    environment = environment_of(args.props, args.provider, settings)
    return environment is not None and environment in settings[APPLIES_IN.name]


def _deletion_protection(props: Mapping[str, Any]) -> str | None:
    return None if flag(props.get("deletionProtection")) is True else "set deletion_protection=True"


_PROTECTION: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "aws:rds/cluster:Cluster": _deletion_protection,
    "aws:rds/instance:Instance": _deletion_protection,
    "aws:dynamodb/table:Table": lambda p: None if flag(p.get("deletionProtectionEnabled")) is True else "set deletion_protection_enabled=True",
    "aws:eks/cluster:Cluster": _deletion_protection,
}


def validate_deletion_protection(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Databases, tables and clusters have deletion protection on (in the listed environments)."""
    check = _PROTECTION.get(args.resource_type)
    if check is None or not _applies(args):
        return
    fix = check(args.props)
    if fix is not None:
        report_violation(
            f"{args.resource_type.split(':')[-1]} '{args.name}' can be deleted by a single mistaken update or destroy; {fix}.",
            None,
        )


def deletion_protection() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="deletion-protection-in-prod",
        description="Prod databases, tables and EKS clusters have deletion protection enabled.",
        validate=validate_deletion_protection,
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
        problems = _retention(props, "backupRetentionPeriod", 1, minimum, "backup_retention_period")
        if flag(props.get("skipFinalSnapshot")) is True:
            problems.append("skips the final snapshot on delete; set skip_final_snapshot=False and a final_snapshot_identifier")
        return problems
    if resource_type in ("aws:elasticache/serverlessCache:ServerlessCache", "aws:elasticache/replicationGroup:ReplicationGroup"):
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
        "aws:dynamodb/table:Table",
    }
)


def validate_backups(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Databases and caches keep automated backups (in the listed environments)."""
    if args.resource_type not in _BACKED_UP or not _applies(args):
        return
    minimum = int(resolve(args, MIN_RETENTION_DAYS)[MIN_RETENTION_DAYS.name])
    for problem in _backup_problems(args.resource_type, args.props, minimum):
        report_violation(f"{args.resource_type.split(':')[-1]} '{args.name}' {problem}.", None)


def backups() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="backups-in-prod",
        description="Prod databases and caches keep automated backups for at least the configured number of days.",
        validate=validate_backups,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(APPLIES_IN, MIN_RETENTION_DAYS, ENVIRONMENT),
        tags=["resilience"],
    )
