"""Logs and monitoring: what happened can be found out afterwards, and alarms reach someone.

- ``log-group-retention``: CloudWatch log groups keep logs for a set time (never forever,
  never less than ``minRetentionDays``).
- ``log-group-kms-in-prod``: in the listed environments (default: prod) log groups are
  encrypted with a customer-managed KMS key.
- ``access-logging``: load balancers write access logs, Global Accelerators flow logs,
  OpenSearch domains application and audit logs, Aurora/RDS export their engine logs.
- ``monitoring-enabled``: alarms have their actions on; RDS instances have Enhanced
  Monitoring and Performance Insights; EC2 instances detailed monitoring.
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

from policies.common.policy import ResourcePolicy, table_validator
from policies.common.props import flag, get, items, number, strings
from policies.common.settings import ENVIRONMENT, ENVIRONMENTS, Setting, config_schema, resolve

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

MIN_RETENTION_DAYS = Setting(
    "minRetentionDays",
    {"type": "integer", "minimum": 1, "maximum": 3653},
    7,
    "Fewest days a log group may keep its logs (CIS and Checkov's CKV_AWS_338 ask for 365).",
)
APPLIES_IN = Setting(
    "environments",
    {"type": "array", "items": {"type": "string", "enum": list(ENVIRONMENTS)}},
    ["prod"],
    "Environments in which the policy applies.",
)


def validate_log_group_retention(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Log groups keep logs for at least minRetentionDays, and not forever."""
    if args.resource_type != LOG_GROUP:
        return
    minimum = int(resolve(args, MIN_RETENTION_DAYS)[MIN_RETENTION_DAYS.name])
    days = number(args.props.get("retentionInDays"))
    if not days:
        report_violation(
            f"log group '{args.name}' keeps its logs forever (no retention_in_days), paying for them indefinitely; "
            f"set retention_in_days (at least {minimum}).",
            None,
        )
    elif days < minimum:
        report_violation(f"log group '{args.name}' keeps logs {int(days)} day(s); set retention_in_days to {minimum} or more.", None)


def log_group_retention() -> ResourcePolicy:
    return ResourcePolicy(
        name="log-group-retention",
        description="CloudWatch log groups set a retention period of at least minRetentionDays.",
        validate=validate_log_group_retention,
        resource_types=[LOG_GROUP],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(MIN_RETENTION_DAYS),
        tags=["logging"],
    )


def _log_group_key(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if props.get("kmsKeyId"):
        return []
    return [
        "is encrypted only with CloudWatch's service key; set kms_key_id to a customer-managed KMS key whose key "
        "policy allows logs.<region>.amazonaws.com (with a kms:EncryptionContext:aws:logs:arn condition)"
    ]


validate_log_group_kms = table_validator({LOG_GROUP: _log_group_key}, environments=APPLIES_IN)
"""Log groups are encrypted with a customer-managed KMS key (in the listed environments)."""


def log_group_kms_in_prod() -> ResourcePolicy:
    return ResourcePolicy(
        name="log-group-kms-in-prod",
        description="Prod CloudWatch log groups are encrypted with a customer-managed KMS key.",
        validate=validate_log_group_kms,
        resource_types=[LOG_GROUP],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(APPLIES_IN, ENVIRONMENT),
        tags=["logging", "encryption"],
    )


# --------------------------------------------------------------------------- access logs


def _load_balancer_logs(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if props.get("loadBalancerType") == "gateway":
        return []  # Gateway Load Balancers have no access logs
    if flag(get(props, "accessLogs", "enabled")) is not True or not get(props, "accessLogs", "bucket"):
        return ["writes no access logs; set access_logs={'bucket': <log bucket>, 'enabled': True} (the bucket may use SSE-S3)"]
    return []


def _accelerator_flow_logs(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(get(props, "attributes", "flowLogsEnabled")) is not True or not get(props, "attributes", "flowLogsS3Bucket"):
        return ["writes no flow logs; set attributes={'flow_logs_enabled': True, 'flow_logs_s3_bucket': <bucket>, 'flow_logs_s3_prefix': ...}"]
    return []


def _opensearch_logs(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    enabled = {
        str(o.get("logType"))
        for o in items(props.get("logPublishingOptions"))
        if isinstance(o, Mapping) and flag(o.get("enabled")) is not False and o.get("cloudwatchLogGroupArn")
    }
    problems = []
    if not enabled & {"ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"}:
        problems.append("publishes no logs; add log_publishing_options for ES_APPLICATION_LOGS (and the slow logs) to a CloudWatch log group")
    if "AUDIT_LOGS" not in enabled:
        problems.append("keeps no audit log; add a log_publishing_options entry with log_type='AUDIT_LOGS' (needs fine-grained access control)")
    return problems


_ENGINE_LOGS = {"aurora-postgresql": "postgresql", "postgres": "postgresql", "aurora-mysql": "error", "mysql": "error", "mariadb": "error"}


def _rds_log_exports(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    wanted = _ENGINE_LOGS.get(str(props.get("engine") or ""))
    if wanted is None:
        return []
    exported = strings(props.get("enabledCloudwatchLogsExports"))
    if wanted not in exported:
        return [f"keeps its engine log only on the instance; set enabled_cloudwatch_logs_exports to include '{wanted}'"]
    return []


ACCESS_LOG_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer_logs,
    "aws:alb/loadBalancer:LoadBalancer": _load_balancer_logs,
    "aws:globalaccelerator/accelerator:Accelerator": _accelerator_flow_logs,
    "aws:opensearch/domain:Domain": _opensearch_logs,
    "aws:elasticsearch/domain:Domain": _opensearch_logs,
    "aws:rds/cluster:Cluster": _rds_log_exports,
    "aws:rds/instance:Instance": _rds_log_exports,
}


def access_logging() -> ResourcePolicy:
    return ResourcePolicy(
        name="access-logging",
        description="Load balancers, Global Accelerators, OpenSearch domains and Aurora/RDS send their access, flow, audit and engine logs somewhere durable.",
        validate=table_validator(ACCESS_LOG_CHECKS),
        resource_types=ACCESS_LOG_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["logging"],
    )


# --------------------------------------------------------------------------- monitoring


def _alarm_actions(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(props.get("actionsEnabled")) is False:
        return ["has its actions switched off, so it notifies nobody; set actions_enabled=True"]
    return []


def _rds_monitoring(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    problems = []
    if not number(props.get("monitoringInterval")):
        problems.append("has no Enhanced Monitoring; set monitoring_interval=60 and monitoring_role_arn to a role with AmazonRDSEnhancedMonitoringRole")
    if flag(props.get("performanceInsightsEnabled")) is not True:
        problems.append("has no Performance Insights; set performance_insights_enabled=True (with performance_insights_kms_key_id)")
    return problems


def _instance_monitoring(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(props.get("monitoring")) is not True:
        return ["has only 5-minute basic monitoring; set monitoring=True for 1-minute detailed metrics"]
    return []


MONITORING_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm_actions,
    "aws:rds/instance:Instance": _rds_monitoring,
    "aws:rds/clusterInstance:ClusterInstance": _rds_monitoring,
    "aws:ec2/instance:Instance": _instance_monitoring,
}


def monitoring_enabled() -> ResourcePolicy:
    return ResourcePolicy(
        name="monitoring-enabled",
        description="Alarms have actions enabled; RDS instances have Enhanced Monitoring and Performance Insights; EC2 instances detailed monitoring.",
        validate=table_validator(MONITORING_CHECKS),
        resource_types=MONITORING_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.LOW,
        tags=["monitoring"],
    )
