"""Typed clients of the model deployments, over Serve deployment handles: the one place
where values come back from the Ray boundary, and where their types are checked."""

from __future__ import annotations

from typing import Any

import numpy as np
from ray.serve.handle import DeploymentHandle

from serving.protocol import (
    Embedded,
    Generated,
    GenerationOutcome,
    GenerationRequest,
    StreamBroken,
    StreamClosed,
    StreamEvent,
    StreamOpened,
    TextDelta,
    Unavailable,
)

_STREAM_EVENTS = (StreamOpened, TextDelta, StreamClosed, StreamBroken, Unavailable)


def _expect(value: object, types: tuple[type, ...], what: str) -> Any:
    if not isinstance(value, types):
        raise TypeError(f"{what} returned {type(value).__name__}, expected {types}")
    return value


class EmbedderClient:
    """Calls the ``Embedder`` deployment."""

    def __init__(self, handle: DeploymentHandle[Any]) -> None:
        self._handle = handle

    async def embed(self, texts: list[str]) -> np.ndarray:
        vecs = await self._handle.embed.remote(texts)
        result: np.ndarray = _expect(vecs, (np.ndarray,), "Embedder.embed")
        return result

    async def embed_with_usage(self, texts: list[str]) -> Embedded:
        out = await self._handle.embed_with_usage.remote(texts)
        result: Embedded = _expect(out, (Embedded,), "Embedder.embed_with_usage")
        return result


class EventStream:
    """A model's event stream; ``cancel()`` stops generation on the replica."""

    def __init__(self, generator: Any) -> None:
        self._gen = generator

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> StreamEvent:
        ev = await self._gen.__anext__()
        result: StreamEvent = _expect(ev, _STREAM_EVENTS, "LLMServer.stream")
        return result

    def cancel(self) -> None:
        self._gen.cancel()


class ModelClient:
    """Calls one ``LLMServer`` deployment."""

    def __init__(self, handle: DeploymentHandle[Any]) -> None:
        self._handle = handle

    async def generate(self, request: GenerationRequest) -> GenerationOutcome:
        out = await self._handle.generate.remote(request)
        result: GenerationOutcome = _expect(out, (Generated, Unavailable), "LLMServer.generate")
        return result

    def stream(self, request: GenerationRequest) -> EventStream:
        return EventStream(self._handle.options(stream=True).stream.remote(request))


__all__ = ["EmbedderClient", "EventStream", "ModelClient"]
