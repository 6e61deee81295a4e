"""``llmops spend`` against Cost Explorer on loopback (moto in server mode, a stub in front
of it for the forecast, throttling and missing data): month-to-date and forecast by region
and service, the verdict against budget and estimate, retries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from llmops.awsclient import RetryPolicy
from llmops.spend import SpendError, month_period
from llmops.spend.costexplorer import CostExplorer, cost_explorer_client, measure
from llmops.spend.models import Forecast, SpendReport
from tests.capacity.fakeaws import FakeAws, Fault
from tests.spend.conftest import forecast_of, seed_costs

TODAY = date(2026, 11, 20)
GROUPS = [
    ("us-east-1", "Amazon Elastic Compute Cloud - Compute", 612.40),
    ("us-east-1", "Amazon Elastic Kubernetes Service", 45.60),
    ("us-west-2", "Amazon Elastic Compute Cloud - Compute", 301.00),
    ("NoRegion", "AWS Cost Explorer", 0.40),
]


def _explorer(fake: FakeAws, sleeps: list[float] | None = None, attempts: int = 4) -> tuple[CostExplorer, list[dict[str, Any]]]:
    client = cost_explorer_client(endpoint_url=fake.url)
    sent: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.ce.GetCostAndUsage", lambda params, **_: sent.append(dict(params)))
    recorded = sleeps if sleeps is not None else []
    retry = RetryPolicy(max_attempts=attempts, base_delay_s=0.01, max_delay_s=0.02, sleep=recorded.append)
    return CostExplorer(client, retry), sent


# ----------------------------------------------------------------------------- the period and verdicts


@pytest.mark.parametrize(
    ("today", "start", "end", "elapsed"),
    [
        (date(2026, 11, 30), date(2026, 11, 1), date(2026, 12, 1), 29),
        (date(2026, 12, 15), date(2026, 12, 1), date(2027, 1, 1), 14),
        (date(2028, 2, 1), date(2028, 2, 1), date(2028, 3, 1), 0),
    ],
)
def test_the_month_of_a_day(today: date, start: date, end: date, elapsed: int) -> None:
    period = month_period(today)
    assert (period.start, period.end, period.elapsed_days) == (start, end, elapsed)


def _report(mtd: float, rest: float | None, budget: float = 1000, estimate: float | None = None, has_data: bool = True) -> SpendReport:
    return SpendReport(
        stack="dev", tag="Stack=dev", period=month_period(TODAY), month_to_date=mtd, by_region={}, by_service={},
        budget=budget, forecast=Forecast(rest, "" if rest is not None else "too little history"), estimate=estimate, has_data=has_data,
    )


def test_verdicts_against_budget_and_estimate() -> None:
    assert _report(400, 300).status == "ok" and _report(400, 300).warnings() == []
    over_forecast = _report(700, 450)
    assert over_forecast.status == "forecast-over-budget" and over_forecast.month_forecast == 1150
    assert over_forecast.warnings()[0].startswith("FORECAST OVER BUDGET: dev is forecast to spend $1,150.00")
    over = _report(1200, 100)
    assert over.status == "over-budget" and over.warnings()[0].startswith("OVER BUDGET: dev has spent $1,200.00")
    above = _report(400, 300, estimate=500)  # 700 is 40% above the estimate
    assert above.status == "ok" and above.warnings() == [
        "ABOVE ESTIMATE: the forecast $700.00 is 40% above the cost model's $500.00 (llmops cost --stack dev shows its assumptions)"
    ]
    assert _report(400, 300, estimate=600).warnings() == []  # within 20%
    assert _report(400, None).status == "ok" and _report(400, None).month_forecast is None
    assert _report(400, 300, estimate=900).estimate_to_date == pytest.approx(900 * 19 / 30)


# ----------------------------------------------------------------------------- Cost Explorer


@pytest.mark.moto
def test_month_to_date_by_region_and_service_and_the_forecast(ce: FakeAws, moto_url: str) -> None:
    seed_costs(moto_url, GROUPS)
    forecast = forecast_of(540.0)
    ce.json_answers["GetCostForecast"] = forecast
    explorer, sent = _explorer(ce)
    report = measure(explorer, stack="prod", budget=2000, estimate=1500, today=TODAY)
    assert report.month_to_date == pytest.approx(959.40)
    assert report.by_region == pytest.approx({"us-east-1": 658.0, "us-west-2": 301.0, "global": 0.40})
    assert report.by_service["Amazon Elastic Compute Cloud - Compute"] == pytest.approx(913.40)
    assert report.month_forecast == pytest.approx(1499.40)
    assert report.status == "ok" and report.warnings() == []
    # What was asked: this month's complete days, unblended cost, only the stack's tag.
    (request,) = sent
    assert request["TimePeriod"] == {"Start": "2026-11-01", "End": "2026-11-20"}
    assert request["Filter"] == {"Tags": {"Key": "Stack", "Values": ["prod"], "MatchOptions": ["EQUALS"]}}
    assert request["GroupBy"] == [{"Type": "DIMENSION", "Key": "REGION"}, {"Type": "DIMENSION", "Key": "SERVICE"}]
    assert request["Metrics"] == ["UnblendedCost"]
    (asked,) = forecast.seen
    assert asked["TimePeriod"] == {"Start": "2026-11-20", "End": "2026-12-01"}
    assert asked["Filter"] == request["Filter"] and asked["Metric"] == "UNBLENDED_COST"
    assert [c.answered_by for c in ce.calls] == ["moto", "stub"]
    document = report.to_document()
    assert (document["monthToDate"], document["forecast"], document["status"]) == (959.4, 1499.4, "ok")
    assert list(document["byRegion"]) == ["us-east-1", "us-west-2", "global"]


@pytest.mark.moto
def test_every_page_counts(ce: FakeAws, moto_url: str) -> None:
    seed_costs(moto_url, GROUPS[:2], GROUPS[2:], next_tokens=("page-2",))
    ce.json_answers["GetCostForecast"] = forecast_of(10)
    explorer, sent = _explorer(ce)
    report = measure(explorer, stack="prod", budget=2000, today=TODAY)
    assert report.month_to_date == pytest.approx(959.40)
    assert [r.get("NextPageToken") for r in sent] == [None, "page-2"]


@pytest.mark.moto
def test_forecast_over_budget_is_a_clear_warning(ce: FakeAws, moto_url: str) -> None:
    seed_costs(moto_url, GROUPS)
    ce.json_answers["GetCostForecast"] = forecast_of(900.0)
    explorer, _ = _explorer(ce)
    report = measure(explorer, stack="dev", budget=1500, today=TODAY)
    assert report.status == "forecast-over-budget"
    assert "FORECAST OVER BUDGET" in report.warnings()[0] and "$1,859.40" in report.warnings()[0]


@pytest.mark.moto
def test_an_account_with_no_data(ce: FakeAws) -> None:
    ce.faults.append(Fault("GetCostForecast", "DataUnavailableException", times=1, message="Insufficient amount of historical data"))
    explorer, _ = _explorer(ce)
    report = measure(explorer, stack="new", budget=500, today=TODAY)
    assert (report.month_to_date, report.by_region, report.month_forecast, report.has_data) == (0.0, {}, None, False)
    assert report.forecast.note == "Cost Explorer has too little cost history for this tag to forecast"
    assert report.status == "ok"
    assert any(w.startswith("NO DATA: Cost Explorer has no cost tagged Stack=new") for w in report.warnings())


@pytest.mark.moto
def test_throttling_is_retried_with_backoff(ce: FakeAws, moto_url: str) -> None:
    seed_costs(moto_url, GROUPS)
    ce.json_answers["GetCostForecast"] = forecast_of(100)
    ce.faults.append(Fault("GetCostAndUsage", "LimitExceededException", times=2, message="Rate exceeded"))
    ce.faults.append(Fault("GetCostForecast", "ThrottlingException", times=1))
    sleeps: list[float] = []
    explorer, _ = _explorer(ce, sleeps)
    report = measure(explorer, stack="prod", budget=2000, today=TODAY)
    assert report.month_to_date == pytest.approx(959.40)
    assert [c.answered_by for c in ce.calls_of("GetCostAndUsage")] == ["fault", "fault", "moto"]
    assert [c.answered_by for c in ce.calls_of("GetCostForecast")] == ["fault", "stub"]
    assert len(sleeps) == 3 and all(0 <= s <= 0.02 for s in sleeps)


@pytest.mark.moto
def test_throttling_past_every_attempt_says_so(ce: FakeAws) -> None:
    ce.faults.append(Fault("GetCostAndUsage", "LimitExceededException", times=10))
    explorer, _ = _explorer(ce, attempts=3)
    with pytest.raises(SpendError, match=r"kept throttling the requests \(LimitExceededException, 3 attempts\); try again in a minute"):
        measure(explorer, stack="prod", budget=2000, today=TODAY)
    assert len(ce.calls_of("GetCostAndUsage")) == 3


@pytest.mark.moto
@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("AccessDeniedException", "User: x is not authorized", "grant ce:GetCostAndUsage and ce:GetCostForecast"),
        ("AccessDeniedException", "User not enabled for cost explorer access", "enable it in the Billing console"),
        ("UnrecognizedClientException", "The security token included in the request is invalid", "AWS rejected the credentials"),
    ],
)
def test_refusals_name_the_fix(ce: FakeAws, code: str, message: str, expected: str) -> None:
    ce.faults.append(Fault("GetCostAndUsage", code, times=1, message=message))
    explorer, _ = _explorer(ce)
    with pytest.raises(SpendError, match=expected):
        measure(explorer, stack="prod", budget=2000, today=TODAY)


def test_the_first_of_the_month_asks_only_for_the_forecast() -> None:
    class NoCalls:
        def get_cost_and_usage(self, **_: Any) -> dict[str, Any]:
            raise AssertionError("month-to-date of an empty period")

        def get_cost_forecast(self, **kw: Any) -> dict[str, Any]:
            assert kw["TimePeriod"] == {"Start": "2026-12-01", "End": "2027-01-01"}
            return {"Total": {"Amount": "42.0", "Unit": "USD"}}

    report = measure(CostExplorer(NoCalls()), stack="dev", budget=100, today=date(2026, 12, 1))
    assert (report.month_to_date, report.month_forecast, report.has_data) == (0.0, 42.0, True)
