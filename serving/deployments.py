"""Model deployments: one class per model, each loading its model in ``__init__``.

- :class:`Embedder`: sentence-transformers with dynamic batching (``@serve.batch``): calls
  arriving within ``batch_wait_timeout_s`` are merged into one forward pass.
- :class:`LLMServer`: one public model, served by an ordered fallback chain of backends.

Requests and results cross the Ray boundary as the typed records of
:mod:`serving.protocol`; a chain that fails as a whole answers :class:`Unavailable` (a
value, not an exception) so the ingress can answer a precise 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from ray import serve

from serving.config import EMBEDDER_DEPLOYMENT, EmbeddingsConfig, ModelConfig, Pricing
from serving.embeddings import count_tokens, encode, load_embedding_model
from serving.llm.base import AllBackendsFailedError, StreamDelta, StreamEnd, UpstreamError
from serving.llm.chain import FallbackChain, StreamStart
from serving.llm.factory import create_backend
from serving.loopback import bind_replica_servers_locally
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

log = logging.getLogger("ray.serve")


@serve.deployment(name=EMBEDDER_DEPLOYMENT)
class Embedder:
    """Sentence-transformers embeddings with dynamic batching."""

    def __init__(self, config: dict[str, Any]) -> None:
        bind_replica_servers_locally()
        self.cfg = EmbeddingsConfig.model_validate(config)
        self.model = load_embedding_model(self.cfg)
        batcher: Any = self._embed_batch
        batcher.set_max_batch_size(self.cfg.max_batch_size)
        batcher.set_batch_wait_timeout_s(self.cfg.batch_wait_timeout_s)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return encode(self.model, texts, self.cfg.encode_batch_size, self.cfg.normalize)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)
    async def _embed_batch(self, requests: list[list[str]]) -> list[np.ndarray]:
        flat = [t for texts in requests for t in texts]
        # encode in a thread so the next batch can gather while this one runs
        vecs = await asyncio.to_thread(self._encode, flat)
        out: list[np.ndarray] = []
        i = 0
        for texts in requests:
            out.append(vecs[i : i + len(texts)])
            i += len(texts)
        return out

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.cfg.dimensions), dtype=np.float32)
        result: np.ndarray = await self._embed_batch(list(texts))
        return result

    async def embed_with_usage(self, texts: list[str]) -> Embedded:
        """Embeddings plus the number of tokens they consumed."""
        vecs = await self.embed(texts)
        return Embedded(vecs, count_tokens(self.model, list(texts)))


def _unavailable(model: str, exc: AllBackendsFailedError) -> Unavailable:
    return Unavailable(model, str(exc), tuple(exc.attempts))


@serve.deployment
class LLMServer:
    """One model behind an ordered fallback chain of backends (vLLM, transformers, OpenAI-
    compatible upstreams, extractive)."""

    def __init__(self, model: dict[str, Any]) -> None:
        bind_replica_servers_locally()
        self.cfg = ModelConfig.model_validate(model)
        backends = [create_backend(b) for b in self.cfg.backends]
        self.chain = FallbackChain(self.cfg.name, backends)
        self.pricing = self.cfg.pricing

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Live settings: ``pricing``."""
        if "pricing" in user_config:
            self.pricing = Pricing.model_validate(user_config["pricing"])

    def _cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return self.pricing.cost(prompt_tokens, completion_tokens)

    async def generate(self, request: GenerationRequest) -> GenerationOutcome:
        """A full completion, or :class:`Unavailable` when every backend failed."""
        try:
            res = await self.chain.generate(request.messages, request.params, request.passages)
        except AllBackendsFailedError as exc:
            log.warning("model %s unavailable: %s", self.cfg.name, exc)
            return _unavailable(self.cfg.name, exc)
        c = res.completion
        return Generated(
            model=self.cfg.name,
            text=c.text,
            prompt_tokens=c.prompt_tokens,
            completion_tokens=c.completion_tokens,
            finish_reason=c.finish_reason,
            backend=c.backend,
            extractive=c.extractive,
            cost_usd=self._cost(c.prompt_tokens, c.completion_tokens),
            attempts=tuple(res.attempts),
            tool_calls=c.tool_calls,
        )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamEvent]:
        """:class:`StreamOpened`, :class:`TextDelta`..., then :class:`StreamClosed`; or one
        :class:`Unavailable` when no backend could start; :class:`StreamBroken` when the
        backend fails after its first token."""
        try:
            async for ev in self.chain.stream(request.messages, request.params, request.passages):
                if isinstance(ev, StreamStart):
                    yield StreamOpened(ev.backend, tuple(ev.attempts))
                elif isinstance(ev, StreamDelta):
                    yield TextDelta(ev.text, ev.tool_calls)
                elif isinstance(ev, StreamEnd):
                    yield StreamClosed(
                        ev.prompt_tokens,
                        ev.completion_tokens,
                        ev.finish_reason,
                        ev.extractive,
                        self._cost(ev.prompt_tokens, ev.completion_tokens),
                    )
        except AllBackendsFailedError as exc:
            yield _unavailable(self.cfg.name, exc)
        except UpstreamError as exc:
            yield StreamBroken(str(exc))

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by the primary backend's tokenizer."""
        return self.chain.count_tokens(text)
