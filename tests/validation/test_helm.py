"""Helm values against each chart's own values.yaml: unknown keys and wrong types are
errors, open maps and documented keys are not, subcharts are checked under their alias."""

from __future__ import annotations

from typing import Any

from components.versions import KARPENTER_VERSION
from llmops.validation import validate_helm_values
from llmops.validation.helm import chart_name, documented_keys

KARPENTER = "oci://public.ecr.aws/karpenter/karpenter"

# The values the platform sets today, per chart (components/cluster/*).
RENDERED = {
    (KARPENTER, KARPENTER_VERSION): {
        "controller": {"resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "512Mi"}}},
        "nodeSelector": {"llmops.io/pool": "system"},
        "replicas": 2,
        "serviceAccount": {"name": "karpenter"},
        "settings": {"clusterName": "llmops-dev-us-east-1", "interruptionQueue": "llmops-dev-us-east-1-karpenter"},
    },
    ("nvidia-device-plugin", "0.17.4"): {
        "affinity": {"nodeAffinity": {}},
        "gfd": {"enabled": True},
        "nfd": {"enabled": True, "worker": {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}},
        "tolerations": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}],
    },
    ("dcgm-exporter", "4.5.2"): {
        "podAnnotations": {"prometheus.io/scrape": "true"},
        "service": {"enable": True, "port": 9400},
        "serviceMonitor": {"enabled": False},
    },
}


def paths(chart: str, version: str, values: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {p.path: (p.severity, p.message) for p in validate_helm_values(chart, version, values)}


def test_the_values_the_platform_sets_are_known() -> None:
    for (chart, version), values in RENDERED.items():
        assert validate_helm_values(chart, version, values) == [], chart


def test_an_unknown_key_is_an_error_with_a_hint() -> None:
    problems = validate_helm_values(KARPENTER, KARPENTER_VERSION, {"settings": {"clusterName": "c", "interuptionQueue": "q"}})
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.kind, problem.api_version, problem.object_name, problem.path) == ("Release", "helm.sh/v3", "karpenter", "values.settings.interuptionQueue")
    assert problem.severity == "error"
    assert problem.message == f'unknown key: chart karpenter {KARPENTER_VERSION} has no such value (Helm ignores it); did you mean "interruptionQueue"?'
    assert problem.schema == f"karpenter-{KARPENTER_VERSION}/values.yaml"


def test_a_wrong_type_is_an_error() -> None:
    found = paths(KARPENTER, KARPENTER_VERSION, {"replicas": "2", "settings": {"featureGates": {"spotToSpotConsolidation": "true"}}, "tolerations": {}})
    assert found["values.replicas"] == ("error", "expected a number (the chart's default is 2), got a string")
    assert found["values.settings.featureGates.spotToSpotConsolidation"] == (
        "error",
        "expected a boolean (the chart's default is False), got a string",
    )
    assert found["values.tolerations"][1].startswith("expected a list (the chart's default is [{'key': 'CriticalAddonsOnly'")
    assert len(found) == 3


def test_open_maps_documented_keys_nulls_and_global() -> None:
    # nodeSelector has a non-empty default but is a pass-through map; labels defaults to {}
    assert validate_helm_values(KARPENTER, KARPENTER_VERSION, {"nodeSelector": {"any": "thing"}, "podLabels": {"team": "ml"}}) == []
    assert validate_helm_values("kuberay-operator", "1.7.0", {"labels": {"a": "b"}, "watchNamespace": ["ray"], "global": {"x": 1}}) == []
    assert validate_helm_values(KARPENTER, KARPENTER_VERSION, {"affinity": None, "controller": {"image": None}}) == []
    assert validate_helm_values("kube-prometheus-stack", "88.5.3", {"alertmanager": {"config": {"receivers": [{"name": "sns", "sns_configs": []}]}}}) == []


def test_subchart_values_under_their_alias() -> None:
    found = paths("nvidia-device-plugin", "0.17.4", {"nfd": {"enabled": True, "worker": {"tolerationz": []}}, "gfd": {"enabled": True}})
    assert found == {
        "values.nfd.worker.tolerationz": ("error", 'unknown key: chart nvidia-device-plugin 0.17.4 has no such value (Helm ignores it); did you mean "tolerations"?')
    }
    grafana = {"grafana": {"sidecar": {"dashboards": {"enabled": True, "searchNamespace": "ALL", "folderAnnotation": "grafana_folder"}}}}
    assert validate_helm_values("kube-prometheus-stack", "88.5.3", grafana) == []


def test_a_subchart_without_vendored_values_is_unvalidated() -> None:
    # the parent's defaults for it are known; anything else is not checked
    found = paths("kube-prometheus-stack", "88.5.3", {"prometheus-windows-exporter": {"anything": 1}})
    assert found == {
        "values.prometheus-windows-exporter.anything": ("unvalidated", "not checked: the values of subchart 'prometheus-windows-exporter' are not vendored")
    }


def test_a_chart_or_version_not_vendored_is_unvalidated() -> None:
    severity, message = paths("cluster-autoscaler", "9.1.0", {"x": 1})["values"]
    assert severity == "unvalidated"
    assert message.startswith("values not checked: no vendored values for cluster-autoscaler 9.1.0 (vendored: ") and "9.59.0" in message
    assert paths("oci://example.com/charts/mine", "1.0.0", {})["values"][0] == "unvalidated"
    assert paths("dcgm-exporter", "", {})["values"] == ("unvalidated", "values not checked: no chart version is pinned")


def test_chart_references_and_documented_keys() -> None:
    assert chart_name(KARPENTER) == chart_name("karpenter") == chart_name("stable/karpenter") == "karpenter"
    text = "a:\n  b: 1\n  # c: 2\n  # d:\n  #   e: 3\n# top: x\nf:\n  # g: ''\n"
    assert documented_keys(text) == {("a", "c"), ("a", "d"), ("top",), ("f", "g")}
