"""The one place the cost pack talks to the project's cost model (``llmops.cost``).

The budget policy computes the stack's estimate itself from the resources the analyzer
hands it, so it behaves the same under a real ``pulumi preview`` as offline. Everything
the policy needs from the cost model goes through :func:`estimate_monthly`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.common.props import plain
from policies.cost.stackinfo import StackIndex


class CostModelUnavailable(Exception):
    """``llmops.cost`` cannot be imported (the project is not installed in the pack's venv)."""


class UsageError(ValueError):
    """The policy config's ``usage`` does not fit the cost model's usage assumptions."""


@dataclass(frozen=True)
class MonthlyEstimate:
    """The figures the budget policy compares (monthly USD)."""

    min: float
    expected: float
    unpriced: tuple[str, ...]
    """Names of resources the cost model could not price (counted as zero)."""
    unknown_prices: tuple[str, ...] = ()
    """``name: reason`` of the resources the cost model has a rule for but could not price
    (an instance type or region missing from the price catalogue): the estimate leaves out
    something that costs money."""


def _is_priceable(resource: Any) -> bool:
    t = resource.resource_type
    return not t.startswith("pulumi:")


def estimate_monthly(resources: Sequence[Any], usage: Mapping[str, Any] | None = None) -> MonthlyEstimate:
    """The monthly cost of ``resources`` (analyzer ``PolicyResource`` objects) according to
    ``llmops.cost.estimate``; ``usage`` overrides the usage assumptions (camelCase keys of
    ``llmops:usage``: gpuUtilization, natDataGbPerMonth, hoursPerMonth)."""
    try:
        from llmops.cost import CostInput, estimate
        from llmops.cost.model import RULES
        from stacks.config import UsageConfig
    except ImportError as exc:  # pragma: no cover - depends on the pack's environment
        raise CostModelUnavailable(
            f"the cost model is not importable ({exc}); install the project into the pack's virtualenv "
            "(requirements.txt lists it)"
        ) from exc
    usage_config = None
    if usage:
        try:
            usage_config = UsageConfig.model_validate(dict(usage))
        except ValueError as exc:
            raise UsageError(f"usage: {exc}") from None
    index = StackIndex(resources)
    items = [
        CostInput(
            urn=r.urn,
            type=r.resource_type,
            region=index.region(r),
            inputs=plain(r.props),
            name=r.name,
            custom=r.provider is not None,
        )
        for r in resources
        if _is_priceable(r)
    ]
    result = estimate(items, usage_config, strict=False)
    unpriced = tuple(sorted(i.name for i in result.unpriced))
    unknown = tuple(sorted(f"{i.name}: {i.reason}" for i in result.unpriced if i.type in RULES))
    return MonthlyEstimate(min=result.total.min, expected=result.total.expected, unpriced=unpriced, unknown_prices=unknown)
