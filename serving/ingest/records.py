"""The typed records the ingest stages pass along (plain frozen dataclasses, picklable, so
they cross process boundaries by value)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from serving.chunking import Chunk

#: Why a document was not ingested. ``rejected`` is the server's refusal (its message says
#: why); the others are decided while reading the file.
SkipCode = Literal["binary", "empty", "not_utf8", "too_large", "unreadable", "rejected"]

#: What storing a document did: ``created``, ``updated`` (new text under a known source),
#: ``unchanged`` (same text, same source) or ``duplicate`` (same text stored under another
#: source; kept once).
StoreStatus = Literal["created", "updated", "unchanged", "duplicate"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under an ingest root. ``source`` is its name in citations: the path
    relative to the root, with ``/`` separators."""

    path: Path
    source: str
    size: int


@dataclass(frozen=True, slots=True)
class Document:
    """A decoded document, ready to chunk."""

    source: str
    text: str
    content_hash: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A source that was not ingested, with a reason that names the fix."""

    source: str
    code: SkipCode
    reason: str


@dataclass(frozen=True, slots=True)
class ChunkedDocument:
    """A document and its chunks (in order)."""

    document: Document
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True, slots=True)
class EmbeddedDocument:
    """A chunked document with one embedding row per chunk."""

    chunked: ChunkedDocument
    vectors: np.ndarray


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """The outcome of storing one document. ``chunks`` is the number of chunks the store
    holds for it (None when the text was already known and nothing was chunked)."""

    source: str
    document_id: int
    status: StoreStatus
    chunks: int | None
    content_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "document_id": self.document_id,
            "status": self.status,
            "chunks": self.chunks,
            "content_hash": self.content_hash,
        }


@dataclass
class IngestSummary:
    """Running totals of one ingest run (what the progress display and ``--json`` show)."""

    files: int = 0
    stored: list[StoredDocument] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_written: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def add_stored(self, result: StoredDocument) -> None:
        self.stored.append(result)
        if result.status in ("created", "updated") and result.chunks:
            self.chunks_written += result.chunks

    def add_skipped(self, skip: Skipped) -> None:
        self.skipped.append(skip)

    @property
    def done(self) -> int:
        """Sources handled so far (stored or skipped)."""
        return len(self.stored) + len(self.skipped)

    @property
    def seconds(self) -> float:
        end = self.finished if self.finished is not None else time.monotonic()
        return max(end - self.started, 1e-9)

    def counts(self) -> dict[str, int]:
        """Sources by outcome (store statuses plus ``skipped``), zero counts omitted."""
        c: Counter[str] = Counter(r.status for r in self.stored)
        if self.skipped:
            c["skipped"] = len(self.skipped)
        return dict(sorted(c.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "counts": self.counts(),
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 3),
            "documents": [r.to_json() for r in self.stored],
            "skipped": [
                {"source": s.source, "code": s.code, "reason": s.reason} for s in self.skipped
            ],
        }
