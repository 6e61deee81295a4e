"""The rich tables: ranked rows in order, exclusion text shown literally."""

from __future__ import annotations

from rich.console import Console

from llmops.capacity import (
    CapacityRequest,
    QuotaObservation,
    RegionFailure,
    RegionObservation,
    evaluate,
    resolve_instance_types,
)
from llmops.capacity.render import print_report


def test_rows_are_ranked_and_aws_messages_are_not_read_as_markup() -> None:
    request = CapacityRequest(candidates=resolve_instance_types(["g6e.12xlarge"]), regions=("us-east-1", "us-west-2", "eu-west-3"))
    observations = {
        "us-east-1": RegionObservation(
            region="us-east-1",
            offerings={"g6e.12xlarge": ("us-east-1a", "us-east-1b")},
            spot_prices={"g6e.12xlarge": {"us-east-1a": 4.0}},
        ),
        "us-west-2": RegionObservation(
            region="us-west-2",
            offerings={"g6e.12xlarge": ("us-west-2a", "us-west-2c", "us-west-2d")},
            spot_prices={"g6e.12xlarge": {"us-west-2c": 3.2}},
            quotas={"L-3819A6DF": QuotaObservation("L-3819A6DF", "All G and VT Spot Instance Requests", 64)},
        ),
        "eu-west-3": RegionObservation(
            region="eu-west-3",
            failure=RegionFailure(kind="error", code="InvalidParameterValue", message="InvalidParameterValue: [bold]x[/bold]"),
        ),
    }
    console = Console(record=True, width=200, color_system=None)
    print_report(evaluate(request, observations), console)
    text = console.export_text()
    lines = [line for line in text.splitlines() if line.startswith("│ ") and "g6e.12xlarge" in line]
    assert [line.split("│")[2].strip() for line in lines] == ["us-west-2", "us-east-1"]
    assert "│ 1 │ us-west-2 │ g6e.12xlarge  │ $0.8000 │ $3.2000 │ 3 (a,c,d)" in text
    assert "64 vCPU (+16)" in text  # 48 vCPUs needed
    assert "│ unknown (not asked)" in text
    assert "eu-west-3 │ InvalidParameterValue: [bold]x[/bold]" in text
