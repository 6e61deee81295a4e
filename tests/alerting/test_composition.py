"""The composition wires alerting, observability and budgets from ``llmops:alerting`` and
``llmops:budget``, with each environment's defaults (``ALERT_PROFILES``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.alerting import AlarmThresholds
from stacks.config import ConfigError, parse
from stacks.platform import (
    ALERT_PROFILES,
    alarm_thresholds,
    anomaly_alerts_gap,
    build,
    grafana_dashboards,
    rule_thresholds,
    stack_outputs,
)
from tests.harness import Recorded, run
from tests.support import valid_config


def _build(config: dict[str, Any], stack: str = "test") -> Recorded[dict[str, object]]:
    parsed = parse(config)
    return run(lambda: stack_outputs(parsed, build(parsed, stack, "llmops-platform")), stack=stack)


@pytest.fixture(scope="module")
def two_regions() -> Recorded[dict[str, object]]:
    return _build(valid_config())


def test_every_region_gets_a_topic_and_alarms_the_home_region_the_budget_and_dashboard(two_regions: Recorded[dict[str, object]]) -> None:
    recorded = two_regions
    alerting = {r.name: r for r in recorded.of_type("llmops:ops:Alerting")}
    assert sorted(alerting) == ["us-east-1-alerting", "us-west-2-alerting"]
    topics = {t.inputs["name"]: t for t in recorded.of_type("aws:sns/topic:Topic")}
    assert sorted(topics) == ["llmops-test-us-east-1-alerts", "llmops-test-us-west-2-alerts"]
    providers = {p.inputs["region"]: p.urn for p in recorded.of_type("pulumi:providers:aws")}
    for topic in topics.values():
        region = topic.inputs["name"].removeprefix("llmops-test-").removesuffix("-alerts")
        assert topic.provider == providers[region], topic.urn
    # Only the home topic takes budget and anomaly notifications.
    policies = {p.parent: json.loads(p.inputs["policy"]) for p in recorded.of_type("aws:sns/topicPolicy:TopicPolicy")}
    services = {urn.rsplit("::", 1)[-1]: doc["Statement"][1]["Principal"]["Service"] for urn, doc in policies.items()}
    assert "budgets.amazonaws.com" in services["us-east-1-alerting"]
    assert "budgets.amazonaws.com" not in services["us-west-2-alerting"]
    # Receivers: the budget's emails when llmops:alerting.emails is empty, in every region.
    emails = sorted((s.parent.rsplit("::", 1)[-1], s.inputs["endpoint"]) for s in recorded.of_type("aws:sns/topicSubscription:TopicSubscription"))
    assert emails == [("us-east-1-alerting", "team@example.com"), ("us-west-2-alerting", "team@example.com")]

    (budget,) = recorded.of_type("aws:budgets/budget:Budget")
    assert budget.provider == providers["us-east-1"]
    assert budget.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:Stack$test"]}]
    home_topic = topics["llmops-test-us-east-1-alerts"].outputs["arn"]
    assert {n["subscriberSnsTopicArns"][0] for n in budget.inputs["notifications"]} == {home_topic}
    (dashboard,) = recorded.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.provider == providers["us-east-1"]
    regions = {w["properties"]["region"] for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]}
    assert regions == {"us-east-1", "us-west-2"}
    assert budget.inputs["name"] == "llmops-platform-test"


def test_alarms_watch_the_nat_gateways_nodes_data_stores_and_karpenters_queue_of_each_region(two_regions: Recorded[dict[str, object]]) -> None:
    recorded = two_regions
    names = sorted(a.inputs["name"] for a in recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    east = [n for n in names if n.startswith("llmops-test-us-east-1-")]
    assert east == [
        "llmops-test-us-east-1-cache-ecpu",
        "llmops-test-us-east-1-cache-storage",
        "llmops-test-us-east-1-cache-throttled",
        "llmops-test-us-east-1-eks-failed-nodes",
        "llmops-test-us-east-1-eks-node-cpu",
        "llmops-test-us-east-1-karpenter-interruptions-oldest-message",
        "llmops-test-us-east-1-nat-0-packet-drops",
        "llmops-test-us-east-1-nat-0-port-allocation",
        "llmops-test-us-east-1-vector-store-acu",
        "llmops-test-us-east-1-vector-store-cpu",
        "llmops-test-us-east-1-vector-store-deadlocks",
        "llmops-test-us-east-1-vector-store-freeable-memory",
    ]
    west_nats = [n for n in names if n.startswith("llmops-test-us-west-2-nat-") and n.endswith("port-allocation")]
    assert len(west_nats) == 3  # perAz over three zones
    # The queue the alarm watches is the one Karpenter reads.
    queues = {q.inputs["name"] for q in recorded.of_type("aws:sqs/queue:Queue")}
    watched = {
        a.inputs["dimensions"]["QueueName"] for a in recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs.get("namespace") == "AWS/SQS"
    }
    assert watched == queues == {"llmops-test-us-east-1-karpenter", "llmops-test-us-west-2-karpenter"}
    clusters = {c.inputs["name"] for c in recorded.of_type("aws:eks/cluster:Cluster")}
    nodes = {a.inputs["dimensions"]["ClusterName"] for a in recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs.get("namespace") == "ContainerInsights"}
    assert nodes == clusters
    # The data plane's stores, by their real identifiers and limits.
    clusters_ids = {c.inputs["clusterIdentifier"] for c in recorded.of_type("aws:rds/cluster:Cluster")}
    watched_dbs = {a.inputs["dimensions"]["DBClusterIdentifier"] for a in recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs.get("namespace") == "AWS/RDS"}
    assert watched_dbs == clusters_ids and len(clusters_ids) == 2
    caches = {c.inputs["name"]: c.inputs["cacheUsageLimits"] for c in recorded.of_type("aws:elasticache/serverlessCache:ServerlessCache")}
    ecpu = {
        a.inputs["dimensions"]["clusterId"]: a.inputs["threshold"]
        for a in recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("metricName") == "ElastiCacheProcessingUnits"
    }
    assert set(ecpu) == set(caches)
    for name, limits in caches.items():
        assert ecpu[name] == limits["ecpuPerSeconds"][0]["maximum"] * 60 * 0.8
    # dev: a condition must hold 15 minutes.
    failed = next(a.inputs for a in recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["name"].endswith("us-east-1-eks-failed-nodes"))
    assert failed["evaluationPeriods"] == ALERT_PROFILES["dev"].alarms.evaluation_minutes == 15


def test_each_created_cluster_gets_metrics_rules_dashboards_and_logs(two_regions: Recorded[dict[str, object]]) -> None:
    recorded = two_regions
    releases = [r for r in recorded.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "kube-prometheus-stack"]
    assert len(releases) == 2
    topics = {t.inputs["name"]: t.outputs["arn"] for t in recorded.of_type("aws:sns/topic:Topic")}
    for release in releases:
        config = release.inputs["values"]["alertmanager"]["config"]
        region = config["receivers"][1]["sns_configs"][0]["sigv4"]["region"]
        assert config["receivers"][1]["sns_configs"][0]["topic_arn"] == topics[f"llmops-test-{region}-alerts"]
        assert release.inputs["values"]["prometheus"]["prometheusSpec"]["retention"] == "3d"
    groups = [g for g in recorded.of_type("aws:cloudwatch/logGroup:LogGroup") if "/aws/containerinsights/" in g.inputs["name"]]
    assert len(groups) == 8 and {g.inputs["retentionInDays"] for g in groups} == {14}
    maps = {m.inputs["metadata"]["name"] for m in recorded.of_type("kubernetes:core/v1:ConfigMap")}
    assert maps == {f"llmops-dashboard-{stem}" for stem in grafana_dashboards()} == {
        "llmops-dashboard-serve", "llmops-dashboard-gpus", "llmops-dashboard-cost",
    }
    rule = recorded.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")[0]
    cost = next(r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if r["alert"] == "ServeCostRateHigh")
    assert cost["expr"].endswith(f"> {2000 / 730:g}")  # the monthly budget spread over the month


def test_a_brought_cluster_keeps_its_owners_monitoring() -> None:
    config = valid_config()
    config["regions"] = [{"name": "us-east-1", "cluster": {"existing": {"clusterName": "shared"}}}]
    recorded = _build(config)
    assert not recorded.of_type("llmops:ops:Observability")
    assert recorded.of_type("aws:sns/topic:Topic") and recorded.of_type("aws:budgets/budget:Budget")
    assert not recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert not recorded.of_type("aws:cloudwatch/dashboard:Dashboard"), "nothing to graph"


def test_the_account_owner_activates_the_tags_and_creates_the_monitor() -> None:
    config = valid_config()
    config["budget"].update(
        accountSingletons=True,
        teams=[{"name": "search", "monthlyUsd": 300}],
        action={"enabled": True, "roleNames": ["llmops-karpenter-controller"]},
    )
    config["alerting"] = {"webhooks": ["https://events.pagerduty.com/x"], "emails": ["oncall@example.com"], "metrics": "amp"}
    recorded = _build(config)
    tags = sorted(t.inputs["tagKey"] for t in recorded.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag"))
    assert tags == ["CostCenter", "Environment", "Owner", "Project", "Stack", "Team"]
    assert recorded.of_type("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    assert recorded.one("aws:budgets/budgetAction:BudgetAction").inputs["definition"]["iamActionDefinition"]["roles"] == ["llmops-karpenter-controller"]
    assert len(recorded.of_type("aws:amp/workspace:Workspace")) == 2
    assert not [r for r in recorded.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "kube-prometheus-stack"]
    endpoints = {s.inputs["endpoint"] for s in recorded.of_type("aws:sns/topicSubscription:TopicSubscription")}
    assert endpoints == {"https://events.pagerduty.com/x", "oncall@example.com"}
    services = json.loads(recorded.of_type("aws:sns/topicPolicy:TopicPolicy")[0].inputs["policy"])["Statement"][1]["Principal"]["Service"]
    assert "aps.amazonaws.com" in services


def test_thresholds_come_from_the_environment_and_the_config() -> None:
    config = valid_config()
    config["environment"] = "prod"
    config["alerting"] = {"latencyP99Ms": 3000, "errorRatePercent": 1.5, "thresholds": {"queueAgeSeconds": 120, "gpuIdlePercent": 20, "costPerHourUsd": 7}}
    parsed = parse(config)
    alarms = alarm_thresholds(parsed)
    assert alarms == AlarmThresholds(evaluation_minutes=5, error_rate_percent=1.5, latency_p99_seconds=3.0, queue_age_seconds=120)
    rules = rule_thresholds(parsed)
    assert (rules.latency_p99_ms, rules.error_rate_percent, rules.gpu_idle_percent, rules.cost_per_hour_usd) == (3000, 1.5, 20, 7)
    assert rules.queue_depth == ALERT_PROFILES["prod"].rules.queue_depth


@pytest.mark.parametrize(
    ("section", "value", "path", "fragment"),
    [
        ("alerting", {"webhooks": ["http://hooks.example.com"]}, "llmops:alerting.webhooks", "not an HTTPS URL"),
        ("alerting", {"metrics": "graphite"}, "llmops:alerting.metrics", "kube-prometheus-stack"),
        ("alerting", {"logs": {"retentionDays": 10}}, "llmops:alerting.logs.retentionDays", "does not accept 10 days"),
        ("alerting", {"thresholds": {"gpuMemoryPercent": 120}}, "llmops:alerting.thresholds.gpuMemoryPercent", "must be <= 100"),
        ("budget", {"anomaly": {"monitorArn": "monitor-1"}}, "llmops:budget.anomaly.monitorArn", "not an anomaly monitor ARN"),
        ("budget", {"teams": [{"name": "a", "monthlyUsd": 1}, {"name": "a", "monthlyUsd": 2}]}, "llmops:budget.teams", "lists a team twice"),
    ],
)
def test_bad_alerting_and_budget_settings_name_the_field_and_the_fix(section: str, value: dict[str, Any], path: str, fragment: str) -> None:
    config = valid_config()
    config[section] = {**config.get(section, {}), **value}
    with pytest.raises(ConfigError) as raised:
        parse(config)
    problems = {p.path: p.message for p in raised.value.problems}
    assert path in problems, problems
    assert fragment in problems[path], problems[path]


def test_anomaly_alerts_that_reach_no_one_are_said_so() -> None:
    """With neither the account's monitor (accountSingletons) nor its ARN, anomaly alerts
    are on in name only: no subscription is planned, and the plan warns with the fix."""
    config = valid_config()
    config["budget"]["anomaly"] = {"enabled": True}
    parsed = parse(config)
    gap = anomaly_alerts_gap(parsed)
    assert gap is not None and "accountSingletons: true" in gap and "monitorArn" in gap
    assert not _build(config).of_type("aws:costexplorer/anomalySubscription:AnomalySubscription")
    arn = "arn:aws:ce::123456789012:anomalymonitor/0d3c1a2b-aaaa-bbbb-cccc-1234567890ab"
    config["budget"]["anomaly"] = {"enabled": True, "monitorArn": arn}
    assert anomaly_alerts_gap(parse(config)) is None
    (subscription,) = _build(config).of_type("aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert subscription.inputs["monitorArnLists"] == [arn]
    config["budget"]["anomaly"] = {"enabled": False}
    assert anomaly_alerts_gap(parse(config)) is None
    config["budget"].update(anomaly={"enabled": True}, accountSingletons=True)
    assert anomaly_alerts_gap(parse(config)) is None


def test_the_stop_gpu_action_denies_launches_to_each_regions_karpenter_controller_by_default() -> None:
    config = valid_config()
    assert "action" not in config["budget"]
    assert not _build(config).of_type("aws:budgets/budgetAction:BudgetAction"), "off by default"
    config["budget"]["action"] = {"enabled": True}
    recorded = _build(config)
    action = recorded.one("aws:budgets/budgetAction:BudgetAction")
    assert action.inputs["actionType"] == "APPLY_IAM_POLICY"
    # The roles Pod Identity hands to Karpenter's controller (service account "karpenter").
    role_names = {r.outputs["arn"]: r.outputs["name"] for r in recorded.of_type("aws:iam/role:Role")}
    controllers = sorted(
        role_names[a.inputs["roleArn"]]
        for a in recorded.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "karpenter"
    )
    assert len(controllers) == 2
    assert sorted(action.inputs["definition"]["iamActionDefinition"]["roles"]) == controllers
    (deny,) = [p for p in recorded.of_type("aws:iam/policy:Policy") if p.name.endswith("-deny-gpu-launch")]
    (statement,) = json.loads(deny.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Deny" and sorted(statement["Action"]) == ["ec2:CreateFleet", "ec2:RunInstances"]


def test_a_stop_gpu_action_with_no_karpenter_to_stop_must_name_its_roles() -> None:
    config = valid_config()
    for region in config["regions"]:
        region["cluster"]["capacityProvider"] = "managedNodeGroups"
    config["budget"]["action"] = {"enabled": True}
    with pytest.raises(ConfigError) as raised:
        parse(config)
    problems = {p.path: p.message for p in raised.value.problems}
    assert "list the role names" in problems["llmops:budget.action.roleNames"], problems
    config["budget"]["action"] = {"enabled": True, "roleNames": ["gpu-launcher"]}
    parse(config)
