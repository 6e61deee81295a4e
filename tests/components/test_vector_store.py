"""``VectorStore`` under the mocks harness: Aurora (regional, global primary and secondary)
and OpenSearch Serverless, with the real arguments of every child, and its pure documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.data import (
    Access,
    AuroraArgs,
    GlobalPrimary,
    OpenSearchArgs,
    Placement,
    VectorStore,
    VectorStoreArgs,
)
from components.data.vector_store import (
    INDEX_PERMISSIONS,
    collection_name,
    data_access_policy,
    encryption_policy,
    network_policy,
)
from tests.harness import Recorded, aws_provider, run
from tests.support import component_children, only, provider_urn

SUBNETS = ["subnet-private-a", "subnet-private-b"]
NODES = "sg-0nodes"
SERVING = "arn:aws:iam::123456789012:role/llmops/serving"
MIGRATIONS = "arn:aws:iam::123456789012:role/llmops-migrations"
PLACEMENT = Placement(vpc_id="vpc-1", subnet_ids=SUBNETS, client_security_group_ids={"nodes": NODES})
OUTPUTS = {
    "engine", "endpoint", "readerEndpoint", "port", "databaseName", "masterSecretArn", "adminPolicyArn", "iamDbUser",
    "clusterResourceId", "securityGroupId", "kmsKeyArn", "accessPolicyArn", "globalClusterId", "collectionArn",
}


def _store(name: str, region: str, engine: AuroraArgs | OpenSearchArgs, **kw: Any) -> VectorStore:
    args = VectorStoreArgs(
        region=region, identifier=f"llmops-test-{region}", placement=PLACEMENT, engine=engine,
        access=Access(role_arns={"serving": SERVING}), **kw,
    )
    return VectorStore(name, args, opts=aws_provider(region))


@pytest.fixture(scope="module")
def regional() -> Recorded[Any]:
    return run(lambda: _store("use1-vectors", "us-east-1", AuroraArgs(min_acu=0, max_acu=8, auto_pause_seconds=1800), admin=Access({"migrations": MIGRATIONS})))


@pytest.fixture(scope="module")
def protected() -> Recorded[Any]:
    engine = AuroraArgs(readers=1, backup_retention_days=14, deletion_protection=True, final_snapshot=True)
    return run(lambda: _store("use1-vectors", "us-east-1", engine))


@pytest.fixture(scope="module")
def global_database() -> Recorded[Any]:
    def build() -> VectorStore:
        primary = _store("use1-vectors", "us-east-1", AuroraArgs(global_database=GlobalPrimary("llmops-test-vectors", secret_rotation_days=30)))
        _store("usw2-vectors", "us-west-2", AuroraArgs(global_database=primary.secondary()))
        return primary

    return run(build)


@pytest.fixture(scope="module")
def search() -> Recorded[Any]:
    return run(lambda: _store("use1-search", "us-east-1", OpenSearchArgs(standby_replicas=False)))


# --------------------------------------------------------------------------- Aurora


def test_aurora_is_serverless_v2_with_pgvector_capable_engine_and_auto_pause(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    cluster = only(resources, "aws:rds/cluster:Cluster").inputs
    assert (cluster["engine"], cluster["engineMode"], cluster["engineVersion"]) == ("aurora-postgresql", "provisioned", "17.7")
    assert cluster["serverlessv2ScalingConfiguration"] == {"minCapacity": 0, "maxCapacity": 8, "secondsUntilAutoPause": 1800}
    assert cluster["engineLifecycleSupport"] == "open-source-rds-extended-support-disabled"
    (instance,) = [r.inputs for r in resources if r.type == "aws:rds/clusterInstance:ClusterInstance"]
    assert instance["instanceClass"] == "db.serverless"
    assert instance["engine"] == "aurora-postgresql"


def test_aurora_storage_insights_secret_and_logs_are_encrypted_with_its_own_key(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    key = only(resources, "aws:kms/key:Key")
    arn = key.outputs["arn"]
    assert key.inputs["enableKeyRotation"] is True
    cluster = only(resources, "aws:rds/cluster:Cluster").inputs
    assert cluster["storageEncrypted"] is True and cluster["kmsKeyId"] == arn
    assert cluster["masterUserSecretKmsKeyId"] == arn
    instance = only(resources, "aws:rds/clusterInstance:ClusterInstance").inputs
    assert instance["performanceInsightsEnabled"] is True and instance["performanceInsightsKmsKeyId"] == arn
    log = only(resources, "aws:cloudwatch/logGroup:LogGroup").inputs
    assert log["name"] == "/aws/rds/cluster/llmops-test-us-east-1-vectors/postgresql"
    assert log["kmsKeyId"] == arn and log["retentionInDays"] == 30
    # The key policy lets CloudWatch Logs use it for that log group only.
    policy = json.loads(key.inputs["policy"])
    logs = [s for s in policy["Statement"] if s["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}]
    assert logs and logs[0]["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].endswith(f":log-group:{log['name']}")
    assert cluster["enabledCloudwatchLogsExports"] == ["postgresql"]


def test_aurora_sits_in_the_private_subnets_and_is_never_public(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    subnets = only(resources, "aws:rds/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == SUBNETS
    cluster = only(resources, "aws:rds/cluster:Cluster")
    assert cluster.inputs["dbSubnetGroupName"] == subnets.outputs["name"]
    assert all(r.inputs["publiclyAccessible"] is False for r in resources if r.type == "aws:rds/clusterInstance:ClusterInstance")


def test_aurora_credentials_are_managed_by_secrets_manager_and_clients_use_iam(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    cluster = only(resources, "aws:rds/cluster:Cluster")
    assert cluster.inputs["manageMasterUserPassword"] is True
    assert "masterPassword" not in cluster.inputs and "masterPasswordWo" not in cluster.inputs
    assert cluster.inputs["iamDatabaseAuthenticationEnabled"] is True
    assert not [r for r in resources if r.type == "aws:secretsmanager/secret:Secret"], "RDS keeps the secret itself"
    outputs = regional.outputs_of(next(r for r in regional.resources.values() if r.type == "llmops:data:VectorStore"))
    assert outputs["masterSecretArn"] == cluster.outputs["masterUserSecrets"][0]["secretArn"]
    connect = json.loads(only(resources, "aws:iam/policy:Policy", "-connect").inputs["policy"])
    (statement,) = connect["Statement"]
    assert statement["Action"] == "rds-db:connect"
    assert statement["Resource"] == f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{cluster.outputs['clusterResourceId']}/llmops_serving"
    admin = json.loads(only(resources, "aws:iam/policy:Policy", "-admin").inputs["policy"])
    assert admin["Statement"][0]["Resource"] == outputs["masterSecretArn"]
    assert admin["Statement"][1]["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


def test_aurora_forces_tls_and_logs_statements_through_its_parameter_group(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    group = only(resources, "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    assert group.inputs["family"] == "aurora-postgresql17"
    assert {p["name"]: p["value"] for p in group.inputs["parameters"]} == {
        "rds.force_ssl": "1", "log_statement": "ddl", "log_min_duration_statement": "1000",
    }
    assert only(resources, "aws:rds/cluster:Cluster").inputs["dbClusterParameterGroupName"] == group.outputs["name"]


def test_aurora_security_group_admits_5432_only_from_the_node_security_group(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    group = only(resources, "aws:ec2/securityGroup:SecurityGroup")
    assert group.inputs["description"] and group.inputs["vpcId"] == "vpc-1"
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    rules = [r for r in resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    assert [(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"]) for r in rules] == [
        (NODES, 5432, 5432, "tcp")
    ]
    assert all("cidrIpv4" not in r.inputs and "cidrIpv6" not in r.inputs and r.inputs["description"] for r in rules)
    assert not [r for r in resources if r.type == "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"]
    assert only(resources, "aws:rds/cluster:Cluster").inputs["vpcSecurityGroupIds"] == [group.id]


def test_backups_protection_final_snapshot_and_readers_follow_the_knobs(regional: Recorded[Any], protected: Recorded[Any]) -> None:
    loose = only(component_children(regional, "use1-vectors"), "aws:rds/cluster:Cluster").inputs
    assert (loose["deletionProtection"], loose["skipFinalSnapshot"], loose["backupRetentionPeriod"]) == (False, True, 7)
    assert "finalSnapshotIdentifier" not in loose
    resources = component_children(protected, "use1-vectors")
    strict = only(resources, "aws:rds/cluster:Cluster").inputs
    assert (strict["deletionProtection"], strict["skipFinalSnapshot"], strict["backupRetentionPeriod"]) == (True, False, 14)
    assert strict["finalSnapshotIdentifier"] == "llmops-test-us-east-1-vectors-final"
    assert strict["copyTagsToSnapshot"] is True
    assert "secondsUntilAutoPause" not in strict["serverlessv2ScalingConfiguration"]
    instances = sorted((r for r in resources if r.type == "aws:rds/clusterInstance:ClusterInstance"), key=lambda r: r.name)
    assert [(r.name, r.inputs["promotionTier"]) for r in instances] == [("use1-vectors-instance-1", 0), ("use1-vectors-instance-2", 1)]


def test_instances_have_enhanced_monitoring_and_a_current_certificate_authority(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    role = only(resources, "aws:iam/role:Role", "-monitoring")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    attachment = only(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "-monitoring")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    instance = only(resources, "aws:rds/clusterInstance:ClusterInstance").inputs
    assert instance["monitoringInterval"] == 60 and instance["monitoringRoleArn"] == role.outputs["arn"]
    assert instance["caCertIdentifier"] == "rds-ca-rsa2048-g1" and instance["autoMinorVersionUpgrade"] is True


def test_access_and_admin_policies_are_attached_to_the_named_roles(regional: Recorded[Any]) -> None:
    resources = component_children(regional, "use1-vectors")
    attached = {
        r.name: (r.inputs["role"], r.inputs["policyArn"])
        for r in resources
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and not r.name.endswith("-monitoring")
    }
    connect = only(resources, "aws:iam/policy:Policy", "-connect").outputs["arn"]
    admin = only(resources, "aws:iam/policy:Policy", "-admin").outputs["arn"]
    assert attached == {"use1-vectors-connect-serving": ("serving", connect), "use1-vectors-admin-migrations": ("llmops-migrations", admin)}


def test_every_child_uses_the_region_provider_and_outputs_are_registered(regional: Recorded[Any], global_database: Recorded[Any]) -> None:
    for recorded in (regional, global_database):
        for store in (r for r in recorded.resources.values() if r.type == "llmops:data:VectorStore"):
            region = "us-west-2" if store.name.startswith("usw2") else "us-east-1"
            children = [r for r in component_children(recorded, store.name) if r.custom]
            assert children
            assert {r.provider for r in children} == {provider_urn(recorded, region)}, store.name
            assert set(recorded.outputs_of(store)) <= OUTPUTS
    store = next(r for r in regional.resources.values() if r.type == "llmops:data:VectorStore")
    assert set(regional.outputs_of(store)) == OUTPUTS - {"globalClusterId", "collectionArn"}  # None values are not sent


# --------------------------------------------------------------------------- global database


def test_global_primary_creates_the_global_cluster_and_keeps_the_master_secret_itself(global_database: Recorded[Any]) -> None:
    resources = component_children(global_database, "use1-vectors")
    global_cluster = only(resources, "aws:rds/globalCluster:GlobalCluster")
    assert global_cluster.inputs["globalClusterIdentifier"] == "llmops-test-vectors"
    assert global_cluster.inputs["storageEncrypted"] is True and global_cluster.inputs["engineVersion"] == "17.7"
    cluster = only(resources, "aws:rds/cluster:Cluster")
    assert cluster.inputs["globalClusterIdentifier"] == global_cluster.id
    assert "manageMasterUserPassword" not in cluster.inputs and "masterPassword" not in cluster.inputs
    assert "masterPasswordWo" in cluster.secret_inputs and cluster.inputs["masterPasswordWoVersion"] == 1
    key = only(resources, "aws:kms/key:Key").outputs["arn"]
    secret = only(resources, "aws:secretsmanager/secret:Secret")
    assert secret.inputs["kmsKeyId"] == key
    version = only(resources, "aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretId"] == secret.id and "secretStringWo" in version.secret_inputs
    assert "secretString" not in version.inputs


def test_global_primary_rotates_its_secret_with_the_aws_function_in_the_vpc(global_database: Recorded[Any]) -> None:
    resources = component_children(global_database, "use1-vectors")
    secret = only(resources, "aws:secretsmanager/secret:Secret")
    stack = only(resources, "aws:serverlessrepository/cloudFormationStack:CloudFormationStack")
    assert stack.inputs["applicationId"] == "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"
    assert stack.inputs["semanticVersion"] == "1.1.671"
    rotation_sg = only(resources, "aws:ec2/securityGroup:SecurityGroup", "-rotation")
    parameters = stack.inputs["parameters"]
    assert parameters["vpcSubnetIds"] == ",".join(SUBNETS) and parameters["vpcSecurityGroupIds"] == rotation_sg.id
    assert parameters["endpoint"] == "https://secretsmanager.us-east-1.amazonaws.com"
    rotation = only(resources, "aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation.inputs["secretId"] == secret.id
    assert rotation.inputs["rotationLambdaArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{parameters['functionName']}"
    assert rotation.inputs["rotationRules"]["automaticallyAfterDays"] == 30
    writer = only(resources, "aws:rds/clusterInstance:ClusterInstance")
    assert {stack.urn, writer.urn} <= set(rotation.dependencies)
    # The rotation function reaches the database through its own security group only.
    ingress = {r.inputs["referencedSecurityGroupId"] for r in resources if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"}
    assert ingress == {NODES, rotation_sg.id}


def test_only_a_global_primary_can_be_joined(regional: Recorded[Any]) -> None:
    with pytest.raises(ValueError, match="not the primary of a global database"):
        regional.value.secondary()


def test_global_secondary_joins_the_primarys_global_cluster_without_credentials(global_database: Recorded[Any]) -> None:
    primary = component_children(global_database, "use1-vectors")
    global_cluster = only(primary, "aws:rds/globalCluster:GlobalCluster")
    writer = only(primary, "aws:rds/clusterInstance:ClusterInstance")
    secondary = component_children(global_database, "usw2-vectors")
    cluster = only(secondary, "aws:rds/cluster:Cluster")
    assert cluster.inputs["globalClusterIdentifier"] == global_cluster.id
    assert {global_cluster.urn, writer.urn} <= set(cluster.dependencies), "a secondary joins once the primary has a writer"
    for absent in ("masterUsername", "masterPasswordWo", "manageMasterUserPassword", "databaseName"):
        assert absent not in cluster.inputs
    key = only(secondary, "aws:kms/key:Key").outputs["arn"]
    assert ":us-west-2:" in key and cluster.inputs["kmsKeyId"] == key
    assert not [r for r in secondary if r.type in ("aws:rds/globalCluster:GlobalCluster", "aws:secretsmanager/secret:Secret")]
    store = next(r for r in global_database.resources.values() if r.name == "usw2-vectors" and r.type == "llmops:data:VectorStore")
    primary_secret = only(primary, "aws:secretsmanager/secret:Secret").outputs["arn"]
    assert global_database.outputs_of(store)["masterSecretArn"] == primary_secret


# --------------------------------------------------------------------------- OpenSearch Serverless


def test_opensearch_collection_is_vector_search_behind_its_security_policies(search: Recorded[Any]) -> None:
    resources = component_children(search, "use1-search")
    collection = only(resources, "aws:opensearch/serverlessCollection:ServerlessCollection")
    assert collection.inputs["type"] == "VECTORSEARCH" and collection.inputs["standbyReplicas"] == "DISABLED"
    name = collection.inputs["name"]
    assert name == "llmops-test-us-east-1-vectors"
    policies = {r.inputs["type"]: r for r in resources if r.type == "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy"}
    assert {policies["encryption"].urn, policies["network"].urn} <= set(collection.dependencies)
    key = only(resources, "aws:kms/key:Key").outputs["arn"]
    encryption = json.loads(policies["encryption"].inputs["policy"])
    assert encryption == {"AWSOwnedKey": False, "KmsARN": key, "Rules": [{"Resource": [f"collection/{name}"], "ResourceType": "collection"}]}
    endpoint = only(resources, "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint")
    assert endpoint.inputs["subnetIds"] == SUBNETS
    (network,) = json.loads(policies["network"].inputs["policy"])
    assert network["AllowFromPublic"] is False and network["SourceVPCEs"] == [endpoint.id]
    assert network["Rules"] == [{"ResourceType": "collection", "Resource": [f"collection/{name}"]}]


def test_opensearch_data_access_is_scoped_to_the_serving_role_and_the_collection(search: Recorded[Any]) -> None:
    resources = component_children(search, "use1-search")
    (rule_set,) = json.loads(only(resources, "aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy").inputs["policy"])
    assert rule_set["Principal"] == [SERVING]
    name = "llmops-test-us-east-1-vectors"
    by_type = {r["ResourceType"]: r for r in rule_set["Rules"]}
    assert by_type["index"]["Resource"] == [f"index/{name}/*"]
    assert "aoss:DeleteIndex" not in by_type["index"]["Permission"] and "aoss:*" not in by_type["index"]["Permission"]
    collection_arn = only(resources, "aws:opensearch/serverlessCollection:ServerlessCollection").outputs["arn"]
    api = json.loads(only(resources, "aws:iam/policy:Policy", "-api").inputs["policy"])
    assert api["Statement"] == [{"Sid": "UseTheCollection", "Effect": "Allow", "Action": "aoss:APIAccessAll", "Resource": collection_arn}]
    group = only(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (group.inputs["referencedSecurityGroupId"], group.inputs["fromPort"]) == (NODES, 443)


def test_opensearch_without_roles_grants_no_data_access() -> None:
    recorded = run(
        lambda: VectorStore(
            "s", VectorStoreArgs(region="us-east-1", identifier="llmops-x", placement=PLACEMENT, engine=OpenSearchArgs()),
            opts=aws_provider("us-east-1"),
        )
    )
    assert not recorded.of_type("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy")
    assert not recorded.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


# --------------------------------------------------------------------------- pure parts


def test_policy_documents_are_exact() -> None:
    assert json.loads(encryption_policy("c", "arn:k"))["KmsARN"] == "arn:k"
    (rule,) = json.loads(network_policy("c", "vpce-1"))
    assert (rule["AllowFromPublic"], rule["SourceVPCEs"]) == (False, ["vpce-1"])
    (access,) = json.loads(data_access_policy("c", ["b", "a"]))
    assert access["Principal"] == ["a", "b"] and access["Rules"][1]["Permission"] == list(INDEX_PERMISSIONS)


def test_collection_names_fit_opensearch_limits() -> None:
    assert collection_name("llmops-dev-us-east-1") == "llmops-dev-us-east-1-vectors"
    long = collection_name("llmops-staging-ap-southeast-2")
    assert len(long) <= 32 and long.endswith("-vectors") and long != collection_name("llmops-staging-ap-southeast-1")


def test_args_are_validated_before_children_exist_every_problem_with_its_path() -> None:
    args = VectorStoreArgs(
        region="us-east-1",
        identifier="Bad_Name",
        placement=Placement(vpc_id="v", subnet_ids=[], client_security_group_ids={"Nodes!": "sg"}),
        engine=AuroraArgs(
            min_acu=0, max_acu=0.75, readers=20, backup_retention_days=0, monitoring_interval_seconds=7,
            performance_insights_retention_days=30, master_username="postgres", iam_db_user="postgres",
            global_database=GlobalPrimary("Global", secret_rotation_days=0),
        ),
    )
    with pytest.raises(ValueError) as error:
        args.validate()
    message = str(error.value)
    for expected in (
        "VectorStoreArgs.identifier: 'Bad_Name'",
        "VectorStoreArgs.placement.client_security_group_ids: key 'Nodes!'",
        "VectorStoreArgs.engine.max_acu: must be between 1 and 256 in steps of 0.5",
        "VectorStoreArgs.engine.readers: must be between 0 and 15",
        "VectorStoreArgs.engine.backup_retention_days",
        "VectorStoreArgs.engine.monitoring_interval_seconds",
        "VectorStoreArgs.engine.performance_insights_retention_days",
        "VectorStoreArgs.engine.master_username: 'postgres' is reserved",
        "VectorStoreArgs.engine.iam_db_user: must differ from master_username",
        "VectorStoreArgs.engine.min_acu: an Aurora Global Database cannot auto-pause",
        "VectorStoreArgs.engine.global_database.global_cluster_identifier",
        "VectorStoreArgs.engine.global_database.secret_rotation_days",
    ):
        assert expected in message, expected
