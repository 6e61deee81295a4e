"""The ordered fallback chain: the first backend that answers wins; backends whose circuit
breaker is open are skipped without a call; when all fail, :class:`AllBackendsFailedError`
(answered as 503) lists what was tried."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from serving.llm.base import (
    AllBackendsFailedError,
    Attempt,
    Completion,
    GenerationParams,
    LLMBackend,
    Message,
    Passage,
    StreamDelta,
    StreamEvent,
    UpstreamError,
)


@dataclass(frozen=True)
class ChainResult:
    """A completion and the failed attempts before it (empty when the first backend answered)."""

    completion: Completion
    attempts: list[Attempt]


@dataclass(frozen=True)
class StreamStart:
    """First event of a chain stream: which backend is streaming, after which failures."""

    backend: str
    attempts: list[Attempt]


class FallbackChain:
    """Tries ``backends`` in order."""

    def __init__(self, model: str, backends: Sequence[LLMBackend]) -> None:
        if not backends:
            raise ValueError("a fallback chain needs at least one backend")
        self.model = model
        self.backends = list(backends)

    def count_tokens(self, text: str) -> int:
        """Token count by the first backend's tokenizer."""
        return self.backends[0].count_tokens(text)

    def _skip(self, b: LLMBackend, params: GenerationParams) -> Attempt | None:
        """Why ``b`` is not tried for this request, if it is not."""
        if not b.supports(params):
            missing = ", ".join(sorted(set(params.options) - b.options))
            return Attempt(b.label, "unsupported", f"{b.label}: does not support {missing}")
        if not b.available():
            return Attempt(b.label, "circuit_open", f"{b.label}: circuit breaker open")
        return None

    async def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
    ) -> ChainResult:
        attempts: list[Attempt] = []
        for b in self.backends:
            skip = self._skip(b, params)
            if skip is not None:
                attempts.append(skip)
                continue
            try:
                return ChainResult(await b.generate(messages, params, passages, attempts), attempts)
            except UpstreamError as exc:
                attempts.append(Attempt(b.label, exc.kind, str(exc)))
            except Exception as exc:  # a local backend crashing must not hide the next one
                attempts.append(Attempt(b.label, "error", f"{b.label}: {type(exc).__name__}"))
        raise AllBackendsFailedError(self.model, attempts)

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
    ) -> AsyncIterator[StreamStart | StreamEvent]:
        """``StreamStart``, then the backend's events. Falls back only before the first
        token; a stream that breaks later raises :class:`UpstreamError`."""
        attempts: list[Attempt] = []
        for b in self.backends:
            skip = self._skip(b, params)
            if skip is not None:
                attempts.append(skip)
                continue
            it = b.stream(messages, params, passages, list(attempts)).__aiter__()
            try:
                first = await it.__anext__()
            except StopAsyncIteration:
                attempts.append(Attempt(b.label, "empty_stream", f"{b.label}: empty stream"))
                continue
            except UpstreamError as exc:
                attempts.append(Attempt(b.label, exc.kind, str(exc)))
                continue
            except Exception as exc:
                attempts.append(Attempt(b.label, "error", f"{b.label}: {type(exc).__name__}"))
                continue
            yield StreamStart(b.label, list(attempts))
            yield first
            async for ev in it:
                yield ev
            return
        raise AllBackendsFailedError(self.model, attempts)


__all__ = ["ChainResult", "FallbackChain", "StreamDelta", "StreamStart"]
