"""Console output of the release commands: check lines, gate lines, a coloured diff."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape

from llmops.release.checks import Check
from llmops.release.gates import Gate

_GATE_MARK = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]-[/]"}


def print_checks(console: Console, checks: Iterable[Check]) -> None:
    """One line per check: mark, name, latency, what was found."""
    for check in checks:
        mark = "[green]✓[/]" if check.passed else "[red]✗[/]"
        latency = f"{check.latency_ms:>7.0f} ms" if check.latency_ms is not None else " " * 10
        console.print(f"  {mark} {check.name:<17} {latency}  {escape(check.detail)}", highlight=False, soft_wrap=True)


def print_gates(console: Console, gates: Iterable[Gate]) -> None:
    for gate in gates:
        console.print(f"  {_GATE_MARK[gate.status]} {gate.name:<8} {escape(gate.detail)}", highlight=False, soft_wrap=True)


def print_diff(console: Console, diff: str) -> None:
    """A unified diff, additions green and removals red."""
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        console.print(f"[{style}]{escape(line)}[/]" if style else escape(line), highlight=False, soft_wrap=True)
