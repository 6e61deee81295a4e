"""``llmops smoke`` and ``llmops eval``: against a fake server that answers right or wrongly
(bad shapes, no citation, too slow), and against a live ``llmops serve`` on this machine."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fake_api import FakeApi
from promotion_support import LLMOPS, REPO, LiveServer, invoke, pinned, record_results

from core.problems import ConfigError
from llmops.release.evaluation import load_eval_set
from llmops.release.results import read_result

EVAL_SET = REPO / "evals" / "platform-handbook.yaml"


def line(out: str, check: str) -> str:
    """The output line of one check."""
    found = [row for row in out.splitlines() if row.strip()[2:].startswith(check + " ")]
    assert found, f"no line for {check} in:\n{out}"
    return found[0]


# --------------------------------------------------------------------------- smoke, fake server


def test_smoke_passes_against_a_server_that_answers_right(fake_api: FakeApi) -> None:
    code, out = invoke("smoke", "--endpoint", fake_api.url + "/v1/", "--api-key", "test-key")
    assert code == 0, out
    for check in ("health", "models", "chat", "stream", "embeddings", "rag", "latency"):
        assert line(out, check).strip().startswith("✓"), out
    assert "cites llmops-smoke/probe.md" in line(out, "rag")
    assert "7/7 checks passed" in out
    assert ("POST", "/v1/documents") in fake_api.requests


def test_smoke_reports_each_bad_shape_on_its_own_line(fake_api: FakeApi) -> None:
    fake_api.mode = "bad-shape"
    code, out = invoke("smoke", "--endpoint", fake_api.url, "--api-key", "test-key")
    assert code == 1
    assert line(out, "health").strip().startswith("✓")
    assert "data must be a list (got a string)" in line(out, "models")
    assert "bad shape: choices[0].message.content is missing; keys: role" in line(out, "chat")
    assert "bad shape: chunk 0: choices[0].delta is missing; keys: index, text" in line(out, "stream")
    embeddings = line(out, "embeddings")
    assert "data has 1 embedding(s) for 2 input(s)" in embeddings and "data[0].embedding must be a list (got a string)" in embeddings
    assert "choices[0].message.content is missing" in line(out, "rag")
    assert "error: smoke failed: models, chat, stream, embeddings, rag" in out


def test_smoke_fails_the_rag_check_when_the_answer_has_no_citation(fake_api: FakeApi) -> None:
    fake_api.mode = "no-citation"
    code, out = invoke("smoke", "--endpoint", fake_api.url, "--api-key", "test-key")
    assert code == 1
    assert "✗ rag" in line(out, "rag") and "the answer carries no citations (no 'citations' list)" in line(out, "rag")
    assert all(line(out, c).strip().startswith("✓") for c in ("chat", "stream", "embeddings", "latency"))


def test_smoke_fails_the_latency_check_of_a_slow_server(fake_api: FakeApi) -> None:
    fake_api.mode, fake_api.delay_s = "slow", 0.3
    code, out = invoke("smoke", "--endpoint", fake_api.url, "--api-key", "test-key", "--latency-budget-ms", "100")
    assert code == 1
    latency = line(out, "latency")
    assert latency.strip().startswith("✗") and "over the 100 ms budget" in latency
    assert "error: smoke failed: latency" in out


def test_smoke_names_a_server_that_does_not_answer_in_time(fake_api: FakeApi) -> None:
    fake_api.mode, fake_api.delay_s = "slow", 1.5
    code, out = invoke("smoke", "--endpoint", fake_api.url, "--api-key", "test-key", "--timeout", "0.3")
    assert code == 1
    assert f"no answer from {fake_api.url}/v1/chat/completions within 0.3 s" in line(out, "chat")
    assert "no request was answered" in line(out, "latency")


def test_smoke_without_a_key_or_a_server_says_what_to_fix(fake_api: FakeApi, tmp_path: Path) -> None:
    code, out = invoke("smoke", "--endpoint", fake_api.url)
    assert code == 1
    assert "HTTP 401 from /v1/models: Missing or invalid API key. (check --api-key / LLMOPS_API_KEY)" in line(out, "models")
    from serving.local import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    code, out = invoke("smoke", "--endpoint", closed, "--api-key", "k")
    assert code == 1 and f"cannot connect to {closed}" in line(out, "health")
    code, out = invoke("smoke", "--endpoint", "ftp://example.com")
    assert code == 2 and "--endpoint must be an http(s) URL" in out


def test_smoke_records_its_result_for_the_stack_release(fake_api: FakeApi, project: Path) -> None:
    code, out = invoke("smoke", "-e", fake_api.url, "--api-key", "test-key", "--stack", "dev", "--program", str(project))
    assert code == 0, out
    release = pinned(project, "dev")
    status = read_result(project / ".llmops" / "results", release, "smoke")
    assert status.green and status.document is not None
    assert status.document["endpoint"] == fake_api.url and status.document["latencyBudgetMs"] == 5000
    assert [c["name"] for c in status.document["checks"]][-1] == "latency"
    assert f"recorded in {status.path}" in out.replace("\n", "")
    fake_api.mode = "no-citation"
    code, _ = invoke("smoke", "-e", fake_api.url, "--api-key", "test-key", "--stack", "dev", "--program", str(project))
    assert code == 1
    failed = read_result(project / ".llmops" / "results", release, "smoke")
    assert not failed.green and "rag failed" in str(failed.problem)


def test_smoke_on_a_stack_without_a_release_refuses_before_calling_anything(fake_api: FakeApi, project: Path) -> None:
    code, out = invoke("smoke", "-e", fake_api.url, "--stack", "prod", "--program", str(project))
    assert code == 1 and "prod pins no release" in out
    assert fake_api.requests == []


# --------------------------------------------------------------------------- eval, fake server


def test_eval_scores_fall_below_the_thresholds_without_citations(fake_api: FakeApi, project: Path) -> None:
    fake_api.mode = "no-citation"
    code, out = invoke("eval", "-e", fake_api.url, str(EVAL_SET), "--api-key", "test-key", "--stack", "staging", "--program", str(project))
    assert code == 1
    assert "'staging' thresholds" in out
    assert "0.00 < 0.85 (0/8 questions)" in line(out, "retrievalHitRate")
    assert "0.00 < 0.85 (0/8 questions)" in line(out, "citationAccuracy")
    assert "the answer carries no citations" in out
    status = read_result(project / ".llmops" / "results", pinned(project, "staging"), "eval")
    assert status.document is not None and status.document["passed"] is False
    assert status.document["scores"]["retrievalHitRate"] == 0.0 and len(status.document["cases"]) == 8


def test_eval_of_bad_shapes_counts_every_question_as_missed(fake_api: FakeApi) -> None:
    fake_api.mode = "bad-shape"
    code, out = invoke("eval", "-e", fake_api.url, str(EVAL_SET), "--api-key", "test-key", "--thresholds", "prod")
    assert code == 1
    assert "'prod' thresholds" in out
    assert "bad shape: choices[0].message.content is missing" in out
    assert "0.00 < 0.90 (over 8 questions)" in line(out, "grounding")


def test_eval_thresholds_come_from_the_stack_then_its_environment_then_default() -> None:
    loaded = load_eval_set(EVAL_SET)
    assert loaded.thresholds_for("prod", "prod")[1].retrieval_hit_rate == 1.0
    assert loaded.thresholds_for("prod-eu", "prod")[0] == "prod"
    key, limits = loaded.thresholds_for("dev", "dev")
    assert key == "default" and limits.grounding == 0.8
    assert sorted(loaded.documents) == sorted(f"evals/platform-handbook/{p.name}" for p in (REPO / "evals/corpus/platform-handbook").iterdir())


def test_a_bad_eval_set_lists_every_problem_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("A document.")
    path = tmp_path / "set.yaml"
    path.write_text(
        "name: Bad Name\ncorpus: docs\nthresholds: {prod: {grounding: 2}}\n"
        "cases:\n  - {id: one, question: q, cite: a.md, facts: []}\n  - {id: two, question: q, cite: a.md, facts: [x], extra: 1}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_eval_set(path)
    text = str(caught.value)
    assert f"invalid eval set in {path}" in text
    for expected in (
        "name: must be lowercase letters, digits and '-'",
        "thresholds: needs a 'default' entry",
        "thresholds.prod.grounding: must be <= 1",
        "cases[0].facts: must have at least 1 item(s)",
        "cases[1].extra: unknown key",
    ):
        assert expected in text
    path.write_text("name: ok\ncorpus: docs\nthresholds: {default: {}}\ncases:\n  - {id: one, question: q, cite: b.md, facts: [x]}\n")
    with pytest.raises(ConfigError, match=r"cases\[0\].cite: 'b.md' is not a document of docs/ \(documents: a.md\)"):
        load_eval_set(path)


# --------------------------------------------------------------------------- a live llmops serve


def run_cli(*args: str, home: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLMOPS_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("LLMOPS_API_KEY", None)
    return subprocess.run([LLMOPS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.postgres
def test_smoke_eval_and_promotion_against_a_live_llmops_serve(live_serve: LiveServer, project: Path) -> None:
    """The whole path on this machine: smoke and eval a running server for dev's release
    (the CLI finds the local key), then promote that release to staging."""
    # the latency check is tested against the slow fake; here a first request on a busy two-core
    # machine can take seconds, so the budget is generous
    smoke = run_cli(
        "smoke", "--endpoint", live_serve.url, "--stack", "dev", "--program", str(project), "--latency-budget-ms", "120000",
        home=live_serve.home,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    for check in ("health", "models", "chat", "stream", "embeddings", "rag", "latency"):
        assert line(smoke.stdout, check).strip().startswith("✓"), smoke.stdout
    assert "cites llmops-smoke/probe.md" in smoke.stdout
    evaluation = run_cli("eval", str(EVAL_SET), "--endpoint", live_serve.url, "--stack", "dev", "--program", str(project), home=live_serve.home)
    assert evaluation.returncode == 0, evaluation.stdout + evaluation.stderr
    assert "8 document(s)" in line(evaluation.stdout, "ingest")
    results = project / ".llmops" / "results" / "dev" / pinned(project, "dev").fingerprint
    scores = json.loads((results / "eval.json").read_text())["scores"]
    assert scores["retrievalHitRate"] >= 0.85 and scores["citationAccuracy"] >= 0.85 and scores["grounding"] >= 0.8
    promoted = run_cli("promote", "dev", "staging", "--program", str(project), home=live_serve.home)
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert pinned(project, "staging").fingerprint == pinned(project, "dev").fingerprint


@pytest.mark.slow
@pytest.mark.postgres
def test_live_checks_fail_clearly_for_a_wrong_key_and_wrong_expectations(live_serve: LiveServer, tmp_path: Path) -> None:
    smoke = run_cli("smoke", "--endpoint", live_serve.url, "--api-key", "sk-llmops-wrong", home=tmp_path)
    assert smoke.returncode == 1
    assert "✓" in line(smoke.stdout, "health")
    assert "HTTP 403 from /v1/models" in line(smoke.stdout, "models") or "HTTP 401 from /v1/models" in line(smoke.stdout, "models")
    # an eval set expecting a fact no document holds
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kettles.md").write_text("# Kettles\n\nThe office kettle is descaled every Friday with citric acid.\n")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "name: wrong-facts\ncorpus: corpus\nthresholds: {default: {retrievalHitRate: 0.5, citationAccuracy: 0.5, grounding: 0.5}}\n"
        "cases:\n  - {id: kettle, question: 'When is the office kettle descaled?', cite: kettles.md, facts: [descaled with vinegar]}\n"
    )
    evaluation = run_cli("eval", "--endpoint", live_serve.url, str(wrong), home=live_serve.home)
    assert evaluation.returncode == 1
    assert "kettle: missing 'descaled with vinegar'" in evaluation.stdout
    assert "0.00 < 0.50 (over 1 questions)" in line(evaluation.stdout, "grounding")
    assert "error: eval failed: grounding" in evaluation.stderr


def test_record_results_helper_matches_what_promotion_reads(project: Path) -> None:
    release = record_results(project, "dev")
    assert read_result(project / ".llmops" / "results", release, "eval").green
