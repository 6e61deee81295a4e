"""Splitting documents into overlapping chunks for retrieval, and the content hash that makes
ingestion idempotent. Pure functions; no heavy dependencies."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_PARA_SPLIT = re.compile(r"\n\s*\n")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of a document: its position, text and character offset in the source."""

    index: int
    text: str
    start: int


def content_hash(text: str) -> str:
    """SHA-256 of the document text with line endings normalised (``\\r\\n`` -> ``\\n``) and
    trailing whitespace removed, so the same content always maps to the same hash."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _pieces(text: str, size: int) -> list[tuple[int, str]]:
    """Split into paragraphs, then sentences, then hard slices, so no piece exceeds ``size``;
    each piece keeps its offset in ``text``."""
    out: list[tuple[int, str]] = []
    pos = 0
    for para in _PARA_SPLIT.split(text):
        start = text.find(para, pos)
        pos = start + len(para)
        if not para.strip():
            continue
        if len(para) <= size:
            out.append((start, para))
            continue
        spos = 0
        for sent in _SENTENCE_SPLIT.split(para):
            s_start = para.find(sent, spos)
            spos = s_start + len(sent)
            for i in range(0, len(sent), size):
                out.append((start + s_start + i, sent[i : i + size]))
    return out


def chunk_text(text: str, size: int = 1000, overlap: int = 150) -> list[Chunk]:
    """Chunk ``text`` into pieces of at most ``size`` characters that follow paragraph and
    sentence boundaries where possible. Each chunk after the first starts with up to
    ``overlap`` characters from the end of the previous one (cut at a word boundary), so a
    passage split across chunks keeps its context. Whitespace-only input gives no chunks.
    ``Chunk.start`` is the offset of the chunk's first new (non-overlap) character."""
    if size <= 0:
        raise ValueError("size must be positive")
    if not 0 <= overlap < size:
        raise ValueError("overlap must be >= 0 and smaller than size")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    chunks: list[Chunk] = []
    prefix = ""  # overlap carried from the previous chunk
    parts: list[str] = []
    first_start = 0

    def body() -> str:
        return (prefix + "\n\n".join(parts)).strip() if parts else ""

    for start, piece in _pieces(text, size):
        joined = len(prefix) + sum(len(p) + 2 for p in parts) + len(piece)
        if parts and joined > size:
            done = body()
            chunks.append(Chunk(index=len(chunks), text=done, start=first_start))
            prefix = _tail(done, overlap)
            if len(prefix) + len(piece) > size:
                prefix = ""
            parts = []
        if not parts:
            first_start = start
        parts.append(piece)
    if parts and body():
        chunks.append(Chunk(index=len(chunks), text=body(), start=first_start))
    return chunks


def _tail(text: str, overlap: int) -> str:
    """The last ``overlap`` characters of ``text``, starting at a word boundary, plus a
    separator; empty when ``overlap`` is 0."""
    if overlap <= 0:
        return ""
    tail = text[-overlap:]
    cut = tail.find(" ")
    if 0 <= cut < len(tail) - 1 and len(text) > overlap:
        tail = tail[cut + 1 :]
    tail = tail.strip()
    return f"{tail}\n\n" if tail else ""


def title_of(text: str, fallback: str) -> str:
    """The first Markdown heading of ``text``, else ``fallback``."""
    for line in text.splitlines():
        m = re.match(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
        if m:
            return m.group(1)[:200]
    return fallback
