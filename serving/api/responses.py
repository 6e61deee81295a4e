"""Response bodies of the OpenAI-compatible API, shaped as the OpenAI reference (and the
``openai`` package's types) define them, and Server-Sent Events framing for streams.

Extensions ride in extra top-level keys that OpenAI clients ignore: ``citations`` and
``llmops`` (backend, route, cache result, cost, fallbacks) on chat completions and on the
final chunk of a stream.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from serving.api.errors import ApiError


class _Resp(BaseModel):
    model_config = ConfigDict(frozen=True)


class Usage(_Resp):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt: int, completion: int) -> Usage:
        return cls(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


class Citation(_Resp):
    """A passage given to the model; ``cited`` says whether the answer refers to it,
    ``matched`` which rankings found it (``vector``, ``text``)."""

    index: int
    source: str
    title: str | None
    score: float
    snippet: str
    cited: bool
    matched: list[str]


class LlmopsInfo(_Resp):
    """How the answer was made (extension)."""

    backend: str
    route: str
    extractive: bool
    cache: str
    cost_usd: float
    fallbacks: list[str]
    cache_similarity: float | None = None


class AssistantMessage(_Resp):
    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class Choice(_Resp):
    index: int = 0
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class ChatCompletion(_Resp):
    """``chat.completion``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[Citation] = Field(default_factory=list)
    llmops: LlmopsInfo

    @property
    def text(self) -> str:
        return self.choices[0].message.content or ""

    def to_json(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        for c in out["choices"]:
            if c["message"]["tool_calls"] is None:
                del c["message"]["tool_calls"]
        if out["llmops"]["cache_similarity"] is None:
            del out["llmops"]["cache_similarity"]
        return out


class ChunkDelta(_Resp):
    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChunkChoice(_Resp):
    index: int = 0
    delta: ChunkDelta
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(_Resp):
    """``chat.completion.chunk``. ``usage`` is sent only when the request set
    ``stream_options.include_usage`` (null on every chunk but the last, which has no
    choices)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    citations: list[Citation] | None = None
    llmops: LlmopsInfo | None = None

    def to_json(self, include_usage: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": c.index,
                    "delta": c.delta.model_dump(mode="json", exclude_none=True),
                    "finish_reason": c.finish_reason,
                    "logprobs": None,
                }
                for c in self.choices
            ],
        }
        if include_usage:
            out["usage"] = self.usage.model_dump(mode="json") if self.usage else None
        if self.citations is not None:
            out["citations"] = [c.model_dump(mode="json") for c in self.citations]
        if self.llmops is not None:
            out["llmops"] = self.llmops.model_dump(mode="json", exclude_none=True)
        return out


class EmbeddingItem(_Resp):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(_Resp):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(_Resp):
    """``POST /v1/embeddings`` answer."""

    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: EmbeddingUsage

    @classmethod
    def of(cls, vectors: np.ndarray, model: str, tokens: int, encoding: str) -> EmbeddingList:
        return cls(
            data=[
                EmbeddingItem(index=i, embedding=encode_embedding(v, encoding))
                for i, v in enumerate(vectors)
            ],
            model=model,
            usage=EmbeddingUsage(prompt_tokens=tokens, total_tokens=tokens),
        )


def encode_embedding(vec: np.ndarray, encoding: str) -> list[float] | str:
    """A vector as floats, or as base64 of little-endian float32 (``encoding_format``)."""
    if encoding == "base64":
        return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()
    return [float(x) for x in vec]


class ModelCard(_Resp):
    """A model object of ``GET /v1/models``."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "llmops"


class ModelList(_Resp):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class DocumentResult(_Resp):
    source: str
    document_id: int
    status: str
    chunks: int | None
    content_hash: str


class DocumentsResponse(_Resp):
    """``POST /v1/documents`` answer."""

    object: Literal["list"] = "list"
    data: list[DocumentResult]
    chunks_written: int


class SourceRow(_Resp):
    source: str
    document_id: int
    chunks: int
    chars: int
    title: str | None
    updated_at: str


class IngestLimits(_Resp):
    """Limits a client must respect when sending documents."""

    max_document_chars: int
    max_documents_per_request: int
    max_request_bytes: int


class DocumentStats(_Resp):
    """``GET /v1/documents/stats``: what the vector store holds."""

    object: Literal["llmops.document_stats"] = "llmops.document_stats"
    documents: int
    chunks: int
    sources: list[SourceRow] | None
    limits: IngestLimits


def sse(obj: dict[str, Any]) -> str:
    """One Server-Sent Event carrying ``obj`` as JSON."""
    return f"data: {json.dumps(obj)}\n\n"


SSE_DONE = "data: [DONE]\n\n"


async def sse_events(
    chunks: AsyncIterator[ChatCompletionChunk | ApiError], include_usage: bool
) -> AsyncIterator[str]:
    """A chat stream as Server-Sent Events, ending with ``[DONE]``. The usage chunk (no
    choices) is sent only with ``include_usage``; an error becomes an ``{"error": ...}``
    event (the HTTP status is already sent)."""
    async for item in chunks:
        if isinstance(item, ApiError):
            yield sse(item.body())
            break
        if not item.choices and not include_usage:
            continue
        yield sse(item.to_json(include_usage))
    yield SSE_DONE
