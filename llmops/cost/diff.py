"""The cost change between two estimates, as Markdown for a pull request comment.

Both sides are cost documents (:meth:`CostEstimate.to_document`, i.e. ``llmops cost
--json``); a whole plan document (``llmops plan --json``) is accepted too and its ``cost``
section is used. Resources are matched by URN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.errors import UsageError

Change = Literal["added", "removed", "changed"]

# Changes below half a cent are rounding, not changes.
EPSILON = 0.005


@dataclass(frozen=True, slots=True)
class ItemChange:
    """One resource whose cost differs between base and head."""

    change: Change
    urn: str
    type: str
    name: str
    region: str | None
    base_min: float | None
    base_expected: float | None
    head_min: float | None
    head_expected: float | None
    note: str = ""

    @property
    def delta_min(self) -> float:
        return (self.head_min or 0.0) - (self.base_min or 0.0)

    @property
    def delta_expected(self) -> float:
        return (self.head_expected or 0.0) - (self.base_expected or 0.0)


@dataclass(frozen=True, slots=True)
class CostDiff:
    """Everything a reviewer needs: per-resource changes and the totals on both sides."""

    changes: list[ItemChange]
    base_total: dict[str, float]
    head_total: dict[str, float]
    currency: str
    head_unpriced: list[dict[str, Any]]
    stack: str | None

    @property
    def delta_min(self) -> float:
        return self.head_total["min"] - self.base_total["min"]

    @property
    def delta_expected(self) -> float:
        return self.head_total["expected"] - self.base_total["expected"]


def cost_document(document: dict[str, Any], source: str = "document") -> dict[str, Any]:
    """The cost object in ``document`` (itself, or a plan document's ``cost`` section)."""
    if "items" in document and "total" in document:
        return document
    section = document.get("cost")
    if isinstance(section, dict) and "items" in section:
        return section
    raise UsageError(
        f"{source} is not a cost document: expected 'items' and 'total' (from `llmops cost --json`) "
        "or a plan document with a 'cost' section (from `llmops plan --json`)"
    )


def load_cost_document(path: Path) -> dict[str, Any]:
    """Reads a base estimate for ``--compare``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"--compare: {path} does not exist; write the base with `llmops cost --stack NAME --json > {path.name}`"
        ) from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--compare: {path} is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise UsageError(f"--compare: {path} must hold a JSON object")
    return cost_document(document, str(path))


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) >= EPSILON


def compare(base: dict[str, Any], head: dict[str, Any]) -> CostDiff:
    """Per-resource changes from ``base`` to ``head`` (both cost documents)."""
    base = cost_document(base, "base")
    head = cost_document(head, "head")
    base_items = {i["urn"]: i for i in base["items"]}
    head_items = {i["urn"]: i for i in head["items"]}
    changes: list[ItemChange] = []

    def make(change: Change, old: dict[str, Any] | None, new: dict[str, Any] | None, note: str = "") -> ItemChange:
        ref = new or old
        assert ref is not None
        return ItemChange(
            change=change,
            urn=ref["urn"],
            type=ref["type"],
            name=ref.get("name") or ref["urn"].rsplit("::", 1)[-1],
            region=ref.get("region"),
            base_min=old.get("min") if old else None,
            base_expected=old.get("expected") if old else None,
            head_min=new.get("min") if new else None,
            head_expected=new.get("expected") if new else None,
            note=note,
        )

    for urn in sorted(head_items.keys() - base_items.keys()):
        item = head_items[urn]
        if not item.get("free"):
            changes.append(make("added", None, item, "unpriced" if item.get("unpriced") else ""))
    for urn in sorted(base_items.keys() - head_items.keys()):
        item = base_items[urn]
        if not item.get("free"):
            changes.append(make("removed", item, None, "unpriced" if item.get("unpriced") else ""))
    for urn in sorted(base_items.keys() & head_items.keys()):
        old, new = base_items[urn], head_items[urn]
        if old.get("unpriced") != new.get("unpriced"):
            note = "now unpriced" if new.get("unpriced") else "now priced"
            changes.append(make("changed", old, new, note))
        elif _differs(old.get("min"), new.get("min")) or _differs(old.get("expected"), new.get("expected")):
            changes.append(make("changed", old, new))
    order = {"added": 0, "changed": 1, "removed": 2}
    changes.sort(key=lambda c: (order[c.change], -abs(c.delta_expected), c.urn))
    return CostDiff(
        changes=changes,
        base_total={k: float(v) for k, v in base["total"].items()},
        head_total={k: float(v) for k, v in head["total"].items()},
        currency=str(head.get("currency", "USD")),
        head_unpriced=[i for i in head["items"] if i.get("unpriced")],
        stack=head.get("stack"),
    )


def money(value: float | None, signed: bool = False) -> str:
    """``$1,234.56``; with ``signed``: ``+$1.00`` / ``-$1.00`` / ``$0.00``."""
    if value is None:
        return "n/a"
    amount = round(value, 2)
    text = f"${abs(amount):,.2f}"
    if signed and amount != 0:
        return ("+" if amount > 0 else "-") + text
    return ("-" + text) if amount < 0 else text


def _percent(delta: float, base: float) -> str:
    if base == 0:
        return "new" if delta else "0%"
    return f"{delta / base * 100:+.1f}%"


def _short_type(type_: str) -> str:
    return type_.rsplit(":", 1)[-1] if type_.count(":") >= 2 else type_


def render_markdown(diff: CostDiff, title: str | None = None) -> str:
    """The PR comment."""
    heading = title or (f"Cost change for stack `{diff.stack}`" if diff.stack else "Cost change")
    lines = [f"### {heading}", ""]
    lines.append(
        f"Monthly estimate ({diff.currency}): expected **{money(diff.base_total['expected'])} -> "
        f"{money(diff.head_total['expected'])}** ({money(diff.delta_expected, True)}, "
        f"{_percent(diff.delta_expected, diff.base_total['expected'])}); minimum "
        f"{money(diff.base_total['min'])} -> {money(diff.head_total['min'])} ({money(diff.delta_min, True)})"
    )
    lines.append("")
    if not diff.changes:
        lines.append("No resource changes its cost.")
    else:
        counts = {kind: sum(1 for c in diff.changes if c.change == kind) for kind in ("added", "removed", "changed")}
        lines.append(", ".join(f"{n} {kind}" for kind, n in counts.items() if n) + ".")
        lines.append("")
        lines.append("| Change | Resource | Type | Region | Min (before -> after) | Expected (before -> after) | Δ min | Δ expected |")
        lines.append("|---|---|---|---|--:|--:|--:|--:|")
        for c in diff.changes:
            name = f"`{c.name}`" + (f" ({c.note})" if c.note else "")
            lines.append(
                f"| {c.change} | {name} | {_short_type(c.type)} | {c.region or 'global'} | "
                f"{money(c.base_min)} -> {money(c.head_min)} | {money(c.base_expected)} -> {money(c.head_expected)} | "
                f"{money(c.delta_min, True)} | {money(c.delta_expected, True)} |"
            )
        lines.append(
            f"| **total** | | | | {money(diff.base_total['min'])} -> {money(diff.head_total['min'])} | "
            f"{money(diff.base_total['expected'])} -> {money(diff.head_total['expected'])} | "
            f"**{money(diff.delta_min, True)}** | **{money(diff.delta_expected, True)}** |"
        )
    if diff.head_unpriced:
        lines.append("")
        lines.append(f"{len(diff.head_unpriced)} resource(s) are not priced and not in these totals:")
        for item in diff.head_unpriced:
            lines.append(f"- `{item.get('name') or item['urn']}` ({item['type']}): {item.get('reason') or 'no pricing rule'}")
    lines.append("")
    return "\n".join(lines)
