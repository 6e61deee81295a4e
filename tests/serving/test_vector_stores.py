"""One test suite for every vector store engine: PostgreSQL + pgvector (embedded, for real)
and OpenSearch Serverless (its REST API faked on loopback, requests SigV4-signed and
checked). Each test gets fresh tables or indexes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from opensearch_fake import ACCESS_KEY, REGION, SECRET_KEY, FakeOpenSearch

from serving.stores.base import ChunkIn, DocumentIn, VectorStore, VectorStoreError

_names = itertools.count()
Factory = Callable[..., VectorStore]


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


@pytest.fixture(scope="module")
def fake_opensearch() -> Iterator[FakeOpenSearch]:
    fake = FakeOpenSearch()
    yield fake
    fake.close()


def opensearch_store(fake: FakeOpenSearch, dims: int, prefix: str) -> VectorStore:
    from botocore.credentials import Credentials

    from serving.aws_auth import SigV4Auth
    from serving.stores.opensearch import OpenSearchStore

    return OpenSearchStore(
        fake.endpoint, dims, prefix, SigV4Auth("aoss", REGION, Credentials(ACCESS_KEY, SECRET_KEY))
    )


@pytest.fixture(params=["pgvector", "opensearch"])
def make_store(request: pytest.FixtureRequest) -> Iterator[Factory]:
    """Opens a store of the engine under test: ``make_store(dims, prefix=None)``."""
    opened: list[VectorStore] = []
    suffix = f"s{next(_names)}"

    def make(dims: int, prefix: str | None = None) -> VectorStore:
        name = prefix or f"vs_{suffix}"
        if request.param == "pgvector":
            from serving.vectorstore import PgVectorStore

            store: VectorStore = PgVectorStore(
                request.getfixturevalue("pg_dsn"), dims, table_prefix=name
            )
        else:
            store = opensearch_store(request.getfixturevalue("fake_opensearch"), dims, name)
        opened.append(store)
        return store

    make.engine = request.param  # type: ignore[attr-defined]
    yield make
    for s in opened:
        s.close()


def test_upsert_statuses_search_stats_and_delete(make_store: Factory) -> None:
    store = make_store(3)
    a = store.upsert_document(
        "a.md",
        "h-a",
        [ChunkIn(0, "alpha", unit([1, 0, 0])), ChunkIn(1, "beta", unit([0, 1, 0]))],
        title="A",
    )
    assert (a.status, a.chunks) == ("created", 2)
    again = store.upsert_document("a.md", "h-a", [])
    assert (again.status, again.document_id, again.chunks) == ("unchanged", a.document_id, 2)
    dup = store.upsert_document("copy-of-a.md", "h-a", [])
    assert (dup.status, dup.source) == ("duplicate", "a.md")
    b = store.upsert_document("b.md", "h-b", [ChunkIn(0, "gamma", unit([0, 0, 1]))])
    hits = store.search(unit([0.9, 0.1, 0]), top_k=2)
    assert [(h.source, h.text) for h in hits] == [("a.md", "alpha"), ("a.md", "beta")]
    assert hits[0].score == pytest.approx(0.9939, abs=1e-3) and hits[0].title == "A"
    exact = store.search(unit([0.9, 0.1, 0]), 2, exact=True)
    assert [h.chunk_id for h in exact] == [h.chunk_id for h in hits]
    assert (
        store.find_by_hash("h-b") == (b.document_id, "b.md") and store.find_by_hash("nope") is None
    )
    upd = store.upsert_document("a.md", "h-a2", [ChunkIn(0, "alpha v2", unit([1, 0, 0]))])
    assert (upd.status, upd.document_id) == ("updated", a.document_id)
    assert [h.text for h in store.search(unit([1, 0, 0]), top_k=3)] == ["alpha v2", "gamma"]
    st = store.stats(per_source=True)
    assert (st.documents, st.chunks) == (2, 2)
    assert [(r.source, r.chunks) for r in st.sources] == [("a.md", 1), ("b.md", 1)]
    assert store.stats().sources == ()
    assert b.document_id != a.document_id
    assert store.delete_document("b.md") and not store.delete_document("b.md")
    assert store.stats().chunks == 1 and store.find_by_hash("h-b") is None
    assert store.ping()


def test_a_batch_records_progress_with_its_documents(make_store: Factory) -> None:
    store = make_store(2)
    docs = [
        DocumentIn("one.md", "h1", [ChunkIn(0, "one", unit([1, 0]))], fingerprint="f1"),
        DocumentIn(
            "two.md",
            "h2",
            [ChunkIn(0, "two", unit([0, 1])), ChunkIn(1, "two b", unit([1, 1]))],
            fingerprint="f2",
        ),
        DocumentIn("same-as-one.md", "h1", [ChunkIn(0, "one", unit([1, 0]))], fingerprint="f3"),
    ]
    out = store.upsert_documents(docs)
    assert [(r.source, r.status, r.chunks) for r in out] == [
        ("one.md", "created", 1),
        ("two.md", "created", 2),
        ("one.md", "duplicate", 1),
    ]
    assert store.stats().chunks == 3  # the duplicate's chunks are stored once
    progress = store.progress(["one.md", "two.md", "same-as-one.md", "never.md"])
    assert {s: (p.fingerprint, p.stored_source) for s, p in progress.items()} == {
        "one.md": ("f1", "one.md"),
        "two.md": ("f2", "two.md"),
        "same-as-one.md": ("f3", "one.md"),
    }
    # new text under a known source: updated, and its progress moves on
    (upd,) = store.upsert_documents(
        [DocumentIn("two.md", "h2b", [ChunkIn(0, "two new", unit([0, 1]))], fingerprint="f2b")]
    )
    assert upd.status == "updated" and store.progress(["two.md"])["two.md"].fingerprint == "f2b"
    assert store.stats().chunks == 2
    # a deleted document's progress goes with it (a re-run ingests the file again)
    assert store.delete_document("one.md")
    assert set(store.progress(["one.md", "same-as-one.md"])) == set()
    with pytest.raises(VectorStoreError, match="names a source twice"):
        store.upsert_documents([docs[0], docs[0]])


def test_full_text_search_weighs_rare_terms(make_store: Factory) -> None:
    store = make_store(3)
    common = "The build policy setting controls how the project builds. " * 3
    for i in range(8):
        store.upsert_document(
            f"p{i}.md", f"h-p{i}", [ChunkIn(0, common + f"Policy number {i}.", unit([1, 0, 0]))]
        )
    cmp = store.upsert_document(
        "cmp.md", "h-cmp", [ChunkIn(0, "CMP0048 manages VERSION variables.", unit([0, 1, 0]))]
    )
    q = "which policy sets CMP0048 for the project build"
    ids = store.text_search(q, top_k=3)
    (first,) = store.search(unit([0, 1, 0]), top_k=1)
    assert first.document_id == cmp.document_id and ids[0] == first.chunk_id
    hits = store.hybrid_search(unit([1, 0, 0]), q, top_k=9)  # the embedding points elsewhere
    by_source = {h.source: h for h in hits}
    assert "text" in by_source["cmp.md"].matched
    assert by_source["cmp.md"].score == pytest.approx(0.0, abs=1e-6)  # cosine of orthogonal vectors
    assert store.text_search("", top_k=3) == [] and store.text_search("the of and", top_k=3) == []


def test_dimensions_are_checked(make_store: Factory) -> None:
    store = make_store(4, "dims_check")
    with pytest.raises(VectorStoreError, match=r"chunk 0 of 'x\.md' has 3 dimensions, expected 4"):
        store.upsert_document("x.md", "h-x", [ChunkIn(0, "bad", [1.0, 2.0, 3.0])])
    with pytest.raises(VectorStoreError, match=r"query has shape \(2,\), expected \(4,\)"):
        store.search([1.0, 0.0])
    assert store.stats().documents == 0
    with pytest.raises(VectorStoreError, match="model"):  # another model on the same tables
        make_store(8, "dims_check")


def test_opensearch_interrupted_write_is_invisible_and_a_retry_is_clean(
    fake_opensearch: FakeOpenSearch,
) -> None:
    store = opensearch_store(fake_opensearch, 2, "os_interrupted")
    doc = DocumentIn(
        "half.md",
        "h-half",
        [ChunkIn(0, "first half", unit([1, 0])), ChunkIn(1, "second", unit([0, 1]))],
    )
    fake_opensearch.fail_next_bulk = "os-interrupted-documents"  # chunks land, the record does not
    with pytest.raises(VectorStoreError, match="refused 1 of 1 writes to os-interrupted-documents"):
        store.upsert_documents([doc])
    assert store.search(unit([1, 0]), top_k=5) == []  # orphan chunks are never returned
    assert store.text_search("first half") == [] and store.find_by_hash("h-half") is None
    (retry,) = store.upsert_documents([doc])
    assert retry.status == "created"
    st = store.stats()
    assert (st.documents, st.chunks) == (1, 2)  # the leftovers were replaced, not doubled
    store.close()


def test_postgres_batch_is_all_or_nothing(pg_dsn: str) -> None:
    import psycopg

    from serving.vectorstore import PgVectorStore

    store = PgVectorStore(pg_dsn, 2, table_prefix="vs_atomic_batch")
    good = DocumentIn("good.md", "h-good", [ChunkIn(0, "ok", unit([1, 0]))], fingerprint="g")
    bad = DocumentIn(
        "bad.md",
        "h-bad",
        [ChunkIn(0, "a", unit([1, 0])), ChunkIn(0, "same ord", unit([0, 1]))],
        fingerprint="b",
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        store.upsert_documents([good, bad])
    assert store.stats().documents == 0 and store.progress(["good.md"]) == {}
    assert [r.status for r in store.upsert_documents([good])] == ["created"]
    store.close()


def test_opensearch_requests_are_signed_and_refusals_are_explained(
    fake_opensearch: FakeOpenSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.credentials import Credentials

    from serving.aws_auth import SigV4Auth
    from serving.config import VectorStoreConfig
    from serving.stores.factory import open_store
    from serving.stores.opensearch import OpenSearchStore

    before = len(fake_opensearch.unsigned)
    wrong = SigV4Auth("aoss", REGION, Credentials(ACCESS_KEY, "not-the-secret"))
    with pytest.raises(VectorStoreError, match="data access policy"):
        OpenSearchStore(fake_opensearch.endpoint, 2, "os_signed", wrong)
    assert len(fake_opensearch.unsigned) > before
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("LLMOPS_OPENSEARCH_ENDPOINT", fake_opensearch.endpoint)
    cfg = VectorStoreConfig(engine="opensearch-serverless", table_prefix="os_factory")
    store = open_store(cfg, 2)  # credentials and endpoint from the environment
    assert (
        store.upsert_document("f.md", "h-f", [ChunkIn(0, "from the factory", unit([1, 0]))]).status
        == "created"
    )
    assert {"os-factory-chunks", "os-factory-documents", "os-factory-ingest"} <= set(
        fake_opensearch.indexes
    )
    store.close()
    monkeypatch.delenv("LLMOPS_OPENSEARCH_ENDPOINT")
    with pytest.raises(VectorStoreError, match="LLMOPS_OPENSEARCH_ENDPOINT"):
        open_store(cfg, 2)


def test_opensearch_index_mappings_are_knn(fake_opensearch: FakeOpenSearch) -> None:
    store = opensearch_store(fake_opensearch, 5, "os_mapping")
    body: dict[str, Any] = fake_opensearch.indexes["os-mapping-chunks"].body
    emb = body["mappings"]["properties"]["embedding"]
    assert body["settings"]["index"]["knn"] is True
    assert (
        emb["type"],
        emb["dimension"],
        emb["method"]["engine"],
        emb["method"]["space_type"],
    ) == (
        "knn_vector",
        5,
        "faiss",
        "cosinesimil",
    )
    assert body["mappings"]["properties"]["text"]["analyzer"] == "english"
    store.close()
