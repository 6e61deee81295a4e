"""The cost model on the data plane: hand-built resources priced with the fixture catalogue
(us-east-1 list prices, UsageConfig defaults: auroraUtilization 0.1, cacheDataGb 1,
cacheEcpuMillionsPerMonth 100, endpointDataGbPerMonth 20, 730 hours), and the shipped prod
stack, whose data plane is priced entirely from its usage assumptions."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.cost import CostInput, estimate
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
