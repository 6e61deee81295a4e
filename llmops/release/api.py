"""A small timed client of the OpenAI-compatible serving API, for ``llmops smoke`` and
``llmops eval``.

It never raises for what a server does: every call returns a :class:`Reply` with the HTTP
status, the parsed JSON body (when there is one), the time it took and, when no answer
came, the reason in words (``cannot connect to ...``, ``no answer within 30 s``). The
checks decide what is wrong with an answer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.errors import UsageError


def normalize_endpoint(url: str) -> str:
    """``url`` without a trailing ``/`` or ``/v1`` (the checks add the paths)."""
    text = url.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--endpoint must be an http(s) URL such as http://127.0.0.1:8000 (got '{url}')")
    return text[: -len("/v1")] if text.endswith("/v1") else text


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass(frozen=True)
class Reply:
    """What one request got back."""

    path: str
    status: int | None
    body: Any
    """The JSON body; ``None`` when there was none or it was not JSON."""
    text: str
    elapsed_ms: float
    error: str | None = None
    """Why no HTTP answer came (connection refused, timeout)."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def problem(self) -> str | None:
        """Why this reply is not a success, in words (``None`` when it is one)."""
        if self.error is not None:
            return self.error
        if self.status is None or not 200 <= self.status < 300:
            message = ""
            if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
                message = str(self.body["error"].get("message") or "")
            hint = " (check --api-key / LLMOPS_API_KEY)" if self.status in (401, 403) else ""
            return f"HTTP {self.status} from {self.path}: {message or self.text[:200]}{hint}"
        if self.body is None:
            return f"{self.path} answered HTTP {self.status} without a JSON body: {self.text[:120]!r}"
        return None


@dataclass(frozen=True)
class StreamReply:
    """A streamed chat completion: its chunks (parsed ``data:`` events) and timings."""

    reply: Reply
    """Status, timing and transport error of the request (``body`` is ``None``)."""
    chunks: list[Any] = field(default_factory=list)
    done: bool = False
    """Whether the stream ended with ``data: [DONE]``."""
    first_chunk_ms: float | None = None
    bad_lines: list[str] = field(default_factory=list)
    """``data:`` lines that were not JSON."""


class ApiClient:
    """Calls one endpoint with a bearer key; ``transport`` lets tests mount a fake."""

    def __init__(
        self,
        endpoint: str,
        api_key: str | None,
        *,
        timeout_s: float = 30.0,
        feature: str = "smoke",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = normalize_endpoint(endpoint)
        self.timeout_s = timeout_s
        headers = {"X-Llmops-Feature": feature}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            base_url=self.endpoint, headers=headers, timeout=httpx.Timeout(timeout_s), transport=transport
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _failure(self, path: str, exc: httpx.HTTPError, started: float) -> Reply:
        elapsed = (time.perf_counter() - started) * 1000
        if isinstance(exc, httpx.TimeoutException):
            reason = f"no answer from {self.endpoint}{path} within {self.timeout_s:g} s"
        elif isinstance(exc, httpx.ConnectError):
            reason = f"cannot connect to {self.endpoint} ({exc}); is the server running and reachable?"
        else:
            reason = f"{path}: {type(exc).__name__}: {exc}"
        return Reply(path, None, None, "", elapsed, reason)

    def request(self, method: str, path: str, body: Any = None) -> Reply:
        started = time.perf_counter()
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            return self._failure(path, exc, started)
        elapsed = (time.perf_counter() - started) * 1000
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return Reply(path, response.status_code, parsed, response.text, elapsed)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> Reply:
        return self.request("POST", path, body)

    def stream(self, path: str, body: Any) -> StreamReply:
        """POSTs ``body`` and reads the server-sent events until ``[DONE]`` or the end."""
        started = time.perf_counter()
        chunks: list[Any] = []
        bad: list[str] = []
        first: float | None = None
        done = False
        try:
            with self._client.stream("POST", path, json=body) as response:
                if response.status_code >= 300:
                    response.read()
                    try:
                        parsed = response.json()
                    except ValueError:
                        parsed = None
                    elapsed = (time.perf_counter() - started) * 1000
                    return StreamReply(Reply(path, response.status_code, parsed, response.text, elapsed))
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    if first is None:
                        first = (time.perf_counter() - started) * 1000
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    try:
                        chunks.append(json.loads(data))
                    except ValueError:
                        bad.append(data[:120])
                status = response.status_code
        except httpx.HTTPError as exc:
            return StreamReply(self._failure(path, exc, started), chunks, done, first, bad)
        elapsed = (time.perf_counter() - started) * 1000
        return StreamReply(Reply(path, status, None, "", elapsed), chunks, done, first, bad)
