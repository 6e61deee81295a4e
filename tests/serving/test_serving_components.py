"""Components against real services, without Ray: the semantic cache on a real
redis-server (and with Redis down), the vector store on real PostgreSQL + pgvector, the
OpenAI-compatible backend and the fallback chain against fake upstreams on loopback, and the
transformers backend with the tiny local model."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest
from serving_fakes import CMAKE_POLICIES, FakeUpstream, RedisProcess, RedisTlsCluster, free_port

from serving.cache import MemoryCacheBackend, RedisCacheBackend, SemanticCache, prompt_hash
from serving.config import OpenAIBackend, TransformersBackend
from serving.llm.base import (
    AllBackendsFailedError,
    GenerationParams,
    Passage,
    StreamDelta,
    StreamEnd,
    UpstreamError,
)
from serving.llm.chain import FallbackChain, StreamStart
from serving.llm.extractive import ExtractiveLLM
from serving.llm.openai_backend import OpenAICompatibleLLM
from serving.metrics import ServingMetrics
from serving.vectorstore import (
    LATEST_SCHEMA_VERSION,
    ChunkIn,
    PgVectorStore,
    VectorStoreError,
    reciprocal_rank_fusion,
)

MSGS = [{"role": "user", "content": "hello there"}]


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


# ---------------------------------------------------------------------- cache


async def _exercise_cache(backend: object, events: list[str]) -> None:
    cache = SemanticCache(backend, similarity_threshold=0.9, ttl_s=1, on_event=events.append)  # type: ignore[arg-type]
    ns = "ns1"
    q = "How do I run the migrations?"
    assert await cache.lookup(ns, "k1", unit([1, 0, 0]), q) is None
    assert await cache.store(ns, "k1", unit([1, 0, 0]), {"answer": "one"}, q)
    hit = await cache.lookup(ns, "k1", unit([0, 1, 0]), q)
    assert hit is not None and (hit.kind, hit.payload) == ("exact", {"answer": "one"})
    near = await cache.lookup(ns, "other", unit([1, 0.2, 0]), "how do I run the migrations")  # cosine 0.98
    assert (
        near is not None
        and near.kind == "semantic"
        and near.similarity == pytest.approx(0.9806, abs=1e-3)
    )
    # as similar by embedding, but the opposite question: refused by the lexical check
    opposite = await cache.lookup(ns, "other2", unit([1, 0.2, 0]), "How do I not run the migrations?")
    assert opposite is None
    assert await cache.lookup(ns, "other", unit([1, 0.6, 0]), q) is None  # cosine 0.86 < 0.9
    assert await cache.lookup("ns2", "k1", unit([1, 0, 0]), q) is None  # namespaces are separate
    await asyncio.sleep(1.2)
    assert await cache.lookup(ns, "k1", unit([1, 0, 0]), q) is None  # TTL expired
    assert events == ["miss", "hit_exact", "hit_semantic", "near_miss", "miss", "miss", "miss", "miss"]


def test_memory_cache_semantics() -> None:
    events: list[str] = []
    asyncio.run(_exercise_cache(MemoryCacheBackend(), events))


def test_redis_cache_semantics(redis_server: RedisProcess) -> None:
    events: list[str] = []

    async def run() -> None:
        backend = RedisCacheBackend(redis_server.url, prefix=f"test:{time.time_ns()}")
        await _exercise_cache(backend, events)
        await backend.close()

    asyncio.run(run())


def test_redis_cache_caps_entries(redis_server: RedisProcess) -> None:
    async def run() -> int:
        prefix = f"cap:{time.time_ns()}"
        backend = RedisCacheBackend(redis_server.url, prefix=prefix, max_entries=3)
        for i in range(6):
            await backend.put("ns", f"k{i}", unit([1, i, 0]), {"i": i}, 60)
        found = await backend.nearest("ns", unit([1, 5, 0]))
        n = int(await backend.client.hlen(backend.key("ns", "v")))
        assert backend.key("ns", "v") == f"{prefix}:{{ns}}:v"  # the namespace is the hash tag
        for suffix in ("v", "t", "g"):  # idle namespaces expire with their entries
            assert 0 < int(await backend.client.ttl(backend.key("ns", suffix))) <= 60
        await backend.close()
        assert found is not None and found[0] == "k5"
        return n

    assert asyncio.run(run()) == 3


def test_cache_fails_open_when_redis_is_unreachable() -> None:
    events: list[str] = []
    clock = [0.0]

    async def run() -> None:
        backend = RedisCacheBackend(f"redis://127.0.0.1:{free_port()}/0", socket_timeout_s=0.2)
        cache = SemanticCache(
            backend, retry_after_s=5, on_event=events.append, clock=lambda: clock[0]
        )
        t0 = time.perf_counter()
        assert await cache.lookup("ns", "k", unit([1, 0])) is None
        assert time.perf_counter() - t0 < 1.5  # bounded by the socket timeout, no hang
        assert not cache.available
        assert await cache.store("ns", "k", unit([1, 0]), {"a": 1}, "q") is False
        t1 = time.perf_counter()
        assert await cache.lookup("ns", "k", unit([1, 0])) is None
        assert time.perf_counter() - t1 < 0.05  # skipped while down, no connection attempt
        clock[0] = 6.0
        assert cache.available  # tries again after retry_after_s
        await cache.close()

    asyncio.run(run())
    assert events == ["bypass", "bypass"]


def test_semantic_cache_on_a_tls_cluster(redis_tls_cluster: RedisTlsCluster) -> None:
    """ElastiCache Serverless is cluster-mode and TLS-only: a namespace's keys share a slot
    (hash tags), so its MULTI/EXEC writes run on one node; nothing bypasses the cache."""
    events: list[str] = []
    errors: list[tuple[str, str]] = []

    async def run() -> set[int]:
        backend = RedisCacheBackend(
            redis_tls_cluster.url,
            prefix=f"tls:{time.time_ns()}",
            cluster=True,
            ssl_ca_certs=str(redis_tls_cluster.ca),
            max_entries=2,
        )
        await _exercise_cache(backend, events)
        cache = SemanticCache(backend, on_error=lambda op, kind: errors.append((op, kind)))
        for i in range(4):  # beyond max_entries: the pruning transaction runs too
            assert await cache.store("ns-{odd}", f"k{i}", unit([1, i, 0]), {"i": i}, "q")
        assert int(await backend.client.hlen(backend.key("ns-{odd}", "v"))) == 2
        keys = [backend.key(ns, s) for ns in ("ns1", "ns-{odd}") for s in ("v", "t", "g", "e:k1")]
        slots = {int(await backend.client.cluster_keyslot(k)) for k in keys[:4]}
        assert len({int(await backend.client.cluster_keyslot(k)) for k in keys[4:]}) == 1
        await backend.close()
        return slots

    assert len(asyncio.run(run())) == 1
    assert "bypass" not in events and errors == []


def test_cache_refusals_are_counted_and_logged_as_errors(redis_tls_cluster: RedisTlsCluster) -> None:
    """A refusal recurs on every request: it is counted by kind and logged as an error
    naming the fix, never a silent bypass."""

    class OneSlotPerKey(RedisCacheBackend):  # the layout without hash tags
        def key(self, namespace: str, suffix: str) -> str:
            return f"{self.prefix}:{namespace}:{suffix}"

    errors: list[tuple[str, str]] = []
    metrics = ServingMetrics()

    def on_error(op: str, kind: str) -> None:
        errors.append((op, kind))
        metrics.cache_error(op, kind)

    async def run() -> None:
        spread = OneSlotPerKey(
            redis_tls_cluster.url, cluster=True, ssl_ca_certs=str(redis_tls_cluster.ca)
        )
        cache = SemanticCache(spread, on_error=on_error)
        assert await cache.store("ns", "k", unit([1, 0]), {"a": 1}, "q") is False
        await cache.close()
        untrusted = RedisCacheBackend(redis_tls_cluster.url, cluster=True, socket_timeout_s=1)
        cache = SemanticCache(untrusted, on_error=on_error, op_timeout_s=3)
        assert await cache.lookup("ns", "k", unit([1, 0])) is None
        assert cache.failures == {"refused": 1}
        await cache.close()

    class Records(logging.Handler):  # on the logger itself: other tests may stop propagation
        def __init__(self) -> None:
            super().__init__(logging.ERROR)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    handler, logger = Records(), logging.getLogger("serving.cache")
    was_disabled, logger.disabled = logger.disabled, False
    logger.addHandler(handler)
    try:
        asyncio.run(run())
    finally:
        logger.removeHandler(handler)
        logger.disabled = was_disabled
    assert errors == [("store", "refused"), ("lookup", "refused")]
    messages = [r.getMessage() for r in handler.records]
    assert "slot" in messages[0].lower() and "every request bypasses the cache" in messages[0]
    assert "cache.tls_ca_file" in messages[1]
    text = metrics.render()[0].decode()
    assert 'llmops_cache_errors_total{kind="refused",operation="store"} 1.0' in text


def test_prompt_hash_is_canonical() -> None:
    assert prompt_hash({"a": 1, "b": [1, 2]}) == prompt_hash({"b": [1, 2], "a": 1})
    assert prompt_hash({"a": 1}) != prompt_hash({"a": 2})


# --------------------------------------------------------------- vector store


def test_vector_store_migrates_upserts_and_searches(pg_dsn: str) -> None:
    store = PgVectorStore(pg_dsn, 3, table_prefix="unit_vs")
    assert store.schema_version() == LATEST_SCHEMA_VERSION
    assert store.migrate() == []  # idempotent: nothing to apply the second time
    again = PgVectorStore(pg_dsn, 3, table_prefix="unit_vs")  # a second replica starting up
    assert again.migrate() == []
    again.close()
    with psycopg.connect(pg_dsn) as conn:
        idx = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'unit_vs_chunks' AND indexdef ILIKE '%hnsw%'"
        ).fetchone()
    assert idx is not None and "vector_cosine_ops" in idx[0]

    a = store.upsert_document(
        "a.md",
        "h-a",
        [ChunkIn(0, "alpha", unit([1, 0, 0])), ChunkIn(1, "beta", unit([0, 1, 0]))],
        title="A",
    )
    assert (a.status, a.chunks) == ("created", 2)
    assert store.upsert_document("a.md", "h-a", []).status == "unchanged"
    dup = store.upsert_document("copy-of-a.md", "h-a", [])
    assert (dup.status, dup.source) == ("duplicate", "a.md")
    b = store.upsert_document("b.md", "h-b", [ChunkIn(0, "gamma", unit([0, 0, 1]))])
    hits = store.search(unit([0.9, 0.1, 0]), top_k=2)
    assert [(h.source, h.text) for h in hits] == [("a.md", "alpha"), ("a.md", "beta")]
    assert hits[0].score == pytest.approx(0.9939, abs=1e-3) and hits[0].title == "A"
    assert [h.chunk_id for h in store.search(unit([0.9, 0.1, 0]), 2, exact=True)] == [
        h.chunk_id for h in hits
    ]
    upd = store.upsert_document("a.md", "h-a2", [ChunkIn(0, "alpha v2", unit([1, 0, 0]))])
    assert (upd.status, upd.document_id) == ("updated", a.document_id)
    st = store.stats(per_source=True)
    assert (st.documents, st.chunks) == (2, 2)
    assert [(r.source, r.chunks, r.title) for r in st.sources] == [("a.md", 1, None), ("b.md", 1, None)]
    assert store.stats().sources == ()
    assert b.document_id != a.document_id
    assert store.delete_document("b.md") and store.stats().chunks == 1
    store.close()


def test_failed_upsert_leaves_no_partial_document(pg_dsn: str) -> None:
    store = PgVectorStore(pg_dsn, 2, table_prefix="unit_atomic")
    chunks = [
        ChunkIn(0, "ok", [1.0, 0.0]),
        ChunkIn(1, "ok too", [0.0, 1.0]),
        ChunkIn(1, "same ord: fails in COPY", [1.0, 1.0]),
    ]
    with pytest.raises(psycopg.errors.UniqueViolation):
        store.upsert_document("half.md", "h-half", chunks)
    assert (store.stats().documents, store.stats().chunks) == (0, 0)
    assert store.find_by_hash("h-half") is None
    with pytest.raises(VectorStoreError, match=r"chunk 0 of 'x\.md' has 3 dimensions, expected 2"):
        store.upsert_document("x.md", "h-x", [ChunkIn(0, "bad", [1.0, 2.0, 3.0])])
    store.close()


def _schema(dsn: str, prefix: str) -> tuple[list[int], set[str], set[str]]:
    with psycopg.connect(dsn) as conn:
        versions = [r[0] for r in conn.execute(f"SELECT version FROM {prefix}_schema_migrations ORDER BY version")]
        cols = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", (f"{prefix}_chunks",))}
        idx = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (f"{prefix}_chunks",))}
    return versions, cols, idx


def test_migrations_from_empty_and_from_the_previous_version(pg_dsn: str) -> None:
    # from empty: every step, in order
    PgVectorStore(pg_dsn, 3, table_prefix="mig_new").close()
    versions, cols, idx = _schema(pg_dsn, "mig_new")
    assert versions == list(range(1, LATEST_SCHEMA_VERSION + 1))
    assert "tsv" in cols and {"mig_new_chunks_embedding_hnsw", "mig_new_chunks_tsv_gin"} <= idx
    # from version 2 (before full-text search), with data in it
    old = PgVectorStore(pg_dsn, 3, table_prefix="mig_old", schema_version=2)
    old.upsert_document("e.md", "h-e", [ChunkIn(0, "The policy CMP0048 sets the project version.", unit([1, 0, 0]))])
    old.close()
    assert _schema(pg_dsn, "mig_old")[0] == [1, 2] and "tsv" not in _schema(pg_dsn, "mig_old")[1]
    new = PgVectorStore(pg_dsn, 3, table_prefix="mig_old")
    assert _schema(pg_dsn, "mig_old")[0] == list(range(1, LATEST_SCHEMA_VERSION + 1))
    assert new.migrate() == []
    (hit,) = new.hybrid_search(unit([0, 1, 0]), "what does CMP0048 do", top_k=1)
    assert hit.source == "e.md" and "text" in hit.matched  # rows from before the upgrade
    new.close()


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion({"vector": [1, 2, 3], "text": [3, 4]}, k=60)
    assert [i for i, _, _ in fused] == [3, 1, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 63 + 1 / 61) and fused[0][2] == ("vector", "text")
    weighted = reciprocal_rank_fusion({"vector": [1], "text": [2]}, k=1, weights={"text": 2.0})
    assert [(i, round(sc, 3)) for i, sc, _ in weighted] == [(2, 1.0), (1, 0.5)]


def test_full_text_search_weighs_rare_terms(pg_dsn: str) -> None:
    store = PgVectorStore(pg_dsn, 3, table_prefix="fts")
    common = "The build policy setting controls how the project builds. " * 3
    for i in range(8):
        store.upsert_document(f"p{i}.md", f"h-p{i}", [ChunkIn(0, common + f"Policy number {i}.", unit([1, 0, 0]))])
    cmp = store.upsert_document("cmp.md", "h-cmp", [ChunkIn(0, "CMP0048 manages VERSION variables.", unit([0, 1, 0]))])
    q = "which policy sets CMP0048 for the project build"
    ids = store.text_search(q, top_k=3)
    # the one chunk with the rare identifier beats chunks repeating the common words
    (first,) = store.search(unit([0, 1, 0]), top_k=1)
    assert first.document_id == cmp.document_id and ids[0] == first.chunk_id
    hits = store.hybrid_search(unit([1, 0, 0]), q, top_k=3)  # the embedding points elsewhere
    assert "cmp.md" in [h.source for h in hits] and "text" in hits[[h.source for h in hits].index("cmp.md")].matched
    assert store.text_search("", top_k=3) == [] and store.text_search("the of and", top_k=3) == []
    store.close()


def test_hybrid_search_finds_identifiers_with_minilm(pg_dsn: str, embedding_model: object) -> None:
    from serving.embeddings import encode

    docs = {f"policies/{pid}.md": f"Policy {pid}: {text}" for pid, text in CMAKE_POLICIES.items()}
    store = PgVectorStore(pg_dsn, 384, table_prefix="hyb")
    for i, (src, text) in enumerate(docs.items()):
        store.upsert_document(src, f"h-hyb-{i}", [ChunkIn(0, text, encode(embedding_model, [text])[0])])  # type: ignore[arg-type]
    q = "What changed with CMP0048?"
    qv = encode(embedding_model, [q])[0]  # type: ignore[arg-type]
    hybrid = store.hybrid_search(qv, q, top_k=3)
    assert hybrid[0].source == "policies/CMP0048.md" and "text" in hybrid[0].matched
    exact = {h.source: h.score for h in store.search(qv, top_k=len(docs), exact=True)}
    assert hybrid[0].score == pytest.approx(exact["policies/CMP0048.md"], abs=1e-4)  # the cosine
    store.close()


def test_vector_store_refuses_a_different_dimension(pg_dsn: str) -> None:
    PgVectorStore(pg_dsn, 4, table_prefix="unit_dim").close()
    with pytest.raises(
        VectorStoreError, match=r"stores vector\(4\) but the embedding model gives vector\(8\)"
    ):
        PgVectorStore(pg_dsn, 8, table_prefix="unit_dim")


def test_vector_store_unreachable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VectorStoreError, match=r"check vector_store\.dsn_env"):
        PgVectorStore(f"postgresql://postgres@/postgres?host={tmp_path}", 3, connect_timeout_s=1)


# ------------------------------------------------- OpenAI-compatible upstream


def _backend(up: FakeUpstream, **kw: object) -> OpenAICompatibleLLM:
    cfg = {
        "base_url": up.base_url,
        "model": "m",
        "timeout_s": 0.5,
        "connect_timeout_s": 0.5,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.02,
        "breaker_failure_threshold": 100,
        **kw,
    }
    return OpenAICompatibleLLM(OpenAIBackend.model_validate(cfg))


def test_openai_backend_answers_with_usage_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    up = FakeUpstream("hi from upstream")
    monkeypatch.setenv("UP_KEY", "sk-upstream-abc")
    try:
        b = _backend(up, api_key_env="UP_KEY", name="hosted-a")
        c = asyncio.run(b.generate(MSGS, GenerationParams(max_tokens=20, stop=("END",))))
        assert (c.text, c.prompt_tokens, c.completion_tokens, c.backend) == (
            "hi from upstream",
            11,
            7,
            "hosted-a",
        )
        assert up.last_headers["authorization"] == "Bearer sk-upstream-abc"
        assert (
            up.last_body["model"] == "m"
            and up.last_body["max_tokens"] == 20
            and up.last_body["stop"] == ["END"]
        )
    finally:
        up.close()


def test_openai_backend_requires_its_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from serving.llm.base import BackendConfigError

    monkeypatch.delenv("MISSING_KEY_ENV", raising=False)
    with pytest.raises(BackendConfigError, match="MISSING_KEY_ENV is not set"):
        OpenAICompatibleLLM(
            OpenAIBackend(
                base_url="http://127.0.0.1:1/v1", model="m", api_key_env="MISSING_KEY_ENV"
            )
        )


def test_openai_backend_retries_then_succeeds() -> None:
    up = FakeUpstream("recovered")
    try:
        up.reset("fail_then_ok")
        up.fail_count = 2
        c = asyncio.run(_backend(up).generate(MSGS, GenerationParams()))
        assert c.text == "recovered" and up.requests == 3
    finally:
        up.close()


@pytest.mark.parametrize(
    ("mode", "kind", "calls"),
    [
        ("fail500", "http_5xx", 3),
        ("fail429", "http_429", 3),
        ("bad400", "http_4xx", 1),
        ("hang", "timeout", 3),
    ],
)
def test_openai_backend_failure_kinds(mode: str, kind: str, calls: int) -> None:
    up = FakeUpstream()
    up.reset(mode)
    up.hang_s = 3
    try:
        t0 = time.perf_counter()
        with pytest.raises(UpstreamError) as err:
            asyncio.run(_backend(up).generate(MSGS, GenerationParams()))
        assert err.value.kind == kind
        assert up.requests == calls  # 4xx is not retried
        assert time.perf_counter() - t0 < 3.0  # timeouts bound every attempt
    finally:
        up.close()


def test_connection_refused_is_retryable_connect_error() -> None:
    cfg = OpenAIBackend(
        base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", max_retries=1, backoff_base_s=0.01
    )
    with pytest.raises(UpstreamError) as err:
        asyncio.run(OpenAICompatibleLLM(cfg).generate(MSGS, GenerationParams()))
    assert err.value.kind == "connect" and err.value.retryable


def test_breaker_opens_and_fails_fast_then_recovers() -> None:
    up = FakeUpstream("back")
    up.reset("fail500")
    try:
        b = _backend(up, max_retries=0, breaker_failure_threshold=2, breaker_reset_s=0.3)

        async def run() -> None:
            for _ in range(2):
                with pytest.raises(UpstreamError):
                    await b.generate(MSGS, GenerationParams())
            assert not b.available()
            with pytest.raises(UpstreamError) as fast:
                await b.generate(MSGS, GenerationParams())
            assert fast.value.kind == "circuit_open"
            assert up.requests == 2  # no call while open
            up.reset("ok")
            await asyncio.sleep(0.35)
            assert (await b.generate(MSGS, GenerationParams())).text == "back"  # half-open trial
            assert b.breaker.state == "closed"

        asyncio.run(run())
    finally:
        up.close()


def test_openai_streaming_collects_usage() -> None:
    up = FakeUpstream("one two three")
    try:

        async def run() -> list[object]:
            return [ev async for ev in _backend(up).stream(MSGS, GenerationParams())]

        events = asyncio.run(run())
        assert "".join(e.text for e in events if isinstance(e, StreamDelta)) == "one two three "
        assert events[-1] == StreamEnd(11, 7, "stop")
        assert up.last_body["stream"] is True
    finally:
        up.close()


def test_fallback_chain_order_and_all_failed() -> None:
    a, b = FakeUpstream("from a"), FakeUpstream("from b")
    passages = [Passage(1, "doc.md", "the answer is 42", 0.9)]

    async def run() -> None:
        chain = FallbackChain(
            "m",
            [
                _backend(a, name="a", max_retries=0),
                _backend(b, name="b", max_retries=0),
                ExtractiveLLM(),
            ],
        )
        res = await chain.generate(MSGS, GenerationParams())
        assert res.completion.text == "from a" and res.attempts == []
        a.reset("fail500")
        res = await chain.generate(MSGS, GenerationParams())
        assert res.completion.backend == "b" and [x.backend for x in res.attempts] == ["a"]
        b.reset("hang")
        b.hang_s = 2
        res = await chain.generate(MSGS, GenerationParams(), passages)
        assert res.completion.extractive and "[1] doc.md: the answer is 42" in res.completion.text
        assert [(x.backend, x.kind) for x in res.attempts] == [("a", "http_5xx"), ("b", "timeout")]

        only_remote = FallbackChain(
            "m", [_backend(a, name="a", max_retries=0), _backend(b, name="b", max_retries=0)]
        )
        with pytest.raises(AllBackendsFailedError) as err:
            await only_remote.generate(MSGS, GenerationParams())
        assert "every backend failed (a: http_5xx; b: timeout)" in str(err.value)

        events = [ev async for ev in chain.stream(MSGS, GenerationParams(), passages)]
        assert isinstance(events[0], StreamStart) and events[0].backend == "extractive"
        assert [x.backend for x in events[0].attempts] == ["a", "b"]
        assert isinstance(events[-1], StreamEnd) and events[-1].extractive

    try:
        asyncio.run(run())
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------ local models


def test_transformers_backend_with_tiny_model(tiny_llm_path: Path) -> None:
    from serving.llm.transformers_backend import TransformersLLM

    b = TransformersLLM(TransformersBackend(model_id=str(tiny_llm_path), max_new_tokens=10))
    params = GenerationParams(max_tokens=6)
    c = asyncio.run(b.generate(MSGS, params))
    prompt = b.tokenizer.apply_chat_template(MSGS, tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|assistant|>\n")
    assert c.prompt_tokens == len(b.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert 1 <= c.completion_tokens <= 6 and c.backend == "transformers"
    assert c.finish_reason in ("length", "stop")

    async def stream() -> list[object]:
        return [ev async for ev in b.stream(MSGS, params)]

    events = asyncio.run(stream())
    end = events[-1]
    assert isinstance(end, StreamEnd) and end.prompt_tokens == c.prompt_tokens
    streamed = "".join(e.text for e in events if isinstance(e, StreamDelta))
    assert streamed == c.text  # greedy decoding: streaming gives the same text
    assert b.count_tokens("Ray Serve") >= 1


def test_transformers_backend_never_downloads(tmp_path: Path) -> None:
    from serving.llm.base import BackendConfigError
    from serving.llm.transformers_backend import TransformersLLM

    with pytest.raises(BackendConfigError, match="local_files_only is True"):
        TransformersLLM(TransformersBackend(model_id="some-org/not-cached-model"))


def test_embedding_model_is_the_packaged_minilm(embedding_model: object) -> None:
    from serving.config import EmbeddingsConfig
    from serving.embeddings import encode, packaged_model_path, resolve_model_source

    src, rev = resolve_model_source(EmbeddingsConfig())
    assert Path(src) == packaged_model_path() and rev is None
    v = encode(
        embedding_model,
        ["Ray Serve scales replicas", "Ray Serve autoscaling of replicas", "a recipe for soup"],
    )
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.3
