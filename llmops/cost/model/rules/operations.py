"""Operations: CloudWatch log groups, alarms and dashboards, KMS keys, Secrets Manager secrets,
SQS queues, SNS topics, budget actions and Amazon Managed Service for Prometheus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops.cost.model.rules.base import (
    Context,
    Priced,
    hourly_line,
    monthly_line,
    number,
    region_of,
    usage_line,
)
from llmops.cost.model.types import CostInput

DAYS_PER_MONTH = 30.4  # 365 / 12, converts log retention to stored months
NEVER_EXPIRE_MONTHS = 12  # stored months assumed for log groups that never expire (one year of history)


def price_log_group(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    gb = ctx.usage.log_ingestion_gb_per_month
    infrequent = str(inputs.get("logGroupClass") or "STANDARD").upper() == "INFREQUENT_ACCESS"
    retention = int(number(inputs.get("retentionInDays"), 0))
    months = min(retention / DAYS_PER_MONTH, NEVER_EXPIRE_MONTHS) if retention else NEVER_EXPIRE_MONTHS
    stored = gb * months
    retention_note = f"retention {retention} days" if retention else f"never expires: {NEVER_EXPIRE_MONTHS} months held"
    return Priced(
        [
            usage_line(ctx, "log ingestion", "logs.ingest.infrequent" if infrequent else "logs.ingest.standard", region, gb),
            usage_line(ctx, "log storage", "logs.storage", region, stored),
        ],
        [
            f"{gb:g} GB/month ingested (usage logIngestionGbPerMonth)",
            f"{stored:.2f} GB stored = {gb:g} GB/month x {months:.2f} months ({retention_note})",
        ],
    )


def price_alarm(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    queries = inputs.get("metricQueries") or []
    metrics = float(sum(1 for q in queries if q.get("metric"))) if queries else 1.0
    period = number(inputs.get("period"), 60)
    high = period < 60
    key = "cloudwatch.alarm.high" if high else "cloudwatch.alarm.standard"
    return Priced(
        [monthly_line(ctx, f"{'high' if high else 'standard'}-resolution alarm ({metrics:g} metric(s))", key, region, metrics)],
        [] if not queries else [f"{metrics:g} metric(s) in the alarm's metric queries"],
    )


def price_kms(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    return Priced(
        [monthly_line(ctx, "customer managed key", "kms.key", region)],
        ["API requests ($0.03 per 10,000 beyond the free tier) not included"],
    )


def price_secret(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    return Priced([monthly_line(ctx, "secret", "secretsmanager.secret", region)], [])


def price_queue(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    fifo = bool(inputs.get("fifoQueue"))
    millions = ctx.usage.queue_requests_millions_per_month
    return Priced(
        [usage_line(ctx, "queue requests", "sqs.requests.fifo" if fifo else "sqs.requests", region, millions)],
        [f"{millions:g} million requests/month (usage queueRequestsMillionsPerMonth)"],
    )


def price_topic(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region_of(item)
    return Priced([], ["alert volumes stay within the free 1 million publishes a month; email deliveries not included"])


def price_repository(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    gb = ctx.usage.registry_storage_gb
    return Priced(
        [usage_line(ctx, "image storage", "ecr.storage", region, gb)],
        [f"{gb:g} GB of images (usage registryStorageGb); replicas are stored, and priced, in their own regions"],
    )


def price_dashboard(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    return Priced(
        [monthly_line(ctx, "dashboard", "cloudwatch.dashboard", region)],
        ["the account's first 3 dashboards (up to 50 metrics each) are free; not applied here"],
    )


def price_budget_action(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    days = ctx.hours / 24
    return Priced(
        [monthly_line(ctx, "action-enabled budget", "budgets.action", region, days)],
        [
            f"{days:.1f} budget-days a month; the account's first two action-enabled budgets are free, "
            "and several actions on one budget count once"
        ],
    )


def price_amp_workspace(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    series = ctx.usage.metrics_active_series
    interval = ctx.usage.metrics_scrape_interval_seconds
    samples = series * (3600 / interval) * ctx.hours
    # A stored sample takes about 1-2 bytes compressed; series metadata is small beside it.
    stored_gb = samples * 2 / 2**30
    return Priced(
        [
            usage_line(ctx, "samples ingested", "amp.ingest", region, samples / 1e7),
            usage_line(ctx, "samples stored", "amp.storage", region, stored_gb),
        ],
        [
            f"{series:,.0f} active series scraped every {interval:g}s (usage metricsActiveSeries, "
            f"metricsScrapeIntervalSeconds): {samples / 1e9:.2f} billion samples a month",
            f"{stored_gb:.1f} GB stored at 2 bytes a sample; queries (samples processed) not included",
        ],
    )


def price_amp_scraper(item: CostInput, inputs: Mapping[str, Any], ctx: Context) -> Priced:
    region = region_of(item)
    return Priced(
        [hourly_line(ctx, "managed collector", "amp.collector", region)],
        ["the samples it collects are priced as ingestion on the workspace"],
    )
