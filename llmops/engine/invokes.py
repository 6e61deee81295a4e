"""Data sources whose answer has meaning beyond its declared type: the region's zones, the
caller's account, a default VPC and its subnets, IAM policy documents rendered from their
statements, EKS clusters and tokens, ECR credentials, Kubernetes YAML decoded for real.
Every other data source is answered from its declared result type (see
:mod:`llmops.engine.mocks`), and the plan lists it as answered with defaults.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from llmops.engine.formats import (
    account_id,
    availability_zones,
    digest,
    dns_suffix,
    partition,
    zone_id,
)

Answer = Callable[[dict[str, Any], str], dict[str, Any]]
DEFAULT_VPC_CIDR = "172.31.0.0/16"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _filters(args: dict[str, Any]) -> dict[str, list[str]]:
    return {str(f.get("name")): [str(v) for v in _as_list(f.get("values"))] for f in _as_list(args.get("filters")) if isinstance(f, dict)}


def availability_zones_answer(args: dict[str, Any], region: str) -> dict[str, Any]:
    excluded_ids = {str(z) for z in _as_list(args.get("excludeZoneIds"))}
    excluded_names = {str(z) for z in _as_list(args.get("excludeNames"))}
    zones = [z for z in availability_zones(region) if z not in excluded_names and zone_id(z) not in excluded_ids]
    return {
        "names": zones,
        "zoneIds": [zone_id(z) for z in zones],
        "groupNames": [region] * len(zones),
        "id": region,
        "state": args.get("state"),
    }


def caller_identity(args: dict[str, Any], region: str) -> dict[str, Any]:
    return {
        "accountId": account_id(),
        "arn": f"arn:{partition(region)}:iam::{account_id()}:user/llmops-offline",
        "userId": "AIDAOFFLINEPLANNER00",
        "id": account_id(),
    }


def partition_answer(args: dict[str, Any], region: str) -> dict[str, Any]:
    p = partition(region)
    return {"partition": p, "dnsSuffix": dns_suffix(region), "reverseDnsPrefix": ".".join(reversed(dns_suffix(region).split("."))), "id": p}


def region_answer(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("region") or args.get("name") or region)
    return {"name": name, "region": name, "id": name, "endpoint": f"ec2.{name}.{dns_suffix(name)}", "description": name}


def policy_document(args: dict[str, Any], region: str) -> dict[str, Any]:
    document = policy_document_json(args)
    return {"json": document, "minifiedJson": json.dumps(json.loads(document), separators=(",", ":")), "id": digest(document, length=10)}


def ssm_parameter(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", ""))
    value = f"ami-{digest(region, name)}" if "ami" in name.lower() else f"{name.rsplit('/', 1)[-1]}-{digest(region, name, length=8)}"
    return {"name": name, "value": value, "insecureValue": value, "type": "String", "version": 1, "id": name, "arn": f"arn:{partition(region)}:ssm:{region}:{account_id()}:parameter/{name.lstrip('/')}"}


# Owner aliases ``owners`` accepts, and the account ids EC2 reports for them.
_AMI_OWNER_ALIASES = {"amazon": "137112412989", "aws-marketplace": "679593333241"}


def ami(args: dict[str, Any], region: str) -> dict[str, Any]:
    image = f"ami-{digest(region, json.dumps(args, sort_keys=True, default=str))}"
    owner = str(_as_list(args.get("owners"))[0]) if args.get("owners") else "self"
    owner_id = _AMI_OWNER_ALIASES.get(owner) or (account_id() if owner == "self" else owner)
    return {
        "id": image, "imageId": image, "architecture": "x86_64", "state": "available", "rootDeviceType": "ebs",
        "virtualizationType": "hvm", "ownerId": owner_id, "imageOwnerAlias": owner if owner in _AMI_OWNER_ALIASES else "",
    }


def eks_cluster(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name"))
    oidc = digest(region, name, length=32).upper()
    return {
        "name": name,
        "id": name,
        "arn": f"arn:{partition(region)}:eks:{region}:{account_id()}:cluster/{name}",
        "endpoint": f"https://{oidc}.gr7.{region}.eks.{dns_suffix(region)}",
        "certificateAuthorities": [{"data": base64.b64encode(f"ca-{name}".encode()).decode()}],
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.{dns_suffix(region)}/id/{oidc}"}]}],
        "version": "1.33",
        "status": "ACTIVE",
        "vpcConfig": {
            "clusterSecurityGroupId": f"sg-{digest(name, 'cluster')}",
            "vpcId": f"vpc-{digest(name, 'vpc')}",
            # the cluster's subnets, one private subnet per zone, as EKS reports them
            "subnetIds": [f"subnet-{digest(name, zone)}" for zone in availability_zones(region)[:3]],
            "securityGroupIds": [],
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
            "publicAccessCidrs": [],
        },
    }


def eks_cluster_auth(args: dict[str, Any], region: str) -> dict[str, Any]:
    return {"name": args.get("name"), "token": "k8s-aws-v1.offline-token", "id": args.get("name")}


def eks_addon_version(args: dict[str, Any], region: str) -> dict[str, Any]:
    return {"addonName": args.get("addonName"), "version": "v1.0.0-eksbuild.1", "kubernetesVersion": args.get("kubernetesVersion"), "id": args.get("addonName")}


def vpc(args: dict[str, Any], region: str) -> dict[str, Any]:
    vpc_id = str(args.get("id") or (_filters(args).get("vpc-id") or [""])[0] or f"vpc-{digest(region, 'default-vpc')}")
    default = bool(args.get("default")) or not (args.get("id") or args.get("filters") or args.get("tags") or args.get("cidrBlock"))
    cidr = str(args.get("cidrBlock") or (DEFAULT_VPC_CIDR if default else "10.0.0.0/16"))
    return {
        "id": vpc_id,
        "arn": f"arn:{partition(region)}:ec2:{region}:{account_id()}:vpc/{vpc_id}",
        "default": default,
        "cidrBlock": cidr,
        "cidrBlockAssociations": [{"associationId": f"vpc-cidr-assoc-{digest(vpc_id)}", "cidrBlock": cidr, "state": "associated"}],
        "state": "available",
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "instanceTenancy": "default",
        "ownerId": account_id(),
        "mainRouteTableId": f"rtb-{digest(vpc_id, 'main')}",
        "dhcpOptionsId": f"dopt-{digest(region, 'dhcp')}",
        "tags": args.get("tags") or {},
    }


def _vpc_of(args: dict[str, Any], region: str) -> str:
    filters = _filters(args)
    return (filters.get("vpc-id") or [str(args.get("vpcId") or f"vpc-{digest(region, 'default-vpc')}")])[0]


def subnets(args: dict[str, Any], region: str) -> dict[str, Any]:
    vpc_id = _vpc_of(args, region)
    return {"ids": [f"subnet-{digest(vpc_id, zone)}" for zone in availability_zones(region)], "id": region, "tags": args.get("tags") or {}}


def subnet(args: dict[str, Any], region: str) -> dict[str, Any]:
    vpc_id = _vpc_of(args, region)
    zones = availability_zones(region)
    zone = str(args.get("availabilityZone") or (_filters(args).get("availability-zone") or [zones[0]])[0])
    subnet_id = str(args.get("id") or f"subnet-{digest(vpc_id, zone)}")
    index = zones.index(zone) if zone in zones else 0
    return {
        "id": subnet_id,
        "arn": f"arn:{partition(region)}:ec2:{region}:{account_id()}:subnet/{subnet_id}",
        "vpcId": vpc_id,
        "availabilityZone": zone,
        "availabilityZoneId": zone_id(zone),
        "cidrBlock": f"172.31.{index * 16}.0/20",
        "defaultForAz": True,
        "mapPublicIpOnLaunch": True,
        "state": "available",
        "ownerId": account_id(),
        "availableIpAddressCount": 4091,
    }


def security_group(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name") or (_filters(args).get("group-name") or ["default"])[0])
    group_id = str(args.get("id") or f"sg-{digest(region, name)}")
    return {"id": group_id, "name": name, "vpcId": str(args.get("vpcId") or _vpc_of(args, region)), "arn": f"arn:{partition(region)}:ec2:{region}:{account_id()}:security-group/{group_id}", "description": f"{name} security group"}


def route53_zone(args: dict[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name") or "example.com").rstrip(".")
    zone = str(args.get("zoneId") or "Z" + digest(name, length=20).upper())
    servers = [f"ns-{int(digest(name, str(i), length=3), 16) % 2048}.awsdns-{int(digest(name, str(i), length=2), 16) % 64:02d}.{tld}" for i, tld in enumerate(("com", "net", "org", "co.uk"))]
    return {
        "id": zone, "zoneId": zone, "name": name, "arn": f"arn:{partition(region)}:route53:::hostedzone/{zone}",
        "nameServers": servers, "primaryNameServer": servers[0], "privateZone": bool(args.get("privateZone")),
        "callerReference": digest(name, "ref", length=36), "comment": "", "resourceRecordSetCount": 2,
        "linkedServiceDescription": "", "linkedServicePrincipal": "", "tags": args.get("tags") or {},
    }


def acm_certificate(args: dict[str, Any], region: str) -> dict[str, Any]:
    domain = str(args.get("domain") or "example.com")
    arn = f"arn:{partition(region)}:acm:{region}:{account_id()}:certificate/{digest(domain, length=8)}-{digest(domain, 'b', length=4)}-4{digest(domain, 'c', length=3)}-8{digest(domain, 'd', length=3)}-{digest(domain, 'e', length=12)}"
    return {"arn": arn, "id": arn, "domain": domain, "status": "ISSUED", "certificate": "", "certificateChain": "", "tags": {}}


def ecr_authorization_token(args: dict[str, Any], region: str) -> dict[str, Any]:
    password = f"offline-{digest(region, 'ecr-token', length=32)}"
    registry = str(args.get("registryId") or account_id())
    return {
        "authorizationToken": base64.b64encode(f"AWS:{password}".encode()).decode(),
        "userName": "AWS",
        "password": password,
        "proxyEndpoint": f"https://{registry}.dkr.ecr.{region}.{dns_suffix(region)}",
        "expiresAt": "2025-01-01T12:00:00Z",
        "id": region,
    }


def ecr_credentials(args: dict[str, Any], region: str) -> dict[str, Any]:
    registry = str(args.get("registryId") or account_id())
    return {
        "authorizationToken": base64.b64encode(f"AWS:offline-{digest(region, 'ecr', length=32)}".encode()).decode(),
        "proxyEndpoint": f"https://{registry}.dkr.ecr.{region}.{dns_suffix(region)}",
        "expiresAt": "2025-01-01T12:00:00Z",
        "registryId": registry,
        "id": registry,
    }


def kubernetes_yaml_decode(args: dict[str, Any], region: str) -> dict[str, Any]:
    """``kubernetes:yaml:decode``: the provider parses YAML text into objects; so do we."""
    import yaml

    try:
        objects = [doc for doc in yaml.safe_load_all(str(args.get("text") or "")) if doc]
    except yaml.YAMLError as exc:
        raise ValueError(f"kubernetes:yaml:decode: not valid YAML ({exc})") from None
    return {"result": objects}


ANSWERS: dict[str, Answer] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": availability_zones_answer,
    "aws:index/getCallerIdentity:getCallerIdentity": caller_identity,
    "aws:index/getPartition:getPartition": partition_answer,
    "aws:index/getRegion:getRegion": region_answer,
    "aws:iam/getPolicyDocument:getPolicyDocument": policy_document,
    "aws:ssm/getParameter:getParameter": ssm_parameter,
    "aws:ec2/getAmi:getAmi": ami,
    "aws:eks/getCluster:getCluster": eks_cluster,
    "aws:eks/getClusterAuth:getClusterAuth": eks_cluster_auth,
    "aws:eks/getAddonVersion:getAddonVersion": eks_addon_version,
    "aws:ec2/getVpc:getVpc": vpc,
    "aws:ec2/getSubnets:getSubnets": subnets,
    "aws:ec2/getSubnet:getSubnet": subnet,
    "aws:ec2/getSecurityGroup:getSecurityGroup": security_group,
    "aws:route53/getZone:getZone": route53_zone,
    "aws:acm/getCertificate:getCertificate": acm_certificate,
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": ecr_authorization_token,
    "aws:ecr/getCredentials:getCredentials": ecr_credentials,
    "kubernetes:yaml:decode": kubernetes_yaml_decode,
}

# Provider functions no SDK class declares, with the empty answer their callers accept.
# ``kubernetes:helm:template`` renders a chart with Helm, which needs the chart and the
# helm binary: offline it renders nothing, and the plan says so.
UNDECLARED_DEFAULTS: dict[str, dict[str, Any]] = {
    "kubernetes:helm:template": {"result": []},
    "kubernetes:kustomize:directory": {"result": []},
}


def policy_document_json(args: dict[str, Any]) -> str:
    """The JSON ``aws.iam.get_policy_document`` renders for its arguments."""
    statements = []
    for raw in args.get("statements") or []:
        statement: dict[str, Any] = {}
        if raw.get("sid"):
            statement["Sid"] = raw["sid"]
        statement["Effect"] = raw.get("effect", "Allow")
        for key, out in (("actions", "Action"), ("notActions", "NotAction"), ("resources", "Resource"), ("notResources", "NotResource")):
            values = _as_list(raw.get(key))
            if values:
                statement[out] = values[0] if len(values) == 1 else sorted(values)
        for key, out in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            principals: dict[str, Any] = {}
            for principal in _as_list(raw.get(key)):
                ids = _as_list(principal.get("identifiers"))
                principals[principal.get("type", "AWS")] = ids[0] if len(ids) == 1 else sorted(ids)
            if principals:
                statement[out] = "*" if principals == {"*": "*"} else principals
        conditions: dict[str, dict[str, Any]] = {}
        for condition in _as_list(raw.get("conditions")):
            values = _as_list(condition.get("values"))
            conditions.setdefault(condition["test"], {})[condition["variable"]] = values[0] if len(values) == 1 else values
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    return json.dumps({"Version": args.get("version") or "2012-10-17", "Statement": statements}, indent=2)
