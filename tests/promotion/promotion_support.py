"""A small three-stack project for the promotion tests (this repository's program, one
region per stack so each offline plan is quick), with comments and flow lists in its stack
files so the tests can see they survive an edit, and helpers to record results."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from core.errors import LlmopsError
from llmops.cli import app
from llmops.release.identity import Release
from llmops.release.results import write_result
from llmops.release.stackfile import read_stack_file

REPO = Path(__file__).resolve().parents[2]
LLMOPS = shutil.which("llmops", path=str(Path(sys.executable).parent)) or "llmops"


def invoke(*args: str) -> tuple[int, str]:
    """Runs the CLI in process as ``llmops`` does: a project error is its exit code, and its
    message after the output."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    if isinstance(result.exception, LlmopsError):
        return result.exception.exit_code, result.output + "\nerror: " + str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


@dataclass(frozen=True)
class LiveServer:
    """A running ``llmops serve``: its URL, its local API key and its home directory."""

    url: str
    api_key: str
    home: Path


@dataclass
class StandIn:
    """The stand-in ``pulumi`` on PATH and the calls it received."""

    home: Path
    log: Path

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line)["args"] for line in self.log.read_text().splitlines()]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]

DEV = """\
# dev: where every release starts.
config:
  pulumi:disable-default-providers:
    - aws
    - kubernetes
  llmops:environment: dev
  llmops:owner: ml-platform
  llmops:costCenter: cc-dev
  llmops:account: {id: "111122223333"}
  llmops:homeRegion: us-east-1
  llmops:regions:
    - name: us-east-1
      cidr: 10.10.0.0/16
      cluster:
        access: {mode: publicRestricted, deployerCidrs: [203.0.113.0/24]}
      azCount: 2
      natGateways: single
      gpuPools:
        - name: a10g-spot
          instanceTypes: [g5.xlarge, g6.xlarge]
          capacityType: spot
          minNodes: 0
          maxNodes: 2
  llmops:serving:
    release:
      # The candidate: a new revision of the same model.
      modelId: Qwen/Qwen2.5-7B-Instruct
      modelRevision: "a09a35458c702b33eeacc393d103063234e8bc28"  # pinned commit
      image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-5e1f0c2a9b7d@sha256:1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a
  llmops:budget:
    monthlyUsd: 2000
    alertEmails: [ml-platform-dev@example.com]
"""

STAGING = """\
# staging: shaped like prod at a smaller scale.
config:
  pulumi:disable-default-providers:
    - aws
    - kubernetes
  llmops:environment: staging
  llmops:owner: ml-platform   # the owning team
  llmops:costCenter: cc-staging
  llmops:account: {id: "111122223333"}
  llmops:homeRegion: us-east-1
  llmops:regions:
    - name: us-east-1
      cidr: 10.20.0.0/16
      cluster:
        access: {mode: private, deployFrom: ssmTunnel}
      azCount: 2
      natGateways: single
      gpuPools:
        - name: l4-spot
          instanceTypes: [g6.xlarge, g6.2xlarge]   # flow lists stay flow
          capacityType: spot
          minNodes: 0
          maxNodes: 2

  llmops:serving:
    enabled: true
    # What staging runs today.
    release:
      modelId: Qwen/Qwen2.5-7B-Instruct
      modelRevision: "0000000000000000000000000000000000000000"
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-0d4b8e6f3c21@sha256:2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b'
  llmops:budget:
    monthlyUsd: 4000   # reviewed every quarter
    alertEmails:
      - ml-platform@example.com
"""

PROD = """\
# prod: no release pinned yet.
config:
  pulumi:disable-default-providers:
    - aws
    - kubernetes
  llmops:environment: prod
  llmops:owner: ml-platform
  llmops:costCenter: cc-prod
  llmops:account: {id: "444455556666"}
  llmops:homeRegion: us-east-1
  llmops:regions:
    - name: us-east-1
      cidr: 10.30.0.0/16
      cluster:
        access: {mode: private, deployFrom: vpcRunner, runnerCidrs: [10.100.0.0/24]}
      azCount: 3
      flowLogs:
        retentionDays: 90   # the prod security config keeps logs 90 days or more
      gpuPools:
        - name: l40s-base
          instanceTypes: [g6e.2xlarge]
          capacityType: on-demand
          minNodes: 1
          maxNodes: 2
  llmops:budget:
    monthlyUsd: 20000
    alertEmails: [ml-platform@example.com]
"""

STACKS = {"dev": DEV, "staging": STAGING, "prod": PROD}


def write_promotion_project(root: Path, **texts: str) -> Path:
    """The project in ``root``: ``Pulumi.yaml`` running this repository's program and the
    three stack files (``texts`` replaces any of them)."""
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    project = {"name": "llmops-platform", "runtime": {"name": "python"}, "main": str(REPO / "stacks"), "stackConfigDir": "stacks"}
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(project), encoding="utf-8")
    for stack, text in {**STACKS, **texts}.items():
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    return root


def stack_path(root: Path, stack: str) -> Path:
    return root / "stacks" / f"Pulumi.{stack}.yaml"


def pinned(root: Path, stack: str) -> Release:
    values = read_stack_file(stack_path(root, stack)).release
    assert values is not None, f"{stack} pins no release"
    return Release(stack, values)


def record_results(root: Path, stack: str, *, smoke: bool | None = True, evaluation: bool | None = True) -> Release:
    """Writes smoke/eval results for ``stack``'s release (``None``: leave that one out)."""
    release = pinned(root, stack)
    body: dict[str, Any] = {"checks": [{"name": "health", "passed": True, "detail": "status ok"}], "summary": "7/7 checks passed"}
    if smoke is not None:
        write_result(root / ".llmops" / "results", release, "smoke", body if smoke else {**body, "checks": [{"name": "rag", "passed": False, "detail": "no citation"}]}, passed=smoke)
    if evaluation is not None:
        write_result(root / ".llmops" / "results", release, "eval", {"checks": [], "summary": "retrieval 1.00"}, passed=evaluation)
    return release
