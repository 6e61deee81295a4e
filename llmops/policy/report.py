"""The result of a policy run: which packs ran, and every violation they reported, as text
(grouped by enforcement level), as the ``policy`` section of the plan JSON, and as Markdown
for a pull-request comment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

LEVEL_ORDER = ("mandatory", "advisory", "remediate")
_LEVEL_STYLE = {"mandatory": "bold red", "advisory": "yellow", "remediate": "cyan"}


@dataclass(frozen=True)
class Violation:
    """One policy violation."""

    pack: str
    policy: str
    urn: str
    """The resource's URN; empty for a violation of the stack as a whole."""
    level: str
    """``mandatory`` (blocks the deployment) or ``advisory``."""
    message: str
    severity: str = ""
    description: str = ""

    @property
    def resource(self) -> str:
        """``type::name`` of the resource (``stack`` for stack-wide violations)."""
        if not self.urn:
            return "stack"
        parts = self.urn.split("::")
        return f"{parts[-2].rsplit('$', 1)[-1]}::{parts[-1]}" if len(parts) >= 4 else self.urn

    def to_document(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "policy": self.policy,
            "urn": self.urn,
            "level": self.level,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class NotChecked:
    """A policy that could not check something (its reason says why and what to do)."""

    pack: str
    policy: str
    urn: str
    """The resource it could not check; empty for the stack as a whole."""
    reason: str

    @property
    def resource(self) -> str:
        return Violation(self.pack, self.policy, self.urn, "", "").resource

    def to_document(self) -> dict[str, Any]:
        return {"pack": self.pack, "policy": self.policy, "urn": self.urn, "reason": self.reason}


@dataclass
class Findings:
    """What a pack reported for one set of resources."""

    violations: list[Violation] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)


_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _portable(path: Path) -> str:
    """The project's own packs relative to the project root (the same on every machine, so
    plan documents diff cleanly); a team's pack elsewhere as its absolute path."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(_PROJECT_ROOT).as_posix()
    except ValueError:
        return str(resolved)


@dataclass(frozen=True)
class PackRun:
    """A pack that ran: where it came from and the config it was given."""

    name: str
    version: str
    path: Path
    config: Path | None
    """The config file applied (None: the pack's defaults)."""
    policies: int
    seconds: float

    def to_document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "path": _portable(self.path),
            "config": _portable(self.config) if self.config else None,
            "policies": self.policies,
        }


@dataclass
class PolicyReport:
    """Every pack run against a stack and what they found."""

    stack: str
    environment: str | None
    packs: list[PackRun] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)
    """Policies that said they could not check (e.g. the budget with an unpriced instance type)."""

    @property
    def mandatory_count(self) -> int:
        return sum(1 for v in self.violations if v.level in ("mandatory", "remediate"))

    @property
    def advisory_count(self) -> int:
        return sum(1 for v in self.violations if v.level == "advisory")

    @property
    def passed(self) -> bool:
        """No mandatory violation: the deployment may go ahead."""
        return self.mandatory_count == 0

    def by_level(self) -> dict[str, list[Violation]]:
        grouped: dict[str, list[Violation]] = {level: [] for level in LEVEL_ORDER}
        for v in self.violations:
            grouped.setdefault(v.level, []).append(v)
        return {level: items for level, items in grouped.items() if items}

    def policies_violated(self) -> list[str]:
        return sorted({v.policy for v in self.violations})

    def to_document(self) -> dict[str, Any]:
        """The ``policy`` section of ``llmops plan --json``."""
        return {
            "environment": self.environment,
            "packs": [p.to_document() for p in self.packs],
            "summary": {
                "mandatory": self.mandatory_count,
                "advisory": self.advisory_count,
                "notChecked": len(self.not_checked),
                "passed": self.passed,
            },
            "violations": [v.to_document() for v in self.violations],
            "notChecked": [n.to_document() for n in self.not_checked],
        }

    def to_markdown(self, title: str | None = None) -> str:
        """A pull-request comment: a verdict line, then a table per enforcement level."""
        heading = title or f"Policy checks: stack `{self.stack}`"
        packs = ", ".join(f"`{p.name}`" + (f" ({p.config.name})" if p.config else "") for p in self.packs)
        verdict = (
            f"**{self.mandatory_count} mandatory violation(s)**: the deployment is blocked."
            if not self.passed
            else "**No mandatory violations.**"
        )
        lines = [f"### {heading}", "", f"{verdict} {self.advisory_count} advisory.", "", f"Packs: {packs or 'none'}"]
        for level, items in self.by_level().items():
            lines += ["", f"#### {level.capitalize()} ({len(items)})", "", "| Policy | Resource | Message |", "| --- | --- | --- |"]
            for v in items:
                lines.append(f"| `{v.policy}` | `{_md(v.resource)}` | {_md(v.message)} |")
        if self.not_checked:
            lines += ["", f"#### Not checked ({len(self.not_checked)})", "", "| Policy | Resource | Why |", "| --- | --- | --- |"]
            for n in self.not_checked:
                lines.append(f"| `{n.policy}` | `{_md(n.resource)}` | {_md(n.reason)} |")
        return "\n".join(lines) + "\n"

    def render(self, console: Console) -> None:
        """Prints the violations grouped by enforcement level, then a one-line verdict."""
        from rich.markup import escape

        for level, items in self.by_level().items():
            style = _LEVEL_STYLE.get(level, "bold")
            console.print(f"[{style}]{level.upper()}[/] ({len(items)})")
            for v in items:
                console.print(f"  [{style}]✗[/] [bold]{escape(v.policy)}[/] [dim]{escape(v.resource)}[/]", highlight=False)
                console.print(f"      {escape(v.message)}", highlight=False, soft_wrap=True)
        if self.not_checked:
            console.print(f"[magenta]NOT CHECKED[/] ({len(self.not_checked)})")
            for n in self.not_checked:
                console.print(f"  [magenta]?[/] [bold]{escape(n.policy)}[/] [dim]{escape(n.resource)}[/]", highlight=False)
                console.print(f"      {escape(n.reason)}", highlight=False, soft_wrap=True)
        counts = Counter(v.pack for v in self.violations)
        packs = ", ".join(f"{escape(p.name)} ({counts.get(p.name, 0)})" for p in self.packs)
        verdict = "[bold red]blocked[/]" if not self.passed else "[bold green]passed[/]"
        unchecked = f", {len(self.not_checked)} not checked" if self.not_checked else ""
        console.print(
            f"policy: {verdict}: {self.mandatory_count} mandatory, {self.advisory_count} advisory "
            f"violation(s){unchecked} from {packs or 'no packs'}",
            highlight=False,
        )


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def sort_not_checked(items: Iterable[NotChecked]) -> list[NotChecked]:
    return sorted(items, key=lambda n: (n.pack, n.policy, n.urn, n.reason))


def sort_violations(violations: Iterable[Violation]) -> list[Violation]:
    """Stable order: level, pack, policy, resource, message."""
    rank = {level: i for i, level in enumerate(LEVEL_ORDER)}
    return sorted(violations, key=lambda v: (rank.get(v.level, 9), v.pack, v.policy, v.urn, v.message))
