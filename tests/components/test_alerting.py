"""``Alerting``: a KMS-encrypted topic per region, its receivers, and CloudWatch alarms bound
to the outputs of the resources they watch; ``OperationsDashboard``; the alarm specs as data."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.alerting import (
    PUBLISHERS,
    AlarmThresholds,
    Alerting,
    AlertingArgs,
    OperationsDashboard,
    OperationsDashboardArgs,
    alarm_specs,
    dashboard_widgets,
    topic_key_policy,
    topic_policy,
)
from components.monitoring import (
    AuroraCluster,
    EksCluster,
    LoadBalancer,
    NatGateway,
    Queue,
    ServerlessCache,
)
from components.network import Network, NetworkArgs
from llmops.engine.mocks import PlatformMocks
from tests.harness import Recorded, Registration, aws_provider, run

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ACCOUNT = "123456789012"


class LoadBalancerMocks(PlatformMocks):
    """The offline mocks plus what AWS returns for a load balancer and its target groups:
    the ``arn_suffix`` CloudWatch's dimensions use."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        physical_id, outputs = super().new_resource(args)
        region = self.region_of(args.provider)
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            kind = "app" if outputs.get("loadBalancerType", "application") == "application" else "net"
            suffix = f"{kind}/{args.name}/50dc6c495c0c9188"
            outputs["arnSuffix"] = suffix
            outputs["arn"] = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:loadbalancer/{suffix}"
        if args.typ == "aws:lb/targetGroup:TargetGroup":
            suffix = f"targetgroup/{args.name}/943f017f100becff"
            outputs["arnSuffix"] = suffix
            outputs["arn"] = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}:{suffix}"
        return physical_id, outputs


def _alarms(recorded: Recorded[Any], key: str = "") -> dict[str, Registration]:
    return {r.inputs["name"]: r for r in recorded.of_type(ALARM) if key in r.inputs["name"]}


def _metric(alarm: Registration, query_id: str) -> dict[str, Any]:
    (query,) = [q for q in alarm.inputs["metricQueries"] if q["id"] == query_id]
    return dict(query["metric"])


# ----------------------------------------------------------------------------- component


def test_topic_is_encrypted_with_a_key_the_publishers_may_use_and_receivers_are_subscribed() -> None:
    recorded = run(
        lambda: Alerting(
            "us-east-1-alerting",
            AlertingArgs(
                region="us-east-1",
                name_prefix="llmops-prod-us-east-1",
                emails=("oncall@example.com",),
                webhooks=("https://events.pagerduty.com/integration/abc123/enqueue",),
            ),
            opts=aws_provider("us-east-1"),
        )
    )
    topic = recorded.one("aws:sns/topic:Topic")
    key = recorded.one("aws:kms/key:Key")
    assert topic.inputs["name"] == "llmops-prod-us-east-1-alerts"
    assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"], topic.urn
    assert key.inputs["enableKeyRotation"] is True
    key_policy = json.loads(key.inputs["policy"])
    publishers = next(s for s in key_policy["Statement"] if s["Sid"] == "PublishersEncrypt")
    assert set(publishers["Principal"]["Service"]) == set(PUBLISHERS)
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert publishers["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}

    policy = recorded.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == topic.outputs["arn"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["ServicesPublish"]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert statements["AccountUses"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}

    subscriptions = {r.inputs["protocol"]: r.inputs for r in recorded.of_type("aws:sns/topicSubscription:TopicSubscription")}
    assert subscriptions["email"]["endpoint"] == "oncall@example.com"
    assert subscriptions["https"]["endpoint"].startswith("https://events.pagerduty.com/")
    assert subscriptions["https"]["endpointAutoConfirms"] is True
    assert {s["topic"] for s in subscriptions.values()} == {topic.outputs["arn"]}
    component = recorded.one("llmops:ops:Alerting")
    assert recorded.outputs_of(component) == {"topicArn": topic.outputs["arn"], "keyArn": key.outputs["arn"], "alarmNames": []}


def test_nat_alarms_are_bound_to_the_network_outputs_and_notify_the_topic() -> None:
    def build() -> Alerting:
        opts = aws_provider("us-east-1")
        network = Network("us-east-1", NetworkArgs(region="us-east-1", cidr="10.10.0.0/16", az_count=2, cluster_name="c", nat_gateways="perAz"), opts=opts)
        return Alerting(
            "us-east-1-alerting",
            AlertingArgs(region="us-east-1", name_prefix="llmops-dev-us-east-1", monitored=network.monitoring, thresholds=AlarmThresholds(evaluation_minutes=15)),
            opts=opts,
        )

    recorded = run(build)
    nat_ids = {r.name: r.id for r in recorded.of_type("aws:ec2/natGateway:NatGateway")}
    topic_arn = recorded.one("aws:sns/topic:Topic").outputs["arn"]
    alarms = _alarms(recorded)
    assert sorted(alarms) == [
        "llmops-dev-us-east-1-nat-0-packet-drops",
        "llmops-dev-us-east-1-nat-0-port-allocation",
        "llmops-dev-us-east-1-nat-1-packet-drops",
        "llmops-dev-us-east-1-nat-1-port-allocation",
    ]
    ports = alarms["llmops-dev-us-east-1-nat-1-port-allocation"].inputs
    assert (ports["namespace"], ports["metricName"], ports["statistic"]) == ("AWS/NATGateway", "ErrorPortAllocation", "Sum")
    assert ports["dimensions"] == {"NatGatewayId": nat_ids["us-east-1-nat-1"]}
    assert (ports["threshold"], ports["comparisonOperator"]) == (0, "GreaterThanThreshold")
    assert (ports["evaluationPeriods"], ports["datapointsToAlarm"], ports["period"]) == (15, 15, 60)
    assert ports["alarmActions"] == [topic_arn] and ports["okActions"] == [topic_arn]
    assert ports["actionsEnabled"] is True
    assert ports["alarmDescription"].startswith("[critical] ")
    assert ports["alarmDescription"].endswith("Runbook: docs/runbooks/nat-gateway.md")
    assert ports["tags"]["Severity"] == "critical"

    drops = alarms["llmops-dev-us-east-1-nat-0-packet-drops"].inputs
    assert _metric(alarms["llmops-dev-us-east-1-nat-0-packet-drops"], "part") == {
        "namespace": "AWS/NATGateway", "metricName": "PacketsDropCount", "dimensions": {"NatGatewayId": nat_ids["us-east-1-nat-0"]},
        "stat": "Sum", "period": 60,
    }
    expression = next(q for q in drops["metricQueries"] if q.get("returnData"))
    assert expression["expression"] == "100 * FILL(part, 0) / (whole0 + whole1)"
    assert drops["threshold"] == 0.01
    component = recorded.one("llmops:ops:Alerting")
    assert sorted(recorded.outputs_of(component)["alarmNames"]) == sorted(alarms)


def test_load_balancer_data_and_queue_alarms_are_bound_to_their_resources_outputs() -> None:
    def build() -> Alerting:
        opts = aws_provider("us-west-2")
        alb = aws.lb.LoadBalancer("serving", load_balancer_type="application", internal=False, subnets=["subnet-1", "subnet-2"], opts=opts)
        nlb = aws.lb.LoadBalancer("grpc", load_balancer_type="network", subnets=["subnet-1", "subnet-2"], opts=opts)
        group = aws.lb.TargetGroup("ray-serve", port=8000, protocol="HTTP", vpc_id="vpc-1", target_type="ip", opts=opts)
        db = aws.rds.Cluster("vectors", engine="aurora-postgresql", cluster_identifier="llmops-prod-vectors", opts=opts)
        cache = aws.elasticache.ServerlessCache("cache", engine="valkey", name="llmops-prod-cache", opts=opts)
        queue = aws.sqs.Queue("interruptions", name="llmops-prod-us-west-2-karpenter", opts=opts)
        return Alerting(
            "us-west-2-alerting",
            AlertingArgs(
                region="us-west-2",
                name_prefix="p",
                monitored=(
                    LoadBalancer(key="serving-alb", kind="application", arn_suffix=alb.arn_suffix, target_groups={"serve": group.arn_suffix}),
                    LoadBalancer(key="grpc-nlb", kind="network", arn_suffix=nlb.arn_suffix, target_groups={"serve": group.arn_suffix}),
                    AuroraCluster(key="vector-store", cluster_identifier=db.cluster_identifier),
                    ServerlessCache(key="cache", cache_name=cache.name, data_storage_limit_gb=10, ecpu_per_second_limit=5000),
                    Queue(key="karpenter-interruptions", queue_name=queue.name, consumer="Karpenter"),
                ),
                thresholds=AlarmThresholds(error_rate_percent=2.5, latency_p99_seconds=4),
            ),
            opts=opts,
        )

    recorded = run(build, mocks=LoadBalancerMocks())
    alarms = _alarms(recorded)
    assert sorted(alarms) == [
        "p-cache-ecpu", "p-cache-storage", "p-cache-throttled",
        "p-grpc-nlb-serve-no-healthy-targets", "p-grpc-nlb-serve-unhealthy-targets",
        "p-karpenter-interruptions-oldest-message",
        "p-serving-alb-elb-5xx", "p-serving-alb-latency-p99", "p-serving-alb-serve-no-healthy-targets", "p-serving-alb-target-5xx",
        "p-vector-store-acu", "p-vector-store-cpu", "p-vector-store-deadlocks", "p-vector-store-freeable-memory",
    ]
    target_5xx = alarms["p-serving-alb-target-5xx"]
    assert _metric(target_5xx, "part")["metricName"] == "HTTPCode_Target_5XX_Count"
    assert _metric(target_5xx, "part")["dimensions"] == {"LoadBalancer": "app/serving/50dc6c495c0c9188"}
    assert _metric(target_5xx, "whole0")["metricName"] == "RequestCount"
    assert target_5xx.inputs["threshold"] == 2.5
    latency = alarms["p-serving-alb-latency-p99"].inputs
    assert (latency["namespace"], latency["metricName"], latency["extendedStatistic"], latency["threshold"]) == (
        "AWS/ApplicationELB", "TargetResponseTime", "p99", 4,
    )
    healthy = alarms["p-grpc-nlb-serve-no-healthy-targets"].inputs
    assert healthy["namespace"] == "AWS/NetworkELB"
    assert healthy["dimensions"] == {"LoadBalancer": "net/grpc/50dc6c495c0c9188", "TargetGroup": "targetgroup/ray-serve/943f017f100becff"}
    assert (healthy["comparisonOperator"], healthy["threshold"], healthy["treatMissingData"]) == ("LessThanThreshold", 1, "breaching")

    acu = alarms["p-vector-store-acu"].inputs
    assert (acu["namespace"], acu["metricName"], acu["dimensions"]) == ("AWS/RDS", "ACUUtilization", {"DBClusterIdentifier": "llmops-prod-vectors"})
    memory = alarms["p-vector-store-freeable-memory"].inputs
    assert memory["threshold"] == 256 * 1024 * 1024 and memory["comparisonOperator"] == "LessThanThreshold"
    ecpu = alarms["p-cache-ecpu"].inputs
    assert (ecpu["namespace"], ecpu["metricName"], ecpu["dimensions"]) == (
        "AWS/ElastiCache", "ElastiCacheProcessingUnits", {"clusterId": "llmops-prod-cache"},
    )
    assert ecpu["threshold"] == 5000 * 60 * 0.8  # 80% of the limit, as ECPUs per minute
    assert alarms["p-cache-storage"].inputs["threshold"] == 10e9 * 0.8
    queue = alarms["p-karpenter-interruptions-oldest-message"].inputs
    assert (queue["namespace"], queue["metricName"], queue["dimensions"], queue["threshold"]) == (
        "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "llmops-prod-us-west-2-karpenter"}, 300,
    )
    assert "Karpenter is not reading it" in queue["alarmDescription"]
    provider = recorded.one("pulumi:providers:aws")
    assert all(a.provider == provider.urn for a in alarms.values())


def test_args_are_checked_before_any_child_exists() -> None:
    args = AlertingArgs(
        region="us-east-1",
        name_prefix="p",
        emails=("not-an-address",),
        webhooks=("http://hooks.example.com/x",),
        publishers=("sqs.amazonaws.com",),
        monitored=(NatGateway("nat-0", "nat-1"), NatGateway("nat-0", "nat-2")),
        thresholds=AlarmThresholds(evaluation_minutes=0, error_rate_percent=150),
    )
    with pytest.raises(ValueError) as raised:
        args.validate()
    message = str(raised.value)
    for fragment in (
        "AlertingArgs.thresholds.evaluation_minutes",
        "AlertingArgs.thresholds.error_rate_percent",
        "AlertingArgs.webhooks[0]",
        "AlertingArgs.emails[0]",
        "AlertingArgs.publishers: unknown service(s) sqs.amazonaws.com",
        "AlertingArgs.monitored: key(s) nat-0 used twice",
    ):
        assert fragment in message, message


# ----------------------------------------------------------------------------- pure parts


def test_eks_alarms_read_container_insights() -> None:
    failed, cpu = alarm_specs(EksCluster("eks", "llmops-dev-us-east-1"), AlarmThresholds(evaluation_minutes=5, node_cpu_percent=85))
    assert (failed.namespace, failed.metric_name, failed.statistic, failed.threshold) == ("ContainerInsights", "cluster_failed_node_count", "Maximum", 0)
    assert failed.dimensions == {"ClusterName": "llmops-dev-us-east-1"}
    assert (cpu.metric_name, cpu.threshold, cpu.evaluation_periods) == ("node_cpu_utilization", 85, 15)
    assert failed.severity == "critical" and cpu.severity == "warning"


def test_limits_that_are_not_set_give_no_alarm() -> None:
    specs = alarm_specs(ServerlessCache("cache", "c"), AlarmThresholds())
    assert [s.id for s in specs] == ["throttled"]
    assert [s.id for s in alarm_specs(AuroraCluster("db", "d", serverless=False), AlarmThresholds())] == ["cpu", "freeable-memory", "deadlocks"]


def test_policies_allow_only_this_account_and_refuse_plain_http() -> None:
    key = json.loads(topic_key_policy(ACCOUNT, "aws", ["cloudwatch.amazonaws.com"]))
    assert key["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    topic = json.loads(topic_policy(f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:t", ACCOUNT, ["budgets.amazonaws.com"]))
    assert topic["Statement"][0]["Principal"] == {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"}
    assert topic["Statement"][1]["Principal"] == {"Service": ["budgets.amazonaws.com"]}
    assert topic["Statement"][2]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_dashboard_shows_each_monitored_resource_in_its_region() -> None:
    widgets = dashboard_widgets(
        {
            "us-west-2": [{"kind": "queue", "key": "karpenter-interruptions", "id": "q"}],
            "us-east-1": [{"kind": "nat", "key": "nat-0", "id": "nat-1"}, {"kind": "lb-application", "key": "alb", "id": "app/a/1"}],
        }
    )
    assert [(w["properties"]["region"], w["properties"]["title"]) for w in widgets] == [
        ("us-east-1", "us-east-1 nat-0: NAT errors and drops"),
        ("us-east-1", "us-east-1 alb: requests, 5xx, p99"),
        ("us-west-2", "us-west-2 karpenter-interruptions: oldest message, backlog"),
    ]
    assert widgets[0]["properties"]["metrics"][0] == ["AWS/NATGateway", "ErrorPortAllocation", "NatGatewayId", "nat-1"]
    assert [(w["x"], w["y"]) for w in widgets] == [(0, 0), (12, 0), (0, 6)]


def test_operations_dashboard_resolves_the_monitored_ids() -> None:
    def build() -> OperationsDashboard:
        opts = aws_provider("us-east-1")
        queue = aws.sqs.Queue("q", name="llmops-dev-us-east-1-karpenter", opts=opts)
        return OperationsDashboard(
            "us-east-1-dashboard",
            OperationsDashboardArgs(
                dashboard_name="llmops-platform-dev",
                monitored={"us-east-1": (EksCluster("eks", "llmops-dev-us-east-1"), Queue("karpenter-interruptions", queue.name, "Karpenter"))},
            ),
            opts=opts,
        )

    recorded = run(build)
    dashboard = recorded.one("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == "llmops-platform-dev"
    metrics = [w["properties"]["metrics"] for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]]
    assert metrics[0][0] == ["ContainerInsights", "cluster_node_count", "ClusterName", "llmops-dev-us-east-1"]
    assert metrics[1][0] == ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "llmops-dev-us-east-1-karpenter"]
    with pytest.raises(ValueError, match="dashboard_name"):
        OperationsDashboardArgs(dashboard_name="has space", monitored={}).validate()
