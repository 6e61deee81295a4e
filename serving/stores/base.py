"""What every vector store holds and answers, whatever the engine: the records that go in
and come out, the :class:`VectorStore` protocol the ingress, retrieval and the ingest
pipeline use, and the rank fusion both engines' hybrid search share.

A store keeps documents (source name, content hash, title, metadata) and their chunks with
embeddings, plus an ingest progress record per source (the fingerprint of the file it was
read from), written in the same step as the document, so an interrupted ingest loses and
duplicates nothing and a re-run reads only what changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

#: What storing a document did (see :class:`UpsertResult`).
StoreStatus = Literal["created", "updated", "unchanged", "duplicate"]


class VectorStoreError(RuntimeError):
    """The store cannot be used as configured (its message says how to fix it)."""


@dataclass(frozen=True)
class ChunkIn:
    """A chunk to store: position, text and embedding."""

    ord: int
    text: str
    embedding: Sequence[float] | np.ndarray


@dataclass(frozen=True)
class DocumentIn:
    """A document to store with its chunks. ``fingerprint`` identifies the file version it
    was read from (size and modification time, or an S3 ETag); when set, the store records
    it as the source's ingest progress in the same step."""

    source: str
    content_hash: str
    chunks: Sequence[ChunkIn]
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    chars: int = 0
    fingerprint: str | None = None


@dataclass(frozen=True)
class UpsertResult:
    """Outcome of one document upsert: ``created``, ``updated``, ``unchanged`` or ``duplicate``
    (the same content already stored under another source)."""

    document_id: int
    source: str
    status: StoreStatus
    chunks: int
    content_hash: str


@dataclass(frozen=True)
class ProgressRecord:
    """What a previous ingest recorded for a source: the fingerprint of the file it read,
    and the stored document holding its content (under ``stored_source``: the source itself,
    or another source with the same text)."""

    source: str
    fingerprint: str
    content_hash: str
    document_id: int
    stored_source: str


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk with its cosine similarity to the query (1 - cosine distance).
    Hybrid search also sets ``fused`` (the reciprocal-rank score) and ``matched`` (which
    rankings found the chunk: ``vector``, ``text``)."""

    chunk_id: int
    document_id: int
    source: str
    title: str | None
    text: str
    score: float
    fused: float = 0.0
    matched: tuple[str, ...] = ("vector",)


@dataclass(frozen=True)
class SourceStats:
    """What the store holds for one source."""

    source: str
    document_id: int
    chunks: int
    chars: int
    title: str | None
    updated_at: str


@dataclass(frozen=True)
class StoreStats:
    """Totals, and per source when asked for."""

    documents: int
    chunks: int
    sources: tuple[SourceStats, ...] = ()


class VectorStore(Protocol):
    """A vector store (:class:`serving.vectorstore.PgVectorStore`,
    :class:`serving.stores.opensearch.OpenSearchStore`)."""

    dimensions: int

    def schema_version(self) -> int: ...

    def find_by_hash(self, content_hash: str) -> tuple[int, str] | None: ...

    def upsert_document(
        self,
        source: str,
        content_hash: str,
        chunks: Sequence[ChunkIn],
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        chars: int = 0,
    ) -> UpsertResult: ...

    def upsert_documents(self, docs: Sequence[DocumentIn]) -> list[UpsertResult]: ...

    def progress(self, sources: Sequence[str]) -> dict[str, ProgressRecord]: ...

    def delete_document(self, source: str) -> bool: ...

    def search(
        self,
        embedding: Sequence[float] | np.ndarray,
        top_k: int = 4,
        exact: bool = False,
        ef_search: int | None = None,
    ) -> list[SearchHit]: ...

    def text_search(self, query: str, top_k: int = 4) -> list[int]: ...

    def hybrid_search(
        self,
        embedding: Sequence[float] | np.ndarray,
        query: str,
        top_k: int = 4,
        candidates: int = 40,
        rrf_k: float = 10.0,
        text_weight: float = 1.0,
        ef_search: int | None = None,
    ) -> list[SearchHit]: ...

    def stats(self, per_source: bool = False) -> StoreStats: ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]],
    k: float = 60.0,
    weights: Mapping[str, float] | None = None,
) -> list[tuple[int, float, tuple[str, ...]]]:
    """Fuse ranked id lists: each id scores ``sum(weight / (k + rank))`` over the lists it
    appears in (rank 1 first). Returns ``(id, score, lists it was in)``, best first; ties
    keep the order of first appearance."""
    scores: dict[int, float] = {}
    found: dict[int, list[str]] = {}
    for name, ids in rankings.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, i in enumerate(ids, start=1):
            scores[i] = scores.get(i, 0.0) + w / (k + rank)
            found.setdefault(i, []).append(name)
    order = sorted(scores, key=lambda i: -scores[i])
    return [(i, scores[i], tuple(found[i])) for i in order]


def check_dimensions(chunks: Sequence[ChunkIn], dimensions: int, source: str) -> None:
    """Refuse a chunk whose embedding is not ``dimensions`` long."""
    for c in chunks:
        if len(c.embedding) != dimensions:
            raise VectorStoreError(
                f"chunk {c.ord} of {source!r} has {len(c.embedding)} dimensions, expected "
                f"{dimensions}"
            )


def query_vector(embedding: Sequence[float] | np.ndarray, dimensions: int) -> np.ndarray:
    """``embedding`` as a float32 vector, checked to be ``dimensions`` long."""
    vec = np.asarray(embedding, dtype=np.float32)
    if vec.shape != (dimensions,):
        raise VectorStoreError(f"query has shape {vec.shape}, expected ({dimensions},)")
    return vec
