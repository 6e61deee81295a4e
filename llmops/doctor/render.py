"""The rich table of a :class:`~llmops.doctor.findings.DoctorReport`."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llmops.doctor.findings import DoctorReport

STYLES = {"pass": "[green]pass[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]fail[/]", "skip": "[dim]skip[/]"}


def print_report(report: DoctorReport, console: Console) -> None:
    """Every finding, the fix beside each that needs one, and the totals."""
    table = Table(title=f"llmops doctor: stack {report.stack}, account {report.account}, {report.day}", title_justify="left")
    table.add_column("check")
    table.add_column("subject")
    table.add_column("status")
    table.add_column("finding")
    table.add_column("fix")
    for finding in report.findings:
        table.add_row(
            finding.check, escape(finding.subject), STYLES[finding.status], escape(finding.message), escape(finding.fix)
        )
    console.print(table)
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("fail", "warn", "pass", "skip") if report.count(s))
    verdict = "[bold red]not ready to deploy[/]" if report.failed else "[bold green]ready to deploy[/]"
    console.print(f"{verdict} ({counts})")
