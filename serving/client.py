"""A small client of the RAG API used by ``llmops ingest`` and ``llmops ask`` (httpx only)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from serving.local import DEFAULT_PORT, LocalPaths

#: File types ``llmops ingest`` reads.
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".rst")


class ClientError(RuntimeError):
    """A request failed; the message names the cause and the fix."""


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


def find_documents(path: Path) -> list[Path]:
    """Markdown/text files under ``path`` (or ``path`` itself), sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ClientError(f"{path} does not exist: pass a folder of Markdown/text files or a file")
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in TEXT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def _batches(
    files: list[Path], root: Path, max_chars: int = 2_000_000, max_docs: int = 64
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    base = root if root.is_dir() else root.parent
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = f.read_text(encoding="utf-8", errors="replace")
        if not text.strip():
            continue
        doc = {"source": f.relative_to(base).as_posix(), "text": text}
        if batch and (size + len(text) > max_chars or len(batch) >= max_docs):
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += len(text)
    if batch:
        yield batch


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

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            with self._client() as c:
                r = c.post(path, json=body)
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
            raise ClientError(f"{path}: HTTP {r.status_code}: {msg}{hint}")
        return data  # type: ignore[no-any-return]

    def ingest(self, path: Path) -> list[dict[str, Any]]:
        """Ingest every Markdown/text file under ``path``; returns one result per file."""
        files = find_documents(path)
        if not files:
            raise ClientError(f"no Markdown/text files ({', '.join(TEXT_SUFFIXES)}) under {path}")
        results: list[dict[str, Any]] = []
        for batch in _batches(files, path):
            results.extend(self._post("/v1/documents", {"documents": batch})["data"])
        return results

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
        return self._post("/v1/chat/completions", body)
