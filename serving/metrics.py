"""Prometheus metrics of the serving plane (exposed by the ingress at ``GET /metrics``).

Every ingress replica exports its own series; Prometheus sums them. Usage and cost carry the
``key`` (API key id, never the key), ``team`` and ``feature`` labels for attribution. The
``feature`` label comes from the ``X-Llmops-Feature`` request header, restricted to a short
slug so label cardinality stays bounded.
"""

from __future__ import annotations

import re

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_FEATURE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
COST_BUCKETS = (0.0, 1e-6, 1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0)


def feature_label(value: str | None) -> str:
    """A bounded label value for the feature header (``unspecified`` when absent/invalid)."""
    if value and _FEATURE_RE.match(value.strip().lower()):
        return value.strip().lower()
    return "unspecified"


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
            "Semantic cache lookups by result: hit_exact, hit_semantic, miss, bypass.",
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
        self.retrieval_latency = Histogram(
            "llmops_retrieval_latency_seconds",
            "Vector search latency (query embedding excluded).",
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

    def cache_event(self, result: str) -> None:
        """Count a cache lookup result and refresh the hit ratio."""
        self.cache_events.labels(result=result).inc()
        if result == "bypass":
            self.cache_unavailable.inc()
            return
        self._lookups += 1
        if result.startswith("hit"):
            self._hits += 1
        self.cache_hit_ratio.set(self._hits / self._lookups)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
