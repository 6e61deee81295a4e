"""``llmops cost`` end to end on the reference program and the shipped dev stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from llmops.cli import app
from tests.support import FIXTURE_PRICES

runner = CliRunner()
PRICES = ["--catalogue", str(FIXTURE_PRICES)]


def test_cost_json_and_table(reference_project: Any) -> None:
    project = reference_project(gpuPool=True)
    result = runner.invoke(app, ["cost", "--stack", "ref", "--program", str(project), "--json", *PRICES])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["currency"] == "USD"
    assert document["total"] == {"min": 109.5, "expected": 415.75}
    table = runner.invoke(app, ["cost", "--stack", "ref", "--program", str(project), "--details", *PRICES])
    assert table.exit_code == 0, table.output
    assert "GpuPool" in table.output and "Platform" in table.output
    assert "$109.50" in table.output and "$415.75" in table.output
    assert "Usage assumptions (UsageConfig defaults" in table.output


def test_cost_compare_writes_the_pr_comment(reference_project: Any, tmp_path: Path) -> None:
    base = reference_project("ref")
    base_json = tmp_path / "base.json"
    assert runner.invoke(app, ["cost", "-s", "ref", "-p", str(base), "--out", str(base_json), "--json", *PRICES]).exit_code == 0
    head = base.parent / "head"
    head.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (head / name).write_text((base / name).read_text())
    (head / "Pulumi.ref.yaml").write_text("config:\n  ref:gpuPool: 'true'\n")
    result = runner.invoke(app, ["cost", "-s", "ref", "-p", str(head), "--compare", str(base_json), *PRICES])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("### Cost change for stack `ref`")
    assert "| added | `a10g-nodepool` | NodePool | us-east-1 |" in result.output
    assert "(+$301.75, +264.7%)" in result.output


def test_cost_compare_accepts_a_plan_document_with_a_cost_section(reference_project: Any, tmp_path: Path) -> None:
    project = reference_project(gpuPool=True)
    cost = json.loads(runner.invoke(app, ["cost", "-s", "ref", "-p", str(project), "--json"]).output)
    plan_doc = tmp_path / "plan.json"
    plan_doc.write_text(json.dumps({"stack": "ref", "resources": [], "cost": cost}))
    result = runner.invoke(app, ["cost", "-s", "ref", "-p", str(project), "--compare", str(plan_doc)])
    assert result.exit_code == 0, result.output
    assert "No resource changes its cost." in result.output


def test_cost_errors_are_clean(reference_project: Any, tmp_path: Path) -> None:
    project = reference_project(gpuPool=True, instanceType="g5.xlarg")
    result = subprocess.run(
        [sys.executable, "-c", "from llmops.cli import main; main()", "cost", "-s", "ref", "-p", str(project)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "unknown instance type 'g5.xlarg' in region us-east-1 (did you mean g5.xlarge" in result.stderr
    assert "Traceback" not in result.stderr
    bad = tmp_path / "nope.json"
    missing = runner.invoke(app, ["cost", "-s", "ref", "-p", str(project), "--compare", str(bad)])
    assert missing.exit_code != 0
    assert "--compare" in str(missing.exception) and "does not exist" in str(missing.exception)
    region_only = runner.invoke(app, ["cost", "--region", "us-east-1"])
    assert "only apply with --refresh" in str(region_only.exception)


def test_render_summary_for_the_plan_command(dev_plan: Any) -> None:
    from rich.console import Console

    from llmops.cost import estimate_plan, render_summary

    console = Console(record=True, width=200)
    estimate = estimate_plan(dev_plan)
    render_summary(estimate, console, top=3)
    text = console.export_text()
    assert f"${estimate.total.expected:,.2f} expected" in text
    assert "Top cost drivers" in text
    drivers = [line.strip() for line in text.splitlines() if line.startswith("  ") and line.strip().startswith("$")]
    assert len(drivers) == 3
    top = estimate.top_drivers(1)[0]
    assert top.name in drivers[0]


def test_dev_stack_idle_cost_meets_the_design_target(dev_plan: Any) -> None:
    """The dev stack at idle (GPU pools at zero) stays within $300/month; the message names
    the drivers when it does not."""
    from llmops.cost import estimate_plan

    estimate = estimate_plan(dev_plan)
    gpu_pools = [i for i in estimate.items if i.type == "kubernetes:karpenter.sh/v1:NodePool"]
    assert all(i.min == 0 for i in gpu_pools)
    drivers = sorted(((i.min or 0.0), i.name) for i in estimate.items if (i.min or 0) > 0)[::-1]
    listing = ", ".join(f"{name} ${cost:.2f}" for cost, name in drivers)
    assert estimate.total.min <= 300, f"idle dev stack costs ${estimate.total.min:.2f}/month: {listing}"


def test_package_import_is_light() -> None:
    code = "import sys, llmops.cost; print(sorted(m for m in ('boto3', 'rich', 'pulumi') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
