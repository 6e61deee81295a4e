"""Network exposure and VPC hygiene.

- ``no-public-data-stores``: no database, search domain or cache reachable from outside
  its VPC (public flags, public ACLs, default security groups and subnet groups).
- ``no-public-ingress``: no security group open to the internet except a public load
  balancer's listener ports. "Open to the internet" is the union of a group's rules for a
  port (``0.0.0.0/1`` + ``128.0.0.0/1`` is as open as ``0.0.0.0/0``; see
  :mod:`policies.common.cidrs`). EKS node groups with SSH keys and no source groups count:
  EKS opens port 22 to the internet for them.
- ``no-public-ip``: instances, launch templates and subnets do not hand out public IPs.
- ``vpc-baseline``: every VPC has flow logs and a closed default security group, and
  default routes leave through NAT or internet gateways, not instances.
- ``security-group-descriptions``: every security group and rule says what it is for.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.common.cidrs import covers_internet, internet_families, parse, special_purpose
from policies.common.policy import ResourcePolicy, StackPolicy, short_type, table_validator
from policies.common.props import flag, get, items, number, strings
from policies.common.settings import Setting, config_schema, resolve
from policies.common.stack import index, linked

PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")


# --------------------------------------------------------------------------- data stores


def _rds_public(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(props.get("publiclyAccessible")) is True:
        return ["is publicly accessible; set publicly_accessible=False and reach it from inside the VPC"]
    return []


def _opensearch_network_policy(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if props.get("type") != "network":
        return []
    if any(isinstance(rule, Mapping) and flag(rule.get("AllowFromPublic")) is True for rule in items(props.get("policy"))):
        return ['allows access from the public internet; set "AllowFromPublic": false and list "SourceVPCEs" in the network policy']
    return []


def _opensearch_domain(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if not strings(get(props, "vpcOptions", "subnetIds")):
        return ["has a public endpoint; set vpc_options={'subnet_ids': [...], 'security_group_ids': [...]} to place it in the VPC"]
    if not strings(get(props, "vpcOptions", "securityGroupIds")):
        return ["uses the VPC's default security group; set vpc_options.security_group_ids to a group that admits only the clients"]
    return []


def _cache_placement(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if props.get("replicationGroupId"):
        return []  # a member of a replication group: the group decides
    if not props.get("subnetGroupName"):
        return ["uses the default subnet group (the default VPC's subnets); set subnet_group_name to a subnet group of private subnets"]
    return []


def _serverless_cache_placement(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    problems = []
    if not strings(props.get("subnetIds")):
        problems.append("is placed in the default VPC's subnets; set subnet_ids to private subnets")
    if not strings(props.get("securityGroupIds")):
        problems.append("uses the VPC's default security group; set security_group_ids to a group that admits only the clients")
    return problems


def _bucket_acl(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    acl = props.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        return [f"has the public canned ACL '{acl}'; use 'private' (or no ACL) and share objects through presigned URLs or CloudFront"]
    grants = items(get(props, "accessControlPolicy", "grants")) + items(props.get("grants"))
    if any(get(g, "grantee", "uri") in _PUBLIC_GRANTEES or get(g, "uri") in _PUBLIC_GRANTEES for g in grants):
        return ["grants access to AllUsers/AuthenticatedUsers; remove those grants"]
    return []


DATA_STORE_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:rds/instance:Instance": _rds_public,
    "aws:rds/clusterInstance:ClusterInstance": _rds_public,
    "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy": _opensearch_network_policy,
    "aws:opensearch/domain:Domain": _opensearch_domain,
    "aws:elasticsearch/domain:Domain": _opensearch_domain,
    "aws:elasticache/cluster:Cluster": _cache_placement,
    "aws:elasticache/replicationGroup:ReplicationGroup": _cache_placement,
    "aws:elasticache/serverlessCache:ServerlessCache": _serverless_cache_placement,
    "aws:s3/bucket:Bucket": _bucket_acl,
    "aws:s3/bucketV2:BucketV2": _bucket_acl,
    "aws:s3/bucketAcl:BucketAcl": _bucket_acl,
    "aws:s3/bucketAclV2:BucketAclV2": _bucket_acl,
}

validate_no_public_data_stores = table_validator(DATA_STORE_CHECKS)


def no_public_data_stores() -> ResourcePolicy:
    return ResourcePolicy(
        name="no-public-data-stores",
        description="Databases, search domains, caches and S3 buckets are not reachable from outside their VPC or account.",
        validate=validate_no_public_data_stores,
        resource_types=DATA_STORE_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        tags=["network", "data"],
    )


# --------------------------------------------------------------------------- ingress

PUBLIC_LB_PORTS = Setting(
    "publicLoadBalancerPorts",
    {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 65535}},
    [80, 443],
    "Ports an internet-facing load balancer's security group may open to the internet.",
)

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer")
_PROTOCOLS = {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_MAX_PORT = 65535


@dataclass(frozen=True)
class IngressRule:
    """One ingress rule: a protocol, a port range and the CIDRs it admits."""

    owner: PolicyResource
    """The resource that declares the rule (a security group or a rule resource)."""
    group: PolicyResource | None
    """The security group it applies to, when known."""
    protocol: str
    from_port: int
    to_port: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class OpenPorts:
    """Ports of one security group that the internet reaches (its rules' sources together)."""

    group: PolicyResource | None
    rules: tuple[IngressRule, ...]
    protocol: str
    from_port: int
    to_port: int

    def ports(self) -> str:
        if self.protocol == "all":
            return "all ports"
        return f"{self.protocol} {self.from_port}" if self.from_port == self.to_port else f"{self.protocol} {self.from_port}-{self.to_port}"

    def sources(self) -> str:
        cidrs = sorted({s for r in self.rules for s in r.sources if parse(s) is not None}, key=lambda c: (parse(c).version, parse(c)))  # type: ignore[union-attr]
        whole = [c for c in cidrs if parse(c).prefixlen == 0]  # type: ignore[union-attr]
        if whole:
            return ", ".join(whole)
        public = [c for c in cidrs if not special_purpose(c)]
        return f"{', '.join(public)} (together {' and '.join(internet_families(cidrs))})"

    @property
    def owners(self) -> list[PolicyResource]:
        seen: dict[str, PolicyResource] = {}
        for r in self.rules:
            seen.setdefault(r.owner.urn, r.owner)
        return list(seen.values())


def _port(value: Any, default: int) -> int:
    n = number(value)
    return int(n) if n is not None else default


def _rule(owner: PolicyResource, group: PolicyResource | None, rule: Mapping[str, Any], sources: Iterable[str]) -> IngressRule:
    raw = str(rule.get("protocol") or rule.get("ipProtocol") or "-1").lower()
    protocol = _PROTOCOLS.get(raw, raw)
    low, high = (0, _MAX_PORT) if protocol == "all" else (_port(rule.get("fromPort"), 0), _port(rule.get("toPort"), _MAX_PORT))
    if protocol in ("icmp", "icmpv6"):
        low, high = 0, _MAX_PORT  # ICMP "ports" are types and codes: judge the rule as one unit
    return IngressRule(owner, group, protocol, low, high, tuple(sources))


def ingress_rules(resources: list[PolicyResource]) -> list[IngressRule]:
    """Every ingress rule in the stack with a CIDR source."""
    groups = index(resources, [SECURITY_GROUP])
    rules: list[IngressRule] = []
    for r in resources:
        t = r.resource_type
        if t in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
            for rule in items(r.props.get("ingress")):
                if isinstance(rule, Mapping):
                    sources = strings(rule.get("cidrBlocks")) + strings(rule.get("ipv6CidrBlocks"))
                    rules.append(_rule(r, r, rule, sources))
        elif t == INGRESS_RULE or (t == GROUP_RULE and r.props.get("type") == "ingress"):
            targets = linked(r, "securityGroupId", [SECURITY_GROUP], groups)
            keys = ("cidrIpv4", "cidrIpv6") if t == INGRESS_RULE else ("cidrBlocks", "ipv6CidrBlocks")
            sources = [s for k in keys for s in strings(r.props.get(k))]
            rules.append(_rule(r, targets[0] if targets else None, r.props, sources))
    return [r for r in rules if r.sources]


def _open_segments(rules: list[IngressRule]) -> list[OpenPorts]:
    """The port ranges of one group whose rules together admit the whole internet."""
    found: list[OpenPorts] = []
    everything = [r for r in rules if r.protocol == "all"]
    if everything and covers_internet(s for r in everything for s in r.sources):
        return [OpenPorts(rules[0].group, tuple(r for r in everything if r.sources), "all", 0, _MAX_PORT)]
    for protocol in sorted({r.protocol for r in rules if r.protocol != "all"}):
        relevant = [r for r in rules if r.protocol in (protocol, "all")]
        edges = sorted({r.from_port for r in relevant} | {r.to_port + 1 for r in relevant})
        for low, next_edge in itertools.pairwise(edges):
            covering = tuple(r for r in relevant if r.from_port <= low <= r.to_port)
            if covering and covers_internet(s for r in covering for s in r.sources):
                previous = found[-1] if found else None
                if previous and previous.protocol == protocol and previous.to_port == low - 1 and previous.rules == covering:
                    found[-1] = OpenPorts(previous.group, covering, protocol, previous.from_port, next_edge - 1)
                else:
                    found.append(OpenPorts(rules[0].group, covering, protocol, low, next_edge - 1))
    return found


def open_ports(resources: list[PolicyResource]) -> list[OpenPorts]:
    """Every port range a security group opens to the internet (rules of unknown groups
    are judged alone)."""
    by_group: dict[str, list[IngressRule]] = defaultdict(list)
    for rule in ingress_rules(resources):
        by_group[rule.group.urn if rule.group is not None else rule.owner.urn].append(rule)
    return [segment for rules in by_group.values() for segment in _open_segments(rules)]


def public_load_balancer_groups(resources: list[PolicyResource]) -> set[str]:
    """URNs of security groups attached to an internet-facing load balancer."""
    groups = index(resources, [SECURITY_GROUP])
    urns: set[str] = set()
    for r in resources:
        if r.resource_type in LOAD_BALANCERS and flag(r.props.get("internal")) is not True:
            if r.props.get("loadBalancerType") in ("network", "gateway") and not r.props.get("securityGroups"):
                continue
            urns.update(g.urn for g in linked(r, "securityGroups", [SECURITY_GROUP], groups))
    return urns


def validate_no_public_ingress(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """No port open to the internet, except a public load balancer's listener ports."""
    allowed_ports = {int(p) for p in resolve(args, PUBLIC_LB_PORTS)[PUBLIC_LB_PORTS.name]}
    public_groups = public_load_balancer_groups(args.resources)
    for segment in open_ports(args.resources):
        group = segment.group
        on_public_lb = group is not None and group.urn in public_groups
        single_port = segment.from_port == segment.to_port
        if on_public_lb and segment.protocol == "tcp" and single_port and segment.from_port in allowed_ports:
            continue
        owners = segment.owners
        where = f"security group '{group.name}'" if group is not None else f"'{owners[0].name}'"
        declared = ", ".join(f"{short_type(o.resource_type)} '{o.name}'" for o in owners)
        if on_public_lb:
            fix = f"open only ports {sorted(allowed_ports)} (one rule per port) on a public load balancer's group"
        else:
            fix = (
                "restrict the source to the VPC CIDR, a known CIDR or a security group; only security groups "
                "attached to an internet-facing load balancer may accept traffic from anywhere"
            )
        urn = owners[0].urn if len(owners) == 1 else (group.urn if group is not None else owners[0].urn)
        report_violation(f"{where} accepts {segment.ports()} from {segment.sources()} (rules in {declared}); {fix}.", urn)
    for r in args.resources:
        if r.resource_type == NODE_GROUP and get(r.props, "remoteAccess", "ec2SshKey") and not strings(get(r.props, "remoteAccess", "sourceSecurityGroupIds")):
            report_violation(
                f"node group '{r.name}' has remote_access with an SSH key and no source_security_group_ids, so EKS "
                "opens port 22 on its nodes to 0.0.0.0/0; list remote_access.source_security_group_ids, or drop "
                "remote_access and reach nodes through SSM Session Manager.",
                r.urn,
            )


def no_public_ingress() -> StackPolicy:
    return StackPolicy(
        name="no-public-ingress",
        description="No security group is open to the internet (0.0.0.0/0, ::/0 or CIDRs that add up to it), except public load balancers on their listener ports.",
        validate=validate_no_public_ingress,
        resource_types=[SECURITY_GROUP, DEFAULT_SECURITY_GROUP, INGRESS_RULE, GROUP_RULE, NODE_GROUP, *LOAD_BALANCERS],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(PUBLIC_LB_PORTS),
        tags=["network"],
    )


# --------------------------------------------------------------------------- public IPs


def _instance_public_ip(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(props.get("associatePublicIpAddress")) is True:
        return ["gets a public IP address; set associate_public_ip_address=False and place it in a private subnet"]
    return []


def _template_public_ip(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    for interface in items(props.get("networkInterfaces")):
        if isinstance(interface, Mapping) and flag(interface.get("associatePublicIpAddress")) is True:
            return ["gives its instances public IP addresses; set network_interfaces[*].associate_public_ip_address='false'"]
    return []


def _subnet_public_ip(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if flag(props.get("mapPublicIpOnLaunch")) is True:
        return [
            "gives every instance launched in it a public IP address; set map_public_ip_on_launch=False (NAT "
            "gateways and load balancers in public subnets do not need it)"
        ]
    return []


PUBLIC_IP_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:ec2/instance:Instance": _instance_public_ip,
    "aws:ec2/launchTemplate:LaunchTemplate": _template_public_ip,
    "aws:ec2/subnet:Subnet": _subnet_public_ip,
}


def no_public_ip() -> ResourcePolicy:
    return ResourcePolicy(
        name="no-public-ip",
        description="Instances, launch templates and subnets do not assign public IP addresses.",
        validate=table_validator(PUBLIC_IP_CHECKS),
        resource_types=PUBLIC_IP_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        tags=["network", "compute"],
    )


# --------------------------------------------------------------------------- VPC baseline

VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
EIP = "aws:ec2/eip:Eip"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
_DEFAULT_DESTINATIONS = ("0.0.0.0/0", "::/0")


def _instance_routes(resources: list[PolicyResource]) -> Iterable[tuple[PolicyResource, str]]:
    for r in resources:
        if r.resource_type == ROUTE:
            routes: list[Any] = [r.props]
        elif r.resource_type == ROUTE_TABLE:
            routes = items(r.props.get("routes"))
        else:
            continue
        for route in routes:
            if not isinstance(route, Mapping):
                continue
            destination = route.get("destinationCidrBlock") or route.get("cidrBlock") or route.get("destinationIpv6CidrBlock") or route.get("ipv6CidrBlock")
            if destination in _DEFAULT_DESTINATIONS and (route.get("networkInterfaceId") or route.get("instanceId")):
                yield r, str(destination)


def validate_vpc_baseline(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every VPC has flow logs and a closed default security group; default routes do not
    go through instances."""
    resources = args.resources
    vpcs = [r for r in resources if r.resource_type == VPC]
    by_id = index(resources, [VPC])
    logged: set[str] = set()
    closed: dict[str, bool] = {}
    for r in resources:
        if r.resource_type == FLOW_LOG:
            logged.update(v.urn for v in linked(r, "vpcId", [VPC], by_id))
        elif r.resource_type == DEFAULT_SECURITY_GROUP:
            rules = items(r.props.get("ingress")) + items(r.props.get("egress"))
            for vpc in linked(r, "vpcId", [VPC], by_id):
                closed[vpc.urn] = closed.get(vpc.urn, True) and not rules
    for vpc in vpcs:
        if vpc.urn not in logged:
            report_violation(
                f"VPC '{vpc.name}' has no flow log; add aws.ec2.FlowLog(vpc_id=..., traffic_type='ALL') to a "
                "CloudWatch log group or an S3 bucket.",
                vpc.urn,
            )
        if vpc.urn not in closed:
            report_violation(
                f"VPC '{vpc.name}' keeps AWS's default security group, which lets its members reach each other and "
                "the internet; add aws.ec2.DefaultSecurityGroup(vpc_id=...) with no ingress or egress rules.",
                vpc.urn,
            )
        elif not closed[vpc.urn]:
            report_violation(
                f"the default security group of VPC '{vpc.name}' has rules; remove every ingress and egress rule from its "
                "aws.ec2.DefaultSecurityGroup so nothing can use it by accident.",
                vpc.urn,
            )
    eips = index(resources, [EIP], keys=("id", "allocationId"))
    used = {
        e.urn
        for r in resources
        if r.resource_type in (NAT_GATEWAY, EIP_ASSOCIATION)
        for e in linked(r, "allocationId", [EIP], eips)
    }
    for eip in (r for r in resources if r.resource_type == EIP):
        attached = eip.urn in used or any(eip.props.get(k) for k in ("instance", "networkInterface", "associateWithPrivateIp"))
        if not attached:
            report_violation(
                f"elastic IP '{eip.name}' is attached to nothing (no NAT gateway, instance or association uses it); "
                "release it, or attach it where it is meant to serve.",
                eip.urn,
            )
    for route, destination in _instance_routes(resources):
        report_violation(
            f"{short_type(route.resource_type)} '{route.name}' sends {destination} through an instance or network "
            "interface; route it through a NAT gateway (nat_gateway_id) or an internet gateway (gateway_id).",
            route.urn,
        )


def vpc_baseline() -> StackPolicy:
    return StackPolicy(
        name="vpc-baseline",
        description="Every VPC has flow logs and a default security group with no rules; default routes use NAT or internet gateways; elastic IPs are attached.",
        validate=validate_vpc_baseline,
        resource_types=[VPC, FLOW_LOG, DEFAULT_SECURITY_GROUP, ROUTE, ROUTE_TABLE, EIP, NAT_GATEWAY, EIP_ASSOCIATION],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["network", "logging"],
    )


# --------------------------------------------------------------------------- descriptions

_PULUMI_DEFAULT_DESCRIPTION = "Managed by Pulumi"


def _inline_rules_described(props: Mapping[str, Any], kind: str) -> list[str]:
    missing = sum(1 for rule in items(props.get(kind)) if isinstance(rule, Mapping) and not str(rule.get("description") or "").strip())
    return [f"has {missing} {kind} rule(s) without a description; give every rule a description saying who it admits and why"] if missing else []


def _security_group_described(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    problems = []
    description = str(props.get("description") or "").strip()
    if not description or description == _PULUMI_DEFAULT_DESCRIPTION:
        problems.append("has no description of its own (Pulumi's default is 'Managed by Pulumi'); set description to what the group protects")
    return problems + _inline_rules_described(props, "ingress") + _inline_rules_described(props, "egress")


def _rule_described(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if not str(props.get("description") or "").strip():
        return ["has no description; set description to who the rule admits and why"]
    return []


DESCRIPTION_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    SECURITY_GROUP: _security_group_described,
    INGRESS_RULE: _rule_described,
    EGRESS_RULE: _rule_described,
    GROUP_RULE: _rule_described,
}


def security_group_descriptions() -> ResourcePolicy:
    return ResourcePolicy(
        name="security-group-descriptions",
        description="Every security group and security group rule has a description.",
        validate=table_validator(DESCRIPTION_CHECKS),
        resource_types=DESCRIPTION_CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.LOW,
        tags=["network"],
    )
