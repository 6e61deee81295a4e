"""Monthly cost estimates from planned resources, and the cost diff of a change.

Public API (importing this package is light: no boto3, no rich, no Pulumi):

- :func:`estimate` (plain :class:`CostInput` items, e.g. from a policy analyzer) and
  :func:`estimate_plan` (an offline :class:`~llmops.engine.PlanResult`) return a
  :class:`CostEstimate`; :meth:`CostEstimate.to_document` is the public JSON object.
- :func:`cost_section` is the ``cost`` section of ``llmops plan --json``;
  :func:`render_summary` prints the total and the top cost drivers.
- :func:`compare_markdown` renders the pull-request comment from two cost documents.
- Refreshing the price catalogue from the AWS Price List API lives in
  :mod:`llmops.cost.refresh` (the only module that imports boto3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmops.cost.diff import CostDiff, ItemChange, compare, render_markdown
from llmops.cost.model import (
    CostEstimate,
    CostInput,
    CostItem,
    CostLine,
    Totals,
    cost_section,
    estimate,
    estimate_plan,
    plan_inputs,
    usage_for_plan,
)

if TYPE_CHECKING:
    from rich.console import Console


def render_summary(estimate: CostEstimate, console: Console, top: int = 5) -> None:
    """Prints the estimate's total and its ``top`` cost drivers (for ``llmops plan``)."""
    from llmops.cost.render import render_summary as _render

    _render(estimate, console, top)


def compare_markdown(base: dict[str, Any], head: dict[str, Any], title: str | None = None) -> str:
    """Markdown for a PR comment: added, removed and changed resources with their cost
    delta, and the totals, from ``base`` to ``head`` (cost or plan documents)."""
    return render_markdown(compare(base, head), title)


__all__ = [
    "CostDiff",
    "CostEstimate",
    "CostInput",
    "CostItem",
    "CostLine",
    "ItemChange",
    "Totals",
    "compare",
    "compare_markdown",
    "cost_section",
    "estimate",
    "estimate_plan",
    "plan_inputs",
    "render_markdown",
    "render_summary",
    "usage_for_plan",
]
