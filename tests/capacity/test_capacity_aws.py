"""The boto3 layer against a real HTTP endpoint: moto in server mode on loopback, with the
:mod:`fakeaws` stub in front where moto cannot be seeded (spot prices, EC2 quotas, errors)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from llmops.capacity import (
    CapacityError,
    CapacityRequest,
    CredentialsError,
    resolve_accelerator,
    resolve_instance_types,
)
from llmops.capacity.aws import ClientFactory, RetryPolicy, plan_capacity
from tests.capacity.fakeaws import FakeAws, Fault, SpotPoint

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def _plan(url: str, request: CapacityRequest, sleeps: list[float] | None = None, attempts: int = 4):  # type: ignore[no-untyped-def]
    recorded: list[float] = [] if sleeps is None else sleeps
    retry = RetryPolicy(max_attempts=attempts, base_delay_s=0.01, max_delay_s=0.05, sleep=recorded.append)
    return plan_capacity(request, ClientFactory(endpoint_url=url), retry=retry, clock=lambda: NOW)


def test_plain_moto_reports_its_shipped_offerings_price_and_no_ec2_quota(moto_url: str) -> None:
    request = CapacityRequest(candidates=resolve_instance_types(["g6.xlarge"]), regions=("us-east-1", "eu-west-1", "us-west-2"))
    report = _plan(moto_url, request)
    assert [r.region for r in report.ranked] == ["us-east-1", "us-west-2"]  # 5 AZs before 4 at equal price
    east = report.ranked[0].best
    assert east is not None
    assert east.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f")
    assert east.hourly_usd == 0.00001  # moto's fixed spot price
    assert east.quota is not None and east.quota.value is None
    assert east.quota.code == "L-3819A6DF"
    assert east.quota.note == "Service Quotas does not report it in this region"
    west = report.ranked[1].best
    assert west is not None and len(west.availability_zones) == 4
    (excluded,) = report.excluded
    assert excluded.region == "eu-west-1"
    assert [e.kind for e in excluded.exclusions] == ["not-offered"]


def _seed_a10g(fake: FakeAws) -> None:
    fake.spot_prices["us-east-1"] = [
        SpotPoint("g5.xlarge", "us-east-1a", 0.52, "2026-11-25T14:00:00.000Z"),
        SpotPoint("g5.xlarge", "us-east-1a", 0.47, "2026-11-25T14:30:00.000Z"),  # latest wins
        SpotPoint("g5.xlarge", "us-east-1b", 0.49, "2026-11-25T13:10:00.000Z"),
        SpotPoint("g5.2xlarge", "us-east-1a", 0.61),
    ]
    fake.spot_prices["us-west-2"] = [
        SpotPoint("g5.xlarge", "us-west-2a", 0.41, "2026-11-25T12:00:00.000Z"),
        SpotPoint("g5.xlarge", "us-west-2a", 0.39, "2026-11-25T11:00:00.000Z"),
        SpotPoint("g5.xlarge", "us-west-2b", 0.44),
    ]
    fake.spot_prices["eu-north-1"] = []  # offered, but no spot price recorded
    fake.quotas[("us-east-1", "L-3819A6DF")] = 64
    fake.quotas[("us-west-2", "L-3819A6DF")] = 2  # below one g5.xlarge (4 vCPUs)


def test_ranking_exclusions_and_quota_headroom_from_seeded_prices(fake_aws: FakeAws) -> None:
    _seed_a10g(fake_aws)
    request = CapacityRequest(
        candidates=resolve_accelerator("A10G", 1),
        regions=("us-west-2", "us-east-1", "eu-north-1", "us-west-1", "ap-south-1"),
    )
    fake_aws.faults.append(Fault("DescribeInstanceTypeOfferings", "OptInRequired", times=5, region="ap-south-1", status=401))
    report = _plan(fake_aws.url, request)

    (east,) = report.ranked
    assert east.region == "us-east-1"
    best = east.best
    assert best is not None
    assert best.candidate.instance_type == "g5.xlarge"
    assert best.az_prices == {"us-east-1a": 0.47, "us-east-1b": 0.49}
    assert best.gpu_hourly_usd == 0.47
    assert best.quota is not None and best.quota.value == 64
    assert best.quota.name == "All G and VT Spot Instance Requests"
    assert best.quota_headroom == 60
    assert [o.candidate.instance_type for o in east.options] == ["g5.xlarge", "g5.2xlarge"]

    reasons = {r.region: {e.kind: e.message for e in r.exclusions} for r in report.excluded}
    assert list(reasons) == ["ap-south-1", "eu-north-1", "us-west-1", "us-west-2"]
    assert reasons["ap-south-1"] == {
        "region-not-enabled": "ap-south-1 is not enabled for this account (OptInRequired); enable it under "
        "AWS console > Account > AWS Regions, or drop it from --regions"
    }
    assert reasons["eu-north-1"] == {"no-spot-price": "no spot price in the last 3 h: g5.xlarge, g5.2xlarge, g5.4xlarge, g5.8xlarge, g5.16xlarge"}
    assert reasons["us-west-1"] == {
        "not-offered": "not offered in us-west-1: g5.xlarge, g5.2xlarge, g5.4xlarge, g5.8xlarge, g5.16xlarge"
    }
    assert set(reasons["us-west-2"]) == {"no-spot-price", "quota-too-low"}
    assert reasons["us-west-2"]["quota-too-low"].startswith(
        "quota too low: L-3819A6DF (All G and VT Spot Instance Requests) is 2 vCPUs; 1 x g5.xlarge needs 4"
    )
    # spot prices are asked only for types offered; quotas only where something is offered
    assert fake_aws.calls_of("DescribeSpotPriceHistory", "us-west-1") == []
    assert fake_aws.calls_of("GetServiceQuota", "us-west-1") == []
    assert [c.answered_by for c in fake_aws.calls_of("DescribeInstanceTypeOfferings", "us-east-1")] == ["moto"]


def test_throttling_is_retried_with_growing_jittered_backoff(fake_aws: FakeAws) -> None:
    _seed_a10g(fake_aws)
    fake_aws.faults.append(Fault("DescribeInstanceTypeOfferings", "RequestLimitExceeded", times=2, region="us-east-1", status=503))
    fake_aws.faults.append(Fault("GetServiceQuota", "TooManyRequestsException", times=1, region="us-east-1"))
    sleeps: list[float] = []
    report = _plan(fake_aws.url, CapacityRequest(candidates=resolve_instance_types(["g5.xlarge"]), regions=("us-east-1",)), sleeps)
    best = report.ranked[0].best
    assert best is not None and best.quota is not None and best.quota.value == 64
    calls = [c.answered_by for c in fake_aws.calls_of("DescribeInstanceTypeOfferings", "us-east-1")]
    assert calls == ["fault", "fault", "moto"]
    assert [c.answered_by for c in fake_aws.calls_of("GetServiceQuota", "us-east-1")] == ["fault", "stub"]
    assert len(sleeps) == 3
    assert all(0 <= s <= 0.05 for s in sleeps)


def test_retry_policy_delays_are_bounded_exponential_full_jitter() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    half = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, random=lambda: 0.5)
    assert half.delay(2) == 1.0


def test_throttling_that_never_stops_excludes_the_region_after_bounded_attempts(fake_aws: FakeAws) -> None:
    _seed_a10g(fake_aws)
    fake_aws.faults.append(Fault("DescribeInstanceTypeOfferings", "RequestLimitExceeded", times=50, region="us-west-2", status=503))
    sleeps: list[float] = []
    request = CapacityRequest(candidates=resolve_instance_types(["g5.xlarge"]), regions=("us-east-1", "us-west-2"))
    report = _plan(fake_aws.url, request, sleeps, attempts=3)
    assert [r.region for r in report.ranked] == ["us-east-1"]
    (west,) = report.excluded
    assert [(e.kind, e.message) for e in west.exclusions] == [
        (
            "throttled",
            "AWS kept throttling requests in us-west-2 (RequestLimitExceeded, 3 attempts); try again in a minute "
            "or ask fewer regions at once",
        )
    ]
    assert len(fake_aws.calls_of("DescribeInstanceTypeOfferings", "us-west-2")) == 3
    assert len(sleeps) == 2


def test_credentials_rejected_everywhere_is_an_error_not_a_list_of_exclusions(fake_aws: FakeAws) -> None:
    fake_aws.faults.append(Fault("DescribeInstanceTypeOfferings", "AuthFailure", times=10, status=401))
    request = CapacityRequest(candidates=resolve_instance_types(["g5.xlarge"]), regions=("us-east-1", "us-west-2"))
    with pytest.raises(CredentialsError) as info:
        _plan(fake_aws.url, request)
    assert "AWS rejected the credentials in all 2 regions asked" in str(info.value)
    assert "AWS_PROFILE" in str(info.value)


@pytest.mark.usefixtures("no_credentials")
def test_missing_credentials_say_how_to_set_them(fake_aws: FakeAws) -> None:
    request = CapacityRequest(candidates=resolve_instance_types(["g5.xlarge"]), regions=("us-east-1",))
    with pytest.raises(CredentialsError) as info:
        plan_capacity(request, ClientFactory(endpoint_url=fake_aws.url))
    message = str(info.value)
    assert message.startswith("no AWS credentials found; set AWS credentials: export AWS_PROFILE=<profile>")
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in message
    assert fake_aws.calls == []


def test_unknown_profile_is_a_credentials_error(aws_env: dict[str, str]) -> None:
    with pytest.raises(CredentialsError, match="AWS profile 'nope' is not configured"):
        ClientFactory(profile="nope")


def test_unreachable_endpoint_names_the_endpoint(aws_env: dict[str, str]) -> None:
    request = CapacityRequest(candidates=resolve_instance_types(["g5.xlarge"]), regions=("us-east-1",))
    with pytest.raises(CapacityError) as info:
        plan_capacity(request, ClientFactory(endpoint_url="http://127.0.0.1:9"))
    assert "cannot reach AWS for us-east-1" in str(info.value)
    assert "check --endpoint-url / AWS_ENDPOINT_URL (http://127.0.0.1:9)" in str(info.value)


def test_an_injected_session_is_used_for_every_client(fake_aws: FakeAws) -> None:
    _seed_a10g(fake_aws)
    session = boto3.session.Session(aws_access_key_id="AKIDINJECTED", aws_secret_access_key="secret")
    factory = ClientFactory(session, endpoint_url=fake_aws.url)
    report = plan_capacity(
        CapacityRequest(candidates=resolve_instance_types(["g5.xlarge"]), regions=("us-east-1",)),
        factory,
        clock=lambda: NOW,
    )
    assert report.ranked[0].region == "us-east-1"
    assert factory.client("ec2", "us-east-1") is factory.client("ec2", "us-east-1")
    assert factory.client("ec2", "us-east-1")._request_signer._credentials.access_key == "AKIDINJECTED"
