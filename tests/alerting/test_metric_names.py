"""Dashboards and rules name only metrics that exist: DCGM's from the exporter's own list
(kept in the repository with its source); Ray Serve's and the serving API's are checked
against a live ``llmops serve`` in ``tests/serving/test_serving_metric_names.py``."""

from __future__ import annotations

import json

import pytest

from tests.alerting.promql import DASHBOARDS, dcgm_metrics, metric_names, queried_metrics


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (application, le) (rate(ray_serve_http_request_latency_ms_bucket{route!~"/-/.*"}[5m]))', {"ray_serve_http_request_latency_ms_bucket"}),
        ("100 * DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 95", {"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}),
        ('sum(rate(llmops_tokens_total{direction="out"}[10m] offset 1d)) > 0 and on (x) up', {"llmops_tokens_total", "up"}),
        ('histogram_quantile(0.99, sum(rate(a_bucket{ray_io_cluster=~"$cluster"}[5m])) by (le))', {"a_bucket"}),
    ],
)
def test_metric_names_are_read_out_of_promql(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


def test_every_metric_comes_from_a_known_exporter() -> None:
    used = queried_metrics()
    unknown = {n: sorted(w) for n, w in used.items() if not n.startswith(("ray_serve_", "llmops_", "DCGM_FI_"))}
    assert not unknown, f"metrics from no scraped exporter: {unknown}"


def test_gpu_metrics_are_ones_the_dcgm_exporter_exports() -> None:
    exported = dcgm_metrics()
    assert len(exported) == 24 and "DCGM_FI_DEV_GPU_UTIL" in exported
    assert "DCGM_FI_DEV_FB_RESERVED" not in exported  # in the image's list, not the chart's
    used = {n: sorted(w) for n, w in queried_metrics().items() if n.startswith("DCGM_")}
    assert used, "the GPU dashboard and rules query DCGM metrics"
    missing = {n: w for n, w in used.items() if n not in exported}
    assert not missing, f"not exported by the DCGM exporter as installed: {missing}"


def test_dashboards_are_grafana_json_for_the_sidecar() -> None:
    stems = sorted(p.stem for p in DASHBOARDS.glob("*.json"))
    assert stems == ["cost", "gpus", "serve"]
    for path in DASHBOARDS.glob("*.json"):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert dashboard["uid"] == f"llmops-{path.stem}" and dashboard["title"].startswith("llmops / ")
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path
        for panel in dashboard["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (path.stem, panel["title"])
            assert panel["targets"], (path.stem, panel["title"])
