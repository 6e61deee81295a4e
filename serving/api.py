"""Request and response models of the OpenAI-compatible HTTP API, and OpenAI-style errors.

Requests accept (and ignore) OpenAI fields this server does not use, so stock OpenAI clients
work. Extensions are namespaced: ``retrieval`` and ``cache`` on chat requests; ``citations``
and ``llmops`` (backend, cache result, cost, fallbacks) on chat responses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class ApiError(Exception):
    """An error answered as ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_ or _default_type(status)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def _default_type(status: int) -> str:
    if status in (401, 403):
        return "authentication_error" if status == 401 else "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error" if status != 503 else "service_unavailable"
    return "invalid_request_error"


def validation_error_to_api(exc: ValidationError) -> ApiError:
    """The first validation problem as a 400 naming the field path (``messages.0.role``)."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    param = ".".join(loc) or None
    if err["type"] == "missing":
        code = "missing_field"
        message = f"Missing required field '{param}'."
    else:
        code = "invalid_value"
        message = f"Invalid value for '{param}': {err['msg'].removeprefix('Value error, ')}."
    return ApiError(400, message, param=param, code=code)


class _Req(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ContentPart(_Req):
    """One part of a multi-part message; only text parts are supported."""

    type: Literal["text"]
    text: str


class ChatMessage(_Req):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        """The message content as plain text."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class RetrievalOptions(_Req):
    """Retrieval-augmented generation options (extension)."""

    enabled: bool = True
    top_k: int | None = Field(default=None, ge=1, le=50)
    min_score: float | None = Field(default=None, ge=-1, le=1)


class ChatCompletionRequest(_Req):
    """``POST /v1/chat/completions``."""

    model: str | None = None
    messages: list[ChatMessage] = Field(..., min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32768)
    temperature: float = Field(default=0.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    stream: bool = False
    n: Literal[1] = 1
    user: str | None = Field(default=None, max_length=256)
    retrieval: bool | RetrievalOptions = True
    cache: bool = True

    @field_validator("messages")
    @classmethod
    def _has_user(cls, v: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" and m.text.strip() for m in v):
            raise ValueError("at least one non-empty message with role 'user' is required")
        return v

    @property
    def retrieval_options(self) -> RetrievalOptions:
        if isinstance(self.retrieval, bool):
            return RetrievalOptions(enabled=self.retrieval)
        return self.retrieval

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def question(self) -> str:
        """The last user message."""
        return next(m.text for m in reversed(self.messages) if m.role == "user")

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class EmbeddingsRequest(_Req):
    """``POST /v1/embeddings``."""

    input: str | list[str] = Field(...)
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _non_empty(cls, v: str | list[str]) -> str | list[str]:
        items = [v] if isinstance(v, str) else v
        if not items:
            raise ValueError("input must be a string or a non-empty list of strings")
        if any(not s.strip() for s in items):
            raise ValueError("input must not contain empty strings")
        return v

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class DocumentIn(_Req):
    """One document to ingest. ``source`` identifies it (e.g. a file name) in citations."""

    source: str = Field(..., min_length=1, max_length=1024)
    text: str = Field(..., min_length=1)
    title: str | None = Field(default=None, max_length=512)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text is empty or whitespace only")
        if "\x00" in v:
            raise ValueError("text contains NUL characters; strip them (binary file?)")
        return v


class DocumentsRequest(_Req):
    """``POST /v1/documents``."""

    documents: list[DocumentIn] = Field(..., min_length=1, max_length=1000)
