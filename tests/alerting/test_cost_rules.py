"""The cost model prices what alerting, observability and budgets add: CloudWatch dashboards,
budget actions and Amazon Managed Service for Prometheus; the free types are data. Figures
by hand from the fixture catalogue (``tests/fixtures/prices.json``, us-east-1)."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.cost import CostInput, estimate
from llmops.cost.model.free import free_reason
from stacks.config import UsageConfig
from tests.support import fixture_prices


def _item(type_: str, name: str, inputs: dict[str, Any] | None = None) -> CostInput:
    return CostInput(urn=f"urn:pulumi:t::p::{type_}::{name}", type=type_, region="us-east-1", inputs=inputs or {}, name=name)


def _priced(items: list[CostInput], usage: UsageConfig | None = None) -> dict[str, Any]:
    return {i.name: i for i in estimate(items, usage, catalogue=fixture_prices()).items}


def test_dashboard_and_budget_action_are_priced_per_month() -> None:
    items = _priced([_item("aws:cloudwatch/dashboard:Dashboard", "ops"), _item("aws:budgets/budgetAction:BudgetAction", "stop")])
    assert items["ops"].status == "priced"
    assert items["ops"].min == items["ops"].expected == pytest.approx(3.0)
    # 730 h / 24 = 30.42 action-enabled budget-days x $0.10
    assert items["stop"].expected == pytest.approx(730 / 24 * 0.1)
    assert any("first two action-enabled budgets are free" in a for a in items["stop"].assumptions)


def test_managed_prometheus_prices_ingestion_storage_and_the_collector() -> None:
    usage = UsageConfig(metrics_active_series=10_000, metrics_scrape_interval_seconds=30)
    items = _priced([_item("aws:amp/workspace:Workspace", "ws"), _item("aws:amp/scraper:Scraper", "scraper")], usage)
    samples = 10_000 * 120 * 730  # 876 million samples a month
    stored_gb = samples * 2 / 2**30
    assert items["ws"].expected == pytest.approx(samples / 1e7 * 0.9 + stored_gb * 0.03)
    assert items["ws"].min == 0  # usage-based: nothing when idle
    assert items["scraper"].min == items["scraper"].expected == pytest.approx(730 * 0.04)


@pytest.mark.parametrize(
    "type_",
    [
        "aws:costexplorer/costAllocationTag:CostAllocationTag",
        "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
        "aws:costexplorer/anomalySubscription:AnomalySubscription",
        "aws:budgets/budget:Budget",
        "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
        "aws:amp/alertManagerDefinition:AlertManagerDefinition",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    ],
)
def test_free_types_say_why(type_: str) -> None:
    assert free_reason(type_, custom=True)


def test_shipped_dev_plan_prices_every_new_type(dev_plan: Any) -> None:
    from llmops.cost import estimate_plan

    result = estimate_plan(dev_plan, catalogue=fixture_prices())
    new = {"aws:cloudwatch/dashboard:Dashboard", "aws:sns/topic:Topic", "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:budgets/budget:Budget"}
    seen = {i.type: i.status for i in result.items if i.type in new}
    assert set(seen) == new
    assert "unpriced" not in seen.values()
    assert not [i.urn for i in result.items if i.status == "unpriced"]
