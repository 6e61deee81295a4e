"""Every Kubernetes object the serving plane renders is one the API server accepts: the
RayService, TargetGroupBinding and NodePool against the vendored CRDs of the pinned
versions (no error, no field the API server would prune), the built-in kinds with
kubernetes-validate (strict) at the Kubernetes version of the cluster they land on, the Helm
values against the charts' values. A release may name only chart versions whose CRDs and
values are vendored."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from core.serving_pins import SERVING_CHART_VERSIONS
from llmops.commands.render import kubernetes_objects
from llmops.engine.mocks import unwrap_secrets
from llmops.validation import catalog as schemas

CUSTOM_KINDS = ("RayService", "TargetGroupBinding", "NodePool", "PodMonitor", "RayCronJob")
BUILT_IN = ("Namespace", "ServiceAccount", "Job", "PodDisruptionBudget", "Deployment", "ConfigMap", "Role", "RoleBinding")
INGESTION_KINDS = {"RayCronJob", "Deployment", "ConfigMap", "Role", "RoleBinding"}
"""Rendered only where ingestion runs on the cluster (staging: on a schedule and by events)."""
CHART_CRDS = {"kuberay-operator": ("ray.io", "RayService"), "aws-load-balancer-controller": ("elbv2.k8s.aws", "TargetGroupBinding")}
"""A custom resource the serving plane renders from each chart it installs."""


def _serving_objects(plan: Any, kinds: tuple[str, ...] | None) -> list[tuple[str, str, dict[str, Any]]]:
    """(resource name, Kubernetes version of its region's cluster, object) of ``kinds`` (None: all)."""
    clusters = {
        r.region: str(unwrap_secrets(r.inputs)["version"]) for r in plan.resources if r.type == "aws:eks/cluster:Cluster"
    }
    return [
        (record.name, clusters[str(region)], obj)
        for record, region, obj in kubernetes_objects(plan)
        if (kinds is None or obj["kind"] in kinds) and "-serving-" in record.name
    ]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_custom_resources_validate_against_their_crds_with_nothing_pruned(stack: str, shipped: Any) -> None:
    from llmops.validation import validate_object

    rendered = {obj["kind"] for _, _, obj in _serving_objects(shipped.plan(stack), None)}
    assert rendered <= {*CUSTOM_KINDS, *BUILT_IN, "Release"}, "a kind the serving plane renders is not validated here"
    assert rendered >= {*CUSTOM_KINDS, *BUILT_IN, "Release"} - INGESTION_KINDS
    assert (rendered >= INGESTION_KINDS) == (stack == "staging")
    objects = _serving_objects(shipped.plan(stack), CUSTOM_KINDS)
    for name, version, obj in objects:
        problems = validate_object(obj, kubernetes_version=version)
        assert problems == [], f"{name}: {[str(p) for p in problems]}"


def test_a_misspelled_or_misplaced_field_fails(shipped: Any) -> None:
    from llmops.validation import validate_object

    ((_, version, rayservice),) = [o for o in _serving_objects(shipped.plan("dev"), ("RayService",))]
    misspelled = copy.deepcopy(rayservice)
    misspelled["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParam"] = {"num-cpus": "0"}
    assert validate_object(misspelled, kubernetes_version=version)
    misplaced = copy.deepcopy(rayservice)
    misplaced["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["groupName"] = "cpu"
    assert validate_object(misplaced, kubernetes_version=version)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_helm_values_are_the_charts_own(stack: str, shipped: Any) -> None:
    from llmops.validation import validate_helm_values

    releases = [obj for _, _, obj in _serving_objects(shipped.plan(stack), ("Release",))]
    assert {r["chart"]["name"] for r in releases} == {"kuberay-operator", "aws-load-balancer-controller"}
    for release in releases:
        problems = validate_helm_values(release["chart"]["name"], release["chart"]["version"], release["values"])
        assert [p for p in problems if p.severity == "error"] == [], [str(p) for p in problems]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_built_in_objects_validate_strictly(stack: str, shipped: Any) -> None:
    objects = _serving_objects(shipped.plan(stack), BUILT_IN)
    assert {obj["kind"] for _, _, obj in objects} >= {"Namespace", "ServiceAccount", "PodDisruptionBudget"}
    assert {version for _, version, _ in objects} == {"1.35"}
    for name, version, obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except Exception as exc:  # kubernetes_validate raises its own error types
            pytest.fail(f"{name}: {exc}")


def test_a_misspelled_field_of_a_built_in_object_fails(shipped: Any) -> None:
    job = next(obj for _, _, obj in _serving_objects(shipped.plan("dev"), ("Job",)) if obj["metadata"]["name"].startswith("migrate-"))
    misspelled = copy.deepcopy(job)
    misspelled["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelled, "1.35", strict=True)


def test_releases_name_only_chart_versions_whose_schemas_are_vendored() -> None:
    vendored = schemas.catalog()
    for chart, versions in SERVING_CHART_VERSIONS.items():
        assert chart in CHART_CRDS, f"{chart}: say which custom resource of it the serving plane renders"
        group, kind = CHART_CRDS[chart]
        for version in versions:
            source = vendored.chart(chart, version)
            assert source is not None, (
                f"{chart} {version} is a version a release may name, but its values are not under "
                f"llmops/validation/schemas/{chart}-{version}/ (vendor them, with a row in SOURCES.md)"
            )
            crds = [s for s in vendored.crd_sources(group, kind) if s.path.parent == source.directory]
            assert crds, f"{chart} {version}: no {kind} CRD under {source.directory.name}/"


def test_a_chart_version_without_its_schemas_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SERVING_CHART_VERSIONS, "kuberay-operator", ("1.7.0", "1.8.0"))
    with pytest.raises(AssertionError, match=r"kuberay-operator 1\.8\.0 .* not under llmops/validation/schemas/kuberay-operator-1\.8\.0/"):
        test_releases_name_only_chart_versions_whose_schemas_are_vendored()
