"""The gates a release passes before it is written into the next stack.

- ``order``: stacks move dev -> staging -> prod, one step at a time; anything else needs
  ``--force`` with a reason (which is recorded in the stack file);
- ``results``: the source stack's smoke and evaluation results for this very release are
  present and green;
- ``plan``: the target stack, with the new release, runs through the offline engine;
- ``policy``: the security and cost policy packs find no mandatory violation in that plan;
- ``budget``: the plan's expected monthly cost stays within the target's
  ``llmops:budget.monthlyUsd``.

Each gate returns a :class:`Gate` with the reason in words; none raises for a failing
release, so every failure is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from llmops.release.identity import Release
from llmops.release.results import KINDS, read_result

if TYPE_CHECKING:
    from llmops.engine import PlanResult

ORDER: tuple[str, ...] = ("dev", "staging", "prod")
"""The path every release takes, by environment (``llmops:environment``)."""

Status = Literal["passed", "failed", "skipped"]
MAX_LISTED = 5
"""Violations named in a failing policy gate (the rest are counted)."""


@dataclass(frozen=True)
class Gate:
    """One gate's verdict."""

    name: str
    status: Status
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def order_gate(source: str, source_env: str, target: str, target_env: str, forced_reason: str | None) -> Gate:
    """Whether ``source`` -> ``target`` is the next step of :data:`ORDER`, by environment."""
    path = " -> ".join(ORDER)
    step = f"{source} ({source_env}) -> {target} ({target_env})"
    if source_env not in ORDER or target_env not in ORDER:
        unknown = source_env if source_env not in ORDER else target_env
        problem = f"{step}: '{unknown}' is not an environment of {path}"
    else:
        gap = ORDER.index(target_env) - ORDER.index(source_env)
        if gap == 1:
            return Gate("order", "passed", step)
        if gap > 1:
            skipped = ", ".join(ORDER[ORDER.index(source_env) + 1 : ORDER.index(target_env)])
            problem = f"{step} skips {skipped}"
        elif gap == 0:
            problem = f"{step}: both are {source_env} stacks, not consecutive steps of {path}"
        else:
            problem = f"{step} goes backwards along {path}"
    if forced_reason:
        return Gate("order", "passed", f"{problem}; forced: {forced_reason}")
    nxt = _next(source_env)
    hint = f"promote to a {nxt} stack first" if nxt else f"{source_env} is the last step"
    return Gate("order", "failed", f"{problem}; {hint}, or pass --force --reason TEXT (recorded in the stack file)")


def _next(environment: str) -> str | None:
    if environment in ORDER and ORDER.index(environment) + 1 < len(ORDER):
        return ORDER[ORDER.index(environment) + 1]
    return None


def results_gate(root: Path, release: Release) -> Gate:
    """The source's smoke and eval results for exactly this release are present and green."""
    statuses = [read_result(root, release, kind) for kind in KINDS]
    missing = [s for s in statuses if s.document is None and not s.path.exists()]
    problems = [s.problem for s in statuses if s.problem and s not in missing]
    if missing:
        kinds = " and ".join(s.kind for s in missing)
        commands = " and ".join(f"`llmops {s.kind} --stack {release.stack} --endpoint URL`" for s in missing)
        problems.insert(
            0,
            f"no {kinds} result for release {release.short} of {release.stack} (in {shown(missing[0].path.parent)}); "
            f"run {commands} against {release.stack} first",
        )
    if problems:
        return Gate("results", "failed", "; ".join(problems))
    summaries = []
    for status in statuses:
        assert status.document is not None
        summary = status.document.get("summary")
        summaries.append(f"{status.kind} green" + (f" ({summary})" if isinstance(summary, str) and summary else ""))
    return Gate("results", "passed", f"release {release.short} on {release.stack}: " + "; ".join(summaries))


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def policy_gate(result: PlanResult) -> Gate:
    """The project's policy packs find no mandatory violation in the target's plan."""
    from core.errors import LlmopsError
    from llmops.policy import run_policies

    try:
        report = run_policies(result)
    except LlmopsError as exc:
        return Gate("policy", "failed", f"the policy packs could not run: {exc}")
    mandatory = [v for v in report.violations if v.level == "mandatory"]
    advisory = len(report.violations) - len(mandatory)
    if mandatory:
        listed = "; ".join(f"{v.policy} ({v.resource}): {v.message}" for v in mandatory[:MAX_LISTED])
        more = f"; and {len(mandatory) - MAX_LISTED} more" if len(mandatory) > MAX_LISTED else ""
        return Gate("policy", "failed", f"{len(mandatory)} mandatory violation(s): {listed}{more}")
    packs = ", ".join(run.name for run in report.packs)
    return Gate("policy", "passed", f"no mandatory violation ({advisory} advisory) from {packs}")


def budget_gate(result: PlanResult) -> Gate:
    """The plan's expected monthly cost is within the target's budget."""
    from core.errors import LlmopsError
    from llmops.cost import estimate_plan
    from llmops.cost.diff import money
    from stacks.config import namespace_values, parse

    try:
        config = parse(namespace_values(result.config.values), source=result.config.source.name)
        estimate = estimate_plan(result)
    except LlmopsError as exc:
        return Gate("budget", "failed", f"the monthly cost could not be estimated: {exc}")
    limit = config.budget.monthly_usd
    total = estimate.total
    unpriced = f", {len(estimate.unpriced)} resource(s) unpriced" if estimate.unpriced else ""
    figures = f"{money(total.expected)}/month expected (minimum {money(total.min)}{unpriced})"
    if total.expected > limit:
        return Gate(
            "budget", "failed",
            f"{figures} exceeds the {money(limit)} budget of {result.stack} (llmops:budget.monthlyUsd); "
            "raise the budget in a reviewed change, or make the release cheaper",
        )
    return Gate("budget", "passed", f"{figures} within the {money(limit)} budget of {result.stack}")
