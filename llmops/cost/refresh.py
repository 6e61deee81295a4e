"""``llmops cost --refresh``: EC2 on-demand prices from the AWS Price List API, or from a
local copy of a price table generated from it.

Calls ``pricing:GetProducts`` (service ``AmazonEC2``) once per region, filtered to what the
catalogue holds: Linux, shared tenancy, no pre-installed software, capacity status
``Used`` (a running instance, not a reservation). Each ``PriceList`` entry is a JSON string
with ``product.attributes`` and ``terms.OnDemand.<offer>.priceDimensions.<rate>.pricePerUnit.USD``.
Only instance types the project's instance catalogue knows are kept. The spot table and the
service prices are not touched (the Price List API has no spot prices).

``--price-table FILE`` reads the same prices offline from Karpenter's generated on-demand
table (``pkg/providers/pricing/zz_generated.pricing_aws.go`` in aws/karpenter-provider-aws,
written by its generator from the Price List API with the same Linux, shared-tenancy
filters): a Go map literal ``"<region>": {"<type>": <USD per hour>, ...}`` under a
``// generated at <timestamp> for <region>`` header. Upstream generates it for us-east-1
only, so it refreshes the regions the file holds and refuses the others.

This is the only module of the cost package that imports boto3.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import catalog
from core.catalog.prices import PriceLookupError, clear_cache, default_path, load_prices
from core.errors import LlmopsError

# The Price List query API is served from these regions only; us-east-1 is the default.
PRICING_API_REGION = "us-east-1"
SERVICE_CODE = "AmazonEC2"
FILTERS: dict[str, str] = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "licenseModel": "No License required",
}


class RefreshError(LlmopsError):
    """The Price List API could not be read (credentials, network, permissions)."""


@dataclass(frozen=True, slots=True)
class OnDemandPrice:
    """One parsed Price List record."""

    region: str
    instance_type: str
    usd_per_hour: float


@dataclass
class RefreshReport:
    """What a refresh changed."""

    path: Path
    regions: list[str]
    prices: int = 0
    changed: list[tuple[str, str, float | None, float]] = field(default_factory=list)
    skipped: int = 0

    def summary(self) -> str:
        lines = [
            f"refreshed {self.prices} EC2 on-demand price(s) in {', '.join(self.regions)} into {self.path} "
            f"({len(self.changed)} changed, {self.skipped} record(s) skipped)"
        ]
        for region, name, old, new in self.changed[:20]:
            before = "new" if old is None else f"${old:g}"
            lines.append(f"  {region} {name}: {before} -> ${new:g}/h")
        if len(self.changed) > 20:
            lines.append(f"  ... and {len(self.changed) - 20} more")
        return "\n".join(lines)


def parse_price_record(record: str | dict[str, Any]) -> OnDemandPrice | None:
    """The hourly on-demand price in one ``PriceList`` entry, or ``None`` for records that are
    not a plain Linux on-demand instance (reservations, Windows, SQL, dedicated hosts...)."""
    data = json.loads(record) if isinstance(record, str) else record
    attributes = (data.get("product") or {}).get("attributes") or {}
    for key, expected in FILTERS.items():
        if attributes.get(key) != expected:
            return None
    instance_type = attributes.get("instanceType")
    region = attributes.get("regionCode")
    if not instance_type or not region:
        return None
    for term in ((data.get("terms") or {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            if dimension.get("unit") not in ("Hrs", "Hours"):
                continue
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if usd is None:
                continue
            price = float(usd)
            if price <= 0:
                return None
            return OnDemandPrice(region=str(region), instance_type=str(instance_type), usd_per_hour=price)
    return None


_TABLE_GENERATED = re.compile(r"^// generated at (\S+)", re.MULTILINE)
_TABLE_REGION = re.compile(r'^\t"([a-z]{2}(?:-[a-z]+)+-\d+)": \{', re.MULTILINE)
_TABLE_PRICE = re.compile(r'"([a-z0-9-]+\.[a-z0-9-]+)": (\d+(?:\.\d+)?)')


@dataclass(frozen=True, slots=True)
class PriceTable:
    """An on-demand price table generated from the Price List API (Karpenter's
    ``zz_generated.pricing_aws.go``)."""

    path: Path
    generated: str
    prices: dict[str, dict[str, float]]


def read_price_table(path: Path | str) -> PriceTable:
    """``{region: {instance type: USD per hour}}`` and the generation stamp of a local copy
    of Karpenter's generated on-demand price table."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise RefreshError(f"--price-table: cannot read {source} ({exc.strerror or exc}); pass a local copy of "
                           "pkg/providers/pricing/zz_generated.pricing_aws.go") from None
    starts = list(_TABLE_REGION.finditer(text))
    prices: dict[str, dict[str, float]] = {}
    for index, start in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        block = {name: float(usd) for name, usd in _TABLE_PRICE.findall(text, start.end(), end) if float(usd) > 0}
        if block:
            prices[start.group(1)] = block
    if not prices:
        raise RefreshError(
            f"--price-table: {source} holds no on-demand price table (expected Karpenter's "
            "pkg/providers/pricing/zz_generated.pricing_aws.go); the catalogue was not changed"
        )
    stamp = _TABLE_GENERATED.search(text)
    return PriceTable(path=source, generated=stamp.group(1) if stamp else "", prices=prices)


def table_on_demand(
    table: PriceTable, regions: Iterable[str], instance_types: Iterable[str] | None = None
) -> tuple[dict[str, dict[str, float]], int]:
    """The same result as :func:`fetch_on_demand`, read from ``table``; a region the table
    does not hold is an error naming those it does."""
    wanted = set(instance_types) if instance_types is not None else set(catalog.instance_types())
    result: dict[str, dict[str, float]] = {}
    skipped = 0
    for region in regions:
        listed = table.prices.get(region)
        if listed is None:
            raise RefreshError(
                f"--price-table: {table.path.name} holds on-demand prices for {', '.join(sorted(table.prices))} only, "
                f"not '{region}'; refresh {region} from the Price List API (without --price-table). "
                "The catalogue was not changed"
            )
        kept = {name: usd for name, usd in sorted(listed.items()) if name in wanted}
        if not kept:
            raise RefreshError(
                f"--price-table: {table.path.name} lists none of the catalogue's instance types for '{region}'; "
                "the catalogue was not changed"
            )
        result[region] = kept
        skipped += len(listed) - len(kept)
    return result, skipped


def _client(endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("pricing", region_name=PRICING_API_REGION, endpoint_url=endpoint_url)


def fetch_on_demand(
    regions: Iterable[str],
    instance_types: Iterable[str] | None = None,
    *,
    endpoint_url: str | None = None,
    client: Any = None,
) -> tuple[dict[str, dict[str, float]], int]:
    """``{region: {instance type: USD per hour}}`` from the Price List API, and how many
    records were skipped. ``instance_types`` limits what is kept (default: the instance
    catalogue's types)."""
    from botocore.exceptions import BotoCoreError, ClientError

    wanted = set(instance_types) if instance_types is not None else set(catalog.instance_types())
    pricing = client if client is not None else _client(endpoint_url)
    result: dict[str, dict[str, float]] = {}
    skipped = 0
    for region in regions:
        filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
        filters += [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in FILTERS.items()]
        prices: dict[str, float] = {}
        try:
            paginator = pricing.get_paginator("get_products")
            for page in paginator.paginate(ServiceCode=SERVICE_CODE, Filters=filters, FormatVersion="aws_v1"):
                for entry in page.get("PriceList", []):
                    parsed = parse_price_record(entry)
                    if parsed is None or parsed.region != region or parsed.instance_type not in wanted:
                        skipped += 1
                        continue
                    prices[parsed.instance_type] = parsed.usd_per_hour
        except (BotoCoreError, ClientError) as exc:
            raise RefreshError(
                f"could not read the AWS Price List API for {region}: {exc}. It needs AWS credentials "
                "allowed pricing:GetProducts (e.g. AWS_PROFILE=...); the catalogue was not changed"
            ) from None
        if not prices:
            raise RefreshError(
                f"the Price List API returned no EC2 Linux on-demand prices for region '{region}'; "
                "check the region code. The catalogue was not changed"
            )
        result[region] = dict(sorted(prices.items()))
    return result, skipped


def refresh_catalogue(
    path: Path | str | None = None,
    regions: Iterable[str] | None = None,
    *,
    endpoint_url: str | None = None,
    client: Any = None,
    today: dt.date | None = None,
    price_table: Path | str | None = None,
) -> RefreshReport:
    """Rewrites the ``ec2.onDemand`` prices of ``regions`` in the catalogue at ``path``
    (default: the packaged file), and its dates. Prices come from the Price List API
    (default regions: those already in the catalogue) or, given ``price_table``, from that
    local generated table (default regions: those it holds)."""
    target = Path(path) if path is not None else default_path()
    current = load_prices(target)
    table = read_price_table(price_table) if price_table is not None else None
    default_regions = sorted(table.prices) if table is not None else current.regions
    wanted_regions = list(dict.fromkeys(regions)) if regions else default_regions
    known = catalog.regions()
    for region in wanted_regions:
        if region not in known:
            raise PriceLookupError("--region: " + catalog.unknown_name_message("AWS region", region, known))
    if table is not None:
        fetched, skipped = table_on_demand(table, wanted_regions)
        origin = (
            f"the on-demand table {table.path.name} generated at {table.generated or 'an unstated time'} from the AWS "
            "Price List API by aws/karpenter-provider-aws (pkg/providers/pricing)"
        )
    else:
        fetched, skipped = fetch_on_demand(wanted_regions, endpoint_url=endpoint_url, client=client)
        origin = "AWS Price List API (pricing:GetProducts, service AmazonEC2)"
    document = json.loads(json.dumps(current.document))
    on_demand: dict[str, dict[str, float]] = document["ec2"].setdefault("onDemand", {})
    report = RefreshReport(path=target, regions=wanted_regions, skipped=skipped)
    for region, prices in fetched.items():
        old = on_demand.get(region, {})
        for name, price in prices.items():
            if old.get(name) != price:
                report.changed.append((region, name, old.get(name), price))
        report.prices += len(prices)
        on_demand[region] = prices  # the API's list replaces the region's (types it no longer sells drop out)
        document["ec2"].get("estimated", {}).pop(region, None)  # listed prices now, none estimated
    document["ec2"]["onDemand"] = dict(sorted(on_demand.items()))
    stamp = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    document["ec2"]["taken"] = stamp
    document["ec2"]["source"] = (
        f"{origin}, on-demand, Linux, shared tenancy, "
        f"no pre-installed software, capacitystatus Used; regions refreshed {stamp}: {', '.join(wanted_regions)}"
        + ("" if set(wanted_regions) >= set(on_demand) else "; other regions as before")
    )
    if set(wanted_regions) >= set(on_demand):
        document["ec2"].pop("notes", None)  # the notes describe the hand-transcribed prices just replaced
    document["taken"] = stamp
    document["version"] = stamp.replace("-", ".")
    target.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    clear_cache()
    return report
