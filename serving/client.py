"""A small client of the RAG API used by ``llmops stats`` and ``llmops ask`` (httpx only).

``llmops ingest`` does not go through the API: it runs the ingest pipeline
(:mod:`serving.ingest.pipeline`) on the running server's Ray, into its store."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from serving.local import DEFAULT_PORT, LocalPaths, running_server

__all__ = ["ClientError", "RagClient", "resolve_key", "resolve_url"]


class ClientError(RuntimeError):
    """A request failed; the message names the cause and the fix."""


class HttpError(ClientError):
    """The server answered with an error status (``param`` names the field it blames)."""

    def __init__(
        self, path: str, status: int, message: str, param: str | None, hint: str = ""
    ) -> None:
        super().__init__(f"{path}: HTTP {status}: {message}{hint}")
        self.status = status
        self.message = message
        self.param = param


def resolve_url(url: str | None, paths: LocalPaths) -> str:
    """``url``, else ``$LLMOPS_URL``, else the running local server's URL, else localhost."""
    if url:
        return url.rstrip("/")
    if os.environ.get("LLMOPS_URL"):
        return os.environ["LLMOPS_URL"].rstrip("/")
    server = running_server(paths)
    if server is not None:
        return server.url.rstrip("/")
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

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
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
