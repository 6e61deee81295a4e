"""The dashboards (``dashboards/``) and the alert rules (``components/prometheus_rules.py``)
name only metrics a live ``llmops serve`` exports: Ray Serve's from the Ray node's metrics
port (where Prometheus scrapes Ray pods), the serving API's from its ``/metrics``. The
request log writes one JSON line per request with the key id and team, never the key."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.alerting.promql import queried_metrics

pytestmark = pytest.mark.slow


def _sample_names(text: str) -> set[str]:
    return {line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def _ray_metrics_url() -> str:
    import ray

    port = next(n["MetricsExportPort"] for n in ray.nodes() if n["Alive"])
    return f"http://127.0.0.1:{port}/metrics"


@pytest.fixture(scope="module")
def autoscaled_probe(serve_app: Any) -> Any:
    """A one-replica autoscaling deployment beside the app, so the autoscaler's metrics
    (replicas desired and targeted) exist as they do for the RayService's deployments."""
    from ray import serve

    @serve.deployment(
        autoscaling_config={"min_replicas": 1, "max_replicas": 1, "target_ongoing_requests": 1},
        ray_actor_options={"num_cpus": 0.05},
    )
    class AlertingProbe:
        def __call__(self, request: Any) -> str:
            return "ok"

    serve.run(AlertingProbe.bind(), name="alerting-probe", route_prefix="/alerting-probe", blocking=False)
    base = serve_app.url.rsplit("/", 1)[0] if serve_app.url.count("/") > 2 else serve_app.url
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/alerting-probe", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    yield base
    serve.delete("alerting-probe")


def test_dashboards_and_rules_query_metrics_a_live_serve_exports(serve_app: Any, autoscaled_probe: str) -> None:
    headers = {"Authorization": f"Bearer {serve_app.key}", "X-Llmops-Feature": "alerting"}
    with httpx.Client(base_url=serve_app.url, headers=headers, timeout=60) as c:
        r = c.post("/v1/chat/completions", json={"model": "tiny", "messages": [{"role": "user", "content": "What is Ray Serve?"}], "max_tokens": 4, "cache": True})
        assert r.status_code == 200, r.text
        c.post("/v1/chat/completions", json={"model": "tiny", "messages": [{"role": "user", "content": "What is Ray Serve?"}], "max_tokens": 4, "cache": True})
        assert c.get("/v1/models").status_code == 200
    assert httpx.get(f"{serve_app.url}/v1/models", timeout=10).status_code == 401  # an error answer at the proxy
    for _ in range(3):
        httpx.get(f"{autoscaled_probe}/alerting-probe", timeout=10)

    used = queried_metrics()
    wanted_ray = {n for n in used if n.startswith("ray_serve_")}
    wanted_api = {n for n in used if n.startswith("llmops_")}
    assert wanted_ray and wanted_api
    api = _sample_names(httpx.get(f"{serve_app.url}/metrics", timeout=10).text)
    assert not wanted_api - api, f"not exported by the serving API: {sorted(wanted_api - api)}"

    # Ray pushes replica and proxy metrics to the node's exporter every few seconds.
    ray_names: set[str] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        text = httpx.get(_ray_metrics_url(), timeout=10).text
        ray_names = _sample_names(text)
        if wanted_ray <= ray_names:
            break
        time.sleep(2)
    missing = {n: sorted(used[n]) for n in wanted_ray - ray_names}
    assert not missing, f"not exported by Ray Serve {__import__('ray').__version__}: {missing}"
    # The labels the rules and dashboards group by exist too.
    errors = [line for line in text.splitlines() if line.startswith("ray_serve_num_http_error_requests_total{")]
    assert errors and all(f"{label}=" in errors[0] for label in ("application", "route", "error_code"))


def _session_logs() -> Path:
    """This process's Ray session's log directory (``session_latest`` may be another run's)."""
    import ray

    return Path(ray._private.worker._global_node.get_logs_dir_path())


def test_request_log_names_the_key_id_and_team_never_the_key(serve_app: Any) -> None:
    headers = {"Authorization": f"Bearer {serve_app.team_b_key}", "X-Llmops-Feature": "logs"}
    r = httpx.post(
        f"{serve_app.url}/v1/chat/completions",
        json={"model": "extractive", "messages": [{"role": "user", "content": "a question nobody else asks 7341"}], "cache": False},
        headers=headers,
        timeout=60,
    )
    assert r.status_code == 200, r.text
    lines: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not lines:
        for path in (_session_logs() / "serve").glob("replica_*.log"):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                start = line.find('{"event": "llmops.request"')
                if start >= 0 and '"feature": "logs"' in line:
                    lines.append(json.loads(line[start : line.rindex("}") + 1]))
        time.sleep(0.5)
    assert lines, "no request log line in the replica logs"
    line = lines[-1]
    assert (line["route"], line["model"], line["status"], line["key_id"], line["team"]) == ("chat", "extractive", 200, "team-b-key", "team-b")
    assert line["latency_ms"] > 0
    for path in _session_logs().rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert serve_app.team_b_key.encode() not in data, path
            assert b"a question nobody else asks 7341" not in data, path
