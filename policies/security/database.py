"""Databases and caches: TLS forced by the server, statements logged, clients
authenticated, engines patched.

- ``rds-tls-required``: Aurora/RDS PostgreSQL set ``rds.force_ssl=1`` and MySQL/MariaDB
  ``require_secure_transport=ON`` in the parameter group the cluster or instance uses;
  without it each client decides whether to use TLS.
- ``rds-query-logging``: PostgreSQL parameter groups set ``log_statement`` and
  ``log_min_duration_statement``, so slow and changing statements reach the logs.
- ``rds-baseline``: snapshots carry the cost tags, instances trust a current CA, engines
  are at least the configured versions (older ones carry known vulnerabilities such as
  AWS-2022-004's log_fdw file read).
- ``data-store-authentication``: Redis/Valkey caches require a token or RBAC users,
  OpenSearch domains fine-grained access control, Aurora/RDS accept IAM authentication.
- ``auto-minor-version-upgrade``: RDS and ElastiCache take minor (security) upgrades.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.common.policy import ResourcePolicy, StackPolicy, short_type, table_validator
from policies.common.props import flag, get, items, strings
from policies.common.settings import Setting, config_schema
from policies.common.stack import index, linked

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/instance:Instance"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
CLUSTER_PARAMETERS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
POSTGRES_ENGINES = ("aurora-postgresql", "postgres")
MYSQL_ENGINES = ("aurora-mysql", "aurora", "mysql", "mariadb")


def _parameters(group: PolicyResource | None) -> dict[str, str]:
    if group is None:
        return {}
    return {str(p.get("name")).lower(): str(p.get("value")) for p in items(group.props.get("parameters")) if isinstance(p, Mapping)}


def databases_with_parameters(resources: list[PolicyResource]) -> Iterable[tuple[PolicyResource, str, PolicyResource | None]]:
    """(cluster or instance, engine, the parameter group it uses or None for the default)."""
    cluster_groups = index(resources, [CLUSTER_PARAMETERS], keys=("name", "id"))
    instance_groups = index(resources, [PARAMETERS], keys=("name", "id"))
    for r in resources:
        engine = str(r.props.get("engine") or "")
        if r.resource_type == CLUSTER:
            groups = linked(r, "dbClusterParameterGroupName", [CLUSTER_PARAMETERS], cluster_groups)
        elif r.resource_type == INSTANCE:
            groups = linked(r, "parameterGroupName", [PARAMETERS], instance_groups)
        else:
            continue
        if engine in POSTGRES_ENGINES + MYSQL_ENGINES:
            yield r, engine, (groups[0] if groups else None)


def _group_prop(resource: PolicyResource) -> str:
    return "db_cluster_parameter_group_name" if resource.resource_type == CLUSTER else "parameter_group_name"


def _group_kind(resource: PolicyResource) -> str:
    return "aws.rds.ClusterParameterGroup" if resource.resource_type == CLUSTER else "aws.rds.ParameterGroup"


def validate_rds_tls_required(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Aurora/RDS force TLS through their parameter group."""
    for db, engine, group in databases_with_parameters(list(args.resources)):
        parameters = _parameters(group)
        if engine in POSTGRES_ENGINES:
            name, wanted, ok = "rds.force_ssl", "1", parameters.get("rds.force_ssl") == "1"
        else:
            name, wanted, ok = "require_secure_transport", "ON", parameters.get("require_secure_transport", "").upper() in ("ON", "1")
        if ok:
            continue
        where = f"its parameter group '{group.name}' does not set {name}={wanted}" if group is not None else "it uses the engine's default parameter group"
        report_violation(
            f"{short_type(db.resource_type)} '{db.name}' ({engine}) accepts clients without TLS: {where}; set "
            f"{_group_prop(db)} to an {_group_kind(db)} with {{'name': '{name}', 'value': '{wanted}'}}.",
            db.urn,
        )


def rds_tls_required() -> StackPolicy:
    return StackPolicy(
        name="rds-tls-required",
        description="Aurora/RDS force TLS: rds.force_ssl=1 (PostgreSQL) or require_secure_transport=ON (MySQL) in the parameter group they use.",
        validate=validate_rds_tls_required,
        resource_types=[CLUSTER, INSTANCE, CLUSTER_PARAMETERS, PARAMETERS],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        tags=["encryption", "network", "data"],
    )


def validate_rds_query_logging(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """PostgreSQL parameter groups log statements."""
    for db, engine, group in databases_with_parameters(list(args.resources)):
        if engine not in POSTGRES_ENGINES:
            continue
        parameters = _parameters(group)
        missing = [p for p in ("log_statement", "log_min_duration_statement") if p not in parameters]
        if parameters.get("log_statement") == "none" and "log_statement" not in missing:
            missing.append("log_statement (set to 'ddl' or 'mod', not 'none')")
        if parameters.get("log_min_duration_statement") == "-1":
            missing.append("log_min_duration_statement (set to a threshold in ms, not -1)")
        if not missing:
            continue
        where = f"parameter group '{group.name}'" if group is not None else "the engine's default parameter group"
        report_violation(
            f"{short_type(db.resource_type)} '{db.name}' does not log statements: {where} lacks {', '.join(missing)}; "
            f"use an {_group_kind(db)} with log_statement='ddl' and log_min_duration_statement='1000' (and export "
            "'postgresql' logs to CloudWatch).",
            db.urn,
        )


def rds_query_logging() -> StackPolicy:
    return StackPolicy(
        name="rds-query-logging",
        description="Aurora/RDS PostgreSQL parameter groups set log_statement and log_min_duration_statement.",
        validate=validate_rds_query_logging,
        resource_types=[CLUSTER, INSTANCE, CLUSTER_PARAMETERS, PARAMETERS],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["logging", "data"],
    )


# --------------------------------------------------------------------------- baseline

MINIMUM_ENGINE_VERSIONS = Setting(
    "minimumEngineVersions",
    {"type": "object", "additionalProperties": {"type": "string"}},
    {"aurora-postgresql": "14", "postgres": "14", "aurora-mysql": "3", "mysql": "8.0", "mariadb": "10.11"},
    "Oldest engine version allowed per engine (older releases are past AWS standard support or carry known vulnerabilities).",
)
OUTDATED_CAS = ("rds-ca-2015", "rds-ca-2019")


def _version(text: object) -> tuple[int, ...] | None:
    value = str(text or "").strip()
    if "mysql_aurora." in value:  # 8.0.mysql_aurora.3.05.2 -> 3.05.2
        value = value.split("mysql_aurora.", 1)[1]
    parts = []
    for part in value.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts) or None


def _engine_version(props: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    engine = str(props.get("engine") or "")
    minimum = (settings.get(MINIMUM_ENGINE_VERSIONS.name) or {}).get(engine)
    running = _version(props.get("engineVersion"))
    oldest = _version(minimum)
    if running is None or oldest is None or running[: len(oldest)] >= oldest:
        return []
    return [f"runs {engine} {props.get('engineVersion')}, older than {minimum} (past standard support, with known vulnerabilities); set engine_version to {minimum} or newer"]


def _copy_tags(props: Mapping[str, Any]) -> list[str]:
    if flag(props.get("copyTagsToSnapshot")) is not True:
        return ["does not copy its tags to snapshots, so snapshots escape cost allocation and tag-based access; set copy_tags_to_snapshot=True"]
    return []


def _ca(props: Mapping[str, Any]) -> list[str]:
    ca = props.get("caCertIdentifier") or props.get("caCertificateIdentifier")
    if isinstance(ca, str) and ca in OUTDATED_CAS:
        return [f"trusts the expired certificate authority {ca}; set ca_cert_identifier='rds-ca-rsa2048-g1'"]
    return []


def _rds_baseline(props: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    return _copy_tags(props) + _engine_version(props, settings) + _ca(props)


def _cluster_instance_baseline(props: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    return _ca(props)


BASELINE_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    CLUSTER: _rds_baseline,
    INSTANCE: _rds_baseline,
    CLUSTER_INSTANCE: _cluster_instance_baseline,
}


def rds_baseline() -> ResourcePolicy:
    return ResourcePolicy(
        name="rds-baseline",
        description="Aurora/RDS copy tags to snapshots, trust a current CA and run at least the configured engine versions.",
        validate=table_validator(BASELINE_CHECKS, MINIMUM_ENGINE_VERSIONS),
        resource_types=BASELINE_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(MINIMUM_ENGINE_VERSIONS),
        tags=["data"],
    )


# --------------------------------------------------------------------------- authentication


def _replication_group_auth(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if props.get("authToken") or props.get("authTokenWoVersion") or strings(props.get("userGroupIds")):
        return []
    return ["lets any client that reaches it in, with no password or user; set user_group_ids to an ElastiCache user group (RBAC, IAM users), or auth_token_wo"]


def _serverless_cache_auth(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if str(props.get("engine") or "").lower() == "memcached" or props.get("userGroupId"):
        return []
    return ["lets any client that reaches it in as the default user, with no password; set user_group_id to an ElastiCache user group whose users authenticate (IAM or passwords from Secrets Manager)"]


def _opensearch_auth(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(get(props, "advancedSecurityOptions", "enabled")) is not True:
        return ["has no fine-grained access control, so every principal the access policy admits gets every index; set advanced_security_options={'enabled': True, 'master_user_options': {'master_user_arn': <IAM role ARN>}}"]
    return []


def _rds_iam_auth(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    engine = str(props.get("engine") or "")
    if engine and engine not in POSTGRES_ENGINES + MYSQL_ENGINES:
        return []
    if flag(props.get("iamDatabaseAuthenticationEnabled")) is not True:
        return ["accepts only password logins; set iam_database_authentication_enabled=True so services connect with short-lived IAM tokens"]
    return []


AUTH_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group_auth,
    "aws:elasticache/serverlessCache:ServerlessCache": _serverless_cache_auth,
    "aws:opensearch/domain:Domain": _opensearch_auth,
    "aws:elasticsearch/domain:Domain": _opensearch_auth,
    CLUSTER: _rds_iam_auth,
    INSTANCE: _rds_iam_auth,
}


def data_store_authentication() -> ResourcePolicy:
    return ResourcePolicy(
        name="data-store-authentication",
        description="Caches require authenticated users, OpenSearch domains fine-grained access control, Aurora/RDS accept IAM authentication.",
        validate=table_validator(AUTH_CHECKS),
        resource_types=AUTH_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        tags=["iam", "data"],
    )


# --------------------------------------------------------------------------- patching


def _minor_upgrades(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(props.get("autoMinorVersionUpgrade")) is False:
        return ["turns off automatic minor version upgrades, so security patches wait for a manual upgrade; set auto_minor_version_upgrade=True"]
    return []


UPGRADE_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    CLUSTER: _minor_upgrades,
    INSTANCE: _minor_upgrades,
    CLUSTER_INSTANCE: _minor_upgrades,
    "aws:elasticache/cluster:Cluster": _minor_upgrades,
    "aws:elasticache/replicationGroup:ReplicationGroup": _minor_upgrades,
}


def auto_minor_version_upgrade() -> ResourcePolicy:
    return ResourcePolicy(
        name="auto-minor-version-upgrade",
        description="RDS and ElastiCache take minor version (security) upgrades automatically.",
        validate=table_validator(UPGRADE_CHECKS),
        resource_types=UPGRADE_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["data"],
    )


__all__ = [
    "auto_minor_version_upgrade",
    "data_store_authentication",
    "databases_with_parameters",
    "rds_baseline",
    "rds_query_logging",
    "rds_tls_required",
]
