"""What the ingress and the model deployments send each other through deployment handles:
frozen dataclasses, pickled by value, so both sides agree on one typed shape (no dicts whose
keys each side spells on its own).

- Embedder: ``embed(texts) -> np.ndarray``, ``embed_with_usage(texts) -> Embedded``.
- LLM server: ``generate(GenerationRequest) -> Generated | Unavailable``;
  ``stream(GenerationRequest)`` yields ``StreamOpened``, ``TextDelta``..., ``StreamClosed``,
  or a single ``Unavailable`` when no backend could start, or ``StreamBroken`` after a start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serving.llm.base import Attempt, GenerationParams, Message, Passage


@dataclass(frozen=True)
class Embedded:
    """Embeddings (one unit-length float32 row per text) and the tokens they consumed."""

    vectors: np.ndarray
    tokens: int


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: the prompt messages, sampling parameters and the retrieved
    passages (which the extractive backend answers from)."""

    messages: tuple[Message, ...]
    params: GenerationParams = field(default_factory=GenerationParams)
    passages: tuple[Passage, ...] = ()


@dataclass(frozen=True)
class Generated:
    """A finished completion. ``attempts`` lists the backends that failed before
    ``backend`` answered (empty when the first one did)."""

    model: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    backend: str
    extractive: bool
    cost_usd: float
    attempts: tuple[Attempt, ...] = ()
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Unavailable:
    """Every backend of the model failed (answered as 503)."""

    model: str
    message: str
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class StreamOpened:
    """First event of a stream: which backend streams, after which failed attempts."""

    backend: str
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer (text, or tool-call fragments from an upstream)."""

    text: str = ""
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class StreamClosed:
    """Last event of a complete stream, with usage and cost."""

    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    extractive: bool
    cost_usd: float


@dataclass(frozen=True)
class StreamBroken:
    """The backend failed after text reached the client; nothing can be retried."""

    message: str


StreamEvent = StreamOpened | TextDelta | StreamClosed | StreamBroken | Unavailable
GenerationOutcome = Generated | Unavailable
