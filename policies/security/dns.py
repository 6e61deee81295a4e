"""DNS: no record points at something that can be released and then claimed by someone
else (subdomain takeover).

``route53-no-dangling-records`` holds every ``aws.route53.Record`` to this rule: its target
comes from a resource of the same stack (an alias or value built from a load balancer,
elastic IP, accelerator, bucket, distribution), or is a name nobody else can claim. What
it flags:

- A/AAAA records with a literal public IP the stack does not hold (a released elastic IP
  goes to the next customer who asks);
- CNAMEs and aliases to hosts whose names others can register (S3 website endpoints,
  CloudFront, Elastic Beanstalk, and the SaaS hosts in ``takeoverProneSuffixes``) when the
  resource behind them is not in the stack;
- NS delegations to Route 53 name servers of a zone the stack does not create.
"""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.common.cidrs import parse, special_purpose
from policies.common.policy import StackPolicy
from policies.common.props import get, items, strings
from policies.common.settings import Setting, config_schema, resolve

RECORD = "aws:route53/record:Record"

# Where a record's target can come from inside the stack: resource type -> the properties
# that hold an address or host name of it.
TARGETS: dict[str, tuple[str, ...]] = {
    "aws:ec2/eip:Eip": ("publicIp", "publicDns", "address"),
    "aws:ec2/instance:Instance": ("publicIp", "publicDns"),
    "aws:lb/loadBalancer:LoadBalancer": ("dnsName",),
    "aws:alb/loadBalancer:LoadBalancer": ("dnsName",),
    "aws:elb/loadBalancer:LoadBalancer": ("dnsName",),
    "aws:globalaccelerator/accelerator:Accelerator": ("dnsName", "dualStackDnsName"),
    "aws:cloudfront/distribution:Distribution": ("domainName",),
    "aws:s3/bucket:Bucket": ("websiteEndpoint", "bucketRegionalDomainName", "bucketDomainName"),
    "aws:s3/bucketV2:BucketV2": ("websiteEndpoint", "bucketRegionalDomainName", "bucketDomainName"),
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration": ("websiteEndpoint",),
    "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2": ("websiteEndpoint",),
    "aws:apigateway/domainName:DomainName": ("regionalDomainName", "cloudfrontDomainName"),
    "aws:apigatewayv2/domainName:DomainName": (),
    "aws:elasticbeanstalk/environment:Environment": ("cname", "endpointUrl"),
    "aws:route53/zone:Zone": ("nameServers",),
    RECORD: ("fqdn", "name"),
}

TAKEOVER_PRONE = Setting(
    "takeoverProneSuffixes",
    {"type": "array", "items": {"type": "string"}},
    [
        ".cloudfront.net", ".elasticbeanstalk.com", ".azurewebsites.net", ".cloudapp.net", ".cloudapp.azure.com",
        ".trafficmanager.net", ".blob.core.windows.net", ".herokuapp.com", ".herokudns.com", ".github.io",
        ".netlify.app", ".pages.dev", ".vercel.app", ".ghost.io", ".readthedocs.io", ".bitbucket.io",
        ".myshopify.com", ".zendesk.com", ".wpengine.com", ".surge.sh",
    ],
    "Host name suffixes that someone else can claim once the resource behind them is gone (S3 website endpoints are always included).",
)


def _s3_website(host: str) -> bool:
    return ".s3-website" in host or host.startswith("s3-website") or (".s3." in host and host.endswith(".amazonaws.com")) or host.endswith(".s3.amazonaws.com")


def _claimable(host: str, suffixes: Iterable[str]) -> bool:
    value = host.strip().rstrip(".").lower()
    return _s3_website(value) or any(value.endswith(s.lower().rstrip(".")) for s in suffixes)


def owned_values(resources: Iterable[PolicyResource]) -> set[str]:
    """Addresses and host names that resources of the stack hold."""
    found: set[str] = set()
    for r in resources:
        for prop in TARGETS.get(r.resource_type, ()):
            for value in strings(r.props.get(prop)):
                found.add(value.strip().rstrip(".").lower())
        if r.resource_type == "aws:globalaccelerator/accelerator:Accelerator":
            for ip_set in items(r.props.get("ipSets")):
                found.update(v.lower() for v in strings(get(ip_set, "ipAddresses")))
    return found


def _from_stack(record: PolicyResource, prop: str) -> bool:
    return any(d.resource_type in TARGETS for d in record.property_dependencies.get(prop, []))


def record_problems(record: PolicyResource, owned: set[str], suffixes: list[str]) -> list[str]:
    """Why a record can dangle, each with its fix."""
    kind = str(record.props.get("type") or "").upper()
    problems: list[str] = []
    for alias in items(record.props.get("aliases")):
        target = str(get(alias, "name") or "").strip().rstrip(".").lower()
        if target and not _from_stack(record, "aliases") and target not in owned and _claimable(target, suffixes):
            problems.append(
                f"is an alias to {target}, which the stack does not create and which someone else can claim once it "
                "is deleted; create the target in this stack (and point the alias at its output) or remove the record"
            )
    values = strings(record.props.get("records"))
    if _from_stack(record, "records"):
        return problems
    for value in values:
        target = value.strip().rstrip(".").lower()
        if target in owned:
            continue
        if kind in ("A", "AAAA"):
            if parse(target) is not None and not special_purpose(target):
                problems.append(
                    f"points at {value}, a public address the stack does not hold; once it is released AWS hands it to "
                    "the next customer, who then serves this name. Allocate it in the stack (aws.ec2.Eip) or use an "
                    "alias to the load balancer or accelerator"
                )
        elif kind == "CNAME" and _claimable(target, suffixes):
            problems.append(
                f"points at {value}, a host the stack does not create and that someone else can claim once it is "
                "deleted; manage the target in this stack (point the record at its output) or remove the record"
            )
        elif kind == "NS" and "awsdns" in target:
            problems.append(
                f"delegates to {value}, a Route 53 name server of a zone this stack does not create; anyone can create "
                "a zone on that server and answer for the name. Create the child zone in the stack and use its name_servers"
            )
    return problems


def validate_route53_no_dangling_records(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """No record targets something outside the stack that others could claim."""
    suffixes = [str(s) for s in resolve(args, TAKEOVER_PRONE)[TAKEOVER_PRONE.name]]
    owned = owned_values(args.resources)
    for record in (r for r in args.resources if r.resource_type == RECORD):
        for problem in record_problems(record, owned, suffixes):
            report_violation(f"Route 53 record '{record.name}' ({record.props.get('type')} {record.props.get('name')}) {problem}.", record.urn)


def route53_no_dangling_records() -> StackPolicy:
    return StackPolicy(
        name="route53-no-dangling-records",
        description="Route 53 records point only at targets the stack holds, or at names nobody else can claim (no subdomain takeover).",
        validate=validate_route53_no_dangling_records,
        resource_types=[*TARGETS],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(TAKEOVER_PRONE),
        tags=["network", "dns"],
    )
