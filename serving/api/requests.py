"""Request bodies of the OpenAI-compatible API.

Unknown fields are refused with a 400 naming them (``unknown_parameter``), as OpenAI does, so
a client never believes a setting took effect when it did not. OpenAI parameters that change
the answer but that only some backends honour (``tools``, ``response_format``, ``seed``,
penalties; :data:`serving.config.PASSTHROUGH_OPTIONS`) are accepted here and checked against
the chosen model's backends; parameters no backend here supports (``logprobs``, ``audio``,
``n`` > 1, ...) are refused unless they carry their no-op value. Metadata that does not
change the answer (``user``, ``metadata``, ``store``, ``service_tier``, ...) is accepted
and ignored.

Extensions are namespaced: ``retrieval`` and ``cache`` on chat requests.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from serving.api.errors import ApiError
from serving.config import PASSTHROUGH_OPTIONS

#: Values of pass-through options that mean "not used".
_NO_OP: dict[str, Any] = {
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logit_bias": {},
    "tools": [],
    "response_format": {"type": "text"},
}

#: OpenAI chat parameters no backend here supports, with the value that means "not used"
#: (a request carrying exactly that value is accepted).
UNSUPPORTED_CHAT: dict[str, Any] = {
    "logprobs": False,
    "top_logprobs": None,
    "audio": None,
    "modalities": ["text"],
    "functions": None,
    "function_call": None,
    "web_search_options": None,
}


#: Documents one ``POST /v1/documents`` may carry.
MAX_DOCUMENTS_PER_REQUEST = 1000


class _Req(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContentPart(_Req):
    """One part of a multi-part message; only text parts are supported."""

    type: Literal["text"]
    text: str


class ChatMessage(_Req):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None

    @property
    def text(self) -> str:
        """The message content as plain text."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)

    def to_message(self) -> dict[str, Any]:
        """The message as backends take it (text content; tool fields when present)."""
        out: dict[str, Any] = {"role": self.role, "content": self.text}
        if self.name:
            out["name"] = self.name
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        return out


class RetrievalOptions(_Req):
    """Retrieval-augmented generation options (extension)."""

    enabled: bool = True
    top_k: int | None = Field(default=None, ge=1, le=50)
    min_score: float | None = Field(default=None, ge=-1, le=1)


class StreamOptions(_Req):
    include_usage: bool = False


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
    stream_options: StreamOptions | None = None
    n: Literal[1] = 1
    # pass-through options (PASSTHROUGH_OPTIONS): honoured by the backends that support them
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    reasoning_effort: str | None = None
    verbosity: str | None = None
    prediction: dict[str, Any] | None = None
    # unsupported (UNSUPPORTED_CHAT): accepted only with their no-op value
    logprobs: bool | None = None
    top_logprobs: int | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    # metadata that does not change the answer: accepted, ignored
    user: str | None = Field(default=None, max_length=256)
    metadata: dict[str, Any] | None = None
    store: bool | None = None
    service_tier: str | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None
    # extensions
    retrieval: bool | RetrievalOptions = True
    cache: bool = True

    @field_validator("messages")
    @classmethod
    def _has_user(cls, v: list[ChatMessage]) -> list[ChatMessage]:
        if not any(m.role == "user" and m.text.strip() for m in v):
            raise ValueError("at least one non-empty message with role 'user' is required")
        return v

    @field_validator("stream_options")
    @classmethod
    def _with_stream(cls, v: StreamOptions | None, info: ValidationInfo) -> StreamOptions | None:
        if v is not None and not info.data.get("stream"):
            raise ValueError("stream_options is only allowed when stream is true")
        return v

    def refuse_unsupported(self) -> None:
        """Raise a 400 naming the first parameter no backend here supports."""
        for name, no_op in UNSUPPORTED_CHAT.items():
            value = getattr(self, name)
            if value is not None and value != no_op:
                raise ApiError(
                    400,
                    f"'{name}' is not supported by this server; remove it"
                    + (f" or set it to {no_op!r}" if no_op is not None else "")
                    + ".",
                    param=name,
                    code="unsupported_parameter",
                )

    @property
    def options(self) -> dict[str, Any]:
        """The pass-through options this request uses (no-op values left out)."""
        out = {}
        for name in sorted(PASSTHROUGH_OPTIONS):
            value = getattr(self, name)
            if value is not None and value != _NO_OP.get(name, object()):
                out[name] = value
        if "tools" not in out:  # only meaningful with tools
            if out.get("tool_choice") in ("none", "auto"):
                del out["tool_choice"]
            out.pop("parallel_tool_calls", None)
        return out

    @property
    def retrieval_options(self) -> RetrievalOptions:
        if isinstance(self.retrieval, bool):
            return RetrievalOptions(enabled=self.retrieval)
        return self.retrieval

    @property
    def include_usage(self) -> bool:
        """Whether a stream ends with a usage chunk (``stream_options.include_usage``)."""
        return self.stream_options is not None and self.stream_options.include_usage

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
    """``POST /v1/embeddings``. ``input`` is text or a list of texts; token arrays (lists of
    integers, which OpenAI also accepts) are refused: this server's tokenizer is not
    OpenAI's, so the ids would mean other words."""

    input: str | list[str] = Field(...)
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _no_tokens(cls, v: Any) -> Any:
        if isinstance(v, list) and v and all(
            isinstance(x, int) or (isinstance(x, list) and all(isinstance(t, int) for t in x))
            for x in v
        ):
            raise ValueError(
                "token arrays are not supported (this server's tokenizer differs from "
                "OpenAI's); send the text itself"
            )
        return v

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

    documents: list[DocumentIn] = Field(..., min_length=1, max_length=MAX_DOCUMENTS_PER_REQUEST)
