"""The stack config schema: shipped stacks are valid; every kind of error is reported with
its config path and a fix; many errors are reported at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmops.engine import load_project, load_stack_config
from stacks.config import ConfigError, PlatformConfig, namespace_values, parse
from tests.support import REPO, valid_config


def load(stack: str) -> PlatformConfig:
    project = load_project(REPO)
    return parse(namespace_values(load_stack_config(project, stack).values))


def test_dev_stack_is_one_region_of_spot_pools_that_scale_to_zero() -> None:
    config = load("dev")
    assert config.environment == "dev"
    assert [r.name for r in config.regions] == ["us-east-1"]
    region = config.regions[0]
    assert region.nat_gateways == "single"
    assert region.gpu_pools, "dev needs a GPU pool to exercise serving"
    for pool in region.gpu_pools:
        assert pool.capacity_type == "spot"
        assert pool.min_nodes == 0 and pool.scale_to_zero is True
    assert config.budget.monthly_usd > 0 and config.budget.alert_emails


def test_staging_stack_has_two_regions() -> None:
    config = load("staging")
    assert config.environment == "staging"
    assert len(config.regions) == 2
    assert config.home_region in [r.name for r in config.regions]


def test_prod_stack_has_three_regions_with_on_demand_base_and_spot_burst() -> None:
    config = load("prod")
    assert config.environment == "prod"
    assert len(config.regions) == 3
    for region in config.regions:
        assert region.nat_gateways == "perAz"
        capacity = {p.capacity_type: p for p in region.gpu_pools}
        assert capacity["on-demand"].min_nodes >= 1 and capacity["on-demand"].scale_to_zero is False
        assert capacity["spot"].min_nodes == 0 and capacity["spot"].scale_to_zero is True
        assert capacity["spot"].max_nodes > capacity["on-demand"].max_nodes


def test_valid_config_parses_with_defaults_and_derived_values() -> None:
    config = parse(valid_config())
    west = config.region("us-west-2")
    assert west.nat_gateways == "perAz"  # the HA default
    assert west.interface_endpoints == ["ecr.api", "ecr.dkr", "sts"]
    assert west.flow_logs.enabled and west.flow_logs.retention_days == 30
    pool = west.gpu_pools[0]
    assert pool.scale_to_zero is False  # derived from minNodes 1
    assert (pool.min_gpus_per_node, pool.max_gpus_per_node, pool.max_gpus) == (1, 1, 3)
    assert config.budget.thresholds_percent == [50, 80, 100]
    tags = config.cost_tags("dev", "llmops-platform")
    assert tags["Environment"] == "dev" and tags["CostCenter"] == "cc-1" and tags["Stack"] == "dev"


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


POOL = ["regions", 1, "gpuPools", 0]
ACCESS = ["regions", 0, "cluster", "access"]

CASES = [
    ("unknown top-level key", _set(["gpuPool"], []), "llmops:gpuPool", "unknown key; remove it"),
    ("unknown nested key with suggestion", _set(["regions", 0, "natGatways"], "single"), "llmops:regions[0].natGatways", "rename it to 'natGateways'"),
    ("unknown region", _set(["regions", 1, "name"], "us-west-9"), "llmops:regions[1].name", "unknown AWS region 'us-west-9'"),
    ("non-GPU instance type", _set([*POOL, "instanceTypes"], ["m5.large"]), "llmops:regions[1].gpuPools[0].instanceTypes[0]", "'m5.large' has no GPU"),
    ("unknown instance type", _set([*POOL, "instanceTypes"], ["g6.xlarg"]), "llmops:regions[1].gpuPools[0].instanceTypes[0]", "did you mean g6.xlarge"),
    ("neuron is not a GPU", _set([*POOL, "instanceTypes"], ["inf2.xlarge"]), "llmops:regions[1].gpuPools[0].instanceTypes[0]", "(Neuron) instance, not an NVIDIA GPU"),
    ("max below min", _set([*POOL, "maxNodes"], 0), "llmops:regions[1].gpuPools[0].maxNodes", "must be >= 1"),
    ("negative min", _set([*POOL, "minNodes"], -1), "llmops:regions[1].gpuPools[0].minNodes", "must be >= 0"),
    ("scale to zero with warm nodes", _set([*POOL, "scaleToZero"], True), "llmops:regions[1].gpuPools[0].scaleToZero", "set minNodes: 0"),
    ("bad capacity type", _set([*POOL, "capacityType"], "reserved"), "llmops:regions[1].gpuPools[0].capacityType", "must be one of 'spot' or 'on-demand'"),
    ("pool name not a DNS label", _set([*POOL, "name"], "L4_Pool"), "llmops:regions[1].gpuPools[0].name", "DNS label"),
    ("too many AZs for the region", _set(["regions", 1, "azCount"], 5), "llmops:regions[1].azCount", "us-west-2 has 4 availability zones"),
    ("single-AZ VPC", _set(["regions", 1, "azCount"], 1), "llmops:regions[1].azCount", "must be >= 2"),
    ("a zone EKS refuses", _set(["regions", 0, "azCount"], 6), "llmops:regions[0].azCount",
     "us-east-1 has 6 availability zones, 1 of which EKS does not accept for cluster subnets (use1-az3); set azCount to at most 5"),
    ("CIDR overlap between regions", _set(["regions", 1, "cidr"], "10.10.128.0/17"), "llmops:regions[1].cidr", "overlaps regions[0].cidr (10.10.0.0/16)"),
    ("public CIDR", _set(["regions", 1, "cidr"], "8.8.0.0/16"), "llmops:regions[1].cidr", "not a private range"),
    ("CIDR prefix too small", _set(["regions", 1, "cidr"], "10.11.0.0/24"), "llmops:regions[1].cidr", "use /16"),
    ("CIDR not a network", _set(["regions", 1, "cidr"], "10.11.0.1/16"), "llmops:regions[1].cidr", "is not an IPv4 network"),
    ("duplicate region", _set(["regions", 1, "name"], "us-east-1"), "llmops:regions[1].name", "duplicate region 'us-east-1'"),
    ("home region not deployed", _set(["homeRegion"], "eu-west-1"), "llmops:homeRegion", "not one of the stack's regions"),
    ("budget must be positive", _set(["budget", "monthlyUsd"], 0), "llmops:budget.monthlyUsd", "must be > 0"),
    ("budget not a number", _set(["budget", "monthlyUsd"], "lots"), "llmops:budget.monthlyUsd", "must be a number"),
    ("bad alert email", _set(["budget", "alertEmails"], ["ops"]), "llmops:budget.alertEmails[0]", "not an email address"),
    ("no alert emails", _set(["budget", "alertEmails"], []), "llmops:budget.alertEmails", "at least 1 item"),
    ("missing owner", _delete(["owner"]), "llmops:owner", "is required"),
    ("unknown environment", _set(["environment"], "qa"), "llmops:environment", "'dev', 'staging' or 'prod'"),
    ("no regions", _set(["regions"], []), "llmops:regions", "at least 1 item"),
    ("flow log retention CloudWatch rejects", _set(["regions", 0, "flowLogs"], {"retentionDays": 10}), "llmops:regions[0].flowLogs.retentionDays", "nearest: 7"),
    ("duplicate pool names", _set(["regions", 0, "gpuPools"], [{"name": "a", "instanceTypes": ["g5.xlarge"]}, {"name": "a", "instanceTypes": ["g6.xlarge"]}]), "llmops:regions[0].gpuPools[1].name", "duplicate pool name 'a'"),
    ("platform tag override", _set(["tags"], {"CostCenter": "x"}), "llmops:tags", "set by the platform"),
    ("no access model for a created cluster", _delete([*ACCESS[:-1], "access"]), "llmops:regions[0].cluster.access", "say how deploys reach the API server"),
    ("public endpoint without deployer ranges (a defaulted field, shown camelCase)", _set(ACCESS, {"mode": "publicRestricted"}), "llmops:regions[0].cluster.access.deployerCidrs", "needs the public ranges deploys come from"),
    ("public endpoint open to the internet", _set([*ACCESS, "deployerCidrs"], ["0.0.0.0/0"]), "llmops:regions[0].cluster.access.deployerCidrs", "list your office, VPN or CI egress ranges"),
    ("deployer ranges that together cover the internet", _set([*ACCESS, "deployerCidrs"], ["0.0.0.0/1", "128.0.0.0/1"]), "llmops:regions[0].cluster.access.deployerCidrs", "covers a large part of the internet"),
    ("a private range cannot reach a public endpoint", _set([*ACCESS, "deployerCidrs"], ["10.0.0.0/8"]), "llmops:regions[0].cluster.access.deployerCidrs", "use mode: private with deployFrom: vpcRunner"),
    ("private endpoint with no path for the deploy", _set(ACCESS, {"mode": "private"}), "llmops:regions[0].cluster.access.deployFrom", "needs a path for the deploy"),
    ("runner deploys without runner ranges", _set(ACCESS, {"mode": "private", "deployFrom": "vpcRunner"}), "llmops:regions[0].cluster.access.runnerCidrs", "needs the private ranges the runners deploy from"),
    ("public runner range", _set(ACCESS, {"mode": "private", "deployFrom": "vpcRunner", "runnerCidrs": ["8.8.8.0/24"]}), "llmops:regions[0].cluster.access.runnerCidrs", "not a private range"),
    ("runner range straddling the VPC", _set(ACCESS, {"mode": "private", "deployFrom": "vpcRunner", "runnerCidrs": ["10.10.0.0/15"]}), "llmops:regions[0].cluster.access.runnerCidrs[0]", "overlaps the region's VPC (10.10.0.0/16) without lying inside it"),
    ("deployFrom with a public endpoint", _set([*ACCESS, "deployFrom"], "ssmTunnel"), "llmops:regions[0].cluster.access.deployFrom", "applies to mode: private"),
    ("CI role not a role ARN", _set([*ACCESS, "ciRoleArn"], "ci-deployer"), "llmops:regions[0].cluster.access.ciRoleArn", "not an IAM role ARN"),
    ("old endpoint keys say where they went", _set(["regions", 0, "cluster", "endpointPublicAccess"], True), "llmops:regions[0].cluster.endpointPublicAccess", "moved to access.mode"),
    ("old CIDR key says where it went", _set(["regions", 0, "cluster", "publicAccessCidrs"], ["203.0.113.0/24"]), "llmops:regions[0].cluster.publicAccessCidrs", "moved to access.deployerCidrs"),
    ("EKS version not in the version table", _set(["regions", 0, "cluster", "kubernetesVersion"], "1.29"), "llmops:regions[0].cluster.kubernetesVersion", "unknown EKS Kubernetes version '1.29'"),
    ("EKS version read as a number", _set(["regions", 0, "cluster", "kubernetesVersion"], 1.35), "llmops:regions[0].cluster.kubernetesVersion", "quote it in YAML"),
    ("missing account", _delete(["account"]), "llmops:account", "is required"),
    ("account id not 12 digits", _set(["account", "id"], 12345678901), "llmops:account.id", "not an AWS account id (12 digits)"),
    ("GPU type as a system node", _set(["regions", 0, "cluster", "systemNodes"], {"instanceTypes": ["g5.xlarge"]}), "llmops:regions[0].cluster.systemNodes.instanceTypes[0]", "system nodes use CPU types"),
    ("accelerated type the catalogue has no specifications for as a system node", _set(["regions", 0, "cluster", "systemNodes"], {"instanceTypes": ["g7e.2xlarge"]}), "llmops:regions[0].cluster.systemNodes.instanceTypes[0]", "system nodes use CPU types"),
    ("typo in a system node type", _set(["regions", 0, "cluster", "systemNodes"], {"instanceTypes": ["m7i.larg"]}), "llmops:regions[0].cluster.systemNodes.instanceTypes[0]", "did you mean m7i.large"),
    ("real EC2 type without GPU specifications in a GPU pool", _set([*POOL, "instanceTypes"], ["g7e.2xlarge"]), "llmops:regions[1].gpuPools[0].instanceTypes[0]", "no specifications for (GPU model and count, memory)"),
    ("maxAcu below minAcu", _set(["data"], {"minAcu": 4, "maxAcu": 2}), "llmops:data.maxAcu", "must be >= minAcu (4)"),
]


@pytest.mark.parametrize(("label", "mutate", "path", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_error_names_path_and_fix(
    label: str, mutate: Callable[[dict[str, Any]], None], path: str, text: str
) -> None:
    doc = valid_config()
    mutate(doc)
    with pytest.raises(ConfigError) as caught:
        parse(doc)
    problems = {p.path: p.message for p in caught.value.problems}
    assert path in problems, f"{label}: expected a problem at {path}, got {problems}"
    assert text in problems[path], f"{label}: {problems[path]!r} lacks {text!r}"


def test_the_shipped_stacks_name_their_accounts_and_a_path_for_every_deploy() -> None:
    accounts = {}
    for stack in ("dev", "staging", "prod", "byo"):
        config = load(stack)
        accounts[stack] = (config.account.id, config.account.singletons)
        for region in config.regions:
            if region.cluster.existing is None:
                assert region.cluster.access is not None, (stack, region.name)
                assert region.cluster.kubernetes_version == "1.35", (stack, region.name)
    # dev and staging share an account, whose account-wide resources dev alone creates
    assert accounts == {
        "dev": ("111122223333", True),
        "staging": ("111122223333", False),
        "prod": ("444455556666", True),
        "byo": ("111122223333", False),
    }
    modes = {s: {(r.cluster.access.mode, r.cluster.access.deploy_from) for r in load(s).regions if r.cluster.access} for s in ("dev", "staging", "prod")}
    assert modes == {"dev": {("publicRestricted", None)}, "staging": {("private", "ssmTunnel")}, "prod": {("private", "vpcRunner")}}


def test_two_regions_cannot_tunnel_through_one_local_port() -> None:
    doc = valid_config()
    for region in doc["regions"]:
        region["cluster"] = {"access": {"mode": "private", "deployFrom": "ssmTunnel"}}
    with pytest.raises(ConfigError) as caught:
        parse(doc)
    (problem,) = caught.value.problems
    assert problem.path == "llmops:regions[1].cluster.access.tunnelLocalPort"
    assert "8443 is also the tunnel port of regions[0]" in problem.message and "tunnelLocalPort: 8444" in problem.message
    doc["regions"][1]["cluster"]["access"]["tunnelLocalPort"] = 8444
    assert [r.cluster.access.tunnel_local_port for r in parse(doc).regions if r.cluster.access] == [8443, 8444]
    # the shipped staging deploys both regions in one update, through two tunnels at once
    ports = [r.cluster.access.tunnel_local_port for r in load("staging").regions if r.cluster.access]
    assert len(set(ports)) == len(ports) == 2


def test_an_unquoted_twelve_digit_account_id_is_read_as_written() -> None:
    doc = valid_config()
    doc["account"] = {"id": 444455556666}
    assert parse(doc).account.id == "444455556666"


def test_max_nodes_below_min_nodes_message_is_exact() -> None:
    doc = valid_config()
    doc["regions"][1]["gpuPools"][0].update(minNodes=2, maxNodes=1, scaleToZero=False)
    with pytest.raises(ConfigError) as caught:
        parse(doc)
    assert "llmops:regions[1].gpuPools[0].maxNodes: must be >= minNodes (2); raise maxNodes or lower minNodes" in str(caught.value)


def test_every_problem_is_reported_at_once_in_document_order() -> None:
    doc = valid_config()
    doc["environment"] = "qa"
    doc["unknownKey"] = 1
    doc["regions"][0]["gpuPools"][0]["instanceTypes"] = ["m5.large", "g5.xlarge", "nope.large"]
    doc["regions"][1]["cidr"] = "10.10.0.0/16"
    doc["regions"][1]["gpuPools"][0]["maxNodes"] = 0
    doc["homeRegion"] = "ap-south-1"
    doc["budget"]["alertEmails"] = ["not-an-email"]
    with pytest.raises(ConfigError) as caught:
        parse(doc)
    paths = [p.path for p in caught.value.problems]
    assert paths == [
        "llmops:budget.alertEmails[0]",
        "llmops:environment",
        "llmops:homeRegion",
        "llmops:regions[0].gpuPools[0].instanceTypes[0]",
        "llmops:regions[0].gpuPools[0].instanceTypes[2]",
        "llmops:regions[1].cidr",
        "llmops:regions[1].gpuPools[0].maxNodes",
        "llmops:unknownKey",
    ]
    text = str(caught.value)
    assert text.startswith("invalid stack config (8 problem(s)):")


def test_structured_values_arrive_as_json_text_like_pulumi_passes_them() -> None:
    import json

    raw = {f"llmops:{k}": (json.dumps(v) if isinstance(v, dict | list) else str(v)) for k, v in valid_config().items()}
    raw["aws:region"] = "us-east-1"
    config = parse(namespace_values(raw))
    assert config.budget.monthly_usd == 2000.0
    assert [r.name for r in config.regions] == ["us-east-1", "us-west-2"]


def test_a_real_cpu_type_the_catalogue_has_no_specifications_for_is_a_valid_system_node() -> None:
    config = valid_config()
    config["regions"][0]["cluster"]["systemNodes"] = {"instanceTypes": ["x8g.large", "m7i.large"]}
    parsed = parse(config)
    assert parsed.regions[0].cluster.system_nodes.instance_types == ["x8g.large", "m7i.large"]
