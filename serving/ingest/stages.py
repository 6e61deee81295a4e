"""The transforming stages: make, chunk, attach vectors, store. Pure functions of their
inputs, except :func:`store_document`, whose one effect is the store's own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from serving.chunking import chunk_text, content_hash, title_of
from serving.ingest.records import ChunkedDocument, Document, EmbeddedDocument, StoredDocument

if TYPE_CHECKING:  # the store needs psycopg; the client-side stages do not
    from serving.stores.base import ChunkIn, UpsertResult


class DocumentSink(Protocol):
    """Where documents go (:class:`serving.vectorstore.PgVectorStore`)."""

    def upsert_document(
        self,
        source: str,
        content_hash: str,
        chunks: Sequence[ChunkIn],
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        chars: int = 0,
    ) -> UpsertResult: ...


def make_document(
    source: str,
    text: str,
    title: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Document:
    """A document with its content hash and title (the first Markdown heading, else the
    source name, unless given)."""
    return Document(
        source=source,
        text=text,
        content_hash=content_hash(text),
        title=title or title_of(text, source),
        metadata=dict(metadata or {}),
    )


def chunk_document(doc: Document, size: int, overlap: int) -> ChunkedDocument:
    """Split the document into overlapping chunks (see :func:`serving.chunking.chunk_text`)."""
    return ChunkedDocument(doc, tuple(chunk_text(doc.text, size, overlap)))


def chunk_texts(docs: Sequence[ChunkedDocument]) -> list[str]:
    """The texts to embed for ``docs``, in order (one per chunk)."""
    return [c.text for d in docs for c in d.chunks]


def attach_vectors(docs: Sequence[ChunkedDocument], vectors: np.ndarray) -> list[EmbeddedDocument]:
    """Give each document its rows of ``vectors`` (one row per chunk, in
    :func:`chunk_texts` order)."""
    total = sum(len(d.chunks) for d in docs)
    if len(vectors) != total:
        raise ValueError(f"{len(vectors)} vectors for {total} chunks")
    out = []
    i = 0
    for d in docs:
        out.append(EmbeddedDocument(d, vectors[i : i + len(d.chunks)]))
        i += len(d.chunks)
    return out


def store_document(sink: DocumentSink, doc: EmbeddedDocument) -> StoredDocument:
    """Store one document and its chunks atomically (idempotent by content hash)."""
    from serving.stores.base import ChunkIn

    d = doc.chunked.document
    chunks = [
        ChunkIn(c.index, c.text, v) for c, v in zip(doc.chunked.chunks, doc.vectors, strict=True)
    ]
    up = sink.upsert_document(d.source, d.content_hash, chunks, d.title, d.metadata, len(d.text))
    return StoredDocument(up.source, up.document_id, up.status, up.chunks, up.content_hash)
