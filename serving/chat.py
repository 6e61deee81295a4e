"""The chat pipeline of the RAG ingress: route the request to a model, check what it asks
for against what the model's backends support, embed the question, retrieve passages, look
the answer up in the semantic cache, generate (or stream), and account usage and cost.

It talks to the models through small protocols (:class:`Embeddings`,
:class:`LanguageModel`), which the Serve handles implement (:mod:`serving.handles`) and
tests can fake; it returns typed OpenAI response objects (:mod:`serving.api.responses`),
never raw dicts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from serving.api.errors import ApiError
from serving.api.requests import ChatCompletionRequest
from serving.api.responses import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    ChunkDelta,
    Citation,
    LlmopsInfo,
    Usage,
)
from serving.auth import ApiKey
from serving.cache import SemanticCache, prompt_hash
from serving.config import AppConfig
from serving.llm.base import Attempt, GenerationParams, Message, Passage
from serving.metrics import RequestMeter, ServingMetrics
from serving.protocol import (
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
from serving.rag import build_messages, citations
from serving.retrieval import RetrievalSettings, Retriever
from serving.router import ModelRouter, Route, UnknownModelError


class Embeddings(Protocol):
    async def embed(self, texts: list[str]) -> np.ndarray: ...


class EventSource(Protocol):
    def __aiter__(self) -> EventSource: ...

    async def __anext__(self) -> StreamEvent: ...

    def cancel(self) -> None: ...


class LanguageModel(Protocol):
    async def generate(self, request: GenerationRequest) -> GenerationOutcome: ...

    def stream(self, request: GenerationRequest) -> EventSource: ...


@dataclass(frozen=True)
class ChatSettings:
    """The live (``user_config``) part of the pipeline."""

    router: ModelRouter
    retrieval: RetrievalSettings


@dataclass(frozen=True)
class ChatReply:
    completion: ChatCompletion
    headers: dict[str, str]


@dataclass(frozen=True)
class ChatStream:
    """A streamed answer: chunks (or one in-stream error), in order."""

    chunks: AsyncIterator[ChatCompletionChunk | ApiError]
    include_usage: bool
    headers: dict[str, str]


@dataclass(frozen=True)
class _Prepared:
    """Everything decided before the model is called."""

    route: Route
    request: GenerationRequest
    passages: list[Passage]
    namespace: str
    exact_key: str
    question: str
    vector: np.ndarray | None
    use_cache: bool


def _new_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class _Chunks:
    """Makes the chunks of one stream (same id, creation time and model)."""

    id: str
    created: int
    model: str

    def __call__(
        self,
        delta: ChunkDelta | None,
        finish_reason: str | None = None,
        usage: Usage | None = None,
        citations: list[Citation] | None = None,
        llmops: LlmopsInfo | None = None,
    ) -> ChatCompletionChunk:
        choices = [] if delta is None else [ChunkChoice(delta=delta, finish_reason=finish_reason)]
        return ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=usage,
            citations=citations,
            llmops=llmops,
        )


def _info(
    prep: _Prepared,
    backend: str,
    attempts: tuple[Attempt, ...],
    extractive: bool,
    cache: str,
    cost_usd: float,
) -> LlmopsInfo:
    return LlmopsInfo(
        backend=backend,
        route=prep.route.reason,
        extractive=extractive,
        cache=cache,
        cost_usd=cost_usd,
        fallbacks=[a.backend for a in attempts],
    )


def _citations(passages: list[Passage], text: str) -> list[Citation]:
    return [Citation.model_validate(c) for c in citations(passages, text)]


class ChatPipeline:
    """One instance per ingress replica."""

    def __init__(
        self,
        cfg: AppConfig,
        embedder: Embeddings,
        retriever: Retriever,
        cache: SemanticCache,
        models: Mapping[str, LanguageModel],
        metrics: ServingMetrics,
        settings: ChatSettings,
    ) -> None:
        self.cfg = cfg
        self.embedder = embedder
        self.retriever = retriever
        self.cache = cache
        self.models = models
        self.metrics = metrics
        self.settings = settings

    # ------------------------------------------------------------------ checks

    def _route(self, req: ChatCompletionRequest, key: ApiKey) -> Route:
        try:
            route = self.settings.router.choose(req.model, sticky_key=req.user)
        except UnknownModelError as exc:
            raise ApiError(404, f"{exc}.", param="model", code="model_not_found") from None
        if not key.may_use(route.model):
            raise ApiError(
                403,
                f"Key {key.id!r} may not use model {route.model!r}.",
                param="model",
                code="model_not_allowed",
            )
        return route

    def _check(self, req: ChatCompletionRequest, model: str) -> None:
        req.refuse_unsupported()
        cfg = self.cfg.model(model)
        missing = sorted(set(req.options) - cfg.options)
        if missing:
            kinds = "/".join(b.kind for b in cfg.backends)
            raise ApiError(
                400,
                f"'{missing[0]}' is not supported by model {model!r} (backends: {kinds}); "
                "remove it, or use a model served by an OpenAI-compatible upstream"
                + (" or vLLM" if missing[0] in ("seed", "presence_penalty", "frequency_penalty") else "")
                + ".",
                param=missing[0],
                code="unsupported_parameter",
            )
        total = sum(len(m.text) for m in req.messages)
        if total > self.cfg.rag.max_input_chars:
            raise ApiError(
                400,
                f"'messages' total {total} characters; the maximum is "
                f"{self.cfg.rag.max_input_chars}. Shorten the conversation.",
                param="messages",
                code="context_length_exceeded",
            )

    # ------------------------------------------------------------- preparation

    async def _embed_question(self, question: str) -> np.ndarray:
        t0 = time.perf_counter()
        vecs = await self.embedder.embed([question])
        self.metrics.embedding_latency.labels(purpose="query").observe(time.perf_counter() - t0)
        return np.asarray(vecs[0], dtype=np.float32)

    async def _prepare(self, req: ChatCompletionRequest, route: Route) -> _Prepared:
        opts = req.retrieval_options
        live = self.settings.retrieval
        retrieval = replace(
            live,
            top_k=opts.top_k or live.top_k,
            min_score=live.min_score if opts.min_score is None else opts.min_score,
        )
        messages: list[Message] = [m.to_message() for m in req.messages]
        question = req.question
        use_cache = req.cache and self.cache.enabled
        vector = None
        if opts.enabled or use_cache:
            vector = await self._embed_question(question)
        passages: list[Passage] = []
        if opts.enabled and vector is not None:
            passages = await self.retriever.retrieve(vector, question, retrieval)
        params = GenerationParams(
            max_tokens=req.token_limit,
            temperature=req.temperature,
            top_p=req.top_p,
            stop=tuple(req.stop_list),
            options=req.options,
        )
        # the namespace pins everything the answer depends on but the question: the model,
        # the conversation before it, the parameters and the retrieved context
        history = messages[:-1] if messages[-1]["role"] == "user" else messages
        namespace = prompt_hash(
            {
                "model": route.model,
                "history": history,
                "retrieval": [opts.enabled, retrieval.mode, retrieval.top_k, retrieval.min_score],
                "context": [p.chunk_id for p in passages],
                "params": [params.max_tokens, params.temperature, params.top_p, list(params.stop)],
                "options": params.options,
            }
        )[:24]
        return _Prepared(
            route=route,
            request=GenerationRequest(
                tuple(build_messages(messages, passages, self.cfg.rag.prompts)),
                params,
                tuple(passages),
            ),
            passages=passages,
            namespace=namespace,
            exact_key=prompt_hash({"ns": namespace, "q": question}),
            question=question,
            vector=vector,
            use_cache=use_cache,
        )

    # -------------------------------------------------------------- accounting

    def _record_attempts(self, model: str, attempts: tuple[Attempt, ...], served_by: str | None) -> None:
        for a in attempts:
            self.metrics.upstream_errors.labels(model=model, backend=a.backend, kind=a.kind).inc()
        if attempts and served_by:
            self.metrics.fallbacks.labels(model=model, backend=served_by).inc()

    def _unavailable(self, model: str, out: Unavailable) -> ApiError:
        self._record_attempts(model, out.attempts, None)
        self.metrics.upstream_unavailable.labels(model=model).inc()
        tried = ", ".join(f"{a.backend} ({a.kind})" for a in out.attempts)
        return ApiError(
            503,
            f"Model {model!r} is unavailable: all backends failed"
            + (f" [{tried}]" if tried else "")
            + ". Retry later.",
            code="upstream_unavailable",
            headers={"Retry-After": "5"},
        )

    def _timeout(self, model: str, what: str) -> ApiError:
        self.metrics.upstream_unavailable.labels(model=model).inc()
        return ApiError(
            503,
            f"Model {model!r} did not {what} within {self.cfg.request_timeout_s:.0f}s. Retry later.",
            code="upstream_timeout",
            headers={"Retry-After": "5"},
        )

    # ------------------------------------------------------------------- entry

    async def __call__(
        self, req: ChatCompletionRequest, key: ApiKey, meter: RequestMeter
    ) -> ChatReply | ChatStream:
        route = self._route(req, key)
        meter.model = route.model
        self._check(req, route.model)
        self.metrics.route_decisions.labels(model=route.model, reason=route.reason).inc()
        prep = await self._prepare(req, route)
        cache_status = "off"
        if prep.use_cache:
            hit = await self.cache.lookup(prep.namespace, prep.exact_key, prep.vector, prep.question)
            cache_status = "miss" if self.cache.available else "bypass"
            if hit is not None:
                cached = ChatCompletion.model_validate(
                    {**hit.payload, "id": _new_id(), "created": int(time.time())}
                )
                info = cached.llmops.model_copy(
                    update={
                        "cache": hit.kind,
                        "cache_similarity": round(hit.similarity, 4),
                        "cost_usd": 0.0,
                        "route": route.reason,
                    }
                )
                completion = cached.model_copy(update={"llmops": info})
                headers = {"X-Llmops-Model": route.model, "X-Llmops-Cache": hit.kind}
                if req.stream:
                    return ChatStream(self._replay(completion, meter), req.include_usage, headers)
                return ChatReply(completion, headers)
        model = self.models[route.model]
        if req.stream:
            return await self._stream(model, prep, req.include_usage, meter, cache_status)
        return await self._complete(model, prep, cache_status, meter)

    # ------------------------------------------------------------ non-stream

    async def _complete(
        self, model: LanguageModel, prep: _Prepared, cache_status: str, meter: RequestMeter
    ) -> ChatReply:
        name = prep.route.model
        try:
            out = await asyncio.wait_for(
                model.generate(prep.request), timeout=self.cfg.request_timeout_s
            )
        except TimeoutError:
            raise self._timeout(name, "answer") from None
        if isinstance(out, Unavailable):
            raise self._unavailable(name, out)
        self._record_attempts(name, out.attempts, out.backend)
        self.metrics.account(name, meter, out.prompt_tokens, out.completion_tokens, out.cost_usd)
        completion = self._completion(prep, out, cache_status)
        if cache_status == "miss":
            body = completion.to_json()
            del body["id"], body["created"]
            await self.cache.store(prep.namespace, prep.exact_key, prep.vector, body, prep.question)
        return ChatReply(completion, {"X-Llmops-Model": name, "X-Llmops-Backend": out.backend})

    def _completion(self, prep: _Prepared, out: Generated, cache_status: str) -> ChatCompletion:
        return ChatCompletion(
            id=_new_id(),
            created=int(time.time()),
            model=prep.route.model,
            choices=[
                Choice(
                    message=AssistantMessage(
                        content=out.text if out.text or not out.tool_calls else None,
                        tool_calls=list(out.tool_calls) or None,
                    ),
                    finish_reason=out.finish_reason,
                )
            ],
            usage=Usage.of(out.prompt_tokens, out.completion_tokens),
            citations=_citations(prep.passages, out.text),
            llmops=_info(prep, out.backend, out.attempts, out.extractive, cache_status, out.cost_usd),
        )

    # ---------------------------------------------------------------- streams

    async def _replay(
        self, c: ChatCompletion, meter: RequestMeter
    ) -> AsyncIterator[ChatCompletionChunk | ApiError]:
        """A cached answer as a stream: the text in one chunk, then the finish."""
        meter.deferred = True
        chunk = _Chunks(c.id, c.created, c.model)
        try:
            yield chunk(ChunkDelta(role="assistant", content=c.text))
            yield chunk(
                ChunkDelta(),
                finish_reason=c.choices[0].finish_reason,
                citations=c.citations,
                llmops=c.llmops,
            )
            yield chunk(None, usage=c.usage)
        finally:
            self.metrics.observe(meter, 200)

    async def _stream(
        self,
        model: LanguageModel,
        prep: _Prepared,
        include_usage: bool,
        meter: RequestMeter,
        cache_status: str,
    ) -> ChatStream:
        name = prep.route.model
        events = model.stream(prep.request)
        timeout = self.cfg.request_timeout_s
        try:
            first = await asyncio.wait_for(events.__anext__(), timeout=timeout)
        except (TimeoutError, StopAsyncIteration):
            events.cancel()
            raise self._timeout(name, "start answering") from None
        if isinstance(first, Unavailable):
            raise self._unavailable(name, first)
        if not isinstance(first, StreamOpened):
            events.cancel()
            raise ApiError(502, f"Model {name!r} sent {type(first).__name__} first.", code="bad_stream")
        self._record_attempts(name, first.attempts, first.backend)
        meter.deferred = True
        headers = {"X-Llmops-Model": name, "X-Llmops-Backend": first.backend}
        chunks = self._chunks(events, prep, first, meter, cache_status)
        return ChatStream(chunks, include_usage, headers)

    async def _chunks(
        self,
        events: EventSource,
        prep: _Prepared,
        opened: StreamOpened,
        meter: RequestMeter,
        cache_status: str,
    ) -> AsyncIterator[ChatCompletionChunk | ApiError]:
        name = prep.route.model
        chunk = _Chunks(_new_id(), int(time.time()), name)
        timeout = self.cfg.request_timeout_s
        text = ""
        status = 200
        yield chunk(ChunkDelta(role="assistant", content=""))
        try:
            while True:
                try:
                    ev = await asyncio.wait_for(events.__anext__(), timeout=timeout)
                except StopAsyncIteration:
                    break
                if isinstance(ev, TextDelta):
                    text += ev.text
                    yield chunk(
                        ChunkDelta(
                            content=ev.text if ev.text else None,
                            tool_calls=list(ev.tool_calls) or None,
                        )
                    )
                elif isinstance(ev, StreamClosed):
                    self.metrics.account(name, meter, ev.prompt_tokens, ev.completion_tokens, ev.cost_usd)
                    yield chunk(
                        ChunkDelta(),
                        finish_reason=ev.finish_reason,
                        citations=_citations(prep.passages, text),
                        llmops=_info(
                            prep, opened.backend, opened.attempts, ev.extractive, cache_status, ev.cost_usd
                        ),
                    )
                    yield chunk(None, usage=Usage.of(ev.prompt_tokens, ev.completion_tokens))
                elif isinstance(ev, StreamBroken | Unavailable):
                    status = 502
                    yield ApiError(502, ev.message, code="stream_interrupted", type_="server_error")
                    break
        except TimeoutError:
            status = 504
            events.cancel()
            yield ApiError(
                504, "The model stopped responding.", code="upstream_timeout", type_="server_error"
            )
        finally:
            self.metrics.observe(meter, status)
