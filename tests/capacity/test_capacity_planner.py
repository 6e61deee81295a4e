"""The planner's decisions on hand-made observations (no AWS): ranking, exclusions with
reasons, quota headroom, on-demand prices."""

from __future__ import annotations

from llmops.capacity import (
    CapacityRequest,
    QuotaObservation,
    RegionFailure,
    RegionObservation,
    evaluate,
    resolve_accelerator,
    resolve_instance_types,
)

SPOT_G = ("L-3819A6DF", "All G and VT Spot Instance Requests")


def _azs(region: str, letters: str) -> tuple[str, ...]:
    return tuple(f"{region}{letter}" for letter in letters)


def _quota(value: float | None, code: str = SPOT_G[0], name: str = SPOT_G[1]) -> dict[str, QuotaObservation]:
    return {code: QuotaObservation(code=code, name=name, value=value)}


def test_regions_rank_by_price_per_gpu_hour_not_per_instance() -> None:
    request = CapacityRequest(
        candidates=resolve_instance_types(["g5.xlarge", "g5.12xlarge"]),
        regions=("us-east-1", "us-west-2"),
    )
    observations = {
        # one GPU for $0.50/h
        "us-east-1": RegionObservation(
            region="us-east-1",
            offerings={"g5.xlarge": _azs("us-east-1", "abc")},
            spot_prices={"g5.xlarge": {"us-east-1a": 0.52, "us-east-1b": 0.50, "us-east-1c": 0.61}},
            quotas=_quota(256),
        ),
        # four GPUs for $1.60/h: $0.40 per GPU-hour, cheaper
        "us-west-2": RegionObservation(
            region="us-west-2",
            offerings={"g5.12xlarge": _azs("us-west-2", "ab"), "g5.xlarge": _azs("us-west-2", "ab")},
            spot_prices={"g5.12xlarge": {"us-west-2a": 1.60, "us-west-2b": 1.70}, "g5.xlarge": {"us-west-2a": 0.45}},
            quotas=_quota(256),
        ),
    }
    report = evaluate(request, observations)
    assert [r.region for r in report.ranked] == ["us-west-2", "us-east-1"]
    best = report.ranked[0].best
    assert best is not None
    assert best.candidate.instance_type == "g5.12xlarge"
    assert best.hourly_usd == 1.60
    assert best.gpu_hourly_usd == 0.40
    assert [o.candidate.instance_type for o in report.ranked[0].options] == ["g5.12xlarge", "g5.xlarge"]
    east = report.ranked[1].best
    assert east is not None and east.hourly_usd == 0.50 and east.availability_zones == _azs("us-east-1", "abc")
    assert report.excluded == ()


def test_equal_prices_prefer_more_azs_then_the_smaller_type() -> None:
    request = CapacityRequest(candidates=resolve_accelerator("L4", 1), regions=("us-east-1", "us-east-2"))
    prices = {"g6.xlarge": {"x": 0.3}}
    observations = {
        "us-east-1": RegionObservation(
            region="us-east-1",
            offerings={"g6.xlarge": ("x", "y"), "g6.2xlarge": ("x", "y")},
            spot_prices={"g6.xlarge": prices["g6.xlarge"], "g6.2xlarge": {"x": 0.3}},
        ),
        "us-east-2": RegionObservation(
            region="us-east-2", offerings={"g6.xlarge": ("x", "y", "z")}, spot_prices=prices
        ),
    }
    report = evaluate(request, observations)
    assert [r.region for r in report.ranked] == ["us-east-2", "us-east-1"]
    first = report.ranked[1].best
    assert first is not None and first.candidate.instance_type == "g6.xlarge"


def test_every_exclusion_reason_is_reported_with_its_instance_types() -> None:
    request = CapacityRequest(
        candidates=resolve_instance_types(["g6.xlarge"]),
        regions=("eu-west-1", "us-west-1", "sa-east-1", "ap-south-1", "eu-north-1", "me-south-1"),
        min_azs=2,
        nodes=3,
    )
    observations = {
        "eu-west-1": RegionObservation(region="eu-west-1"),
        "us-west-1": RegionObservation(
            region="us-west-1", offerings={"g6.xlarge": ("us-west-1a",)}, spot_prices={"g6.xlarge": {"us-west-1a": 0.2}}
        ),
        "sa-east-1": RegionObservation(region="sa-east-1", offerings={"g6.xlarge": _azs("sa-east-1", "ab")}),
        "ap-south-1": RegionObservation(
            region="ap-south-1",
            offerings={"g6.xlarge": _azs("ap-south-1", "ab")},
            spot_prices={"g6.xlarge": {"ap-south-1a": 0.3}},
            quotas=_quota(8),
        ),
        "eu-north-1": RegionObservation(
            region="eu-north-1",
            failure=RegionFailure(kind="region-not-enabled", code="OptInRequired", message="eu-north-1 is not enabled"),
        ),
        "me-south-1": RegionObservation(
            region="me-south-1",
            offerings={"g6.xlarge": ("me-south-1a",)},
        ),
    }
    report = evaluate(request, observations)
    assert report.ranked == ()
    reasons = {r.region: [(e.kind, e.message) for e in r.exclusions] for r in report.excluded}
    assert reasons["eu-west-1"] == [("not-offered", "not offered in eu-west-1: g6.xlarge")]
    assert reasons["us-west-1"] == [("too-few-azs", "fewer than 2 AZs (--min-azs): g6.xlarge in 1 AZ (us-west-1a)")]
    assert reasons["sa-east-1"] == [("no-spot-price", "no spot price in the last 3 h: g6.xlarge")]
    assert reasons["ap-south-1"] == [
        (
            "quota-too-low",
            "quota too low: L-3819A6DF (All G and VT Spot Instance Requests) is 8 vCPUs; 3 x g6.xlarge needs 12; "
            "request an increase: aws service-quotas request-service-quota-increase --region ap-south-1 "
            "--service-code ec2 --quota-code L-3819A6DF --desired-value 12",
        )
    ]
    assert reasons["eu-north-1"] == [("region-not-enabled", "eu-north-1 is not enabled")]
    # several problems with one type are all listed
    assert [kind for kind, _ in reasons["me-south-1"]] == ["too-few-azs", "no-spot-price"]
    assert [r.region for r in report.excluded] == sorted(reasons)


def test_quota_headroom_and_unknown_quota_do_not_exclude() -> None:
    request = CapacityRequest(candidates=resolve_instance_types(["g5.12xlarge"]), regions=("us-east-1", "us-west-2"), nodes=2)
    observations = {
        "us-east-1": RegionObservation(
            region="us-east-1",
            offerings={"g5.12xlarge": _azs("us-east-1", "ab")},
            spot_prices={"g5.12xlarge": {"us-east-1a": 2.0}},
            quotas=_quota(128),
        ),
        "us-west-2": RegionObservation(
            region="us-west-2",
            offerings={"g5.12xlarge": _azs("us-west-2", "ab")},
            spot_prices={"g5.12xlarge": {"us-west-2b": 2.4}},
            quotas={SPOT_G[0]: QuotaObservation(SPOT_G[0], SPOT_G[1], None, "no permission")},
        ),
    }
    report = evaluate(request, observations)
    east, west = (r.best for r in report.ranked)
    assert east is not None and west is not None
    assert east.vcpus_needed == 96
    assert east.quota_headroom == 32
    assert west.quota_headroom is None
    assert west.as_json()["quota"] == {
        "code": "L-3819A6DF",
        "name": "All G and VT Spot Instance Requests",
        "vcpus": None,
        "note": "no permission",
    }


def test_on_demand_uses_the_price_source_and_ranks_unpriced_regions_last() -> None:
    request = CapacityRequest(
        candidates=resolve_instance_types(["p5.48xlarge"]),
        regions=("us-east-1", "ap-south-1", "us-west-2"),
        capacity_type="on-demand",
    )
    prices = {("us-east-1", "p5.48xlarge"): 98.32, ("us-west-2", "p5.48xlarge"): 90.0}
    observations = {
        region: RegionObservation(
            region=region,
            offerings={"p5.48xlarge": _azs(region, "abc")},
            quotas=_quota(192, "L-417A185B", "Running On-Demand P instances"),
        )
        for region in request.regions
    }
    report = evaluate(request, observations, lambda region, name: prices.get((region, name)))
    assert [r.region for r in report.ranked] == ["us-west-2", "us-east-1", "ap-south-1"]
    best = report.ranked[0].best
    assert best is not None and best.gpu_hourly_usd == 90.0 / 8 and best.quota_headroom == 0
    unpriced = report.ranked[2].best
    assert unpriced is not None and unpriced.hourly_usd is None
    assert unpriced.price_source == "no on-demand price in the catalogue"


def test_json_document_is_stable_and_camel_case() -> None:
    request = CapacityRequest(candidates=resolve_instance_types(["g6.xlarge"]), regions=("us-east-1", "eu-west-1"))
    observations = {
        "us-east-1": RegionObservation(
            region="us-east-1",
            offerings={"g6.xlarge": ("us-east-1b", "us-east-1a")},
            spot_prices={"g6.xlarge": {"us-east-1b": 0.2345678912, "us-east-1a": 0.3}},
        ),
        "eu-west-1": RegionObservation(region="eu-west-1"),
    }
    document = evaluate(request, observations).as_json()
    assert document == evaluate(request, observations).as_json()
    assert document["schemaVersion"] == 1
    assert document["request"]["candidates"] == [
        {"instanceType": "g6.xlarge", "gpus": 1, "acceleratorModel": "L4", "vcpus": 4}
    ]
    best = document["ranked"][0]["best"]
    assert best["availabilityZones"] == ["us-east-1a", "us-east-1b"]
    assert best["azPrices"] == {"us-east-1a": 0.3, "us-east-1b": 0.234568}
    assert best["gpuHourlyUsd"] == 0.234568
    assert document["excluded"][0]["exclusions"] == [
        {"kind": "not-offered", "message": "not offered in eu-west-1: g6.xlarge", "instanceTypes": ["g6.xlarge"]}
    ]
