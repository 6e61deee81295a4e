"""Network exposure: no data store reachable from the internet, and no security group
open to the whole internet except the listener ports of a public load balancer."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.common.props import flag, get, items, number, strings
from policies.common.settings import Setting, config_schema, resolve
from policies.security.documents import statements

PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
_ANYONE = ("*",)


# --------------------------------------------------------------------------- data stores


def _rds_public(props: Mapping[str, Any]) -> list[str]:
    if flag(props.get("publiclyAccessible")) is True:
        return ["is publicly accessible; set publicly_accessible=False and reach it from inside the VPC"]
    return []


def _opensearch_network_policy(props: Mapping[str, Any]) -> list[str]:
    if props.get("type") != "network":
        return []
    if any(isinstance(rule, Mapping) and flag(rule.get("AllowFromPublic")) is True for rule in items(props.get("policy"))):
        return ['allows access from the public internet; set "AllowFromPublic": false and list "SourceVPCEs" in the network policy']
    return []


def _opensearch_domain(props: Mapping[str, Any]) -> list[str]:
    if not strings(get(props, "vpcOptions", "subnetIds")):
        return ["has a public endpoint; set vpc_options={'subnet_ids': [...], 'security_group_ids': [...]} to place it in the VPC"]
    return []


def _bucket_acl(props: Mapping[str, Any]) -> list[str]:
    acl = props.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        return [f"has the public canned ACL '{acl}'; use 'private' (or no ACL) and share objects through presigned URLs or CloudFront"]
    grants = items(get(props, "accessControlPolicy", "grants"))
    if any(get(g, "grantee", "uri") in _PUBLIC_GRANTEES for g in grants):
        return ["grants access to AllUsers/AuthenticatedUsers; remove those grants"]
    return []


def _bucket_policy(props: Mapping[str, Any]) -> list[str]:
    for statement in statements(props.get("policy")):
        if statement.allows and set(statement.principals) & set(_ANYONE) and not statement.condition:
            return ['allows any principal ("Principal": "*") without a condition; name the principals or add a condition such as aws:SourceVpce']
    return []


DATA_STORE_CHECKS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "aws:rds/instance:Instance": _rds_public,
    "aws:rds/clusterInstance:ClusterInstance": _rds_public,
    "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy": _opensearch_network_policy,
    "aws:opensearch/domain:Domain": _opensearch_domain,
    "aws:s3/bucket:Bucket": _bucket_acl,
    "aws:s3/bucketV2:BucketV2": _bucket_acl,
    "aws:s3/bucketAcl:BucketAcl": _bucket_acl,
    "aws:s3/bucketAclV2:BucketAclV2": _bucket_acl,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_policy,
}


def validate_no_public_data_stores(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Databases, search domains and buckets are not reachable from the internet."""
    check = DATA_STORE_CHECKS.get(args.resource_type)
    if check is None:
        return
    for problem in check(args.props):
        report_violation(f"{args.resource_type.split(':')[-1]} '{args.name}' {problem}.", None)


def no_public_data_stores() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="no-public-data-stores",
        description="Databases, search domains and S3 buckets are not reachable from the public internet.",
        validate=validate_no_public_data_stores,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        tags=["network", "data"],
    )


# --------------------------------------------------------------------------- ingress

PUBLIC_LB_PORTS = Setting(
    "publicLoadBalancerPorts",
    {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 65535}},
    [80, 443],
    "Ports an internet-facing load balancer's security group may open to 0.0.0.0/0.",
)

_SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
_LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer")


@dataclass(frozen=True)
class OpenRule:
    """An ingress rule open to the whole internet."""

    owner: PolicyResource
    """The resource that declares the rule (a security group or a rule resource)."""
    group: PolicyResource | None
    """The security group it applies to, when known."""
    protocol: str
    from_port: int
    to_port: int
    source: str

    def ports(self) -> str:
        if self.protocol in ("-1", "all"):
            return "all ports"
        return f"{self.protocol} {self.from_port}" if self.from_port == self.to_port else f"{self.protocol} {self.from_port}-{self.to_port}"


def is_anywhere(cidr: Any) -> bool:
    """``0.0.0.0/0`` or ``::/0`` (any spelling of the whole address space)."""
    try:
        return isinstance(cidr, str) and ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def _port(value: Any, default: int) -> int:
    n = number(value)
    return int(n) if n is not None else default


def _rule(owner: PolicyResource, group: PolicyResource | None, rule: Mapping[str, Any], sources: Iterable[str]) -> list[OpenRule]:
    protocol = str(rule.get("protocol") or rule.get("ipProtocol") or "-1").lower()
    return [
        OpenRule(owner, group, protocol, _port(rule.get("fromPort"), 0), _port(rule.get("toPort"), 65535), source)
        for source in sources
        if is_anywhere(source)
    ]


def _referenced(resource: PolicyResource, prop: str, by_type: str, by_value: Mapping[str, PolicyResource]) -> list[PolicyResource]:
    """Resources of type ``by_type`` that ``resource.props[prop]`` points at (property
    dependencies first, as the engine reports them; else matching ids)."""
    found = [r for r in resource.property_dependencies.get(prop, []) if r.resource_type == by_type]
    if found:
        return found
    return [by_value[v] for v in strings(resource.props.get(prop)) if v in by_value]


def open_rules(resources: list[PolicyResource]) -> list[OpenRule]:
    """Every ingress rule in the stack whose source is the whole internet."""
    groups = [r for r in resources if r.resource_type == _SECURITY_GROUP]
    by_id = {str(g.props["id"]): g for g in groups if isinstance(g.props.get("id"), str)}
    rules: list[OpenRule] = []
    for r in resources:
        t = r.resource_type
        if t in (_SECURITY_GROUP, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
            for rule in items(r.props.get("ingress")):
                if isinstance(rule, Mapping):
                    sources = strings(rule.get("cidrBlocks")) + strings(rule.get("ipv6CidrBlocks"))
                    rules += _rule(r, r if t == _SECURITY_GROUP else None, rule, sources)
        elif t == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            targets = _referenced(r, "securityGroupId", _SECURITY_GROUP, by_id)
            sources = strings(r.props.get("cidrIpv4")) + strings(r.props.get("cidrIpv6"))
            rules += _rule(r, targets[0] if targets else None, r.props, sources)
        elif t == "aws:ec2/securityGroupRule:SecurityGroupRule" and r.props.get("type") == "ingress":
            targets = _referenced(r, "securityGroupId", _SECURITY_GROUP, by_id)
            sources = strings(r.props.get("cidrBlocks")) + strings(r.props.get("ipv6CidrBlocks"))
            rules += _rule(r, targets[0] if targets else None, r.props, sources)
    return rules


def public_load_balancer_groups(resources: list[PolicyResource]) -> set[str]:
    """URNs of security groups attached to an internet-facing load balancer."""
    groups = {str(r.props["id"]): r for r in resources if r.resource_type == _SECURITY_GROUP and isinstance(r.props.get("id"), str)}
    urns: set[str] = set()
    for r in resources:
        if r.resource_type in _LOAD_BALANCERS and flag(r.props.get("internal")) is not True:
            if r.props.get("loadBalancerType") in ("network", "gateway") and not r.props.get("securityGroups"):
                continue
            urns.update(g.urn for g in _referenced(r, "securityGroups", _SECURITY_GROUP, groups))
    return urns


def validate_no_public_ingress(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """No ingress from 0.0.0.0/0 or ::/0, except a public load balancer's listener ports."""
    allowed_ports = {int(p) for p in resolve(args, PUBLIC_LB_PORTS)[PUBLIC_LB_PORTS.name]}
    public_groups = public_load_balancer_groups(args.resources)
    for rule in open_rules(args.resources):
        on_public_lb = rule.group is not None and rule.group.urn in public_groups
        if on_public_lb and rule.protocol in ("tcp", "6") and rule.from_port == rule.to_port and rule.from_port in allowed_ports:
            continue
        where = f"security group '{rule.group.name}'" if rule.group is not None else f"'{rule.owner.name}'"
        if on_public_lb:
            fix = f"open only ports {sorted(allowed_ports)} (one rule per port) on a public load balancer's group"
        else:
            fix = ("restrict the source to the VPC CIDR, a known CIDR or a security group; only security groups "
                   "attached to an internet-facing load balancer may accept traffic from anywhere")
        report_violation(
            f"{where} accepts {rule.ports()} from {rule.source} (rule in {rule.owner.resource_type.split(':')[-1]} "
            f"'{rule.owner.name}'); {fix}.",
            rule.owner.urn,
        )


def no_public_ingress() -> StackValidationPolicy:
    return StackValidationPolicy(
        name="no-public-ingress",
        description="Security groups accept no traffic from 0.0.0.0/0 or ::/0, except public load balancers on their listener ports.",
        validate=validate_no_public_ingress,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(PUBLIC_LB_PORTS),
        tags=["network"],
    )

