"""``GlobalEntry``: one record and one health check per region with latency or failover
routing, CloudWatch-alarm health checks and VPC associations for an internal entry, a
Global Accelerator, and a plain record for a single region."""

from __future__ import annotations

from typing import Any

import pytest

from components.global_entry import (
    ACCELERATOR_ZONE_ID,
    GlobalEntry,
    GlobalEntryArgs,
    RegionalEndpoint,
)
from tests.harness import Recorded, aws_provider, run

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
ZONE = "Z0761438V1CZ8EXAMPLE"


def endpoint(region: str, internal: bool = False) -> RegionalEndpoint:
    return RegionalEndpoint(
        region=region,
        dns_name=f"{'internal-' if internal else ''}llmops-{region}-0123.elb.{region}.amazonaws.com",
        zone_id=f"Z{region.replace('-', '').upper()}",
        load_balancer_arn=f"arn:aws:elasticloadbalancing:{region}:123456789012:loadbalancer/app/llmops/0123",
        health_alarm_name=f"llmops-{region}-no-healthy-targets" if internal else None,
        vpc_id=f"vpc-{region}" if internal else None,
    )


def entry(regions: tuple[str, ...] = REGIONS, **changes: Any) -> Recorded[GlobalEntry]:
    private = bool(changes.get("private"))
    args = GlobalEntryArgs(record_name="llm.example.com", zone_id=ZONE, endpoints=[endpoint(r, private) for r in regions], **changes)
    return run(lambda: GlobalEntry("serving-entry", args, opts=aws_provider("us-east-1")))


def test_latency_routing_one_record_and_one_https_health_check_per_region() -> None:
    recorded = entry()
    checks = {c.inputs["fqdn"].split("-0123")[0].removeprefix("llmops-"): c for c in recorded.of_type("aws:route53/healthCheck:HealthCheck")}
    assert sorted(checks) == sorted(REGIONS)
    for region, check in checks.items():
        assert (check.inputs["type"], check.inputs["port"], check.inputs["resourcePath"]) == ("HTTPS", 443, "/healthz"), region
        assert check.inputs["enableSni"] is True and check.inputs["failureThreshold"] == 3
    records = {r.inputs["setIdentifier"]: r for r in recorded.of_type("aws:route53/record:Record")}
    assert sorted(records) == sorted(REGIONS)
    for region, record in records.items():
        assert record.inputs["name"] == "llm.example.com" and record.inputs["zoneId"] == ZONE and record.inputs["type"] == "A"
        assert record.inputs["latencyRoutingPolicies"] == [{"region": region}]
        assert record.inputs["healthCheckId"] == checks[region].id
        (alias,) = record.inputs["aliases"]
        assert alias == {"name": endpoint(region).dns_name, "zoneId": endpoint(region).zone_id, "evaluateTargetHealth": True}
    outputs = recorded.outputs_of(recorded.one("llmops:network:GlobalEntry"))
    assert outputs["url"] == "https://llm.example.com" and sorted(outputs["healthCheckIds"]) == sorted(REGIONS)


def test_an_internal_entry_checks_alarms_and_associates_the_regions_vpcs() -> None:
    recorded = entry(private=True)
    for check in recorded.of_type("aws:route53/healthCheck:HealthCheck"):
        region = check.inputs["cloudwatchAlarmRegion"]
        assert check.inputs["type"] == "CLOUDWATCH_METRIC"
        assert check.inputs["cloudwatchAlarmName"] == f"llmops-{region}-no-healthy-targets"
        assert check.inputs["insufficientDataHealthStatus"] == "LastKnownStatus"
        assert "fqdn" not in check.inputs
    associations = {a.inputs["vpcRegion"]: a.inputs for a in recorded.of_type("aws:route53/zoneAssociation:ZoneAssociation")}
    assert associations == {r: {"zoneId": ZONE, "vpcId": f"vpc-{r}", "vpcRegion": r} for r in REGIONS}
    assert recorded.outputs_of(recorded.one("llmops:network:GlobalEntry"))["url"] == "http://llm.example.com"


def test_failover_routing_has_the_home_region_primary() -> None:
    recorded = entry(("us-east-1", "us-west-2"), routing="failover", primary_region="us-east-1")
    roles = {r.inputs["setIdentifier"]: r.inputs["failoverRoutingPolicies"] for r in recorded.of_type("aws:route53/record:Record")}
    assert roles == {"us-east-1": [{"type": "PRIMARY"}], "us-west-2": [{"type": "SECONDARY"}]}
    assert len(recorded.of_type("aws:route53/healthCheck:HealthCheck")) == 2


def test_a_single_region_gets_a_plain_record() -> None:
    recorded = entry(("us-east-1",))
    (record,) = recorded.of_type("aws:route53/record:Record")
    assert "setIdentifier" not in record.inputs and "healthCheckId" not in record.inputs
    assert record.inputs["aliases"][0]["name"] == endpoint("us-east-1").dns_name
    assert not recorded.of_type("aws:route53/healthCheck:HealthCheck")


def test_global_accelerator_has_an_endpoint_group_per_region() -> None:
    recorded = entry(routing="accelerator", accelerator_flow_logs_bucket="llmops-logs")
    accelerator = recorded.one("aws:globalaccelerator/accelerator:Accelerator")
    assert accelerator.inputs["attributes"] == {"flowLogsEnabled": True, "flowLogsS3Bucket": "llmops-logs", "flowLogsS3Prefix": "global-accelerator/"}
    listener = recorded.one("aws:globalaccelerator/listener:Listener")
    assert listener.inputs["portRanges"] == [{"fromPort": 443, "toPort": 443}] and listener.inputs["protocol"] == "TCP"
    groups = {g.inputs["endpointGroupRegion"]: g.inputs for g in recorded.of_type("aws:globalaccelerator/endpointGroup:EndpointGroup")}
    assert sorted(groups) == sorted(REGIONS)
    assert all(g["endpointConfigurations"][0]["endpointId"] == endpoint(r).load_balancer_arn for r, g in groups.items())
    assert all((g["healthCheckProtocol"], g["healthCheckPath"]) == ("HTTPS", "/healthz") for g in groups.values())
    (record,) = recorded.of_type("aws:route53/record:Record")
    assert record.inputs["aliases"][0] == {"name": accelerator.outputs["dnsName"], "zoneId": ACCELERATOR_ZONE_ID, "evaluateTargetHealth": True}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"routing": "failover", "primary_region": "us-east-1"}, "failover has one primary and one secondary"),
        ({"routing": "accelerator", "private": True}, "a Global Accelerator is reachable from the internet"),
        ({"record_name": "llm_example"}, "is not a DNS name"),
    ],
)
def test_arguments_are_checked_first(changes: dict[str, Any], message: str) -> None:
    args = GlobalEntryArgs(record_name="llm.example.com", zone_id=ZONE, endpoints=[endpoint(r, bool(changes.get("private"))) for r in REGIONS])
    with pytest.raises(ValueError, match=message):
        GlobalEntryArgs(**{**args.__dict__, **changes}).validate()


def test_an_internal_entry_needs_each_regions_alarm() -> None:
    args = GlobalEntryArgs(record_name="llm.example.com", zone_id=ZONE, endpoints=[endpoint(r) for r in REGIONS], private=True)
    with pytest.raises(ValueError, match=r"endpoints\[us-west-2\].health_alarm_name"):
        args.validate()
