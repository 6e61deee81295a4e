"""Cost never aborts a plan: real instance types and regions the catalogue has no price for
are unpriced with the reason, while a name that does not exist is an error with a
suggestion; the catalogue covers the general-purpose families in its regions, P5 carries the
post-June-2025 price, types that cost money lead the unpriced list and free types stay out
of it. Program runs use the frozen fixture catalogue, the coverage tests the packaged one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core import catalog
from core.catalog.prices import (
    MissingPriceError,
    RegionNotPricedError,
    UnknownInstanceTypeError,
    load_prices,
)
from llmops.cli import app
from llmops.cost import CostInput, estimate
from llmops.cost.model.free import free_types
from tests.support import FIXTURE_PRICES, fixture_prices, write_project

runner = CliRunner()
PRICES = ["--catalogue", str(FIXTURE_PRICES)]
AMI = "ami-0123456789abcdef0"

PROGRAM = f"""
import pulumi, pulumi_aws as aws
east = pulumi.ResourceOptions(provider=aws.Provider("east", region="us-east-1"))
far = pulumi.ResourceOptions(provider=aws.Provider("far", region="ap-southeast-4"))
aws.ec2.Instance("graviton4", ami="{AMI}", instance_type="x8g.large", opts=east)
aws.ec2.Instance("melbourne", ami="{AMI}", instance_type="m7i.large", opts=far)
aws.ec2.Instance("known", ami="{AMI}", instance_type="m7i.large", opts=east)
aws.ec2.SecurityGroup("sg", description="web", opts=east)
aws.iam.Role("role", assume_role_policy='{{"Version": "2012-10-17", "Statement": []}}', opts=east)
aws.rds.Instance("db", instance_class="db.t3.micro", engine="postgres", allocated_storage=20,
                 username="app", manage_master_user_password=True, skip_final_snapshot=True, opts=east)
"""


def _items(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in document["items"]}


@pytest.fixture(scope="module")
def program_cost(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    project = write_project(tmp_path_factory.mktemp("coverage") / "team", program=PROGRAM, name="team")
    result = runner.invoke(app, ["cost", "--stack", "test", "--program", str(project), "--json", *PRICES])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


def test_valid_type_without_a_price_is_unpriced_with_the_reason(program_cost: dict[str, Any]) -> None:
    assert "x8g.large" not in fixture_prices().document["ec2"]["onDemand"]["us-east-1"]
    assert catalog.is_instance_type("x8g.large") and "x8g.large" not in catalog.instance_types()
    item = _items(program_cost)["graviton4"]
    assert item["unpriced"] is True and item["min"] is None
    assert "no on-demand price for x8g.large in us-east-1" in item["reason"]
    assert "llmops cost --refresh --region us-east-1" in item["reason"]
    assert _items(program_cost)["known"]["expected"] == pytest.approx(730 * 0.1008 + 8 * 0.08, abs=0.01)  # still priced


def test_region_without_prices_is_unpriced_not_fatal(program_cost: dict[str, Any]) -> None:
    item = _items(program_cost)["melbourne"]
    assert item["unpriced"] is True and item["region"] == "ap-southeast-4"
    assert "no prices for region 'ap-southeast-4'" in item["reason"]
    assert "llmops cost --refresh --region ap-southeast-4" in item["reason"]


def test_types_that_cost_money_lead_the_unpriced_list_and_free_types_stay_out(program_cost: dict[str, Any]) -> None:
    unpriced = {i["name"] for i in program_cost["items"] if i["unpriced"]}
    assert unpriced == {"graviton4", "melbourne", "db"}
    free = {i["name"] for i in program_cost["items"] if i["free"]}
    assert {"sg", "role", "east", "far"} <= free
    top = program_cost["unpricedTop"]
    assert [g["type"] for g in top] == ["aws:ec2/instance:Instance", "aws:rds/instance:Instance"]
    assert top[0] == {"type": "aws:ec2/instance:Instance", "count": 2, "billed": True, "reason": top[0]["reason"]}
    assert "RDS postgres db.t3.micro" in top[1]["reason"] and "20 GB of gp2 storage" in top[1]["reason"]


def test_plan_of_a_program_with_unpriced_items_succeeds(tmp_path: Path) -> None:
    project = write_project(tmp_path / "team", program=PROGRAM, name="team")
    result = runner.invoke(app, ["plan", "--program", str(project), "--stack", "test", "--no-policy", "--json"])
    assert result.exit_code == 0, result.output
    cost = json.loads(result.output)["cost"]
    assert cost["unpricedCount"] == 3 and cost["unpricedTop"][0]["billed"] is True


def test_typo_in_an_instance_type_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    program = PROGRAM.replace('"x8g.large"', '"g5.xlarg"')
    project = write_project(tmp_path / "typo", program=program, name="team")
    result = runner.invoke(app, ["cost", "--stack", "test", "--program", str(project), *PRICES])
    assert result.exit_code == 1 and isinstance(result.exception, UnknownInstanceTypeError)  # the CLI prints it cleanly
    assert "graviton4 (aws:ec2/instance:Instance): unknown instance type 'g5.xlarg' in region us-east-1 (did you mean g5.xlarge" in str(
        result.exception
    )


# ----------------------------------------------------------------------------- the one check


def test_instance_types_are_decided_against_botocores_ec2_model() -> None:
    names = catalog.ec2_instance_type_names()
    assert len(names) > 1000  # every type AWS defines, not the priced few
    assert {"x8g.large", "m8i.large", "p6-b200.48xlarge", "p5en.48xlarge"} <= names
    assert set(catalog.instance_types()) <= names  # the installed botocore carries every catalogue type
    with pytest.raises(catalog.UnknownInstanceTypeError, match=r"unknown instance type 'g5\.xlarg' \(did you mean g5\.xlarge"):
        catalog.check_instance_type("g5.xlarg")
    with pytest.raises(UnknownInstanceTypeError, match=r"'g5\.xlarg' in region us-east-1 \(did you mean g5\.xlarge"):
        load_prices().on_demand_hourly("us-east-1", "g5.xlarg")
    assert catalog.is_accelerated("g7e.2xlarge") and not catalog.is_accelerated("x8g.large")


def test_typo_wins_over_a_missing_region() -> None:
    with pytest.raises(UnknownInstanceTypeError):
        load_prices().on_demand_hourly("ap-southeast-4", "m7i.larg")
    with pytest.raises(RegionNotPricedError):
        load_prices().on_demand_hourly("ap-southeast-4", "m7i.large")
    with pytest.raises(MissingPriceError, match=r"no on-demand price for x8g\.large in us-east-1"):
        load_prices().on_demand_hourly("us-east-1", "x8g.large")


# ----------------------------------------------------------------------------- the packaged catalogue

GENERAL_PURPOSE = ("m5", "m6i", "m6a", "m7i", "m7a", "m7g", "c5", "c6i", "c7i", "r5", "r6i", "r7i", "t3", "t4g")


def test_general_purpose_families_are_priced_in_every_region_with_prices() -> None:
    prices = load_prices()
    ec2 = prices.document["ec2"]
    assert len(prices.regions) >= 22 and set(prices.regions) <= set(catalog.regions())
    types = [t for t in catalog.instance_types() if t.split(".", 1)[0] in GENERAL_PURPOSE]
    for region in prices.regions:
        for name in types:
            assert prices.on_demand_hourly(region, name) > 0, (region, name)
    assert prices.on_demand_hourly("ap-northeast-1", "m7i.large") == pytest.approx(0.1302)  # listed
    assert prices.estimated("ap-northeast-1", "m7i.large") is None
    assert "m6i price ratio" in (prices.estimated("ap-northeast-1", "c7i.large") or "")
    assert "estimated:" in prices.hourly("ap-northeast-1", "c7i.large", "on-demand")[1]
    for region, entries in ec2["estimated"].items():
        assert set(entries) <= set(ec2["onDemand"][region]), region
    uncovered = sorted(set(catalog.regions()) - set(prices.regions))
    assert all(region in ec2["source"] for region in uncovered)  # named as not priced yet, with the reason


def test_p5_carries_the_price_after_the_june_2025_reduction() -> None:
    prices = load_prices()
    assert prices.on_demand_hourly("us-east-1", "p5.48xlarge") == pytest.approx(55.04)  # was 98.32
    assert prices.on_demand_hourly("us-east-1", "p4d.24xlarge") == pytest.approx(21.957642)  # was 32.7726
    assert prices.on_demand_hourly("us-east-1", "p4de.24xlarge") == pytest.approx(27.44705)  # was 40.9657
    assert prices.on_demand_hourly("us-west-2", "p5.48xlarge") == pytest.approx(55.04)
    assert prices.on_demand_hourly("us-east-1", "p5en.48xlarge") == pytest.approx(63.296)
    assert "2025-06-05" in prices.ec2.source and prices.ec2.taken == "2026-11-30"
    assert "reduction" in (prices.estimated("eu-west-1", "p5.48xlarge") or "")
    with pytest.raises(MissingPriceError):
        prices.on_demand_hourly("us-east-1", "p5e.48xlarge")  # Capacity Blocks only


# ----------------------------------------------------------------------------- the types that cost money

REGION = "us-east-1"


def _one(type_: str, inputs: dict[str, Any], *extra: CostInput) -> Any:
    item = CostInput(urn=f"urn:{type_}::x", type=type_, region=REGION, inputs=inputs, name="x")
    result = estimate([item, *extra], catalogue=load_prices())
    return next(i for i in result.items if i.name == "x")


def test_fargate_service_is_priced_from_its_task_definition() -> None:
    task = CostInput(
        urn="urn:task", type="aws:ecs/taskDefinition:TaskDefinition", region=REGION, name="task",
        inputs={"family": "web", "cpu": "512", "memory": "1024", "requiresCompatibilities": ["FARGATE"]},
    )
    item = _one("aws:ecs/service:Service", {"launchType": "FARGATE", "desiredCount": 2,
                                            "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"}, task)
    # 2 tasks x 730 h x (0.5 vCPU x 0.04048 + 1 GB x 0.004445)
    assert item.expected == pytest.approx(2 * 730 * (0.5 * 0.04048 + 1 * 0.004445))
    on_ec2 = _one("aws:ecs/service:Service", {"launchType": "EC2", "desiredCount": 2, "taskDefinition": "web"})
    assert on_ec2.status == "free"
    missing = _one("aws:ecs/service:Service", {"launchType": "FARGATE", "taskDefinition": "other:3"}, task)
    assert missing.status == "unpriced" and missing.billed and "task definition (other:3) is not in the plan" in (missing.reason or "")


def test_auto_scaling_group_is_priced_from_its_launch_template() -> None:
    template = CostInput(
        urn="urn:lt", type="aws:ec2/launchTemplate:LaunchTemplate", region=REGION, name="lt", id="lt-0abc",
        inputs={"name": "web", "instanceType": "m7i.large", "blockDeviceMappings": [{"ebs": {"volumeSize": 30, "volumeType": "gp3"}}]},
    )
    item = _one("aws:autoscaling/group:Group", {"minSize": 1, "maxSize": 4, "desiredCapacity": 2,
                                                "launchTemplate": {"id": "lt-0abc", "version": "$Latest"}}, template)
    assert item.min == pytest.approx(730 * 0.1008 + 30 * 0.08)
    assert item.expected == pytest.approx(2 * (730 * 0.1008 + 30 * 0.08))
    unknown = _one("aws:autoscaling/group:Group", {"minSize": 1, "maxSize": 1, "launchTemplate": {"name": "elsewhere"}})
    assert unknown.status == "unpriced" and "launch template or configuration not in the plan" in (unknown.reason or "")


def test_kinesis_lambda_cloudfront_and_redshift() -> None:
    stream = _one("aws:kinesis/stream:Stream", {"shardCount": 4})
    assert stream.expected == pytest.approx(4 * 730 * 0.015)
    on_demand = _one("aws:kinesis/stream:Stream", {"streamModeDetails": {"streamMode": "ON_DEMAND"}})
    assert on_demand.expected == pytest.approx(730 * 0.04)
    function = _one("aws:lambda/function:Function", {"runtime": "python3.12"})
    assert function.status == "free" and "always-free tier covers 1 million requests" in (function.reason or "")
    cdn = _one("aws:cloudfront/distribution:Distribution", {"enabled": True})
    assert cdn.status == "unpriced" and cdn.billed and "data transfer out and requests" in (cdn.reason or "")
    warehouse = _one("aws:redshift/cluster:Cluster", {"nodeType": "ra3.xlplus", "numberOfNodes": 2})
    assert warehouse.status == "unpriced" and "Redshift 2 x ra3.xlplus" in (warehouse.reason or "")


def test_unruled_types_that_cost_money_say_what_aws_bills_and_free_types_stay_free() -> None:
    table = _one("aws:dynamodb/table:Table", {"billingMode": "PAY_PER_REQUEST"})
    assert table.status == "unpriced" and table.billed and "request units" in (table.reason or "")
    unknown = _one("aws:newservice/thing:Thing", {})
    assert unknown.status == "unpriced" and not unknown.billed
    for type_ in ("aws:ecs/cluster:Cluster", "aws:ecs/taskDefinition:TaskDefinition", "aws:lambda/permission:Permission",
                  "aws:acm/certificate:Certificate", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/routeTable:RouteTable",
                  "aws:iam/policy:Policy"):
        assert _one(type_, {}).status == "free", type_
    assert "aws:dynamodb/table:Table" not in free_types()
