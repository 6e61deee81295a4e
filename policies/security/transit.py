"""Encryption in transit for the platform's data services. (S3's TLS-only bucket policy is
checked with the bucket's other controls in ``policies.security.storage``, Aurora/RDS's
``rds.force_ssl`` in ``policies.security.database``, load balancer listeners in
``policies.security.loadbalancing``.)"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
)

from policies.common.policy import ResourcePolicy
from policies.common.props import flag, get


def _replication_group(props: Mapping[str, Any]) -> list[str]:
    if flag(props.get("transitEncryptionEnabled")) is not True:
        return ["clients may connect without TLS; set transit_encryption_enabled=True"]
    if props.get("transitEncryptionMode") == "preferred":
        return ["transit_encryption_mode is 'preferred', which still accepts plaintext clients; set it to 'required'"]
    return []


def _cache_cluster(props: Mapping[str, Any]) -> list[str]:
    if props.get("replicationGroupId"):
        return []  # a member of a replication group: the group decides
    if flag(props.get("transitEncryptionEnabled")) is not True:
        return ["clients may connect without TLS; set transit_encryption_enabled=True"]
    return []


MODERN_OPENSEARCH_TLS = ("Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10")


def _opensearch_domain(props: Mapping[str, Any]) -> list[str]:
    problems = []
    if flag(get(props, "domainEndpointOptions", "enforceHttps")) is not True:
        problems.append("the endpoint accepts plain HTTP; set domain_endpoint_options={'enforce_https': True, 'tls_security_policy': 'Policy-Min-TLS-1-2-PFS-2023-10'}")
    elif get(props, "domainEndpointOptions", "tlsSecurityPolicy") not in MODERN_OPENSEARCH_TLS:
        current = get(props, "domainEndpointOptions", "tlsSecurityPolicy") or "the default"
        problems.append(f"the endpoint's TLS policy is {current}; set domain_endpoint_options.tls_security_policy to one of {', '.join(MODERN_OPENSEARCH_TLS)}")
    if flag(get(props, "nodeToNodeEncryption", "enabled")) is not True:
        problems.append("node-to-node traffic is not encrypted; set node_to_node_encryption={'enabled': True}")
    return problems


CHECKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:elasticache/cluster:Cluster": _cache_cluster,
    "aws:opensearch/domain:Domain": _opensearch_domain,
    "aws:elasticsearch/domain:Domain": _opensearch_domain,
}
"""Resource type -> the check that lists its in-transit problems. ElastiCache Serverless and
OpenSearch Serverless always require TLS, so they need no check."""


def validate_tls_in_transit(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Caches and search domains accept TLS connections only."""
    check = CHECKS.get(args.resource_type)
    if check is None:
        return
    for problem in check(args.props):
        report_violation(f"{args.resource_type.split(':')[-1]} '{args.name}': {problem}.", None)


def tls_in_transit() -> ResourcePolicy:
    return ResourcePolicy(
        name="tls-in-transit",
        description="ElastiCache and OpenSearch accept TLS connections only, OpenSearch with a TLS 1.2+ policy.",
        validate=validate_tls_in_transit,
        resource_types=CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        tags=["encryption", "network"],
    )
