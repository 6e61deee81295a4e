"""The shipped stacks, and the shapes they do not cover (:data:`plan_snapshots.VARIANTS`),
plan the resources of their snapshots (``tests/fixtures/plans``): each old resource is found
again, under its old URN or through the ``aliases`` of the resource that replaced it, with
the same inputs, provider and dependencies, so ``pulumi up`` on a live stack replaces
nothing. See :mod:`tests.plan_snapshots` for regenerating the snapshots after an intended
change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import plan_snapshots
from tests.harness import capture_aliases

NEW_COMPONENT_TYPES = frozenset(
    {"llmops:cluster:Karpenter", "llmops:cluster:GpuNodeGroup", "llmops:cluster:ClusterAutoscaler", "llmops:cluster:GpuSoftware"}
)
"""Component types a reshaping may add (components hold no state of their own)."""


def _check(name: str, result: Any, aliases: dict[str, list[str]]) -> plan_snapshots.Comparison:
    from llmops.engine.report import plan_document

    old = plan_snapshots.read(name)
    new = plan_snapshots.from_document(plan_document(result))
    comparison = plan_snapshots.compare(old, new, aliases)
    assert not comparison.problems, "\n".join(comparison.problems)
    added = {new.resources[urn]["type"] for urn in comparison.added}
    assert added <= NEW_COMPONENT_TYPES, f"resources added: {comparison.added}"
    assert all(not new.resources[urn]["custom"] for urn in comparison.added)
    return comparison


@pytest.mark.parametrize("stack", plan_snapshots.STACKS)
def test_shipped_stack_plans_the_same_resources_as_its_snapshot(stack: str, shipped: Any) -> None:
    _check(stack, shipped.plan(stack), shipped.aliases(stack))


@pytest.mark.parametrize("variant", sorted(plan_snapshots.VARIANTS))
def test_variant_plans_the_same_resources_as_its_snapshot(variant: str, tmp_path: Path) -> None:
    with capture_aliases() as aliases:
        result = plan_snapshots.plan_variant(variant, tmp_path)
    _check(variant, result, aliases)


def _snapshot(*resources: dict[str, Any]) -> plan_snapshots.Snapshot:
    full = [{"custom": True, "provider": None, "dependencies": [], "propertyDependencies": {}, "inputs": {}, **r} for r in resources]
    return plan_snapshots.Snapshot("s", "", {}, {r["urn"]: r for r in full})


def test_compare_follows_aliases_and_reports_what_a_live_stack_would_replace() -> None:
    cluster = {"urn": "c", "type": "llmops:cluster:GpuCluster", "parent": None, "custom": False}
    old = _snapshot(cluster, {"urn": "c$q", "type": "aws:sqs/queue:Queue", "parent": "c", "inputs": {"name": "q"}})
    part = {"urn": "c$k", "type": "llmops:cluster:Karpenter", "parent": "c", "custom": False}
    moved = {"urn": "k$q", "type": "aws:sqs/queue:Queue", "parent": "c$k", "inputs": {"name": "q"}}

    clean = plan_snapshots.compare(old, _snapshot(cluster, part, moved), {"k$q": ["c$q"]})
    assert (clean.problems, clean.renamed, clean.added) == ([], {"c$q": "k$q"}, ["c$k"])

    unaliased = plan_snapshots.compare(old, _snapshot(cluster, part, moved), {})
    assert unaliased.problems == ["c$q: no longer planned, and no new resource names it in its aliases"]

    changed = plan_snapshots.compare(old, _snapshot(cluster, part, {**moved, "inputs": {"name": "r"}}), {"k$q": ["c$q"]})
    assert len(changed.problems) == 1 and changed.problems[0].startswith("c$q: inputs differ")

    elsewhere = plan_snapshots.compare(old, _snapshot(cluster, {**moved, "parent": None}), {"k$q": ["c$q"]})
    assert elsewhere.problems == ["c$q: moved out of c (now under None)"]
