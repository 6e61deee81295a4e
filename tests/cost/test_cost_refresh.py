"""``llmops cost --refresh``: parsing real Price List record shapes and rewriting the
catalogue from a local Price List API that serves a recorded GetProducts response, or from
Karpenter's generated on-demand table (a copy in fixtures/, see its SOURCES.md)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from core import catalog
from core.catalog.prices import default_path, load_prices
from llmops.cli import app
from llmops.cost.refresh import (
    RefreshError,
    parse_price_record,
    read_price_table,
    refresh_catalogue,
)
from tests.support import FIXTURE_PRICES, fixture_prices

FIXTURES = Path(__file__).parent / "fixtures"


def recorded() -> list[str]:
    return json.loads((FIXTURES / "price_list_get_products.json").read_text(encoding="utf-8"))["PriceList"]


def test_parse_linux_on_demand_record() -> None:
    price = parse_price_record(recorded()[0])
    assert price is not None
    assert (price.region, price.instance_type, price.usd_per_hour) == ("us-east-1", "g5.xlarge", 1.006)


def test_parse_skips_windows_reservations_and_sql() -> None:
    records = [json.loads(r) for r in recorded()]
    skipped = [
        r for r in records
        if r["product"]["attributes"]["operatingSystem"] != "Linux"
        or r["product"]["attributes"]["capacitystatus"] != "Used"
        or r["product"]["attributes"]["preInstalledSw"] != "NA"
    ]
    assert len(skipped) == 3
    assert all(parse_price_record(r) is None for r in skipped)


@pytest.fixture()
def catalogue_copy(tmp_path: Path) -> Path:
    """A copy of the fixture catalogue (the refresh rewrites it)."""
    target = tmp_path / "prices.json"
    shutil.copy(FIXTURE_PRICES, target)
    return target


def test_refresh_rewrites_prices_from_the_price_list_api(price_list_server: Any, catalogue_copy: Path) -> None:
    url, handler = price_list_server
    packaged = default_path().read_bytes()
    report = refresh_catalogue(catalogue_copy, ["us-east-1", "eu-west-1"], endpoint_url=url, today=dt.date(2026, 12, 1))
    prices = load_prices(catalogue_copy)
    assert prices.on_demand_hourly("us-east-1", "p5.48xlarge") == 55.04
    assert prices.on_demand_hourly("us-east-1", "g5.xlarge") == 1.006
    assert prices.on_demand_hourly("eu-west-1", "m7i.large") == 0.1134
    # the API's list replaces the region's: types it did not return are gone
    assert sorted(prices.document["ec2"]["onDemand"]["us-east-1"]) == ["g5.xlarge", "g6.xlarge", "m7i.large", "p5.48xlarge"]
    # regions not refreshed keep their prices; dates and source say what happened
    assert prices.on_demand_hourly("us-west-2", "p5.48xlarge") == 98.32
    assert prices.ec2.taken == "2026-12-01" and prices.version == "2026.12.01"
    assert "us-east-1, eu-west-1" in prices.ec2.source and "other regions as before" in prices.ec2.source
    assert ("us-east-1", "p5.48xlarge", 98.32, 55.04) in report.changed
    # eu-west-1 m7i.large was estimated as 0.1008 x (0.107 / 0.096) = 0.1123 until this refresh
    assert ("eu-west-1", "m7i.large", 0.1123, 0.1134) in report.changed
    assert report.prices == 6
    assert report.skipped == 4  # Windows, reservation, SQL, and a type the instance catalogue does not know
    # it paged through the recorded response with the catalogue's filters
    bodies = [r["body"] for r in handler.requests]
    assert all(b["ServiceCode"] == "AmazonEC2" for b in bodies)
    first = {f["Field"]: f["Value"] for f in bodies[0]["Filters"]}
    assert first == {"regionCode": "us-east-1", "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                     "capacitystatus": "Used", "licenseModel": "No License required"}
    assert any(b.get("NextToken") for b in bodies)
    # neither the fixture nor the packaged catalogue is touched
    assert fixture_prices().on_demand_hourly("us-east-1", "p5.48xlarge") == 98.32
    assert default_path().read_bytes() == packaged


def test_refresh_region_without_prices_is_an_error(price_list_server: Any, catalogue_copy: Path) -> None:
    url, _ = price_list_server
    before = catalogue_copy.read_text()
    with pytest.raises(RefreshError, match="no EC2 Linux on-demand prices for region 'us-west-2'"):
        refresh_catalogue(catalogue_copy, ["us-west-2"], endpoint_url=url)
    assert catalogue_copy.read_text() == before


def test_refresh_unreachable_api_is_a_clear_error(catalogue_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(RefreshError, match="could not read the AWS Price List API for us-east-1"):
        refresh_catalogue(catalogue_copy, ["us-east-1"], endpoint_url="http://127.0.0.1:9")


def test_cli_refresh(price_list_server: Any, catalogue_copy: Path) -> None:
    url, _ = price_list_server
    result = CliRunner().invoke(
        app, ["cost", "--refresh", "--region", "us-east-1", "--endpoint-url", url, "--catalogue", str(catalogue_copy)]
    )
    assert result.exit_code == 0, result.output
    assert "refreshed 4 EC2 on-demand price(s) in us-east-1" in result.output
    assert "us-east-1 p5.48xlarge: $98.32 -> $55.04/h" in result.output
    assert load_prices(catalogue_copy).on_demand_hourly("us-east-1", "p5.48xlarge") == 55.04


# ----------------------------------------------------------------------------- Karpenter's generated table

KARPENTER_TABLE = FIXTURES / "zz_generated.pricing_aws.go"  # see fixtures/SOURCES.md


def test_read_karpenters_generated_table() -> None:
    table = read_price_table(KARPENTER_TABLE)
    assert table.generated == "2026-07-20T13:44:30Z"
    assert sorted(table.prices) == ["us-east-1"]  # upstream generates one region
    prices = table.prices["us-east-1"]
    assert len(prices) > 1000
    assert prices["m7i.large"] == 0.1008 and prices["p6-b200.48xlarge"] > 0 and prices["u-6tb1.56xlarge"] > 0
    assert prices["p5.48xlarge"] == 55.04  # after AWS's June 2025 reduction (was 98.32)


def test_packaged_us_east_1_prices_match_the_generated_table() -> None:
    listed = read_price_table(KARPENTER_TABLE).prices["us-east-1"]
    packaged = load_prices().document["ec2"]["onDemand"]["us-east-1"]
    assert {name: listed.get(name) for name in packaged} == packaged
    assert set(catalog.instance_types()) - set(packaged) == {"p5e.48xlarge"}  # Capacity Blocks only: not in the table either
    assert "p5e.48xlarge" not in listed


def test_refresh_from_the_generated_table(catalogue_copy: Path) -> None:
    report = refresh_catalogue(catalogue_copy, price_table=KARPENTER_TABLE, today=dt.date(2026, 12, 1))
    prices = load_prices(catalogue_copy)
    assert report.regions == ["us-east-1"]
    assert prices.on_demand_hourly("us-east-1", "p5.48xlarge") == 55.04
    assert set(prices.document["ec2"]["onDemand"]["us-east-1"]) == set(catalog.instance_types()) - {"p5e.48xlarge"}
    assert prices.on_demand_hourly("us-west-2", "p5.48xlarge") == 98.32  # not in the table: as before
    assert ("us-east-1", "p5.48xlarge", 98.32, 55.04) in report.changed
    assert report.skipped > 1000  # types the instance catalogue does not keep
    assert "zz_generated.pricing_aws.go generated at 2026-07-20T13:44:30Z" in prices.ec2.source
    assert "aws/karpenter-provider-aws" in prices.ec2.source and "other regions as before" in prices.ec2.source


def test_refresh_from_the_table_refuses_a_region_it_does_not_hold(catalogue_copy: Path) -> None:
    before = catalogue_copy.read_text()
    with pytest.raises(RefreshError, match=r"holds on-demand prices for us-east-1 only, not 'sa-east-1'; refresh sa-east-1 from the Price List API"):
        refresh_catalogue(catalogue_copy, ["sa-east-1"], price_table=KARPENTER_TABLE)
    with pytest.raises(RefreshError, match="holds no on-demand price table"):
        refresh_catalogue(catalogue_copy, price_table=FIXTURES / "price_list_get_products.json")
    with pytest.raises(RefreshError, match="cannot read"):
        refresh_catalogue(catalogue_copy, price_table=FIXTURES / "missing.go")
    assert catalogue_copy.read_text() == before


def test_cli_refresh_from_the_generated_table(catalogue_copy: Path) -> None:
    result = CliRunner().invoke(app, ["cost", "--refresh", "--price-table", str(KARPENTER_TABLE), "--catalogue", str(catalogue_copy)])
    assert result.exit_code == 0, result.output
    assert "in us-east-1 into" in result.output and "us-east-1 p5.48xlarge: $98.32 -> $55.04/h" in result.output
    both = CliRunner().invoke(
        app, ["cost", "--refresh", "--price-table", str(KARPENTER_TABLE), "--endpoint-url", "http://127.0.0.1:9", "--catalogue", str(catalogue_copy)]
    )
    assert both.exit_code != 0 and "give one of them" in str(both.exception)
    alone = CliRunner().invoke(app, ["cost", "--price-table", str(KARPENTER_TABLE)])
    assert alone.exit_code != 0 and "only apply with --refresh" in str(alone.exception)
