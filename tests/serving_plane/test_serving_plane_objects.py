"""Every Kubernetes object the serving plane renders is one the API server accepts: the
RayService, TargetGroupBinding and NodePool against the vendored CRDs of the pinned
versions (no error, no field the API server would prune), the built-in kinds with
kubernetes-validate (strict), the Helm values against the charts' values."""

from __future__ import annotations

import copy
import importlib.util
from typing import Any

import pytest

from llmops.commands.render import kubernetes_objects

VALIDATION = importlib.util.find_spec("llmops.validation") is not None
needs_validation = pytest.mark.skipif(
    not VALIDATION, reason="llmops.validation (the vendored CRDs and the validator) is not in this checkout"
)
CUSTOM_KINDS = ("RayService", "TargetGroupBinding", "NodePool")
BUILT_IN = ("Namespace", "ServiceAccount", "Job", "PodDisruptionBudget")
KUBERNETES_VERSION = "1.33"


def _serving_objects(plan: Any, kinds: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (record.name, obj)
        for record, _, obj in kubernetes_objects(plan)
        if obj["kind"] in kinds and "-serving-" in record.name
    ]


@needs_validation
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_custom_resources_validate_against_their_crds_with_nothing_pruned(stack: str, shipped: Any) -> None:
    from llmops.validation import validate_object

    objects = _serving_objects(shipped.plan(stack), CUSTOM_KINDS)
    assert {obj["kind"] for _, obj in objects} == set(CUSTOM_KINDS)
    for name, obj in objects:
        problems = validate_object(obj, kubernetes_version=KUBERNETES_VERSION)
        assert problems == [], f"{name}: {[str(p) for p in problems]}"


@needs_validation
def test_a_misspelled_or_misplaced_field_fails(shipped: Any) -> None:
    from llmops.validation import validate_object

    ((_, rayservice),) = [o for o in _serving_objects(shipped.plan("dev"), ("RayService",))]
    misspelled = copy.deepcopy(rayservice)
    misspelled["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParam"] = {"num-cpus": "0"}
    assert validate_object(misspelled, kubernetes_version=KUBERNETES_VERSION)
    misplaced = copy.deepcopy(rayservice)
    misplaced["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["groupName"] = "cpu"
    assert validate_object(misplaced, kubernetes_version=KUBERNETES_VERSION)


@needs_validation
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_helm_values_are_the_charts_own(stack: str, shipped: Any) -> None:
    from llmops.validation import validate_helm_values

    releases = [obj for _, obj in _serving_objects(shipped.plan(stack), ("Release",))]
    assert {r["chart"]["name"] for r in releases} == {"kuberay-operator", "aws-load-balancer-controller"}
    for release in releases:
        problems = validate_helm_values(release["chart"]["name"], release["chart"]["version"], release["values"])
        assert [p for p in problems if p.severity == "error"] == [], [str(p) for p in problems]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_built_in_objects_validate_strictly(stack: str, shipped: Any) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")

    objects = _serving_objects(shipped.plan(stack), BUILT_IN)
    assert {obj["kind"] for _, obj in objects} >= {"Namespace", "ServiceAccount", "PodDisruptionBudget"}
    for name, obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except Exception as exc:  # kubernetes_validate raises its own error types
            pytest.fail(f"{name}: {exc}")
