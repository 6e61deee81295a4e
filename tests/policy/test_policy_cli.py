"""``llmops policy check / test / list`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import UsageError
from llmops import cli
from llmops.cli import app
from tests.policy.conftest import BAD_PROGRAM, COST
from tests.policy.test_policy_runner import team_pack

runner = CliRunner()


def test_check_passes_on_dev() -> None:
    result = runner.invoke(app, ["policy", "check", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    assert "policy: passed: 0 mandatory, 1 advisory" in result.output
    # A finding on the components, advisory in the shipped configs until the components change
    # (node launch templates keep the IMDS hop limit at 1 now).
    assert "kms-key-policy-defined" in result.output and "imds-hop-limit" not in result.output


def test_check_blocks_a_bad_program_with_json_and_markdown(tmp_path: Path) -> None:
    markdown = tmp_path / "report" / "policy.md"
    result = runner.invoke(app, ["policy", "check", "-s", "dev", "-p", str(BAD_PROGRAM), "--json", "--markdown", str(markdown)])
    assert result.exit_code == 3  # a mandatory violation, as for llmops plan
    document = json.loads(result.stdout)
    assert document["stack"] == "dev" and document["project"] == "bad-platform"
    assert len(document["policy"]["violations"]) == 7
    assert {v["level"] for v in document["policy"]["violations"]} == {"mandatory"}
    assert "#### Mandatory (7)" in markdown.read_text(encoding="utf-8")


def test_check_with_one_pack_and_an_environment() -> None:
    result = runner.invoke(app, ["policy", "check", "-s", "dev", "-p", str(BAD_PROGRAM), "--pack", str(COST), "-e", "prod", "--json"])
    document = json.loads(result.stdout)
    assert [p["name"] for p in document["policy"]["packs"]] == ["llmops-cost"]
    assert document["policy"]["packs"][0]["config"].endswith("policies/cost/config/prod.json")
    assert {v["policy"] for v in document["policy"]["violations"]} == {"cost-allocation-tags", "monthly-budget"}


def test_policy_test_on_the_projects_packs() -> None:
    result = runner.invoke(app, ["policy", "test"])
    assert result.exit_code == 0, result.output
    assert "llmops-security" in result.output and "llmops-cost" in result.output
    assert "case(s) passed" in result.output and "✗" not in result.output


def test_policy_test_on_a_teams_pack(tmp_path: Path) -> None:
    good = runner.invoke(app, ["policy", "test", "--pack", str(team_pack(tmp_path / "good")), "-v"])
    assert good.exit_code == 0, good.output
    assert "team-pack" in good.output and "2/2 case(s) passed" in good.output
    bad = runner.invoke(app, ["policy", "test", "--pack", str(team_pack(tmp_path / "bad", wrong=True))])
    assert bad.exit_code == 1
    assert "1/2 case(s) passed" in bad.output
    assert "expected no violation, got: t2 instances are retired here" in bad.output
    assert "no-t2-instances: no 'fail' case in fixtures/" in bad.output


def test_policy_list() -> None:
    result = runner.invoke(app, ["policy", "list", "--pack", str(COST)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "llmops-cost 0.1.0" in result.output
    assert "gpu-capacity-limits" in result.output and "maxGpusPerRegion (64)" in result.output


def test_check_help_gives_the_exit_code_of_a_mandatory_violation() -> None:
    result = runner.invoke(app, ["policy", "check", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "exit 3 on a mandatory violation" in result.output and "exit 1" not in result.output


def test_error_messages_keep_their_brackets(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> None:
        raise UsageError("llmops:regions[1].gpuPools[0]: bad value [bold]x[/bold] and a stray [/] closing tag; fix it")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "llmops:regions[1].gpuPools[0]: bad value [bold]x[/bold] and a stray [/] closing tag; fix it" in " ".join(err.split())


def test_check_with_an_unknown_environment_fails_with_the_known_ones() -> None:
    result = runner.invoke(app, ["policy", "check", "-s", "dev", "-p", str(BAD_PROGRAM), "-e", "qa"])
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 2
    assert "has config files for dev, prod, staging only" in str(result.exception)
