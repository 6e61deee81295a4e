"""A corpus of realistic Pulumi programs (not built from this project's components), each
planned offline: every export has a realistic value in the format AWS or Kubernetes uses,
never ``None`` and never unknown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from llmops.engine import PlanResult, load_stack_references, plan
from llmops.engine.report import json_safe, plan_document

PROGRAMS = Path(__file__).parent / "programs"

ACCOUNT = "123456789012"
HEX17 = r"[0-9a-f]{17}"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}"
HOSTED_ZONE = r"Z[0-9A-Z]{12,32}"

# Export -> what its value must look like (a regex for strings, else the exact value).
EXPECTED: dict[str, dict[str, Any]] = {
    "rest-api-lambda": {
        "url": r"https://(?P<api>[a-z0-9]{10})\.execute-api\.us-east-1\.amazonaws\.com/prod",
        "restApiId": r"[a-z0-9]{10}",
        "rootResourceId": r"[a-z0-9]{10}",
        "executionArn": rf"arn:aws:execute-api:us-east-1:{ACCOUNT}:[a-z0-9]{{10}}/prod",
        "functionArn": rf"arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler-[0-9a-f]{{7}}",
        "invokeArn": rf"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler-[0-9a-f]{{7}}/invocations",
        "functionName": r"handler-[0-9a-f]{7}",
        "roleArn": rf"arn:aws:iam::{ACCOUNT}:role/handler-role-[0-9a-f]{{7}}",
        "preview": True,
    },
    "http-api-domain": {
        "apiEndpoint": r"https://[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com",
        "stageUrl": r"https://[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com/",
        "executionArn": rf"arn:aws:execute-api:eu-west-1:{ACCOUNT}:[a-z0-9]{{10}}",
        "targetDomainName": r"d-[a-z0-9]{10}\.execute-api\.eu-west-1\.amazonaws\.com",
        "targetZoneId": "ZLY8HYME6SFDD",
        "zoneId": HOSTED_ZONE,
        "recordFqdn": "api.example.com",
        "validationRecord": r"_[0-9a-f]{32}\.api\.example\.com\.",
    },
    "alb-nlb-default-vpc": {
        "albDnsName": r"web-[0-9a-f]{7}-\d{10}\.us-east-1\.elb\.amazonaws\.com",
        "albZoneId": "Z35SXDOTRQ7X7K",
        "albArnSuffix": r"app/web-[0-9a-f]{7}/[0-9a-f]{16}",
        "nlbDnsName": r"internal-tcp-[0-9a-f]{7}-[0-9a-f]{16}\.elb\.us-east-1\.amazonaws\.com",
        "nlbZoneId": "Z26RNL4JYFTOTI",
        "httpsListenerArn": rf"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:listener/app/web-[0-9a-f]{{7}}/[0-9a-f]{{16}}/[0-9a-f]{{16}}",
        "targetGroupArnSuffix": r"targetgroup/web-[0-9a-f]{7}/[0-9a-f]{16}",
        "vpcId": rf"vpc-{HEX17}",
        "vpcCidr": "172.31.0.0/16",
        "subnetIds": [rf"subnet-{HEX17}"] * 6,  # the default VPC: one subnet per zone of us-east-1
        "securityGroupId": rf"sg-{HEX17}",
    },
    "acm-route53": {
        "certificateArn": rf"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/{UUID}",
        "certificateStatus": "PENDING_VALIDATION",
        "validationNames": [r"_[0-9a-f]{32}\.api\.shop\.example\.org\.", r"_[0-9a-f]{32}\.shop\.example\.org\."],
        "zoneId": HOSTED_ZONE,
        "nameServers": [r"ns-\d+\.awsdns-\d{2}\.com", r"ns-\d+\.awsdns-\d{2}\.net", r"ns-\d+\.awsdns-\d{2}\.org", r"ns-\d+\.awsdns-\d{2}\.co\.uk"],
        "parentZoneId": HOSTED_ZONE,
        "delegationFqdn": "shop.example.org",
    },
    "ecs-fargate": {
        "url": r"http://app-[0-9a-f]{7}-\d{10}\.us-east-1\.elb\.amazonaws\.com",
        "repositoryUrl": rf"{ACCOUNT}\.dkr\.ecr\.us-east-1\.amazonaws\.com/app-[0-9a-f]{{7}}",
        "registryEndpoint": rf"https://{ACCOUNT}\.dkr\.ecr\.us-east-1\.amazonaws\.com",
        "registryUser": "AWS",
        "clusterArn": rf"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/cluster-[0-9a-f]{{7}}",
        "serviceName": r"app-[0-9a-f]{7}",
        "taskDefinitionArn": rf"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/app:1",
        "taskRevision": 1,
        "logGroup": r"app-[0-9a-f]{7}",
    },
    "rds-postgres": {
        "address": r"orders-[0-9a-f]{7}\.[0-9a-f]{12}\.us-east-1\.rds\.amazonaws\.com",
        "endpoint": r"orders-[0-9a-f]{7}\.[0-9a-f]{12}\.us-east-1\.rds\.amazonaws\.com:5432",
        "port": 5432,
        "secretArn": rf"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds!db-{UUID}-[a-z0-9]{{6}}",
        "clusterEndpoint": r"analytics-[0-9a-f]{7}\.cluster-[0-9a-f]{12}\.us-east-1\.rds\.amazonaws\.com",
        "readerEndpoint": r"analytics-[0-9a-f]{7}\.cluster-ro-[0-9a-f]{12}\.us-east-1\.rds\.amazonaws\.com",
        "clusterPort": 5432,
        "clusterResourceId": r"cluster-[0-9A-F]{26}",
        "subnetGroup": r"db-[0-9a-f]{7}",
    },
    "k8s-services-helm": {
        "namespace": r"web-[0-9a-f]{8}",
        "hostname": r"a[0-9a-f]{32}-\d{10}\.us-east-1\.elb\.amazonaws\.com",
        "nodePort": lambda v: isinstance(v, int) and 30000 <= v <= 32767,
        "internalIp": r"172\.20\.\d{1,3}\.\d{1,3}",
        "readyReplicas": 3,
        "releaseStatus": "deployed",
        "releaseName": r"ingress-nginx-[0-9a-f]{8}",
        "clusterEndpoint": r"https://[0-9A-F]{32}\.gr7\.us-east-1\.eks\.amazonaws\.com",
    },
    "stack-reference": {
        "vpcId": "vpc-0a1b2c3d4e5f60718",  # from the referenced stack's outputs
        "vpcCidr": r"10\.0\.0\.0/16",
        "vpcArn": rf"arn:aws:ec2:eu-west-1:{ACCOUNT}:vpc/vpc-0a1b2c3d4e5f60718",
        "subnetId": rf"subnet-{HEX17}",
        "subnetAzId": "euw1-az2",
        "privateIp": r"10\.0\.\d{1,3}\.\d{1,3}",
        "privateDns": r"ip-10-0-\d{1,3}-\d{1,3}\.eu-west-1\.compute\.internal",
        "deployerArn": rf"arn:aws:iam::{ACCOUNT}:role/deployer",
        "environment": "prod",
    },
}


def _references(program: Path) -> dict[str, dict[str, Any]] | None:
    outputs = program / "network-outputs.json"
    return load_stack_references([f"acme/network/prod={outputs}"]) if outputs.exists() else None


@pytest.fixture(scope="module")
def planned() -> dict[str, PlanResult]:
    return {name: plan("test", PROGRAMS / name, _references(PROGRAMS / name)) for name in sorted(EXPECTED)}


def _nothing_missing(value: Any, path: str) -> None:
    assert value is not None, f"{path} is None"
    assert value != "[unknown]", f"{path} is unknown"
    if isinstance(value, dict):
        for key, item in value.items():
            _nothing_missing(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _nothing_missing(item, f"{path}[{i}]")


def _matches(expected: Any, actual: Any, path: str) -> None:
    if callable(expected):
        assert expected(actual), f"{path}: {actual!r}"
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _matches(e, a, f"{path}[{i}]")
    elif isinstance(expected, str) and isinstance(actual, str):
        assert re.fullmatch(expected, actual), f"{path}: {actual!r} does not look like {expected}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def test_the_corpus_covers_every_program() -> None:
    assert sorted(p.name for p in PROGRAMS.iterdir() if (p / "Pulumi.yaml").exists()) == sorted(EXPECTED)


@pytest.mark.parametrize("program", sorted(EXPECTED))
def test_every_export_has_a_realistic_value(planned: dict[str, PlanResult], program: str) -> None:
    outputs = json_safe(planned[program].outputs)
    assert sorted(outputs) == sorted(EXPECTED[program])
    for name, value in outputs.items():
        _nothing_missing(value, name)
        _matches(EXPECTED[program][name], value, f"{program}:{name}")


@pytest.mark.parametrize("program", sorted(EXPECTED))
def test_every_data_source_has_a_rule_and_every_resource_a_real_id(planned: dict[str, PlanResult], program: str) -> None:
    document = plan_document(planned[program])
    assert document["dataSources"]["defaulted"] == []
    for resource in planned[program].resources:
        if resource.custom:
            assert resource.id and "None" not in resource.id, resource.urn


def test_validation_records_follow_the_certificate_domains(planned: dict[str, PlanResult]) -> None:
    (cert,) = [r for r in planned["acm-route53"].resources if r.type == "aws:acm/certificate:Certificate"]
    options = cert.outputs["domainValidationOptions"]
    assert [o["domainName"] for o in options] == ["shop.example.org", "*.shop.example.org", "api.shop.example.org"]
    # the apex and its wildcard share one record, as ACM gives them
    assert options[0]["resourceRecordName"] == options[1]["resourceRecordName"]
    assert all(o["resourceRecordValue"].endswith(".acm-validations.aws.") for o in options)
    records = [r for r in planned["acm-route53"].resources if r.type == "aws:route53/record:Record" and r.name.startswith("validation-")]
    assert len(records) == 2
    assert cert.outputs["subjectAlternativeNames"] == ["shop.example.org", "*.shop.example.org", "api.shop.example.org"]


def test_the_load_balancer_gets_the_default_vpc_subnets(planned: dict[str, PlanResult]) -> None:
    (alb,) = [r for r in planned["alb-nlb-default-vpc"].resources if r.type == "aws:lb/loadBalancer:LoadBalancer" and r.name == "web"]
    assert len(alb.inputs["subnets"]) == 6 and all(s.startswith("subnet-") for s in alb.inputs["subnets"])
    sg = next(r for r in planned["alb-nlb-default-vpc"].resources if r.type == "aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs["vpcId"].startswith("vpc-")


def test_reads_are_listed_apart_from_creates(planned: dict[str, PlanResult]) -> None:
    result = planned["stack-reference"]
    reads = {r.type: r for r in result.reads}
    assert set(reads) == {"pulumi:pulumi:StackReference", "aws:ec2/vpc:Vpc", "aws:iam/role:Role"}
    assert reads["aws:ec2/vpc:Vpc"].id == "vpc-0a1b2c3d4e5f60718"
    assert reads["aws:iam/role:Role"].outputs["arn"] == "arn:aws:iam::123456789012:role/deployer"
    assert {r.type for r in result.resources} >= {"aws:ec2/subnet:Subnet", "aws:ec2/instance:Instance"}
    assert not {r.urn for r in result.reads} & {r.urn for r in result.resources}
    document = plan_document(result)
    assert {r["type"]: r["id"] for r in document["reads"]} == {
        "pulumi:pulumi:StackReference": "acme/network/prod",
        "aws:ec2/vpc:Vpc": "vpc-0a1b2c3d4e5f60718",
        "aws:iam/role:Role": "deployer",
    }
    assert document["summary"]["resources"] == len(result.resources) - 1  # reads are not counted as creates


@pytest.mark.parametrize("program", ["acm-route53", "k8s-services-helm"])
def test_plans_are_byte_identical_across_runs(planned: dict[str, PlanResult], program: str) -> None:
    from llmops.engine.report import dumps

    again = plan("test", PROGRAMS / program, _references(PROGRAMS / program))
    assert dumps(plan_document(again)) == dumps(plan_document(planned[program]))
