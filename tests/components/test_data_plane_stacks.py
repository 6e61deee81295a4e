"""The shipped stacks plan with the data plane: every region whose network the platform
creates gets a vector store, a cache and a document bucket, in that region, open to that
region's cluster nodes; prod joins its regions in one Aurora Global Database and replicates
documents into the home region; the outputs carry what the serving plane will need."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmops.engine.report import plan_document
from tests.support import of_type, one

DATA_COMPONENTS = ("llmops:data:VectorStore", "llmops:data:Cache", "llmops:data:DocumentStore")


@pytest.fixture(scope="module")
def staging_document(shipped: Any) -> dict[str, Any]:
    return plan_document(shipped.plan("staging"))


def _children_of(document: dict[str, Any], component: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in document["resources"] if r["parent"] == component["urn"]]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_region_gets_a_data_plane_on_its_own_provider(stack: str, shipped: Any) -> None:
    document = plan_document(shipped.plan(stack))
    regions = {r["name"] for r in of_type(document, "pulumi:providers:aws") if not r["name"].endswith("-registry")}
    for type_ in DATA_COMPONENTS:
        components = of_type(document, type_)
        assert {c["name"].rsplit("-", 1)[0] for c in components} == {r.removeprefix("aws-") for r in regions}
        for component in components:
            region = component["name"].rsplit("-", 1)[0]
            children = [c for c in _children_of(document, component) if c["custom"]]
            assert children and {c["region"] for c in children} == {region}, component["urn"]
            assert {c["provider"].rsplit("::", 1)[-1] for c in children} == {f"aws-{region}"}


def test_the_stores_admit_only_the_regions_cluster_nodes(prod_document: dict[str, Any]) -> None:
    rules = [r for r in of_type(prod_document, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r["name"].endswith("-from-nodes")]
    assert len(rules) == 3 * 3  # vector store, cache, GCS Redis in each of three regions
    for rule in rules:
        region = rule["region"]
        assert "cidrIpv4" not in rule["inputs"]
        # The EKS cluster security group, read from the region's own cluster.
        assert rule["propertyDependencies"]["referencedSecurityGroupId"] == [
            one(prod_document, "aws:eks/cluster:Cluster", region=region)["urn"]
        ]


def test_prod_runs_one_global_database_with_its_writer_in_the_home_region(prod_document: dict[str, Any]) -> None:
    (global_cluster,) = of_type(prod_document, "aws:rds/globalCluster:GlobalCluster")
    assert global_cluster["region"] == "us-east-1" and global_cluster["inputs"]["globalClusterIdentifier"] == "llmops-prod-vectors"
    home_writer = one(prod_document, "aws:rds/clusterInstance:ClusterInstance", "us-east-1-vectors-instance-1")
    for region in ("us-west-2", "eu-west-1"):
        cluster = one(prod_document, "aws:rds/cluster:Cluster", region=region)
        assert cluster["inputs"]["globalClusterIdentifier"] == one(prod_document, "aws:rds/cluster:Cluster", region="us-east-1")["inputs"]["globalClusterIdentifier"]
        assert home_writer["urn"] in cluster["dependencies"]
        assert "masterUsername" not in cluster["inputs"] and cluster["inputs"]["deletionProtection"] is True
    home = one(prod_document, "aws:rds/cluster:Cluster", region="us-east-1")["inputs"]
    assert home["masterPasswordWo"] == "[secret]" and "masterPassword" not in home
    (rotation,) = of_type(prod_document, "aws:secretsmanager/secretRotation:SecretRotation")
    assert rotation["region"] == "us-east-1"
    outputs = prod_document["outputs"]["regions"]
    secret = outputs["us-east-1"]["data"]["vectorStore"]["masterSecretArn"]
    assert secret.startswith("arn:aws:secretsmanager:us-east-1:") and all(
        outputs[r]["data"]["vectorStore"]["masterSecretArn"] == secret for r in ("us-west-2", "eu-west-1")
    )


def test_prod_replicates_documents_into_the_home_bucket(prod_document: dict[str, Any]) -> None:
    home_bucket = prod_document["outputs"]["regions"]["us-east-1"]["data"]["documents"]["bucketArn"]
    configs = of_type(prod_document, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert sorted(c["region"] for c in configs) == ["eu-west-1", "us-west-2"]
    for config in configs:
        (rule,) = config["inputs"]["rules"]
        assert rule["destination"]["bucket"] == home_bucket


def test_environments_decide_readers_protection_snapshots_and_bucket_cleanup(dev_document: dict[str, Any], prod_document: dict[str, Any]) -> None:
    dev = one(dev_document, "aws:rds/cluster:Cluster")["inputs"]
    assert (dev["deletionProtection"], dev["skipFinalSnapshot"], dev["backupRetentionPeriod"]) == (False, True, 1)
    assert dev["serverlessv2ScalingConfiguration"] == {"minCapacity": 0, "maxCapacity": 4, "secondsUntilAutoPause": 1800}
    assert len(of_type(dev_document, "aws:rds/clusterInstance:ClusterInstance")) == 1
    assert one(dev_document, "aws:s3/bucket:Bucket", "-documents")["inputs"]["forceDestroy"] is True
    assert not of_type(dev_document, "aws:elasticache/replicationGroup:ReplicationGroup")
    prod = one(prod_document, "aws:rds/cluster:Cluster", region="us-east-1")["inputs"]
    assert (prod["deletionProtection"], prod["skipFinalSnapshot"], prod["backupRetentionPeriod"]) == (True, False, 14)
    assert len(of_type(prod_document, "aws:rds/clusterInstance:ClusterInstance", region="us-east-1")) == 2
    assert all(b["inputs"]["forceDestroy"] is False for b in of_type(prod_document, "aws:s3/bucket:Bucket"))
    for gcs in of_type(prod_document, "aws:elasticache/replicationGroup:ReplicationGroup"):
        assert (gcs["inputs"]["numCacheClusters"], gcs["inputs"]["multiAzEnabled"], gcs["inputs"]["snapshotRetentionLimit"]) == (2, True, 14)


def test_staging_keeps_a_database_per_region_and_gcs_fault_tolerance(staging_document: dict[str, Any]) -> None:
    assert not of_type(staging_document, "aws:rds/globalCluster:GlobalCluster")
    clusters = of_type(staging_document, "aws:rds/cluster:Cluster")
    assert len(clusters) == 2 and all(c["inputs"]["manageMasterUserPassword"] is True for c in clusters)
    assert len(of_type(staging_document, "aws:elasticache/replicationGroup:ReplicationGroup")) == 2


def test_outputs_carry_what_the_serving_plane_and_the_migrations_need(dev_document: dict[str, Any]) -> None:
    data = dev_document["outputs"]["regions"]["us-east-1"]["data"]
    vector = data["vectorStore"]
    assert vector["engine"] == "aurora-pgvector" and vector["port"] == 5432 and vector["iamDbUser"] == "llmops_serving"
    assert vector["endpoint"].endswith(".us-east-1.rds.amazonaws.com") and ".cluster-ro-" in vector["readerEndpoint"]
    assert vector["masterSecretArn"].startswith("arn:aws:secretsmanager:us-east-1:")
    for key in ("securityGroupId", "kmsKeyArn", "accessPolicyArn", "adminPolicyArn", "databaseName"):
        assert vector[key], key
    cache = data["cache"]
    assert (cache["tls"], cache["auth"], cache["mode"], cache["port"]) == (True, "iam", "serverless", 6379)
    assert cache["userName"] == "llmops-dev-us-east-1-cache-serving" and cache["accessPolicyArn"]
    documents = data["documents"]
    assert documents["bucketName"] and documents["bucketArn"].endswith(documents["bucketName"])
    text = json.dumps(dev_document["outputs"])
    assert "password" not in text.lower()


def test_a_region_that_brings_its_own_cluster_gets_no_data_plane(shipped: Any) -> None:
    document = plan_document(shipped.plan("byo"))
    assert not [r for r in document["resources"] if r["type"].startswith("llmops:data:")]
    assert "data" not in document["outputs"]["regions"]["us-east-1"]
