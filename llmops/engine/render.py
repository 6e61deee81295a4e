"""Human-readable plan output: a tree grouped by region, then component, with counts."""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.console import Console
from rich.tree import Tree

from llmops.engine.runner import STACK_TYPE, PlanResult, ResourceRecord


def _component_of(record: ResourceRecord, by_urn: dict[str, ResourceRecord]) -> ResourceRecord | None:
    """The top-level component (direct child of the stack) a resource belongs to."""
    current = record
    while current.parent and current.parent in by_urn and by_urn[current.parent].type != STACK_TYPE:
        current = by_urn[current.parent]
    if current is record and (record.custom or record.type.startswith("pulumi:providers:")):
        return None
    return current


def plan_tree(result: PlanResult) -> Tree:
    by_urn = result.by_urn()
    resources = [r for r in result.resources if r.type != STACK_TYPE]
    root = Tree(
        f"[bold]{result.project}[/] / stack [bold cyan]{result.stack}[/]: "
        f"{len(resources)} resources in {len(result.regions)} region(s)"
    )
    grouped: dict[str, dict[str, list[ResourceRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in resources:
        component = _component_of(record, by_urn)
        if component is not None:
            key = f"{component.type.split(':')[-1]} {component.name}"
        else:
            key = "(providers)" if record.type.startswith("pulumi:providers:") else "(standalone)"
        grouped[record.region or "global"][key].append(record)
    for region in sorted(grouped, key=lambda r: (r == "global", r)):
        components = grouped[region]
        region_node = root.add(f"[bold green]{region}[/] ({sum(len(v) for v in components.values())})")
        for key in sorted(components):
            members = components[key]
            node = region_node.add(f"[bold]{key}[/] ({len(members)})")
            for typ, count in sorted(Counter(r.type for r in members).items()):
                node.add(f"{typ} x{count}" if count > 1 else typ)
    return root


def print_plan(result: PlanResult, console: Console) -> None:
    console.print(plan_tree(result))
    if result.reads:
        reads = Tree(f"[bold]reads[/] ({len(result.reads)} existing resource(s), not created)")
        for record in result.reads:
            reads.add(f"{record.type} {record.name} [dim]({record.id})[/]")
        console.print(reads)
    if result.unmocked_calls:
        console.print(
            "[yellow]note:[/] data sources answered with the engine's defaults (values of their declared type, "
            "not from an account): " + ", ".join(result.unmocked_calls),
            highlight=False,
        )
