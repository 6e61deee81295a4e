"""The spend report of a stack and its verdicts, as data (no AWS calls here).

Cost Explorer's periods are half-open (``End`` is excluded). Month-to-date runs from the
first of the month to today (complete days; Cost Explorer's data lags by up to a day), the
forecast from today to the first of the next month, and the month's forecast is the sum of
the two. On the first day of a month nothing is spent yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

SpendStatus = Literal["ok", "forecast-over-budget", "over-budget"]

ESTIMATE_TOLERANCE = 0.2
"""Spend may run this share above the cost model's estimate before the report says so."""


@dataclass(frozen=True)
class Period:
    """The month a report covers, as of ``today``."""

    today: date
    start: date
    """First day of the month."""
    end: date
    """First day of the next month."""

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def elapsed_days(self) -> int:
        """Complete days of the month gone (month-to-date covers them)."""
        return (self.today - self.start).days

    @property
    def elapsed_share(self) -> float:
        return self.elapsed_days / self.days


def month_period(today: date) -> Period:
    """The calendar month of ``today``."""
    start = today.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period(today=today, start=start, end=end)


@dataclass(frozen=True)
class Forecast:
    """Cost Explorer's forecast for the rest of the month (None: it has none)."""

    rest_of_month: float | None
    note: str = ""
    """Why there is no forecast, when there is none."""


@dataclass
class SpendReport:
    """A stack's spend this month against its budget and estimate."""

    stack: str
    tag: str
    """The cost-allocation tag filter, e.g. ``Stack=prod``."""
    period: Period
    month_to_date: float
    by_region: dict[str, float]
    by_service: dict[str, float]
    budget: float
    """The stack's monthly budget (USD)."""
    forecast: Forecast
    estimate: float | None = None
    """The cost model's expected monthly cost of the stack's plan (None: not computed)."""
    currency: str = "USD"
    has_data: bool = True
    """Whether Cost Explorer returned any cost for the tag this month."""
    notes: list[str] = field(default_factory=list)

    @property
    def month_forecast(self) -> float | None:
        """Month-to-date plus the forecast for the rest of the month."""
        rest = self.forecast.rest_of_month
        return None if rest is None else self.month_to_date + rest

    @property
    def status(self) -> SpendStatus:
        if self.month_to_date > self.budget:
            return "over-budget"
        forecast = self.month_forecast
        if forecast is not None and forecast > self.budget:
            return "forecast-over-budget"
        return "ok"

    @property
    def estimate_to_date(self) -> float | None:
        """The estimate prorated to the days gone."""
        return None if self.estimate is None else self.estimate * self.period.elapsed_share

    def warnings(self) -> list[str]:
        """What the owner must hear, most serious first."""
        found = []
        if self.status == "over-budget":
            found.append(
                f"OVER BUDGET: {self.stack} has spent ${self.month_to_date:,.2f} this month, above its "
                f"${self.budget:,.2f} budget (llmops:budget.monthlyUsd)"
            )
        elif self.status == "forecast-over-budget":
            assert self.month_forecast is not None
            found.append(
                f"FORECAST OVER BUDGET: {self.stack} is forecast to spend ${self.month_forecast:,.2f} this month, "
                f"above its ${self.budget:,.2f} budget"
            )
        forecast = self.month_forecast
        if self.estimate is not None and forecast is not None and forecast > self.estimate * (1 + ESTIMATE_TOLERANCE):
            found.append(
                f"ABOVE ESTIMATE: the forecast ${forecast:,.2f} is {forecast / self.estimate - 1:.0%} above the cost "
                f"model's ${self.estimate:,.2f} (llmops cost --stack {self.stack} shows its assumptions)"
            )
        if not self.has_data:
            found.append(
                f"NO DATA: Cost Explorer has no cost tagged {self.tag} this month. A new stack shows up within a day; "
                "otherwise activate the cost-allocation tags (llmops:budget.accountSingletons on the stack that owns them)"
            )
        return found

    def to_document(self) -> dict[str, Any]:
        """The report as JSON-ready data (``--json``)."""
        return {
            "stack": self.stack,
            "filter": self.tag,
            "currency": self.currency,
            "period": {"start": self.period.start.isoformat(), "end": self.period.end.isoformat(), "today": self.period.today.isoformat()},
            "monthToDate": round(self.month_to_date, 2),
            "forecast": None if self.month_forecast is None else round(self.month_forecast, 2),
            "forecastNote": self.forecast.note or None,
            "budget": round(self.budget, 2),
            "estimate": None if self.estimate is None else round(self.estimate, 2),
            "estimateToDate": None if self.estimate_to_date is None else round(self.estimate_to_date, 2),
            "status": self.status,
            "hasData": self.has_data,
            "byRegion": _rounded(self.by_region),
            "byService": _rounded(self.by_service),
            "warnings": self.warnings(),
            "notes": list(self.notes),
        }


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))}
