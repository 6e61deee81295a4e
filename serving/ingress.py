"""The RAG ingress: an OpenAI-compatible HTTP API in front of the model deployments.

Routes: ``POST /v1/chat/completions`` (optional retrieval, citations, streaming),
``POST /v1/embeddings``, ``POST /v1/documents`` (chunk, embed, upsert; idempotent by content
hash), ``GET /v1/models``, ``GET /healthz`` and ``GET /metrics`` (Prometheus).

Every ``/v1`` route needs a bearer API key (401 without one, 403 for an unknown key), is
rate limited per key, and attributes usage and cost to the key, its team and the feature
named in the ``X-Llmops-Feature`` header.
"""

import asyncio
import base64
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.api import (
    ApiError,
    ChatCompletionRequest,
    DocumentsRequest,
    EmbeddingsRequest,
    validation_error_to_api,
)
from serving.auth import ApiKey, AuthError, KeyStore, RateLimiter
from serving.cache import MemoryCacheBackend, RedisCacheBackend, SemanticCache, prompt_hash
from serving.chunking import chunk_text, content_hash, title_of
from serving.config import INGRESS_DEPLOYMENT, AppConfig, RouterConfig
from serving.llm.base import Passage
from serving.metrics import ServingMetrics, feature_label
from serving.rag import build_messages, citations
from serving.requestlog import log_request
from serving.router import ModelRouter, UnknownModelError
from serving.vectorstore import ChunkIn, PgVectorStore

log = logging.getLogger("ray.serve")

api = FastAPI(title="llmops RAG API", version="1", docs_url=None, redoc_url=None)

#: Hard cap on request bodies, above every configurable limit (guards memory).
MAX_BODY_BYTES = 64 * 1024 * 1024
ANONYMOUS = ApiKey(id="anonymous", sha256="0" * 64, team="anonymous")


@api.exception_handler(ApiError)
async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


@api.exception_handler(StarletteHTTPException)
async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    err = ApiError(
        exc.status_code, str(exc.detail), code="not_found" if exc.status_code == 404 else None
    )
    return JSONResponse(err.body(), status_code=exc.status_code)


def _openai_embedding(vec: np.ndarray, fmt: str) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(np.asarray(vec, dtype="<f4").tobytes()).decode()
    return [float(x) for x in vec]


def _resolve_dsn(app: AppConfig) -> str:
    vs = app.vector_store
    dsn = vs.dsn or os.environ.get(vs.dsn_env)
    if not dsn:
        raise RuntimeError(
            f"vector store DSN missing: set the environment variable {vs.dsn_env} (from a "
            "secret) or vector_store.dsn"
        )
    return dsn


def _make_cache(app: AppConfig, metrics: ServingMetrics) -> SemanticCache:
    c = app.cache
    backend: RedisCacheBackend | MemoryCacheBackend | None
    if c.backend == "redis":
        url = c.url or os.environ.get(c.url_env)
        if not url:
            raise RuntimeError(
                f"cache.backend is redis but no URL: set {c.url_env} or cache.url, or use "
                "cache.backend: memory"
            )
        backend = RedisCacheBackend(url, c.key_prefix, c.max_entries, c.socket_timeout_s)
    elif c.backend == "memory":
        backend = MemoryCacheBackend(c.max_entries)
    else:
        backend = None
    return SemanticCache(
        backend,
        similarity_threshold=c.similarity_threshold,
        ttl_s=c.ttl_s,
        retry_after_s=c.retry_after_s,
        on_event=metrics.cache_event,
        op_timeout_s=max(0.5, 4 * c.socket_timeout_s),
    )


def _chunk(
    cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(obj: dict[str, Any]) -> str:
    return f"data: {json.dumps(obj)}\n\n"


@serve.deployment(name=INGRESS_DEPLOYMENT)
@serve.ingress(api)
class RAGIngress:
    """HTTP entry point of one application (see module docstring)."""

    def __init__(
        self,
        config: dict[str, Any],
        embedder: DeploymentHandle,
        llms: dict[str, DeploymentHandle],
    ) -> None:
        self.cfg = AppConfig.model_validate(config)
        self.embedder = embedder
        self.llms = llms
        self.metrics = ServingMetrics()
        self.limiter = RateLimiter()
        auth = self.cfg.auth
        self._keys_file = Path(auth.keys_file).expanduser() if auth.keys_file else None
        self._keys_mtime = 0.0
        self._keys_checked = 0.0
        self.keys = KeyStore.load(auth.keys_file, auth.keys_env)
        if self._keys_file and self._keys_file.exists():
            self._keys_mtime = self._keys_file.stat().st_mtime
        vs = self.cfg.vector_store
        self.store = PgVectorStore(
            _resolve_dsn(self.cfg),
            self.cfg.embeddings.dimensions,
            table_prefix=vs.table_prefix,
            pool_min_size=vs.pool_min_size,
            pool_max_size=vs.pool_max_size,
            connect_timeout_s=vs.connect_timeout_s,
            statement_timeout_ms=vs.statement_timeout_ms,
            hnsw_m=vs.hnsw_m,
            hnsw_ef_construction=vs.hnsw_ef_construction,
            ef_search=vs.hnsw_ef_search,
        )
        self.cache = _make_cache(self.cfg, self.metrics)
        self.reconfigure(self.cfg.ingress_user_config())

    # ----------------------------------------------------------------- config

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Live settings: ``router`` (default model, weighted splits), ``top_k``,
        ``min_score``, ``similarity_threshold``, ``default_rate_limit_per_minute``."""
        router_cfg = RouterConfig.model_validate(
            user_config.get("router", self.cfg.router.model_dump())
        )
        self.router = ModelRouter(
            [m.name for m in self.cfg.models],
            router_cfg.default_model,
            [(s.model, s.weight) for s in router_cfg.splits],
        )
        self.top_k = int(user_config.get("top_k", self.cfg.rag.top_k))
        self.min_score = float(user_config.get("min_score", self.cfg.rag.min_score))
        self.cache.similarity_threshold = float(
            user_config.get("similarity_threshold", self.cfg.cache.similarity_threshold)
        )
        self.default_rpm = int(
            user_config.get(
                "default_rate_limit_per_minute", self.cfg.auth.default_rate_limit_per_minute
            )
        )

    def _maybe_reload_keys(self) -> None:
        """Pick up a rotated key file (mounted secrets are updated in place)."""
        if self._keys_file is None:
            return
        now = time.monotonic()
        if now - self._keys_checked < 1.0:
            return
        self._keys_checked = now
        try:
            mtime = self._keys_file.stat().st_mtime
        except OSError:
            return
        if mtime != self._keys_mtime:
            try:
                self.keys = KeyStore.load(str(self._keys_file), None)
                self._keys_mtime = mtime
                log.info("reloaded %d API keys from %s", len(self.keys), self._keys_file)
            except Exception as exc:
                log.error("keeping previous API keys; new key file is invalid: %s", exc)

    # -------------------------------------------------------------- helpers

    def _authenticate(self, request: Request, model: str | None = None) -> ApiKey:
        if not self.cfg.auth.required:
            return ANONYMOUS
        self._maybe_reload_keys()
        try:
            key = self.keys.authenticate(request.headers.get("authorization"))
        except AuthError as exc:
            self.metrics.auth_failures.labels(reason=exc.code).inc()
            log.info("rejected request to %s: %s", request.url.path, exc.code)
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            raise ApiError(exc.status, exc.message, code=exc.code, headers=headers) from None
        rpm = key.rate_limit_per_minute or self.default_rpm
        wait = self.limiter.check(key.id, rpm)
        if wait > 0:
            self.metrics.rate_limited.labels(key=key.id, team=key.team).inc()
            raise ApiError(
                429,
                f"Rate limit of {rpm} requests per minute exceeded for key {key.id!r}.",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )
        return key

    async def _parse(self, request: Request, model: type[BaseModel]) -> Any:
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > MAX_BODY_BYTES:
            raise ApiError(
                413, f"Request body exceeds {MAX_BODY_BYTES} bytes.", code="request_too_large"
            )
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(
                413, f"Request body exceeds {MAX_BODY_BYTES} bytes.", code="request_too_large"
            )
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(
                400,
                f"Request body is not valid JSON: {exc}.",
                code="invalid_json",
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, "Request body must be a JSON object.", code="invalid_json")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise validation_error_to_api(exc) from None

    async def _embed(self, texts: list[str], purpose: str) -> np.ndarray:
        t0 = time.perf_counter()
        vecs: np.ndarray = await self.embedder.embed.remote(texts)
        self.metrics.embedding_latency.labels(purpose=purpose).observe(time.perf_counter() - t0)
        return vecs

    def _observe(
        self, route: str, model: str, status: int, key: ApiKey, feature: str, t0: float
    ) -> None:
        self.metrics.request_latency.labels(route=route, model=model, status=str(status)).observe(
            time.perf_counter() - t0
        )
        self.metrics.requests.labels(
            route=route, model=model, status=str(status), key=key.id, team=key.team, feature=feature
        ).inc()
        log_request(
            route=route, model=model, status=status, latency_ms=(time.perf_counter() - t0) * 1000,
            key_id=key.id, team=key.team, feature=feature,
        )

    def _account(
        self, model: str, key: ApiKey, feature: str, prompt: int, completion: int, cost: float
    ) -> None:
        m = self.metrics
        m.tokens.labels(
            direction="in", model=model, key=key.id, team=key.team, feature=feature
        ).inc(prompt)
        m.tokens.labels(
            direction="out", model=model, key=key.id, team=key.team, feature=feature
        ).inc(completion)
        m.cost.labels(model=model, key=key.id, team=key.team, feature=feature).inc(cost)
        m.request_cost.labels(model=model).observe(cost)

    def _record_attempts(
        self, model: str, attempts: list[dict[str, str]], served_by: str | None
    ) -> None:
        for a in attempts:
            self.metrics.upstream_errors.labels(
                model=model, backend=a["backend"], kind=a["kind"]
            ).inc()
        if attempts and served_by:
            self.metrics.fallbacks.labels(model=model, backend=served_by).inc()

    def _unavailable(self, model: str, error: dict[str, Any]) -> ApiError:
        self._record_attempts(model, error.get("attempts", []), None)
        self.metrics.upstream_unavailable.labels(model=model).inc()
        tried = ", ".join(f"{a['backend']} ({a['kind']})" for a in error.get("attempts", []))
        return ApiError(
            503,
            f"Model {model!r} is unavailable: all backends failed"
            + (f" [{tried}]" if tried else "")
            + ". Retry later.",
            code="upstream_unavailable",
            headers={"Retry-After": "5"},
        )

    async def _retrieve(self, qvec: np.ndarray, top_k: int, min_score: float) -> list[Passage]:
        t0 = time.perf_counter()
        hits = await asyncio.to_thread(self.store.search, qvec, top_k)
        self.metrics.retrieval_latency.observe(time.perf_counter() - t0)
        return [
            Passage(index=i + 1, source=h.source, text=h.text, score=h.score, title=h.title)
            for i, h in enumerate(h for h in hits if h.score >= min_score)
        ]

    # ---------------------------------------------------------------- routes

    @api.get("/healthz")
    async def healthz(self) -> JSONResponse:
        """Liveness/readiness: the vector store must answer; the cache is reported only."""
        try:
            await asyncio.wait_for(asyncio.to_thread(self.store.ping), timeout=3.0)
            db = "ok"
        except Exception as exc:
            db = f"error: {type(exc).__name__}"
        cache = (
            "disabled" if not self.cache.enabled else ("ok" if self.cache.available else "bypassed")
        )
        body = {
            "status": "ok" if db == "ok" else "degraded",
            "vector_store": db,
            "cache": cache,
            "cache_backend": self.cache.backend.name if self.cache.backend else None,
            "models": [m.name for m in self.cfg.models],
        }
        return JSONResponse(body, status_code=200 if db == "ok" else 503)

    @api.get("/metrics")
    async def prometheus(self) -> Response:
        body, ctype = self.metrics.render()
        return Response(body, media_type=ctype)

    @api.get("/v1/models")
    async def models(self, request: Request) -> JSONResponse:
        key = self._authenticate(request)
        data = [
            {"id": m.name, "object": "model", "owned_by": "llmops"}
            for m in self.cfg.models
            if key.may_use(m.name)
        ]
        return JSONResponse({"object": "list", "data": data})

    @api.post("/v1/embeddings")
    async def embeddings(self, request: Request) -> JSONResponse:
        t0 = time.perf_counter()
        key = self._authenticate(request)
        feature = feature_label(request.headers.get("x-llmops-feature"))
        req: EmbeddingsRequest = await self._parse(request, EmbeddingsRequest)
        emb = self.cfg.embeddings
        if req.model not in (None, "", emb.model_id):
            raise ApiError(
                404,
                f"Embedding model {req.model!r} does not exist; available: {emb.model_id}.",
                param="model",
                code="model_not_found",
            )
        texts = req.texts
        limit = self.cfg.rag.max_embedding_inputs
        if len(texts) > limit:
            raise ApiError(
                400,
                f"'input' has {len(texts)} items; the maximum is {limit}.",
                param="input",
                code="too_many_inputs",
            )
        longest = max(len(t) for t in texts)
        if longest > self.cfg.rag.max_embedding_input_chars:
            raise ApiError(
                400,
                f"An 'input' item has {longest} characters; the maximum is "
                f"{self.cfg.rag.max_embedding_input_chars}.",
                param="input",
                code="input_too_long",
            )
        vecs, tokens = await self.embedder.embed_with_usage.remote(texts)
        self._account(emb.model_id, key, feature, int(tokens), 0, 0.0)
        self._observe("embeddings", emb.model_id, 200, key, feature, t0)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": _openai_embedding(v, req.encoding_format),
                    }
                    for i, v in enumerate(vecs)
                ],
                "model": emb.model_id,
                "usage": {"prompt_tokens": int(tokens), "total_tokens": int(tokens)},
            }
        )

    @api.post("/v1/documents")
    async def documents(self, request: Request) -> JSONResponse:
        t0 = time.perf_counter()
        key = self._authenticate(request)
        feature = feature_label(request.headers.get("x-llmops-feature"))
        req: DocumentsRequest = await self._parse(request, DocumentsRequest)
        rag = self.cfg.rag
        sources = [d.source for d in req.documents]
        for i, d in enumerate(req.documents):
            if len(d.text) > rag.max_document_chars:
                raise ApiError(
                    413,
                    f"'documents.{i}.text': document '{d.source}' has {len(d.text)} characters; the maximum is "
                    f"{rag.max_document_chars}. Split it into smaller documents.",
                    param=f"documents.{i}.text",
                    code="document_too_large",
                )
            if d.source in sources[:i]:
                raise ApiError(
                    400,
                    f"'documents.{i}.source': source '{d.source}' appears twice in one request.",
                    param=f"documents.{i}.source",
                    code="duplicate_source",
                )
        # Skip embedding for content already stored under the same source; embed the rest
        # concurrently (the embedder batches them) while earlier documents are written.
        results: dict[int, dict[str, Any]] = {}
        pending: list[tuple[int, str, list[Any], Any]] = []
        for i, d in enumerate(req.documents):
            digest = content_hash(d.text)
            known = await asyncio.to_thread(self.store.find_by_hash, digest)
            if known is not None:
                status = "unchanged" if known[1] == d.source else "duplicate"
                results[i] = {
                    "source": d.source,
                    "document_id": known[0],
                    "status": status,
                    "chunks": None,
                    "content_hash": digest,
                }
                continue
            chunks = chunk_text(d.text, rag.chunk_size_chars, rag.chunk_overlap_chars)
            pending.append(
                (i, digest, chunks, self.embedder.embed.remote([c.text for c in chunks]))
            )
        total_chunks = 0
        for n, (i, digest, chunks, fut) in enumerate(pending):
            d = req.documents[i]
            try:
                vecs = await fut
                up = await asyncio.to_thread(
                    self.store.upsert_document,
                    d.source,
                    digest,
                    [ChunkIn(c.index, c.text, v) for c, v in zip(chunks, vecs, strict=True)],
                    d.title or title_of(d.text, d.source),
                    d.metadata,
                    len(d.text),
                )
            except Exception as exc:
                for _, _, _, later in pending[n + 1 :]:
                    later.cancel()
                stored = [results[j]["source"] for j in sorted(results)]
                log.error("ingest of %r failed: %s", d.source, type(exc).__name__)
                self._observe("documents", "-", 503, key, feature, t0)
                raise ApiError(
                    503,
                    f"Ingest failed at document '{d.source}' ({type(exc).__name__}); it was not "
                    f"stored (no partial document). Already stored: {stored or 'none'}. "
                    "Retrying the request is safe: ingestion is idempotent.",
                    param=f"documents.{i}",
                    code="ingest_failed",
                ) from None
            if up.status in ("created", "updated"):
                total_chunks += up.chunks
            results[i] = {
                "source": d.source,
                "document_id": up.document_id,
                "status": up.status,
                "chunks": up.chunks,
                "content_hash": digest,
            }
        data = [results[i] for i in range(len(req.documents))]
        for r in data:
            self.metrics.documents_ingested.labels(status=r["status"]).inc()
        self.metrics.chunks_ingested.inc(total_chunks)
        self._observe("documents", "-", 200, key, feature, t0)
        return JSONResponse({"object": "list", "data": data, "chunks_written": total_chunks})

    @api.post("/v1/chat/completions")
    async def chat(self, request: Request) -> Response:
        t0 = time.perf_counter()
        key = self._authenticate(request)
        feature = feature_label(request.headers.get("x-llmops-feature"))
        req: ChatCompletionRequest = await self._parse(request, ChatCompletionRequest)
        try:
            route = self.router.choose(req.model, sticky_key=req.user)
        except UnknownModelError as exc:
            raise ApiError(404, f"{exc}.", param="model", code="model_not_found") from None
        model = route.model
        if not key.may_use(model):
            raise ApiError(
                403,
                f"Key {key.id!r} may not use model {model!r}.",
                param="model",
                code="model_not_allowed",
            )
        total_chars = sum(len(m.text) for m in req.messages)
        if total_chars > self.cfg.rag.max_input_chars:
            raise ApiError(
                400,
                f"'messages' total {total_chars} characters; the maximum is "
                f"{self.cfg.rag.max_input_chars}. Shorten the conversation.",
                param="messages",
                code="context_length_exceeded",
            )
        self.metrics.route_decisions.labels(model=model, reason=route.reason).inc()
        retrieval = req.retrieval_options
        top_k = retrieval.top_k or self.top_k
        min_score = self.min_score if retrieval.min_score is None else retrieval.min_score
        messages = [{"role": m.role, "content": m.text} for m in req.messages]
        question = req.question

        # cache: the namespace pins everything but the last question; the key adds it
        use_cache = req.cache and self.cache.enabled
        ns_fields = {
            "model": model,
            "context": messages[:-1] if messages[-1]["role"] == "user" else messages,
            "retrieval": [retrieval.enabled, top_k, min_score],
            "params": [req.token_limit, req.temperature, req.top_p, req.stop_list],
        }
        namespace = prompt_hash(ns_fields)[:24]
        exact_key = prompt_hash({"ns": namespace, "q": question})
        qvec: np.ndarray | None = None
        if retrieval.enabled or use_cache:
            qvec = (await self._embed([question], "query"))[0]
        cache_status = "off"
        if use_cache:
            hit = await self.cache.lookup(namespace, exact_key, qvec)
            cache_status = "miss" if self.cache.available else "bypass"
            if hit is not None:
                payload = dict(hit.payload)
                payload["id"] = f"chatcmpl-{uuid.uuid4().hex}"
                payload["created"] = int(time.time())
                payload["llmops"] = {
                    **payload.get("llmops", {}),
                    "cache": hit.kind,
                    "cache_similarity": round(hit.similarity, 4),
                    "cost_usd": 0.0,
                    "route": route.reason,
                }
                self._observe("chat", model, 200, key, feature, t0)
                if req.stream:
                    return self._replay_stream(payload)
                return JSONResponse(
                    payload, headers={"X-Llmops-Model": model, "X-Llmops-Cache": hit.kind}
                )

        passages: list[Passage] = []
        if retrieval.enabled and qvec is not None:
            passages = await self._retrieve(qvec, top_k, min_score)
        llm_request = {
            "messages": build_messages(messages, passages, self.cfg.rag.prompts),
            "max_tokens": req.token_limit,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "stop": req.stop_list,
            "passages": [p.__dict__ for p in passages],
        }
        handle = self.llms[model]
        if req.stream:
            return await self._stream(
                handle, model, route.reason, llm_request, passages, key, feature, t0
            )
        try:
            out = await asyncio.wait_for(
                handle.generate.remote(llm_request), timeout=self.cfg.request_timeout_s
            )
        except TimeoutError:
            self.metrics.upstream_unavailable.labels(model=model).inc()
            self._observe("chat", model, 503, key, feature, t0)
            raise ApiError(
                503,
                f"Model {model!r} did not answer within {self.cfg.request_timeout_s:.0f}s. Retry later.",
                code="upstream_timeout",
                headers={"Retry-After": "5"},
            ) from None
        if "error" in out:
            self._observe("chat", model, 503, key, feature, t0)
            raise self._unavailable(model, out["error"])
        self._record_attempts(model, out["attempts"], out["backend"])
        self._account(
            model, key, feature, out["prompt_tokens"], out["completion_tokens"], out["cost_usd"]
        )
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": out["text"]},
                    "finish_reason": out["finish_reason"],
                }
            ],
            "usage": {
                "prompt_tokens": out["prompt_tokens"],
                "completion_tokens": out["completion_tokens"],
                "total_tokens": out["prompt_tokens"] + out["completion_tokens"],
            },
            "citations": citations(passages, out["text"]),
            "llmops": {
                "backend": out["backend"],
                "route": route.reason,
                "extractive": out["extractive"],
                "cache": cache_status,
                "cost_usd": out["cost_usd"],
                "fallbacks": [a["backend"] for a in out["attempts"]],
            },
        }
        if cache_status == "miss":
            await self.cache.store(
                namespace,
                exact_key,
                qvec,
                {k: v for k, v in payload.items() if k not in ("id", "created")},
            )
        self._observe("chat", model, 200, key, feature, t0)
        return JSONResponse(
            payload, headers={"X-Llmops-Model": model, "X-Llmops-Backend": out["backend"]}
        )

    def _replay_stream(self, payload: dict[str, Any]) -> StreamingResponse:
        """A cached answer as a one-chunk SSE stream."""
        cid, created, model = payload["id"], payload["created"], payload["model"]
        text = payload["choices"][0]["message"]["content"]

        async def gen() -> AsyncIterator[str]:
            yield _sse(_chunk(cid, created, model, {"role": "assistant", "content": text}, None))
            final = _chunk(cid, created, model, {}, payload["choices"][0]["finish_reason"])
            final.update(
                usage=payload["usage"], citations=payload["citations"], llmops=payload["llmops"]
            )
            yield _sse(final)
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            gen(), media_type="text/event-stream", headers={"X-Llmops-Model": model}
        )

    async def _stream(
        self,
        handle: DeploymentHandle,
        model: str,
        reason: str,
        llm_request: dict[str, Any],
        passages: list[Passage],
        key: ApiKey,
        feature: str,
        t0: float,
    ) -> Response:
        gen: Any = handle.options(stream=True).stream.remote(llm_request)
        timeout = self.cfg.request_timeout_s
        try:
            first = await asyncio.wait_for(gen.__anext__(), timeout=timeout)
        except (TimeoutError, StopAsyncIteration):
            gen.cancel()
            self._observe("chat", model, 503, key, feature, t0)
            raise ApiError(
                503,
                f"Model {model!r} did not start answering within {timeout:.0f}s.",
                code="upstream_timeout",
            ) from None
        if first["type"] == "error":
            self._observe("chat", model, 503, key, feature, t0)
            raise self._unavailable(model, first["error"])
        backend = first["backend"]
        self._record_attempts(model, first["attempts"], backend)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        async def events() -> AsyncIterator[str]:
            text = ""
            yield _sse(_chunk(cid, created, model, {"role": "assistant", "content": ""}, None))
            status = 200
            try:
                while True:
                    try:
                        ev = await asyncio.wait_for(gen.__anext__(), timeout=timeout)
                    except StopAsyncIteration:
                        break
                    if ev["type"] == "delta":
                        text += ev["text"]
                        yield _sse(_chunk(cid, created, model, {"content": ev["text"]}, None))
                    elif ev["type"] == "end":
                        self._account(
                            model,
                            key,
                            feature,
                            ev["prompt_tokens"],
                            ev["completion_tokens"],
                            ev["cost_usd"],
                        )
                        final = _chunk(cid, created, model, {}, ev["finish_reason"])
                        final["usage"] = {
                            "prompt_tokens": ev["prompt_tokens"],
                            "completion_tokens": ev["completion_tokens"],
                            "total_tokens": ev["prompt_tokens"] + ev["completion_tokens"],
                        }
                        final["citations"] = citations(passages, text)
                        final["llmops"] = {
                            "backend": backend,
                            "route": reason,
                            "extractive": ev["extractive"],
                            "cost_usd": ev["cost_usd"],
                            "fallbacks": [a["backend"] for a in first["attempts"]],
                        }
                        yield _sse(final)
                    elif ev["type"] == "error":
                        status = 502
                        yield _sse(
                            {
                                "error": {
                                    "message": ev["error"]["message"],
                                    "type": "server_error",
                                    "code": "stream_interrupted",
                                }
                            }
                        )
                        break
            except TimeoutError:
                status = 504
                gen.cancel()
                yield _sse(
                    {
                        "error": {
                            "message": "The model stopped responding.",
                            "type": "server_error",
                            "code": "upstream_timeout",
                        }
                    }
                )
            finally:
                self._observe("chat", model, status, key, feature, t0)
            yield "data: [DONE]\n\n"

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"X-Llmops-Model": model, "X-Llmops-Backend": backend},
        )
