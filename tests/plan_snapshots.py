"""Plan snapshots of the shipped stacks, and the check that a new plan keeps every resource.

A snapshot (``tests/fixtures/plans/<stack>.jsonl``) holds what a live stack's state would
hold for each resource of ``llmops plan --json``: URN, type, parent, provider, dependencies
and inputs, one resource per line, plus the stack outputs on the first line. A change that
only reshapes the code (a resource moves under a new component, a child is renamed) must
plan the same resources with the same inputs, each new URN reachable from its old one
through the ``aliases`` the resource declares, so ``pulumi up`` on a live stack replaces
nothing.

When a change is meant to alter a shipped stack, regenerate the snapshots and say why in
the commit message::

    python -m tests.plan_snapshots --write
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).resolve().parent / "fixtures" / "plans"
STACKS = ("dev", "staging", "prod", "byo")
ADMIN_ROLES = ("arn:aws:iam::123456789012:role/platform-deployer", "arn:aws:iam::123456789012:role/ops/break-glass")


def _managed_node_groups(config: dict[str, Any]) -> None:
    config["regions"][0]["cluster"] = {
        "capacityProvider": "managedNodeGroups",
        "creatorAdmin": False,
        "adminRoleArns": list(ADMIN_ROLES),
        "access": {"mode": "publicRestricted", "deployerCidrs": ["203.0.113.0/24"]},
    }


def _kubeconfig(config: dict[str, Any]) -> None:
    config["regions"] = [config["regions"][0]]
    config["regions"][0]["cluster"] = {"existing": {"kubeconfig": "apiVersion: v1\nkind: Config\n"}}
    del config["regions"][0]["gpuPools"]


VARIANTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "managed-node-groups": _managed_node_groups,
    "byo-kubeconfig": _kubeconfig,
}
"""Shapes the shipped stacks do not cover, as changes to ``tests.support.valid_config()``:
cluster-autoscaled node groups, admin access entries and a public endpoint in one region
(warm and Karpenter pools in the other), an existing cluster by kubeconfig."""
KEPT = ("urn", "type", "custom", "parent", "provider", "dependencies", "propertyDependencies", "inputs")


@dataclass(frozen=True)
class Snapshot:
    """The resources of one stack's plan by URN, and its stack outputs."""

    stack: str
    revision: str
    outputs: dict[str, Any]
    resources: dict[str, dict[str, Any]]


def from_document(document: Mapping[str, Any], revision: str = "") -> Snapshot:
    """A snapshot of a plan document (``llmops plan --json`` without cost and policy)."""
    resources = {r["urn"]: {k: r[k] for k in KEPT} for r in document["resources"]}
    return Snapshot(str(document["stack"]), revision, dict(document["outputs"]), resources)


def write(snapshot: Snapshot, path: Path) -> None:
    lines = [json.dumps({"stack": snapshot.stack, "revision": snapshot.revision, "outputs": snapshot.outputs}, sort_keys=True)]
    lines += [json.dumps(snapshot.resources[urn], sort_keys=True) for urn in sorted(snapshot.resources)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read(stack: str, directory: Path = SNAPSHOTS) -> Snapshot:
    header, *rows = (directory / f"{stack}.jsonl").read_text(encoding="utf-8").splitlines()
    head = json.loads(header)
    resources = {r["urn"]: r for r in map(json.loads, rows)}
    return Snapshot(head["stack"], head["revision"], head["outputs"], resources)


@dataclass
class Comparison:
    """How a new plan relates to a snapshot."""

    renamed: dict[str, str] = field(default_factory=dict)
    """Old URN -> new URN, for every resource whose URN changed (found through its aliases)."""
    added: list[str] = field(default_factory=list)
    """New URNs with no old resource."""
    problems: list[str] = field(default_factory=list)
    """Differences that would change or replace a resource of a live stack."""


def _rename(value: Any, renamed: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        return [_rename(v, renamed) for v in value]
    if isinstance(value, dict):
        return {k: _rename(v, renamed) for k, v in value.items()}
    return value


def _ancestors(urn: str, resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    chain: list[str] = []
    parent = resources[urn]["parent"]
    while parent is not None and parent in resources and parent not in chain:
        chain.append(parent)
        parent = resources[parent]["parent"]
    return chain


def compare(old: Snapshot, new: Snapshot, aliases: Mapping[str, Iterable[str]]) -> Comparison:
    """Maps each old resource to its new one (same URN, or a new resource that names the old
    URN among its ``aliases``) and lists what differs: a resource gone, a changed input,
    provider or dependency, a resource that left its old parent's subtree."""
    result = Comparison()
    for new_urn, alias_urns in aliases.items():
        for alias in alias_urns:
            if alias in old.resources and alias not in new.resources:
                if alias in result.renamed and result.renamed[alias] != new_urn:
                    result.problems.append(f"{alias}: claimed by the aliases of both {result.renamed[alias]} and {new_urn}")
                result.renamed[alias] = new_urn
    matched: set[str] = set()
    for old_urn, before in sorted(old.resources.items()):
        new_urn = result.renamed.get(old_urn, old_urn)
        after = new.resources.get(new_urn)
        if after is None:
            result.problems.append(f"{old_urn}: no longer planned, and no new resource names it in its aliases")
            continue
        matched.add(new_urn)
        expected = _rename(before, result.renamed)
        expected["dependencies"] = sorted(expected["dependencies"])
        expected["propertyDependencies"] = {k: sorted(v) for k, v in expected["propertyDependencies"].items()}
        for key in KEPT:
            if key in ("urn", "parent"):
                continue
            if expected[key] != after[key]:
                result.problems.append(
                    f"{old_urn}: {key} differs\n  before: {json.dumps(expected[key], sort_keys=True)}\n"
                    f"  after:  {json.dumps(after[key], sort_keys=True)}"
                )
        old_parent = expected["parent"]
        if old_parent is not None and old_parent != after["parent"] and old_parent not in _ancestors(new_urn, new.resources):
            result.problems.append(f"{old_urn}: moved out of {old_parent} (now under {after['parent']})")
    result.added = sorted(set(new.resources) - matched)
    if _rename(old.outputs, result.renamed) != new.outputs:
        result.problems.append("the stack outputs differ")
    return result


def plan_variant(name: str, directory: Path) -> Any:
    """The offline plan of variant ``name`` (stack ``test``), as a project in ``directory``."""
    from llmops.engine import plan
    from tests.support import valid_config, write_project

    config = valid_config()
    VARIANTS[name](config)
    return plan("test", write_project(directory / name, config=config))


def git_revision() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the plan snapshots of the shipped stacks.")
    parser.add_argument("--write", action="store_true", help="plan each shipped stack and overwrite its snapshot")
    parser.add_argument("names", nargs="*", default=[*STACKS, *VARIANTS], help="stacks and variants (default: all)")
    args = parser.parse_args(argv)
    if not args.write:
        parser.error("nothing to do; pass --write to regenerate the snapshots")
    from llmops.engine import plan
    from llmops.engine.report import plan_document

    revision = git_revision()
    with tempfile.TemporaryDirectory() as directory:
        for name in args.names:
            result = plan_variant(name, Path(directory)) if name in VARIANTS else plan(name, REPO)
            write(from_document(plan_document(result), revision), SNAPSHOTS / f"{name}.jsonl")
            print(f"wrote {SNAPSHOTS / f'{name}.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
