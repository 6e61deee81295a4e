"""Property: any stack config either plans or fails with the schema error; never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import catalog
from llmops.engine import ProgramError, plan
from tests.support import write_project

REGION_NAMES = ["us-east-1", "us-west-2", "eu-west-1", "us-west-1", "ap-south-1", "mars-north-1", ""]
TYPES = [*list(catalog.gpu_instance_types())[:12], "m5.large", "inf2.xlarge", "g5.xlarg", "", "p5.48xlarge"]

pools = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a10g", "l4-spot", "Bad_Name", "x" * 41, "burst"]),
        "instanceTypes": st.lists(st.sampled_from(TYPES), min_size=0, max_size=3),
        "capacityType": st.sampled_from(["spot", "on-demand", "reserved"]),
        "minNodes": st.integers(min_value=-1, max_value=4),
        "maxNodes": st.integers(min_value=-1, max_value=6),
    },
    optional={"scaleToZero": st.booleans(), "labels": st.dictionaries(st.sampled_from(["team", "tier"]), st.text(max_size=5), max_size=2)},
)
regions = st.fixed_dictionaries(
    {
        "name": st.sampled_from(REGION_NAMES),
        "cidr": st.sampled_from(["10.0.0.0/16", "10.1.0.0/16", "10.1.0.0/17", "172.16.0.0/20", "8.8.0.0/16", "10.0.0.5/16", "x"]),
        "azCount": st.integers(min_value=0, max_value=7),
    },
    optional={
        "cluster": st.fixed_dictionaries(
            {},
            optional={
                "access": st.sampled_from(
                    [
                        {"mode": "publicRestricted", "deployerCidrs": ["203.0.113.0/24"]},
                        {"mode": "publicRestricted", "deployerCidrs": ["0.0.0.0/0"]},
                        {"mode": "private", "deployFrom": "ssmTunnel"},
                        {"mode": "private"},
                    ]
                )
            },
        ),
        "natGateways": st.sampled_from(["single", "perAz", "none"]),
        "gpuPools": st.lists(pools, max_size=2),
        "interfaceEndpoints": st.lists(st.sampled_from(["ecr.api", "sts", "s3"]), max_size=3),
        "flowLogs": st.fixed_dictionaries({"retentionDays": st.sampled_from([7, 10, 30])}),
    },
)
configs = st.fixed_dictionaries(
    {
        "environment": st.sampled_from(["dev", "staging", "prod", "qa"]),
        "owner": st.sampled_from(["ml-platform", ""]),
        "costCenter": st.just("cc-1"),
        "homeRegion": st.sampled_from(REGION_NAMES),
        "regions": st.lists(regions, min_size=0, max_size=3),
        "budget": st.fixed_dictionaries(
            {"monthlyUsd": st.sampled_from([100, 0, -1, "x"]), "alertEmails": st.lists(st.sampled_from(["a@example.com", "nope"]), max_size=2)}
        ),
    },
    optional={"surprise": st.integers(), "account": st.fixed_dictionaries({"id": st.sampled_from(["123456789012", "1234", 123456789012])})},
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=configs)
def test_random_configs_plan_or_fail_with_the_schema_error(tmp_path: Path, config: dict[str, Any]) -> None:
    project = write_project(tmp_path / "random", config=config)
    try:
        result = plan("test", project)
    except ProgramError as error:
        message = str(error)
        assert message.startswith("invalid stack config in Pulumi.test.yaml"), message
        assert error.registered == 0
        for line in message.splitlines()[1:]:
            assert line.strip().startswith("llmops:"), line
        return
    assert {r.region for r in result.resources if r.type == "aws:ec2/vpc:Vpc"} == {r["name"] for r in config["regions"]}


VALID_ACCESS = [
    {"mode": "publicRestricted", "deployerCidrs": ["203.0.113.0/24"]},
    {"mode": "private", "deployFrom": "ssmTunnel"},
    {"mode": "private", "deployFrom": "vpcRunner", "runnerCidrs": ["10.100.0.0/24"]},
]


@st.composite
def valid_configs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(["us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]), min_size=1, max_size=3, unique=True))
    gpu_types = sorted(catalog.gpu_instance_types())
    region_docs = []
    for index, name in enumerate(names):
        pool_docs = []
        for j in range(draw(st.integers(min_value=0, max_value=2))):
            low = draw(st.integers(min_value=0, max_value=2))
            pool_docs.append(
                {
                    "name": f"pool-{j}",
                    "instanceTypes": draw(st.lists(st.sampled_from(gpu_types), min_size=1, max_size=3, unique=True)),
                    "capacityType": draw(st.sampled_from(["spot", "on-demand"])),
                    "minNodes": low,
                    "maxNodes": draw(st.integers(min_value=max(low, 1), max_value=low + 4)),
                }
            )
        region_docs.append(
            {
                "name": name,
                "cidr": f"10.{40 + index}.0.0/16",
                "azCount": draw(st.integers(min_value=2, max_value=3)),
                "natGateways": draw(st.sampled_from(["single", "perAz"])),
                "gpuPools": pool_docs,
                "cluster": {"access": draw(st.sampled_from(VALID_ACCESS))},
            }
        )
    return {
        "environment": draw(st.sampled_from(["dev", "staging", "prod"])),
        "owner": "ml-platform",
        "costCenter": "cc-1",
        "account": {"id": "123456789012", "singletons": draw(st.booleans())},
        "homeRegion": draw(st.sampled_from(names)),
        "regions": region_docs,
        "budget": {"monthlyUsd": draw(st.integers(min_value=1, max_value=100_000)), "alertEmails": ["a@example.com"]},
    }


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=valid_configs())
def test_random_valid_configs_plan_with_one_network_per_region(tmp_path: Path, config: dict[str, Any]) -> None:
    result = plan("test", write_project(tmp_path / "valid", config=config))
    vpcs = {r.region or "": r for r in result.resources if r.type == "aws:ec2/vpc:Vpc"}
    assert sorted(vpcs) == sorted(r["name"] for r in config["regions"])
    for region in config["regions"]:
        assert unwrap(vpcs[region["name"]].inputs)["cidrBlock"] == region["cidr"]
        nats = [r for r in result.resources if r.type == "aws:ec2/natGateway:NatGateway" and r.region == region["name"]]
        assert len(nats) == (region["azCount"] if region["natGateways"] == "perAz" else 1)


def unwrap(inputs: dict[str, Any]) -> dict[str, Any]:
    from llmops.engine.mocks import unwrap_secrets

    return unwrap_secrets(inputs)  # type: ignore[no-any-return]
