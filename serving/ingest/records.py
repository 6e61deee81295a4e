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

#: Why a document was not ingested (decided while reading the file).
SkipCode = Literal["binary", "empty", "not_utf8", "too_large", "unreadable"]

#: Skipped files an :class:`IngestSummary` lists (each is reported as it is found; beyond
#: this many only the count grows, so a corpus of bad files cannot fill the driver's memory).
MAX_SKIPPED_LISTED = 1000

#: What storing a document did: ``created``, ``updated`` (new text under a known source),
#: ``unchanged`` (same text, same source) or ``duplicate`` (same text stored under another
#: source; kept once).
StoreStatus = Literal["created", "updated", "unchanged", "duplicate"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file found under an ingest root (a folder or an S3 prefix). ``source`` is its name
    in citations: the path relative to the root, with ``/`` separators; ``uri`` where it is
    read from (a local path or ``s3://bucket/key``); ``fingerprint`` identifies this version
    of the file (size and modification time, or the S3 ETag), so a re-run skips what it
    already ingested without reading it."""

    source: str
    uri: str
    size: int
    fingerprint: str

    @property
    def path(self) -> Path:
        """The local path (for files on disk)."""
        return Path(self.uri)


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
    """Running totals of one ingest run (what the progress display and ``--json`` show).

    Counts always; the per-document results only with ``keep_documents``, so a run over
    millions of files keeps a summary of constant size. Skipped files are the report: the
    first :data:`MAX_SKIPPED_LISTED` are kept with their reasons, the rest only counted."""

    files: int = 0
    stored: list[StoredDocument] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    skipped_count: int = 0
    chunks_written: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    keep_documents: bool = False
    statuses: Counter[str] = field(default_factory=Counter)

    def add_stored(self, result: StoredDocument) -> None:
        if self.keep_documents:
            self.stored.append(result)
        self.statuses[result.status] += 1
        if result.status in ("created", "updated") and result.chunks:
            self.chunks_written += result.chunks

    def add_skipped(self, skip: Skipped) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append(skip)

    def add(self, item: StoredDocument | Skipped) -> None:
        """Count one finished source."""
        if isinstance(item, Skipped):
            self.add_skipped(item)
        else:
            self.add_stored(item)

    @property
    def done(self) -> int:
        """Sources handled so far (stored or skipped)."""
        return sum(self.statuses.values()) + self.skipped_count

    @property
    def seconds(self) -> float:
        end = self.finished if self.finished is not None else time.monotonic()
        return max(end - self.started, 1e-9)

    def counts(self) -> dict[str, int]:
        """Sources by outcome (store statuses plus ``skipped``), zero counts omitted."""
        c: Counter[str] = Counter({k: v for k, v in self.statuses.items() if v})
        if self.skipped_count:
            c["skipped"] = self.skipped_count
        return dict(sorted(c.items()))

    def to_json(self) -> dict[str, Any]:
        """``files``, ``counts``, ``chunks_written``, ``seconds``, ``skipped`` (each with
        ``source``, ``code``, ``reason``; ``skipped_not_listed`` counts those beyond the
        list), and ``documents`` when they were kept."""
        out: dict[str, Any] = {
            "files": self.files,
            "counts": self.counts(),
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 3),
            "skipped": [
                {"source": s.source, "code": s.code, "reason": s.reason} for s in self.skipped
            ],
        }
        if self.skipped_count > len(self.skipped):
            out["skipped_not_listed"] = self.skipped_count - len(self.skipped)
        if self.keep_documents:
            out["documents"] = [r.to_json() for r in self.stored]
        return out


def describe(item: StoredDocument | Skipped) -> str:
    """One report line for a finished source (``created   a.md  (3 chunks)``)."""
    if isinstance(item, Skipped):
        return f"  skipped   {item.source}  ({item.code}: {item.reason})"
    if item.status == "unchanged":
        note = "already stored"
    elif item.status == "duplicate":
        note = "same text already stored under another name"
    else:
        note = f"{item.chunks} chunks"
    return f"  {item.status:<9} {item.source}  ({note})"
