"""``POST /v1/documents`` on the ingress: the ingest stages run against the vector store
and the Embedder deployment. A request is all-or-nothing per document: each document is
stored in one transaction, and a failure stops the request naming what was stored."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from serving.api.errors import ApiError
from serving.api.requests import DocumentIn, DocumentsRequest
from serving.api.responses import DocumentResult, DocumentsResponse
from serving.config import RAGConfig
from serving.ingest.records import ChunkedDocument, StoredDocument
from serving.ingest.stages import (
    DocumentSink,
    attach_vectors,
    chunk_document,
    chunk_texts,
    make_document,
    store_document,
)
from serving.metrics import ServingMetrics

log = logging.getLogger("ray.serve")


class Embeddings(Protocol):
    async def embed(self, texts: list[str]) -> np.ndarray: ...


class IngestStore(DocumentSink, Protocol):
    def find_by_hash(self, content_hash: str) -> tuple[int, str] | None: ...


def check_documents(docs: Sequence[DocumentIn], rag: RAGConfig) -> None:
    """Refuse a request with an oversized document or a source named twice (413/400
    naming ``documents.<i>``)."""
    seen: set[str] = set()
    for i, d in enumerate(docs):
        if len(d.text) > rag.max_document_chars:
            raise ApiError(
                413,
                f"'documents.{i}.text': document '{d.source}' has {len(d.text)} characters; "
                f"the maximum is {rag.max_document_chars}. Split it into smaller documents.",
                param=f"documents.{i}.text",
                code="document_too_large",
            )
        if d.source in seen:
            raise ApiError(
                400,
                f"'documents.{i}.source': source '{d.source}' appears twice in one request.",
                param=f"documents.{i}.source",
                code="duplicate_source",
            )
        seen.add(d.source)


class DocumentIngestor:
    """Chunks, embeds and stores the documents of one request."""

    def __init__(
        self, store: IngestStore, embedder: Embeddings, rag: RAGConfig, metrics: ServingMetrics
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.rag = rag
        self.metrics = metrics

    async def ingest(self, req: DocumentsRequest) -> DocumentsResponse:
        check_documents(req.documents, self.rag)
        # Skip embedding for content already stored; embed the rest concurrently (the
        # embedder batches them) while earlier documents are written.
        results: dict[int, StoredDocument] = {}
        pending: list[tuple[int, ChunkedDocument, asyncio.Task[np.ndarray]]] = []
        for i, d in enumerate(req.documents):
            doc = make_document(d.source, d.text, d.title, d.metadata)
            known = await asyncio.to_thread(self.store.find_by_hash, doc.content_hash)
            if known is not None:
                results[i] = StoredDocument(
                    d.source,
                    known[0],
                    "unchanged" if known[1] == d.source else "duplicate",
                    None,
                    doc.content_hash,
                )
                continue
            chunked = chunk_document(doc, self.rag.chunk_size_chars, self.rag.chunk_overlap_chars)
            task = asyncio.ensure_future(self.embedder.embed(chunk_texts([chunked])))
            pending.append((i, chunked, task))
        written = 0
        for n, (i, chunked, task) in enumerate(pending):
            try:
                vectors = await task
                (embedded,) = attach_vectors([chunked], vectors)
                stored = await asyncio.to_thread(store_document, self.store, embedded)
            except Exception as exc:
                for _, _, later in pending[n + 1 :]:
                    later.cancel()
                done = [results[j].source for j in sorted(results)]
                source = chunked.document.source
                log.error("ingest of %r failed: %s", source, type(exc).__name__)
                raise ApiError(
                    503,
                    f"Ingest failed at document '{source}' ({type(exc).__name__}); it was not "
                    f"stored (no partial document). Already stored: {done or 'none'}. "
                    "Retrying the request is safe: ingestion is idempotent.",
                    param=f"documents.{i}",
                    code="ingest_failed",
                ) from None
            if stored.status in ("created", "updated") and stored.chunks:
                written += stored.chunks
            results[i] = stored
        data = [results[i] for i in range(len(req.documents))]
        for r in data:
            self.metrics.documents_ingested.labels(status=r.status).inc()
        self.metrics.chunks_ingested.inc(written)
        return DocumentsResponse(
            data=[DocumentResult.model_validate(r.to_json()) for r in data], chunks_written=written
        )
