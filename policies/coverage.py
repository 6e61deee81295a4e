"""The packs' coverage of Checkov and AWSGuard: ``policies/coverage.yaml`` read, checked
against a snapshot of Checkov's check registry (``policies/checkov_registry.json``), and
rendered as ``docs/policy-coverage.md``.

Plain data and YAML only (no Pulumi), so ``scripts/policy_coverage.py refresh`` can run it
in an environment that has ``checkov`` installed and nothing else of the project.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
COVERAGE_FILE = HERE / "coverage.yaml"
REGISTRY_FILE = HERE / "checkov_registry.json"
STATUSES = ("covered", "setting", "partial", "not-applicable")


@dataclass(frozen=True)
class Entry:
    """One Checkov check or AWSGuard policy and how the packs cover it."""

    id: str
    policy: str | None
    status: str
    note: str
    types: tuple[str, ...] = ()
    """Pulumi types (AWSGuard entries name them; Checkov's come from the registry)."""


@dataclass(frozen=True)
class Check:
    """A check as Checkov's registry describes it."""

    id: str
    name: str
    terraform_types: tuple[str, ...]


@dataclass
class Registry:
    """The part of Checkov's registry that concerns the platform's resource types."""

    checkov_version: str
    checks: dict[str, Check] = field(default_factory=dict)

    def to_document(self) -> dict[str, Any]:
        return {
            "checkovVersion": self.checkov_version,
            "checks": {i: {"name": c.name, "terraformTypes": list(c.terraform_types)} for i, c in sorted(self.checks.items(), key=lambda kv: sort_key(kv[0]))},
        }


@dataclass
class Coverage:
    """``coverage.yaml``."""

    scope: dict[str, tuple[str, ...]]
    ignored: dict[str, str]
    checkov: dict[str, Entry]
    awsguard: dict[str, Entry]

    def pulumi_types(self, terraform_types: Iterable[str]) -> list[str]:
        found: list[str] = []
        for t in terraform_types:
            for p in self.scope.get(t, ()):
                if p not in found:
                    found.append(p)
        return found


def sort_key(check_id: str) -> tuple[int, int]:
    """CKV_AWS_2 < CKV_AWS_10 < CKV2_AWS_1."""
    prefix, _, number = check_id.rpartition("_")
    return (1 if prefix.startswith("CKV2") else 0, int(number) if number.isdigit() else 0)


def _entry(key: str, raw: Mapping[str, Any]) -> Entry:
    policy = raw.get("policy")
    status = str(raw.get("status") or ("covered" if policy else ""))
    return Entry(key, str(policy) if policy else None, status, str(raw.get("note") or ""), tuple(str(t) for t in raw.get("types") or ()))


def load(path: Path = COVERAGE_FILE) -> Coverage:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Coverage(
        scope={str(k): tuple(str(t) for t in v) for k, v in (doc.get("scope") or {}).items()},
        ignored={str(k): str(v) for k, v in (doc.get("ignored") or {}).items()},
        checkov={str(k): _entry(str(k), v) for k, v in (doc.get("checkov") or {}).items()},
        awsguard={str(k): _entry(str(k), v) for k, v in (doc.get("awsguard") or {}).items()},
    )


def load_registry(path: Path = REGISTRY_FILE) -> Registry:
    doc = json.loads(path.read_text(encoding="utf-8"))
    registry = Registry(str(doc.get("checkovVersion", "")))
    for check_id, raw in (doc.get("checks") or {}).items():
        registry.checks[check_id] = Check(check_id, str(raw["name"]), tuple(raw["terraformTypes"]))
    return registry


def registry_from_checkov(scope: Iterable[str]) -> Registry:
    """The checks of the installed ``checkov`` package (resource and graph checks) that look
    at one of the ``scope`` Terraform types."""
    import checkov.version
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    wanted = set(scope)
    registry = Registry(str(checkov.version.version))
    found: dict[str, tuple[str, set[str]]] = {}
    for terraform_type, checks in resource_registry.checks.items():
        if terraform_type in wanted:
            for check in checks:
                found.setdefault(check.id, (check.name, set()))[1].add(terraform_type)
    graph = get_graph_checks_registry("terraform")
    graph.load_checks()
    for check in graph.checks:
        types = set(getattr(check, "resource_types", None) or ()) & wanted
        if "_AWS_" in check.id and types:
            found.setdefault(check.id, (check.name, set()))[1].update(types)
    for check_id, (name, types) in found.items():
        registry.checks[check_id] = Check(check_id, name, tuple(sorted(types)))
    return registry


def problems(coverage: Coverage, registry: Registry) -> list[str]:
    """Where ``coverage.yaml`` and the registry disagree, or an entry is incomplete."""
    found = []
    for check_id in sorted(registry.checks, key=sort_key):
        if check_id not in coverage.checkov and check_id not in coverage.ignored:
            found.append(f"{check_id} ({registry.checks[check_id].name}) checks {', '.join(registry.checks[check_id].terraform_types)} but is not in coverage.yaml")
    for check_id in sorted(set(coverage.checkov) | set(coverage.ignored), key=sort_key):
        if check_id not in registry.checks:
            found.append(f"{check_id} is in coverage.yaml but not in checkov {registry.checkov_version}'s registry for the platform's types")
    for entry in [*coverage.checkov.values(), *coverage.awsguard.values()]:
        if entry.status not in STATUSES:
            found.append(f"{entry.id}: status must be one of {', '.join(STATUSES)} (got {entry.status!r})")
        elif entry.status == "not-applicable":
            if entry.policy or not entry.note:
                found.append(f"{entry.id}: a not-applicable entry has a note saying why and no policy")
        elif not entry.policy:
            found.append(f"{entry.id}: name the policy that covers it, or mark it not-applicable with a note")
        elif entry.status != "covered" and not entry.note:
            found.append(f"{entry.id}: a {entry.status} entry needs a note saying what")
    for entry in coverage.awsguard.values():
        if not entry.types:
            found.append(f"{entry.id}: list the Pulumi types the AWSGuard policy checks")
    return found


def entry_types(entry: Entry, coverage: Coverage, registry: Registry) -> list[str]:
    """The Pulumi types of the platform an entry concerns."""
    if entry.types:
        return list(entry.types)
    check = registry.checks.get(entry.id)
    return coverage.pulumi_types(check.terraform_types) if check else []


def counts(entries: Iterable[Entry]) -> dict[str, int]:
    result = dict.fromkeys(STATUSES, 0)
    for e in entries:
        result[e.status] = result.get(e.status, 0) + 1
    return result


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(coverage: Coverage, registry: Registry, policies_by_type: Mapping[str, list[str]]) -> str:
    """``docs/policy-coverage.md``: the summary, then one table per resource type."""
    checkov = counts(coverage.checkov.values())
    guard = counts(coverage.awsguard.values())
    in_scope = {p for ts in coverage.scope.values() for p in ts}
    relevant_guard = [e for e in coverage.awsguard.values() if set(e.types) & in_scope]
    lines = [
        "# Policy coverage: Checkov and AWSGuard",
        "",
        "<!-- Generated by `python scripts/policy_coverage.py render` from policies/coverage.yaml; do not edit by hand. -->",
        "",
        "For every resource type the platform creates or is about to create, the checks of",
        f"[Checkov](https://www.checkov.io/) {registry.checkov_version} (its own registry, resource and graph checks) and",
        "of AWSGuard ([pulumi/pulumi-policy-aws](https://github.com/pulumi/pulumi-policy-aws)) that look at it, and the",
        "policy of `llmops-security` that covers each (or why it does not apply). Every covered check has a passing",
        "and a failing case in `policies/security/fixtures/`, run through the pack's analyzer by",
        "`tests/policy/test_policy_fixtures.py`; `tests/policy/test_policy_coverage.py` keeps this page, the",
        "registry snapshot and the fixtures in step.",
        "",
        "Status: **covered** by the pack's defaults; **setting**: covered when a setting is on or at Checkov's",
        "threshold (the note names it, and what the shipped configs set); **partial**: the note says what is left",
        "out; **n/a**: the note says why the check does not apply.",
        "",
        "| | Checks | Covered | By a setting | Partly | Not applicable |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| Checkov | {len(coverage.checkov)} | {checkov['covered']} | {checkov['setting']} | {checkov['partial']} | {checkov['not-applicable']} |",
        f"| AWSGuard | {len(coverage.awsguard)} | {guard['covered']} | {guard['setting']} | {guard['partial']} | {guard['not-applicable']} |",
        "",
        f"Of AWSGuard's {len(coverage.awsguard)} policies, {len(relevant_guard)} concern resource types the platform uses;",
        "the others check services it does not use (API Gateway, Redshift, DynamoDB, EFS, IAM users).",
        "",
    ]
    if coverage.ignored:
        lines.append("Registry entries left out: " + "; ".join(f"{i}: {why}" for i, why in sorted(coverage.ignored.items(), key=lambda kv: sort_key(kv[0]))) + ".")
        lines.append("")
    rows: dict[str, list[tuple[str, str, str, str, str]]] = {}
    for entry in sorted(coverage.checkov.values(), key=lambda e: sort_key(e.id)):
        check = registry.checks.get(entry.id)
        for t in entry_types(entry, coverage, registry):
            rows.setdefault(t, []).append((f"`{entry.id}`", check.name if check else "", entry.policy or "", entry.status, entry.note))
    for entry in sorted(coverage.awsguard.values(), key=lambda e: e.id):
        for t in entry.types:
            if t in in_scope:
                rows.setdefault(t, []).append((f"AWSGuard `{entry.id}`", "", entry.policy or "", entry.status, entry.note))
    lines += ["## By resource type", ""]
    for terraform_type, pulumi_types in coverage.scope.items():
        for pulumi_type in pulumi_types:
            own = rows.get(pulumi_type, [])
            policies = policies_by_type.get(pulumi_type, [])
            lines.append(f"### `{pulumi_type}`")
            lines.append("")
            checked = f"checked by {', '.join(f'`{p}`' for p in policies)}" if policies else "no project policy reads it"
            lines.append(f"Terraform `{terraform_type}`; {checked}.")
            lines.append("")
            if not own:
                lines.append("No Checkov or AWSGuard check looks at this type.")
                lines.append("")
                continue
            lines += ["| Check | What it asks | Project policy | Status | Note |", "| --- | --- | --- | --- | --- |"]
            for check_id, name, policy, status, note in own:
                shown = "n/a" if status == "not-applicable" else status
                lines.append(f"| {check_id} | {_cell(name)} | {f'`{policy}`' if policy else '—'} | {shown} | {_cell(note)} |")
            lines.append("")
    lines += [
        "## AWSGuard policies for services the platform does not use",
        "",
        "| Policy | Checks | Why it does not apply |",
        "| --- | --- | --- |",
    ]
    for entry in sorted(coverage.awsguard.values(), key=lambda e: e.id):
        if not set(entry.types) & in_scope:
            lines.append(f"| `{entry.id}` | {', '.join(f'`{t}`' for t in entry.types)} | {_cell(entry.note)} |")
    return "\n".join(lines).rstrip() + "\n"
