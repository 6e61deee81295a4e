"""``llmops promote FROM TO``: copy the release pinned in one stack into the next, after
its gates pass (:mod:`llmops.release.gates`).

:func:`prepare` reads both stack files, builds the target's new text (only its release
block changes, see :mod:`llmops.release.stackfile`), plans the target offline with it and
runs every gate; it never writes. :func:`apply` writes the prepared text atomically, and
only when every gate passed, so a refused promotion leaves the target byte-identical.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from core.errors import LlmopsError, UsageError
from llmops.release.errors import PromotionRefused, ReleaseError
from llmops.release.gates import Gate, budget_gate, order_gate, policy_gate, results_gate
from llmops.release.identity import Release, fingerprint, secret_paths
from llmops.release.results import results_root
from llmops.release.stackfile import StackFile, unified_diff, with_release, write_atomically
from llmops.release.stacks import load_stack

if TYPE_CHECKING:
    from llmops.engine import PlanResult, Project


@dataclass(frozen=True)
class Promotion:
    """A prepared promotion: the gates' verdicts and the target's new text."""

    source: Release
    target: str
    path: Path
    old_text: str
    new_text: str
    previous: Mapping[str, Any] | None
    """The release the target pinned before (``None``: none)."""
    gates: tuple[Gate, ...]
    forced_reason: str | None = None
    label: str | None = None
    """The target file as shown in the diff (relative to the project root)."""

    @property
    def up_to_date(self) -> bool:
        """The target already pins this very release."""
        return self.previous is not None and fingerprint(self.previous) == self.source.fingerprint

    @property
    def passed(self) -> bool:
        return not any(g.failed for g in self.gates)

    @property
    def failed_gates(self) -> list[Gate]:
        return [g for g in self.gates if g.failed]

    def diff(self) -> str:
        return unified_diff(self.path, self.old_text, self.new_text, self.label)

    def changes(self) -> list[tuple[str, Any, Any]]:
        """``(key, before, after)`` for each top-level release key that changes."""
        before = dict(self.previous or {})
        after = dict(self.source.values)
        keys = list(before) + [k for k in after if k not in before]
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]

    def refusal(self) -> PromotionRefused:
        reasons = "\n".join(f"  {g.name}: {g.detail}" for g in self.failed_gates)
        return PromotionRefused(
            f"refused to promote release {self.source.short} from {self.source.stack} to {self.target}; "
            f"{self.path} was not changed:\n{reasons}"
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "source": self.source.to_document(),
            "target": self.target,
            "path": str(self.path),
            "previousFingerprint": fingerprint(self.previous) if self.previous is not None else None,
            "upToDate": self.up_to_date,
            "passed": self.passed,
            "forcedReason": self.forced_reason,
            "gates": [{"name": g.name, "status": g.status, "detail": g.detail} for g in self.gates],
            "diff": self.diff(),
        }

    def to_markdown(self) -> str:
        """The promotion for a pull request body: gates, what changes, the file diff."""
        if self.up_to_date:
            return (
                f"### Release `{self.source.short}` of `{self.source.stack}`\n\n"
                f"`{self.target}` already pins this release; nothing to change.\n"
            )
        icon = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
        lines = [
            f"### Promote release `{self.source.short}` from `{self.source.stack}` to `{self.target}`",
            "",
            "| gate | result | detail |",
            "|---|---|---|",
        ]
        for gate in self.gates:
            detail = gate.detail.replace("|", "\\|").replace("\n", "<br>")
            lines.append(f"| {gate.name} | {icon[gate.status]} {gate.status} | {detail} |")
        if self.forced_reason:
            lines += ["", f"**Forced past the order** (`--force`): {self.forced_reason}"]
        lines += ["", f"Release fingerprint: `{self.source.fingerprint}`", ""]
        if self.changes():
            lines += ["| release key | before | after |", "|---|---|---|"]
            for key, before, after in self.changes():
                lines.append(f"| `{key}` | {_cell(before)} | {_cell(after)} |")
            lines.append("")
        lines += [
            "<details><summary>The release</summary>",
            "",
            "```yaml",
            yaml.safe_dump(dict(self.source.values), sort_keys=False, default_flow_style=False).rstrip(),
            "```",
            "",
            "</details>",
            "",
            "```diff",
            self.diff().rstrip(),
            "```",
            "",
        ]
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def header_lines(source: Release, today: date, forced_reason: str | None) -> list[str]:
    """The promotion record written above the target's release block."""
    lines = [f"release {source.short} from {source.stack}, {today.isoformat()}"]
    if forced_reason:
        lines.append(f"forced past the order: {forced_reason}")
    return lines


def clean_reason(force: bool, reason: str | None) -> str | None:
    """The ``--reason`` text as one line; ``--force`` and ``--reason`` go together."""
    text = " ".join((reason or "").split())
    if force and not text:
        raise UsageError("--force needs --reason TEXT: say why the order is skipped (it is recorded in the stack file)")
    if text and not force:
        raise UsageError("--reason goes with --force (it records why the order is skipped); drop it, or add --force")
    return text or None


def prepare(
    program_dir: Path,
    source_stack: str,
    target_stack: str,
    *,
    results_dir: Path | None = None,
    force: bool = False,
    reason: str | None = None,
    today: date | None = None,
) -> Promotion:
    """Runs every gate for promoting ``source_stack``'s release to ``target_stack`` and
    builds the target's new text. Never writes."""
    from llmops.engine import load_project

    forced_reason = clean_reason(force, reason)
    if source_stack == target_stack:
        raise UsageError(f"FROM and TO are both '{source_stack}'; promote from one stack to another, e.g. dev staging")
    project = load_project(program_dir)
    source_pin = load_stack(program_dir, source_stack)
    target_pin = load_stack(program_dir, target_stack)
    source_file, target_file = source_pin.file, target_pin.file
    source = source_pin.release()
    secrets = secret_paths(source.values)
    if secrets:
        raise ReleaseError(
            f"the release of {source_stack} holds encrypted values ({', '.join(secrets)}); they are "
            "encrypted for one stack and cannot be copied. Keep secrets out of the release (reference "
            "them by name) and promote again"
        )
    previous = target_file.release
    label = _relative(target_file.path, project.root)
    if previous is not None and fingerprint(previous) == source.fingerprint:
        return Promotion(source, target_stack, target_file.path, target_file.text, target_file.text, previous, (), label=label)
    new_text = with_release(target_file, source_file, header_lines(source, today or date.today(), forced_reason))
    gates = [
        order_gate(source_stack, source_pin.environment, target_stack, target_pin.environment, forced_reason),
        results_gate(results_root(project.root, results_dir), source),
    ]
    gates += _plan_gates(project, target_file, new_text)
    return Promotion(
        source, target_stack, target_file.path, target_file.text, new_text, previous, tuple(gates), forced_reason, label
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _plan_gates(project: Project, target: StackFile, new_text: str) -> list[Gate]:
    """``plan``, ``policy`` and ``budget``: the latter two need the plan."""
    try:
        result = plan_candidate(project, target, new_text)
    except LlmopsError as exc:
        skipped = "skipped: the target does not plan with the new release"
        return [Gate("plan", "failed", str(exc)), Gate("policy", "skipped", skipped), Gate("budget", "skipped", skipped)]
    count = sum(1 for r in result.resources if r.custom)
    plan = Gate("plan", "passed", f"{target.path.name} with the new release plans offline: {count} resources in {len(result.regions)} region(s)")
    return [plan, policy_gate(result), budget_gate(result)]


def plan_candidate(project: Project, target: StackFile, text: str) -> PlanResult:
    """The target stack planned offline as if its file held ``text``."""
    from llmops.engine import load_stack_config, run_program

    stack = target.path.name[len("Pulumi.") : -len(target.path.suffix)]
    with tempfile.TemporaryDirectory(prefix="llmops-promote-") as tmp:
        candidate = Path(tmp) / target.path.name
        candidate.write_text(text, encoding="utf-8")
        config = load_stack_config(dataclasses.replace(project, stack_config_dir=Path(tmp)), stack)
        return run_program(project, config)


def apply(promotion: Promotion) -> None:
    """Writes the target's new text; refuses (writing nothing) when a gate failed."""
    if not promotion.passed:
        raise promotion.refusal()
    if promotion.up_to_date:
        return
    current = promotion.path.read_text(encoding="utf-8")
    if current != promotion.old_text:
        raise ReleaseError(f"{promotion.path} changed while the gates ran; run the promotion again")
    write_atomically(promotion.path, promotion.new_text)


__all__ = ["Promotion", "apply", "clean_reason", "header_lines", "plan_candidate", "prepare"]
