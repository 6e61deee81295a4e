"""``Observability``: kube-prometheus-stack (or Amazon Managed Service for Prometheus) with
the platform's monitors, rules and dashboards, alerts routed to the SNS topic, and pod logs
to CloudWatch Logs with retention and KMS."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.observability import (
    NAMESPACE,
    LogsArgs,
    Observability,
    ObservabilityArgs,
    PrometheusArgs,
    alertmanager_config,
    amp_scrape_configuration,
    kube_prometheus_stack_values,
    monitors,
    prometheus_rule,
    role_arn_without_path,
)
from components.prometheus_rules import RuleThresholds, rule_groups
from llmops.engine.mocks import PlatformMocks
from tests.harness import Recorded, run

TOPIC = "arn:aws:sns:us-east-1:123456789012:llmops-dev-us-east-1-alerts"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


SCRAPER_ROLE = "arn:aws:iam::123456789012:role/aws-service-role/scraper.aps.amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper_1a2b3c4d"


class ScraperMocks(PlatformMocks):
    """The offline mocks plus the service-linked role AWS gives a managed scraper."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        physical_id, outputs = super().new_resource(args)
        if args.typ == "aws:amp/scraper:Scraper":
            outputs["roleArn"] = SCRAPER_ROLE
        return physical_id, outputs


def _observability(**changes: Any) -> Recorded[Observability]:
    def build() -> Observability:
        aws_provider = aws.Provider("aws-us-east-1", region="us-east-1")
        k8s_provider = k8s.Provider("k8s", kubeconfig="{}")
        args = ObservabilityArgs(
            region="us-east-1",
            cluster_name="llmops-dev-us-east-1",
            topic_arn=TOPIC,
            topic_key_arn=KEY,
            name_prefix="llmops-dev-us-east-1",
            rules=RuleThresholds(latency_p99_ms=4000),
            dashboards={"serve": json.dumps({"title": "Serve"}), "gpus": json.dumps({"title": "GPUs"})},
            **changes,
        )
        return Observability(
            "us-east-1-observability", args, opts=pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": k8s_provider})
        )

    return run(build, mocks=ScraperMocks())


def test_kube_prometheus_stack_selects_every_monitor_and_routes_alerts_to_the_topic() -> None:
    recorded = _observability(prometheus=PrometheusArgs(retention="15d", replicas=2, alertmanager_replicas=2))
    release = recorded.one("kubernetes:helm.sh/v3:Release")
    inputs = release.inputs
    assert (inputs["chart"], inputs["version"], inputs["namespace"], inputs["name"]) == (
        "kube-prometheus-stack", "88.5.3", NAMESPACE, "kube-prometheus-stack",
    )
    assert inputs["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    spec = inputs["values"]["prometheus"]["prometheusSpec"]
    for flag in ("rule", "serviceMonitor", "podMonitor", "probe", "scrapeConfig"):
        assert spec[f"{flag}SelectorNilUsesHelmValues"] is False, flag
    assert (spec["retention"], spec["replicas"]) == ("15d", 2)
    assert spec["externalLabels"] == {"cluster": "llmops-dev-us-east-1", "region": "us-east-1"}
    alertmanager = inputs["values"]["alertmanager"]
    assert alertmanager["serviceAccount"] == {"create": True, "name": "alertmanager"}
    assert alertmanager["alertmanagerSpec"]["replicas"] == 2
    (sns,) = next(r for r in alertmanager["config"]["receivers"] if r["name"] == "sns")["sns_configs"]
    assert (sns["topic_arn"], sns["sigv4"], sns["send_resolved"]) == (TOPIC, {"region": "us-east-1"}, True)
    routes = alertmanager["config"]["route"]["routes"]
    assert {"receiver": "sns", "matchers": ['platform = "llmops"']} in routes
    assert inputs["values"]["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"

    # Alertmanager publishes through Pod Identity: sns:Publish on the topic, and its key.
    association = recorded.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"], association.inputs["clusterName"]) == (
        "monitoring", "alertmanager", "llmops-dev-us-east-1",
    )
    statements = json.loads(recorded.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])["Statement"]
    assert statements[0] == {"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC}
    assert statements[1]["Resource"] == KEY
    assert association.urn in release.dependencies

    kinds = sorted((r.type.rsplit(":", 1)[-1], r.inputs["metadata"]["name"]) for r in recorded.resources.values() if "monitoring.coreos.com" in r.type)
    assert kinds == [
        ("PodMonitor", "llmops-serving-api"), ("PodMonitor", "ray-head"), ("PodMonitor", "ray-workers"),
        ("PrometheusRule", "llmops"), ("ServiceMonitor", "dcgm-exporter"),
    ]
    for resource in recorded.resources.values():
        if "monitoring.coreos.com" in resource.type:
            assert resource.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
            assert release.urn in resource.dependencies, resource.urn  # the chart installs the CRDs
    rule = recorded.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    latency = next(r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if r["alert"] == "ServeLatencyP99High")
    assert latency["expr"].endswith("> 4000")

    maps = {r.inputs["metadata"]["name"]: r.inputs for r in recorded.of_type("kubernetes:core/v1:ConfigMap")}
    assert sorted(maps) == ["llmops-dashboard-gpus", "llmops-dashboard-serve"]
    assert maps["llmops-dashboard-serve"]["metadata"]["labels"] == {"grafana_dashboard": "1"}
    assert json.loads(maps["llmops-dashboard-serve"]["data"]["serve.json"]) == {"title": "Serve"}
    namespace = recorded.one("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    k8s_provider = recorded.one("pulumi:providers:kubernetes")
    assert release.provider == k8s_provider.urn and namespace.provider == k8s_provider.urn
    assert not recorded.of_type("aws:cloudwatch/logGroup:LogGroup"), "no logs unless asked"


def test_pod_logs_go_to_retained_encrypted_log_groups_through_the_add_on() -> None:
    recorded = _observability(metrics="none", logs=LogsArgs(retention_days=90, kms=True))
    assert not recorded.of_type("kubernetes:helm.sh/v3:Release")
    key = recorded.one("aws:kms/key:Key")
    groups = {g.inputs["name"]: g for g in recorded.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert sorted(groups) == [f"/aws/containerinsights/llmops-dev-us-east-1/{s}" for s in ("application", "dataplane", "host", "performance")]
    for group in groups.values():
        assert group.inputs["retentionInDays"] == 90
        assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    logs_statement = json.loads(key.inputs["policy"])["Statement"][1]
    assert logs_statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/containerinsights/*"
    )
    addon = recorded.one("aws:eks/addon:Addon")
    role = recorded.one("aws:iam/role:Role")
    assert (addon.inputs["addonName"], addon.inputs["clusterName"]) == ("amazon-cloudwatch-observability", "llmops-dev-us-east-1")
    assert addon.inputs["podIdentityAssociations"] == [{"roleArn": role.outputs["arn"], "serviceAccount": "cloudwatch-agent"}]
    assert {g.urn for g in groups.values()} <= set(addon.dependencies), "the groups exist before the agent writes"
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"} and "sts:TagSession" in trust["Action"]
    policies = sorted(a.inputs["policyArn"] for a in recorded.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
    assert policies == ["arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess", "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
    component = recorded.one("llmops:ops:Observability")
    assert sorted(recorded.outputs_of(component)["logGroupNames"]) == sorted(groups)


def test_logs_without_kms_use_the_service_key() -> None:
    recorded = _observability(metrics="none", logs=LogsArgs(retention_days=14, kms=False))
    assert not recorded.of_type("aws:kms/key:Key")
    assert all("kmsKeyId" not in g.inputs for g in recorded.of_type("aws:cloudwatch/logGroup:LogGroup"))


def test_managed_prometheus_scrapes_the_cluster_and_alerts_to_the_topic() -> None:
    recorded = _observability(metrics="amp", subnet_ids=["subnet-0a", "subnet-0b"])
    assert not recorded.of_type("kubernetes:helm.sh/v3:Release")
    workspace = recorded.one("aws:amp/workspace:Workspace")
    rules = recorded.one("aws:amp/ruleGroupNamespace:RuleGroupNamespace").inputs
    assert rules["workspaceId"] == workspace.id
    assert yaml.safe_load(rules["data"]) == {"groups": rule_groups(RuleThresholds(latency_p99_ms=4000), "docs/runbooks")}
    definition = yaml.safe_load(recorded.one("aws:amp/alertManagerDefinition:AlertManagerDefinition").inputs["definition"])
    assert yaml.safe_load(definition["alertmanager_config"]) == alertmanager_config("us-east-1", TOPIC)
    scraper = recorded.one("aws:amp/scraper:Scraper").inputs
    assert scraper["destination"]["amp"]["workspaceArn"] == workspace.outputs["arn"]
    assert scraper["source"]["eks"]["clusterArn"].endswith(":cluster/llmops-dev-us-east-1")
    assert scraper["source"]["eks"]["subnetIds"] == ["subnet-0a", "subnet-0b"]
    assert scraper["source"]["eks"]["securityGroupIds"][0].startswith("sg-")
    jobs = [j["job_name"] for j in yaml.safe_load(scraper["scrapeConfiguration"])["scrape_configs"]]
    assert jobs == ["ray", "llmops-serving-api", "dcgm-exporter"]
    entry = recorded.one("aws:eks/accessEntry:AccessEntry").inputs
    assert entry["userName"] == "aps-collector-user"
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/AWSServiceRoleForAmazonPrometheusScraper_1a2b3c4d"
    binding = recorded.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").inputs
    assert binding["subjects"] == [{"kind": "User", "name": "aps-collector-user", "apiGroup": "rbac.authorization.k8s.io"}]


def test_args_are_checked_before_any_child_exists() -> None:
    args = ObservabilityArgs(
        region="us-east-1", cluster_name="c", topic_arn=TOPIC, topic_key_arn=KEY, name_prefix="p",
        metrics="graphite",  # type: ignore[arg-type]
        prometheus=PrometheusArgs(replicas=0),
        rules=RuleThresholds(gpu_idle_percent=0, cost_per_hour_usd=-1),
        dashboards={"broken": "{not json"},
        logs=LogsArgs(retention_days=0),
    )
    args = ObservabilityArgs(**{**args.__dict__, "metrics": "amp"})
    with pytest.raises(ValueError) as raised:
        args.validate()
    for fragment in (
        "ObservabilityArgs.subnet_ids", "ObservabilityArgs.prometheus", "ObservabilityArgs.rules.gpu_idle_percent",
        "ObservabilityArgs.rules.cost_per_hour_usd", "ObservabilityArgs.dashboards[broken]", "ObservabilityArgs.logs.retention_days",
    ):
        assert fragment in str(raised.value), fragment


def test_monitors_relabel_what_the_dashboards_and_rules_group_by() -> None:
    by_name = {m["metadata"]["name"]: m for m in monitors()}
    head = by_name["ray-head"]["spec"]
    assert head["selector"] == {"matchLabels": {"ray.io/node-type": "head"}}
    assert head["namespaceSelector"] == {"any": True}
    endpoint = head["podMetricsEndpoints"][0]
    assert endpoint["port"] == "metrics"
    assert {"sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"], "targetLabel": "ray_io_cluster", "action": "replace"} in endpoint["relabelings"]
    dcgm = by_name["dcgm-exporter"]["spec"]
    assert dcgm["namespaceSelector"] == {"matchNames": ["gpu-monitoring"]}
    assert dcgm["attachMetadata"] == {"node": True}
    targets = {r["targetLabel"]: r["sourceLabels"][0] for r in dcgm["endpoints"][0]["relabelings"]}
    assert targets["pool"] == "__meta_kubernetes_node_label_llmops_io_gpu_pool"
    assert prometheus_rule(RuleThresholds(), "docs/runbooks")["metadata"]["labels"] == {"release": "kube-prometheus-stack", "platform": "llmops"}
    assert "dcgm-exporter" in amp_scrape_configuration("30s")
    assert role_arn_without_path("arn:aws:iam::1:role/aws-service-role/scraper.aps.amazonaws.com/AWSServiceRoleForAmazonPrometheusScraper_ab") == (
        "arn:aws:iam::1:role/AWSServiceRoleForAmazonPrometheusScraper_ab"
    )
    assert role_arn_without_path("arn:aws:iam::1:role/plain") == "arn:aws:iam::1:role/plain"


def test_values_are_plain_data_for_the_chart() -> None:
    values = kube_prometheus_stack_values("us-east-1", "c", TOPIC, PrometheusArgs())
    assert json.loads(json.dumps(values)) == values
    assert values["prometheus-node-exporter"]["tolerations"] == [{"operator": "Exists"}]
