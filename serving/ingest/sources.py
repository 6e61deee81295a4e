"""Finding and decoding source files. A file that cannot be ingested becomes a
:class:`~serving.ingest.records.Skipped` record with the reason and the fix; it never stops
the run."""

from __future__ import annotations

from pathlib import Path

from serving.ingest.records import Document, Skipped, SourceFile
from serving.ingest.stages import make_document

#: File types ``llmops ingest`` reads.
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".rst")

#: Bytes looked at for NUL bytes before decoding (binary files have them early).
_SNIFF_BYTES = 8192


class SourceError(ValueError):
    """The ingest root cannot be read (the message names the path and the fix)."""


def discover_files(root: Path, suffixes: tuple[str, ...] = TEXT_SUFFIXES) -> list[SourceFile]:
    """Files with one of ``suffixes`` under ``root`` (or ``root`` itself when it is a file),
    sorted by source name; hidden files and folders are left out."""
    if root.is_file():
        return [SourceFile(root, root.name, root.stat().st_size)]
    if not root.is_dir():
        raise SourceError(
            f"{root} does not exist: pass a folder of Markdown/text files or a file"
        )
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.suffix.lower() in suffixes and p.is_file():
            out.append(SourceFile(p, rel.as_posix(), p.stat().st_size))
    return sorted(out, key=lambda f: f.source)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def read_document(file: SourceFile, max_chars: int) -> Document | Skipped:
    """Read and decode one file as UTF-8 text, or say why not: too large (checked on the
    size before reading: UTF-8 needs at least one byte per character, at most four),
    binary (NUL bytes), not UTF-8, empty, or unreadable."""
    if file.size > 4 * max_chars:
        return Skipped(
            file.source,
            "too_large",
            f"{_mb(file.size)} is over the limit of {max_chars} characters per document; "
            "split the file into smaller ones",
        )
    try:
        raw = file.path.read_bytes()
    except OSError as exc:
        return Skipped(file.source, "unreadable", f"cannot read the file: {exc.strerror}")
    if b"\x00" in raw[:_SNIFF_BYTES] or b"\x00" in raw:
        return Skipped(
            file.source, "binary", "binary file (contains NUL bytes); only text is ingested"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Skipped(
            file.source,
            "not_utf8",
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); convert it, "
            "e.g. `iconv -f latin1 -t utf-8`",
        )
    if not text.strip():
        return Skipped(file.source, "empty", "the file is empty or whitespace only")
    if len(text) > max_chars:
        return Skipped(
            file.source,
            "too_large",
            f"{len(text)} characters is over the limit of {max_chars} per document; split "
            "the file into smaller ones",
        )
    return make_document(file.source, text)
