"""EKS version support as a function of the day (the project's version table), and what the
program warns about: the same config and the same day give the same findings."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.catalog import eks
from llmops.engine import plan
from llmops.engine.report import plan_document
from stacks.config import parse
from stacks.preflight import TODAY_VARIABLE, plan_warnings, today, version_findings
from tests.support import of_type, valid_config, write_project

DAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("version", "day", "phase", "ends"),
    [
        ("1.35", DAY, "standard", "2027-03-27"),
        ("1.35", date(2027, 3, 27), "extended", "2028-03-27"),  # billed from the first day
        ("1.34", date(2026, 12, 1), "standard", "2026-12-02"),
        ("1.34", date(2026, 12, 2), "extended", "2027-12-02"),
        ("1.33", DAY, "extended", "2027-07-29"),
        ("1.31", DAY, "unsupported", None),
        ("1.36", date(2026, 5, 1), "unreleased", "2026-06-02"),
        ("1.29", DAY, "unknown", None),
    ],
)
def test_support_phase_on_a_given_day(version: str, day: date, phase: str, ends: str | None) -> None:
    status = eks.support_status(version, day)
    assert status.phase == phase
    assert (status.ends.isoformat() if status.ends else None) == ends
    assert status.supported is (phase == "standard")
    assert version in status.message


def test_the_newest_supported_version_moves_with_the_calendar() -> None:
    assert eks.newest_supported(date(2026, 1, 1)) == "1.34"
    assert eks.newest_supported(DAY) == "1.36"
    assert list(eks.eks_versions())[:2] == ["1.31", "1.32"]  # oldest first


def config_with(version: str) -> dict[str, Any]:
    doc = valid_config()
    for region in doc["regions"]:
        region["cluster"]["kubernetesVersion"] = version
    return doc


def test_a_version_out_of_standard_support_fails_and_says_how_to_upgrade() -> None:
    findings = version_findings(parse(config_with("1.33")), DAY)
    assert [(f.region, f.severity) for f in findings] == [("us-east-1", "fail"), ("us-west-2", "fail")]
    assert "billed extended support until 2027-07-29" in findings[0].message
    assert "one minor at a time towards 1.36" in findings[0].fix


def test_a_supported_version_without_pins_warns_and_the_pinned_one_is_clean() -> None:
    (finding, _) = version_findings(parse(config_with("1.36")), DAY)
    assert finding.severity == "warn" and "no add-on builds" in finding.message and "1.35" in finding.fix
    assert plan_warnings(parse(valid_config()), DAY) == []


def test_existing_clusters_are_not_judged() -> None:
    doc = valid_config()
    doc["regions"] = [doc["regions"][0]]
    doc["regions"][0]["cluster"] = {"existing": {"clusterName": "shared"}, "kubernetesVersion": "1.31"}
    del doc["regions"][0]["gpuPools"]
    assert version_findings(parse(doc), DAY) == []


def test_today_is_an_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, "2027-04-01")
    assert today() == date(2027, 4, 1)
    monkeypatch.setenv(TODAY_VARIABLE, "April 1st")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        today()


def test_plan_warns_about_a_version_past_standard_support(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, DAY.isoformat())
    caplog.set_level(logging.WARNING, logger="llmops.engine.program")
    document = plan_document(plan("test", write_project(tmp_path / "p", config=config_with("1.33"))))
    warnings = [r.getMessage() for r in caplog.records if r.name == "llmops.engine.program"]
    assert any("us-east-1: Kubernetes 1.33 left EKS standard support" in w for w in warnings), warnings
    # the plan itself is what it would be on any other day
    assert {c["inputs"]["version"] for c in of_type(document, "aws:eks/cluster:Cluster")} == {"1.33"}


def test_a_version_without_pins_resolves_add_ons_at_deploy_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TODAY_VARIABLE, DAY.isoformat())
    doc = config_with("1.36")
    doc["regions"][1]["cluster"]["capacityProvider"] = "managedNodeGroups"
    result = plan("test", write_project(tmp_path / "p", config=doc))
    document = plan_document(result)
    for addon in of_type(document, "aws:eks/addon:Addon"):
        assert addon["inputs"]["addonVersion"] == "v1.0.0-eksbuild.1", addon["name"]  # the offline engine's answer to getAddonVersion
    for group in of_type(document, "aws:eks/nodeGroup:NodeGroup"):
        assert "releaseVersion" not in group["inputs"] and group["inputs"]["version"] == "1.36"
    autoscaler = next(r for r in of_type(document, "kubernetes:helm.sh/v3:Release", "us-west-2") if r["name"].endswith("-cluster-autoscaler"))
    assert "image" not in autoscaler["inputs"]["values"]  # the chart's own image until a pin exists
