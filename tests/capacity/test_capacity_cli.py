"""``llmops capacity`` as a user runs it: the installed console script in a subprocess,
pointed at the loopback moto server (directly, or through the seeding stub) with
``--endpoint-url`` or ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stacks.config import namespace_values, parse
from tests.capacity.fakeaws import FakeAws, Fault, SpotPoint
from tests.support import REPO

LLMOPS = shutil.which("llmops", path=str(Path(sys.executable).parent)) or "llmops"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([LLMOPS, "capacity", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60)


def _seed(fake: FakeAws) -> None:
    fake.spot_prices["us-east-1"] = [
        SpotPoint("g6.xlarge", "us-east-1a", 0.3412),
        SpotPoint("g6.xlarge", "us-east-1c", 0.3301),
        SpotPoint("g6.2xlarge", "us-east-1a", 0.4102),
    ]
    fake.spot_prices["us-west-2"] = [SpotPoint("g6.xlarge", "us-west-2b", 0.2915)]
    fake.spot_prices["ap-south-1"] = [SpotPoint("g6.xlarge", "ap-south-1a", 0.2001)]
    fake.quotas[("us-east-1", "L-3819A6DF")] = 96
    fake.quotas[("us-west-2", "L-3819A6DF")] = 64
    fake.quotas[("ap-south-1", "L-3819A6DF")] = 0


def _project(tmp_path: Path, stack: str, text: str) -> Path:
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(
        yaml.safe_dump({"name": "llmops-platform", "runtime": {"name": "python"}, "main": str(REPO / "stacks"), "stackConfigDir": "stacks"})
    )
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(text)
    return root


def test_table_ranks_viable_regions_and_says_why_others_are_excluded(fake_aws: FakeAws) -> None:
    _seed(fake_aws)
    proc = run(
        "--accelerator", "l4", "--regions", "us-east-1,us-west-2,eu-west-1,ap-south-1",
        "--endpoint-url", fake_aws.url,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "GPU capacity for 1 x L4 (g6.xlarge, g6.2xlarge, g6.4xlarge, gr6.4xlarge, g6.8xlarge, gr6.8xlarge, g6.16xlarge), spot" in out
    rows = [line for line in out.splitlines() if line.startswith("│ ") and "$" in line]
    assert [row.split("│")[2].strip() for row in rows] == ["us-west-2", "us-east-1"]
    assert "│ 1 │ us-west-2 │ g6.xlarge     │ $0.2915 │ $0.2915 │ 4 (a,b,c,d)" in out
    assert "64 vCPU (+60)" in out
    assert "│ 2 │ us-east-1 │ g6.xlarge     │ $0.3301 │" in out
    assert "96 vCPU (+92)" in out
    assert "eu-west-1  │ not offered in eu-west-1: g6.xlarge" in out
    assert "ap-south-1 │ no spot price in the last 3 h: g6.2xlarge, g6.4xlarge, gr6.4xlarge" in out
    assert "│ quota too low: L-3819A6DF (All G and VT Spot Instance Requests) is 0 vCPUs; 1 x g6.xlarge needs 4;" in out


def test_json_is_stable_and_honours_aws_endpoint_url(fake_aws: FakeAws) -> None:
    _seed(fake_aws)
    args = ("--instance-type", "g6.xlarge", "-r", "us-east-1", "-r", "us-west-2", "--json")
    first = run(*args, env={"AWS_ENDPOINT_URL": fake_aws.url})
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert [r["region"] for r in document["ranked"]] == ["us-west-2", "us-east-1"]
    best = document["ranked"][0]["best"]
    assert best["instanceType"] == "g6.xlarge"
    assert best["gpuHourlyUsd"] == 0.2915
    assert best["quotaHeadroomVcpus"] == 60
    assert document["ranked"][1]["best"]["azPrices"] == {"us-east-1a": 0.3412, "us-east-1c": 0.3301}
    assert document["written"] is None
    second = run(*args, env={"AWS_ENDPOINT_URL": fake_aws.url})
    assert second.stdout == first.stdout


def test_plain_moto_endpoint_end_to_end(moto_url: str) -> None:
    proc = run("-t", "g6e.xlarge", "-r", "us-east-1,eu-west-1,us-west-2", "--min-azs", "4", "--json", "--endpoint-url", moto_url)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert [r["region"] for r in document["ranked"]] == ["us-east-1", "us-west-2"]
    assert document["ranked"][0]["best"]["availabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
    assert document["ranked"][0]["best"]["hourlyUsd"] == 0.00001
    assert [(r["region"], r["exclusions"][0]["kind"]) for r in document["excluded"]] == [("eu-west-1", "not-offered")]


def test_on_demand_prices_come_from_the_catalogue(fake_aws: FakeAws) -> None:
    fake_aws.quotas[("us-east-1", "L-DB2E81BA")] = 32
    proc = run("-t", "g5.xlarge", "-r", "us-east-1,ap-south-1", "-c", "on-demand", "--json", "--endpoint-url", fake_aws.url)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    east, south = document["ranked"]
    assert (east["region"], east["best"]["hourlyUsd"], east["best"]["quota"]["code"]) == ("us-east-1", 1.006, "L-DB2E81BA")
    assert east["best"]["quotaHeadroomVcpus"] == 28
    assert (south["region"], south["best"]["hourlyUsd"]) == ("ap-south-1", None)
    assert fake_aws.calls_of("DescribeSpotPriceHistory") == []


def test_regions_default_to_the_stack_and_write_stack_adds_the_best(fake_aws: FakeAws, tmp_path: Path) -> None:
    _seed(fake_aws)
    text = (REPO / "stacks" / "Pulumi.staging.yaml").read_text()
    project = _project(tmp_path, "staging", text)
    shutil.copyfile(project / "stacks" / "Pulumi.staging.yaml", project / "stacks" / "Pulumi.team.yaml")
    proc = run(
        "--accelerator", "L4", "--stack", "staging", "--program", str(project),
        "--write-stack", "team", "--endpoint-url", fake_aws.url, "--json",
    )
    # staging's regions are asked; both are already in the copy, so nothing can be added
    assert proc.returncode == 1
    assert "every viable region (us-west-2, us-east-1) is already in Pulumi.team.yaml" in proc.stderr
    document = json.loads(proc.stdout)  # the report is still printed
    assert document["request"]["regions"] == ["us-east-1", "us-west-2"]
    assert document["written"] is None
    assert document["writeError"].startswith("every viable region (us-west-2, us-east-1)")
    assert (project / "stacks" / "Pulumi.team.yaml").read_text() == text

    proc = run(
        "--accelerator", "L4", "-r", "us-east-1,us-west-2,us-east-2", "--program", str(project),
        "--write-stack", "team", "--top", "2", "--endpoint-url", fake_aws.url,
    )
    assert proc.returncode == 0, proc.stderr
    target = project / "stacks" / "Pulumi.team.yaml"
    config = parse(namespace_values(yaml.safe_load(target.read_text())["config"]))
    assert [r.name for r in config.regions] == ["us-east-1", "us-west-2", "us-east-2"]
    added = config.region("us-east-2")
    assert added.cidr == "10.22.0.0/16"  # after staging's 10.20 and 10.21
    assert added.gpu_pools[0].name == "l4-spot"
    assert "added us-east-2 (10.22.0.0/16, 3 AZs, pool l4-spot: g6.xlarge" in proc.stdout
    assert "not added: us-west-2 (already in Pulumi.team.yaml)" in proc.stdout
    # the region is inserted; every line of the file before stays, in order
    changes = difflib.SequenceMatcher(None, text.splitlines(), target.read_text().splitlines()).get_opcodes()
    assert [tag for tag, *_ in changes if tag != "equal"] == ["insert"]


def test_write_stack_refuses_an_invalid_result_and_changes_nothing(fake_aws: FakeAws, tmp_path: Path) -> None:
    _seed(fake_aws)
    text = (REPO / "stacks" / "Pulumi.dev.yaml").read_text().replace("ml-platform-dev@example.com", "not-an-email")
    project = _project(tmp_path, "broken", text)
    proc = run("-t", "g6.xlarge", "-r", "us-west-2", "--program", str(project), "--write-stack", "broken", "--endpoint-url", fake_aws.url)
    assert proc.returncode == 1
    assert "adding us-west-2 would leave an invalid stack" in proc.stderr
    assert "llmops:budget.alertEmails[0]: 'not-an-email' is not an email address" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (project / "stacks" / "Pulumi.broken.yaml").read_text() == text


def test_unknown_write_stack_lists_the_stacks_that_exist(tmp_path: Path) -> None:
    project = _project(tmp_path, "dev", (REPO / "stacks" / "Pulumi.dev.yaml").read_text())
    proc = run("-t", "g6.xlarge", "-r", "us-west-2", "--program", str(project), "--write-stack", "nope")
    assert proc.returncode == 2
    assert "unknown stack 'nope'" in proc.stderr and "Stacks that exist: dev" in proc.stderr


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (("-t", "g5.xlarg"), 2, "unknown instance type 'g5.xlarg' (did you mean g5.xlarge"),
        (("-a", "H10"), 2, "unknown accelerator 'H10' (did you mean H100"),
        (("-a", "H100", "--gpus", "4"), 2, "no instance type has exactly 4 x H100"),
        (("-t", "g5.xlarge", "-a", "A10G"), 2, "pass either --instance-type or --accelerator"),
        ((), 2, "say what to look for: --instance-type g5.xlarge, or --accelerator A10G --gpus 1"),
        (("-t", "g5.xlarge", "-r", "us-east-7"), 2, "unknown AWS region 'us-east-7'"),
        (("-t", "g5.xlarge", "-c", "reserved"), 2, "--capacity-type must be spot or on-demand (got 'reserved')"),
    ],
)
def test_bad_input_is_a_clean_usage_error(args: tuple[str, ...], code: int, expected: str) -> None:
    proc = run(*args, "--endpoint-url", "http://127.0.0.1:9")
    assert proc.returncode == code, proc.stderr
    assert expected in proc.stderr.replace("\n", " ")
    assert "Traceback" not in proc.stderr


def test_missing_credentials_explain_how_to_set_them(fake_aws: FakeAws, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "COLUMNS": "200",
        }
    )
    proc = subprocess.run(
        [LLMOPS, "capacity", "-t", "g5.xlarge", "-r", "us-east-1", "--endpoint-url", fake_aws.url],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "error: no AWS credentials found; set AWS credentials: export AWS_PROFILE=<profile>" in proc.stderr.replace("\n", " ")
    assert "Traceback" not in proc.stderr
    assert fake_aws.calls == []


def test_no_viable_region_prints_the_reasons_and_fails(fake_aws: FakeAws) -> None:
    fake_aws.faults.append(Fault("DescribeInstanceTypeOfferings", "OptInRequired", times=5, region="ap-south-1", status=401))
    proc = run("-t", "p5.48xlarge", "-r", "eu-west-1,ap-south-1", "--endpoint-url", fake_aws.url)
    assert proc.returncode == 1
    assert "No region can supply this capacity." in proc.stdout
    assert "eu-west-1  │ not offered in eu-west-1: p5.48xlarge" in proc.stdout
    assert "ap-south-1 │ ap-south-1 is not enabled for this account (OptInRequired)" in proc.stdout
    assert "none of the 2 regions asked can supply p5.48xlarge (spot, at least 2 AZs)" in proc.stderr.replace("\n", " ")
