"""The cost model on hand-built resources: every expected figure is computed by hand from
the fixture catalogue's list prices (``tests/fixtures/prices.json``; us-east-1 unless
stated) and the UsageConfig defaults (gpuUtilization 0.25, natDataGbPerMonth 100,
hoursPerMonth 730, gpuNodeVolumeGb 100, ...)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.catalog.prices import (
    MissingPriceError,
    PriceCatalogue,
    UnknownInstanceTypeError,
    UnknownRegionError,
    load_prices,
)
from llmops.cost import CostEstimate, CostInput, estimate
from stacks.config import UsageConfig
from tests.support import fixture_prices

REGION = "us-east-1"


def res(type_: str, name: str, inputs: dict[str, Any] | None = None, region: str | None = REGION, **kw: Any) -> CostInput:
    return CostInput(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, region=region, inputs=inputs or {}, name=name, **kw)


def nodepool(name: str, types: list[str], capacity: list[str], min_nodes: int | None, max_nodes: int | None, **extra: Any) -> CostInput:
    annotations = {"llmops.io/gpu-pool": name}
    if min_nodes is not None:
        annotations["llmops.io/min-nodes"] = str(min_nodes)
    if max_nodes is not None:
        annotations["llmops.io/max-nodes"] = str(max_nodes)
    spec: dict[str, Any] = {
        "template": {"spec": {"requirements": [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": types},
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity},
        ]}},
        **extra,
    }
    return res("kubernetes:karpenter.sh/v1:NodePool", name, {"metadata": {"name": name, "annotations": annotations}, "spec": spec})


def priced(items: list[CostInput], usage: UsageConfig | None = None, **kw: Any) -> CostEstimate:
    """``estimate`` with the fixture catalogue unless another is given."""
    kw.setdefault("catalogue", fixture_prices())
    return estimate(items, usage, **kw)


def one(items: list[CostInput], usage: UsageConfig | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    result = priced(items, usage, **kw)
    return result, {i.name: i for i in result.items}


# ----------------------------------------------------------------------------- GPU capacity


def test_spot_pool_scaled_to_zero_costs_nothing_at_minimum_and_utilisation_when_expected() -> None:
    _, items = one([nodepool("a10g", ["g5.xlarge"], ["spot"], 0, 4)])
    pool = items["a10g"]
    # spot = 1.006 x (1 - 0.60) = 0.4024/h; expected nodes = 0 + 0.25 x 4 = 1
    # 1 x 730 h x 0.4024 = 293.752; root volume 1 x 100 GB x 0.08 = 8.00
    assert pool.status == "priced"
    assert pool.min == 0
    assert pool.expected == pytest.approx(301.752)
    assert any("0.4024" in a and "60%" in a for a in pool.assumptions)
    assert any("expected nodes = min 0 + gpuUtilization 0.25 x (max 4 - min 0) = 1" in a for a in pool.assumptions)


def test_on_demand_pool_is_priced_at_list_price() -> None:
    _, items = one([nodepool("a10g", ["g5.xlarge"], ["on-demand"], 0, 4)])
    # 730 x 1.006 = 734.38 per node; 1 node expected + 8.00 volume
    assert items["a10g"].expected == pytest.approx(742.38)


def test_warm_pool_minimum_and_expected() -> None:
    _, items = one([nodepool("a10g", ["g5.xlarge"], ["on-demand"], 1, 4)])
    pool = items["a10g"]
    # minimum: 1 node = 734.38 + 8.00; expected nodes = 1 + 0.25 x 3 = 1.75 -> 1.75 x 742.38
    assert pool.min == pytest.approx(742.38)
    assert pool.expected == pytest.approx(1299.165)


def test_spot_preferred_when_both_capacity_types_allowed_and_first_type_priced() -> None:
    _, items = one([nodepool("mix", ["g6.xlarge", "g5.xlarge"], ["on-demand", "spot"], 0, 2)])
    pool = items["mix"]
    # g6.xlarge spot = 0.8048 x 0.4 = 0.32192/h; expected nodes 0.5 -> 0.5 x 730 x 0.32192 = 117.5008 + 0.5 x 8 = 4
    assert pool.expected == pytest.approx(121.5008)
    assert any("first of 2 allowed types" in a and "Karpenter prefers spot" in a for a in pool.assumptions)


def test_max_nodes_from_gpu_limit_when_annotation_missing() -> None:
    _, items = one([nodepool("big", ["g5.12xlarge"], ["on-demand"], 0, None, limits={"nvidia.com/gpu": "8"})])
    # g5.12xlarge has 4 GPUs: max = 8 / 4 = 2 nodes; expected 0.5 node x 730 x 5.672 = 2070.28 + 0.5 x 8 = 4
    assert items["big"].expected == pytest.approx(2074.28)


def test_volume_from_ec2nodeclass_in_the_same_region() -> None:
    node_class = res(
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "gpu-class",
        {"metadata": {"name": "gpu"}, "spec": {"blockDeviceMappings": [{"ebs": {"volumeSize": "200Gi", "volumeType": "gp3"}}]}},
    )
    pool = nodepool("a10g", ["g5.xlarge"], ["spot"], 0, 4)
    spec = dict(pool.inputs["spec"])
    spec["template"] = {"spec": {**spec["template"]["spec"], "nodeClassRef": {"name": "gpu"}}}
    pool = CostInput(pool.urn, pool.type, pool.region, {**pool.inputs, "spec": spec}, name="a10g")
    _, items = one([node_class, pool])
    # 293.752 + 1 node x 200 GB x 0.08 = 16.00
    assert items["a10g"].expected == pytest.approx(309.752)
    assert items["gpu-class"].status == "free"


def test_recorded_spot_price_overrides_the_discount() -> None:
    document = json.loads(json.dumps(fixture_prices().document))
    document["spot"]["prices"] = {"us-east-1": {"g5.xlarge": 0.35}}
    _, items = one([nodepool("a10g", ["g5.xlarge"], ["spot"], 1, 1)], catalogue=PriceCatalogue(document))
    # 730 x 0.35 = 255.50 + 100 GB x 0.08
    assert items["a10g"].min == pytest.approx(263.5)
    assert any("recorded spot price" in a for a in items["a10g"].assumptions)


def test_managed_gpu_node_group_and_cpu_system_group() -> None:
    gpu = res("aws:eks/nodeGroup:NodeGroup", "gpu", {
        "instanceTypes": ["g6.xlarge"], "capacityType": "ON_DEMAND", "diskSize": 100,
        "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 1},
    })
    system = res("aws:eks/nodeGroup:NodeGroup", "system", {
        "instanceTypes": ["m7i.large"], "capacityType": "SPOT",
        "scalingConfig": {"minSize": 2, "maxSize": 4, "desiredSize": 3},
    })
    _, items = one([gpu, system])
    # GPU: min 1 node = 730 x 0.8048 + 100 x 0.08 = 595.504; expected 1 + 0.25 x 2 = 1.5 nodes
    assert items["gpu"].min == pytest.approx(595.504)
    assert items["gpu"].expected == pytest.approx(893.256)
    # CPU: spot m7i.large = 0.1008 x 0.4 = 0.04032/h; EKS default 20 GB gp3 = 1.60 per node
    # min 2 nodes: 2 x (730 x 0.04032 + 1.60) = 62.0672; expected desiredSize 3 -> 93.1008
    assert items["system"].min == pytest.approx(62.0672)
    assert items["system"].expected == pytest.approx(93.1008)


def test_node_group_volume_from_its_launch_template() -> None:
    template = res("aws:ec2/launchTemplate:LaunchTemplate", "system-lt",
                   {"blockDeviceMappings": [{"ebs": {"volumeSize": 50, "volumeType": "gp3"}}]}, id="lt-123")
    group = res("aws:eks/nodeGroup:NodeGroup", "system", {
        "instanceTypes": ["m7i.large"], "launchTemplate": {"id": "lt-123", "version": "1"},
        "scalingConfig": {"minSize": 2, "maxSize": 4, "desiredSize": 2},
    })
    _, items = one([template, group])
    # 2 x (730 x 0.1008 + 50 x 0.08) = 2 x (73.584 + 4) = 155.168
    assert items["system"].min == pytest.approx(155.168)


def test_ec2_instance_spot_market() -> None:
    vm = res("aws:ec2/instance:Instance", "bastion", {
        "instanceType": "t3.medium", "instanceMarketOptions": {"marketType": "spot"},
        "rootBlockDevice": {"volumeSize": 10},
    })
    _, items = one([vm])
    # t3 spot discount 65%: 0.0416 x 0.35 = 0.01456/h x 730 = 10.6288 + 10 GB x 0.08 = 0.80
    assert items["bastion"].expected == pytest.approx(11.4288)


# ----------------------------------------------------------------------------- networking and services


def test_network_and_control_plane() -> None:
    _, items = one([
        res("aws:ec2/natGateway:NatGateway", "nat"),
        res("aws:ec2/eip:Eip", "eip", {"domain": "vpc"}),
        res("aws:eks/cluster:Cluster", "eks", {"version": "1.34"}),
        res("aws:eks/cluster:Cluster", "old", {"version": "1.29"}),
        res("aws:eks/cluster:Cluster", "old-std", {"version": "1.29", "upgradePolicy": {"supportType": "STANDARD"}}),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "ecr", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b", "c"]}),
        res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", {"vpcEndpointType": "Gateway"}),
        res("aws:ec2/natGateway:NatGateway", "nat-eu", region="eu-west-1"),
    ])
    assert (items["nat"].min, items["nat"].expected) == (pytest.approx(32.85), pytest.approx(37.35))  # 730 x 0.045; + 100 GB x 0.045
    assert items["eip"].expected == pytest.approx(3.65)  # 730 x 0.005
    assert items["eks"].expected == pytest.approx(73.0)  # 730 x 0.10
    assert items["old"].expected == pytest.approx(438.0)  # 730 x 0.60 extended support
    assert items["old-std"].expected == pytest.approx(73.0)
    assert items["ecr"].min == pytest.approx(21.9)  # 3 AZ x 730 x 0.01
    assert items["ecr"].expected == pytest.approx(22.1)  # + 20 GB x 0.01
    assert items["s3"].status == "free"
    assert items["nat-eu"].min == pytest.approx(35.04)  # eu-west-1: 730 x 0.048


def test_data_services() -> None:
    result, items = one([
        res("aws:rds/cluster:Cluster", "vectors", {
            "engine": "aurora-postgresql", "clusterIdentifier": "vectors-db",
            "serverlessv2ScalingConfiguration": {"minCapacity": 0.5, "maxCapacity": 4},
        }),
        res("aws:rds/clusterInstance:ClusterInstance", "vectors-1", {"instanceClass": "db.serverless", "clusterIdentifier": "vectors-db"}),
        res("aws:elasticache/serverlessCache:ServerlessCache", "cache", {"engine": "valkey"}),
        res("aws:opensearch/serverlessCollection:ServerlessCollection", "search", {"type": "VECTORSEARCH"}),
        res("aws:s3/bucket:Bucket", "docs"),
        res("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30}),
        res("aws:kms/key:Key", "key"),
        res("aws:sqs/queue:Queue", "queue"),
    ])
    # Aurora: ACUs min 0.5 x 730 x 0.12 = 43.80; expected 0.5 + 0.1 x 3.5 = 0.85 ACU -> 74.46; storage 20 GB x 0.10
    assert items["vectors-1"].min == pytest.approx(43.8)
    assert items["vectors-1"].expected == pytest.approx(74.46)
    assert (items["vectors"].min, items["vectors"].expected) == (0, pytest.approx(2.0))
    # Valkey: minimum 0.1 GB x 730 x 0.0837 = 6.1101; expected 1 GB -> 61.101 + 100 M ECPU x 0.0023 = 0.23
    assert items["cache"].min == pytest.approx(6.1101)
    assert items["cache"].expected == pytest.approx(61.331)
    # OpenSearch Serverless with standby replicas: 2 OCU x 730 x 0.24 = 350.40; + 10 GB x 0.024
    assert items["search"].min == pytest.approx(350.4)
    assert items["search"].expected == pytest.approx(350.64)
    assert items["docs"].expected == pytest.approx(1.15)  # 50 GB x 0.023
    # logs: 5 GB x 0.50 = 2.50 ingestion; stored 5 x 30/30.4 months x 0.03 = 0.148
    assert items["logs"].expected == pytest.approx(2.5 + 5 * 30 / 30.4 * 0.03)
    assert items["key"].min == pytest.approx(1.0)
    assert (items["queue"].min, items["queue"].expected) == (0, pytest.approx(0.4))
    assert result.total.min == pytest.approx(43.8 + 6.1101 + 350.4 + 1.0)


def test_serverless_aurora_auto_pause_and_io_optimized() -> None:
    _, items = one([
        res("aws:rds/cluster:Cluster", "db", {"storageType": "aurora-iopt1",
            "serverlessv2ScalingConfiguration": {"minCapacity": 0, "maxCapacity": 2}}, id="db-abc"),
        res("aws:rds/clusterInstance:ClusterInstance", "db-1", {"instanceClass": "db.serverless", "clusterIdentifier": "db-abc"}),
    ])
    # I/O-Optimized 0.156/ACU-h; min 0 (auto-pause); expected 0.1 x 2 = 0.2 ACU x 730 x 0.156 = 22.776
    assert items["db-1"].min == 0
    assert items["db-1"].expected == pytest.approx(22.776)
    assert any("auto-pauses" in a for a in items["db-1"].assumptions)
    assert items["db"].expected == pytest.approx(4.5)  # 20 GB x 0.225


def test_load_balancers_alarms_health_checks_and_accelerator() -> None:
    _, items = one([
        res("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application"}),
        res("aws:lb/loadBalancer:LoadBalancer", "nlb", {"loadBalancerType": "network"}),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "p99", {"period": 60}),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", {"period": 10}),
        res("aws:route53/healthCheck:HealthCheck", "hc", {"type": "HTTPS", "requestInterval": 30}),
        res("aws:globalaccelerator/accelerator:Accelerator", "ga", region=None),
        res("kubernetes:core/v1:Service", "lb-svc", {
            "metadata": {"annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "external"}},
            "spec": {"type": "LoadBalancer"},
        }),
        res("kubernetes:core/v1:Service", "cluster-ip", {"spec": {"type": "ClusterIP"}}),
    ])
    assert items["alb"].min == pytest.approx(16.425)  # 730 x 0.0225
    assert items["alb"].expected == pytest.approx(22.265)  # + 1 LCU x 730 x 0.008
    assert items["nlb"].expected == pytest.approx(16.425 + 730 * 0.006)
    assert items["lb-svc"].expected == pytest.approx(16.425 + 730 * 0.006)
    assert items["cluster-ip"].status == "free"
    assert items["p99"].expected == pytest.approx(0.10)
    assert items["fast"].expected == pytest.approx(0.30)
    assert items["hc"].expected == pytest.approx(1.50)  # 0.50 + HTTPS feature 1.00
    assert items["ga"].min == pytest.approx(18.25)  # 730 x 0.025 (global, home-region price)
    assert items["ga"].expected == pytest.approx(19.75)  # + 100 GB x 0.015


# ----------------------------------------------------------------------------- free, unpriced, errors


def test_free_and_unpriced_resources_are_listed_never_dropped() -> None:
    result, items = one([
        res("aws:ec2/vpc:Vpc", "vpc"),
        res("aws:iam/role:Role", "role"),
        res("pulumi:providers:aws", "aws-us-east-1"),
        res("llmops:network:Network", "net", custom=False),
        res("kubernetes:apps/v1:Deployment", "app"),
        res("aws:dynamodb/table:Table", "table"),
        res("gcp:compute/instance:Instance", "vm"),
        res("aws:ec2/natGateway:NatGateway", "nat"),
    ])
    assert len(result.items) == 8
    assert {n for n, i in items.items() if i.status == "free"} == {"vpc", "role", "aws-us-east-1", "net", "app"}
    assert {i.name for i in result.unpriced} == {"table", "vm"}
    assert items["table"].min is None and items["table"].expected is None
    assert "no pricing rule for aws:dynamodb/table:Table" in (items["table"].reason or "")
    assert result.total.expected == pytest.approx(37.35)  # only the NAT gateway
    document = result.to_document()
    assert document["unpricedCount"] == 2
    assert document["unpricedTypes"] == ["aws:dynamodb/table:Table", "gcp:compute/instance:Instance"]
    table = next(i for i in document["items"] if i["name"] == "table")
    assert table["unpriced"] is True and table["min"] is None


def test_known_type_without_a_price_is_unpriced_with_the_fix() -> None:
    _, items = one([nodepool("h200", ["p5e.48xlarge"], ["on-demand"], 0, 1)])
    assert items["h200"].status == "unpriced"
    assert "no on-demand price for p5e.48xlarge in us-east-1" in (items["h200"].reason or "")
    assert "llmops cost --refresh" in (items["h200"].reason or "")


def test_unknown_instance_type_is_a_clear_error() -> None:
    with pytest.raises(UnknownInstanceTypeError, match=r"unknown instance type 'g5\.xlarg' in region us-east-1 \(did you mean g5\.xlarge"):
        priced([nodepool("typo", ["g5.xlarg"], ["spot"], 0, 2)])


def test_unknown_region_is_a_clear_error_and_a_region_without_prices_is_unpriced() -> None:
    with pytest.raises(UnknownRegionError, match=r"unknown AWS region 'us-east-9' \(did you mean"):
        priced([res("aws:ec2/natGateway:NatGateway", "nat", region="us-east-9")])
    pool = nodepool("p", ["g5.xlarge"], ["spot"], 0, 2)
    result = priced([pool.__class__(urn="urn:x", type="kubernetes:karpenter.sh/v1:NodePool", region="ap-south-1", inputs=pool.inputs)])
    assert result.items[0].status == "unpriced" and result.items[0].billed
    assert re.search(r"no prices for region 'ap-south-1'.*llmops cost --refresh --region ap-south-1", result.items[0].reason or "")


def test_lenient_mode_lists_lookup_errors_as_unpriced() -> None:
    result = priced([nodepool("typo", ["g5.xlarg"], ["spot"], 0, 2)], strict=False)
    assert result.items[0].status == "unpriced"
    assert "did you mean g5.xlarge" in (result.items[0].reason or "")


def test_catalogue_lookups() -> None:
    prices = fixture_prices()
    assert prices.on_demand_hourly("us-east-1", "g6e.xlarge") == 1.861
    assert prices.on_demand_hourly("us-west-2", "p5.48xlarge") == 98.32
    assert prices.hourly("us-east-1", "g5.xlarge", "spot")[0] == pytest.approx(0.4024)
    with pytest.raises(MissingPriceError):
        prices.on_demand_hourly("us-east-1", "p5en.48xlarge")
    with pytest.raises(MissingPriceError, match="no service price 'nope'"):
        prices.service("nope", "us-east-1")


def test_packaged_catalogue_covers_the_gpu_families_and_states_its_sources() -> None:
    prices = load_prices()
    for family in ("g5", "g6", "g6e", "p4d", "p5", "inf2"):
        for region in ("us-east-1", "us-west-2", "eu-west-1"):
            assert any(name.startswith(family + ".") for name in prices.document["ec2"]["onDemand"][region]), (family, region)
    assert prices.ec2.taken and prices.spot.taken and prices.services.taken and prices.ec2.source
    # the burstable sizes examples and bastions use
    assert prices.on_demand_hourly("us-west-2", "t2.micro") == 0.0116 and prices.on_demand_hourly("us-east-1", "t3.micro") == 0.0104
    assert prices.on_demand_hourly("eu-west-1", "t3.micro") == pytest.approx(prices.on_demand_hourly("eu-west-1", "t3.medium") / 4)
    with pytest.raises(MissingPriceError):
        prices.on_demand_hourly("eu-west-1", "t2.micro")  # no source lists it there
    for key, entry in prices.document["services"]["prices"].items():
        assert entry.get("unit") and entry.get("prices"), key


def test_usage_assumptions_drive_expected_figures() -> None:
    usage = UsageConfig(gpu_utilization=0.5, nat_data_gb_per_month=1000, hours_per_month=720)
    result, items = one([nodepool("a10g", ["g5.xlarge"], ["spot"], 0, 4), res("aws:ec2/natGateway:NatGateway", "nat")], usage)
    # 0.5 x 4 = 2 nodes x 720 h x 0.4024 = 579.456 + 2 x 8 = 16
    assert items["a10g"].expected == pytest.approx(595.456)
    # 720 x 0.045 = 32.40 + 1000 x 0.045 = 45
    assert items["nat"].expected == pytest.approx(77.4)
    document = result.to_document()
    assert document["usage"]["gpuUtilization"] == 0.5
    assert document["usage"]["natDataGbPerMonth"] == 1000
    assert document["usageSource"] == "usage passed by the caller"


def test_document_shape() -> None:
    result, _ = one([nodepool("a10g", ["g5.xlarge"], ["spot"], 0, 4), res("aws:ec2/natGateway:NatGateway", "nat")])
    document = result.to_document()
    assert document["currency"] == "USD"
    assert document["total"] == {"min": 32.85, "expected": 339.1}  # 301.752 + 37.35 = 339.102
    item = next(i for i in document["items"] if i["name"] == "nat")
    assert set(item) >= {"urn", "type", "region", "component", "min", "expected", "unpriced", "assumptions"}
    assert item["lines"][1] == {
        "description": "NAT data processed", "unit": "GB processed", "unitPrice": 0.045,
        "minQuantity": 0.0, "expectedQuantity": 100.0, "min": 0.0, "expected": 4.5,
    }
    assert document["usageSource"] == "UsageConfig defaults"
    json.dumps(document)
