"""``llmops plan`` validates what it renders, as a user runs it (a subprocess of the
installed console script)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli_plan import run
from tests.support import write_project
from tests.validation import programs

FAST = ("--no-cost", "--no-policy")


def test_rejected_objects_fail_the_plan_with_object_and_path(tmp_path: Path) -> None:
    project = write_project(tmp_path / "team", program=programs.INVALID, name="team")
    out = tmp_path / "plan.json"
    proc = run("plan", "--program", str(project), "--stack", "test", *FAST, "--out", str(out), cwd=tmp_path)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    text = " ".join(proc.stdout.split())  # rich wraps long lines
    assert "REJECTED (5)" in text
    assert "NodePool/misspelled spec.template.spec.requirments (misspelled)" in text
    assert "NodePool/misplaced spec.template.limits (misplaced)" in text
    assert "NodePool/empty-in spec.template.spec.requirements (empty-in)" in text
    assert "requirements with operator 'In' must have a value defined" in text
    assert "Release/nvidia-device-plugin values.tolerationz (device-plugin)" in text
    assert "validation: rejected: 5 error(s), 0 unvalidated" in text
    assert "Traceback" not in proc.stdout + proc.stderr
    section = json.loads(out.read_text())["validation"]
    assert section["summary"]["errors"] == 5 and section["summary"]["passed"] is False
    assert {p["path"] for p in section["problems"] if p["objectName"] == "misspelled"} == {
        "spec.template.spec.requirments",
        "spec.template.spec.requirements",
    }


def test_no_validate_skips_it(tmp_path: Path) -> None:
    project = write_project(tmp_path / "team", program=programs.INVALID, name="team")
    proc = run("plan", "--program", str(project), "--stack", "test", *FAST, "--no-validate", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "validation" not in json.loads(proc.stdout)


def test_a_program_with_an_unknown_crd_lists_it_as_unvalidated(tmp_path: Path) -> None:
    project = write_project(tmp_path / "team", program=programs.UNKNOWN_KIND, name="team")
    proc = run("plan", "--program", str(project), "--stack", "test", *FAST, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    section = json.loads(proc.stdout)["validation"]
    assert section["summary"] == {"checked": {}, "errors": 0, "unvalidated": 1, "passed": True}
    assert [(p["severity"], p["kind"], p["apiVersion"], p["resource"]) for p in section["problems"]] == [
        ("unvalidated", "Widget", "example.com/v1", "widget")
    ]


def test_the_shipped_dev_stack_validates_and_help_documents_the_exit_code() -> None:
    proc = run("plan", "--stack", "dev", *FAST, "--json")
    assert proc.returncode == 0, proc.stderr
    section = json.loads(proc.stdout)["validation"]
    assert section["summary"]["passed"] is True
    assert section["summary"]["checked"] == {
        "ConfigMap": 3,
        "EC2NodeClass": 1,
        "Job": 2,  # the model copy and the migrations
        "Namespace": 4,
        "NodePool": 2,
        "PodDisruptionBudget": 3,
        "PodMonitor": 3,
        "PrometheusRule": 1,
        "RayService": 1,
        "Release": 7,
        "ServiceAccount": 3,
        "ServiceMonitor": 1,
        "TargetGroupBinding": 1,
    }
    help_text = " ".join(run("plan", "--help").stdout.split())
    assert "--no-validate" in help_text and "exit 4" in help_text
