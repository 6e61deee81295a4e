"""Rich tables for a :class:`~llmops.capacity.models.CapacityReport`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmops.capacity.models import CapacityReport, Option


def _azs(option: Option) -> str:
    letters = [az.rsplit("-", 1)[-1].lstrip("0123456789") or az for az in option.availability_zones]
    return f"{len(option.availability_zones)} ({','.join(letters)})"


def _quota(option: Option) -> str:
    quota = option.quota
    if quota is None:
        return "-"
    if quota.value is None:
        return f"unknown ({quota.note})" if quota.note else "unknown"
    headroom = option.quota_headroom
    assert headroom is not None
    return f"{quota.value:g} vCPU ({headroom:+g})"


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:.4f}" if value >= 0.001 else f"${value:.2g}"


def print_report(report: CapacityReport, console: Console) -> None:
    """The ranked table (cheapest viable region first) and the excluded regions with why."""
    request = report.request
    names = ", ".join(c.instance_type for c in request.candidates)
    console.print(
        f"[bold]GPU capacity[/] for {request.label} ({names}), {request.capacity_type}, "
        f"at least {request.min_azs} AZs, {request.nodes} instance(s) per region",
        highlight=False,
    )
    if report.ranked:
        table = Table(title="Viable regions, cheapest per GPU-hour first", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("region")
        table.add_column("instance type")
        table.add_column("$/GPU-h", justify="right")
        table.add_column("$/h", justify="right")
        table.add_column("AZs offering it")
        table.add_column("quota (headroom)")
        for rank, result in enumerate(report.ranked, start=1):
            best = result.best
            assert best is not None
            table.add_row(
                str(rank),
                result.region,
                best.candidate.instance_type,
                _money(best.gpu_hourly_usd),
                _money(best.hourly_usd),
                _azs(best),
                escape(_quota(best)),
            )
        console.print(table)
    else:
        console.print("[bold red]No region can supply this capacity.[/]")
    if report.excluded:
        table = Table(title="Excluded regions", title_justify="left")
        table.add_column("region")
        table.add_column("why")
        for result in report.excluded:
            table.add_row(result.region, escape("\n".join(e.message for e in result.exclusions)) or "-")
        console.print(table)
