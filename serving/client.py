"""A small client of the RAG API used by ``llmops ingest``, ``llmops stats`` and
``llmops ask`` (httpx only).

Ingestion runs the client-side stages (:mod:`serving.ingest`: discover, read and decode,
with a reason for every file skipped) and sends documents in batches; a document the server
refuses is skipped with the server's reason and the rest of its batch is sent again, so one
bad file never stops a run.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from serving.ingest.records import Document, IngestSummary, Skipped, SourceFile, StoredDocument
from serving.ingest.sources import TEXT_SUFFIXES, SourceError, discover_files, read_document
from serving.local import DEFAULT_PORT, LocalPaths

__all__ = ["TEXT_SUFFIXES", "ClientError", "IngestLimits", "RagClient", "resolve_key", "resolve_url"]

#: Characters per ``POST /v1/documents`` request (keeps requests and their memory small).
BATCH_CHARS = 2_000_000
#: Documents per request.
BATCH_DOCS = 64

_DOC_PARAM = re.compile(r"^documents\.(\d+)(\..*)?$")


class ClientError(RuntimeError):
    """A request failed; the message names the cause and the fix."""


class HttpError(ClientError):
    """The server answered with an error status (``param`` names the field it blames)."""

    def __init__(self, path: str, status: int, message: str, param: str | None, hint: str = "") -> None:
        super().__init__(f"{path}: HTTP {status}: {message}{hint}")
        self.status = status
        self.message = message
        self.param = param


@dataclass(frozen=True)
class IngestLimits:
    """The server's limits on documents (``GET /v1/documents/stats``)."""

    max_document_chars: int = 2_000_000
    max_documents_per_request: int = 1000
    max_request_bytes: int = 64 * 1024 * 1024


def resolve_url(url: str | None, paths: LocalPaths) -> str:
    """``url``, else ``$LLMOPS_URL``, else the running local server's URL, else localhost."""
    if url:
        return url.rstrip("/")
    if os.environ.get("LLMOPS_URL"):
        return os.environ["LLMOPS_URL"].rstrip("/")
    if paths.server_file.exists():
        try:
            return str(json.loads(paths.server_file.read_text())["url"]).rstrip("/")
        except (ValueError, KeyError):
            pass
    return f"http://127.0.0.1:{DEFAULT_PORT}"


def resolve_key(api_key: str | None, paths: LocalPaths) -> str:
    """``api_key``, else ``$LLMOPS_API_KEY``, else the local key ``llmops serve`` created."""
    if api_key:
        return api_key
    if os.environ.get("LLMOPS_API_KEY"):
        return os.environ["LLMOPS_API_KEY"]
    if paths.local_key_file.exists():
        return paths.local_key_file.read_text(encoding="utf-8").strip()
    raise ClientError(
        f"no API key: start the server once with `llmops serve` (it writes "
        f"{paths.local_key_file}), or pass --api-key / set LLMOPS_API_KEY"
    )


def _discover(path: Path) -> list[SourceFile]:
    try:
        return discover_files(path)
    except SourceError as exc:
        raise ClientError(str(exc)) from None


def _batches(docs: Iterable[Document], limits: IngestLimits) -> Iterator[list[Document]]:
    batch: list[Document] = []
    size = 0
    max_docs = min(BATCH_DOCS, limits.max_documents_per_request)
    max_chars = min(BATCH_CHARS, limits.max_request_bytes // 8)
    for d in docs:
        if batch and (size + len(d.text) > max_chars or len(batch) >= max_docs):
            yield batch
            batch, size = [], 0
        batch.append(d)
        size += len(d.text)
    if batch:
        yield batch


#: Called after each file or batch with the running summary and what just finished.
ProgressHook = Callable[[IngestSummary, list[StoredDocument | Skipped]], None]


@dataclass
class RagClient:
    """Calls the API with a bearer key."""

    url: str
    api_key: str
    timeout_s: float = 300.0

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.api_key}", "X-Llmops-Feature": "cli"},
            timeout=self.timeout_s,
        )

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            with self._client() as c:
                r = c.request(method, path, json=body)
        except httpx.ConnectError:
            raise ClientError(
                f"cannot reach {self.url}: start the server with `llmops serve` or set --url/LLMOPS_URL"
            ) from None
        except httpx.TimeoutException:
            raise ClientError(
                f"{self.url}{path} did not answer within {self.timeout_s:.0f}s"
            ) from None
        try:
            data = r.json()
        except ValueError:
            data = {}
        if r.status_code >= 400:
            err = data.get("error", {}) if isinstance(data, dict) else {}
            msg = err.get("message") or r.text[:300]
            hint = ""
            if r.status_code in (401, 403):
                hint = " (check --api-key / LLMOPS_API_KEY; `llmops serve` writes the local key to ~/.llmops/local.key)"
            raise HttpError(path, r.status_code, str(msg), err.get("param"), hint)
        if not isinstance(data, dict):
            raise ClientError(f"{path}: the server answered {type(data).__name__}, not an object")
        return data

    def stats(self, sources: bool = True) -> dict[str, Any]:
        """What the server's vector store holds (``GET /v1/documents/stats``)."""
        return self._request("GET", f"/v1/documents/stats?sources={str(sources).lower()}")

    def limits(self) -> IngestLimits:
        try:
            raw = self.stats(sources=False).get("limits") or {}
        except HttpError as exc:
            if exc.status == 404:  # a server without the stats route: its defaults
                return IngestLimits()
            raise
        return IngestLimits(**{k: int(v) for k, v in raw.items() if k in IngestLimits.__dataclass_fields__})

    def _send(self, batch: list[Document]) -> list[StoredDocument | Skipped]:
        """Store a batch; a document the server refuses (4xx naming ``documents.<i>``) is
        skipped with the server's reason and the others are sent again."""
        out: list[StoredDocument | Skipped] = []
        rest = list(batch)
        while rest:
            body = {
                "documents": [
                    {"source": d.source, "text": d.text, "title": d.title, "metadata": d.metadata}
                    for d in rest
                ]
            }
            try:
                data = self._request("POST", "/v1/documents", body)
            except HttpError as exc:
                m = _DOC_PARAM.match(exc.param or "")
                if 400 <= exc.status < 500 and m and int(m.group(1)) < len(rest):
                    bad = rest.pop(int(m.group(1)))
                    out.append(Skipped(bad.source, "rejected", f"the server refused it: {exc.message}"))
                    continue
                raise
            out.extend(
                StoredDocument(
                    r["source"], int(r["document_id"]), r["status"], r.get("chunks"), r["content_hash"]
                )
                for r in data["data"]
            )
            break
        return out

    def ingest_files(self, path: Path, on_progress: ProgressHook | None = None) -> IngestSummary:
        """Ingest every Markdown/text file under ``path``: files that cannot be read or that
        the server refuses are skipped with the reason; the rest are stored."""
        files = _discover(path)
        if not files:
            raise ClientError(f"no Markdown/text files ({', '.join(TEXT_SUFFIXES)}) under {path}")
        limits = self.limits()
        summary = IngestSummary(files=len(files))
        hook = on_progress or (lambda _s, _d: None)

        def documents() -> Iterator[Document]:
            for f in files:
                doc = read_document(f, limits.max_document_chars)
                if isinstance(doc, Skipped):
                    summary.add_skipped(doc)
                    hook(summary, [doc])
                else:
                    yield doc

        for batch in _batches(documents(), limits):
            done = self._send(batch)
            for item in done:
                if isinstance(item, Skipped):
                    summary.add_skipped(item)
                else:
                    summary.add_stored(item)
            hook(summary, done)
        summary.finished = time.monotonic()
        return summary

    def ask(
        self,
        question: str,
        model: str | None = None,
        top_k: int | None = None,
        retrieval: bool = True,
    ) -> dict[str, Any]:
        """A chat completion for ``question`` with retrieval."""
        body: dict[str, Any] = {"messages": [{"role": "user", "content": question}]}
        if model:
            body["model"] = model
        if not retrieval:
            body["retrieval"] = False
        elif top_k:
            body["retrieval"] = {"enabled": True, "top_k": top_k}
        return self._request("POST", "/v1/chat/completions", body)

