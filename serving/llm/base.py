"""The backend interface, its data types and errors."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

#: A chat message as the OpenAI API spells it (``role``, ``content``, and for tool use
#: ``tool_calls`` / ``tool_call_id``).
Message = dict[str, Any]


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters of one request. ``options`` holds the OpenAI parameters only
    some backends honour (``tools``, ``response_format``, ``seed``, penalties, ...; see
    :data:`serving.config.PASSTHROUGH_OPTIONS`); a backend that does not support one of
    them is skipped by the fallback chain."""

    max_tokens: int | None = None
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Passage:
    """A retrieved passage given to the backend (used by the extractive backend; generative
    backends see passages through the prompt)."""

    index: int
    source: str
    text: str
    score: float
    title: str | None = None
    chunk_id: int = 0
    matched: tuple[str, ...] = ("vector",)


@dataclass(frozen=True)
class Completion:
    """A finished generation with its token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    backend: str = ""
    extractive: bool = False
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class StreamDelta:
    """A piece of streamed text (or tool-call fragments relayed from an upstream)."""

    text: str
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class StreamEnd:
    """End of a stream, with the final token counts."""

    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    extractive: bool = False


StreamEvent = StreamDelta | StreamEnd


class UpstreamError(Exception):
    """A backend attempt failed. ``kind`` names the failure for metrics (``timeout``,
    ``connect``, ``http_5xx``, ``http_429``, ``http_4xx``, ``circuit_open``, ``error``);
    ``retryable`` says whether trying the same backend again may help."""

    def __init__(
        self,
        backend: str,
        kind: str,
        message: str,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.backend = backend
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after


class BackendConfigError(RuntimeError):
    """A backend cannot start as configured (message says what to change)."""


@dataclass(frozen=True)
class Attempt:
    """One failed backend attempt inside a fallback chain."""

    backend: str
    kind: str
    message: str


@dataclass
class AllBackendsFailedError(Exception):
    """Every backend of the chain failed or was skipped (answered as 503)."""

    model: str
    attempts: list[Attempt] = field(default_factory=list)

    def __str__(self) -> str:
        tried = "; ".join(f"{a.backend}: {a.kind}" for a in self.attempts) or "no backend"
        return f"model {self.model!r} is unavailable: every backend failed ({tried})"


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (about 4 characters per token) for backends without a local
    tokenizer; upstream-reported usage replaces it when available."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def message_text(message: Message) -> str:
    """The text content of a message ('' for none)."""
    content = message.get("content")
    return content if isinstance(content, str) else ""


def render_plain_prompt(messages: Sequence[Message]) -> str:
    """A role-tagged prompt for models without a chat template."""
    lines = [f"{str(m['role']).capitalize()}: {message_text(m)}" for m in messages]
    lines.append("Assistant:")
    return "\n".join(lines)


def apply_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop sequence; returns (text, stopped)."""
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class LLMBackend(ABC):
    """A way to run one model. Implementations are created inside an LLM deployment replica.

    ``failed`` lists the backends of the chain that failed before this one was asked; only
    the extractive backend uses it (to say that it stands in for an unavailable model)."""

    #: label used in metrics, logs and the ``llmops.backend`` response field
    label: str = "backend"
    #: the :attr:`GenerationParams.options` this backend honours
    options: frozenset[str] = frozenset()

    def supports(self, params: GenerationParams) -> bool:
        """Whether this backend honours every option ``params`` carries."""
        return set(params.options) <= self.options

    @abstractmethod
    async def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> Completion:
        """Generate a full answer."""

    @abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> AsyncIterator[StreamEvent]:
        """Generate incrementally: ``StreamDelta`` events, then one ``StreamEnd``."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` (exact for local models, estimated for remote ones)."""
        return estimate_tokens(text)

    def available(self) -> bool:
        """False while the backend should be skipped (e.g. its circuit breaker is open)."""
        return True

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    def describe(self) -> dict[str, Any]:
        """Public description for health output."""
        return {"backend": self.label}
