"""The shipped stacks plan the resources of their snapshots (``tests/fixtures/plans``): each
old resource is found again, under its old URN or through the ``aliases`` of the resource
that replaced it, with the same inputs, provider and dependencies, so ``pulumi up`` on a live
stack replaces nothing. See :mod:`tests.plan_snapshots` for regenerating the snapshots
after an intended change."""

from __future__ import annotations

from typing import Any

import pytest

from tests import plan_snapshots

NEW_COMPONENT_TYPES: frozenset[str] = frozenset()
"""Component types a reshaping may add (components hold no state of their own)."""


@pytest.mark.parametrize("stack", plan_snapshots.STACKS)
def test_shipped_stack_plans_the_same_resources_as_its_snapshot(stack: str, shipped: Any) -> None:
    from llmops.engine.report import plan_document

    old = plan_snapshots.read(stack)
    new = plan_snapshots.from_document(plan_document(shipped.plan(stack)))
    comparison = plan_snapshots.compare(old, new, shipped.aliases(stack))
    assert not comparison.problems, "\n".join(comparison.problems)
    added = {new.resources[urn]["type"] for urn in comparison.added}
    assert added <= NEW_COMPONENT_TYPES, f"resources added: {comparison.added}"
    assert all(not new.resources[urn]["custom"] for urn in comparison.added)


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
