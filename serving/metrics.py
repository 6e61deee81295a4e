"""Prometheus metrics of the serving plane (exposed by the ingress at ``GET /metrics``).

Every ingress replica exports its own series; Prometheus sums them. Usage and cost carry the
``key`` (API key id, never the key), ``team`` and ``feature`` labels for attribution. The
``feature`` label comes from the ``X-Llmops-Feature`` request header, restricted to a short
slug so label cardinality stays bounded (another value is a 400, not a silent relabel).

Every answered request is counted with its status, refusals (4xx) included: a
:class:`RequestMeter` follows the request and records it once, when the answer (or, for a
stream, its last event) is sent.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from serving.requestlog import log_request

_FEATURE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
COST_BUCKETS = (0.0, 1e-6, 1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0)


#: Header naming the product feature a request is for (cost attribution).
FEATURE_HEADER = "X-Llmops-Feature"


class InvalidFeatureError(ValueError):
    """The feature header is not a short slug (its message says what is allowed)."""


def feature_label(value: str | None) -> str:
    """The label value for the feature header: ``unspecified`` when absent; the lower-cased
    slug when valid; :class:`InvalidFeatureError` otherwise."""
    if value is None or not value.strip():
        return "unspecified"
    slug = value.strip().lower()
    if not _FEATURE_RE.match(slug):
        raise InvalidFeatureError(
            f"header {FEATURE_HEADER} must be 1-32 characters of a-z, 0-9, '_' or '-', "
            f"starting with a letter or digit (got {value[:40]!r})"
        )
    return slug


@dataclass
class RequestMeter:
    """The labels of one request as they become known, and when it started."""

    route: str
    model: str = "-"
    key: str = "-"
    team: str = "-"
    feature: str = "unspecified"
    started: float = field(default_factory=time.perf_counter)
    #: set by a streaming answer, which records its own status when the stream ends
    deferred: bool = False
    recorded: bool = False


class ServingMetrics:
    """The metric families, on their own registry (one per process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.request_latency = Histogram(
            "llmops_request_latency_seconds",
            "End-to-end request latency at the ingress.",
            ["route", "model", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "llmops_requests",
            "Requests by route, model, status and caller.",
            ["route", "model", "status", "key", "team", "feature"],
            registry=r,
        )
        self.tokens = Counter(
            "llmops_tokens",
            "Tokens in (prompt) and out (completion), attributed to the caller.",
            ["direction", "model", "key", "team", "feature"],
            registry=r,
        )
        self.cost = Counter(
            "llmops_cost_usd",
            "Estimated cost in USD, attributed to the caller.",
            ["model", "key", "team", "feature"],
            registry=r,
        )
        self.request_cost = Histogram(
            "llmops_request_cost_usd",
            "Estimated cost per request in USD.",
            ["model"],
            buckets=COST_BUCKETS,
            registry=r,
        )
        self.cache_events = Counter(
            "llmops_cache_events",
            "Semantic cache lookups by result: hit_exact, hit_semantic, miss, bypass, and "
            "near_miss (a similar question refused by the lexical check).",
            ["result"],
            registry=r,
        )
        self.cache_hit_ratio = Gauge(
            "llmops_cache_hit_ratio",
            "Hits / (hits + misses) of the semantic cache since start (this replica).",
            registry=r,
        )
        self.cache_unavailable = Counter(
            "llmops_cache_unavailable",
            "Requests that bypassed the cache because its backend was unreachable.",
            registry=r,
        )
        self.cache_errors = Counter(
            "llmops_cache_errors",
            "Failed cache operations by operation (lookup, store) and kind: unreachable (an "
            "outage, retried after a pause) or refused (the server answered with an error, "
            "which recurs on every request until the configuration is fixed).",
            ["operation", "kind"],
            registry=r,
        )
        self.retrieval_latency = Histogram(
            "llmops_retrieval_latency_seconds",
            "Retrieval latency by mode (hybrid or vector; query embedding excluded).",
            ["mode"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.embedding_latency = Histogram(
            "llmops_embedding_latency_seconds",
            "Latency of embedding calls made by the ingress.",
            ["purpose"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "llmops_upstream_errors",
            "Failed backend attempts by model, backend and error kind.",
            ["model", "backend", "kind"],
            registry=r,
        )
        self.fallbacks = Counter(
            "llmops_fallbacks",
            "Requests answered by a later backend of the fallback chain.",
            ["model", "backend"],
            registry=r,
        )
        self.upstream_unavailable = Counter(
            "llmops_upstream_unavailable",
            "Requests that failed after every backend of the chain failed (503).",
            ["model"],
            registry=r,
        )
        self.auth_failures = Counter(
            "llmops_auth_failures",
            "Rejected requests by reason (missing_api_key, invalid_api_key, ...).",
            ["reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "llmops_rate_limited",
            "Requests refused by the per-key rate limit.",
            ["key", "team"],
            registry=r,
        )
        self.documents_ingested = Counter(
            "llmops_documents_ingested",
            "Documents by ingest outcome (created, updated, unchanged, duplicate).",
            ["status"],
            registry=r,
        )
        self.chunks_ingested = Counter(
            "llmops_chunks_ingested", "Chunks written to the vector store.", registry=r
        )
        self.route_decisions = Counter(
            "llmops_route_decisions",
            "Router decisions by model and reason (requested, split, default).",
            ["model", "reason"],
            registry=r,
        )
        self._hits = 0
        self._lookups = 0

    def observe(self, meter: RequestMeter, status: int) -> None:
        """Count a finished request with its status and latency (once per request)."""
        if meter.recorded:
            return
        meter.recorded = True
        self.request_latency.labels(route=meter.route, model=meter.model, status=str(status)).observe(
            time.perf_counter() - meter.started
        )
        self.requests.labels(
            route=meter.route,
            model=meter.model,
            status=str(status),
            key=meter.key,
            team=meter.team,
            feature=meter.feature,
        ).inc()
        log_request(
            route=meter.route,
            model=meter.model,
            status=status,
            latency_ms=(time.perf_counter() - meter.started) * 1000,
            key_id=meter.key,
            team=meter.team,
            feature=meter.feature,
        )

    def account(
        self, model: str, meter: RequestMeter, prompt: int, completion: int, cost: float
    ) -> None:
        """Attribute tokens and cost of one answer to the caller of ``meter``."""
        labels = {"model": model, "key": meter.key, "team": meter.team, "feature": meter.feature}
        self.tokens.labels(direction="in", **labels).inc(prompt)
        self.tokens.labels(direction="out", **labels).inc(completion)
        self.cost.labels(**labels).inc(cost)
        self.request_cost.labels(model=model).observe(cost)

    def cache_event(self, result: str) -> None:
        """Count a cache lookup result and refresh the hit ratio."""
        self.cache_events.labels(result=result).inc()
        if result == "bypass":
            self.cache_unavailable.inc()
            return
        if result == "near_miss":  # followed by its own "miss" event
            return
        self._lookups += 1
        if result.startswith("hit"):
            self._hits += 1
        self.cache_hit_ratio.set(self._hits / self._lookups)

    def cache_error(self, operation: str, kind: str) -> None:
        """Count a failed cache operation (see :func:`serving.cache.error_kind`)."""
        self.cache_errors.labels(operation=operation, kind=kind).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
