"""The OpenAI-compatible HTTP API's wire format: request bodies (:mod:`.requests`),
response bodies and SSE framing (:mod:`.responses`) and OpenAI-style errors
(:mod:`.errors`). Pure pydantic; no Ray, no I/O."""

from __future__ import annotations

from serving.api.errors import ApiError, client_path, unknown_parameter, validation_error_to_api
from serving.api.requests import (
    ChatCompletionRequest,
    ChatMessage,
    DocumentIn,
    DocumentsRequest,
    EmbeddingsRequest,
    RetrievalOptions,
)

__all__ = [
    "ApiError",
    "ChatCompletionRequest",
    "ChatMessage",
    "DocumentIn",
    "DocumentsRequest",
    "EmbeddingsRequest",
    "RetrievalOptions",
    "client_path",
    "unknown_parameter",
    "validation_error_to_api",
]
