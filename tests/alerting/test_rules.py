"""The platform's Prometheus rules pass ``promtool check rules`` and the unit tests in
``promtool/`` (each alert fires on a synthetic series and stays quiet on a healthy one), and
every PrometheusRule, ServiceMonitor and PodMonitor is accepted by the prometheus-operator
CRDs the chart installs. Every alert says what is wrong, how bad it is and where its runbook is."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.alerting import AlarmThresholds, alarm_specs
from components.monitoring import (
    AuroraCluster,
    EksCluster,
    LoadBalancer,
    NatGateway,
    Queue,
    ServerlessCache,
)
from components.observability import monitors, prometheus_rule
from components.prometheus_rules import PLATFORM_LABEL, RuleThresholds, rule_groups
from llmops.validation import validate_helm_values, validate_object
from tests.support import REPO

PROMTOOL_TESTS = Path(__file__).parent / "promtool"
RUNBOOKS = REPO / "docs" / "runbooks"


def _alerts(thresholds: RuleThresholds | None = None) -> list[dict[str, Any]]:
    return [rule for group in rule_groups(thresholds or RuleThresholds(), "docs/runbooks") for rule in group["rules"]]


def _promtool(promtool: str, tmp_path: Path, thresholds: RuleThresholds, *args: str) -> subprocess.CompletedProcess[str]:
    for test in PROMTOOL_TESTS.glob("*.test.yaml"):
        shutil.copy(test, tmp_path / test.name)
    (tmp_path / "rules.yaml").write_text(
        yaml.safe_dump({"groups": rule_groups(thresholds, "docs/runbooks")}, sort_keys=False), encoding="utf-8"
    )
    return subprocess.run([promtool, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


def test_rules_pass_promtool_check(promtool: str, tmp_path: Path) -> None:
    result = _promtool(promtool, tmp_path, RuleThresholds(), "check", "rules", "rules.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_every_alert_fires_on_a_bad_series_and_stays_quiet_on_a_healthy_one(promtool: str, tmp_path: Path) -> None:
    tests = sorted(p.name for p in PROMTOOL_TESTS.glob("*.test.yaml"))
    result = _promtool(promtool, tmp_path, RuleThresholds(), "test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_fail_when_a_threshold_moves(promtool: str, tmp_path: Path) -> None:
    """The firing cases really depend on the thresholds (a test that always passes proves nothing)."""
    tests = sorted(p.name for p in PROMTOOL_TESTS.glob("*.test.yaml"))
    result = _promtool(promtool, tmp_path, RuleThresholds(latency_p99_ms=20_000, gpu_memory_percent=99), "test", "rules", *tests)
    assert result.returncode != 0
    report = result.stdout + result.stderr
    assert "alertname: ServeLatencyP99High" in report and "alertname: GpuMemoryNearFull" in report


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in PROMTOOL_TESTS.glob("*.test.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert document["rule_files"] == ["rules.yaml"], path
        for case in document["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in _alerts()}
    assert names - firing == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown quiet on a healthy series"


def test_every_alert_has_a_severity_a_summary_and_a_runbook_page_with_a_logs_query() -> None:
    for alert in _alerts():
        labels, annotations = alert["labels"], alert["annotations"]
        assert labels["severity"] in ("critical", "warning"), alert["alert"]
        assert labels.items() >= PLATFORM_LABEL.items(), alert["alert"]
        assert annotations["summary"] and annotations["description"], alert["alert"]
        page = RUNBOOKS / Path(annotations["runbook_url"]).name
        assert page.is_file(), f"{alert['alert']}: {page} is missing"
        text = page.read_text(encoding="utf-8")
        assert "CloudWatch Logs Insights" in text and "fields @timestamp" in text, page


def test_thresholds_appear_in_the_expressions() -> None:
    alerts = {a["alert"]: a["expr"] for a in _alerts(RuleThresholds(latency_p99_ms=1234, queue_depth=7, gpu_idle_percent=12.5))}
    assert alerts["ServeLatencyP99High"].endswith("> 1234")
    assert alerts["ServeQueueDepthHigh"].endswith("> 7")
    assert alerts["GpuPoolIdle"].endswith("< 12.5")


# ----------------------------------------------------------------------------- CRDs

@pytest.mark.parametrize("manifest", [*monitors(), prometheus_rule(RuleThresholds(), "docs/runbooks")], ids=lambda m: f"{m['kind']}/{m['metadata']['name']}")
def test_monitors_and_rules_are_accepted_by_the_prometheus_operator_crds(manifest: dict[str, Any]) -> None:
    problems = [p for p in validate_object(manifest, kubernetes_version="1.35", charts={"kube-prometheus-stack": "88.5.3"}) if p.severity == "error"]
    assert not problems, problems
    assert all(p.severity != "unvalidated" for p in validate_object(manifest, kubernetes_version="1.35"))


def test_kube_prometheus_stack_values_are_the_charts_own() -> None:
    from components import versions
    from components.observability import PrometheusArgs, kube_prometheus_stack_values

    values = kube_prometheus_stack_values("us-east-1", "llmops-prod-us-east-1", "arn:aws:sns:us-east-1:123456789012:t", PrometheusArgs(replicas=2))
    problems = validate_helm_values(versions.KUBE_PROMETHEUS_STACK.chart, versions.KUBE_PROMETHEUS_STACK.version, values)
    assert not [p for p in problems if p.severity == "error"], problems


def test_every_cloudwatch_alarm_links_a_runbook_page_with_a_logs_query() -> None:
    every_kind = (
        NatGateway("nat-0", "nat-1"),
        EksCluster("eks", "c"),
        LoadBalancer("alb", "application", "app/a/1", {"serve": "targetgroup/t/1"}),
        LoadBalancer("nlb", "network", "net/n/1", {"serve": "targetgroup/t/1"}),
        AuroraCluster("db", "d"),
        ServerlessCache("cache", "c", 10, 1000),
        Queue("q", "q", "Karpenter"),
    )
    pages = {spec.runbook for m in every_kind for spec in alarm_specs(m, AlarmThresholds())}
    for page in pages:
        text = (RUNBOOKS / f"{page}.md").read_text(encoding="utf-8")
        assert "CloudWatch Logs Insights" in text and "fields @timestamp" in text, page
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    for path in RUNBOOKS.glob("*.md"):
        if path.name != "README.md":
            assert f"({path.name})" in index, f"{path.name} is not in the runbooks index"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_shipped_stacks_rules_and_monitors_pass_promtool_and_the_crds(stack: str, promtool: str, tmp_path: Path) -> None:
    """What each shipped stack renders (its environment's thresholds, its config's latency,
    error rate and cost rate), read from its plan snapshot, not only the defaults."""
    from tests.plan_snapshots import read

    kinds = ("PrometheusRule", "ServiceMonitor", "PodMonitor")
    rendered = [r for r in read(stack).resources.values() if r["type"].rsplit(":", 1)[-1] in kinds]
    rules = [r for r in rendered if r["type"].endswith(":PrometheusRule")]
    assert rules and len(rendered) > len(rules)
    for index, rule in enumerate(rules):
        path = tmp_path / f"rules-{index}.yaml"
        path.write_text(yaml.safe_dump({"groups": rule["inputs"]["spec"]["groups"]}, sort_keys=False), encoding="utf-8")
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, (rule["urn"], result.stdout + result.stderr)
    for resource in rendered:
        problems = [p for p in validate_object(resource["inputs"], kubernetes_version="1.35") if p.severity in ("error", "unvalidated")]
        assert not problems, (resource["urn"], problems)
