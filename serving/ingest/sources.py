"""Finding and decoding source files, in a folder or under an S3 prefix. A file that cannot
be ingested becomes a :class:`~serving.ingest.records.Skipped` record with the reason and the
fix; it never stops the run.

Listing streams: :meth:`Location.list` yields one shard of the files (by a hash of their
source name), so the ingest pipeline lists in parallel tasks and no process ever holds the
whole listing, however large the corpus."""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.ingest.records import Document, Skipped, SourceFile
from serving.ingest.stages import make_document

#: File types ``llmops ingest`` reads.
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".rst")

#: Bytes looked at for NUL bytes before decoding (binary files have them early).
_SNIFF_BYTES = 8192

_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")


class SourceError(ValueError):
    """The ingest root cannot be read (the message names the path and the fix)."""


def _wanted(name: str, suffixes: tuple[str, ...]) -> bool:
    return os.path.splitext(name)[1].lower() in suffixes


def in_shard(source: str, shard: int, shards: int) -> bool:
    """Whether ``source`` belongs to ``shard`` of ``shards`` (a stable hash of the name)."""
    return shards <= 1 or zlib.crc32(source.encode()) % shards == shard


@dataclass(frozen=True)
class Location:
    """Where documents are read from: a local folder (or one file), or an S3 prefix
    (``s3://bucket/prefix/``). ``endpoint_url`` points the S3 client elsewhere (tests)."""

    kind: str
    root: str
    prefix: str = ""
    endpoint_url: str | None = None
    suffixes: tuple[str, ...] = TEXT_SUFFIXES

    @classmethod
    def parse(cls, text: str, endpoint_url: str | None = None) -> Location:
        """``s3://bucket/prefix`` or a path (made absolute)."""
        if text.startswith("s3://"):
            m = _S3_URI.match(text)
            if m is None:
                raise SourceError(
                    f"{text!r} is not an S3 location: write s3://bucket/prefix/ (a bucket name, "
                    "then an optional key prefix)"
                )
            return cls("s3", m.group(1), m.group(2) or "", endpoint_url)
        path = Path(text).expanduser().resolve()
        if not path.exists():
            raise SourceError(
                f"{path} does not exist: pass a folder of Markdown/text files, a file, or an "
                "S3 location (s3://bucket/prefix/)"
            )
        return cls("dir", str(path))

    def __str__(self) -> str:
        return f"s3://{self.root}/{self.prefix}" if self.kind == "s3" else self.root

    def s3_client(self) -> Any:
        """A boto3 S3 client (credentials from the environment or the pod's role)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url)

    def list(self, shard: int = 0, shards: int = 1, client: Any = None) -> Iterator[SourceFile]:
        """The files of ``shard`` (of ``shards``), streamed; hidden files and folders and
        other file types are left out."""
        if self.kind == "s3":
            yield from self._list_s3(shard, shards, client or self.s3_client())
            return
        root = Path(self.root)
        if root.is_file():
            if shard == 0:
                yield _local(root, root.name)
            return
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or not _wanted(name, self.suffixes):
                    continue
                path = Path(dirpath) / name
                source = path.relative_to(root).as_posix()
                if in_shard(source, shard, shards) and path.is_file():
                    yield _local(path, source)

    def _list_s3(self, shard: int, shards: int, client: Any) -> Iterator[SourceFile]:
        prefix = self.prefix
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.root, Prefix=prefix)
        try:
            for page in pages:
                for obj in page.get("Contents", ()):
                    key = str(obj["Key"])
                    rel = key[len(prefix) :].lstrip("/") if prefix else key
                    if not rel or key.endswith("/") or not _wanted(rel, self.suffixes):
                        continue
                    if any(part.startswith(".") for part in rel.split("/")):
                        continue
                    if in_shard(rel, shard, shards):
                        etag = str(obj.get("ETag", "")).strip('"')
                        yield SourceFile(
                            rel,
                            f"s3://{self.root}/{key}",
                            int(obj["Size"]),
                            f"etag:{etag}:{obj['Size']}",
                        )
        except Exception as exc:
            if type(exc).__name__ in (
                "ClientError",
                "NoCredentialsError",
                "EndpointConnectionError",
            ):
                raise SourceError(
                    f"cannot list {self} ({type(exc).__name__}: {exc}); check the bucket name and "
                    "that the credentials may s3:ListBucket on it"
                ) from None
            raise

    def loader(self, client: Any = None) -> Callable[[SourceFile], bytes]:
        """Reads a listed file's bytes (from disk, or S3 ``GetObject``)."""
        if self.kind != "s3":
            return lambda f: Path(f.uri).read_bytes()
        s3 = client or self.s3_client()

        def load(f: SourceFile) -> bytes:
            bucket, _, key = f.uri.removeprefix("s3://").partition("/")
            body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return body

        return load


def _local(path: Path, source: str) -> SourceFile:
    st = path.stat()
    return SourceFile(source, str(path), st.st_size, f"file:{st.st_size}:{st.st_mtime_ns}")


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def read_document(
    file: SourceFile, max_chars: int, load: Callable[[SourceFile], bytes] | None = None
) -> Document | Skipped:
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
        raw = (load or (lambda f: Path(f.uri).read_bytes()))(file)
    except OSError as exc:
        return Skipped(file.source, "unreadable", f"cannot read the file: {exc.strerror}")
    except Exception as exc:  # an S3 error for this one object (gone, denied)
        return Skipped(
            file.source, "unreadable", f"cannot read the object: {type(exc).__name__}: {exc}"
        )
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
