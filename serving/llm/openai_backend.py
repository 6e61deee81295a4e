"""Any OpenAI-compatible upstream (hosted APIs, or local servers such as vLLM, llama.cpp or
Ollama): per-attempt timeouts, retries with jittered exponential backoff on retryable
failures (timeouts, connection errors, 429, 5xx), and a circuit breaker that makes a failing
upstream fail fast so the fallback chain moves on at once."""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from serving.config import OpenAIBackend
from serving.llm.base import (
    Attempt,
    BackendConfigError,
    Completion,
    GenerationParams,
    LLMBackend,
    Message,
    Passage,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    UpstreamError,
    estimate_tokens,
    message_text,
)
from serving.resilience import BackoffPolicy, CircuitBreaker


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAICompatibleLLM(LLMBackend):
    """Client of an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(
        self,
        cfg: OpenAIBackend,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.cfg = cfg
        self.label = cfg.label
        self.options = cfg.options
        headers = {"Content-Type": "application/json"}
        if cfg.api_key_env:
            key = os.environ.get(cfg.api_key_env)
            if not key:
                raise BackendConfigError(
                    f"backend {cfg.label}: environment variable {cfg.api_key_env} is not set; "
                    "export the upstream API key there (or unset api_key_env for servers "
                    "without auth)"
                )
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.AsyncClient(
            base_url=cfg.base_url,
            headers=headers,
            timeout=httpx.Timeout(cfg.timeout_s, connect=cfg.connect_timeout_s),
            transport=transport,
        )
        self.backoff = BackoffPolicy(cfg.backoff_base_s, cfg.backoff_max_s)
        self.breaker = CircuitBreaker(cfg.breaker_failure_threshold, cfg.breaker_reset_s)
        self.rng = rng or random.Random()

    def available(self) -> bool:
        return self.breaker.state != "open"

    def describe(self) -> dict[str, Any]:
        return {"backend": self.label, "circuit": str(self.breaker.state)}

    def _body(
        self, messages: Sequence[Message], params: GenerationParams, stream: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.cfg.model,
            "messages": list(messages),
            "max_tokens": min(params.max_tokens or self.cfg.max_tokens, self.cfg.max_tokens),
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        body.update(params.options)  # tools, response_format, seed, ...: the upstream decides
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _classify(self, exc: BaseException) -> UpstreamError:
        if isinstance(exc, UpstreamError):
            return exc
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamError(self.label, "timeout", f"{self.label}: timed out", True)
        if isinstance(exc, httpx.TransportError):
            return UpstreamError(self.label, "connect", f"{self.label}: {type(exc).__name__}", True)
        return UpstreamError(self.label, "error", f"{self.label}: {type(exc).__name__}: {exc}")

    def _check(self, resp: httpx.Response) -> None:
        if resp.status_code < 400:
            return
        s = resp.status_code
        if s == 429:
            raise UpstreamError(
                self.label,
                "http_429",
                f"{self.label}: rate limited (429)",
                True,
                retry_after=_retry_after(resp),
            )
        if s >= 500:
            raise UpstreamError(self.label, "http_5xx", f"{self.label}: upstream error {s}", True)
        raise UpstreamError(
            self.label, "http_4xx", f"{self.label}: upstream refused the request ({s})"
        )

    async def _attempts(self) -> AsyncIterator[int]:
        """Yield attempt numbers, sleeping a jittered backoff between them; stops early when
        the breaker opens."""
        for attempt in range(self.cfg.max_retries + 1):
            if attempt and not self.breaker.allow():
                return
            yield attempt

    async def _sleep_before_retry(self, attempt: int, err: UpstreamError) -> None:
        delay = self.backoff.delay(attempt, self.rng)
        hinted = err.retry_after
        if hinted is not None:
            delay = max(delay, min(hinted, self.cfg.backoff_max_s))
        await asyncio.sleep(delay)

    async def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> Completion:
        if not self.breaker.allow():
            raise UpstreamError(self.label, "circuit_open", f"{self.label}: circuit breaker open")
        last: UpstreamError | None = None
        async for attempt in self._attempts():
            try:
                resp = await self.client.post(
                    "/chat/completions", json=self._body(messages, params, False)
                )
                self._check(resp)
                data = resp.json()
                choice = data["choices"][0]
                text = choice["message"].get("content") or ""
                tool_calls = tuple(choice["message"].get("tool_calls") or ())
                usage = data.get("usage") or {}
                self.breaker.record_success()
                prompt = "\n".join(message_text(m) for m in messages)
                return Completion(
                    text=text,
                    prompt_tokens=int(usage.get("prompt_tokens") or estimate_tokens(prompt)),
                    completion_tokens=int(usage.get("completion_tokens") or estimate_tokens(text)),
                    finish_reason=choice.get("finish_reason") or "stop",
                    backend=self.label,
                    tool_calls=tool_calls,
                )
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                last = UpstreamError(
                    self.label,
                    "bad_response",
                    f"{self.label}: malformed response ({type(exc).__name__})",
                    True,
                )
            except Exception as exc:
                last = self._classify(exc)
            if last.retryable:
                self.breaker.record_failure()
            if not last.retryable or attempt >= self.cfg.max_retries:
                break
            await self._sleep_before_retry(attempt, last)
        assert last is not None
        raise last

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> AsyncIterator[StreamEvent]:
        if not self.breaker.allow():
            raise UpstreamError(self.label, "circuit_open", f"{self.label}: circuit breaker open")
        last: UpstreamError | None = None
        async for attempt in self._attempts():
            started = False
            text = ""
            usage: dict[str, Any] = {}
            finish = "stop"
            try:
                async with self.client.stream(
                    "POST", "/chat/completions", json=self._body(messages, params, True)
                ) as resp:
                    if resp.status_code >= 400:
                        await resp.aread()
                    self._check(resp)
                    async for line in resp.aiter_lines():
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            break
                        event = json.loads(data)
                        if event.get("usage"):
                            usage = event["usage"]
                        for choice in event.get("choices") or []:
                            delta = choice.get("delta") or {}
                            piece = delta.get("content") or ""
                            calls = tuple(delta.get("tool_calls") or ())
                            if choice.get("finish_reason"):
                                finish = choice["finish_reason"]
                            if piece or calls:
                                started = True
                                text += piece
                                yield StreamDelta(piece, calls)
                self.breaker.record_success()
                prompt = "\n".join(message_text(m) for m in messages)
                yield StreamEnd(
                    int(usage.get("prompt_tokens") or estimate_tokens(prompt)),
                    int(usage.get("completion_tokens") or estimate_tokens(text)),
                    finish,
                )
                return
            except Exception as exc:
                last = (
                    self._classify(exc)
                    if not isinstance(exc, ValueError)
                    else UpstreamError(
                        self.label, "bad_response", f"{self.label}: malformed stream", True
                    )
                )
            if last.retryable:
                self.breaker.record_failure()
            if started:
                # tokens already reached the client: no retry or fallback can be seamless
                raise UpstreamError(
                    self.label, "stream_interrupted", f"{self.label}: stream broke off"
                )
            if not last.retryable or attempt >= self.cfg.max_retries:
                break
            await self._sleep_before_retry(attempt, last)
        assert last is not None
        raise last

    async def close(self) -> None:
        await self.client.aclose()
