"""The platform's ServiceMonitors and PodMonitors select what the shipped stacks really run:
the RayService's head and worker pods (as KubeRay v1.7.0 labels them), the serving API on
the head's Serve port, and the DCGM exporter's Service (as its chart labels it); Prometheus
(kube-prometheus-stack) selects every monitor; the Ray containers leave their logs on the
container's output, where the CloudWatch add-on's Fluent Bit reads them.

The stacks are read from their plan snapshots (``tests/fixtures/plans``), which the snapshot
test keeps equal to what ``llmops plan`` gives for the shipped stack files."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from components import versions
from components.serving_plane.manifests import LOG_ENV
from tests.plan_snapshots import read

SHIPPED = ("dev", "staging", "prod")

# KubeRay v1.7.0, ray-operator/controllers/ray/utils/constant.go: the labels the operator puts
# on every Ray pod (RayClusterLabelKey, RayNodeTypeLabelKey, RayNodeGroupLabelKey,
# RayNodeLabelKey) and the values of the node type.
KUBERAY_CLUSTER_LABEL = "ray.io/cluster"
KUBERAY_NODE_TYPE_LABEL = "ray.io/node-type"
KUBERAY_GROUP_LABEL = "ray.io/group"
KUBERAY_HEAD_GROUP = "headgroup"


def _resources(stack: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in read(stack).resources.values() if r["type"].endswith(f":{kind}")]


def _region(urn: str) -> str:
    """``...::us-east-1-serving-rayservice`` -> ``us-east-1``."""
    name = urn.rsplit("::", 1)[-1]
    return "-".join(name.split("-")[:3])


def _ray_pods(rayservice: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The pods KubeRay creates for a RayService: each group's template with the operator's
    labels added, in the RayService's namespace."""
    cluster = rayservice["spec"]["rayClusterConfig"]
    cluster_name = f"{rayservice['metadata']['name']}-abcde"  # KubeRay appends a suffix per pending cluster
    groups = [("head", KUBERAY_HEAD_GROUP, cluster["headGroupSpec"])]
    groups += [("worker", g["groupName"], g) for g in cluster["workerGroupSpecs"]]
    for node_type, group, spec in groups:
        template = spec["template"]
        labels = {
            **template["metadata"]["labels"],
            KUBERAY_CLUSTER_LABEL: cluster_name,
            KUBERAY_NODE_TYPE_LABEL: node_type,
            KUBERAY_GROUP_LABEL: group,
            "ray.io/is-ray-node": "yes",
        }
        yield {"namespace": rayservice["metadata"]["namespace"], "labels": labels, "containers": template["spec"]["containers"], "group": group}


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # only matchLabels is used
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _in_namespaces(namespace_selector: Mapping[str, Any], namespace: str, own: str) -> bool:
    if namespace_selector.get("any"):
        return True
    return namespace in namespace_selector.get("matchNames", [own])


@pytest.mark.parametrize("stack", SHIPPED)
def test_ray_pod_monitors_select_every_ray_pod_on_a_port_it_declares(stack: str) -> None:
    monitors = {m["inputs"]["metadata"]["name"]: m for m in _resources(stack, "PodMonitor")}
    assert sorted(monitors) == ["llmops-serving-api", "ray-head", "ray-workers"]
    rayservices = _resources(stack, "RayService")
    assert rayservices, f"{stack} serves nothing"
    regions_with_monitors = {_region(m["urn"]) for m in _resources(stack, "PodMonitor")}
    for rayservice in rayservices:
        assert _region(rayservice["urn"]) in regions_with_monitors, rayservice["urn"]
        for pod in _ray_pods(rayservice["inputs"]):
            scraped_by = []
            for name, monitor in monitors.items():
                spec = monitor["inputs"]["spec"]
                own = monitor["inputs"]["metadata"]["namespace"]
                if not (_selects(spec["selector"], pod["labels"]) and _in_namespaces(spec["namespaceSelector"], pod["namespace"], own)):
                    continue
                ports = {p["name"] for c in pod["containers"] for p in c.get("ports", [])}
                for endpoint in spec["podMetricsEndpoints"]:
                    assert endpoint["port"] in ports, (stack, pod["group"], name, endpoint["port"], sorted(ports))
                scraped_by.append(name)
            expected = ["llmops-serving-api", "ray-head"] if pod["group"] == KUBERAY_HEAD_GROUP else ["ray-workers"]
            assert sorted(scraped_by) == expected, (stack, pod["group"])


@pytest.mark.parametrize("stack", SHIPPED)
def test_the_dcgm_service_monitor_selects_the_exporters_service_and_no_duplicate_scrapes_it(stack: str) -> None:
    (monitor_name,) = {m["inputs"]["metadata"]["name"] for m in _resources(stack, "ServiceMonitor")}
    assert monitor_name == "dcgm-exporter"
    releases = {r["urn"]: r["inputs"] for r in _resources(stack, "Release") if r["inputs"]["chart"] == versions.DCGM_EXPORTER.chart}
    monitors = {_region(m["urn"]): m["inputs"] for m in _resources(stack, "ServiceMonitor")}
    assert releases and len(releases) == len(monitors)
    for urn, release in releases.items():
        monitor = monitors[_region(urn)]
        values = release["values"]
        # The chart's Service (templates/service.yaml, _helpers.tpl selectorLabels): named after
        # the chart and the release, one port named "metrics".
        assert "nameOverride" not in values and "fullnameOverride" not in values
        service_labels = {"app.kubernetes.io/name": release["chart"], "app.kubernetes.io/instance": release["name"], "app.kubernetes.io/component": "dcgm-exporter"}
        spec = monitor["spec"]
        assert _selects(spec["selector"], service_labels), (urn, spec["selector"])
        assert _in_namespaces(spec["namespaceSelector"], release["namespace"], monitor["metadata"]["namespace"])
        assert [e["port"] for e in spec["endpoints"]] == ["metrics"]
        assert values["service"]["enable"] is True
        # The chart's own ServiceMonitor would scrape every GPU a second time, without the
        # pool label (and fail to install where the CRD is missing: metrics amp or none).
        assert values["serviceMonitor"] == {"enabled": False}


@pytest.mark.parametrize("stack", SHIPPED)
def test_prometheus_selects_every_monitor_and_rule_the_platform_creates(stack: str) -> None:
    (values,) = [r["inputs"]["values"] for r in _resources(stack, "Release") if r["inputs"]["chart"] == versions.KUBE_PROMETHEUS_STACK.chart][:1]
    spec = values["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule"):
        # false: Prometheus selects every object (and every namespace), not only those of the release
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind
        assert f"{kind}Selector" not in spec and f"{kind}NamespaceSelector" not in spec
    for kind in ("ServiceMonitor", "PodMonitor", "PrometheusRule"):
        for resource in _resources(stack, kind):
            # and the label the release would select by, for a Prometheus configured either way
            assert resource["inputs"]["metadata"]["labels"]["release"] == "kube-prometheus-stack", resource["urn"]


@pytest.mark.parametrize("stack", SHIPPED)
def test_ray_containers_log_to_their_output_for_the_log_shipper(stack: str) -> None:
    for rayservice in _resources(stack, "RayService"):
        for pod in _ray_pods(rayservice["inputs"]):
            ray = pod["containers"][0]  # KubeRay: the Ray container is the first
            env = {e["name"]: e.get("value") for e in ray["env"]}
            for name, value in LOG_ENV.items():
                assert env.get(name) == value, (stack, pod["group"], name)
    groups = {r["inputs"]["name"] for r in read(stack).resources.values() if r["type"] == "aws:cloudwatch/logGroup:LogGroup"}
    assert any(g.endswith("/application") and g.startswith("/aws/containerinsights/") for g in groups), sorted(groups)
