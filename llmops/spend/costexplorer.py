"""The boto3 layer of ``llmops spend``: asks Cost Explorer what a stack's tag has cost this
month and what it is forecast to cost, and turns AWS errors into clear messages.

Calls (IAM: ``ce:GetCostAndUsage``, ``ce:GetCostForecast``; Cost Explorer bills $0.01 per
request, so one report costs about two cents):

1. ``GetCostAndUsage``: month-to-date ``UnblendedCost`` filtered on the tag, grouped by
   region and service (every page);
2. ``GetCostForecast``: ``UNBLENDED_COST`` from today to the end of the month, same filter.

Throttling (Cost Explorer answers ``LimitExceededException``) and transient errors are
retried by :class:`~llmops.awsclient.RetryPolicy`; botocore's own retries are off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from llmops.awsclient import RetryPolicy, ThrottledError, client_config, error_code, error_message
from llmops.spend.errors import SpendError
from llmops.spend.models import Forecast, Period, SpendReport

COST_EXPLORER_REGION = "us-east-1"
"""Cost Explorer has one endpoint, in us-east-1."""
METRIC = "UnblendedCost"
NO_FORECAST_CODES = frozenset({"DataUnavailableException"})
"""What Cost Explorer answers when it has too little history to forecast."""
PERMISSIONS = "ce:GetCostAndUsage and ce:GetCostForecast"
CREDENTIALS_HELP = (
    "set AWS credentials: export AWS_PROFILE=<profile> (after `aws configure --profile <profile>` or "
    f"`aws sso login --profile <profile>`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the identity needs {PERMISSIONS}"
)


def tag_filter(tag_key: str, tag_value: str) -> dict[str, Any]:
    """Cost Explorer's filter on one cost-allocation tag value."""
    return {"Tags": {"Key": tag_key, "Values": [tag_value], "MatchOptions": ["EQUALS"]}}


def region_label(region: str) -> str:
    """Cost Explorer reports global services under ``NoRegion`` (or ``global``)."""
    return "global" if region in ("", "NoRegion", "global") else region


def cost_explorer_client(profile: str | None = None, endpoint_url: str | None = None) -> Any:
    """A Cost Explorer client (``endpoint_url``: a moto server or a proxy)."""
    try:
        session = boto3.session.Session(profile_name=profile)
    except ProfileNotFound:
        raise SpendError(
            f"AWS profile '{profile}' is not configured; run `aws configure --profile {profile}` or pass an existing profile"
        ) from None
    return session.client("ce", region_name=COST_EXPLORER_REGION, endpoint_url=endpoint_url, config=client_config("llmops-spend"))


@dataclass(frozen=True)
class ToDate:
    """Month-to-date spend of a tag."""

    total: float
    by_region: dict[str, float]
    by_service: dict[str, float]
    currency: str
    has_data: bool


@dataclass(frozen=True)
class CostExplorer:
    """Asks Cost Explorer through ``client`` (injectable: a moto server in tests)."""

    client: Any
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def month_to_date(self, period: Period, tag_key: str, tag_value: str) -> ToDate:
        """Spend of the complete days of the month, by region and service."""
        if period.today <= period.start:
            return ToDate(0.0, {}, {}, "USD", has_data=False)
        request: dict[str, Any] = {
            "TimePeriod": {"Start": period.start.isoformat(), "End": period.today.isoformat()},
            "Granularity": "MONTHLY",
            "Metrics": [METRIC],
            "Filter": tag_filter(tag_key, tag_value),
            "GroupBy": [{"Type": "DIMENSION", "Key": "REGION"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
        }
        by_region: dict[str, float] = {}
        by_service: dict[str, float] = {}
        currency = "USD"
        has_data = False
        while True:
            page = self._page(request)
            for result in page.get("ResultsByTime", []):
                for group in result.get("Groups", []):
                    keys = [*group.get("Keys", []), "", ""]
                    metric = group.get("Metrics", {}).get(METRIC, {})
                    amount = float(metric.get("Amount", 0) or 0)
                    currency = str(metric.get("Unit") or currency)
                    has_data = True
                    region, service = region_label(keys[0]), keys[1] or "unknown"
                    by_region[region] = by_region.get(region, 0.0) + amount
                    by_service[service] = by_service.get(service, 0.0) + amount
            token = page.get("NextPageToken")
            if not token:
                break
            request = {**request, "NextPageToken": token}
        return ToDate(sum(by_service.values()), by_region, by_service, currency, has_data)

    def _page(self, request: dict[str, Any]) -> dict[str, Any]:
        page: dict[str, Any] = self.retry.call(lambda: self.client.get_cost_and_usage(**request))
        return page

    def rest_of_month(self, period: Period, tag_key: str, tag_value: str) -> Forecast:
        """Cost Explorer's forecast from today to the end of the month."""
        request = {
            "TimePeriod": {"Start": period.today.isoformat(), "End": period.end.isoformat()},
            "Metric": "UNBLENDED_COST",
            "Granularity": "MONTHLY",
            "Filter": tag_filter(tag_key, tag_value),
        }
        try:
            answer = self.retry.call(lambda: self.client.get_cost_forecast(**request))
        except ClientError as exc:
            if error_code(exc) in NO_FORECAST_CODES:
                return Forecast(None, "Cost Explorer has too little cost history for this tag to forecast")
            raise
        return Forecast(float(answer.get("Total", {}).get("Amount", 0) or 0))


def measure(
    explorer: CostExplorer,
    *,
    stack: str,
    budget: float,
    estimate: float | None = None,
    tag_key: str = "Stack",
    today: date | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SpendReport:
    """The stack's spend report (errors become :class:`SpendError` with the fix)."""
    from llmops.spend.models import month_period

    period = month_period(today or clock().date())
    try:
        to_date = explorer.month_to_date(period, tag_key, stack)
        forecast = explorer.rest_of_month(period, tag_key, stack)
    except ThrottledError as exc:
        raise SpendError(
            f"Cost Explorer kept throttling the requests ({exc.code}, {exc.attempts} attempts); try again in a minute"
        ) from None
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise SpendError(f"no usable AWS credentials ({exc}); {CREDENTIALS_HELP}") from None
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        raise SpendError(f"cannot reach Cost Explorer: {exc}; check --endpoint-url / AWS_ENDPOINT_URL and your network") from None
    except ClientError as exc:
        raise SpendError(_explain(exc)) from None
    except BotoCoreError as exc:
        raise SpendError(f"Cost Explorer request failed: {exc}") from None
    return SpendReport(
        stack=stack,
        tag=f"{tag_key}={stack}",
        period=period,
        month_to_date=to_date.total,
        by_region=to_date.by_region,
        by_service=to_date.by_service,
        budget=budget,
        forecast=forecast,
        estimate=estimate,
        currency=to_date.currency,
        has_data=to_date.has_data or bool(forecast.rest_of_month),
    )


def _explain(exc: ClientError) -> str:
    code, message = error_code(exc), error_message(exc)
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        if "not enabled for cost explorer" in message.lower():
            return "Cost Explorer is not enabled for this account; enable it in the Billing console (it takes up to a day)"
        return f"not permitted to read costs ({code}); grant {PERMISSIONS}"
    if code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException"):
        return f"AWS rejected the credentials ({code}); {CREDENTIALS_HELP}"
    return f"Cost Explorer refused the request ({code}): {message}" if message else f"Cost Explorer refused the request ({code})"
