"""The cost model on offline plans: a small reference Pulumi program (one region, NAT, EKS
control plane, optionally a g5.xlarge GPU pool) with figures computed by hand from the
fixture catalogue, the PR diff for an added pool, and the shipped stacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.cost import compare, compare_markdown, estimate_plan
from llmops.cost import cost_section as _cost_section
from llmops.engine import PlanResult, plan
from tests.support import fixture_prices


def cost_section(result: PlanResult) -> dict[str, Any]:
    return _cost_section(result, catalogue=fixture_prices())

# Hand-computed (us-east-1 list prices, UsageConfig defaults):
NAT_MIN = 730 * 0.045  # 32.85
NAT_EXPECTED = NAT_MIN + 100 * 0.045  # 37.35 (100 GB processed)
EIP = 730 * 0.005  # 3.65
EKS = 730 * 0.10  # 73.00
POOL_SPOT_EXPECTED = 0.25 * 4 * 730 * 1.006 * (1 - 0.60) + 0.25 * 4 * 100 * 0.08  # 293.752 + 8.00


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in document["items"]}


def test_reference_stack_with_spot_pool(reference_project: Any) -> None:
    result = plan("ref", reference_project(gpuPool=True))
    estimate = estimate_plan(result, catalogue=fixture_prices())
    document = estimate.to_document()
    items = by_name(document)
    pool = items["a10g-nodepool"]
    assert pool["type"] == "kubernetes:karpenter.sh/v1:NodePool"
    assert pool["region"] == "us-east-1"
    assert pool["component"] == "GpuPool"
    assert pool["min"] == 0.0
    assert pool["expected"] == pytest.approx(POOL_SPOT_EXPECTED, abs=0.005)  # 301.75
    assert items["us-east-1-nat"]["type"] == "aws:ec2/natGateway:NatGateway"
    nat = next(i for i in document["items"] if i["type"] == "aws:ec2/natGateway:NatGateway")
    assert (nat["min"], nat["expected"]) == (pytest.approx(NAT_MIN), pytest.approx(NAT_EXPECTED))
    assert nat["component"] == "Platform"
    assert items["us-east-1-eks"]["expected"] == pytest.approx(EKS)
    assert document["total"]["min"] == pytest.approx(NAT_MIN + EIP + EKS, abs=0.005)  # 109.50
    assert document["total"]["expected"] == pytest.approx(POOL_SPOT_EXPECTED + NAT_EXPECTED + EIP + EKS, abs=0.005)  # 415.75
    assert document["unpricedCount"] == 0
    # everything else in the plan is listed as free, with a reason
    free = {i["type"] for i in document["items"] if i["free"]}
    assert {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "pulumi:providers:aws", "pulumi:providers:kubernetes", "ref:index:Platform"} <= free
    assert len(document["items"]) == len(result.resources)
    # a foreign program (no llmops: namespace) uses the defaults, and says so
    assert document["usageSource"].startswith("UsageConfig defaults (Pulumi.ref.yaml has no llmops: config")
    assert document["stack"] == "ref"


def test_reference_stack_on_demand_pool(reference_project: Any) -> None:
    document = cost_section(plan("ref", reference_project(gpuPool=True, capacity="on-demand", minNodes=1)))
    pool = by_name(document)["a10g-nodepool"]
    # minimum: 1 node x (730 x 1.006 + 100 x 0.08) = 742.38; expected nodes 1 + 0.25 x 3 = 1.75
    assert pool["min"] == pytest.approx(742.38)
    assert pool["expected"] == pytest.approx(1.75 * 742.38, abs=0.005)


def test_unpriced_resource_in_a_plan_is_listed(reference_project: Any) -> None:
    document = cost_section(plan("ref", reference_project(unpriced=True)))
    table = next(i for i in document["items"] if i["type"] == "aws:dynamodb/table:Table")
    assert table["unpriced"] is True and table["min"] is None and table["expected"] is None
    assert document["unpricedTypes"] == ["aws:dynamodb/table:Table"]
    assert document["total"]["min"] == pytest.approx(NAT_MIN + EIP + EKS, abs=0.005)


def test_pull_request_diff_for_an_added_gpu_pool(reference_project: Any) -> None:
    base = cost_section(plan("base", reference_project("base")))
    # the same stack name on both sides, as in CI (base branch vs. PR branch)
    head = cost_section(_plan_as(reference_project, "base", gpuPool=True))
    diff = compare(base, head)
    assert [(c.change, c.name) for c in diff.changes] == [("added", "a10g-nodepool")]
    assert diff.changes[0].delta_expected == pytest.approx(301.75, abs=0.005)
    assert diff.delta_min == pytest.approx(0.0)
    assert diff.delta_expected == pytest.approx(301.75, abs=0.01)
    markdown = compare_markdown(base, head)
    # base: NAT 37.35 + EIP 3.65 + EKS 73.00 = 114.00; head adds the pool's 301.75
    assert "expected **$114.00 -> $415.75** (+$301.75, +264.7%)" in markdown
    assert "| added | `a10g-nodepool` | NodePool | us-east-1 | n/a -> $0.00 | n/a -> $301.75 | $0.00 | +$301.75 |" in markdown
    assert "| **total** |" in markdown and "**+$301.75**" in markdown


def test_pull_request_diff_for_removed_and_changed_resources(reference_project: Any) -> None:
    spot = cost_section(_plan_as(reference_project, "pr", gpuPool=True))
    bigger = cost_section(_plan_as(reference_project, "pr", gpuPool=True, maxNodes=8))
    none = cost_section(_plan_as(reference_project, "pr"))
    changed = compare(spot, bigger)
    assert [(c.change, c.name) for c in changed.changes] == [("changed", "a10g-nodepool")]
    # expected nodes 0.25 x 8 = 2: 2 x (730 x 0.4024 + 8) = 603.504; before 301.752
    assert changed.changes[0].delta_expected == pytest.approx(301.75, abs=0.01)
    removed = compare(spot, none)
    assert [(c.change, c.name) for c in removed.changes] == [("removed", "a10g-nodepool")]
    assert "-$301.75" in compare_markdown(spot, none)
    assert "No resource changes its cost." in compare_markdown(spot, spot)


def _plan_as(reference_project: Any, stack: str, **config: Any) -> Any:
    """Plans the reference program under ``stack`` in a fresh directory."""
    import uuid

    directory: Path = reference_project(stack, **config)
    target = directory.parent / f"{stack}-{uuid.uuid4().hex[:8]}"
    directory.rename(target)
    return plan(stack, target)


def test_project_stack_uses_its_usage_section(dev_plan: Any) -> None:
    estimate = estimate_plan(dev_plan, catalogue=fixture_prices())
    assert estimate.usage.gpu_utilization == 0.15
    assert estimate.usage.nat_data_gb_per_month == 50
    assert estimate.usage_source == "llmops:usage in Pulumi.dev.yaml"
    document = estimate.to_document()
    assert document["usage"]["gpuUtilization"] == 0.15
    nat = next(i for i in document["items"] if i["type"] == "aws:ec2/natGateway:NatGateway")
    assert nat["expected"] == pytest.approx(730 * 0.045 + 50 * 0.045)  # 35.10
    # every recorded resource is accounted for
    assert len(document["items"]) == len(dev_plan.resources)
