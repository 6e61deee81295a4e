"""Realistic fake provider behaviour for the offline engine.

``new_resource`` returns what the real provider would return after a create: a physical id
in the provider's format, ARNs in the right partition, region and account, endpoints and
generated names, plus every input echoed back (as the providers do). ``call`` answers the
data sources programs commonly invoke (availability zones, caller identity, partition,
region, IAM policy documents, SSM parameters, AMIs, EKS auth).

Everything derives from the resource's type and name through a hash, so two runs of the
same program produce byte-identical plans.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from pulumi.runtime import Mocks
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "us-east-1"


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def unwrap_secrets(value: Any) -> Any:
    """Plain values from deserialized RPC properties (secret wrappers removed)."""
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


# EC2-style id prefixes by resource type.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "sgrule",
    "aws:kms/key:Key": "",
}

# Resources whose physical name comes from a ``name`` input, else an auto-name.
_NAMED = {
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:eks/cluster:Cluster",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:sns/topic:Topic",
    "aws:sqs/queue:Queue",
    "aws:rds/cluster:Cluster",
    "aws:rds/clusterInstance:ClusterInstance",
    "aws:elasticache/serverlessCache:ServerlessCache",
    "aws:budgets/budget:Budget",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:ecr/repository:Repository",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:kms/alias:Alias",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:secretsmanager/secret:Secret",
}


class PlatformMocks(Mocks):
    """Mocks that return realistic outputs per resource type and data-source call.

    ``provider_regions`` maps a provider reference (``urn::id``) to its region; the
    recording monitor fills it as provider resources are registered.
    """

    def __init__(self, default_region: str = DEFAULT_REGION) -> None:
        self.default_region = default_region
        self.provider_regions: dict[str, str] = {}
        self.provider_default_tags: dict[str, dict[str, str]] = {}
        self.unmocked_calls: set[str] = set()
        self._resource_outputs: dict[str, Callable[[dict[str, Any], _Ctx], dict[str, Any]]] = {
            "aws:ec2/vpc:Vpc": _vpc,
            "aws:ec2/subnet:Subnet": _subnet,
            "aws:ec2/eip:Eip": _eip,
            "aws:ec2/natGateway:NatGateway": _nat,
            "aws:ec2/securityGroup:SecurityGroup": _security_group,
            "aws:eks/cluster:Cluster": _eks_cluster,
            "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
            "aws:iam/role:Role": _iam_role,
            "aws:iam/policy:Policy": _iam_policy,
            "aws:iam/instanceProfile:InstanceProfile": _iam_instance_profile,
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
            "aws:kms/key:Key": _kms_key,
            "aws:kms/alias:Alias": _kms_alias,
            "aws:cloudwatch/logGroup:LogGroup": _log_group,
            "aws:s3/bucket:Bucket": _s3_bucket,
            "aws:s3/bucketV2:BucketV2": _s3_bucket,
            "aws:sns/topic:Topic": _sns_topic,
            "aws:sqs/queue:Queue": _sqs_queue,
            "aws:rds/cluster:Cluster": _rds_cluster,
            "aws:rds/clusterInstance:ClusterInstance": _rds_instance,
            "aws:elasticache/serverlessCache:ServerlessCache": _serverless_cache,
            "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
            "aws:route53/healthCheck:HealthCheck": _generic,
            "aws:globalaccelerator/accelerator:Accelerator": _accelerator,
            "aws:acm/certificate:Certificate": _acm_certificate,
            "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
            "aws:lb/targetGroup:TargetGroup": _target_group,
            "aws:route53/record:Record": _route53_record,
        }

    # ------------------------------------------------------------------ resources
    def register_provider(self, typ: str, ref: str, inputs: dict[str, Any]) -> None:
        """Remembers an AWS provider's region and default tags for resources that use it."""
        if typ != "pulumi:providers:aws":
            return
        if inputs.get("region"):
            self.provider_regions[ref] = str(inputs["region"])
        default_tags = inputs.get("defaultTags") or {}
        if isinstance(default_tags, str):  # provider inputs carry nested values as JSON text
            default_tags = json.loads(default_tags)
        self.provider_default_tags[ref] = dict(default_tags.get("tags") or {})

    def region_of(self, provider_ref: str | None) -> str:
        if provider_ref and provider_ref in self.provider_regions:
            return self.provider_regions[provider_ref]
        return self.default_region

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = unwrap_secrets(args.inputs)
        typ = args.typ
        if typ.startswith("pulumi:providers:"):
            return f"{_digest(typ, args.name, length=8)}-{_digest(args.name, length=4)}-provider", inputs
        if not typ.startswith("aws:"):
            return _kubernetes_or_other(typ, args.name, inputs)
        ctx = _Ctx(typ=typ, name=args.name, region=self.region_of(args.provider))
        prefix = _ID_PREFIX.get(typ)
        if typ == "aws:kms/key:Key":
            physical_id = f"{_digest(typ, args.name, length=8)}-{_digest(args.name, 'a', length=4)}-4{_digest(args.name, 'b', length=3)}-8{_digest(args.name, 'c', length=3)}-{_digest(args.name, 'd', length=12)}"
        elif prefix:
            physical_id = f"{prefix}-{_digest(typ, args.name)}"
        elif typ in _NAMED:
            physical_id = ctx.physical_name(inputs)
        else:
            physical_id = f"{args.name}-{_digest(typ, args.name, length=7)}"
        ctx.id = physical_id
        outputs = dict(inputs)
        outputs.setdefault("arn", ctx.arn())
        outputs["tagsAll"] = dict(inputs.get("tags") or {})
        handler = self._resource_outputs.get(typ)
        if handler is not None:
            outputs.update(handler(inputs, ctx))
        return physical_id, outputs

    # ------------------------------------------------------------------ data sources
    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        region = self.region_of(args.provider)
        token = args.token
        a = unwrap_secrets(args.args)
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            from core import catalog

            known = catalog.regions().get(region)
            count = known.availability_zones if known is not None else 3
            letters = "abcdef"[:count]
            return {
                "names": [f"{region}{c}" for c in letters],
                "zoneIds": [f"{zone_id_prefix(region)}-az{i + 1}" for i in range(count)],
                "groupNames": [region] * count,
                "id": region,
                "state": a.get("state"),
            }, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/llmops-offline",
                "userId": "AIDAOFFLINEPLANNER00",
                "id": ACCOUNT_ID,
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": PARTITION}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com", "description": region}, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            document = policy_document_json(a)
            return {"json": document, "minifiedJson": document, "id": _digest(document, length=10)}, []
        if token == "aws:ssm/getParameter:getParameter":
            name = str(a.get("name", ""))
            return {"name": name, "value": f"ami-{_digest(region, name)}", "type": "String", "id": name, "arn": f"arn:{PARTITION}:ssm:{region}::parameter{name}"}, []
        if token == "aws:ec2/getAmi:getAmi":
            return {"id": f"ami-{_digest(region, json.dumps(a, sort_keys=True, default=str))}", "architecture": "x86_64"}, []
        if token == "aws:eks/getCluster:getCluster":
            name = str(a.get("name"))
            oidc = _digest(region, name, length=32).upper()
            return {
                "name": name,
                "id": name,
                "arn": f"arn:{PARTITION}:eks:{region}:{ACCOUNT_ID}:cluster/{name}",
                "endpoint": f"https://{oidc}.gr7.{region}.eks.amazonaws.com",
                "certificateAuthorities": [{"data": base64.b64encode(f"ca-{name}".encode()).decode()}],
                "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc}"}]}],
                "version": "1.33",
                "status": "ACTIVE",
                "vpcConfig": {
                    "clusterSecurityGroupId": f"sg-{_digest(name, 'cluster')}",
                    "vpcId": f"vpc-{_digest(name, 'vpc')}",
                    "subnetIds": [f"subnet-{_digest(name, 'subnet', str(i))}" for i in range(2)],
                },
            }, []
        if token == "aws:eks/getClusterAuth:getClusterAuth":
            return {"name": a.get("name"), "token": "k8s-aws-v1.offline-token", "id": a.get("name")}, []
        if token == "aws:eks/getAddonVersion:getAddonVersion":
            return {"addonName": a.get("addonName"), "version": "v1.0.0-eksbuild.1", "kubernetesVersion": a.get("kubernetesVersion"), "id": a.get("addonName")}, []
        self.unmocked_calls.add(token)
        return {}, []


class _Ctx:
    """What an output builder knows about the resource being created."""

    def __init__(self, typ: str, name: str, region: str) -> None:
        self.typ = typ
        self.name = name
        self.region = region
        self.id = ""

    @property
    def service(self) -> str:
        return self.typ.split(":")[1].split("/")[0]

    @property
    def kind(self) -> str:
        module = self.typ.split(":")[1]
        return module.split("/")[1] if "/" in module else module

    def physical_name(self, inputs: dict[str, Any]) -> str:
        explicit = inputs.get("name") or inputs.get("clusterIdentifier") or inputs.get("nodeGroupName")
        if explicit:
            return str(explicit)
        prefix = inputs.get("namePrefix")
        if prefix:
            return f"{prefix}{_digest(self.typ, self.name, length=12)}"
        return f"{self.name}-{_digest(self.typ, self.name, length=7)}"

    def arn(self, resource: str | None = None, *, global_service: bool = False) -> str:
        region = "" if global_service else self.region
        return f"arn:{PARTITION}:{self.service}:{region}:{ACCOUNT_ID}:{resource or f'{self.kind.lower()}/{self.id}'}"


def zone_id_prefix(region: str) -> str:
    """``us-east-1`` -> ``use1``, the prefix of AWS availability-zone ids."""
    parts = region.split("-")
    return f"{parts[0]}{''.join(p[0] for p in parts[1:-1])}{parts[-1]}"


def _generic(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {}


def _vpc(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {
        "arn": ctx.arn(f"vpc/{ctx.id}"),
        "defaultSecurityGroupId": f"sg-{_digest(ctx.id, 'default')}",
        "mainRouteTableId": f"rtb-{_digest(ctx.id, 'main')}",
        "defaultNetworkAclId": f"acl-{_digest(ctx.id, 'acl')}",
        "ownerId": ACCOUNT_ID,
    }


def _subnet(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    az = str(inputs.get("availabilityZone") or f"{ctx.region}a")
    return {"arn": ctx.arn(f"subnet/{ctx.id}"), "availabilityZoneId": f"{zone_id_prefix(ctx.region)}-az{ord(az[-1]) - 96}", "ownerId": ACCOUNT_ID}


def _eip(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    octets = [int(_digest(ctx.id, str(i), length=2), 16) % 254 + 1 for i in range(2)]
    return {"allocationId": ctx.id, "publicIp": f"203.0.{octets[0]}.{octets[1]}", "domain": "vpc", "arn": ctx.arn(f"elastic-ip/{ctx.id}")}


def _nat(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"publicIp": f"198.51.100.{int(_digest(ctx.id, length=2), 16) % 254 + 1}", "networkInterfaceId": f"eni-{_digest(ctx.id, 'eni')}"}


def _security_group(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"arn": ctx.arn(f"security-group/{ctx.id}"), "ownerId": ACCOUNT_ID, "name": inputs.get("name") or f"{ctx.name}-{_digest(ctx.id, length=7)}"}


def _eks_cluster(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    oidc = _digest(ctx.region, ctx.id, length=32).upper()
    ca = base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{ctx.id}\n-----END CERTIFICATE-----\n".encode()).decode()
    vpc_config = dict(inputs.get("vpcConfig") or {})
    vpc_config.setdefault("clusterSecurityGroupId", f"sg-{_digest(ctx.id, 'cluster')}")
    vpc_config.setdefault("vpcId", f"vpc-{_digest(ctx.id, 'vpc')}")
    return {
        "name": ctx.id,
        "arn": ctx.arn(f"cluster/{ctx.id}"),
        "endpoint": f"https://{oidc}.gr7.{ctx.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": ca},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{oidc}"}]}],
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "version": inputs.get("version") or "1.33",
        "vpcConfig": vpc_config,
        "clusterId": _digest(ctx.id, "id", length=36),
    }


def _eks_node_group(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    cluster = inputs.get("clusterName", "cluster")
    return {
        "arn": ctx.arn(f"nodegroup/{cluster}/{ctx.id}/{_digest(ctx.id, length=8)}"),
        "nodeGroupName": ctx.id,
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{ctx.id}-{_digest(ctx.id, length=8)}"}]}],
    }


def _iam_role(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"name": ctx.id, "arn": ctx.arn(f"role/{inputs.get('path', '/').strip('/') + '/' if inputs.get('path', '/') != '/' else ''}{ctx.id}", global_service=True), "uniqueId": f"AROA{_digest(ctx.id, length=17).upper()}"}


def _iam_policy(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"name": ctx.id, "arn": ctx.arn(f"policy/{ctx.id}", global_service=True), "policyId": f"ANPA{_digest(ctx.id, length=17).upper()}"}


def _iam_instance_profile(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"name": ctx.id, "arn": ctx.arn(f"instance-profile/{ctx.id}", global_service=True)}


def _oidc_provider(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    url = str(inputs.get("url", "")).removeprefix("https://")
    return {"arn": ctx.arn(f"oidc-provider/{url}", global_service=True)}


def _kms_key(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"keyId": ctx.id, "arn": ctx.arn(f"key/{ctx.id}")}


def _kms_alias(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"arn": ctx.arn(str(inputs.get("name", f"alias/{ctx.id}")))}


def _log_group(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"name": ctx.id, "arn": f"arn:{PARTITION}:logs:{ctx.region}:{ACCOUNT_ID}:log-group:{ctx.id}"}


def _s3_bucket(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    bucket = str(inputs.get("bucket") or f"{ctx.name}-{_digest(ctx.typ, ctx.name, length=7)}")
    return {
        "bucket": bucket,
        "arn": f"arn:{PARTITION}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{ctx.region}.amazonaws.com",
        "region": ctx.region,
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _sns_topic(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"name": ctx.id, "arn": f"arn:{PARTITION}:sns:{ctx.region}:{ACCOUNT_ID}:{ctx.id}"}


def _sqs_queue(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {
        "name": ctx.id,
        "arn": f"arn:{PARTITION}:sqs:{ctx.region}:{ACCOUNT_ID}:{ctx.id}",
        "url": f"https://sqs.{ctx.region}.amazonaws.com/{ACCOUNT_ID}/{ctx.id}",
    }


def _rds_cluster(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    suffix = _digest(ctx.region, length=12)
    return {
        "clusterIdentifier": ctx.id,
        "arn": f"arn:{PARTITION}:rds:{ctx.region}:{ACCOUNT_ID}:cluster:{ctx.id}",
        "endpoint": f"{ctx.id}.cluster-{suffix}.{ctx.region}.rds.amazonaws.com",
        "readerEndpoint": f"{ctx.id}.cluster-ro-{suffix}.{ctx.region}.rds.amazonaws.com",
        "port": inputs.get("port") or 5432,
        "clusterResourceId": f"cluster-{_digest(ctx.id, length=26).upper()}",
        "masterUserSecrets": [{"secretArn": f"arn:{PARTITION}:secretsmanager:{ctx.region}:{ACCOUNT_ID}:secret:rds!{ctx.id}", "secretStatus": "active", "kmsKeyId": inputs.get("masterUserSecretKmsKeyId")}]
        if inputs.get("manageMasterUserPassword")
        else [],
    }


def _rds_instance(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"identifier": ctx.id, "arn": f"arn:{PARTITION}:rds:{ctx.region}:{ACCOUNT_ID}:db:{ctx.id}", "endpoint": f"{ctx.id}.{_digest(ctx.region, length=12)}.{ctx.region}.rds.amazonaws.com"}


def _serverless_cache(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    host = f"{ctx.id}-{_digest(ctx.id, length=6)}.serverless.{zone_id_prefix(ctx.region)}.cache.amazonaws.com"
    return {
        "arn": f"arn:{PARTITION}:elasticache:{ctx.region}:{ACCOUNT_ID}:serverlesscache:{ctx.id}",
        "endpoints": [{"address": host, "port": 6379}],
        "readerEndpoints": [{"address": host, "port": 6380}],
        "status": "available",
    }


def _launch_template(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"latestVersion": 1, "defaultVersion": 1, "arn": ctx.arn(f"launch-template/{ctx.id}")}


def _accelerator(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"dnsName": f"{_digest(ctx.id, length=16)}.awsglobalaccelerator.com", "hostedZoneId": "Z2BJ6XQ5FK7U4H"}


def _acm_certificate(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    domain = str(inputs.get("domainName") or "example.com")
    token = _digest(ctx.id, domain, length=32)
    return {
        "arn": ctx.arn(f"certificate/{_digest(ctx.id, length=8)}-{_digest(ctx.id, 'b', length=4)}-{_digest(ctx.id, 'c', length=12)}"),
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{token}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_digest(token, length=32)}.acm-validations.aws.",
            }
        ],
        "status": "PENDING_VALIDATION",
    }


def _load_balancer(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    kind = "net" if inputs.get("loadBalancerType") == "network" else "app"
    name = str(inputs.get("name") or ctx.id)[:32]
    suffix = f"{kind}/{name}/{_digest(ctx.id, length=16)}"
    scheme = "internal-" if inputs.get("internal") else ""
    zones = {"net": "Z26RNL4JYFTOTI", "app": "Z35SXDOTRQ7X7K"}  # us-east-1's; enough for aliases offline
    return {
        "arn": ctx.arn(f"loadbalancer/{suffix}"),
        "arnSuffix": suffix,
        "dnsName": f"{scheme}{name}-{_digest(ctx.id, length=10)}.elb.{ctx.region}.amazonaws.com",
        "zoneId": zones[kind],
    }


def _target_group(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    suffix = f"targetgroup/{str(inputs.get('name') or ctx.id)[:32]}/{_digest(ctx.id, length=16)}"
    return {"arn": ctx.arn(suffix), "arnSuffix": suffix}


def _route53_record(inputs: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {"fqdn": str(inputs.get("name") or ctx.id).rstrip(".")}


def _kubernetes_or_other(typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    outputs = dict(inputs)
    if typ.startswith("kubernetes:"):
        metadata = dict(inputs.get("metadata") or {})
        metadata.setdefault("name", f"{name}-{_digest(typ, name, length=8)}")
        metadata.setdefault("uid", _digest(typ, name, length=32))
        outputs["metadata"] = metadata
        namespace = metadata.get("namespace")
        physical_id = f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
        if typ == "kubernetes:helm.sh/v3:Release":
            release = str(inputs.get("name") or name)
            outputs["status"] = {
                "name": release,
                "namespace": inputs.get("namespace", "default"),
                "chart": inputs.get("chart"),
                "version": inputs.get("version"),
                "status": "deployed",
                "revision": 1,
            }
            physical_id = f"{inputs.get('namespace', 'default')}/{release}"
        return physical_id, outputs
    return f"{name}-{_digest(typ, name, length=8)}", outputs


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


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
