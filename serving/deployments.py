"""Model deployments: one class per model, each loading its model in ``__init__``.

- :class:`Embedder`: sentence-transformers with dynamic batching (``@serve.batch``): calls
  arriving within ``batch_wait_timeout_s`` are merged into one forward pass.
- :class:`LLMServer`: one public model, served by an ordered fallback chain of backends.

Results cross the Ray boundary as plain dicts/arrays; failures of the whole chain come back
as ``{"error": ...}`` values (not exceptions) so the ingress can answer a precise 503.
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
from serving.llm.base import (
    AllBackendsFailedError,
    Attempt,
    GenerationParams,
    Passage,
    StreamDelta,
    StreamEnd,
    UpstreamError,
)
from serving.llm.chain import FallbackChain, StreamStart
from serving.llm.factory import create_backend

log = logging.getLogger("ray.serve")


@serve.deployment(name=EMBEDDER_DEPLOYMENT)
class Embedder:
    """Sentence-transformers embeddings with dynamic batching."""

    def __init__(self, config: dict[str, Any]) -> None:
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

    async def embed_with_usage(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """Embeddings plus the number of tokens they consumed."""
        vecs = await self.embed(texts)
        return vecs, count_tokens(self.model, list(texts))

    def info(self) -> dict[str, Any]:
        return {
            "model_id": self.cfg.model_id,
            "revision": self.cfg.revision,
            "dimensions": self.cfg.dimensions,
        }


def _attempts_json(attempts: list[Attempt]) -> list[dict[str, str]]:
    return [{"backend": a.backend, "kind": a.kind, "message": a.message} for a in attempts]


def _params(request: dict[str, Any]) -> GenerationParams:
    return GenerationParams(
        max_tokens=request.get("max_tokens"),
        temperature=float(request.get("temperature", 0.0)),
        top_p=float(request.get("top_p", 1.0)),
        stop=tuple(request.get("stop") or ()),
    )


def _passages(request: dict[str, Any]) -> list[Passage]:
    return [Passage(**p) for p in request.get("passages") or []]


@serve.deployment
class LLMServer:
    """One model behind an ordered fallback chain of backends (vLLM, transformers, OpenAI-
    compatible upstreams, extractive). The request is a dict: ``messages``, ``max_tokens``,
    ``temperature``, ``top_p``, ``stop``, ``passages``."""

    def __init__(self, model: dict[str, Any]) -> None:
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

    def _error(self, exc: AllBackendsFailedError) -> dict[str, Any]:
        return {"error": {"message": str(exc), "attempts": _attempts_json(exc.attempts)}}

    async def generate(self, request: dict[str, Any]) -> dict[str, Any]:
        """A full completion, or ``{"error": ...}`` when every backend failed."""
        try:
            res = await self.chain.generate(
                request["messages"], _params(request), _passages(request)
            )
        except AllBackendsFailedError as exc:
            log.warning("model %s unavailable: %s", self.cfg.name, exc)
            return self._error(exc)
        c = res.completion
        return {
            "model": self.cfg.name,
            "text": c.text,
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens,
            "finish_reason": c.finish_reason,
            "backend": c.backend,
            "extractive": c.extractive,
            "attempts": _attempts_json(res.attempts),
            "cost_usd": self._cost(c.prompt_tokens, c.completion_tokens),
        }

    async def stream(self, request: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Events: ``start`` (backend, attempts), ``delta`` (text), then ``end`` (usage,
        cost), or a single ``error`` when no backend could start."""
        try:
            async for ev in self.chain.stream(
                request["messages"], _params(request), _passages(request)
            ):
                if isinstance(ev, StreamStart):
                    yield {
                        "type": "start",
                        "backend": ev.backend,
                        "attempts": _attempts_json(ev.attempts),
                    }
                elif isinstance(ev, StreamDelta):
                    yield {"type": "delta", "text": ev.text}
                elif isinstance(ev, StreamEnd):
                    yield {
                        "type": "end",
                        "prompt_tokens": ev.prompt_tokens,
                        "completion_tokens": ev.completion_tokens,
                        "finish_reason": ev.finish_reason,
                        "extractive": ev.extractive,
                        "cost_usd": self._cost(ev.prompt_tokens, ev.completion_tokens),
                    }
        except AllBackendsFailedError as exc:
            yield {"type": "error", **self._error(exc)}
        except UpstreamError as exc:
            yield {"type": "error", "error": {"message": str(exc), "attempts": []}}

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by the primary backend's tokenizer."""
        return self.chain.count_tokens(text)

    def info(self) -> dict[str, Any]:
        return {"model": self.cfg.name, "backends": [b.describe() for b in self.chain.backends]}
