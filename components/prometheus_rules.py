"""The Prometheus alerting rules of the serving plane and the GPUs, as data.

The same groups become a ``PrometheusRule`` (kube-prometheus-stack) or a rule-group
namespace of Amazon Managed Service for Prometheus; ``promtool check rules`` and ``promtool
test rules`` run on them in the tests. Every alert carries ``severity``, ``platform:
llmops`` (Alertmanager routes on it) and the annotations ``summary``, ``description`` and
``runbook_url`` (a page of ``docs/runbooks/``).

Metrics used (each checked against a live ``llmops serve`` or the DCGM exporter's list in
the tests):

* Ray Serve (``ray_serve_*``, scraped from the Ray pods on 8080): request counts, errors and
  latency histograms at the HTTP proxy, queued queries per deployment, the autoscaler's
  desired and target replicas;
* the serving API (``llmops_*``, its ``/metrics``): tokens and estimated cost;
* the DCGM exporter (``DCGM_FI_*``): GPU utilization and framebuffer memory, with the GPU
  pool (``pool``) relabelled from the node's ``llmops.io/gpu-pool`` label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.monitoring import threshold_problems

PLATFORM_LABEL = {"platform": "llmops"}
"""Label every platform alert carries; Alertmanager routes it to the alert topic."""


@dataclass(frozen=True)
class RuleThresholds:
    """When the Prometheus alerts fire (the composition fills them from ``llmops:alerting``
    and the environment's defaults)."""

    latency_p99_ms: float = 5000
    """p99 request latency at the Serve proxy, per application (ms)."""
    error_rate_percent: float = 2.0
    """Share of 5xx responses at the Serve proxy, per application (percent)."""
    queue_depth: float = 20
    """Requests queued in a deployment's handles, waiting for a replica."""
    gpu_idle_percent: float = 10
    """Average GPU utilization of a pool below which its GPUs count as idle (percent)."""
    gpu_memory_percent: float = 95
    """Framebuffer memory in use on one GPU above which it is near full (percent)."""
    tokens_drop_percent: float = 50
    """Drop of generated tokens per second against the same time a day earlier (percent)."""
    cost_per_hour_usd: float = 10
    """Estimated serving spend per hour (the API's ``llmops_cost_usd``)."""

    def problems(self, path: str) -> list[str]:
        """Every out-of-range threshold, with its path."""
        return threshold_problems(
            self,
            path,
            percentages=("error_rate_percent", "gpu_idle_percent", "gpu_memory_percent", "tokens_drop_percent"),
            positives=("latency_p99_ms", "queue_depth", "cost_per_hour_usd"),
        )


def _alert(
    name: str,
    expr: str,
    duration: str,
    severity: str,
    summary: str,
    description: str,
    runbook: str,
    runbook_base: str,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity, **PLATFORM_LABEL},
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": f"{runbook_base.rstrip('/')}/{runbook}.md",
        },
    }


def _number(value: float) -> str:
    return f"{value:g}"


def serving_rules(t: RuleThresholds, runbook_base: str) -> dict[str, Any]:
    """The ``llmops-serving`` group: latency, errors, queueing, scaling, throughput, spend."""
    requests = 'ray_serve_num_http_requests_total{route!~"/-/.*"}'
    errors = 'ray_serve_num_http_error_requests_total{route!~"/-/.*",error_code=~"5.."}'
    tokens_out = 'llmops_tokens_total{direction="out"}'
    keep = 1 - t.tokens_drop_percent / 100
    return {
        "name": "llmops-serving",
        "rules": [
            _alert(
                "ServeLatencyP99High",
                "histogram_quantile(0.99, sum by (application, le) "
                f'(rate(ray_serve_http_request_latency_ms_bucket{{route!~"/-/.*"}}[5m]))) > {_number(t.latency_p99_ms)}',
                "10m",
                "warning",
                "Serve application {{ $labels.application }}: p99 latency is {{ $value | humanize }} ms",
                f"The 99th percentile of request latency at the Serve proxy has stayed above {_number(t.latency_p99_ms)} ms for 10 minutes.",
                "serve-latency",
                runbook_base,
            ),
            _alert(
                "ServeErrorRateHigh",
                f"100 * sum by (application) (rate({errors}[5m])) / sum by (application) (rate({requests}[5m])) "
                f"> {_number(t.error_rate_percent)}",
                "10m",
                "critical",
                "Serve application {{ $labels.application }}: {{ $value | humanize }}% of requests fail with 5xx",
                f"More than {_number(t.error_rate_percent)}% of the application's HTTP requests have answered 5xx for 10 minutes.",
                "serve-errors",
                runbook_base,
            ),
            _alert(
                "ServeQueueDepthHigh",
                f"sum by (application, deployment) (ray_serve_deployment_queued_queries) > {_number(t.queue_depth)}",
                "10m",
                "warning",
                "Deployment {{ $labels.application }}/{{ $labels.deployment }}: {{ $value }} requests wait for a replica",
                f"More than {_number(t.queue_depth)} requests have been queued in the deployment's handles for 10 minutes.",
                "serve-queue",
                runbook_base,
            ),
            _alert(
                "ServeReplicasAtMax",
                "max by (application, deployment) (ray_serve_autoscaling_desired_replicas) "
                "> max by (application, deployment) (ray_serve_autoscaling_target_replicas)",
                "15m",
                "warning",
                "Deployment {{ $labels.application }}/{{ $labels.deployment }} wants more replicas than max_replicas allows",
                "The Serve autoscaler has asked for more replicas than the deployment's max_replicas for 15 minutes: "
                "requests queue or slow down.",
                "serve-replicas-at-max",
                runbook_base,
            ),
            _alert(
                "ServeTokenThroughputDrop",
                f"sum(rate({tokens_out}[10m])) < {_number(keep)} * sum(rate({tokens_out}[10m] offset 1d)) "
                f"and sum(rate({tokens_out}[10m] offset 1d)) > 0",
                "30m",
                "warning",
                f"Generated tokens per second dropped by more than {_number(t.tokens_drop_percent)}% against yesterday",
                f"Tokens generated per second have stayed below {_number(keep * 100)}% of the same time a day earlier for 30 minutes.",
                "serve-tokens-drop",
                runbook_base,
            ),
            _alert(
                "ServeCostRateHigh",
                f"sum(rate(llmops_cost_usd_total[1h])) * 3600 > {_number(t.cost_per_hour_usd)}",
                "30m",
                "warning",
                "Serving spends {{ $value | humanize }} USD per hour",
                f"The serving API's estimated spend has stayed above {_number(t.cost_per_hour_usd)} USD per hour for 30 minutes.",
                "serve-cost-rate",
                runbook_base,
            ),
        ],
    }


def gpu_rules(t: RuleThresholds, runbook_base: str) -> dict[str, Any]:
    """The ``llmops-gpus`` group: idle GPUs (paid for, unused) and GPUs near full memory."""
    return {
        "name": "llmops-gpus",
        "rules": [
            _alert(
                "GpuPoolIdle",
                f"avg by (pool) (DCGM_FI_DEV_GPU_UTIL) < {_number(t.gpu_idle_percent)}",
                "1h",
                "warning",
                "GPU pool {{ $labels.pool }} averages {{ $value | humanize }}% utilization",
                f"The pool's GPUs have averaged under {_number(t.gpu_idle_percent)}% utilization for an hour: they are paid "
                "for and unused. Lower the pool's minNodes or consolidate replicas.",
                "gpu-idle",
                runbook_base,
            ),
            _alert(
                "GpuMemoryNearFull",
                "100 * DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) "
                f"> {_number(t.gpu_memory_percent)}",
                "10m",
                "warning",
                "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} ({{ $labels.pool }}) uses {{ $value | humanize }}% of its memory",
                f"The GPU's framebuffer memory has stayed above {_number(t.gpu_memory_percent)}% for 10 minutes: the next "
                "larger batch or longer context fails with out-of-memory.",
                "gpu-memory",
                runbook_base,
            ),
        ],
    }


def rule_groups(thresholds: RuleThresholds, runbook_base: str) -> list[dict[str, Any]]:
    """Every group, as the ``groups`` of a Prometheus rule file (and ``PrometheusRule.spec``)."""
    return [serving_rules(thresholds, runbook_base), gpu_rules(thresholds, runbook_base)]
