"""``llmops plan`` as a user runs it: a subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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
