"""End to end through real Ray Serve on CPU: the RAG ingress, MiniLM embeddings, the tiny
transformers model, fake hosted upstreams on loopback, PostgreSQL + pgvector and Redis.
One app serves the whole module (started once per session by the ``serve_app`` fixture)."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

DOCS = {
    "ray-serve.md": (
        "# Ray Serve\n\nRay Serve runs each model as a deployment. A deployment has replicas, "
        "and the autoscaler adds replicas when ongoing requests per replica exceed "
        "target_ongoing_requests.\n\nReplicas are Ray actors placed on the cluster nodes."
    ),
    "pgvector.md": (
        "# pgvector\n\nPostgreSQL stores embeddings in a vector column. An HNSW index with "
        "cosine distance makes nearest neighbour search fast.\n\nThe ef_search setting trades "
        "recall for latency."
    ),
    "soup.txt": "Tomato soup: simmer tomatoes with onion and garlic for twenty minutes, then blend.",
}


def client(app: Any, key: str | None = None, feature: str = "tests") -> httpx.Client:
    headers = {"X-Llmops-Feature": feature}
    if key is not False:
        headers["Authorization"] = f"Bearer {key or app.key}"
    return httpx.Client(base_url=app.url, headers=headers, timeout=60)


def metric(app: Any, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    text = httpx.get(f"{app.url}/metrics", timeout=10).text
    total = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def chat(c: httpx.Client, content: str, **extra: Any) -> httpx.Response:
    return c.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": content}], **extra}
    )


@pytest.fixture(scope="module")
def ingested(serve_app: Any) -> dict[str, Any]:
    with client(serve_app) as c:
        r = c.post(
            "/v1/documents", json={"documents": [{"source": s, "text": t} for s, t in DOCS.items()]}
        )
    assert r.status_code == 200, r.text
    return r.json()


def test_health_metrics_and_auth_required(serve_app: Any) -> None:
    h = httpx.get(f"{serve_app.url}/healthz", timeout=10).json()
    assert h == {
        "status": "ok",
        "vector_store": "ok",
        "cache": "ok",
        "cache_backend": "redis",
        "models": ["tiny", "hosted", "hybrid", "extractive"],
    }
    wrong = "sk-llmops-this-is-a-wrong-key-0123456789"
    r = httpx.post(
        f"{serve_app.url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
    assert r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(
        f"{serve_app.url}/v1/embeddings",
        json={"input": "x"},
        headers={"Authorization": f"Bearer {wrong}"},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_api_key"
    assert wrong not in r.text
    assert metric(serve_app, "llmops_auth_failures_total", reason="invalid_api_key") >= 1
    # the rejected key appears in no log file of the Ray session, nor does the valid one
    time.sleep(1.0)
    logs = [p for p in Path("/tmp/ray/session_latest/logs").rglob("*") if p.is_file()]
    assert logs
    for p in logs:
        data = p.read_bytes()
        assert wrong.encode() not in data, p
        assert serve_app.key.encode() not in data, p


def test_ingest_is_idempotent_and_answers_are_cited(
    serve_app: Any, ingested: dict[str, Any]
) -> None:
    assert [d["status"] for d in ingested["data"]] == ["created", "created", "created"]
    assert ingested["chunks_written"] == sum(d["chunks"] for d in ingested["data"]) >= 3
    with client(serve_app) as c:
        again = c.post(
            "/v1/documents", json={"documents": [{"source": s, "text": t} for s, t in DOCS.items()]}
        ).json()
        assert [d["status"] for d in again["data"]] == ["unchanged"] * 3 and again[
            "chunks_written"
        ] == 0
        dup = c.post(
            "/v1/documents", json={"documents": [{"source": "copy.md", "text": DOCS["soup.txt"]}]}
        ).json()
        assert (
            dup["data"][0]["status"] == "duplicate"
            and dup["data"][0]["document_id"] == ingested["data"][2]["document_id"]
        )
        r = chat(c, "How does the autoscaler add replicas?", model="extractive", cache=False)
    assert r.status_code == 200, r.text
    body = r.json()
    answer = body["choices"][0]["message"]["content"]
    assert answer.startswith("Extractive answer (no language model configured)")
    assert body["citations"][0]["source"] == "ray-serve.md" and body["citations"][0]["cited"]
    assert "[1] ray-serve.md:" in answer
    assert body["model"] == "extractive" and body["llmops"]["extractive"] is True
    assert r.headers["x-llmops-model"] == "extractive"


def test_tiny_model_answer_tokens_and_cost(serve_app: Any, ingested: dict[str, Any]) -> None:
    before_in = metric(
        serve_app,
        "llmops_tokens_total",
        direction="in",
        model="tiny",
        key="local",
        team="local",
        feature="billing",
    )
    before_cost = metric(
        serve_app, "llmops_cost_usd_total", model="tiny", key="local", feature="billing"
    )
    with client(serve_app, feature="billing") as c:
        r = chat(
            c, "What makes nearest neighbour search fast?", model="tiny", cache=False, max_tokens=5
        )
    assert r.status_code == 200, r.text
    body = r.json()
    u = body["usage"]
    assert body["model"] == "tiny" and body["llmops"]["backend"] == "transformers"
    assert (
        1 <= u["completion_tokens"] <= 5 and u["prompt_tokens"] > 50
    )  # the prompt carries the passages
    assert body["llmops"]["cost_usd"] == pytest.approx(
        (u["prompt_tokens"] * 1.0 + u["completion_tokens"] * 2.0) / 1000
    )
    assert body["citations"][0]["source"] == "pgvector.md"
    assert (
        metric(
            serve_app,
            "llmops_tokens_total",
            direction="in",
            model="tiny",
            key="local",
            team="local",
            feature="billing",
        )
        - before_in
        == u["prompt_tokens"]
    )
    assert metric(
        serve_app, "llmops_cost_usd_total", model="tiny", key="local", feature="billing"
    ) - before_cost == pytest.approx(body["llmops"]["cost_usd"])
    assert metric(serve_app, "llmops_retrieval_latency_seconds_count") >= 1
    assert (
        metric(
            serve_app,
            "llmops_request_latency_seconds_count",
            route="chat",
            model="tiny",
            status="200",
        )
        >= 1
    )


def test_semantic_cache_exact_and_similar_hits(serve_app: Any, ingested: dict[str, Any]) -> None:
    q = "Which index does PostgreSQL use for cosine search?"
    with client(serve_app) as c:
        t0 = time.perf_counter()
        miss = chat(c, q, model="tiny", max_tokens=8).json()
        t_miss = time.perf_counter() - t0
        t1 = time.perf_counter()
        exact = chat(c, q, model="tiny", max_tokens=8).json()
        t_hit = time.perf_counter() - t1
        similar = chat(c, q.rstrip("?"), model="tiny", max_tokens=8).json()
        other = chat(c, "How do I make tomato soup?", model="tiny", max_tokens=8).json()
        other_model = chat(c, q, model="extractive", max_tokens=8).json()
    assert miss["llmops"]["cache"] == "miss"
    assert exact["llmops"]["cache"] == "exact" and exact["llmops"]["cost_usd"] == 0.0
    assert exact["choices"][0]["message"]["content"] == miss["choices"][0]["message"]["content"]
    assert exact["id"] != miss["id"]
    assert (
        similar["llmops"]["cache"] == "semantic" and similar["llmops"]["cache_similarity"] >= 0.95
    )
    assert other["llmops"]["cache"] == "miss"
    assert other_model["llmops"]["cache"] == "miss"  # the model is part of the namespace
    assert t_hit < t_miss
    assert metric(serve_app, "llmops_cache_events_total", result="hit_exact") >= 1
    assert metric(serve_app, "llmops_cache_events_total", result="hit_semantic") >= 1
    assert 0 < metric(serve_app, "llmops_cache_hit_ratio") < 1


def test_redis_outage_bypasses_cache_and_recovers(serve_app: Any) -> None:
    serve_app.redis.stop()
    try:
        with client(serve_app) as c:
            t0 = time.perf_counter()
            r = chat(c, "Are replicas Ray actors?", model="extractive", retrieval=False)
            elapsed = time.perf_counter() - t0
            assert r.status_code == 200 and r.json()["llmops"]["cache"] == "bypass"
            assert elapsed < 5
            assert metric(serve_app, "llmops_cache_unavailable_total") >= 1
            assert httpx.get(f"{serve_app.url}/healthz").json()["cache"] == "bypassed"
    finally:
        serve_app.redis.start()
    time.sleep(1.2)  # retry_after_s
    with client(serve_app) as c:
        first = chat(c, "Do replicas scale out?", model="extractive", retrieval=False).json()
        second = chat(c, "Do replicas scale out?", model="extractive", retrieval=False).json()
    assert first["llmops"]["cache"] == "miss" and second["llmops"]["cache"] == "exact"


def test_router_weighted_split_and_requested_model(serve_app: Any) -> None:
    seen: Counter[str] = Counter()
    with client(serve_app) as c:
        for i in range(40):
            r = chat(c, f"split request {i}", cache=False, retrieval=False, max_tokens=2)
            assert r.status_code == 200
            body = r.json()
            assert body["model"] == r.headers["x-llmops-model"]
            assert body["llmops"]["route"] == "split"
            seen[body["model"]] += 1
        requested = chat(c, "hi", model="hosted", cache=False, retrieval=False).json()
    assert set(seen) == {"tiny", "extractive"}  # 3:1 split; both arms serve
    assert seen["tiny"] > seen["extractive"]
    assert requested["model"] == "hosted" and requested["llmops"]["route"] == "requested"
    assert (
        metric(serve_app, "llmops_route_decisions_total", model="tiny", reason="split")
        == seen["tiny"]
    )


def test_hosted_retries_fallbacks_breaker_and_503(serve_app: Any) -> None:
    p, s = serve_app.primary, serve_app.secondary
    p.reset("ok")
    s.reset("ok")
    with client(serve_app) as c:
        ok = chat(c, "hosted ok", model="hosted", cache=False, retrieval=False).json()
        assert ok["llmops"]["backend"] == "primary" and ok["llmops"]["fallbacks"] == []
        assert ok["choices"][0]["message"]["content"] == "primary says hello [1]"
        assert ok["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        assert ok["llmops"]["cost_usd"] == pytest.approx((11 * 0.5 + 7 * 1.5) / 1000)
        assert p.last_headers["authorization"] == "Bearer upstream-secret-123"
        assert p.last_body["model"] == "up-model"

        p.reset("fail_then_ok")
        p.fail_count = 1
        retried = chat(c, "retry me", model="hosted", cache=False, retrieval=False).json()
        assert retried["llmops"]["backend"] == "primary" and p.requests == 2  # one retry

        p.reset("fail500")
        fb = chat(c, "fallback", model="hosted", cache=False, retrieval=False)
        assert fb.status_code == 200 and fb.json()["llmops"]["backend"] == "secondary"
        assert fb.json()["llmops"]["fallbacks"] == ["primary"]
        assert p.requests == 2  # first attempt + one retry, then the chain moved on
        assert metric(serve_app, "llmops_fallbacks_total", model="hosted", backend="secondary") >= 1
        assert (
            metric(
                serve_app,
                "llmops_upstream_errors_total",
                model="hosted",
                backend="primary",
                kind="http_5xx",
            )
            >= 1
        )

        # the third consecutive failure opens primary's breaker (threshold 3), which also
        # ends its retries; after that primary is skipped without a call
        fb2 = chat(c, "fallback again", model="hosted", cache=False, retrieval=False).json()
        assert fb2["llmops"]["backend"] == "secondary" and p.requests == 3
        before = p.requests
        skipped = chat(c, "breaker", model="hosted", cache=False, retrieval=False).json()
        assert skipped["llmops"]["backend"] == "secondary" and p.requests == before
        assert (
            metric(
                serve_app,
                "llmops_upstream_errors_total",
                model="hosted",
                backend="primary",
                kind="circuit_open",
            )
            >= 1
        )

        # both upstreams hang: every attempt times out and the request ends in a 503
        p.reset("hang")
        s.reset("hang")
        p.hang_s = s.hang_s = 20
        time.sleep(1.1)  # let the breaker half-open so primary is tried again
        t0 = time.perf_counter()
        down = chat(c, "outage", model="hosted", cache=False, retrieval=False)
        elapsed = time.perf_counter() - t0
        assert down.status_code == 503, down.text
        err = down.json()["error"]
        assert err["code"] == "upstream_unavailable" and err["type"] == "service_unavailable"
        assert "all backends failed" in err["message"] and "secondary (timeout)" in err["message"]
        assert down.headers["retry-after"] == "5"
        assert elapsed < 8, elapsed
        assert metric(serve_app, "llmops_upstream_unavailable_total", model="hosted") >= 1

    p.reset("ok")
    s.reset("ok")
    time.sleep(1.1)
    with client(serve_app) as c:
        back = chat(c, "recovered", model="hosted", cache=False, retrieval=False).json()
    assert back["llmops"]["backend"] == "primary"


def test_hybrid_falls_back_to_the_local_model(serve_app: Any) -> None:
    p = serve_app.primary
    p.reset("fail500")
    try:
        with client(serve_app) as c:
            r = chat(c, "hybrid pattern", model="hybrid", cache=False, retrieval=False)
        body = r.json()
        assert r.status_code == 200 and body["llmops"]["backend"] == "transformers"
        assert body["llmops"]["fallbacks"] == ["primary-h"] and body["model"] == "hybrid"
        assert 1 <= body["usage"]["completion_tokens"] <= 8
    finally:
        p.reset("ok")


def _sse(r: httpx.Response) -> list[Any]:
    events = []
    for line in r.iter_lines():
        if line.startswith("data: "):
            data = line[6:]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


def test_streaming_tiny_and_hosted(serve_app: Any, ingested: dict[str, Any]) -> None:
    serve_app.primary.reset("ok")
    with client(serve_app) as c:
        with c.stream(
            "POST",
            "/v1/chat/completions",
            json={
                "model": "tiny",
                "stream": True,
                "cache": False,
                "max_tokens": 6,
                "messages": [{"role": "user", "content": "What is a deployment?"}],
            },
        ) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith(
                "text/event-stream"
            )
            events = _sse(r)
        assert events[-1] == "[DONE]"
        final = events[-2]
        assert final["choices"][0]["finish_reason"] in ("length", "stop")
        assert (
            1 <= final["usage"]["completion_tokens"] <= 6
            and final["llmops"]["backend"] == "transformers"
        )
        assert final["citations"] and final["citations"][0]["source"] == "ray-serve.md"
        assert all(e["model"] == "tiny" for e in events[:-1])

        with c.stream(
            "POST",
            "/v1/chat/completions",
            json={
                "model": "hosted",
                "stream": True,
                "cache": False,
                "retrieval": False,
                "messages": [{"role": "user", "content": "stream"}],
            },
        ) as r:
            events = _sse(r)
        text = "".join(
            e["choices"][0]["delta"].get("content", "") for e in events[:-1] if e["choices"]
        )
        assert text == "primary says hello [1] "
        assert events[-2]["usage"] == {
            "prompt_tokens": 11,
            "completion_tokens": 7,
            "total_tokens": 18,
        }

        serve_app.primary.reset("fail500")
        serve_app.secondary.reset("fail500")
        r = c.post(
            "/v1/chat/completions",
            json={
                "model": "hosted",
                "stream": True,
                "cache": False,
                "retrieval": False,
                "messages": [{"role": "user", "content": "down"}],
            },
        )
        assert r.status_code == 503 and r.json()["error"]["code"] == "upstream_unavailable"
    serve_app.primary.reset("ok")
    serve_app.secondary.reset("ok")
    time.sleep(1.1)


@pytest.mark.parametrize(
    ("path", "body", "status", "param", "code"),
    [
        ("/v1/chat/completions", b"{not json", 400, None, "invalid_json"),
        ("/v1/chat/completions", b"[1, 2]", 400, None, "invalid_json"),
        ("/v1/chat/completions", {"model": "tiny"}, 400, "messages", "missing_field"),
        ("/v1/chat/completions", {"messages": []}, 400, "messages", "invalid_value"),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "wizard", "content": "x"}]},
            400,
            "messages.0.role",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "x" * 5000}]},
            400,
            "messages",
            "context_length_exceeded",
        ),
        (
            "/v1/chat/completions",
            {"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]},
            404,
            "model",
            "model_not_found",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "x"}], "temperature": 7},
            400,
            "temperature",
            "invalid_value",
        ),
        ("/v1/embeddings", {"input": ["a"] * 300}, 400, "input", "too_many_inputs"),
        ("/v1/embeddings", {"input": ""}, 400, "input", "invalid_value"),
        (
            "/v1/embeddings",
            {"input": "x", "model": "text-embedding-3-large"},
            404,
            "model",
            "model_not_found",
        ),
        (
            "/v1/documents",
            {"documents": [{"source": "big.md", "text": "y" * 200_001}]},
            413,
            "documents.0.text",
            "document_too_large",
        ),
        (
            "/v1/documents",
            {"documents": [{"source": "a.md"}]},
            400,
            "documents.0.text",
            "missing_field",
        ),
        (
            "/v1/documents",
            {"documents": [{"source": "a.md", "text": "1"}, {"source": "a.md", "text": "2"}]},
            400,
            "documents.1.source",
            "duplicate_source",
        ),
        ("/v1/nothing-here", {}, 404, None, "not_found"),
    ],
)
def test_bad_input_gets_openai_style_4xx(
    serve_app: Any, path: str, body: Any, status: int, param: str | None, code: str
) -> None:
    with client(serve_app) as c:
        r = c.post(path, content=body) if isinstance(body, bytes) else c.post(path, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert (err["param"], err["code"]) == (param, code)
    assert err["message"] and err["type"]
    if param:
        assert param.split(".")[0] in err["message"] or param in err["message"]


def test_rate_limit_per_key(serve_app: Any) -> None:
    with client(serve_app, key=serve_app.limited_key) as c:
        codes = [c.get("/v1/models").status_code for _ in range(4)]
        r = c.get("/v1/models")
    assert codes == [200, 200, 200, 429]
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert metric(serve_app, "llmops_rate_limited_total", key="limited", team="team-a") >= 2
    with client(serve_app) as c:  # other keys are unaffected
        assert c.get("/v1/models").status_code == 200


def test_per_key_model_permissions_and_team_attribution(serve_app: Any) -> None:
    with client(serve_app, key=serve_app.team_b_key, feature="search") as c:
        assert [m["id"] for m in c.get("/v1/models").json()["data"]] == ["extractive"]
        denied = chat(c, "x", model="tiny")
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "model_not_allowed"
        ok = chat(c, "What is pgvector?", model="extractive", cache=False)
        assert ok.status_code == 200
    assert (
        metric(
            serve_app,
            "llmops_requests_total",
            route="chat",
            key="team-b-key",
            team="team-b",
            feature="search",
            status="200",
        )
        == 1
    )
    assert (
        metric(
            serve_app,
            "llmops_tokens_total",
            direction="out",
            key="team-b-key",
            team="team-b",
            feature="search",
        )
        == ok.json()["usage"]["completion_tokens"]
    )


def test_embeddings_match_the_model(serve_app: Any, embedding_model: Any) -> None:
    from serving.embeddings import encode

    texts = ["Ray Serve batches requests", "pgvector HNSW"]
    with client(serve_app) as c:
        r = c.post("/v1/embeddings", json={"input": texts}).json()
        b64 = c.post("/v1/embeddings", json={"input": texts[0], "encoding_format": "base64"}).json()
    got = np.array([d["embedding"] for d in r["data"]], dtype=np.float32)
    assert got.shape == (2, 384) and [d["index"] for d in r["data"]] == [0, 1]
    assert np.allclose(got, encode(embedding_model, texts), atol=1e-5)
    assert r["usage"]["prompt_tokens"] == len(
        embedding_model.tokenizer(texts[0])["input_ids"]
    ) + len(embedding_model.tokenizer(texts[1])["input_ids"])
    decoded = np.frombuffer(base64.b64decode(b64["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, got[0], atol=1e-6)


def test_failed_ingest_leaves_no_partial_document(serve_app: Any) -> None:
    poisoned = "\n\n".join(
        [f"Section {i}. " + "clean text " * 30 for i in range(3)] + ["POISON " + "x " * 50]
    )
    docs = [
        {"source": "before.md", "text": "A document stored before the failure."},
        {"source": "poisoned.md", "text": poisoned},
        {"source": "after.md", "text": "A document after the failure."},
    ]
    with psycopg.connect(serve_app.dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION llmops_test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.text LIKE '%POISON%' THEN RAISE EXCEPTION 'disk full (injected)'; END IF; RETURN NEW; END $$"
        )
        conn.execute(
            "CREATE TRIGGER llmops_test_poison BEFORE INSERT ON llmops_chunks FOR EACH ROW EXECUTE FUNCTION llmops_test_poison()"
        )
    try:
        with client(serve_app) as c:
            r = c.post("/v1/documents", json={"documents": docs})
        assert r.status_code == 503, r.text
        err = r.json()["error"]
        assert err["code"] == "ingest_failed" and err["param"] == "documents.1"
        assert "poisoned.md" in err["message"] and "before.md" in err["message"]
        with psycopg.connect(serve_app.dsn) as conn:
            rows = dict(
                conn.execute(
                    "SELECT d.source, count(c.id) FROM llmops_documents d LEFT JOIN llmops_chunks c ON c.document_id = d.id "
                    "WHERE d.source IN ('before.md', 'poisoned.md', 'after.md') GROUP BY d.source"
                ).fetchall()
            )
        assert rows == {"before.md": 1}  # no partial poisoned.md, no orphan chunks
    finally:
        with psycopg.connect(serve_app.dsn, autocommit=True) as conn:
            conn.execute("DROP TRIGGER llmops_test_poison ON llmops_chunks")
    with client(serve_app) as c:  # retrying is safe: idempotent
        again = c.post("/v1/documents", json={"documents": docs}).json()
    assert [d["status"] for d in again["data"]] == ["unchanged", "created", "created"]
    assert again["data"][1]["chunks"] >= 2


def test_key_revocation_takes_effect(serve_app: Any) -> None:
    from serving.local import add_key, revoke_key

    key = add_key(serve_app.paths, "temp-key", team="ops")
    time.sleep(1.1)
    with client(serve_app, key=key) as c:
        assert c.get("/v1/models").status_code == 200
        assert revoke_key(serve_app.paths, "temp-key")
        time.sleep(1.1)
        r = c.get("/v1/models")
    assert r.status_code == 403


def test_cli_ingest_and_ask(serve_app: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from llmops.cli import app

    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "deploy.md").write_text(
        "# Deploying\n\nTo deploy the platform run pulumi up with the prod stack after the gates pass.\n"
    )
    (folder / "sub" / "oncall.txt").write_text(
        "The on-call rotation changes every Monday at 09:00 UTC.\n"
    )
    (folder / "image.png").write_bytes(b"\x89PNG")
    runner = CliRunner()
    common = ["--url", serve_app.url, "--home", str(serve_app.paths.home)]
    r = runner.invoke(app, ["ingest", str(folder), *common])
    assert r.exit_code == 0, r.output
    assert "created   deploy.md" in r.output and "created   sub/oncall.txt" in r.output
    assert "ingested 2 files: 2 created" in r.output
    r = runner.invoke(app, ["ingest", str(folder), *common])
    assert "ingested 2 files: 2 unchanged" in r.output
    r = runner.invoke(
        app, ["ask", "When does the on-call rotation change?", "--model", "extractive", *common]
    )
    assert r.exit_code == 0, r.output
    assert "Extractive answer" in r.output
    assert "Sources:" in r.output and "[1] sub/oncall.txt" in r.output
    r = runner.invoke(
        app,
        [
            "ask",
            "When does the on-call rotation change?",
            "--model",
            "extractive",
            "--json",
            *common,
        ],
    )
    assert json.loads(r.output)["citations"][0]["source"] == "sub/oncall.txt"
    r = runner.invoke(app, ["ask", "x", "--url", serve_app.url, "--api-key", "sk-llmops-bogus"])
    assert r.exit_code == 1 and "HTTP 403" in str(r.exception)
