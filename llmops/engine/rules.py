"""Hand-written outputs where a provider's semantics matter more than a property's type: ACM
validation records that follow the certificate's domains, an EKS cluster's endpoint, CA and
OIDC issuer that agree with each other, RDS secrets only when RDS manages the password, S3
website endpoints only for website buckets, load balancer subnets from their mappings, and
the like. Each rule gets the resource and the outputs derived from its declared types, and
returns the values to change.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from llmops.engine.formats import (
    APIGATEWAY_ZONE_IDS,
    CLOUDFRONT_ZONE_ID,
    Subject,
    account_id,
    alnum,
    digest,
    dns_suffix,
    ec2_dns,
    hosted_zone_id,
    public_ip,
    s3_website_domain,
    uuid_from,
    zone_id_prefix,
)

Rule = Callable[[Subject, dict[str, Any]], dict[str, Any]]


def _domains(inputs: dict[str, Any]) -> list[str]:
    domains = [str(inputs.get("domainName") or "")]
    for name in inputs.get("subjectAlternativeNames") or []:
        if name not in domains:
            domains.append(str(name))
    return [d for d in domains if d]


def acm_certificate(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    imported = bool(s.inputs.get("certificateBody"))
    method = str(s.inputs.get("validationMethod") or ("NONE" if imported else "DNS")).upper()
    domains = _domains(s.inputs)
    options = []
    for domain in domains:
        base = domain.removeprefix("*.")
        option: dict[str, Any] = {"domainName": domain}
        if method == "DNS":
            option.update(
                resourceRecordName=f"_{digest(base, 'name', length=32)}.{base}.",
                resourceRecordType="CNAME",
                resourceRecordValue=f"_{digest(base, 'value', length=32)}.{alnum(base, length=10)}.acm-validations.aws.",
            )
        options.append(option)
    return {
        "domainValidationOptions": [] if imported else options,
        "subjectAlternativeNames": domains,
        "validationMethod": method,
        "validationEmails": [f"admin@{d.removeprefix('*.')}" for d in domains] if method == "EMAIL" else [],
        "status": "ISSUED" if imported else "PENDING_VALIDATION",
        "type": "IMPORTED" if imported else "PRIVATE" if s.inputs.get("certificateAuthorityArn") else "AMAZON_ISSUED",
        "keyAlgorithm": s.inputs.get("keyAlgorithm") or "RSA_2048",
        "renewalEligibility": "INELIGIBLE",
        "renewalSummaries": [],
        "pendingRenewal": False,
    }


def eks_cluster(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    issuer_id = digest(s.region, s.id, length=32).upper()
    ca = base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{s.id}\n-----END CERTIFICATE-----\n".encode()).decode()
    vpc_config = dict(s.inputs.get("vpcConfig") or {})
    vpc_config.setdefault("clusterSecurityGroupId", f"sg-{digest(s.id, 'cluster')}")
    vpc_config.setdefault("vpcId", f"vpc-{digest(s.id, 'vpc')}")
    return {
        "endpoint": f"https://{issuer_id}.gr7.{s.region}.eks.{dns_suffix(s.region)}",
        "vpcConfig": vpc_config,
        "certificateAuthority": {"data": ca},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{s.region}.{dns_suffix(s.region)}/id/{issuer_id}"}]}],
        "platformVersion": "eks.1",
        "version": s.inputs.get("version") or "1.33",
        "clusterId": digest(s.id, "id", length=36),
    }


def eks_node_group(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"resources": [{"autoscalingGroups": [{"name": f"eks-{s.name}-{digest(s.name, length=8)}"}], "remoteAccessSecurityGroupId": ""}]}


def rds_managed_secret(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    if not s.inputs.get("manageMasterUserPassword"):
        return {"masterUserSecrets": []}
    return {
        "masterUserSecrets": [
            {
                "secretArn": f"arn:{s.partition}:secretsmanager:{s.region}:{account_id()}:secret:rds!{'cluster' if 'Cluster' in s.kind else 'db'}-{uuid_from(s.token, s.name)}-{alnum(s.name, length=6)}",
                "secretStatus": "active",
                "kmsKeyId": s.inputs.get("masterUserSecretKmsKeyId") or f"arn:{s.partition}:kms:{s.region}:{account_id()}:alias/aws/secretsmanager",
            }
        ]
    }


def s3_bucket(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    bucket, r = s.name, s.region
    website = bool(s.inputs.get("website"))
    return {
        "bucketDomainName": f"{bucket}.s3.{dns_suffix(r)}",
        "bucketRegionalDomainName": f"{bucket}.s3.{r}.{dns_suffix(r)}",
        "bucketRegion": r,
        "websiteEndpoint": f"{bucket}.{s3_website_domain(r)}" if website else "",
        "websiteDomain": s3_website_domain(r) if website else "",
        "acl": s.inputs.get("acl") or "private",
        # What S3 reports for a bucket without these blocks: SSE-S3 (the default since
        # January 2023) and versioning never enabled.
        "serverSideEncryptionConfiguration": s.inputs.get("serverSideEncryptionConfiguration")
        or {"rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}, "bucketKeyEnabled": False}},
        "versioning": s.inputs.get("versioning") or {"enabled": False, "mfaDelete": False},
    }


def load_balancer(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {"arnSuffix": s.arn.split(":loadbalancer/", 1)[-1]}
    mappings = s.inputs.get("subnetMappings") or []
    if not s.inputs.get("subnets") and mappings:
        changes["subnets"] = [m.get("subnetId") for m in mappings if isinstance(m, dict)]
    if not s.inputs.get("loadBalancerType"):
        changes["loadBalancerType"] = "application"
    changes["ipAddressType"] = s.inputs.get("ipAddressType") or "ipv4"
    return changes


def target_group(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"arnSuffix": s.arn.split(":", 5)[-1], "loadBalancerArns": []}


def apigateway_stage(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    stage = str(s.inputs.get("stageName") or s.inputs.get("name") or "")
    api = str(s.inputs.get("restApi") or s.inputs.get("apiId") or "")
    arn = f"arn:{s.partition}:execute-api:{s.region}:{account_id()}:{api}/{stage}"
    return {"executionArn": arn}


def apigateway_deployment(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    api = str(s.inputs.get("restApi") or "")
    return {"invokeUrl": f"https://{api}.execute-api.{s.region}.{dns_suffix(s.region)}/", "executionArn": f"arn:{s.partition}:execute-api:{s.region}:{account_id()}:{api}/"}


def apigatewayv2_domain(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    config = dict(s.inputs.get("domainNameConfiguration") or {})
    config.setdefault("targetDomainName", s.host())
    config.setdefault("hostedZoneId", hosted_zone_id(APIGATEWAY_ZONE_IDS, s.region, "apigw"))
    return {"domainNameConfiguration": config, "apiMappingSelectionExpression": "$request.basepath"}


def apigateway_domain(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"cloudfrontDomainName": f"d{alnum(s.token, s.logical, length=13)}.cloudfront.net", "cloudfrontZoneId": CLOUDFRONT_ZONE_ID}


def route53_zone(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    servers = out.get("nameServers") or []
    return {"zoneId": s.id, "primaryNameServer": servers[0] if servers else ""}


def route53_record(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"fqdn": str(s.inputs.get("name") or s.logical).rstrip(".")}


def secret_rotation(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    """Rotation is on when rules are configured, unless the program turns it off."""
    enabled = s.inputs.get("rotationEnabled")
    return {"rotationEnabled": bool(s.inputs.get("rotationRules")) if enabled is None else bool(enabled)}


def ec2_route(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    """A route has one target; AWS reports the others empty."""
    return {
        "instanceId": s.inputs.get("instanceId") or "",
        "instanceOwnerId": account_id() if s.inputs.get("instanceId") else "",
        "origin": "CreateRoute",
        "state": "active",
    }


def ec2_instance(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    public = s.inputs.get("associatePublicIpAddress") is not False
    private_ip, public_ip_ = str(out.get("privateIp") or ""), str(out.get("publicIp") or "")
    return {
        "instanceState": "running",
        "privateDns": ec2_dns(private_ip, s.region, public=False),
        "publicIp": public_ip_ if public else "",
        "publicDns": ec2_dns(public_ip_, s.region, public=True) if public else "",
    }


def eip(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"allocationId": s.id, "domain": "vpc", "publicIp": public_ip(s.id), "publicDns": ec2_dns(public_ip(s.id), s.region, public=True)}


def kms_key(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"keyId": s.id}


def kms_alias(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    target = str(s.inputs.get("targetKeyId") or "")
    key_arn = target if target.startswith("arn:") else f"arn:{s.partition}:kms:{s.region}:{account_id()}:key/{target}"
    return {"targetKeyArn": key_arn}


def serverless_cache(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    host = f"{s.name}-{digest(s.id, length=6)}.serverless.{zone_id_prefix(s.region)}.cache.{dns_suffix(s.region)}"
    return {"endpoints": [{"address": host, "port": 6379}], "readerEndpoints": [{"address": host, "port": 6380}], "status": "available"}


def ecs_task_definition(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"revision": 1, "arnWithoutRevision": s.arn.rsplit(":", 1)[0]}


def iam_instance_profile(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"uniqueId": "AIPA" + alnum(s.token, s.logical, length=17, upper=True)}


def lambda_function(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    return {"signingJobArn": "", "signingProfileVersionArn": "", "version": "$LATEST"}


def appsync_api(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    host = alnum(s.token, s.logical, length=26)
    suffix = dns_suffix(s.region)
    return {
        "uris": {
            "GRAPHQL": f"https://{host}.appsync-api.{s.region}.{suffix}/graphql",
            "REALTIME": f"wss://{host}.appsync-realtime-api.{s.region}.{suffix}/graphql",
        }
    }


def s3_website_configuration(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    """The bucket's website endpoint, which a CloudFront origin or Route 53 alias points at."""
    bucket = str(s.inputs.get("bucket") or s.name)
    return {"websiteEndpoint": f"{bucket}.{s3_website_domain(s.region)}", "websiteDomain": s3_website_domain(s.region)}


def dynamodb_table(s: Subject, out: dict[str, Any]) -> dict[str, Any]:
    if not s.inputs.get("streamEnabled"):
        return {"streamArn": "", "streamLabel": ""}
    label = "2025-01-01T00:00:00.000"
    return {"streamArn": f"{s.arn}/stream/{label}", "streamLabel": label}


RULES: dict[str, Rule] = {
    "aws:acm/certificate:Certificate": acm_certificate,
    "aws:eks/cluster:Cluster": eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": eks_node_group,
    "aws:rds/cluster:Cluster": rds_managed_secret,
    "aws:rds/instance:Instance": rds_managed_secret,
    "aws:s3/bucket:Bucket": s3_bucket,
    "aws:s3/bucketV2:BucketV2": s3_bucket,
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration": s3_website_configuration,
    "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2": s3_website_configuration,
    "aws:lb/loadBalancer:LoadBalancer": load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": load_balancer,
    "aws:lb/targetGroup:TargetGroup": target_group,
    "aws:alb/targetGroup:TargetGroup": target_group,
    "aws:apigateway/stage:Stage": apigateway_stage,
    "aws:apigatewayv2/stage:Stage": apigateway_stage,
    "aws:apigateway/deployment:Deployment": apigateway_deployment,
    "aws:apigateway/domainName:DomainName": apigateway_domain,
    "aws:apigatewayv2/domainName:DomainName": apigatewayv2_domain,
    "aws:route53/zone:Zone": route53_zone,
    "aws:route53/record:Record": route53_record,
    "aws:ec2/instance:Instance": ec2_instance,
    "aws:ec2/route:Route": ec2_route,
    "aws:secretsmanager/secretRotation:SecretRotation": secret_rotation,
    "aws:ec2/eip:Eip": eip,
    "aws:kms/key:Key": kms_key,
    "aws:kms/alias:Alias": kms_alias,
    "aws:elasticache/serverlessCache:ServerlessCache": serverless_cache,
    "aws:ecs/taskDefinition:TaskDefinition": ecs_task_definition,
    "aws:iam/instanceProfile:InstanceProfile": iam_instance_profile,
    "aws:lambda/function:Function": lambda_function,
    "aws:appsync/graphQLApi:GraphQLApi": appsync_api,
    "aws:dynamodb/table:Table": dynamodb_table,
}
