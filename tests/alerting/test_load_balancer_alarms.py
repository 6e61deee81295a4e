"""The alarms on the serving load balancer are bound to what the serving plane really
creates (``ServingPlane.monitoring`` through the composition): its load balancer's and
target group's ``arn_suffix`` outputs as the dimensions, the region's own topic as the
actions. A public (ALB) exposure gets 5xx share, p99 latency and healthy-target alarms; an
internal NLB carries no HTTP metrics, so its 5xx and latency are watched by the Prometheus
alerts of the same region, which reach the same topic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.engine import plan
from llmops.engine.report import plan_document
from tests.serving_plane.serving_plane_support import serving_config
from tests.support import of_type, write_project

ZONE = "Z0761438V1CZ8EXAMPLE"


def _serving_alarms(document: dict[str, Any], region: str) -> dict[str, dict[str, Any]]:
    """The region's alarms on the serving load balancer, by alarm id."""
    return {
        a["name"].split("-serving-lb-", 1)[1]: a["inputs"]
        for a in of_type(document, "aws:cloudwatch/metricAlarm:MetricAlarm", region)
        if "-alerting-serving-lb-" in a["name"]
    }


def _dimensions(alarm: dict[str, Any]) -> list[dict[str, str]]:
    if "metricQueries" in alarm:
        return [q["metric"]["dimensions"] for q in alarm["metricQueries"] if "metric" in q]
    return [alarm["dimensions"]]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_shipped_stacks_alarm_on_their_serving_load_balancers_outputs(shipped: Any, stack: str) -> None:
    document = plan_document(shipped.plan(stack))
    outputs = document["outputs"]
    topics = outputs["alerting"]["topicArns"]
    for region, values in outputs["regions"].items():
        serving = values["serving"]
        alarms = _serving_alarms(document, region)
        assert serving["loadBalancerArnSuffix"].startswith("net/"), "the shipped stacks serve on internal NLBs"
        assert sorted(alarms) == ["serve-no-healthy-targets", "serve-unhealthy-targets"], (stack, region)
        for alarm in alarms.values():
            assert alarm["namespace"] == "AWS/NetworkELB"
            assert alarm["dimensions"] == {"LoadBalancer": serving["loadBalancerArnSuffix"], "TargetGroup": serving["targetGroupArnSuffix"]}
            assert alarm["alarmActions"] == alarm["okActions"] == [topics[region]]
        # 5xx share and latency of the NLB-fronted Serve: the region's Prometheus alerts.
        (rule,) = of_type(document, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", region)
        alerts = {r["alert"] for g in rule["inputs"]["spec"]["groups"] for r in g["rules"]}
        assert {"ServeErrorRateHigh", "ServeLatencyP99High"} <= alerts, (stack, region)


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = serving_config(exposure={"scheme": "internet-facing"}, entry={"hostedZoneId": ZONE, "recordName": "llm.example.com"})
    config["alerting"] = {"latencyP99Ms": 2500, "errorRatePercent": 1.5}
    root: Path = tmp_path_factory.mktemp("public-alarms") / "project"
    return plan_document(plan("test", write_project(root, config=config)))


def test_a_public_alb_alarms_on_5xx_latency_and_healthy_targets(public: dict[str, Any]) -> None:
    outputs = public["outputs"]
    for region, values in outputs["regions"].items():
        serving = values["serving"]
        balancer, group = serving["loadBalancerArnSuffix"], serving["targetGroupArnSuffix"]
        assert balancer.startswith("app/")
        alarms = _serving_alarms(public, region)
        assert sorted(alarms) == ["elb-5xx", "latency-p99", "serve-no-healthy-targets", "target-5xx"], region
        for alarm in alarms.values():
            assert alarm["alarmActions"] == alarm["okActions"] == [outputs["alerting"]["topicArns"][region]]
            for dimensions in _dimensions(alarm):
                assert dimensions["LoadBalancer"] == balancer
        for alarm_id, metric in (("elb-5xx", "HTTPCode_ELB_5XX_Count"), ("target-5xx", "HTTPCode_Target_5XX_Count")):
            alarm = alarms[alarm_id]
            metrics = {q["metric"]["metricName"] for q in alarm["metricQueries"] if "metric" in q}
            assert metrics == {metric, "RequestCount"}
            assert {q["metric"]["namespace"] for q in alarm["metricQueries"] if "metric" in q} == {"AWS/ApplicationELB"}
            assert alarm["threshold"] == 1.5 and alarm["comparisonOperator"] == "GreaterThanThreshold"
        latency = alarms["latency-p99"]
        assert (latency["metricName"], latency["extendedStatistic"], latency["threshold"]) == ("TargetResponseTime", "p99", 2.5)
        healthy = alarms["serve-no-healthy-targets"]
        assert healthy["dimensions"] == {"LoadBalancer": balancer, "TargetGroup": group}
        assert (healthy["metricName"], healthy["threshold"], healthy["comparisonOperator"]) == ("HealthyHostCount", 1, "LessThanThreshold")
