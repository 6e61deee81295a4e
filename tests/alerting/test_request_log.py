"""The serving API's request log line: the fields the runbooks' Logs Insights queries parse,
the caller by key id and team, nothing the caller sent."""

from __future__ import annotations

import json
import logging

import pytest

from serving.requestlog import EVENT, LOGGER, log_request, request_line


def test_a_line_is_one_json_object_with_the_queried_fields() -> None:
    line = request_line(route="chat", model="tiny", status=503, latency_ms=1234.5678, key_id="search-prod", team="search", feature="chat")
    assert json.loads(line) == {
        "event": EVENT, "route": "chat", "model": "tiny", "status": 503, "latency_ms": 1234.6,
        "key_id": "search-prod", "team": "search", "feature": "chat",
    }
    # The runbooks parse these spellings with regular expressions.
    for fragment in ('"event": "llmops.request"', '"status": 503', '"latency_ms": 1234.6', '"team": "search"', '"key_id": "search-prod"'):
        assert fragment in line


def test_it_goes_to_ray_serves_logger(caplog: pytest.LogCaptureFixture) -> None:
    assert LOGGER.startswith("ray.serve.")  # Serve's handlers write it beside the replica's logs
    with caplog.at_level(logging.INFO, logger=LOGGER):
        log_request(route="embeddings", model="minilm", status=200, latency_ms=3.0, key_id="k", team="t", feature="unspecified")
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert json.loads(record.getMessage())["route"] == "embeddings"


def test_every_counted_request_is_logged_once_refusals_included(caplog: pytest.LogCaptureFixture) -> None:
    from serving.metrics import RequestMeter, ServingMetrics

    metrics = ServingMetrics()
    meter = RequestMeter(route="chat", model="tiny", key="search-prod", team="search", feature="chat")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        metrics.observe(meter, 429)
        metrics.observe(meter, 200)  # a request is counted (and logged) once
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER]
    assert [(line["status"], line["key_id"], line["team"]) for line in lines] == [(429, "search-prod", "search")]
