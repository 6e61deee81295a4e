"""Realistic value formats for an offline plan: account, partition, ARNs per service,
physical ids with the provider's prefixes, names that follow ``name``/``namePrefix``, DNS
names, endpoints, URLs and addresses per service, and the property-name rules that pick
one of them for a declared output (``defaultSecurityGroupId`` -> ``sg-...``).

Every value derives from the resource's type, logical name and property path through a
hash, so the same program always gets the same values.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

ACCOUNT_ID = "123456789012"
"""The account of a plan whose AWS provider names none (``allowedAccountIds``)."""
_ACCOUNT: ContextVar[str] = ContextVar("llmops_engine_account", default=ACCOUNT_ID)


def account_id() -> str:
    """The account the resource or data source being answered lives in: its provider's only
    ``allowedAccountIds`` entry, else :data:`ACCOUNT_ID`."""
    return _ACCOUNT.get()


@contextmanager
def acting_as(account: str | None) -> Iterator[None]:
    """Answer as ``account`` (None: the default) within the block."""
    token = _ACCOUNT.set(account or ACCOUNT_ID)
    try:
        yield
    finally:
        _ACCOUNT.reset(token)
DEFAULT_REGION = "us-east-1"
CREATED_AT = "2025-01-01T00:00:00Z"
"""The creation time every offline resource reports."""
EXPIRES_AT = "2026-02-01T23:59:59Z"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""No rule applies (distinct from ``None``, which is a value)."""


def digest(*parts: str, length: int = 17) -> str:
    """Lower-case hex derived from ``parts``."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def alnum(*parts: str, length: int = 10, upper: bool = False) -> str:
    """Lower-case (or upper-case) letters and digits derived from ``parts``."""
    number = int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest(), 16)
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 36)
        chars.append(_BASE36[rest])
    text = "".join(chars)
    return text.upper() if upper else text


def digits(*parts: str, length: int = 10) -> str:
    return str(int(digest(*parts, length=24), 16))[-length:].rjust(length, "1")


def uuid_from(*parts: str) -> str:
    h = digest(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


# Regions whose S3 website endpoint is ``s3-website-<region>`` (a dash); every other region
# uses ``s3-website.<region>`` (Amazon S3 user guide, "Website endpoints").
_S3_WEBSITE_DASH_REGIONS = frozenset(
    {"us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "eu-west-1", "sa-east-1", "us-gov-west-1"}
)


def s3_website_domain(region: str) -> str:
    """``s3-website-us-east-1.amazonaws.com``, ``s3-website.eu-central-1.amazonaws.com``."""
    separator = "-" if region in _S3_WEBSITE_DASH_REGIONS else "."
    return f"s3-website{separator}{region}.{dns_suffix(region)}"


def ec2_dns(ip: str, region: str, *, public: bool) -> str:
    """EC2's DNS name for an address: ``ec2-1-2-3-4.compute-1.amazonaws.com`` and
    ``ip-10-0-0-1.ec2.internal`` in us-east-1, ``ec2-1-2-3-4.<region>.compute.amazonaws.com``
    and ``ip-10-0-0-1.<region>.compute.internal`` elsewhere."""
    dashed = ip.replace(".", "-")
    if public:
        return f"ec2-{dashed}.compute-1.{dns_suffix(region)}" if region == "us-east-1" else f"ec2-{dashed}.{region}.compute.{dns_suffix(region)}"
    return f"ip-{dashed}.ec2.internal" if region == "us-east-1" else f"ip-{dashed}.{region}.compute.internal"


def zone_id_prefix(region: str) -> str:
    """``us-east-1`` -> ``use1``, the prefix of AWS availability-zone ids."""
    parts = region.split("-")
    return f"{parts[0]}{''.join(p[:1] for p in parts[1:-1])}{parts[-1]}"


@functools.cache
def availability_zones(region: str) -> tuple[str, ...]:
    """The region's zone names (the catalogue's count, else three)."""
    from core import catalog

    known = catalog.regions().get(region)
    count = known.availability_zones if known is not None else 3
    return tuple(f"{region}{letter}" for letter in "abcdef"[:count])


RETIRED_ZONE_IDS = {"us-west-1": ("usw1-az2",), "ca-central-1": ("cac1-az3",)}
"""Zone IDs AWS no longer offers to new accounts (their regions' catalogue count leaves
them out): zone names map to the remaining IDs in order."""


@functools.cache
def zone_ids(region: str) -> dict[str, str]:
    """Zone name -> zone ID for the zones the region offers an account: IDs in ID order,
    skipping retired ones."""
    zones = availability_zones(region)
    retired = RETIRED_ZONE_IDS.get(region, ())
    prefix = zone_id_prefix(region)
    ids = [z for n in range(1, len(zones) + len(retired) + 1) if (z := f"{prefix}-az{n}") not in retired]
    return dict(zip(zones, ids, strict=False))


def zone_id(zone: str) -> str:
    region, letter = zone[:-1], zone[-1]
    known = zone_ids(region).get(zone)
    if known is not None:
        return known
    return f"{zone_id_prefix(region)}-az{ord(letter) - 96 if letter.isalpha() else 1}"


def private_ip(*parts: str, base: str = "10.0") -> str:
    h = digest(*parts, length=4)
    return f"{base}.{int(h[:2], 16) % 254 + 1}.{int(h[2:], 16) % 254 + 1}"


def public_ip(*parts: str) -> str:
    h = digest(*parts, length=4)
    return f"{(3, 18, 34, 44, 52, 54)[int(h[0], 16) % 6]}.{int(h[1:2], 16) * 13 % 256}.{int(h[2:3], 16) * 17 % 256}.{int(h[3:], 16) % 254 + 1}"


def kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).lower()


# Canonical hosted zone ids AWS publishes for load balancers, S3 website endpoints and API
# Gateway regional endpoints (AWS General Reference, "Service endpoints and quotas").
ALB_ZONE_IDS = {
    "us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
    "us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2", "eu-west-2": "ZHURV8PSTC4K8",
    "eu-central-1": "Z215JYRZR1TBD5", "ap-southeast-1": "Z1LMS91P8CMLE5",
    "ap-southeast-2": "Z1GM3OXH4ZPM65", "ap-northeast-1": "Z14GRHDCWA56QT",
}
NLB_ZONE_IDS = {
    "us-east-1": "Z26RNL4JYFTOTI", "us-east-2": "ZLMOA37VPKANP", "us-west-1": "Z24FKFUX50B4VW",
    "us-west-2": "Z18D5FSROUN65G", "eu-west-1": "Z2IFOLAFXWLO4F", "eu-west-2": "ZD4D7Y8KGAS4G",
    "eu-central-1": "Z3F0SRJ5LGBH90", "ap-southeast-1": "ZKVM4W9LS7TM",
    "ap-southeast-2": "ZCT6FZBF4DROD", "ap-northeast-1": "Z31USIVHYNEOWT",
}
S3_ZONE_IDS = {
    "us-east-1": "Z3AQBSTGFYJSTF", "us-east-2": "Z2O1EMRO9K5GLX", "us-west-1": "Z2F56UZL2M1ACD",
    "us-west-2": "Z3BJ6K6RIION7M", "eu-west-1": "Z1BKCTXD74EZPE", "eu-central-1": "Z21DNDUVLTQW6Q",
}
APIGATEWAY_ZONE_IDS = {
    "us-east-1": "Z1UJRXOUMOOFQ8", "us-east-2": "ZOJJZC49E0EPZ", "us-west-2": "Z2OJLYMUO9EFXC",
    "eu-west-1": "ZLY8HYME6SFDD", "eu-central-1": "Z1U9ULNL0V5AJ3",
}
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
GLOBAL_ACCELERATOR_ZONE_ID = "Z2BJ6XQ5FK7U4H"


def hosted_zone_id(table: dict[str, str], region: str, *seed: str) -> str:
    return table.get(region) or "Z" + alnum(region, *seed, length=13, upper=True)


# ---------------------------------------------------------------------- per-type facts
# ARN service names that differ from the SDK module.
_ARN_SERVICE = {
    "lb": "elasticloadbalancing", "alb": "elasticloadbalancing", "elb": "elasticloadbalancing",
    "lambda": "lambda", "apigatewayv2": "apigateway", "sfn": "states", "opensearch": "es",
    "elasticsearch": "es", "opensearchserverless": "aoss", "appautoscaling": "application-autoscaling",
    "cognito": "cognito-idp", "ec2transitgateway": "ec2", "vpc": "ec2", "ebs": "ec2",
    "cloudwatch": "cloudwatch", "servicediscovery": "servicediscovery", "msk": "kafka",
    "sesv2": "ses", "wafv2": "wafv2", "redshiftserverless": "redshift-serverless",
}
# Resource kinds whose ARN comes from another service than their module's.
_ARN_SERVICE_BY_KIND = {
    "LogGroup": "logs", "LogStream": "logs", "LogMetricFilter": "logs", "LogSubscriptionFilter": "logs",
    "EventRule": "events", "EventBus": "events", "EventTarget": "events", "EventConnection": "events",
}
# Global services: no region in their ARNs.
_GLOBAL = {"iam", "route53", "cloudfront", "globalaccelerator", "budgets", "organizations", "s3", "waf", "shield"}

# Resource ARNs whose shape is not ``<kind>/<id>``. Fields: p(artition), r(egion), a(ccount),
# name, id, h (16 hex), u (uuid).
_ARN_FORMAT = {
    "aws:s3/bucket:Bucket": "arn:{p}:s3:::{name}",
    "aws:s3/bucketV2:BucketV2": "arn:{p}:s3:::{name}",
    "aws:lambda/function:Function": "arn:{p}:lambda:{r}:{a}:function:{name}",
    "aws:lambda/layerVersion:LayerVersion": "arn:{p}:lambda:{r}:{a}:layer:{name}:1",
    "aws:lambda/alias:Alias": "arn:{p}:lambda:{r}:{a}:function:{function}:{name}",
    "aws:sqs/queue:Queue": "arn:{p}:sqs:{r}:{a}:{name}",
    "aws:sns/topic:Topic": "arn:{p}:sns:{r}:{a}:{name}",
    "aws:sns/topicSubscription:TopicSubscription": "arn:{p}:sns:{r}:{a}:{topic}:{u}",
    "aws:cloudwatch/logGroup:LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{name}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": "arn:{p}:cloudwatch:{r}:{a}:alarm:{name}",
    "aws:cloudwatch/dashboard:Dashboard": "arn:{p}:cloudwatch::{a}:dashboard/{name}",
    "aws:cloudwatch/eventRule:EventRule": "arn:{p}:events:{r}:{a}:rule/{name}",
    "aws:lb/loadBalancer:LoadBalancer": "arn:{p}:elasticloadbalancing:{r}:{a}:loadbalancer/{lbkind}/{name}/{h}",
    "aws:alb/loadBalancer:LoadBalancer": "arn:{p}:elasticloadbalancing:{r}:{a}:loadbalancer/{lbkind}/{name}/{h}",
    "aws:lb/targetGroup:TargetGroup": "arn:{p}:elasticloadbalancing:{r}:{a}:targetgroup/{name}/{h}",
    "aws:alb/targetGroup:TargetGroup": "arn:{p}:elasticloadbalancing:{r}:{a}:targetgroup/{name}/{h}",
    "aws:lb/listener:Listener": "arn:{p}:elasticloadbalancing:{r}:{a}:listener/{lbpath}/{h}",
    "aws:alb/listener:Listener": "arn:{p}:elasticloadbalancing:{r}:{a}:listener/{lbpath}/{h}",
    "aws:lb/listenerRule:ListenerRule": "arn:{p}:elasticloadbalancing:{r}:{a}:listener-rule/{lbpath}/{h}/{h}",
    "aws:apigateway/restApi:RestApi": "arn:{p}:apigateway:{r}::/restapis/{id}",
    "aws:apigateway/stage:Stage": "arn:{p}:apigateway:{r}::/restapis/{restApi}/stages/{stageName}",
    "aws:apigateway/domainName:DomainName": "arn:{p}:apigateway:{r}::/domainnames/{domainName}",
    "aws:apigatewayv2/api:Api": "arn:{p}:apigateway:{r}::/apis/{id}",
    "aws:apigatewayv2/stage:Stage": "arn:{p}:apigateway:{r}::/apis/{api}/stages/{name}",
    "aws:apigatewayv2/domainName:DomainName": "arn:{p}:apigateway:{r}::/domainnames/{domainName}",
    "aws:rds/instance:Instance": "arn:{p}:rds:{r}:{a}:db:{name}",
    "aws:rds/cluster:Cluster": "arn:{p}:rds:{r}:{a}:cluster:{name}",
    "aws:rds/clusterInstance:ClusterInstance": "arn:{p}:rds:{r}:{a}:db:{name}",
    "aws:rds/subnetGroup:SubnetGroup": "arn:{p}:rds:{r}:{a}:subgrp:{name}",
    "aws:rds/parameterGroup:ParameterGroup": "arn:{p}:rds:{r}:{a}:pg:{name}",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "arn:{p}:rds:{r}:{a}:cluster-pg:{name}",
    "aws:elasticache/serverlessCache:ServerlessCache": "arn:{p}:elasticache:{r}:{a}:serverlesscache:{name}",
    "aws:elasticache/replicationGroup:ReplicationGroup": "arn:{p}:elasticache:{r}:{a}:replicationgroup:{name}",
    "aws:elasticache/cluster:Cluster": "arn:{p}:elasticache:{r}:{a}:cluster:{name}",
    "aws:elasticache/subnetGroup:SubnetGroup": "arn:{p}:elasticache:{r}:{a}:subnetgroup:{name}",
    "aws:secretsmanager/secret:Secret": "arn:{p}:secretsmanager:{r}:{a}:secret:{name}-{s6}",
    "aws:ssm/parameter:Parameter": "arn:{p}:ssm:{r}:{a}:parameter/{ssmname}",
    "aws:kms/key:Key": "arn:{p}:kms:{r}:{a}:key/{id}",
    "aws:kms/alias:Alias": "arn:{p}:kms:{r}:{a}:{name}",
    "aws:acm/certificate:Certificate": "arn:{p}:acm:{r}:{a}:certificate/{u}",
    "aws:route53/zone:Zone": "arn:{p}:route53:::hostedzone/{id}",
    "aws:route53/healthCheck:HealthCheck": "arn:{p}:route53:::healthcheck/{id}",
    "aws:eks/cluster:Cluster": "arn:{p}:eks:{r}:{a}:cluster/{name}",
    "aws:eks/nodeGroup:NodeGroup": "arn:{p}:eks:{r}:{a}:nodegroup/{cluster}/{name}/{u}",
    "aws:eks/addon:Addon": "arn:{p}:eks:{r}:{a}:addon/{cluster}/{name}/{u}",
    "aws:eks/fargateProfile:FargateProfile": "arn:{p}:eks:{r}:{a}:fargateprofile/{cluster}/{name}/{u}",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "arn:{p}:eks:{r}:{a}:podidentityassociation/{cluster}/{id}",
    "aws:ecs/cluster:Cluster": "arn:{p}:ecs:{r}:{a}:cluster/{name}",
    "aws:ecs/service:Service": "arn:{p}:ecs:{r}:{a}:service/{clustername}/{name}",
    "aws:ecs/taskDefinition:TaskDefinition": "arn:{p}:ecs:{r}:{a}:task-definition/{family}:1",
    "aws:ecr/repository:Repository": "arn:{p}:ecr:{r}:{a}:repository/{name}",
    "aws:iam/role:Role": "arn:{p}:iam::{a}:role{path}{name}",
    "aws:iam/policy:Policy": "arn:{p}:iam::{a}:policy{path}{name}",
    "aws:iam/user:User": "arn:{p}:iam::{a}:user{path}{name}",
    "aws:iam/group:Group": "arn:{p}:iam::{a}:group{path}{name}",
    "aws:iam/instanceProfile:InstanceProfile": "arn:{p}:iam::{a}:instance-profile{path}{name}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "arn:{p}:iam::{a}:oidc-provider/{oidcurl}",
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": "arn:{p}:iam::{a}:role/aws-service-role/{awsServiceName}/{name}",
    "aws:cloudfront/distribution:Distribution": "arn:{p}:cloudfront::{a}:distribution/{id}",
    "aws:globalaccelerator/accelerator:Accelerator": "arn:{p}:globalaccelerator::{a}:accelerator/{u}",
    "aws:globalaccelerator/listener:Listener": "arn:{p}:globalaccelerator::{a}:accelerator/{u}/listener/{h8}",
    "aws:globalaccelerator/endpointGroup:EndpointGroup": "arn:{p}:globalaccelerator::{a}:accelerator/{u}/listener/{h8}/endpoint-group/{h12}",
    "aws:budgets/budget:Budget": "arn:{p}:budgets::{a}:budget/{name}",
    "aws:wafv2/webAcl:WebAcl": "arn:{p}:wafv2:{r}:{a}:{scope}/webacl/{name}/{id}",
    "aws:wafv2/ipSet:IpSet": "arn:{p}:wafv2:{r}:{a}:{scope}/ipset/{name}/{id}",
    "aws:wafv2/ruleGroup:RuleGroup": "arn:{p}:wafv2:{r}:{a}:{scope}/rulegroup/{name}/{id}",
    "aws:opensearch/domain:Domain": "arn:{p}:es:{r}:{a}:domain/{name}",
    "aws:opensearch/serverlessCollection:ServerlessCollection": "arn:{p}:aoss:{r}:{a}:collection/{id}",
    "aws:sfn/stateMachine:StateMachine": "arn:{p}:states:{r}:{a}:stateMachine:{name}",
    "aws:dynamodb/table:Table": "arn:{p}:dynamodb:{r}:{a}:table/{name}",
    "aws:kinesis/stream:Stream": "arn:{p}:kinesis:{r}:{a}:stream/{name}",
    "aws:redshift/cluster:Cluster": "arn:{p}:redshift:{r}:{a}:cluster:{name}",
    "aws:appsync/graphQLApi:GraphQLApi": "arn:{p}:appsync:{r}:{a}:apis/{id}",
    "aws:ec2/eip:Eip": "arn:{p}:ec2:{r}:{a}:elastic-ip/{id}",
    "aws:ec2/natGateway:NatGateway": "arn:{p}:ec2:{r}:{a}:natgateway/{id}",
    "aws:ec2/launchTemplate:LaunchTemplate": "arn:{p}:ec2:{r}:{a}:launch-template/{id}",
    "aws:ec2/instance:Instance": "arn:{p}:ec2:{r}:{a}:instance/{id}",
}

# EC2-style physical ids: ``<prefix>-<17 hex>``.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc", "aws:ec2/defaultVpc:DefaultVpc": "vpc", "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/defaultSubnet:DefaultSubnet": "subnet", "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": "eigw", "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc", "aws:ec2/eipAssociation:EipAssociation": "eipassoc",
    "aws:ec2/routeTable:RouteTable": "rtb", "aws:ec2/defaultRouteTable:DefaultRouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc", "aws:ec2/route:Route": "r-rtb",
    "aws:ec2/securityGroup:SecurityGroup": "sg", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr", "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/flowLog:FlowLog": "fl", "aws:ec2/launchTemplate:LaunchTemplate": "lt", "aws:ec2/instance:Instance": "i",
    "aws:ec2/volume:Volume": "vol", "aws:ebs/volume:Volume": "vol", "aws:ec2/networkInterface:NetworkInterface": "eni",
    "aws:ec2/networkAcl:NetworkAcl": "acl", "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl": "acl",
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": "pcx", "aws:ec2/vpcDhcpOptions:VpcDhcpOptions": "dopt",
    "aws:ec2/customerGateway:CustomerGateway": "cgw", "aws:ec2/vpnGateway:VpnGateway": "vgw",
    "aws:ec2/vpnConnection:VpnConnection": "vpn", "aws:ec2/keyPair:KeyPair": "key", "aws:ec2/ami:Ami": "ami",
    "aws:ec2/amiCopy:AmiCopy": "ami", "aws:ebs/snapshot:Snapshot": "snap", "aws:ec2/placementGroup:PlacementGroup": "pg",
    "aws:ec2/managedPrefixList:ManagedPrefixList": "pl", "aws:ec2/spotInstanceRequest:SpotInstanceRequest": "sir",
    "aws:ec2/fleet:Fleet": "fleet", "aws:ec2/carrierGateway:CarrierGateway": "cagw",
    "aws:ec2transitgateway/transitGateway:TransitGateway": "tgw",
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": "tgw-attach",
    "aws:ec2transitgateway/routeTable:RouteTable": "tgw-rtb", "aws:ec2/vpcIpam:VpcIpam": "ipam",
    "aws:ec2/vpcIpamPool:VpcIpamPool": "ipam-pool", "aws:ec2/instanceConnectEndpoint:InstanceConnectEndpoint": "eice",
    "aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment": "eni-attach",
    "aws:ec2/volumeAttachment:VolumeAttachment": "vai", "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation": "vpc-cidr-assoc",
}

# Physical ids of other shapes.
_ID_KIND = {
    "aws:apigateway/restApi:RestApi": "alnum10", "aws:apigateway/resource:Resource": "alnum6",
    "aws:apigateway/deployment:Deployment": "alnum6", "aws:apigateway/authorizer:Authorizer": "alnum6",
    "aws:apigateway/apiKey:ApiKey": "alnum10", "aws:apigateway/usagePlan:UsagePlan": "alnum6",
    "aws:apigatewayv2/api:Api": "alnum10", "aws:apigatewayv2/integration:Integration": "alnum7",
    "aws:apigatewayv2/route:Route": "alnum7", "aws:apigatewayv2/authorizer:Authorizer": "alnum6",
    "aws:apigatewayv2/deployment:Deployment": "alnum6", "aws:apigatewayv2/vpcLink:VpcLink": "alnum6",
    "aws:route53/zone:Zone": "zone", "aws:route53/healthCheck:HealthCheck": "uuid",
    "aws:kms/key:Key": "uuid", "aws:wafv2/webAcl:WebAcl": "uuid", "aws:wafv2/ipSet:IpSet": "uuid",
    "aws:wafv2/ruleGroup:RuleGroup": "uuid", "aws:cloudfront/distribution:Distribution": "E13",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "E13",
    "aws:cloudfront/originAccessIdentity:OriginAccessIdentity": "E13",
    "aws:opensearch/serverlessCollection:ServerlessCollection": "alnum20",
    "aws:appsync/graphQLApi:GraphQLApi": "alnum26", "aws:cognito/userPool:UserPool": "userpool",
    "aws:acm/certificate:Certificate": "arn", "aws:lb/loadBalancer:LoadBalancer": "arn",
    "aws:alb/loadBalancer:LoadBalancer": "arn", "aws:lb/targetGroup:TargetGroup": "arn",
    "aws:alb/targetGroup:TargetGroup": "arn", "aws:lb/listener:Listener": "arn", "aws:alb/listener:Listener": "arn",
    "aws:lb/listenerRule:ListenerRule": "arn", "aws:sns/topic:Topic": "arn",
    "aws:sns/topicSubscription:TopicSubscription": "arn", "aws:secretsmanager/secret:Secret": "arn",
    "aws:ecs/cluster:Cluster": "arn", "aws:ecs/service:Service": "arn", "aws:globalaccelerator/accelerator:Accelerator": "arn",
    "aws:globalaccelerator/listener:Listener": "arn", "aws:globalaccelerator/endpointGroup:EndpointGroup": "arn",
    "aws:sfn/stateMachine:StateMachine": "arn", "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "arn",
    "aws:sqs/queue:Queue": "queueurl", "aws:ecs/taskDefinition:TaskDefinition": "family",
    "aws:eks/nodeGroup:NodeGroup": "clusterpair", "aws:eks/addon:Addon": "clusterpair",
    "aws:eks/fargateProfile:FargateProfile": "clusterpair", "aws:budgets/budget:Budget": "accountpair",
    "aws:opensearch/domain:Domain": "arn", "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "rolepolicy",
    "aws:lambda/permission:Permission": "statement", "aws:ssm/parameter:Parameter": "ssmname",
    "aws:cloudwatch/eventTarget:EventTarget": "targetid",
}

# The property that holds a resource's physical name, where it is not ``name``.
NAME_PROPERTY = {
    "aws:s3/bucket:Bucket": "bucket", "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:rds/instance:Instance": "identifier", "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:rds/clusterInstance:ClusterInstance": "identifier", "aws:eks/nodeGroup:NodeGroup": "nodeGroupName",
    "aws:eks/addon:Addon": "addonName", "aws:eks/fargateProfile:FargateProfile": "fargateProfileName",
    "aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId",
    "aws:elasticache/cluster:Cluster": "clusterId", "aws:opensearch/domain:Domain": "domainName",
    "aws:ecs/taskDefinition:TaskDefinition": "family", "aws:apigatewayv2/stage:Stage": "name",
    "aws:apigateway/stage:Stage": "stageName", "aws:lambda/function:Function": "name",
    "aws:route53/zone:Zone": "name", "aws:acm/certificate:Certificate": "domainName",
    "aws:redshift/cluster:Cluster": "clusterIdentifier", "aws:dynamodb/table:Table": "name",
    "aws:kinesis/stream:Stream": "name", "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
}
# Naming rules of services that restrict names: (lower-case only, maximum length).
_NAME_RULES = {
    "s3": (True, 63), "rds": (True, 63), "elasticache": (True, 40), "opensearch": (True, 28),
    "lb": (False, 32), "alb": (False, 32), "iam": (False, 64), "sqs": (False, 80), "ecr": (True, 256),
    "redshift": (True, 63),
}
# Types that have no physical name of their own (no ``name``): ids from their logical name.
_NAME_FREE_KINDS = {"Stage"}


# ARNs of other resources that ``<stem>Arn`` properties name, by a word of the stem (first
# match wins).
_RELATED_ARNS = (
    ("kms", "arn:{p}:kms:{r}:{a}:key/{u}"),
    ("certificate", "arn:{p}:acm:{r}:{a}:certificate/{u}"),
    ("topic", "arn:{p}:sns:{r}:{a}:{name}"),
    ("targetgroup", "arn:{p}:elasticloadbalancing:{r}:{a}:targetgroup/{short}/{h}"),
    ("loggroup", "arn:{p}:logs:{r}:{a}:log-group:{name}"),
    ("secret", "arn:{p}:secretsmanager:{r}:{a}:secret:{name}-{s6}"),
    ("bucket", "arn:{p}:s3:::{lower}"),
    ("policy", "arn:{p}:iam::{a}:policy/{name}"),
    ("signing", "arn:{p}:signer:{r}:{a}:/signing-profiles/{name}"),
    ("role", "arn:{p}:iam::{a}:role/{name}"),
    ("execution", "arn:{p}:iam::{a}:role/{name}"),
    ("key", "arn:{p}:kms:{r}:{a}:key/{u}"),
)


def _fields(template: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", template))


class Subject:
    """A resource (or data source) being answered: its type, logical name, region and inputs,
    with its physical name, id and ARN derived in the provider's formats."""

    def __init__(self, token: str, logical: str, region: str, inputs: dict[str, Any], resource_id: str | None = None) -> None:
        self.token = token
        parts = token.split(":")
        self.package = parts[0]
        module = parts[1] if len(parts) > 1 else ""
        self.module = module.split("/")[0]
        self.kind = parts[2] if len(parts) > 2 else token
        self.logical = logical
        self.region = region
        self.inputs = inputs
        self.partition = partition(region)
        self.name_property = NAME_PROPERTY.get(token, "name")
        self.name = self._physical_name()
        id_kind = _ID_KIND.get(token, "")
        if resource_id and not inputs.get(self.name_property):
            self.name = self._name_from_id(resource_id, id_kind)
        self.id = resource_id or self._physical_id()
        if id_kind == "arn":
            self.arn = str(resource_id or inputs.get("arn") or self._arn())
            self.id = self.arn
        else:
            self.arn = str(inputs.get("arn") or self._arn())

    # ------------------------------------------------------------------ naming
    def seed(self, *parts: str) -> str:
        return digest(self.token, self.logical, *parts)

    def _physical_name(self) -> str:
        explicit = self.inputs.get(self.name_property)
        if explicit:
            return str(explicit)
        prefix = self.inputs.get(f"{self.name_property}Prefix") or self.inputs.get("namePrefix")
        if prefix:
            return f"{prefix}{digits(self.token, self.logical, length=26)}"
        lower, limit = _NAME_RULES.get(self.module, (False, 128))
        base = self.logical.lower() if lower else self.logical
        if lower:
            base = re.sub(r"[^a-z0-9-]", "-", base)
        suffix = digest(self.token, self.logical, length=7)
        return f"{base[: max(1, limit - 8)]}-{suffix}"

    def _name_from_id(self, resource_id: str, id_kind: str) -> str:
        """The physical name a read's id implies (an id that is the name, an ARN, a URL)."""
        if self.token in _ID_PREFIX or id_kind.startswith("alnum") or id_kind in ("zone", "uuid", "E13", "userpool"):
            return self.name
        if id_kind == "arn":
            resource = resource_id.split(":", 5)[-1]
            parts = [p for p in re.split(r"[/:]", resource) if p]
            if ":loadbalancer/" in resource_id or ":targetgroup/" in resource_id:
                return parts[-2] if len(parts) >= 2 else self.name
            return parts[-1] if parts else self.name
        if id_kind == "queueurl":
            return resource_id.rstrip("/").rsplit("/", 1)[-1]
        if id_kind in ("clusterpair", "accountpair"):
            return resource_id.split(":", 1)[-1]
        return resource_id

    def _physical_id(self) -> str:
        token, seed = self.token, (self.token, self.logical)
        prefix = _ID_PREFIX.get(token)
        if prefix:
            return f"{prefix}-{digest(*seed)}"
        kind = _ID_KIND.get(token, "")
        if kind.startswith("alnum"):
            return alnum(*seed, length=int(kind[5:]))
        if kind == "zone":
            return "Z" + alnum(*seed, length=20, upper=True)
        if kind == "uuid" and token == "aws:kms/key:Key":  # the key ids plans have always shown
            n = self.logical
            return f"{digest(token, n, length=8)}-{digest(n, 'a', length=4)}-4{digest(n, 'b', length=3)}-8{digest(n, 'c', length=3)}-{digest(n, 'd', length=12)}"
        if kind == "uuid":
            return uuid_from(*seed)
        if kind == "E13":
            return "E" + alnum(*seed, length=13, upper=True)
        if kind == "userpool":
            return f"{self.region}_{alnum(*seed, length=9, upper=True)}"
        if kind == "queueurl":
            return f"https://sqs.{self.region}.{dns_suffix(self.region)}/{account_id()}/{self.name}"
        if kind in ("family", "ssmname"):
            return self.name
        if kind == "clusterpair":
            return f"{self.inputs.get('clusterName', 'cluster')}:{self.name}"
        if kind == "accountpair":
            return f"{account_id()}:{self.name}"
        if kind == "rolepolicy":
            return f"{self.inputs.get('role', 'role')}-{digits(*seed, length=26)}"
        if kind == "statement":
            return str(self.inputs.get("statementId") or f"terraform-{digits(*seed, length=26)}")
        if kind == "targetid":
            return f"{self.inputs.get('rule', 'rule')}-{self.inputs.get('targetId') or digits(*seed, length=26)}"
        if kind == "arn":
            return ""  # set from the ARN
        if self.package == "aws" and self.kind not in _NAME_FREE_KINDS and self._has_name():
            return self.name
        return f"{self.logical}-{digest(*seed, length=7)}"

    def _has_name(self) -> bool:
        from llmops.engine.schema import resource_props

        props = resource_props(self.token)
        return props is not None and any(p.name == self.name_property for p in props)

    # ------------------------------------------------------------------ ARNs
    @property
    def arn_service(self) -> str:
        return _ARN_SERVICE_BY_KIND.get(self.kind) or _ARN_SERVICE.get(self.module, self.module)

    def _arn(self) -> str:
        template = _ARN_FORMAT.get(self.token)
        if template is None:
            region = "" if self.module in _GLOBAL else self.region
            account = "" if self.module == "s3" else account_id()
            return f"arn:{self.partition}:{self.arn_service}:{region}:{account}:{kebab(self.kind)}/{self.id or self.name}"
        values = {f: self._arn_field(f) for f in _fields(template)}
        return template.format(**values)

    def _arn_field(self, field: str) -> str:
        i = self.inputs
        simple = {
            "p": self.partition, "r": self.region, "a": account_id(), "name": self.name, "id": self.id,
            "h": digest(self.token, self.logical, length=16), "h8": digest(self.token, self.logical, "l", length=8),
            "h12": digest(self.token, self.logical, "e", length=12), "u": uuid_from(self.token, self.logical),
            "s6": alnum(self.token, self.logical, length=6),
        }
        if field in simple:
            return simple[field]
        if field == "path":
            path = str(i.get("path") or "/")
            return path if path.endswith("/") else path + "/"
        if field == "lbkind":
            return "net" if i.get("loadBalancerType") == "network" else "gwy" if i.get("loadBalancerType") == "gateway" else "app"
        if field == "lbpath":
            lb = str(i.get("loadBalancerArn") or i.get("listenerArn") or "")
            return lb.split(":loadbalancer/", 1)[1] if ":loadbalancer/" in lb else lb.split(":listener/", 1)[-1] if lb else f"app/{self.logical}/{digest(self.logical, length=16)}"
        if field == "ssmname":
            return self.name.lstrip("/")
        if field == "scope":
            return "global" if str(i.get("scope", "REGIONAL")).upper() == "CLOUDFRONT" else "regional"
        if field == "oidcurl":
            return str(i.get("url") or "").removeprefix("https://")
        if field == "function":
            return str(i.get("functionName") or "function")
        if field == "topic":
            return str(i.get("topic") or "topic").rsplit(":", 1)[-1]
        if field in ("restApi", "api"):
            return str(i.get("restApi") or i.get("apiId") or "api")
        if field in ("cluster", "clustername"):
            return str(i.get("clusterName") or i.get("cluster") or "cluster").rsplit("/", 1)[-1]
        return str(i.get(field) or self.name)

    def related_arn(self, stem: str) -> str:
        """An ARN for a ``<stem>Arn`` property that names another resource (``kmsKeyArn``,
        ``executionRoleArn``...): the first entry of :data:`_RELATED_ARNS` whose word the
        stem contains, else one of this resource's service."""
        s = stem.lower()
        name = f"{self.logical}-{kebab(stem)}"
        template = next((t for word, t in _RELATED_ARNS if word in s), None)
        if template is None:
            region = "" if self.module in _GLOBAL else self.region
            return f"arn:{self.partition}:{self.arn_service}:{region}:{account_id()}:{kebab(stem)}/{name}"
        return template.format(
            p=self.partition, r=self.region, a=account_id(), name=name, short=name[:32], lower=name.lower(),
            u=uuid_from(self.token, self.logical, stem), h=digest(name, length=16), s6=alnum(name, length=6),
        )

    # ------------------------------------------------------------------ endpoints
    def host(self, role: str = "") -> str:
        """The DNS name the service gives this resource (``role``: ``reader``, ``dns``...)."""
        r, n, seed = self.region, self.name, self.seed
        suffix = dns_suffix(r)
        if self.module == "rds":
            cluster = "cluster-ro-" if role == "reader" else "cluster-" if "Cluster" in self.kind and self.kind != "ClusterInstance" else ""
            return f"{n}.{cluster}{digest(r, length=12)}.{r}.rds.{suffix}"
        if self.module == "elasticache":
            if self.kind == "ServerlessCache":
                return f"{n}-{digest(self.id, length=6)}.serverless.{zone_id_prefix(r)}.cache.{suffix}"
            lead = "master." if role != "reader" else "replica."
            return f"{lead}{n}.{digest(n, length=6)}.{zone_id_prefix(r)}.cache.{suffix}"
        if self.module in ("lb", "alb", "elb"):
            internal = "internal-" if self.inputs.get("internal") else ""
            if self.inputs.get("loadBalancerType") == "network":
                return f"{internal}{n}-{digest(n, r, length=16)}.elb.{r}.{suffix}"
            return f"{internal}{n}-{digits(n, r, length=10)}.{r}.elb.{suffix}"
        if self.module == "opensearch" and self.kind.startswith("Serverless"):
            return f"{self.id}.{r}.aoss.{suffix}"  # a collection's id is its host's first label
        if self.module == "opensearch":
            return f"search-{n}-{alnum(n, r, length=26)}.{r}.es.{suffix}"
        if self.module == "cloudfront":
            return f"d{alnum(*seed(), length=13)}.cloudfront.net"
        if self.module == "globalaccelerator":
            return f"a{digest(*seed(), length=16)}.awsglobalaccelerator.com"
        if self.module in ("apigateway", "apigatewayv2"):
            if self.kind == "DomainName":
                return f"d-{alnum(*seed(), length=10)}.execute-api.{r}.{suffix}"
            api = str(self.inputs.get("restApi") or self.inputs.get("apiId") or self.id)
            return f"{api}.execute-api.{r}.{suffix}"
        if self.module == "eks":
            return f"{digest(r, self.id, length=32).upper()}.gr7.{r}.eks.{suffix}"
        if self.module == "ec2":
            return ec2_dns(public_ip(*seed()), r, public=True) if role == "public" else ec2_dns(private_ip(*seed()), r, public=False)
        return f"{n}.{alnum(*seed(), length=12)}.{r}.{self.arn_service}.{suffix}"

    def port(self) -> int:
        engine = str(self.inputs.get("engine") or "")
        if "postgres" in engine:
            return 5432
        if "mysql" in engine or engine == "aurora" or "mariadb" in engine:
            return 3306
        if self.module == "elasticache":
            return 6379 if "memcached" not in engine else 11211
        if self.module == "redshift":
            return 5439
        if self.module in ("rds", "docdb"):
            return 5432
        return 443

    def status(self) -> str:
        return {
            "rds": "available", "elasticache": "available", "ec2": "available", "acm": "ISSUED",
            "cloudfront": "Deployed", "globalaccelerator": "DEPLOYED", "lambda": "Active",
            "opensearch": "Active", "eks": "ACTIVE", "ecs": "ACTIVE", "apigateway": "AVAILABLE",
        }.get(self.module, "ACTIVE")


# ---------------------------------------------------------------------- property rules
def _id_for(stem: str, subject: Subject, path: str) -> Any:
    """A value for ``<stem>Id`` (``vpc`` -> ``vpc-...``)."""
    s = stem.lower()
    seed = (subject.token, subject.logical, path)
    prefixes = {
        "vpc": "vpc", "subnet": "subnet", "securitygroup": "sg", "clustersecuritygroup": "sg",
        "defaultsecuritygroup": "sg", "sourcesecuritygroup": "sg", "routetable": "rtb", "mainroutetable": "rtb",
        "defaultroutetable": "rtb", "networkacl": "acl", "defaultnetworkacl": "acl", "natgateway": "nat",
        "internetgateway": "igw", "gateway": "igw", "networkinterface": "eni", "primarynetworkinterface": "eni",
        "allocation": "eipalloc", "association": "eipassoc", "image": "ami", "ami": "ami", "instance": "i",
        "dhcpoptions": "dopt", "vpcendpoint": "vpce", "prefixlist": "pl", "transitgateway": "tgw",
        "vpcpeeringconnection": "pcx", "egressonlygateway": "eigw", "localgateway": "lgw", "carriergateway": "cagw",
        "ipv6association": "vpc-cidr-assoc", "launchtemplate": "lt", "volume": "vol", "snapshot": "snap",
        "keypair": "key", "placementgroup": "pg", "spotinstancerequest": "sir", "capacityreservation": "cr",
    }
    if s in prefixes:
        return f"{prefixes[s]}-{digest(*seed)}"
    if s in ("registry", "sourceaccount", "awsaccount") or "owner" in s or "account" in s:
        return account_id()
    if s in ("hostedzone", "zone", "canonicalhostedzone", "regionalzone", "distributionhostedzone"):
        return _zone_id_for(subject)
    if s == "availabilityzone":
        return zone_id(availability_zones(subject.region)[0])
    if s in ("kmskey", "masterusersecretkmskey", "performanceinsightskmskey"):
        return f"arn:{subject.partition}:kms:{subject.region}:{account_id()}:key/{uuid_from(*seed)}"
    if s in ("key", "keyid"):
        return uuid_from(*seed)
    if s in ("rootresource", "resource", "restapi", "api", "apigateway"):
        return alnum(*seed, length=10)
    if s == "unique" or s == "role":
        return "AROA" + alnum(*seed, length=17, upper=True)
    if s == "policy":
        return "ANPA" + alnum(*seed, length=17, upper=True)
    if s == "user":
        return "AIDA" + alnum(*seed, length=17, upper=True)
    if s in ("clusterresource", "dbiresource"):
        return f"{'cluster' if s.startswith('cluster') else 'db'}-{digest(subject.id, length=26).upper()}"
    if s == "cluster":
        return subject.name if subject.module in ("eks", "elasticache") else alnum(*seed, length=26)
    if s in ("hostedzonename",):
        return subject.name
    return f"{kebab(stem)}-{digest(*seed, length=12)}"


def _zone_id_for(subject: Subject) -> str:
    module, region = subject.module, subject.region
    if module in ("lb", "alb", "elb"):
        table = NLB_ZONE_IDS if subject.inputs.get("loadBalancerType") == "network" else ALB_ZONE_IDS
        return hosted_zone_id(table, region, "elb")
    if module == "s3":
        return hosted_zone_id(S3_ZONE_IDS, region, "s3")
    if module in ("apigateway", "apigatewayv2"):
        return hosted_zone_id(APIGATEWAY_ZONE_IDS, region, "apigw")
    if module == "cloudfront":
        return CLOUDFRONT_ZONE_ID
    if module == "globalaccelerator":
        return GLOBAL_ACCELERATOR_ZONE_ID
    if module == "route53":
        return subject.id if subject.id.startswith("Z") else "Z" + alnum(subject.token, subject.logical, length=20, upper=True)
    return "Z" + alnum(region, module, length=13, upper=True)


_TIME_SUFFIXES = ("date", "time", "timestamp", "createdat", "updatedat", "expiresat")


def semantic(subject: Subject, name: str, kind: str, path: str, top_level: bool) -> Any:
    """The realistic value of a property named ``name`` (of scalar ``kind``) for
    ``subject``, or :data:`MISSING` when its name says nothing about what it holds."""
    n = name.lower()
    seed = (subject.token, subject.logical, path)
    if kind == "str":
        return _semantic_str(subject, name, n, path, top_level, seed)
    if kind == "int":
        if n.endswith("port"):
            return subject.port()
        if n in ("latestversion", "defaultversion", "revision", "generation", "observedgeneration"):
            return 1
        if n.endswith("count") or n.endswith("replicas"):
            return 1
        return MISSING
    if kind == "bool":
        return MISSING
    return MISSING


def _semantic_str(subject: Subject, name: str, n: str, path: str, top_level: bool, seed: tuple[str, ...]) -> Any:
    if top_level:
        if n == "arn":
            return subject.arn
        if n == "id":
            return subject.id
        if name == subject.name_property:
            return subject.name
        if n.endswith("prefix") and n[:-6] in (subject.name_property.lower(), "name"):
            return str(subject.inputs.get(name) or "")
    if n == "region":
        return subject.region
    if n in ("ownerid", "accountid", "registryid", "owneraccountid"):
        return account_id()
    zones = availability_zones(subject.region)
    if n == "availabilityzone":
        zone = subject.inputs.get("availabilityZone")
        return str(zone) if zone else zones[int(digest(*seed, length=2), 16) % len(zones)]
    if n == "availabilityzoneid":
        return zone_id(str(subject.inputs.get("availabilityZone") or zones[0]))
    if n.startswith("ipv6") and not _wants_ipv6(subject.inputs):
        return ""  # no IPv6 asked for: AWS reports empty strings
    if n.startswith("ipv6") and n.endswith("cidrblock"):
        return f"2600:1f18:{digest(*seed, length=4)}:{digest(*seed, 'b', length=2)}00::/56"
    if n.endswith("cidrblock"):
        return "10.0.0.0/16" if subject.kind in ("Vpc", "DefaultVpc") else f"10.0.{int(digest(*seed, length=2), 16) % 16 * 16}.0/20"
    if n == "arn":
        return subject.arn
    if name.endswith("Arn"):
        return _related(subject, name[:-3], path)
    if n == "id":
        return f"{kebab(path.rsplit('.', 2)[-2] if '.' in path else subject.kind)}-{digest(*seed, length=12)}"
    if name.endswith(("Id", "ID")):
        return _id_for(name[:-2], subject, path)
    if n in ("dnsname", "regionaldomainname", "cloudfrontdomainname", "hostname", "address", "fqdn"):
        return subject.host()
    if n == "domainname" and subject.module == "cloudfront":
        return subject.host()
    if n.endswith(("endpoint", "endpointaddress")):
        return _endpoint(subject, n)
    if n in ("url", "uri") or name.endswith(("Url", "URL", "Uri")):
        return _url(subject, n)
    if n in ("ip", "ipaddress") or name.endswith(("Ip", "IP", "IpAddress")):
        return private_ip(*seed) if "private" in n or "cluster" in n else public_ip(*seed)
    if n in ("publicdns", "publicdnsname"):
        return subject.host("public")
    if n in ("privatedns", "privatednsname"):
        return subject.host("private")
    if n.endswith(_TIME_SUFFIXES) or n in ("lastmodified", "notbefore", "createdon"):
        return CREATED_AT
    if n == "notafter":
        return EXPIRES_AT
    if n in ("status", "state"):
        return subject.status()
    if n == "etag":
        return digest(*seed, length=32)
    if n.endswith(("sha256", "hash")):
        import base64

        return base64.b64encode(hashlib.sha256("\x1f".join(seed).encode()).digest()).decode()
    if n in ("version", "engineversion", "engineversionactual"):
        return _version(subject)
    return MISSING


def _wants_ipv6(inputs: dict[str, Any]) -> bool:
    return any(value and ("ipv6" in key.lower()) for key, value in inputs.items())


def _related(subject: Subject, stem: str, path: str) -> str:
    s = stem.lower()
    p, r, a = subject.partition, subject.region, account_id()
    if s == "execution" and subject.module in ("apigateway", "apigatewayv2"):
        api = str(subject.inputs.get("restApi") or subject.inputs.get("apiId") or subject.id)
        return f"arn:{p}:execute-api:{r}:{a}:{api}"
    if s == "invoke" and subject.module == "lambda":
        return f"arn:{p}:apigateway:{r}:lambda:path/2015-03-31/functions/{subject.arn}/invocations"
    if s == "qualifiedinvoke" and subject.module == "lambda":
        return f"arn:{p}:apigateway:{r}:lambda:path/2015-03-31/functions/{subject.arn}:$LATEST/invocations"
    if s == "responsestreaminginvoke" and subject.module == "lambda":
        return f"arn:{p}:apigateway:{r}:lambda:path/2021-11-15/functions/{subject.arn}/response-streaming-invocations"
    if s == "qualified":
        return f"{subject.arn}:$LATEST"
    if s == "arnsuffix":
        return subject.arn.split(":", 5)[-1].split("/", 1)[-1]
    return subject.related_arn(stem)


def _endpoint(subject: Subject, n: str) -> str:
    if subject.module == "eks":
        return f"https://{subject.host()}"
    if subject.module in ("apigatewayv2",) and n == "apiendpoint":
        scheme = "wss" if str(subject.inputs.get("protocolType", "HTTP")).upper() == "WEBSOCKET" else "https"
        return f"{scheme}://{subject.host()}"
    if ((subject.module == "rds" and subject.kind in ("Instance", "ClusterInstance")) or subject.module == "redshift") and n == "endpoint":
        return f"{subject.host()}:{subject.port()}"  # these services report host:port
    if subject.module == "s3" and n.startswith("website"):
        return ""
    if n.startswith("reader"):
        return subject.host("reader")
    if subject.module == "opensearch" and subject.kind.startswith("Serverless"):
        # OpenSearch Serverless reports URLs: https://<id>.<region>.aoss.amazonaws.com[/_dashboards]
        return f"https://{subject.host()}" + ("/_dashboards" if n.startswith("dashboard") else "")
    if subject.module == "opensearch" and n.startswith("dashboard"):
        return f"{subject.host()}/_dashboards"
    return subject.host()


def _url(subject: Subject, n: str) -> str:
    r, suffix = subject.region, dns_suffix(subject.region)
    if subject.module == "sqs":
        return f"https://sqs.{r}.{suffix}/{account_id()}/{subject.name}"
    if subject.module == "ecr":
        return f"{account_id()}.dkr.ecr.{r}.{suffix}/{subject.name}"
    if subject.module == "lambda" and "function" in n:
        return f"https://{alnum(subject.token, subject.logical, length=32)}.lambda-url.{r}.on.aws/"
    if subject.module in ("apigateway", "apigatewayv2"):
        stage = str(subject.inputs.get("stageName") or subject.inputs.get("name") or "")
        base = f"https://{subject.host()}"
        return f"{base}/" if stage in ("", "$default") else f"{base}/{stage}"
    if subject.module == "appsync":
        return f"https://{alnum(subject.token, subject.logical, length=26)}.appsync-api.{r}.{suffix}/graphql"
    if subject.module == "eks":
        return f"https://oidc.eks.{r}.{suffix}/id/{digest(r, subject.id, length=32).upper()}"
    return f"https://{subject.host()}/"


def _version(subject: Subject) -> str:
    if subject.module == "lambda":
        return "$LATEST"
    if subject.module == "eks":
        return "1.33"
    engine = str(subject.inputs.get("engine") or "")
    if "postgres" in engine:
        return "16.6"
    if "mysql" in engine:
        return "8.0.40"
    if engine in ("valkey",):
        return "8.0"
    if engine in ("redis",):
        return "7.1"
    return "1"

