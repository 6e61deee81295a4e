"""Terminal output for estimates: the region x component table and the top cost drivers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmops.cost.diff import money

if TYPE_CHECKING:
    from rich.console import Console

    from llmops.cost.model import CostEstimate


def render_summary(estimate: CostEstimate, console: Console, top: int = 5) -> None:
    """The total and the ``top`` cost drivers (what ``llmops plan`` prints)."""
    total = estimate.total
    console.print(
        f"[bold]Monthly cost[/]: {money(total.expected)} expected, {money(total.min)} minimum "
        f"({estimate.currency}; usage from {estimate.usage_source})",
        highlight=False,
    )
    drivers = estimate.top_drivers(top)
    if drivers:
        console.print("Top cost drivers (expected per month):", highlight=False)
        for item in drivers:
            console.print(
                f"  {money(item.expected):>12}  {item.name} ({item.type.rsplit(':', 1)[-1]}, {item.region or 'global'})",
                highlight=False,
            )
    _print_unpriced(estimate, console)


UNPRICED_SHOWN = 3
"""Unpriced types the summary names with their reason (those that cost money first)."""


def _print_unpriced(estimate: CostEstimate, console: Console) -> None:
    unpriced = estimate.unpriced
    if not unpriced:
        return
    console.print(
        f"[yellow]{len(unpriced)} resource(s) not priced[/] (not in the totals): "
        + ", ".join(sorted({i.type for i in unpriced})),
        highlight=False,
    )
    for group in estimate.unpriced_by_type()[:UNPRICED_SHOWN]:
        if group["billed"]:
            console.print(f"  [yellow]{group['count']} x {group['type']}[/]: {group['reason']}", highlight=False)


def render_table(estimate: CostEstimate, console: Console, top: int = 5, details: bool = False) -> None:
    """The full report of ``llmops cost``: by region and component, totals, drivers,
    unpriced resources and the usage assumptions (``details``: every priced resource with
    its lines and assumptions)."""
    from rich.table import Table

    title = f"Monthly cost estimate: stack {estimate.stack}" if estimate.stack else "Monthly cost estimate"
    table = Table(title=title, title_justify="left")
    table.add_column("Region")
    table.add_column("Component")
    table.add_column("Resources", justify="right")
    table.add_column("Minimum", justify="right")
    table.add_column("Expected", justify="right")
    counts: dict[tuple[str, str], int] = {}
    for item in estimate.items:
        if item.status == "priced":
            key = (item.region or "global", item.component)
            counts[key] = counts.get(key, 0) + 1
    regions = estimate.by_region()
    current = None
    for (region, component), totals in estimate.by_region_component().items():
        if (region, component) not in counts:
            continue
        if current is not None and region != current:
            subtotal = regions[current]
            table.add_row("", "[italic]subtotal[/]", "", money(subtotal.min), money(subtotal.expected), end_section=True)
        current = region
        table.add_row(region, component, str(counts[(region, component)]), money(totals.min), money(totals.expected))
    if current is not None:
        subtotal = regions[current]
        table.add_row("", "[italic]subtotal[/]", "", money(subtotal.min), money(subtotal.expected), end_section=True)
    total = estimate.total
    table.add_row("[bold]total[/]", "", str(sum(counts.values())), f"[bold]{money(total.min)}[/]", f"[bold]{money(total.expected)}[/]")
    console.print(table)
    if details:
        console.print("By resource (expected / minimum per month):")
        for item in sorted(estimate.items, key=lambda i: (-(i.expected or 0.0), i.urn)):
            if item.status != "priced":
                continue
            console.print(
                f"  {money(item.expected):>12} / {money(item.min):>10}  {item.name} "
                f"({item.type.rsplit(':', 1)[-1]}, {item.region or 'global'}, {item.component})",
                highlight=False,
            )
            for line in item.lines:
                console.print(
                    f"      {line.description}: {line.expected_quantity:,.4g} {line.unit} x ${line.unit_price:g}"
                    + (f" (minimum {line.min_quantity:,.4g})" if line.min_quantity != line.expected_quantity else ""),
                    highlight=False,
                )
            for assumption in item.assumptions:
                console.print(f"      - {assumption}", highlight=False)
    drivers = estimate.top_drivers(top)
    if drivers:
        console.print("Top cost drivers (expected per month):")
        for item in drivers:
            console.print(
                f"  {money(item.expected):>12}  {item.name} ({item.type.rsplit(':', 1)[-1]}, {item.region or 'global'}): "
                + "; ".join(item.assumptions[:1]),
                highlight=False,
            )
    for item in estimate.unpriced:
        console.print(f"[yellow]unpriced[/] {item.name} ({item.type}): {item.reason}", highlight=False)
    usage = ", ".join(f"{k}={v:g}" for k, v in estimate.usage_document().items())
    console.print(f"Usage assumptions ({estimate.usage_source}): {usage}", highlight=False)
    cat = estimate.catalogue
    console.print(
        f"Prices: catalogue {cat.version} (EC2 taken {cat.ec2.taken}, spot discounts {cat.spot.taken}, "
        f"services {cat.services.taken}); minimum = no traffic, pools at minNodes; expected adds the usage assumptions.",
        highlight=False,
    )
