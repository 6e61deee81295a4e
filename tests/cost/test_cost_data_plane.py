"""The cost model on the data plane: hand-built resources priced with the fixture catalogue
(us-east-1 list prices, UsageConfig defaults: auroraUtilization 0.1, cacheDataGb 1,
cacheEcpuMillionsPerMonth 100, endpointDataGbPerMonth 20, 730 hours), and the shipped prod
stack, whose data plane is priced entirely from its usage assumptions."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.cost import CostInput, estimate, estimate_plan
from tests.support import fixture_prices

REGION = "us-east-1"


def res(type_: str, name: str, inputs: dict[str, Any]) -> CostInput:
    return CostInput(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, region=REGION, inputs=inputs, name=name)


def priced(*items: CostInput) -> dict[str, Any]:
    result = estimate(list(items), None, catalogue=fixture_prices())
    return {i.name: i for i in result.items}


def test_a_replication_group_costs_its_nodes_around_the_clock() -> None:
    items = priced(
        res("aws:elasticache/replicationGroup:ReplicationGroup", "gcs", {"engine": "valkey", "nodeType": "cache.t4g.small", "numCacheClusters": 2}),
        res(
            "aws:elasticache/replicationGroup:ReplicationGroup",
            "sharded",
            {"engine": "redis", "nodeType": "cache.t4g.small", "numNodeGroups": 2, "replicasPerNodeGroup": 1},
        ),
    )
    gcs = items["gcs"]
    # 2 nodes x 730 h x 0.0256 (Valkey, 20% below Redis OSS's 0.032)
    assert gcs.status == "priced" and gcs.min == gcs.expected == pytest.approx(37.376)
    assert "nodes (2)" in gcs.lines[0].description
    # cluster mode: 2 shards x (1 + 1 replica) x 730 h x 0.032
    assert items["sharded"].expected == pytest.approx(93.44)


def test_a_node_type_or_engine_the_catalogue_lacks_is_unpriced_with_the_fix() -> None:
    items = priced(
        res("aws:elasticache/replicationGroup:ReplicationGroup", "odd", {"engine": "valkey", "nodeType": "cache.x9.huge", "numCacheClusters": 1}),
        res("aws:elasticache/replicationGroup:ReplicationGroup", "memcached", {"engine": "memcached", "nodeType": "cache.t4g.small"}),
    )
    assert items["odd"].status == "unpriced"
    assert "'cache.x9.huge'" in str(items["odd"].reason) and "elasticache.node.valkey.cache.x9.huge" in str(items["odd"].reason)
    assert items["memcached"].status == "unpriced" and "memcached" in str(items["memcached"].reason)


def test_the_opensearch_serverless_vpc_endpoint_is_priced_as_privatelink() -> None:
    items = priced(res("aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint", "aoss", {"subnetIds": ["a", "b", "c"]}))
    endpoint = items["aoss"]
    # 3 AZ x 730 h x 0.01 = 21.90; 20 GB x 0.01 = 0.20
    assert endpoint.min == pytest.approx(21.9) and endpoint.expected == pytest.approx(22.1)
    assert endpoint.assumptions[0] == "billed as an AWS PrivateLink interface endpoint"


def test_what_the_data_plane_adds_for_free_says_why() -> None:
    rotation = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"
    items = priced(
        res("aws:serverlessrepository/cloudFormationStack:CloudFormationStack", "rotation", {"applicationId": rotation}),
        res("aws:serverlessrepository/cloudFormationStack:CloudFormationStack", "other", {"applicationId": "arn:aws:serverlessrepo:us-east-1:1:applications/Else"}),
        res("aws:rds/globalCluster:GlobalCluster", "global", {}),
        res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "replication", {}),
        res("aws:secretsmanager/secretRotation:SecretRotation", "schedule", {}),
        res("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy", "access", {}),
        res("aws:elasticache/userGroup:UserGroup", "users", {}),
    )
    assert items["rotation"].status == "free" and "rotation function" in str(items["rotation"].reason)
    assert items["other"].status == "unpriced"
    assert "replicated write I/O" in str(items["global"].reason)
    assert "destination bucket" in str(items["replication"].reason)
    assert all(items[n].status == "free" and items[n].reason for n in ("global", "replication", "schedule", "access", "users"))


# Prod's data plane per region (usage: auroraUtilization 0.1 by default; Pulumi.prod.yaml
# sets minAcu 2, maxAcu 32 and one reader): each instance 2 + 0.1 x 30 = 5 ACU on average.
ACU_EXPECTED = 5 * 730 * 0.12  # 438.00 in us-east-1
ACU_MIN = 2 * 730 * 0.12  # 175.20


def test_prod_data_plane_is_priced_from_its_usage_assumptions(prod_plan: Any) -> None:
    document = estimate_plan(prod_plan, catalogue=fixture_prices()).to_document()  # figures rounded to cents
    assert document["unpricedCount"] == 0, document["unpricedTypes"]
    items = [i for i in document["items"] if i["region"] == "us-east-1"]
    instances = [i for i in items if i["type"] == "aws:rds/clusterInstance:ClusterInstance"]
    assert len(instances) == 2  # writer and reader
    assert all(i["expected"] == pytest.approx(ACU_EXPECTED, abs=0.005) and i["min"] == pytest.approx(ACU_MIN, abs=0.005) for i in instances)
    (cluster,) = [i for i in items if i["type"] == "aws:rds/cluster:Cluster"]
    assert cluster["expected"] == pytest.approx(20 * 0.10, abs=0.005)  # auroraStorageGb 20
    (cache,) = [i for i in items if i["type"] == "aws:elasticache/serverlessCache:ServerlessCache"]
    # 1 GB x 730 h x 0.0837 + 100 million ECPUs x 0.0023
    assert cache["expected"] == pytest.approx(730 * 0.0837 + 100 * 0.0023, abs=0.005)  # 61.33
    (gcs,) = [i for i in items if i["type"] == "aws:elasticache/replicationGroup:ReplicationGroup"]
    assert gcs["expected"] == pytest.approx(2 * 730 * 0.0256, abs=0.005)  # 37.38: primary and replica (prod)
    buckets = [i for i in items if i["type"] == "aws:s3/bucket:Bucket" and "-documents" in i["name"]]
    assert sorted(b["name"] for b in buckets) == ["us-east-1-documents", "us-east-1-documents-access-logs"]
    assert all(b["expected"] == pytest.approx(50 * 0.023, abs=0.005) for b in buckets)  # s3StorageGbPerBucket 50
    # every region runs the same data plane; the global cluster itself is free
    assert sum(1 for i in document["items"] if i["type"] == "aws:rds/cluster:Cluster") == 3
    (global_cluster,) = [i for i in document["items"] if i["type"] == "aws:rds/globalCluster:GlobalCluster"]
    assert global_cluster["free"]
