"""The serving API's request log: one JSON line per answered request, for CloudWatch Logs
Insights (the runbooks' queries parse it).

A line names the route, model, status, latency and the caller by API key id, team and
feature. It never holds the API key or the prompt and answer text. It goes to the
``ray.serve.llmops.requests`` logger, so Ray Serve's handlers write it with the replica's
other logs (to stderr as well when ``RAY_LOG_TO_STDERR=1``, where the cluster's log shipper
reads it)::

    {"event": "llmops.request", "route": "chat", "model": "tiny", "status": 200,
     "latency_ms": 412.5, "key_id": "search-prod", "team": "search", "feature": "chat"}
"""

from __future__ import annotations

import json
import logging

LOGGER = "ray.serve.llmops.requests"
EVENT = "llmops.request"

log = logging.getLogger(LOGGER)


def request_line(
    *, route: str, model: str, status: int, latency_ms: float, key_id: str, team: str, feature: str
) -> str:
    """The JSON line of one request (fields only; nothing the caller sent)."""
    return json.dumps(
        {
            "event": EVENT,
            "route": route,
            "model": model,
            "status": status,
            "latency_ms": round(latency_ms, 1),
            "key_id": key_id,
            "team": team,
            "feature": feature,
        },
        separators=(", ", ": "),
    )


def log_request(
    *, route: str, model: str, status: int, latency_ms: float, key_id: str, team: str, feature: str
) -> None:
    """Writes the request's line to the request log."""
    log.info(
        "%s",
        request_line(
            route=route, model=model, status=status, latency_ms=latency_ms, key_id=key_id, team=team, feature=feature
        ),
    )
