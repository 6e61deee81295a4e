"""``llmops deploy``: the Automation API driving a stand-in ``pulumi`` that records its calls,
the engine's failures turned into the project's messages, and a machine with no CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from promotion_support import LLMOPS, REPO, StandIn
from typer.testing import CliRunner

from core.errors import LlmopsError
from llmops.cli import app
from llmops.release.driver import PolicyPack, StackDriver, pack_arguments
from llmops.release.errors import DeployError, PulumiNotInstalled

runner = CliRunner()
SECURITY = REPO / "policies" / "security"
COST = REPO / "policies" / "cost"


def deploy(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["deploy", *args, "--program", str(REPO)], env={"COLUMNS": "200", "NO_COLOR": "1"})
    if isinstance(result.exception, LlmopsError):
        return result.exception.exit_code, result.output + "\nerror: " + str(result.exception)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def steps(calls: list[list[str]]) -> list[str]:
    """The command of each call (``stack select``, ``preview``, ...)."""
    return [" ".join(c[:2]) if c[0] == "stack" else c[0] for c in calls]


def test_deploy_selects_refreshes_previews_with_the_packs_then_updates(standin: StandIn) -> None:
    code, out = deploy("--stack", "dev", "--message", "release abc")
    assert code == 0, out
    calls = standin.calls()
    assert steps(calls) == [
        "version", "stack select", "refresh", "stack history", "preview", "up",
        "stack output", "stack output", "stack history",
    ]
    assert calls[1][-2:] == ["--stack", "dev"]
    refresh = calls[2]
    assert {"--skip-preview", "--yes", "--color"} <= set(refresh) and refresh[-2:] == ["--stack", "dev"]
    for call in (calls[4], calls[5]):
        packs = [call[i + 1] for i, a in enumerate(call) if a == "--policy-pack"]
        configs = [call[i + 1] for i, a in enumerate(call) if a == "--policy-pack-config"]
        assert packs == [str(SECURITY), str(COST)]
        assert configs == [str(SECURITY / "config" / "dev.json"), str(COST / "config" / "dev.json")]
        assert call[call.index("--message") + 1] == "release abc"
    assert calls[5][:3] == ["up", "--yes", "--skip-preview"]
    # every call ran in the project, as an Automation API call
    assert {r["cwd"] for r in standin.records()} == {str(REPO)}
    assert {r["automation"] for r in standin.records()[1:]} == {"true"}
    # the engine's progress was streamed, then summarised
    assert "--- pulumi preview (dev)" in out and "Previewing update (dev):" in out
    assert " +  aws:ec2:Vpc us-east-1-vpc created (2s)" in out
    assert "preview of dev: 3 create, 2 same" in out and "deployed dev: 3 create, 2 same" in out


def test_preview_only_never_updates(standin: StandIn) -> None:
    code, out = deploy("--stack", "staging", "--preview-only", "--no-refresh", "--no-policy")
    assert code == 0, out
    calls = standin.calls()
    assert steps(calls) == ["version", "stack select", "preview"]
    assert "--policy-pack" not in calls[2]
    assert "preview only: nothing was changed" in out


def test_a_stack_missing_from_the_backend_says_how_to_create_it(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDIN_PULUMI_STACKS", "dev")
    code, out = deploy("--stack", "staging")
    assert code == 1
    assert "stack 'staging' does not exist in the Pulumi backend" in out and "`pulumi stack init staging`" in out
    assert steps(standin.calls()) == ["version", "stack select"]


def test_a_mandatory_policy_violation_stops_before_the_update(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDIN_PULUMI_FAIL", "preview-policy")
    code, out = deploy("--stack", "prod")
    assert code == 1
    assert "the policy packs refused the preview of 'prod'; `llmops policy check --stack prod` shows the violations offline" in out
    assert "[mandatory]  llmops-security v0.1.0  kms-encryption-at-rest" in out
    assert "up" not in steps(standin.calls())


def test_a_locked_stack_and_missing_credentials_get_their_fix(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STANDIN_PULUMI_FAIL", "up-locked")
    code, out = deploy("--stack", "dev")
    assert code == 1 and "another update of stack 'dev' is in progress" in out and "`pulumi cancel --stack dev`" in out
    monkeypatch.setenv("STANDIN_PULUMI_FAIL", "refresh-credentials")
    code, out = deploy("--stack", "dev")
    assert code == 1 and "AWS credentials are missing or expired" in out
    assert "No valid credential sources found for AWS Provider." in out


def test_an_invalid_stack_config_stops_before_the_engine_runs(standin: StandIn, tmp_path: Path) -> None:
    from tests.support import write_project

    project = write_project(tmp_path / "bad", config={"environment": "dev"}, stack="dev")
    result = runner.invoke(app, ["deploy", "--stack", "dev", "--program", str(project)])
    assert isinstance(result.exception, LlmopsError)
    assert "invalid stack config in Pulumi.dev.yaml" in str(result.exception) and "llmops:owner: is required" in str(result.exception)
    assert standin.calls() == []


def test_without_the_pulumi_cli_deploy_says_so_and_how_to_install_it(no_pulumi: dict[str, str]) -> None:
    code, out = deploy("--stack", "dev")
    assert code == 1
    assert "the Pulumi CLI is not installed (no `pulumi` on PATH or in ~/.pulumi/bin)" in out
    assert "curl -fsSL https://get.pulumi.com | sh" in out and "llmops plan --stack S` needs no CLI" in out
    with pytest.raises(PulumiNotInstalled):
        StackDriver(REPO, "dev", on_output=print)


def test_without_the_pulumi_cli_the_command_exits_non_zero_without_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([LLMOPS, "deploy", "--stack", "dev"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: the Pulumi CLI is not installed")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_an_unrunnable_cli_is_reported_as_not_installed(tmp_path: Path) -> None:
    broken = tmp_path / "bin" / "pulumi"
    broken.parent.mkdir()
    broken.write_text("not a program")
    broken.chmod(0o755)
    driver = StackDriver(tmp_path, "dev", on_output=print, pulumi=broken)
    with pytest.raises(PulumiNotInstalled, match="cannot be run"):
        driver.deploy([])


def test_packs_and_configs_are_paired_or_refused() -> None:
    assert pack_arguments([PolicyPack(SECURITY, SECURITY / "config/dev.json")]) == ([str(SECURITY)], [str(SECURITY / "config/dev.json")])
    assert pack_arguments([PolicyPack(SECURITY, None), PolicyPack(COST, None)]) == ([str(SECURITY), str(COST)], [])
    with pytest.raises(DeployError, match="have no config for this environment while others do"):
        pack_arguments([PolicyPack(SECURITY, SECURITY / "config/dev.json"), PolicyPack(COST, None)])
