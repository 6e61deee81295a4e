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
from serving_fakes import CMAKE_POLICIES

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
        "models": ["tiny", "hosted", "assisted", "hybrid", "extractive"],
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
    assert body["choices"][0]["finish_reason"] == "stop"
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
        miss = chat(c, q, model="tiny", max_tokens=8).json()
        exact = chat(c, q, model="tiny", max_tokens=8).json()
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
    # served from the cache (no model call, so no cost), not timed: wall-clock comparisons
    # flap on a busy machine
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
        assert final["llmops"]["backend"] == "transformers"
        assert all("usage" not in e for e in events[:-1])  # no include_usage: no usage
        assert final["citations"] and final["citations"][0]["source"] == "ray-serve.md"
        assert all(e["model"] == "tiny" for e in events[:-1])

        with c.stream(
            "POST",
            "/v1/chat/completions",
            json={
                "model": "hosted",
                "stream": True,
                "stream_options": {"include_usage": True},
                "cache": False,
                "retrieval": False,
                "messages": [{"role": "user", "content": "stream"}],
            },
        ) as r:
            events = _sse(r)
        assert events[-2]["choices"] == [] and all(e["usage"] is None for e in events[:-2])
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
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "x"}], "retrieval": {"top_k": 0}},
            400,
            "retrieval.top_k",
            "invalid_value",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "x"}], "temprature": 0.2},
            400,
            "temprature",
            "unknown_parameter",
        ),
        (
            "/v1/chat/completions",
            {
                "model": "tiny",
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "json_object"},
            },
            400,
            "response_format",
            "unsupported_parameter",
        ),
        (
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "x"}], "logprobs": True},
            400,
            "logprobs",
            "unsupported_parameter",
        ),
        ("/v1/embeddings", {"input": [[1, 2, 3]]}, 400, "input", "invalid_value"),
        ("/v1/embeddings", {"input": "x", "dimensions": 128}, 400, "dimensions", "invalid_value"),
    ],
)
def test_bad_input_gets_openai_style_4xx(
    serve_app: Any, path: str, body: Any, status: int, param: str | None, code: str
) -> None:
    with client(serve_app) as c:
        if isinstance(body, bytes):
            r = c.post(path, content=body, headers={"Content-Type": "application/json"})
        else:
            r = c.post(path, json=body)
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
        listed = [m["id"] for m in c.get("/v1/models").json()["data"]]
        # the chat models this key may use, and the embedding model (and its alias)
        assert listed == [
            "extractive",
            "sentence-transformers/all-MiniLM-L6-v2",
            "text-embedding-3-small",
        ]
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
    """``llmops ingest`` in a terminal of its own next to the running server: it finds the
    server through its server file, joins the server's Ray (loopback only, token auth, as
    the file says; nothing in its environment tells it) and writes into the server's store,
    where ``llmops ask`` finds the documents."""
    import os
    import subprocess
    import sys

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
    home = ["--home", str(serve_app.paths.home)]
    ray_env = (
        "RAY_ADDRESS",
        "RAY_AUTH_MODE",
        "RAY_AUTH_TOKEN_PATH",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
    )
    env = {k: v for k, v in os.environ.items() if k not in ray_env}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    cmd = [sys.executable, "-m", "llmops.cli", "ingest", str(folder), *home]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "on the running `llmops serve`'s Ray (127.0.0.1:" in out
    assert "into the pgvector store of application 'llmops'" in out
    assert "created   deploy.md" in out and "created   sub/oncall.txt" in out
    assert "ingested 2 files: 2 created" in out
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "ingested 2 files: 2 unchanged" in r.stdout, r.stdout + r.stderr
    runner = CliRunner()
    common = ["--url", serve_app.url, *home]
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


# ------------------------------------------------------ OpenAI API parity (SDK)


def sdk(app: Any, key: str | None = None, feature: str = "tests") -> Any:
    import openai

    return openai.OpenAI(
        base_url=f"{app.url}/v1",
        api_key=key or app.key,
        default_headers={"X-Llmops-Feature": feature},
        max_retries=0,
    )


def test_openai_sdk_max_tokens_finish_reason_and_usage(
    serve_app: Any, ingested: dict[str, Any]
) -> None:
    from openai.types.chat import ChatCompletion

    client = sdk(serve_app)
    msgs = [{"role": "user", "content": "How does the autoscaler add replicas?"}]
    full = client.chat.completions.create(
        model="extractive", messages=msgs, extra_body={"cache": False}
    )
    cut = client.chat.completions.create(
        model="extractive", messages=msgs, max_tokens=5, extra_body={"cache": False}
    )
    assert isinstance(cut, ChatCompletion) and cut.object == "chat.completion"
    assert full.choices[0].finish_reason == "stop"
    assert cut.choices[0].finish_reason == "length"  # max_tokens is enforced
    assert cut.usage is not None and cut.usage.completion_tokens <= 5
    assert len(cut.choices[0].message.content or "") < len(full.choices[0].message.content or "")
    # stream: usage only when asked for, in a last chunk without choices
    plain = list(
        client.chat.completions.create(
            model="extractive", messages=msgs, stream=True, extra_body={"cache": False}
        )
    )
    assert (
        plain
        and all(c.usage is None for c in plain)
        and plain[-1].choices[0].finish_reason == "stop"
    )
    with_usage = list(
        client.chat.completions.create(
            model="extractive",
            messages=msgs,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=5,
            extra_body={"cache": False},
        )
    )
    last = with_usage[-1]
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens <= 5
    assert with_usage[-2].choices[0].finish_reason == "length"
    assert all(c.usage is None for c in with_usage[:-1])


def test_openai_sdk_models_and_embedding_aliases(serve_app: Any, embedding_model: Any) -> None:
    import openai

    from serving.embeddings import encode

    client = sdk(serve_app)
    listed = {m.id: m for m in client.models.list()}
    emb_id = "sentence-transformers/all-MiniLM-L6-v2"
    assert {"tiny", "gpt-4o-mini", "extractive", emb_id, "text-embedding-3-small"} <= set(listed)
    assert all(
        isinstance(m.created, int) and m.created > 0 and m.object == "model"
        for m in listed.values()
    )
    one = client.models.retrieve("tiny")
    assert (one.id, one.created, one.owned_by) == ("tiny", listed["tiny"].created, "llmops")
    assert client.models.retrieve("text-embedding-3-small").id == "text-embedding-3-small"
    with pytest.raises(openai.NotFoundError) as nf:
        client.models.retrieve("gpt-9")
    assert nf.value.code == "model_not_found"
    # the alias a client sends maps to the configured model; the vectors are that model's
    emb = client.embeddings.create(model="text-embedding-3-small", input=["pgvector HNSW"])
    assert emb.model == emb_id and len(emb.data[0].embedding) == 384
    assert np.allclose(
        emb.data[0].embedding, encode(embedding_model, ["pgvector HNSW"])[0], atol=1e-5
    )
    same = client.embeddings.create(model=emb_id, input="pgvector HNSW", dimensions=384)
    assert np.allclose(same.data[0].embedding, emb.data[0].embedding, atol=1e-6)
    with pytest.raises(openai.BadRequestError) as bad_dims:
        client.embeddings.create(model=emb_id, input="x", dimensions=64)
    assert bad_dims.value.param == "dimensions"
    with pytest.raises(openai.BadRequestError) as tokens:
        client.embeddings.create(model=emb_id, input=[[101, 2023, 102]])
    assert tokens.value.param == "input" and "token arrays" in str(tokens.value)
    # a chat model alias works too
    chat_alias = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=2,
        extra_body={"cache": False, "retrieval": False},
    )
    assert chat_alias.model == "tiny"


def test_openai_sdk_tools_pass_through_or_refused(serve_app: Any) -> None:
    import openai

    client = sdk(serve_app)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    msgs = [{"role": "user", "content": "weather in Paris?"}]
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="tiny", messages=msgs, tools=tools)
    assert (refused.value.param, refused.value.code) == ("tools", "unsupported_parameter")
    with pytest.raises(openai.BadRequestError) as unknown:
        client.chat.completions.create(model="tiny", messages=msgs, extra_body={"frobnicate": 1})
    assert (unknown.value.param, unknown.value.code) == ("frobnicate", "unknown_parameter")
    p = serve_app.primary
    p.reset("tool_call")
    try:
        out = client.chat.completions.create(
            model="hosted",
            messages=msgs,
            tools=tools,
            tool_choice="auto",
            seed=3,
            extra_body={"cache": False, "retrieval": False},
        )
    finally:
        p.reset("ok")
    assert p.last_body["tools"] == tools and p.last_body["seed"] == 3  # passed through
    call = out.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.function.name, out.choices[0].finish_reason) == ("get_weather", "tool_calls")
    assert out.choices[0].message.content is None


def test_non_json_bodies_and_bad_feature_headers_are_refused(serve_app: Any) -> None:
    before = metric(serve_app, "llmops_requests_total", route="chat", status="415")
    with client(serve_app) as c:
        form = c.post("/v1/chat/completions", data={"messages": "hi"})
        text = c.post(
            "/v1/embeddings", content=b'{"input": "x"}', headers={"Content-Type": "text/plain"}
        )
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"
    assert "application/json" in form.json()["error"]["message"]
    assert text.status_code == 415
    with client(serve_app, feature="Not A Slug!") as c:
        bad = chat(c, "hi", retrieval=False)
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "X-Llmops-Feature"
    # refusals are counted with their status, in requests and latency
    assert metric(serve_app, "llmops_requests_total", route="chat", status="415") == before + 1
    assert metric(serve_app, "llmops_requests_total", route="chat", status="400") >= 1
    assert (
        metric(serve_app, "llmops_request_latency_seconds_count", route="chat", status="400") >= 1
    )


def test_4xx_requests_are_counted_with_key_and_status(serve_app: Any) -> None:
    labels = {"route": "chat", "status": "404", "key": "local", "team": "local", "feature": "tests"}
    before = metric(serve_app, "llmops_requests_total", **labels)
    with client(serve_app) as c:
        assert chat(c, "x", model="gpt-9").status_code == 404
        assert c.post("/v1/chat/completions", json={"messages": []}).status_code == 400
    assert metric(serve_app, "llmops_requests_total", **labels) == before + 1
    assert metric(serve_app, "llmops_requests_total", route="chat", status="400", key="local") >= 1


def test_fallback_to_extractive_says_the_model_is_down(
    serve_app: Any, ingested: dict[str, Any]
) -> None:
    p = serve_app.primary
    p.reset("fail500")
    try:
        with client(serve_app) as c:
            r = chat(c, "How does the autoscaler add replicas?", model="assisted", cache=False)
    finally:
        p.reset("ok")
    body = r.json()
    answer = body["choices"][0]["message"]["content"]
    assert r.status_code == 200 and body["llmops"]["extractive"] is True
    assert answer.startswith(
        "Extractive answer (the language model is unavailable: primary-a (http_5xx))"
    )
    assert "no language model configured" not in answer
    assert body["llmops"]["fallbacks"] == ["primary-a"]


HYBRID_DOCS = {
    f"cmake/{pid}.md": f"# Policy {pid}\n\n{text}" for pid, text in CMAKE_POLICIES.items()
}


def test_hybrid_retrieval_finds_exact_identifiers(serve_app: Any) -> None:
    with client(serve_app) as c:
        r = c.post(
            "/v1/documents",
            json={"documents": [{"source": s, "text": t} for s, t in HYBRID_DOCS.items()]},
        )
        assert r.status_code == 200, r.text
        body = chat(c, "What does CMP0048 do?", model="extractive", cache=False).json()
    first = body["citations"][0]
    assert first["source"] == "cmake/CMP0048.md" and "text" in first["matched"]
    assert metric(serve_app, "llmops_retrieval_latency_seconds_count", mode="hybrid") >= 1


def test_cache_never_answers_the_opposite_question(
    serve_app: Any, ingested: dict[str, Any], embedding_model: Any
) -> None:
    from serving.embeddings import encode

    asked = "Should I run the migrations before deploying the replicas?"
    opposite = "Should I not run the migrations before deploying the replicas?"
    a, b = encode(embedding_model, [asked, opposite])
    assert float(a @ b) >= 0.95  # as similar as a paraphrase to the embedding model
    before = metric(serve_app, "llmops_cache_events_total", result="near_miss")
    with client(serve_app) as c:  # without retrieval: the question alone decides
        first = chat(c, asked, model="extractive", retrieval=False).json()
        second = chat(c, opposite, model="extractive", retrieval=False).json()
        again = chat(c, asked.lower(), model="extractive", retrieval=False).json()
    assert first["llmops"]["cache"] == "miss"
    assert second["llmops"]["cache"] == "miss"  # not the answer to the opposite question
    assert metric(serve_app, "llmops_cache_events_total", result="near_miss") == before + 1
    assert again["llmops"]["cache"] in ("exact", "semantic")  # the same question still hits


def test_document_stats(serve_app: Any, ingested: dict[str, Any]) -> None:
    with client(serve_app) as c:
        st = c.get("/v1/documents/stats").json()
        light = c.get("/v1/documents/stats", params={"sources": "false"}).json()
    by_source = {r["source"]: r for r in st["sources"]}
    assert by_source["pgvector.md"]["chunks"] >= 1 and st["documents"] == len(st["sources"])
    assert st["chunks"] == sum(r["chunks"] for r in st["sources"])
    assert light["sources"] is None and light["documents"] == st["documents"]
    assert st["limits"]["max_document_chars"] == 200_000


def test_cli_ingest_skips_bad_files_and_goes_on(serve_app: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from llmops.cli import app
    from llmops.commands.serving import INGEST_SKIPPED_EXIT_CODE

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a-good.md").write_text("# Good\n\nThe backup window is 02:00 to 04:00 UTC.\n")
    (folder / "b-binary.txt").write_bytes(b"PK\x03\x04\x00\x00binary")
    (folder / "c-empty.md").write_text("  \n\n")
    (folder / "d-latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    with open(folder / "e-huge.md", "wb") as f:  # 50 MB, sparse: refused from its size
        f.truncate(50_000_000)
    (folder / "f-later.md").write_text("# Later\n\nRestores are tested every quarter.\n")
    runner = CliRunner()
    common = ["--home", str(serve_app.paths.home)]
    r = runner.invoke(app, ["ingest", str(folder), *common])
    assert r.exit_code == INGEST_SKIPPED_EXIT_CODE, r.output
    out = r.output
    assert "created   a-good.md" in out and "created   f-later.md" in out  # later files still read
    assert "skipped   b-binary.txt  (binary:" in out
    assert "skipped   c-empty.md  (empty:" in out
    assert "skipped   d-latin1.txt  (not_utf8:" in out and "iconv" in out
    assert "skipped   e-huge.md  (too_large: 50.0 MB" in out
    assert "ingested 6 files: 2 created, 4 skipped" in out
    assert max(len(line) for line in out.splitlines()) > 80  # not wrapped when not a terminal
    j = runner.invoke(app, ["ingest", str(folder), "--json", *common])
    assert j.exit_code == INGEST_SKIPPED_EXIT_CODE
    summary = json.loads(j.stdout)
    assert summary["counts"] == {"skipped": 4, "unchanged": 2} and summary["files"] == 6
    assert {s["source"]: s["code"] for s in summary["skipped"]} == {
        "b-binary.txt": "binary",
        "c-empty.md": "empty",
        "d-latin1.txt": "not_utf8",
        "e-huge.md": "too_large",
    }
    common = ["--url", serve_app.url, *common]
    st = runner.invoke(app, ["stats", *common])
    assert st.exit_code == 0 and "a-good.md" in st.output and " documents, " in st.output
    st_json = json.loads(runner.invoke(app, ["stats", "--json", *common]).stdout)
    assert "f-later.md" in {r["source"] for r in st_json["sources"]}


# --------------------------------------------------- local runtime: fail loudly, bind locally


def test_start_timeout_names_pending_deployments_and_why(serve_app: Any) -> None:
    import time as _time

    from ray import serve
    from ray.serve import RunTarget

    from serving.config import AppConfig
    from serving.local import LocalRuntimeError, wait_until_running

    # an app on the same Serve instance whose model asks for a resource this Ray lacks
    cfg = AppConfig.model_validate(
        {
            "name": "unschedulable",
            "route_prefix": "/unschedulable",
            "models": [
                {
                    "name": "needs-spot",
                    "backends": [{"kind": "extractive"}],
                    "deployment": {"resources": {"num_cpus": 0.01, "custom": {"spot": 1}}},
                }
            ],
        }
    )

    @serve.deployment(
        name="LLM-needs-spot",
        ray_actor_options={"num_cpus": 0.01, "resources": {"spot": 1}},
        graceful_shutdown_timeout_s=0,
    )
    class NeedsSpot:
        def __call__(self) -> str:
            return "never"

    serve.run_many(
        [RunTarget(NeedsSpot.bind(), name=cfg.name, route_prefix=cfg.route_prefix)],
        wait_for_ingress_deployment_creation=False,
        wait_for_applications_running=False,
    )
    try:
        t0 = _time.monotonic()
        with pytest.raises(LocalRuntimeError) as e:
            wait_until_running(cfg, _time.monotonic() + 3)
        assert _time.monotonic() - t0 < 10  # the timeout is real
    finally:
        serve.delete(cfg.name)
    msg = str(e.value)
    assert "did not start within the start timeout" in msg and "--start-timeout" in msg
    assert "LLM-needs-spot: UPDATING" in msg
    assert "each replica needs {'spot': '1'}, Ray has {'spot': '0'} free" in msg


def test_local_ray_listens_on_loopback_only(serve_app: Any) -> None:
    import ipaddress

    import psutil

    me = psutil.Process()
    ours = {me.pid} | {p.pid for p in me.children(recursive=True)}
    listening = [
        c
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.pid in ours
    ]
    names = {psutil.Process(c.pid).name() for c in listening}
    assert {"gcs_server", "raylet"} <= names  # Ray's own servers are among them
    exposed = [
        (c.laddr.ip, c.laddr.port, psutil.Process(c.pid).name())
        for c in listening
        if not ipaddress.ip_address(c.laddr.ip.removeprefix("::ffff:")).is_loopback
    ]
    assert exposed == []
