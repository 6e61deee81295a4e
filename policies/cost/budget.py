"""Budget: the stack's estimated monthly cost stays within its budget.

The limit is the smaller of the pack config's ``monthlyBudgetUsd`` (set per environment in
``config/<env>.json``) and the stack's own monthly USD cost budgets
(``aws.budgets.Budget``), when it declares any. The estimate is computed here, from the
resources the analyzer is given, with the project's cost model
(:func:`policies.cost.estimate.estimate_monthly`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.common.policy import StackPolicy
from policies.common.props import number
from policies.common.settings import Setting, config_schema, resolve
from policies.cost import estimate as cost_estimate

BUDGET = "aws:budgets/budget:Budget"

MONTHLY_BUDGET = Setting(
    "monthlyBudgetUsd",
    {"type": "number", "minimum": 0},
    0,
    "Most the stack may cost per month (USD); 0: only the stack's own aws.budgets.Budget limits it.",
)
FIGURE = Setting(
    "compare",
    {"type": "string", "enum": ["expected", "min"]},
    "expected",
    "Which estimate to hold against the budget: 'expected' (usage assumptions applied) or 'min' (idle floor).",
)
USAGE = Setting(
    "usage",
    {
        "type": "object",
        "properties": {
            "gpuUtilization": {"type": "number", "minimum": 0, "maximum": 1},
            "natDataGbPerMonth": {"type": "number", "minimum": 0},
            "hoursPerMonth": {"type": "number", "minimum": 1, "maximum": 744},
        },
        "additionalProperties": False,
    },
    {},
    "Usage assumptions for the estimate (as llmops:usage in the stack config); empty: the cost model's defaults.",
)

Estimator = Callable[[Sequence[Any], Any], cost_estimate.MonthlyEstimate]


def stack_budgets(resources: Sequence[Any]) -> list[tuple[str, float, str]]:
    """(name, monthly USD limit, URN) of each monthly cost budget the stack declares."""
    found = []
    for r in resources:
        if r.resource_type != BUDGET:
            continue
        props = r.props
        if str(props.get("budgetType") or "COST") != "COST" or str(props.get("timeUnit") or "MONTHLY") != "MONTHLY":
            continue
        if str(props.get("limitUnit") or "USD") != "USD":
            continue
        amount = number(props.get("limitAmount"))
        if amount is not None and amount > 0:
            found.append((r.name, amount, r.urn))
    return found


def check_budget(args: StackValidationArgs, report_violation: ReportViolation, estimator: Estimator) -> None:
    """The budget check with an injectable estimator (the cost model in the pack)."""
    settings = resolve(args, MONTHLY_BUDGET, FIGURE, USAGE)
    limits: list[tuple[float, str, str]] = []
    configured = number(settings[MONTHLY_BUDGET.name]) or 0.0
    if configured > 0:
        limits.append((configured, "the policy config's monthlyBudgetUsd", ""))
    limits += [(amount, f"the stack's budget '{name}'", urn) for name, amount, urn in stack_budgets(args.resources)]
    if not limits:
        args.not_applicable("no budget: set monthlyBudgetUsd in the policy config or declare an aws.budgets.Budget")
        return
    limit, source, urn = min(limits)
    try:
        result = estimator(args.resources, settings[USAGE.name] or None)
    except cost_estimate.CostModelUnavailable as exc:
        args.not_applicable(str(exc))
        return
    figure = settings[FIGURE.name]
    cost = result.min if figure == "min" else result.expected
    if cost > limit:
        note = f" ({len(result.unpriced)} resource(s) could not be priced and count as $0)" if result.unpriced else ""
        report_violation(
            f"the stack's {figure} monthly cost is ${cost:,.0f} (idle floor ${result.min:,.0f}), above the "
            f"${limit:,.0f} limit from {source}{note}; lower GPU pool sizes or minimum nodes, use spot capacity, "
            "or raise the budget.",
            urn or None,
        )
    elif result.unknown_prices:
        shown = "; ".join(result.unknown_prices[:3]) + (f"; and {len(result.unknown_prices) - 3} more" if len(result.unknown_prices) > 3 else "")
        args.not_applicable(
            f"could not check the budget: {len(result.unknown_prices)} resource(s) could not be priced ({shown}); "
            f"the rest comes to ${cost:,.0f} of the ${limit:,.0f} limit from {source}. Add the missing prices to the "
            "catalogue (llmops cost --refresh) or use instance types it knows."
        )


def validate_monthly_budget(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """The stack's estimated monthly cost does not exceed its budget."""
    check_budget(args, report_violation, cost_estimate.estimate_monthly)


def monthly_budget() -> StackPolicy:
    return StackPolicy(
        name="monthly-budget",
        description="The stack's estimated monthly cost does not exceed its budget.",
        validate=validate_monthly_budget,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(MONTHLY_BUDGET, FIGURE, USAGE),
        tags=["budget", "cost"],
    )
