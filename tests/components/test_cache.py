"""``Cache`` under the mocks harness: ElastiCache Serverless and node-based modes, IAM users,
the KubeRay GCS fault-tolerance Redis, with the real arguments of every child."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.data import Access, Cache, CacheArgs, GcsStoreArgs, Placement
from components.data.cache import ACCESS_STRING, connect_policy
from tests.harness import Recorded, aws_provider, run
from tests.support import component_children, only, provider_urn

SUBNETS = ["subnet-private-a", "subnet-private-b", "subnet-private-c"]
NODES = "sg-0nodes"
SERVING = "arn:aws:iam::123456789012:role/serving"
PLACEMENT = Placement(vpc_id="vpc-1", subnet_ids=SUBNETS, client_security_group_ids={"nodes": NODES})


def _cache(name: str, **kw: Any) -> Cache:
    args = CacheArgs(region="eu-west-1", identifier="llmops-test-eu-west-1", placement=PLACEMENT, access=Access({"serving": SERVING}), **kw)
    return Cache(name, args, opts=aws_provider("eu-west-1"))


@pytest.fixture(scope="module")
def serverless() -> Recorded[Any]:
    return run(lambda: _cache("euw1-cache", max_data_gb=10, max_ecpu_per_second=20000, snapshot_retention_days=14, gcs=GcsStoreArgs(replicas=1, snapshot_retention_days=14)))


@pytest.fixture(scope="module")
def nodes() -> Recorded[Any]:
    return run(lambda: _cache("euw1-cache", mode="replicationGroup", node_type="cache.r7g.large", replicas=2, engine="redis"))


def test_serverless_cache_is_encrypted_private_limited_and_behind_its_user_group(serverless: Recorded[Any]) -> None:
    resources = component_children(serverless, "euw1-cache")
    cache = only(resources, "aws:elasticache/serverlessCache:ServerlessCache")
    key = only(resources, "aws:kms/key:Key")
    group = only(resources, "aws:ec2/securityGroup:SecurityGroup", "-cache-sg")
    users = only(resources, "aws:elasticache/userGroup:UserGroup")
    inputs = cache.inputs
    assert (inputs["engine"], inputs["majorEngineVersion"]) == ("valkey", "8")
    assert inputs["kmsKeyId"] == key.outputs["arn"] and key.inputs["enableKeyRotation"] is True
    assert inputs["subnetIds"] == SUBNETS and inputs["securityGroupIds"] == [group.id]
    assert inputs["userGroupId"] == users.id
    assert inputs["cacheUsageLimits"] == {"dataStorage": {"maximum": 10, "unit": "GB"}, "ecpuPerSeconds": [{"maximum": 20000}]}
    assert (inputs["snapshotRetentionLimit"], inputs["dailySnapshotTime"]) == (14, "03:00")


def test_clients_authenticate_with_iam_and_the_default_user_is_off(serverless: Recorded[Any]) -> None:
    resources = component_children(serverless, "euw1-cache")
    users = {r.inputs["userName"]: r for r in resources if r.type == "aws:elasticache/user:User"}
    serving = users["llmops-test-eu-west-1-cache-serving"]
    assert serving.inputs["userId"] == serving.inputs["userName"]
    assert serving.inputs["authenticationMode"] == {"type": "iam"} and serving.inputs["accessString"] == ACCESS_STRING
    default = users["default"]
    assert default.inputs["accessString"].startswith("off ")
    group = only(resources, "aws:elasticache/userGroup:UserGroup")
    assert sorted(group.inputs["userIds"]) == sorted(u.inputs["userId"] for u in users.values())
    cache = only(resources, "aws:elasticache/serverlessCache:ServerlessCache")
    policy = json.loads(only(resources, "aws:iam/policy:Policy", "-connect").inputs["policy"])
    assert policy["Statement"][0]["Action"] == "elasticache:Connect"
    assert policy["Statement"][0]["Resource"] == sorted([cache.outputs["arn"], serving.outputs["arn"]])
    attachment = only(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "-connect-serving")
    assert attachment.inputs["role"] == "serving"


def test_serverless_security_group_admits_both_endpoints_from_the_nodes_only(serverless: Recorded[Any]) -> None:
    resources = component_children(serverless, "euw1-cache")
    group = only(resources, "aws:ec2/securityGroup:SecurityGroup", "-cache-sg")
    rules = [r.inputs for r in resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" and r.inputs["securityGroupId"] == group.id]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in rules] == [(NODES, 6379, 6380)]
    every = [r.inputs for r in resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    assert all("cidrIpv4" not in r for r in every)
    assert not [r for r in resources if r.type == "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"]


def test_gcs_redis_is_standalone_tls_encrypted_and_its_token_is_only_in_secrets_manager(serverless: Recorded[Any]) -> None:
    resources = component_children(serverless, "euw1-cache")
    redis = only(resources, "aws:elasticache/replicationGroup:ReplicationGroup", "-gcs")
    inputs = redis.inputs
    assert inputs["clusterMode"] == "disabled" and inputs["numCacheClusters"] == 2
    assert inputs["automaticFailoverEnabled"] is True and inputs["multiAzEnabled"] is True
    assert inputs["transitEncryptionEnabled"] is True and inputs["transitEncryptionMode"] == "required"
    key = only(resources, "aws:kms/key:Key").outputs["arn"]
    assert inputs["atRestEncryptionEnabled"] is True and inputs["kmsKeyId"] == key
    assert "authToken" not in inputs and "authTokenWo" in redis.secret_inputs
    assert (inputs["authTokenWoVersion"], inputs["authTokenUpdateStrategy"]) == (1, "ROTATE")
    subnets = only(resources, "aws:elasticache/subnetGroup:SubnetGroup", "-gcs-subnets")
    assert subnets.inputs["subnetIds"] == SUBNETS and inputs["subnetGroupName"] == subnets.inputs["name"]
    secret = only(resources, "aws:secretsmanager/secret:Secret")
    assert secret.inputs["kmsKeyId"] == key
    version = only(resources, "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretId"] == secret.id and "secretStringWo" in version.secret_inputs
    outputs = serverless.outputs_of(next(r for r in serverless.resources.values() if r.type == "llmops:data:Cache"))
    assert outputs["gcsAuthSecretArn"] == secret.outputs["arn"] and outputs["tls"] is True and outputs["auth"] == "iam"
    gcs_group = only(resources, "aws:ec2/securityGroup:SecurityGroup", "-gcs-sg")
    assert inputs["securityGroupIds"] == [gcs_group.id]


def test_replication_group_mode_fails_over_across_zones_with_tls_kms_and_users(nodes: Recorded[Any]) -> None:
    resources = component_children(nodes, "euw1-cache")
    assert not [r for r in resources if r.type == "aws:elasticache/serverlessCache:ServerlessCache"]
    (cache,) = [r for r in resources if r.type == "aws:elasticache/replicationGroup:ReplicationGroup"]
    inputs = cache.inputs
    assert (inputs["engine"], inputs["engineVersion"], inputs["nodeType"]) == ("redis", "7.1", "cache.r7g.large")
    assert (inputs["numCacheClusters"], inputs["automaticFailoverEnabled"], inputs["multiAzEnabled"]) == (3, True, True)
    assert inputs["transitEncryptionEnabled"] is True and inputs["atRestEncryptionEnabled"] is True
    assert inputs["userGroupIds"] == [only(resources, "aws:elasticache/userGroup:UserGroup").id]
    assert inputs["clusterMode"] == "disabled" and inputs["autoMinorVersionUpgrade"] is True
    assert all(r.inputs["engine"] == "redis" for r in resources if r.type.startswith("aws:elasticache/user"))
    group = only(resources, "aws:ec2/securityGroup:SecurityGroup")
    (rule,) = [r.inputs for r in resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    assert (rule["securityGroupId"], rule["fromPort"], rule["toPort"]) == (group.id, 6379, 6379)


def test_a_single_node_group_has_no_failover() -> None:
    recorded = run(lambda: _cache("c", mode="replicationGroup"))
    (cache,) = recorded.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert (cache.inputs["numCacheClusters"], cache.inputs["automaticFailoverEnabled"], cache.inputs["multiAzEnabled"]) == (1, False, False)
    assert "snapshotWindow" not in cache.inputs


def test_every_child_uses_the_region_provider_and_outputs_are_registered(serverless: Recorded[Any]) -> None:
    children = [r for r in component_children(serverless, "euw1-cache") if r.custom]
    assert {r.provider for r in children} == {provider_urn(serverless, "eu-west-1")}
    outputs = serverless.outputs_of(next(r for r in serverless.resources.values() if r.type == "llmops:data:Cache"))
    assert set(outputs) == {
        "engine", "mode", "endpoint", "readerEndpoint", "port", "tls", "auth", "userName", "userGroupId", "cacheArn",
        "securityGroupId", "kmsKeyArn", "accessPolicyArn", "gcsEndpoint", "gcsPort", "gcsAuthSecretArn", "gcsSecurityGroupId",
    }


def test_connect_policy_names_the_cache_and_the_user() -> None:
    (statement,) = json.loads(connect_policy("arn:c", "arn:u"))["Statement"]
    assert statement == {"Sid": "ConnectAsTheCacheUser", "Effect": "Allow", "Action": "elasticache:Connect", "Resource": ["arn:c", "arn:u"]}


def test_args_are_validated_before_children_exist_every_problem_with_its_path() -> None:
    args = CacheArgs(
        region="eu-west-1", identifier="x", placement=PLACEMENT, engine="memcached", mode="cluster",  # type: ignore[arg-type]
        max_data_gb=0, max_ecpu_per_second=10, node_type="t4g.small", replicas=9,
        gcs=GcsStoreArgs(node_type="big", auth_token_version=0),
    )
    with pytest.raises(ValueError) as error:
        args.validate()
    message = str(error.value)
    for expected in (
        "CacheArgs.identifier: 'x'",
        "CacheArgs.engine: must be 'valkey' or 'redis'",
        "CacheArgs.mode: must be 'serverless' or 'replicationGroup'",
        "CacheArgs.max_data_gb",
        "CacheArgs.max_ecpu_per_second",
        "CacheArgs.node_type: 't4g.small' is not an ElastiCache node type",
        "CacheArgs.replicas",
        "CacheArgs.gcs.node_type: 'big'",
        "CacheArgs.gcs.auth_token_version",
    ):
        assert expected in message, expected
