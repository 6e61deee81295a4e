"""Validation of whole plans: the shipped stacks render nothing a cluster would reject, and
a program's bad objects are named with their resource, object and path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.validation import DEFAULT_KUBERNETES_VERSION, ValidationReport, validate_plan
from tests.support import write_project
from tests.validation import programs


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "byo"])
def test_the_shipped_stacks_render_nothing_the_cluster_would_reject(shipped: Any, stack: str) -> None:
    result = shipped.plan(stack)
    report = validate_plan(result)
    assert report.errors == [], "\n".join(str(p) for p in report.errors)
    assert report.unvalidated == [], "\n".join(str(p) for p in report.unvalidated)
    kubernetes = [r for r in result.resources if r.type.startswith("kubernetes:")]
    assert sum(report.checked.values()) == len(kubernetes)
    # each cluster is checked for the version its EKS cluster runs
    eks_versions = {r.region: r.inputs.get("version") for r in result.resources if r.type == "aws:eks/cluster:Cluster"}
    for label, version in report.kubernetes_versions.items():
        region = label.removesuffix("-k8s")
        assert version == eks_versions.get(region, DEFAULT_KUBERNETES_VERSION), label


def _plan(tmp_path: Path, program: str) -> ValidationReport:
    from llmops.engine import plan

    return validate_plan(plan("test", write_project(tmp_path, program=program, name="team")))


def test_valid_objects_on_a_known_and_an_unknown_cluster(tmp_path: Path) -> None:
    report = _plan(tmp_path, programs.VALID)
    assert report.passed and report.problems == []
    assert report.checked == {"Namespace": 2, "NodePool": 1, "Release": 1}
    assert report.kubernetes_versions == {"k8s": "1.34", "elsewhere": DEFAULT_KUBERNETES_VERSION}
    assert report.notes == [f"cluster of elsewhere: no EKS cluster in the plan; built-in kinds checked against Kubernetes {DEFAULT_KUBERNETES_VERSION}"]
    document = report.to_document()
    assert document["summary"] == {"checked": {"Namespace": 2, "NodePool": 1, "Release": 1}, "errors": 0, "unvalidated": 0, "passed": True}


def test_bad_objects_are_named_by_resource_object_and_path(tmp_path: Path) -> None:
    report = _plan(tmp_path, programs.INVALID)
    assert not report.passed
    found = {(p.resource_name, p.kind, p.object_name, p.path) for p in report.errors}
    assert found == {
        ("misspelled", "NodePool", "misspelled", "spec.template.spec.requirments"),
        ("misspelled", "NodePool", "misspelled", "spec.template.spec.requirements"),
        ("misplaced", "NodePool", "misplaced", "spec.template.limits"),
        ("empty-in", "NodePool", "empty-in", "spec.template.spec.requirements"),
        ("device-plugin", "Release", "nvidia-device-plugin", "values.tolerationz"),
    }
    for problem in report.errors:
        assert problem.urn.endswith(f"::{problem.resource_name}")
    document = report.to_document()
    assert document["summary"]["errors"] == 5
    assert document["problems"][0]["severity"] == "error" and set(document["problems"][0]) == {
        "urn", "resource", "kind", "apiVersion", "objectName", "path", "message", "severity", "schema"
    }  # fmt: skip


def test_a_custom_resource_without_a_schema_is_listed_not_failed(tmp_path: Path) -> None:
    report = _plan(tmp_path, programs.UNKNOWN_KIND)
    assert report.passed
    assert [(p.severity, p.kind, p.resource_name) for p in report.problems] == [("unvalidated", "Widget", "widget")]
