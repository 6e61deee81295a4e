"""``Budget``: the stack's tag-filtered budget with actual and forecast notifications, team
budgets, anomaly alerts, account-wide pieces only when told so, the stop-GPU action off by
default."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.budget import (
    AnomalyArgs,
    Budget,
    BudgetActionArgs,
    BudgetArgs,
    TeamBudget,
    cost_filter_value,
    deny_gpu_launch_policy,
)
from tests.harness import aws_provider, run

TOPIC = "arn:aws:sns:us-east-1:123456789012:llmops-prod-us-east-1-alerts"


def _args(**changes: object) -> BudgetArgs:
    base = BudgetArgs(
        budget_name="llmops-platform-prod",
        stack="prod",
        monthly_usd=45000,
        thresholds_percent=(50, 80, 100),
        topic_arn=TOPIC,
        emails=("finops@example.com",),
    )
    return BudgetArgs(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_stack_budget_is_filtered_on_its_tag_and_notifies_actual_and_forecast_at_each_threshold() -> None:
    recorded = run(lambda: Budget("us-east-1-budget", _args(), opts=aws_provider("us-east-1")))
    (budget,) = recorded.of_type("aws:budgets/budget:Budget")
    inputs = budget.inputs
    assert (inputs["name"], inputs["budgetType"], inputs["timeUnit"]) == ("llmops-platform-prod", "COST", "MONTHLY")
    assert (inputs["limitAmount"], inputs["limitUnit"]) == ("45000.00", "USD")
    assert inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:Stack$prod"]}]
    notes = sorted((n["notificationType"], n["threshold"]) for n in inputs["notifications"])
    assert notes == sorted((kind, t) for t in (50, 80, 100) for kind in ("ACTUAL", "FORECASTED"))
    for note in inputs["notifications"]:
        assert note["subscriberSnsTopicArns"] == [TOPIC]
        assert note["subscriberEmailAddresses"] == ["finops@example.com"]
        assert (note["thresholdType"], note["comparisonOperator"]) == ("PERCENTAGE", "GREATER_THAN")
    # Off by default: no action, no account-wide resource, no monitor of our own.
    for absent in (
        "aws:budgets/budgetAction:BudgetAction",
        "aws:costexplorer/costAllocationTag:CostAllocationTag",
        "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
        "aws:costexplorer/anomalySubscription:AnomalySubscription",
        "aws:iam/policy:Policy",
    ):
        assert not recorded.of_type(absent), absent
    component = recorded.one("llmops:ops:Budget")
    outputs = recorded.outputs_of(component)
    assert (outputs["budgetName"], outputs["teamBudgetNames"]) == ("llmops-platform-prod", [])
    assert outputs.get("anomalyMonitorArn") is None and outputs.get("actionPolicyArn") is None


def test_the_account_owner_creates_the_monitor_activates_the_tags_and_budgets_wait_for_them() -> None:
    args = _args(
        anomaly=AnomalyArgs(threshold_usd=250, create_account_monitor=True),
        activate_tags=("Project", "Stack", "Team"),
        teams=(TeamBudget(name="search", monthly_usd=5000, tag_key="Team", tag_value="search", emails=("search@example.com",)),),
    )
    recorded = run(lambda: Budget("us-east-1-budget", args, opts=aws_provider("us-east-1")))
    tags = recorded.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
    assert sorted((t.inputs["tagKey"], t.inputs["status"]) for t in tags) == [("Project", "Active"), ("Stack", "Active"), ("Team", "Active")]
    budgets = {b.inputs["name"]: b for b in recorded.of_type("aws:budgets/budget:Budget")}
    team = budgets["llmops-platform-prod-search"]
    assert team.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:Team$search"]}]
    assert team.inputs["limitAmount"] == "5000.00"
    assert {n["subscriberEmailAddresses"][0] for n in team.inputs["notifications"]} == {"search@example.com"}
    for budget in budgets.values():
        assert {t.urn for t in tags} <= set(budget.dependencies), budget.urn

    monitor = recorded.one("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    assert (monitor.inputs["monitorType"], monitor.inputs["monitorDimension"]) == ("DIMENSIONAL", "SERVICE")
    subscription = recorded.one("aws:costexplorer/anomalySubscription:AnomalySubscription").inputs
    assert subscription["monitorArnLists"] == [monitor.outputs["arn"]]
    assert subscription["frequency"] == "IMMEDIATE"  # the only frequency SNS subscribers take
    assert subscription["subscribers"] == [{"type": "SNS", "address": TOPIC}]
    assert subscription["thresholdExpression"]["dimension"] == {
        "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "matchOptions": ["GREATER_THAN_OR_EQUAL"], "values": ["250"],
    }


def test_other_stacks_subscribe_to_the_accounts_existing_monitor() -> None:
    existing = "arn:aws:ce::123456789012:anomalymonitor/8e0c1c7d-1111-2222-3333-444455556666"
    recorded = run(lambda: Budget("b", _args(anomaly=AnomalyArgs(monitor_arns=(existing,))), opts=aws_provider()))
    assert not recorded.of_type("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    subscription = recorded.one("aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert subscription.inputs["monitorArnLists"] == [existing]


def test_the_budget_action_denies_gpu_launches_to_the_named_roles() -> None:
    args = _args(action=BudgetActionArgs(role_names=("llmops-karpenter-controller",), threshold_percent=110, approval="MANUAL"))
    recorded = run(lambda: Budget("us-east-1-budget", args, opts=aws_provider("us-east-1")))
    action = recorded.one("aws:budgets/budgetAction:BudgetAction")
    deny = recorded.one("aws:iam/policy:Policy")
    role = next(r for r in recorded.of_type("aws:iam/role:Role") if r.name == "us-east-1-budget-action")
    inputs = action.inputs
    assert (inputs["actionType"], inputs["approvalModel"], inputs["notificationType"]) == ("APPLY_IAM_POLICY", "MANUAL", "ACTUAL")
    assert inputs["actionThreshold"] == {"actionThresholdType": "PERCENTAGE", "actionThresholdValue": 110}
    assert inputs["definition"]["iamActionDefinition"] == {"policyArn": deny.outputs["arn"], "roles": ["llmops-karpenter-controller"]}
    assert inputs["executionRoleArn"] == role.outputs["arn"]
    assert inputs["budgetName"] == "llmops-platform-prod"
    assert inputs["subscribers"] == [{"address": TOPIC, "subscriptionType": "SNS"}]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "budgets.amazonaws.com"}
    execution = json.loads(recorded.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"][0]
    assert execution["Action"] == ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
    assert execution["Condition"] == {"ArnEquals": {"iam:PolicyARN": deny.outputs["arn"]}}
    statement = json.loads(deny.inputs["policy"])["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Action"] == ["ec2:RunInstances", "ec2:CreateFleet"]


def test_the_deny_policy_stops_gpu_types_only() -> None:
    statement = json.loads(deny_gpu_launch_policy())["Statement"][0]
    patterns = statement["Condition"]["StringLike"]["ec2:InstanceType"]
    from fnmatch import fnmatch

    def matches(instance_type: str) -> bool:
        return any(fnmatch(instance_type, p) for p in patterns)

    assert all(matches(t) for t in ("g5.xlarge", "g6e.2xlarge", "p5.48xlarge", "g4dn.xlarge"))
    assert not any(matches(t) for t in ("m7i.large", "c7g.xlarge", "r6i.2xlarge", "t3.micro"))
    assert cost_filter_value("Stack", "dev") == "user:Stack$dev"


def test_args_are_checked_before_any_child_exists() -> None:
    args = _args(
        budget_name="bad:name",
        monthly_usd=0,
        thresholds_percent=(),
        emails=tuple(f"a{i}@example.com" for i in range(11)),
        teams=(TeamBudget("search", 0, "Team", "search"), TeamBudget("search", 5, "Team", "search")),
        anomaly=AnomalyArgs(threshold_usd=0),
        action=BudgetActionArgs(role_names=(), threshold_percent=0),
    )
    with pytest.raises(ValueError) as raised:
        args.validate()
    for fragment in (
        "BudgetArgs.budget_name",
        "BudgetArgs.monthly_usd",
        "BudgetArgs.thresholds_percent",
        "BudgetArgs.emails: AWS Budgets notifies at most 10",
        "BudgetArgs.teams[search].monthly_usd",
        "BudgetArgs.teams[search]: listed twice",
        "BudgetArgs.anomaly.threshold_usd",
        "BudgetArgs.action.role_names",
        "BudgetArgs.action.threshold_percent",
    ):
        assert fragment in str(raised.value), fragment


def test_budget_names_only_the_outputs_it_registers() -> None:
    recorded = run(lambda: Budget("b", _args(anomaly=None), opts=aws_provider()))
    assert not recorded.of_type("aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert isinstance(recorded.value.budget_name, pulumi.Output)
