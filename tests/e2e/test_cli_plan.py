"""``llmops plan`` as a user runs it: a subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO, valid_config, write_project

LLMOPS = shutil.which("llmops", path=str(Path(sys.executable).parent)) or "llmops"


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    return subprocess.run([LLMOPS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_plan_dev_prints_a_tree_by_region_and_component() -> None:
    proc = run("plan", "--stack", "dev")
    assert proc.returncode == 0, proc.stderr
    assert "llmops-platform / stack dev:" in proc.stdout
    assert "us-east-1" in proc.stdout
    assert "Network us-east-1" in proc.stdout
    assert "aws:ec2/subnet:Subnet x4" in proc.stdout


def test_plan_json_and_out_file_are_identical_and_stable(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    first = run("plan", "-s", "prod", "--json", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert out.read_text() == first.stdout
    document = json.loads(first.stdout)
    assert document["regions"] == ["eu-west-1", "us-east-1", "us-west-2"]
    second = run("plan", "-s", "prod", "--json")
    assert second.stdout == first.stdout


def test_plan_from_another_directory_with_program_flag(tmp_path: Path) -> None:
    project = write_project(tmp_path / "team", program="import pulumi\npulumi.export('x', 1)\n", name="team")
    proc = run("plan", "--program", str(project), "--stack", "test", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == {"x": 1}


def test_bad_config_exits_non_zero_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    config = valid_config()
    config["regions"][1]["gpuPools"][0]["instanceTypes"] = ["m5.large"]
    config["budget"]["monthlyUsd"] = -5
    project = write_project(tmp_path / "bad", config=config, stack="broken")
    proc = run("plan", "--program", str(project), "--stack", "broken")
    assert proc.returncode == 1
    assert "llmops:budget.monthlyUsd: must be > 0" in proc.stderr
    assert "llmops:regions[1].gpuPools[0].instanceTypes[0]: 'm5.large' has no GPU" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_stack_exits_2_and_lists_stacks() -> None:
    proc = run("plan", "--stack", "qa")
    assert proc.returncode == 2
    assert "unknown stack 'qa'" in proc.stderr and "byo, dev, prod, staging" in proc.stderr


PUBLIC_BUCKET_PROGRAM = """
import pulumi, pulumi_aws as aws
p = aws.Provider("p", region="us-east-1", default_tags={"tags": {"Project": "x", "Stack": "test", "Environment": "dev", "Owner": "o", "CostCenter": "c"}})
b = aws.s3.Bucket("open", opts=pulumi.ResourceOptions(provider=p))
aws.s3.BucketPublicAccessBlock("open", bucket=b.id, block_public_acls=False, block_public_policy=False,
    ignore_public_acls=False, restrict_public_buckets=False, opts=pulumi.ResourceOptions(provider=p))
"""


def test_mandatory_policy_violation_fails_the_plan_with_a_pr_report(tmp_path: Path) -> None:
    project = write_project(tmp_path / "team", program=PUBLIC_BUCKET_PROGRAM, name="team")
    report = tmp_path / "policy.md"
    proc = run("plan", "--program", str(project), "--stack", "test", "--markdown", str(report), cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "mandatory" in proc.stdout
    text = report.read_text()
    assert "**4 mandatory violation(s)**" in text
    assert "| `s3-bucket-baseline` | `aws:s3/bucket:Bucket::open` | bucket 'open' has no complete public access block" in text
    clean = run("plan", "--program", str(project), "--stack", "test", "--no-policy", "--json", cwd=tmp_path)
    assert clean.returncode == 0 and "policy" not in json.loads(clean.stdout)


PROGRAMS = REPO / "tests" / "engine" / "programs"


def test_stack_references_come_from_the_flag(tmp_path: Path) -> None:
    program = PROGRAMS / "stack-reference"
    missing = run("plan", "--program", str(program), "--stack", "test", "--no-policy", cwd=tmp_path)
    assert missing.returncode == 1
    assert "stack reference 'acme/network/prod'" in missing.stderr and "--stack-reference acme/network/prod=outputs.json" in missing.stderr
    assert "Traceback" not in missing.stderr
    outputs = program / "network-outputs.json"
    proc = run("plan", "--program", str(program), "-s", "test", "--no-policy", "--json", "--stack-reference", f"acme/network/prod={outputs}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert document["outputs"]["vpcId"] == "vpc-0a1b2c3d4e5f60718"
    assert {r["type"] for r in document["reads"]} == {"pulumi:pulumi:StackReference", "aws:ec2/vpc:Vpc", "aws:iam/role:Role"}
    tree = run("plan", "--program", str(program), "-s", "test", "--no-policy", "--no-cost", "--stack-reference", f"acme/network/prod={outputs}", cwd=tmp_path)
    assert "reads (3 existing resource(s), not created)" in tree.stdout and "aws:ec2/vpc:Vpc network-vpc (vpc-0a1b2c3d4e5f60718)" in tree.stdout


def test_a_bad_stack_reference_flag_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("plan", "--program", str(PROGRAMS / "stack-reference"), "-s", "test", "--stack-reference", "network/prod=x.json", cwd=tmp_path)
    assert proc.returncode == 2 and "expected ORG/PROJECT/STACK=outputs.json" in proc.stderr


def test_a_failing_program_shows_its_line_and_with_debug_its_traceback(tmp_path: Path) -> None:
    program = "import pulumi_aws as aws\nq = aws.sqs.Queue('jobs')\nsettings = {}\nprint(settings['visibility'])\n"
    project = write_project(tmp_path / "team", program=program, name="team", extra_config={"aws:region": "eu-west-1"})
    plain = run("plan", "--program", str(project), "-s", "test", cwd=tmp_path)
    assert plain.returncode == 1
    assert "KeyError: 'visibility'" in plain.stderr and "at __main__.py:4: print(settings['visibility'])" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = run("plan", "--program", str(project), "-s", "test", "--debug", cwd=tmp_path)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and 'line 4, in <module>' in debug.stderr
    assert "never retrieved" not in debug.stderr


def test_a_missing_provider_sdk_says_what_to_install_where(tmp_path: Path) -> None:
    project = write_project(tmp_path / "gcp", program="import pulumi_gcp\n", name="gcp")
    proc = run("plan", "--program", str(project), "-s", "test", cwd=tmp_path)
    assert proc.returncode == 1
    assert "pulumi_gcp" in proc.stderr and "pip install pulumi-gcp" in proc.stderr and "Traceback" not in proc.stderr


def test_a_cost_model_failure_leaves_the_plan_standing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import llmops.cost
    from core.errors import LlmopsError
    from llmops.cli import app

    def failing_estimate(result: object) -> object:
        raise LlmopsError("web (aws:ec2/instance:Instance): no price for 'x1.tiny'")

    monkeypatch.setattr(llmops.cost, "estimate_plan", failing_estimate)
    program = "import pulumi_aws as aws\naws.sqs.Queue('jobs')\n"
    project = write_project(tmp_path / "team", program=program, name="team", extra_config={"aws:region": "us-east-1"})
    result = CliRunner().invoke(app, ["plan", "--program", str(project), "-s", "test", "--no-policy", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["cost"] == {"error": "web (aws:ec2/instance:Instance): no price for 'x1.tiny'"}
    assert [r["type"] for r in document["resources"]] == ["aws:sqs/queue:Queue", "pulumi:pulumi:Stack"]
    assert "warning: no cost estimate: web (aws:ec2/instance:Instance)" in result.stderr
