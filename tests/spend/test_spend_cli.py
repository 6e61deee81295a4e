"""``llmops spend`` as a user runs it: the installed console script in a subprocess, pointed
at Cost Explorer on loopback (moto behind the stub) with ``--endpoint-url``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.capacity.fakeaws import FakeAws, Fault
from tests.spend.conftest import forecast_of, seed_costs
from tests.spend.test_spend import GROUPS
from tests.support import FIXTURE_PRICES, REPO

LLMOPS = shutil.which("llmops", path=str(Path(sys.executable).parent)) or "llmops"
pytestmark = pytest.mark.moto


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([LLMOPS, "spend", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_dev_forecast_over_its_budget_is_reported_and_can_fail_ci(ce: FakeAws, moto_url: str) -> None:
    seed_costs(moto_url, GROUPS)
    ce.json_answers["GetCostForecast"] = forecast_of(900.0)
    result = run("--stack", "dev", "--no-estimate", "--today", "2026-11-20", "--endpoint-url", ce.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Spend of dev (Stack=dev), November 2026: 19 of 30 days" in out
    assert "$959.40" in out and "$1,859.40" in out and "$1,500.00" in out  # to date, forecast, budget
    assert "forecast-over-budget" in out
    assert "warning: FORECAST OVER BUDGET: dev is forecast to spend $1,859.40 this month, above its $1,500.00 budget" in " ".join(out.split())
    assert "us-east-1" in out and "Amazon Elastic Compute Cloud - Compute" in out

    failing = run("--stack", "dev", "--no-estimate", "--today", "2026-11-20", "--endpoint-url", ce.url, "--fail-over")
    assert failing.returncode == 3


def test_json_report_with_the_cost_models_estimate(ce: FakeAws, moto_url: str) -> None:
    seed_costs(moto_url, GROUPS)
    ce.json_answers["GetCostForecast"] = forecast_of(100.0)
    result = run("--stack", "dev", "--json", "--today", "2026-11-20", "--endpoint-url", ce.url, "--catalogue", str(FIXTURE_PRICES))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["stack"], document["filter"], document["budget"]) == ("dev", "Stack=dev", 1500.0)
    assert (document["monthToDate"], document["forecast"], document["status"]) == (959.4, 1059.4, "ok")
    assert document["estimate"] > 0 and document["estimateToDate"] == pytest.approx(document["estimate"] * 19 / 30, abs=0.01)
    assert document["byService"]["Amazon Elastic Kubernetes Service"] == 45.6


def test_an_account_with_no_data_says_why(ce: FakeAws) -> None:
    ce.faults.append(Fault("GetCostForecast", "DataUnavailableException"))
    result = run("--stack", "staging", "--no-estimate", "--today", "2026-11-20", "--endpoint-url", ce.url)
    assert result.returncode == 0, result.stderr
    assert "NO DATA: Cost Explorer has no cost tagged Stack=staging this month" in " ".join(result.stdout.split())


def test_throttling_after_every_retry_is_one_clean_error(ce: FakeAws) -> None:
    # A mid-month day: on the 1st there is no month-to-date period, so no cost-and-usage call.
    ce.faults.append(Fault("GetCostAndUsage", "LimitExceededException", times=20))
    result = run("--stack", "dev", "--no-estimate", "--today", "2026-11-20", "--endpoint-url", ce.url)
    assert result.returncode == 1
    assert "error: Cost Explorer kept throttling the requests (LimitExceededException, 5 attempts)" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_input_names_the_fix() -> None:
    bad_date = run("--stack", "dev", "--today", "20/11/2026")
    assert bad_date.returncode == 2 and "--today must be a date like 2026-11-30" in bad_date.stderr
    missing = run("--stack", "nope", "--no-estimate")
    assert missing.returncode == 2 and "nope" in missing.stderr
