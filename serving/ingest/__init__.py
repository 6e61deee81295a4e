"""Document ingestion as a chain of plain stages over typed records::

    Location.list -> read_document -> chunk_document -> attach_vectors -> store_document
      SourceFile     Document | Skipped   ChunkedDocument  EmbeddedDocument  StoredDocument

Each stage is a function of its input record (plus settings), with no hidden state, so the
same stages run in the ingest pipeline on Ray Data (:mod:`serving.ingest.pipeline`, what
``llmops ingest`` and the cluster's ingest jobs run), in the ingress (``POST /v1/documents``)
and in benchmarks. Embedding itself is not a stage function: the caller runs the model (an
actor pool, a Serve handle or a local model) on :func:`chunk_texts` and hands the vectors to
:func:`attach_vectors`.
"""

from __future__ import annotations

from serving.ingest.records import (
    ChunkedDocument,
    Document,
    EmbeddedDocument,
    IngestSummary,
    Skipped,
    SourceFile,
    StoredDocument,
)
from serving.ingest.sources import TEXT_SUFFIXES, Location, read_document
from serving.ingest.stages import (
    attach_vectors,
    chunk_document,
    chunk_texts,
    make_document,
    store_document,
)

__all__ = [
    "TEXT_SUFFIXES",
    "ChunkedDocument",
    "Document",
    "EmbeddedDocument",
    "IngestSummary",
    "Location",
    "Skipped",
    "SourceFile",
    "StoredDocument",
    "attach_vectors",
    "chunk_document",
    "chunk_texts",
    "make_document",
    "read_document",
    "store_document",
]
