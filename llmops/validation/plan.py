"""Validation of an offline plan: every Kubernetes object and Helm release it recorded.

Objects are grouped by cluster (the Kubernetes provider they use). A cluster's Kubernetes
version is the ``version`` input of the ``aws:eks/cluster:Cluster`` its provider's
kubeconfig comes from (else the only EKS cluster in the provider's region, else
:data:`DEFAULT_KUBERNETES_VERSION`, with a note). The charts a cluster's Helm releases pin
choose which vendored CRD version its custom resources are checked against.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmops.validation import builtin
from llmops.validation.catalog import choose_crd
from llmops.validation.helm import chart_name, validate_helm_values
from llmops.validation.objects import schema_for, split_api_version, validate_object
from llmops.validation.problems import ValidationProblem, ValidationReport, sort_problems
from llmops.validation.values import plain

if TYPE_CHECKING:
    from llmops.engine.runner import PlanResult, ResourceRecord

DEFAULT_KUBERNETES_VERSION = "1.35"
"""For a cluster whose version the plan does not say (an existing cluster)."""

EKS_CLUSTER = "aws:eks/cluster:Cluster"
HELM_VALUES_TYPES = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"})
PROVIDER_RENDERED = frozenset(
    {"kubernetes:yaml/v2:ConfigFile", "kubernetes:yaml/v2:ConfigGroup", "kubernetes:kustomize/v2:Directory"}
)
"""Components whose objects the Kubernetes provider renders at deploy time (not in a plan)."""


@dataclass
class _Cluster:
    label: str
    version: str
    charts: dict[str, str] = field(default_factory=dict)


def _api_version_and_kind(type_: str) -> tuple[str, str]:
    """``kubernetes:core/v1:Namespace`` -> (``v1``, ``Namespace``)."""
    _, group_version, kind = type_.split(":", 2)
    group, _, version = group_version.rpartition("/")
    return (version if group == "core" else group_version), kind


class _Clusters:
    """Each Kubernetes provider's cluster: its version and installed charts."""

    def __init__(self, result: PlanResult) -> None:
        self.by_urn = result.by_urn()
        self.eks_by_region: dict[str | None, list[ResourceRecord]] = {}
        for record in result.resources:
            if record.type == EKS_CLUSTER:
                self.eks_by_region.setdefault(record.region, []).append(record)
        self.clusters: dict[str | None, _Cluster] = {}
        self.notes: list[str] = []

    def _eks_of(self, provider: ResourceRecord | None, region: str | None) -> ResourceRecord | None:
        if provider is not None:
            linked = [*provider.dependencies, *(u for urns in provider.property_dependencies.values() for u in urns)]
            for urn in linked:
                record = self.by_urn.get(urn)
                if record is not None and record.type == EKS_CLUSTER:
                    return record
        candidates = self.eks_by_region.get(region, [])
        return candidates[0] if len(candidates) == 1 else None

    def of(self, record: ResourceRecord) -> _Cluster:
        key = record.provider
        if key in self.clusters:
            return self.clusters[key]
        provider = self.by_urn.get(key) if key else None
        label = provider.name if provider is not None else "default provider"
        eks = self._eks_of(provider, record.region)
        version = plain(eks.inputs).get("version") if eks is not None else None
        if not isinstance(version, str) or not version:
            version = DEFAULT_KUBERNETES_VERSION
            where = f"EKS cluster {eks.name} sets no version" if eks is not None else "no EKS cluster in the plan"
            self.notes.append(f"cluster of {label}: {where}; built-in kinds checked against Kubernetes {version}")
        cluster = _Cluster(label, version)
        self.clusters[key] = cluster
        return cluster


def _relabel(problems: list[ValidationProblem], record: ResourceRecord, object_name: str | None = None) -> list[ValidationProblem]:
    return [
        dataclasses.replace(
            p,
            urn=record.urn,
            resource_name=record.name,
            object_name=object_name if object_name is not None else p.object_name,
        )
        for p in problems
    ]


def _release_problems(record: ResourceRecord) -> list[ValidationProblem]:
    inputs = plain(record.inputs)
    chart = str(inputs.get("chart") or "")
    release = str(inputs.get("name") or record.name)
    values = inputs.get("values") or {}
    problems = validate_helm_values(chart, str(inputs.get("version") or ""), values if isinstance(values, Mapping) else {})
    if inputs.get("valueYamlFiles"):
        problems.append(
            ValidationProblem(
                kind="Release",
                api_version="helm.sh/v3",
                object_name=release,
                path="valueYamlFiles",
                message="values files are not read offline: only `values` is checked",
                severity="unvalidated",
            )
        )
    return _relabel(problems, record, release)


def _object_of(record: ResourceRecord) -> dict[str, Any]:
    obj = plain(record.inputs)
    api_version, kind = _api_version_and_kind(record.type)
    obj.setdefault("apiVersion", api_version)
    obj.setdefault("kind", kind)
    return dict(obj)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: after a plan the heap holds hundreds of
    thousands of objects, and each full collection the validation's allocations would
    trigger scans them all (a third of a small plan's validation time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_plan(plan_result: PlanResult) -> ValidationReport:
    """Every Kubernetes object (built-in kinds and custom resources) and every Helm
    release's values in ``plan_result``, checked against the schemas of the versions the
    plan pins."""
    with _collector_paused():
        return _validate_plan(plan_result)


def _validate_plan(plan_result: PlanResult) -> ValidationReport:
    clusters = _Clusters(plan_result)
    kubernetes = [r for r in plan_result.resources if r.type.startswith("kubernetes:")]
    for record in kubernetes:
        if record.type in HELM_VALUES_TYPES:
            inputs = plain(record.inputs)
            cluster = clusters.of(record)
            if inputs.get("chart") and inputs.get("version"):
                cluster.charts[chart_name(str(inputs["chart"]))] = str(inputs["version"])
    problems: list[ValidationProblem] = []
    checked: Counter[str] = Counter()
    notes: list[str] = []
    for record in kubernetes:
        if record.type in HELM_VALUES_TYPES:
            problems += _release_problems(record)
            checked["Release"] += 1
            continue
        if record.type in PROVIDER_RENDERED:
            problems.append(
                ValidationProblem(
                    kind=record.type.rsplit(":", 1)[-1],
                    api_version=record.type.split(":")[1],
                    object_name="",
                    path="",
                    message="its objects are rendered by the Kubernetes provider at deploy time, so not validated offline",
                    severity="unvalidated",
                    urn=record.urn,
                    resource_name=record.name,
                )
            )
            continue
        if not record.custom:
            continue  # components of the SDK (yaml v1, helm v3 Chart) register their objects as resources
        cluster = clusters.of(record)
        obj = _object_of(record)
        kind = str(obj["kind"])
        if kind.endswith("Patch") and record.type.endswith("Patch"):
            problems += _relabel(
                [ValidationProblem(kind=kind, api_version=str(obj["apiVersion"]), object_name="", path="", message="patches are partial objects: not validated", severity="unvalidated")],
                record,
            )
            continue
        problems += _relabel(validate_object(obj, kubernetes_version=cluster.version, charts=cluster.charts), record)
        if schema_for(str(obj["apiVersion"]), kind, kubernetes_version=cluster.version, charts=cluster.charts) is None:
            continue  # listed as unvalidated
        checked[kind] += 1
        group, _ = split_api_version(str(obj["apiVersion"]))
        choice = choose_crd(group, kind, cluster.charts) if group else None
        if choice is not None and choice.note and choice.note not in notes:
            notes.append(choice.note)
    for cluster in clusters.clusters.values():
        bundled = builtin.bundled_version(cluster.version)
        if bundled.note and bundled.note not in notes:
            notes.append(bundled.note)
    return ValidationReport(
        problems=sort_problems(problems),
        checked=dict(checked),
        kubernetes_versions={c.label: c.version for c in clusters.clusters.values()},
        notes=[*clusters.notes, *notes],
    )
