"""Plans as pictures: Mermaid diagrams (which GitHub renders in Markdown) of a plan's
monthly cost by region and component, and of the resources a change adds, changes and
removes.

Both work on plan documents (``llmops plan --json`` / ``--out``, with their ``cost``
section when it was estimated):

- :func:`plan_mermaid` is what ``llmops plan --format mermaid`` prints, and, given the
  base branch's plan, the pictures of a pull request comment;
- ``python -m llmops.report.mermaid HEAD.json [--base BASE.json]`` prints the same from
  files (CI).

Resources are matched by URN; one counts as changed when its inputs, parent or provider
differ. A resource's component is the one its cost item names, else its nearest
component ancestor.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"
MAX_SLICES = 8
"""Components shown as their own pie slice; the rest are summed as ``other``."""
CLASSES = (
    "classDef added fill:#dafbe1,stroke:#1a7f37,color:#0f5323",
    "classDef changed fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
    "classDef removed fill:#ffebe9,stroke:#cf222e,color:#82071e",
    "classDef cost fill:#ddf4ff,stroke:#0969da,color:#0a3069",
)


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return text.replace('"', "#quot;").replace("\n", " ")


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _fenced(title: str, lines: Sequence[str]) -> str:
    return "\n".join([f"#### {title}", "", "```mermaid", *lines, "```", ""])


# --------------------------------------------------------------------------- cost


def _expected_by(cost: Mapping[str, Any], *keys: str) -> dict[tuple[str, ...], float]:
    sums: dict[tuple[str, ...], float] = defaultdict(float)
    for item in cost.get("items") or []:
        expected = item.get("expected")
        if not isinstance(expected, int | float) or expected <= 0:
            continue
        key = tuple(str(item.get(k) or ("global" if k == "region" else "other")) for k in keys)
        sums[key] += float(expected)
    return dict(sums)


def cost_by_region(cost: Mapping[str, Any]) -> str:
    """A pie of the expected monthly cost per region."""
    by_region = _expected_by(cost, "region")
    title = f"Expected monthly cost by region ({cost.get('currency', 'USD')})"
    if not by_region:
        return _fenced(title, ["pie showData", f"    title {title}", '    "nothing priced" : 1'])
    slices = [f'    "{_label(region)}" : {value:.2f}' for (region,), value in sorted(by_region.items(), key=lambda kv: (-kv[1], kv[0]))]
    return _fenced(title, ["pie showData", f"    title {title}", *slices])


def cost_by_component(cost: Mapping[str, Any]) -> str:
    """A pie of the expected monthly cost per component (the largest ones, then ``other``)."""
    sums: dict[str, float] = defaultdict(float)
    for (component,), value in _expected_by(cost, "component").items():
        sums[component] += value
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    shown, rest = ranked[:MAX_SLICES], ranked[MAX_SLICES:]
    if rest:
        shown.append(("other", sum(v for _, v in rest)))
    title = f"Expected monthly cost by component ({cost.get('currency', 'USD')})"
    slices = [f'    "{_label(name)}" : {value:.2f}' for name, value in shown] or ['    "nothing priced" : 1']
    return _fenced(title, ["pie showData", f"    title {title}", *slices])


def cost_tree(cost: Mapping[str, Any], stack: str) -> str:
    """The expected monthly cost as a tree: stack, then region, then component."""
    cells = _expected_by(cost, "region", "component")
    total = sum(cells.values())
    lines = ["flowchart LR", f'    s["{_label(stack)}<br/>{_money(total)}/month"]:::cost']
    regions: dict[str, dict[str, float]] = defaultdict(dict)
    for (region, component), value in cells.items():
        regions[region][component] = value
    for r, region in enumerate(sorted(regions, key=lambda name: (-sum(regions[name].values()), name))):
        components = regions[region]
        lines.append(f'    s --> r{r}["{_label(region)}<br/>{_money(sum(components.values()))}"]:::cost')
        for c, (component, value) in enumerate(sorted(components.items(), key=lambda kv: (-kv[1], kv[0]))):
            lines.append(f'    r{r} --> r{r}c{c}["{_label(component)}<br/>{_money(value)}"]')
    lines += [f"    {line}" for line in CLASSES]
    return _fenced(f"Expected monthly cost of {stack} by region and component", lines)


# --------------------------------------------------------------------------- resource changes


def _resources(document: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not document:
        return {}
    return {r["urn"]: r for r in document.get("resources") or [] if r.get("type") != STACK_TYPE and "urn" in r}


def _components(document: Mapping[str, Any] | None) -> dict[str, str]:
    """URN -> component: the cost section's, else the nearest component ancestor's type."""
    if not document:
        return {}
    found = {i["urn"]: str(i["component"]) for i in (document.get("cost") or {}).get("items") or [] if i.get("component")}
    resources = {r["urn"]: r for r in document.get("resources") or [] if "urn" in r}
    for urn, resource in resources.items():
        if urn in found:
            continue
        node: Mapping[str, Any] | None = resource if not resource.get("custom", True) else resources.get(str(resource.get("parent")))
        while node is not None and (node.get("custom", True) or node.get("type") == STACK_TYPE):
            if node.get("type") == STACK_TYPE:
                node = None
                break
            node = resources.get(str(node.get("parent")))
        found[urn] = str(node["type"]).rsplit(":", 1)[-1] if node is not None else "stack"
    return found


def _signature(resource: Mapping[str, Any]) -> str:
    return json.dumps([resource.get("inputs"), resource.get("parent"), resource.get("provider")], sort_keys=True)


def resource_changes(base: Mapping[str, Any] | None, head: Mapping[str, Any]) -> dict[str, dict[str, dict[str, int]]]:
    """``region -> component -> {added, changed, removed}`` counts from ``base`` to ``head``."""
    before, after = _resources(base), _resources(head)
    components = {**_components(base), **_components(head)}
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: {"added": 0, "changed": 0, "removed": 0}))
    for urn in sorted(set(before) | set(after)):
        old, new = before.get(urn), after.get(urn)
        if old is None:
            kind = "added"
        elif new is None:
            kind = "removed"
        elif _signature(old) != _signature(new):
            kind = "changed"
        else:
            continue
        resource = new or old
        assert resource is not None
        counts[str(resource.get("region") or "global")][components.get(urn, "stack")][kind] += 1
    return {region: dict(by_component) for region, by_component in counts.items()}


def _tally(counts: Mapping[str, int]) -> str:
    parts = [f"+{counts['added']} added", f"~{counts['changed']} changed", f"-{counts['removed']} removed"]
    return " ".join(p for p, n in zip(parts, (counts["added"], counts["changed"], counts["removed"]), strict=True) if n)


def _kind(counts: Mapping[str, int]) -> str:
    present = [k for k in ("added", "changed", "removed") if counts[k]]
    return present[0] if len(present) == 1 else "changed"


def changes_diagram(base: Mapping[str, Any] | None, head: Mapping[str, Any]) -> str:
    """A tree of the resources added, changed and removed: stack, region, component."""
    stack = str(head.get("stack") or "stack")
    changes = resource_changes(base, head)
    title = f"Resources of {stack} added, changed and removed" + ("" if base else " (against an empty stack)")
    totals = {"added": 0, "changed": 0, "removed": 0}
    for by_component in changes.values():
        for counts in by_component.values():
            for kind in totals:
                totals[kind] += counts[kind]
    if not any(totals.values()):
        return _fenced(title, ["flowchart LR", f'    s["{_label(stack)}: no resource changes"]'])
    lines = ["flowchart LR", f'    s["{_label(stack)}<br/>{_tally(totals)}"]:::{_kind(totals)}']
    for r, region in enumerate(sorted(changes)):
        region_totals = {k: sum(c[k] for c in changes[region].values()) for k in totals}
        lines.append(f'    s --> r{r}["{_label(region)}<br/>{_tally(region_totals)}"]:::{_kind(region_totals)}')
        for c, (component, counts) in enumerate(sorted(changes[region].items())):
            lines.append(f'    r{r} --> r{r}c{c}["{_label(component)}<br/>{_tally(counts)}"]:::{_kind(counts)}')
    lines += [f"    {line}" for line in CLASSES]
    return _fenced(title, lines)


# --------------------------------------------------------------------------- the whole picture


def plan_mermaid(head: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> str:
    """Markdown with the plan's diagrams: cost by region, by component and as a tree (when
    the plan has a cost section), then the resource changes against ``base`` (or against
    an empty stack)."""
    sections = []
    cost = head.get("cost")
    if isinstance(cost, Mapping) and cost.get("items"):
        sections += [cost_by_region(cost), cost_by_component(cost), cost_tree(cost, str(head.get("stack") or "stack"))]
    sections.append(changes_diagram(base, head))
    return "\n".join(sections)


class PlanFormat(StrEnum):
    """How ``llmops plan`` shows a plan."""

    text = "text"
    mermaid = "mermaid"

    def render(self, document: Mapping[str, Any]) -> str:
        """The plan document in this format (Markdown with diagrams for ``mermaid``)."""
        if self is PlanFormat.mermaid:
            return plan_mermaid(document)
        raise ValueError(f"{self.value} is printed by the plan command itself")


def _load(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {path} is not a plan document ({exc}); write one with `llmops plan --out FILE`") from None
    return document if isinstance(document, dict) else {}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m llmops.report.mermaid", description=__doc__.split("\n\n")[0])
    parser.add_argument("head", type=Path, help="the plan document of the change (llmops plan --out)")
    parser.add_argument("--base", type=Path, help="the plan document of the base branch")
    args = parser.parse_args(argv)
    sys.stdout.write(plan_mermaid(_load(args.head), _load(args.base) if args.base else None))


if __name__ == "__main__":
    main()
