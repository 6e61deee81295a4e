"""Rich tables for a :class:`~llmops.spend.models.SpendReport`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmops.spend.models import SpendReport

STATUS_STYLE = {"ok": "green", "forecast-over-budget": "yellow", "over-budget": "bold red"}


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _share(value: float | None, of: float) -> str:
    return "" if value is None or of <= 0 else f"{value / of:.0%}"


def print_report(report: SpendReport, console: Console, top: int = 10) -> None:
    """The summary against budget and estimate, spend by region and by service, warnings."""
    period = report.period
    console.print(
        f"[bold]Spend of {escape(report.stack)}[/] ({escape(report.tag)}), {period.start:%B %Y}: "
        f"{period.elapsed_days} of {period.days} days",
        highlight=False,
    )
    summary = Table(show_header=True, title_justify="left")
    summary.add_column("")
    summary.add_column(report.currency, justify="right")
    summary.add_column("of budget", justify="right")
    summary.add_row("month to date", _usd(report.month_to_date), _share(report.month_to_date, report.budget))
    summary.add_row(
        "forecast for the month",
        _usd(report.month_forecast) if report.month_forecast is not None else f"- ({report.forecast.note})",
        _share(report.month_forecast, report.budget),
    )
    summary.add_row("budget (llmops:budget.monthlyUsd)", _usd(report.budget), "100%")
    if report.estimate is not None:
        summary.add_row("cost model estimate for the month", _usd(report.estimate), _share(report.estimate, report.budget))
        summary.add_row("estimate to date", _usd(report.estimate_to_date), _share(report.estimate_to_date, report.budget))
    style = STATUS_STYLE[report.status]
    summary.add_row("status", f"[{style}]{report.status}[/]", "")
    console.print(summary)
    for title, values in (("By region", report.by_region), ("By service", report.by_service)):
        if not values:
            continue
        table = Table(title=f"{title} (month to date)", title_justify="left")
        table.add_column(title.split()[-1])
        table.add_column(report.currency, justify="right")
        table.add_column("share", justify="right")
        ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
        for name, amount in ranked[:top]:
            table.add_row(escape(name), _usd(amount), _share(amount, report.month_to_date))
        if len(ranked) > top:
            rest = sum(v for _, v in ranked[top:])
            table.add_row(f"{len(ranked) - top} more", _usd(rest), _share(rest, report.month_to_date))
        console.print(table)
    for warning in report.warnings():
        color = "bold red" if warning.startswith(("OVER", "FORECAST OVER")) else "yellow"
        console.print(f"[{color}]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    for note in report.notes:
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
