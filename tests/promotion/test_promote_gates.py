"""``llmops promote``: every gate passing and failing, the order, forced skips, dry runs,
and that a refused promotion leaves the target file byte-identical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from promotion_support import (
    DEV,
    PROD,
    STAGING,
    pinned,
    record_results,
    stack_path,
    write_promotion_project,
)
from typer.testing import CliRunner

from core.errors import LlmopsError
from llmops.cli import app
from llmops.release.stackfile import HEADER_PREFIX, read_stack_file, with_value, write_atomically

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    """Runs the CLI as ``llmops`` does: a project error is its message and exit code."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    if isinstance(result.exception, LlmopsError):
        return result.exception.exit_code, result.output + str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def promote(project: Path, *args: str) -> tuple[int, str]:
    return invoke("promote", *args, "--program", str(project))


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file under stacks/, byte for byte (temporary files included)."""
    return {p.name: p.read_bytes() for p in sorted((project / "stacks").iterdir())}


# --------------------------------------------------------------------------- all gates pass


def test_a_green_release_is_promoted_and_only_the_release_section_changes(project: Path) -> None:
    release = record_results(project, "dev")
    code, out = promote(project, "dev", "staging")
    assert code == 0, out
    for gate in ("order", "results", "plan", "policy", "budget"):
        assert f"✓ {gate}" in out
    assert "dev (dev) -> staging (staging)" in out
    assert "within the $4,000.00 budget of staging" in out
    assert "no mandatory violation" in out
    assert "+      modelRevision: \"a09a35458c702b33eeacc393d103063234e8bc28\"  # pinned commit" in out
    assert f"promoted release {release.short} to staging" in out
    new = stack_path(project, "staging").read_text()
    assert pinned(project, "staging").fingerprint == release.fingerprint
    old_lines, new_lines = STAGING.splitlines(), new.splitlines()
    start, end = old_lines.index("    release:"), old_lines.index("  llmops:budget:")
    assert new_lines[:start] == old_lines[:start]  # comments, blank line, flow list, quoting
    assert new_lines[len(new_lines) - (len(old_lines) - end) :] == old_lines[end:]
    assert new_lines[start] == f"    {HEADER_PREFIX} release {release.short} from dev, " + new_lines[start].rsplit(", ", 1)[1]


def test_dry_run_runs_the_gates_shows_the_diff_and_writes_nothing(project: Path) -> None:
    record_results(project, "dev")
    before = snapshot(project)
    code, out = promote(project, "dev", "staging", "--dry-run")
    assert code == 0, out
    assert "✓ budget" in out and "--- a/stacks/Pulumi.staging.yaml" in out
    assert "dry run: every gate passed; stacks/Pulumi.staging.yaml was not changed" in out
    assert snapshot(project) == before


def test_promoting_a_release_the_target_already_pins_changes_nothing(project: Path, tmp_path: Path) -> None:
    record_results(project, "dev")
    assert promote(project, "dev", "staging")[0] == 0
    before = snapshot(project)
    body = tmp_path / "promotion.md"
    code, out = promote(project, "dev", "staging", "--markdown", str(body))
    assert code == 0 and "staging already pins release" in out and "nothing to change" in out
    assert snapshot(project) == before
    assert "`staging` already pins this release; nothing to change." in body.read_text()


def test_json_and_markdown_describe_the_promotion(project: Path, tmp_path: Path) -> None:
    release = record_results(project, "dev")
    body = tmp_path / "pr" / "promotion.md"
    result = runner.invoke(app, ["promote", "dev", "staging", "--dry-run", "--json", "--markdown", str(body), "--program", str(project)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["source"]["fingerprint"] == release.fingerprint
    assert [g["name"] for g in document["gates"]] == ["order", "results", "plan", "policy", "budget"]
    assert all(g["status"] == "passed" for g in document["gates"]) and document["passed"] is True
    markdown = body.read_text()
    assert f"### Promote release `{release.short}` from `dev` to `staging`" in markdown
    assert "| budget | ✅ passed |" in markdown
    assert "| `image` | `123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-0d4b8e6f3c21@sha256:2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b` | `123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-5e1f0c2a9b7d@sha256:1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a` |" in markdown
    assert "```diff\n--- a/stacks/Pulumi.staging.yaml" in markdown


# --------------------------------------------------------------------------- each gate failing


def test_missing_results_refuse_and_leave_the_target_byte_identical(project: Path) -> None:
    before = snapshot(project)
    code, out = promote(project, "dev", "staging")
    assert code == 1
    assert "✗ results" in out
    assert "refused to promote release" in out and "stacks/Pulumi.staging.yaml was not changed" in out
    assert "no smoke and eval result for release" in out
    assert "run `llmops smoke --stack dev --endpoint URL` and `llmops eval --stack dev --endpoint URL` against dev first" in out
    assert snapshot(project) == before


def test_a_failed_smoke_run_refuses(project: Path) -> None:
    record_results(project, "dev", smoke=False)
    before = snapshot(project)
    code, out = promote(project, "dev", "staging")
    assert code == 1
    assert "the smoke run of release" in out and "rag failed" in out
    assert snapshot(project) == before


def test_results_of_an_earlier_release_do_not_count(project: Path) -> None:
    record_results(project, "dev")
    dev = read_stack_file(stack_path(project, "dev"))
    write_atomically(dev.path, with_value(dev, "image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-77c3a9e0f1b2@sha256:3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c"))
    code, out = promote(project, "dev", "staging")
    assert code == 1 and f"no smoke and eval result for release {pinned(project, 'dev').short}" in out


def test_a_release_the_target_cannot_plan_with_is_refused(project: Path) -> None:
    bad = DEV.replace("      image: 123456789012", "      notAKey: 1\n      image: 123456789012")
    write_promotion_project(project, dev=bad)
    record_results(project, "dev")
    before = snapshot(project)
    code, out = promote(project, "dev", "staging")
    assert code == 1
    assert "✗ plan" in out and "llmops:serving.release.notAKey: unknown key" in out
    assert "- policy" in out and "- budget" in out and "skipped: the target does not plan with the new release" in out
    assert snapshot(project) == before


def test_a_mandatory_policy_violation_in_the_target_refuses(project: Path) -> None:
    write_promotion_project(project, staging=STAGING.replace("[g6.xlarge, g6.2xlarge]", "[g6e.12xlarge]"))
    record_results(project, "dev")
    before = snapshot(project)
    code, out = promote(project, "dev", "staging")
    assert code == 1
    assert "✓ plan" in out and "✗ policy" in out and "mandatory violation(s): gpu-instance-types-allowed" in out
    assert snapshot(project) == before


def test_a_target_over_its_budget_refuses(project: Path) -> None:
    write_promotion_project(project, staging=STAGING.replace("monthlyUsd: 4000", "monthlyUsd: 100"))
    record_results(project, "dev")
    before = snapshot(project)
    code, out = promote(project, "dev", "staging")
    assert code == 1
    assert "✗ budget" in out and "exceeds the $100.00 budget of staging (llmops:budget.monthlyUsd)" in out
    assert snapshot(project) == before


def test_every_failing_gate_is_reported_at_once(project: Path) -> None:
    write_promotion_project(project, staging=STAGING.replace("monthlyUsd: 4000", "monthlyUsd: 100"))
    code, out = promote(project, "dev", "prod")
    assert code == 1
    for gate in ("order", "results"):
        assert f"✗ {gate}" in out
    assert "✓ plan" in out


# --------------------------------------------------------------------------- order


def test_skipping_a_stack_needs_force_and_a_reason(project: Path) -> None:
    record_results(project, "dev")
    before = snapshot(project)
    code, out = promote(project, "dev", "prod")
    assert code == 1
    assert "dev (dev) -> prod (prod) skips staging; promote to a staging stack first, or pass --force --reason TEXT" in out
    assert snapshot(project) == before
    code, out = promote(project, "dev", "prod", "--force")
    assert code == 2 and "--force needs --reason TEXT" in out
    code, out = promote(project, "dev", "prod", "--reason", "hotfix")
    assert code == 2 and "--reason goes with --force" in out
    assert snapshot(project) == before


def test_a_forced_skip_records_its_reason_in_the_target_file(project: Path) -> None:
    release = record_results(project, "dev")
    reason = "CVE-2025-1234 hotfix,\n approved in INC-42"
    code, out = promote(project, "dev", "prod", "--force", "--reason", reason)
    assert code == 0, out
    assert "✓ order" in out and "forced: CVE-2025-1234 hotfix, approved in INC-42" in out
    text = stack_path(project, "prod").read_text()
    assert f"    {HEADER_PREFIX} forced past the order: CVE-2025-1234 hotfix, approved in INC-42\n    release:" in text
    assert text.startswith(PROD)
    assert pinned(project, "prod").fingerprint == release.fingerprint


def test_going_backwards_is_refused(project: Path) -> None:
    write_promotion_project(project, prod=PROD + yaml.safe_dump({"x": 1}).replace("x: 1\n", "") + "  llmops:serving:\n    release:\n      image: old\n")
    record_results(project, "prod")
    code, out = promote(project, "prod", "staging")
    assert code == 1 and "prod (prod) -> staging (staging) goes backwards along dev -> staging -> prod" in out


# --------------------------------------------------------------------------- bad input


def test_unknown_stacks_same_stacks_and_unpinned_sources_are_clear_errors(project: Path) -> None:
    code, out = promote(project, "dev", "qa")
    assert code == 2 and "unknown stack 'qa'" in out and "Stacks that exist: dev, prod, staging" in out
    code, out = promote(project, "dev", "dev")
    assert code == 2 and "FROM and TO are both 'dev'" in out
    code, out = promote(project, "prod", "staging")
    assert code == 1 and "prod pins no release" in out and "llmops:serving.release" in out


def test_a_release_holding_an_encrypted_value_is_not_copied(project: Path) -> None:
    write_promotion_project(project, dev=DEV.replace("      image: 123456789012", "      token:\n        secure: v1:abc==\n      image: 123456789012"))
    before = snapshot(project)
    code, out = promote(project, "dev", "staging")
    assert code == 1 and "holds encrypted values (release.token)" in out
    assert snapshot(project) == before


# --------------------------------------------------------------------------- llmops release


def test_release_show_names_the_fingerprint_and_the_results(project: Path) -> None:
    release = record_results(project, "dev", evaluation=None)
    code, out = invoke("release", "show", "--stack", "dev", "--program", str(project))
    assert code == 0
    assert f"dev release {release.short} (sha256 {release.fingerprint})" in out
    assert "smoke: green" in out and "no eval result for release" in out
    result = runner.invoke(app, ["release", "show", "-s", "dev", "--json", "--program", str(project)])
    document = json.loads(result.stdout)
    assert document["fingerprint"] == release.fingerprint
    assert document["results"]["smoke"]["green"] is True and document["results"]["eval"]["green"] is False


def test_release_set_pins_values_in_place(project: Path) -> None:
    digest = "registry.example.com/llmops-serving@sha256:" + "b" * 64
    code, out = invoke("release", "set", f"image={digest}", "chartVersions.kuberay=1.3.2", "--stack", "staging", "--program", str(project))
    assert code == 0, out
    release = pinned(project, "staging")
    assert release.values["image"] == digest and release.values["chartVersions"] == {"kuberay": "1.3.2"}
    assert f"staging now pins release {release.short}" in out
    assert stack_path(project, "staging").read_text().startswith(STAGING.split("    release:")[0])
    code, out = invoke("release", "set", "image", "--stack", "staging", "--program", str(project))
    assert code == 2 and "'image' is not KEY=VALUE" in out


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "byo"])
def test_the_shipped_stacks_read_as_stack_files(stack: str) -> None:
    from promotion_support import REPO

    stack_file = read_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml")
    assert stack_file.environment in ("dev", "staging", "prod")
