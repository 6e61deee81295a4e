"""Load balancers (ALB/NLB), the platform's public entry points.

- ``load-balancer-tls``: listeners speak HTTPS/TLS with a current TLS policy; a plain HTTP
  listener only redirects to HTTPS; target groups use TLS to the targets where configured.
- ``load-balancer-baseline``: ALBs drop malformed headers and keep desync mitigation on,
  NLBs balance across zones, HTTP(S) target groups define a health check.
- ``waf-on-public-load-balancers-in-prod``: internet-facing ALBs sit behind a WAF web ACL
  (in the listed environments).

Access logs are checked by ``access-logging``, deletion protection by
``deletion-protection-in-prod``, security groups by ``no-public-ingress``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.common.context import environment_of
from policies.common.policy import ResourcePolicy, StackPolicy, table_validator
from policies.common.props import flag, get, items
from policies.common.settings import ENVIRONMENT, ENVIRONMENTS, Setting, config_schema, resolve
from policies.common.stack import index, linked

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"

ALLOWED_SSL_POLICIES = Setting(
    "allowedSslPolicies",
    {"type": "array", "items": {"type": "string"}, "minItems": 1},
    [
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    ],
    "TLS policies an HTTPS/TLS listener may use: TLS 1.2+ with forward-secret AEAD ciphers only.",
)
REQUIRE_TLS_TO_TARGETS = Setting(
    "requireTlsToTargets",
    {"type": "boolean"},
    False,
    "Require target groups to use HTTPS/TLS as well (end-to-end TLS, Checkov's CKV_AWS_378); false: plain HTTP inside the VPC is allowed.",
)
APPLIES_IN = Setting(
    "environments",
    {"type": "array", "items": {"type": "string", "enum": list(ENVIRONMENTS)}},
    ["prod"],
    "Environments in which the policy applies.",
)


def _redirects_to_https(props: Mapping[str, Any]) -> bool:
    actions = [a for a in items(props.get("defaultActions")) if isinstance(a, Mapping)]
    return bool(actions) and all(a.get("type") == "redirect" and str(get(a, "redirect", "protocol")).upper() == "HTTPS" for a in actions)


def _listener(props: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    protocol = str(props.get("protocol") or "").upper()
    allowed = [str(p) for p in settings[ALLOWED_SSL_POLICIES.name]]
    if protocol in ("HTTPS", "TLS"):
        policy = props.get("sslPolicy")
        if policy not in allowed:
            current = f"the TLS policy {policy}" if policy else "no ssl_policy (the API default, ELBSecurityPolicy-2016-08, still accepts TLS 1.0)"
            return [f"uses {current}; set ssl_policy to one of {', '.join(allowed[:3])} (or another allowed policy)"]
        return []
    if protocol == "HTTP" and not _redirects_to_https(props):
        return [
            "serves plain HTTP; use protocol='HTTPS' with a certificate, or make every default action a redirect "
            "{'type': 'redirect', 'redirect': {'protocol': 'HTTPS', 'port': '443', 'status_code': 'HTTP_301'}}"
        ]
    return []  # TCP/UDP (NLB pass-through) and GENEVE carry whatever the clients speak


def _target_group_protocol(props: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    if settings[REQUIRE_TLS_TO_TARGETS.name] and str(props.get("protocol") or "").upper() == "HTTP":
        return ["sends traffic to its targets as plain HTTP; set protocol='HTTPS' and serve TLS on the targets"]
    return []


TLS_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    **{t: _listener for t in LISTENERS},
    **{t: _target_group_protocol for t in TARGET_GROUPS},
}


def load_balancer_tls() -> ResourcePolicy:
    return ResourcePolicy(
        name="load-balancer-tls",
        description="Load balancer listeners use HTTPS/TLS with a TLS 1.2+ policy, or only redirect HTTP to HTTPS.",
        validate=table_validator(TLS_CHECKS, ALLOWED_SSL_POLICIES, REQUIRE_TLS_TO_TARGETS),
        resource_types=TLS_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(ALLOWED_SSL_POLICIES, REQUIRE_TLS_TO_TARGETS),
        tags=["encryption", "network"],
    )


def _load_balancer(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    kind = props.get("loadBalancerType") or "application"
    problems = []
    if kind == "application":
        if flag(props.get("dropInvalidHeaderFields")) is not True:
            problems.append("forwards requests with malformed headers to the targets; set drop_invalid_header_fields=True")
        if str(props.get("desyncMitigationMode") or "defensive") not in ("defensive", "strictest"):
            problems.append("does not mitigate HTTP desync (request smuggling); set desync_mitigation_mode='defensive' or 'strictest'")
    elif kind in ("network", "gateway") and flag(props.get("enableCrossZoneLoadBalancing")) is not True:
        problems.append("sends each zone's clients only to that zone's targets, so a zone with no healthy target drops them; set enable_cross_zone_load_balancing=True")
    return problems


def _target_group_health(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if str(props.get("protocol") or "").upper() not in ("HTTP", "HTTPS") or props.get("targetType") == "lambda":
        return []
    if flag(get(props, "healthCheck", "enabled")) is False or not get(props, "healthCheck", "path"):
        return ["has no HTTP health check path, so it keeps sending traffic to targets that cannot serve; set health_check={'path': '/health', 'matcher': '200'}"]
    return []


BASELINE_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    **{t: _load_balancer for t in LOAD_BALANCERS},
    **{t: _target_group_health for t in TARGET_GROUPS},
}


def load_balancer_baseline() -> ResourcePolicy:
    return ResourcePolicy(
        name="load-balancer-baseline",
        description="ALBs drop invalid headers and mitigate desync, NLBs balance across zones, HTTP(S) target groups have health checks.",
        validate=table_validator(BASELINE_CHECKS),
        resource_types=BASELINE_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["network"],
    )


def validate_waf_on_public_load_balancers(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Internet-facing ALBs have a WAF web ACL (in the listed environments)."""
    settings = resolve(args, APPLIES_IN, ENVIRONMENT)
    balancers = index(args.resources, LOAD_BALANCERS, keys=("arn", "id"))
    protected: set[str] = set()
    for r in args.resources:
        if r.resource_type == WEB_ACL_ASSOCIATION:
            protected.update(lb.urn for lb in linked(r, "resourceArn", LOAD_BALANCERS, balancers))
    for lb in (r for r in args.resources if r.resource_type in LOAD_BALANCERS):
        if flag(lb.props.get("internal")) is True or (lb.props.get("loadBalancerType") or "application") != "application":
            continue
        environment = environment_of(lb.props, lb.provider, settings)
        if environment is None or environment not in settings[APPLIES_IN.name] or lb.urn in protected:
            continue
        report_violation(
            f"load balancer '{lb.name}' faces the internet with no WAF web ACL; add aws.wafv2.WebAclAssociation("
            "resource_arn=<load balancer ARN>, web_acl_arn=<regional web ACL with the AWS managed rule groups>).",
            lb.urn,
        )


def waf_on_public_load_balancers() -> StackPolicy:
    return StackPolicy(
        name="waf-on-public-load-balancers-in-prod",
        description="Prod internet-facing Application Load Balancers are associated with a WAF web ACL.",
        validate=validate_waf_on_public_load_balancers,
        resource_types=[*LOAD_BALANCERS, WEB_ACL_ASSOCIATION],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(APPLIES_IN, ENVIRONMENT),
        tags=["network"],
    )
