"""Cost Explorer for ``llmops spend``: the loopback moto server of the capacity tests (real
HTTP; its queue of cost-and-usage results seeded per test) and the loopback stub in front of
it for what moto lacks (forecasts, throttling, missing data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.capacity.conftest import _fake_server, aws_env, moto_url  # noqa: F401  (the same fixtures, for this directory)
from tests.capacity.fakeaws import FakeAws


@pytest.fixture
def ce(_fake_server: FakeAws, moto_url: str) -> Iterator[FakeAws]:  # noqa: F811
    """The stub in front of a freshly reset moto: no queued cost results, no forecast, no faults."""
    httpx.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    _fake_server.reset()
    yield _fake_server
    _fake_server.reset()


def seed_costs(moto_url: str, *pages: list[tuple[str, str, float]], next_tokens: tuple[str, ...] = ()) -> None:  # noqa: F811
    """Queues Cost Explorer answers in moto: one page per argument, each a list of
    (region, service, USD) groups, the way a REGION x SERVICE grouping returns them."""
    results: list[dict[str, Any]] = []
    for index, groups in enumerate(pages):
        result: dict[str, Any] = {
            "ResultsByTime": [
                {
                    "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-20"},
                    "Total": {},
                    "Groups": [
                        {"Keys": [region, service], "Metrics": {"UnblendedCost": {"Amount": f"{amount:.10f}", "Unit": "USD"}}}
                        for region, service, amount in groups
                    ],
                    "Estimated": True,
                }
            ],
            "DimensionValueAttributes": [],
        }
        if index < len(next_tokens):
            result["NextPageToken"] = next_tokens[index]
        results.append(result)
    httpx.post(f"{moto_url}/moto-api/static/ce/cost-and-usage-results", json={"results": results}, timeout=10).raise_for_status()


def forecast_of(amount: float) -> Any:
    """A GetCostForecast answer for the stub (records the request it was given)."""
    seen: list[dict[str, Any]] = []

    def answer(params: dict[str, Any]) -> dict[str, Any]:
        seen.append(params)
        return {
            "Total": {"Amount": f"{amount:.6f}", "Unit": "USD"},
            "ForecastResultsByTime": [{"TimePeriod": params["TimePeriod"], "MeanValue": f"{amount:.6f}"}],
        }

    answer.seen = seen  # type: ignore[attr-defined]
    return answer
