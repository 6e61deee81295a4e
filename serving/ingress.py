"""The RAG ingress: the HTTP routes of the OpenAI-compatible API, in front of the model
deployments. Routes parse and authenticate; the work happens elsewhere:

- the wire format (request and response bodies, errors, SSE): :mod:`serving.api`;
- chat completions (routing, retrieval, cache, generation): :mod:`serving.chat`;
- document ingestion: :mod:`serving.ingest.service`;
- calls to the model deployments, typed: :mod:`serving.handles`.

Routes: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``GET /v1/models``,
``GET /v1/models/{id}``, ``POST /v1/documents``, ``GET /v1/documents/stats``,
``GET /healthz`` and ``GET /metrics`` (Prometheus).

Every ``/v1`` route needs a bearer API key (401 without one, 403 for an unknown key), is
rate limited per key, takes JSON bodies only (415 otherwise), and is counted in the request
metrics with its status, refusals included; usage and cost are attributed to the key, its
team and the feature named in the ``X-Llmops-Feature`` header.
"""


import asyncio
import dataclasses
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError
from ray import serve
from ray.serve.handle import DeploymentHandle
from starlette.exceptions import HTTPException as StarletteHTTPException

from serving.api.errors import ApiError, validation_error_to_api
from serving.api.requests import (
    MAX_DOCUMENTS_PER_REQUEST,
    ChatCompletionRequest,
    DocumentsRequest,
    EmbeddingsRequest,
)
from serving.api.responses import (
    DocumentStats,
    EmbeddingList,
    IngestLimits,
    ModelCard,
    ModelList,
    SourceRow,
    sse_events,
)
from serving.auth import ApiKey, AuthError, KeyStore, RateLimiter
from serving.cache import MemoryCacheBackend, RedisCacheBackend, SemanticCache
from serving.chat import ChatPipeline, ChatReply, ChatSettings
from serving.config import INGRESS_DEPLOYMENT, AppConfig, RouterConfig
from serving.embeddings import truncate
from serving.handles import EmbedderClient, ModelClient
from serving.ingest.service import DocumentIngestor
from serving.loopback import bind_replica_servers_locally
from serving.metrics import (
    FEATURE_HEADER,
    InvalidFeatureError,
    RequestMeter,
    ServingMetrics,
    feature_label,
)
from serving.retrieval import RetrievalSettings, Retriever
from serving.router import ModelRouter
from serving.stores.factory import open_store

log = logging.getLogger("ray.serve")

api = FastAPI(title="llmops RAG API", version="1", docs_url=None, redoc_url=None)

#: Hard cap on request bodies, above every configurable limit (guards memory).
MAX_BODY_BYTES = 64 * 1024 * 1024
ANONYMOUS = ApiKey(id="anonymous", sha256="0" * 64, team="anonymous")

M = TypeVar("M", bound=BaseModel)


@api.exception_handler(ApiError)
async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


@api.exception_handler(StarletteHTTPException)
async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    err = ApiError(
        exc.status_code, str(exc.detail), code="not_found" if exc.status_code == 404 else None
    )
    return JSONResponse(err.body(), status_code=exc.status_code)


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
        credentials = None
        if c.iam_auth:
            from serving.aws_auth import ElastiCacheIamCredentials

            user, arn = os.environ.get(c.iam_user_env), os.environ.get(c.iam_cache_arn_env)
            if not user or not arn:
                raise RuntimeError(
                    f"cache.iam_auth needs the cache user and ARN: set {c.iam_user_env} and "
                    f"{c.iam_cache_arn_env}"
                )
            credentials = ElastiCacheIamCredentials(user, arn)
        backend = RedisCacheBackend(
            url,
            c.key_prefix,
            c.max_entries,
            c.socket_timeout_s,
            cluster=c.cluster,
            ssl_ca_certs=c.tls_ca_file,
            credential_provider=credentials,
        )
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
        verify_question=c.verify_question,
        on_error=metrics.cache_error,
    )


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


@serve.deployment(name=INGRESS_DEPLOYMENT)
@serve.ingress(api)
class RAGIngress:
    """HTTP entry point of one application (see module docstring)."""

    def __init__(
        self,
        config: dict[str, Any],
        embedder: DeploymentHandle[Any],
        llms: dict[str, DeploymentHandle[Any]],
    ) -> None:
        bind_replica_servers_locally()
        self.cfg = AppConfig.model_validate(config)
        self.created = int(time.time())
        self.embedder = EmbedderClient(embedder)
        self.metrics = ServingMetrics()
        self.limiter = RateLimiter()
        auth = self.cfg.auth
        self._keys_file = Path(auth.keys_file).expanduser() if auth.keys_file else None
        self._keys_mtime = 0.0
        self._keys_checked = 0.0
        self.keys = KeyStore.load(auth.keys_file, auth.keys_env)
        if self._keys_file and self._keys_file.exists():
            self._keys_mtime = self._keys_file.stat().st_mtime
        # the configured engine, with its credentials fetched at run time (IAM, SigV4)
        self.store = open_store(self.cfg.vector_store, self.cfg.embeddings.dimensions)
        self.cache = _make_cache(self.cfg, self.metrics)
        self.ingestor = DocumentIngestor(self.store, self.embedder, self.cfg.rag, self.metrics)
        self.chat_pipeline = ChatPipeline(
            self.cfg,
            self.embedder,
            Retriever(self.store, self.metrics),
            self.cache,
            {name: ModelClient(h) for name, h in llms.items()},
            self.metrics,
            self._settings(self.cfg.ingress_user_config()),
        )
        self.default_rpm = self.cfg.auth.default_rate_limit_per_minute

    # ----------------------------------------------------------------- config

    def _settings(self, user_config: dict[str, Any]) -> ChatSettings:
        router_cfg = RouterConfig.model_validate(
            user_config.get("router", self.cfg.router.model_dump())
        )
        router = ModelRouter(
            [m.name for m in self.cfg.models],
            router_cfg.default_model,
            [(s.model, s.weight) for s in router_cfg.splits],
            aliases={a: m.name for m in self.cfg.models for a in m.aliases},
        )
        retrieval = dataclasses.replace(
            RetrievalSettings.from_config(self.cfg.rag),
            top_k=int(user_config.get("top_k", self.cfg.rag.top_k)),
            min_score=float(user_config.get("min_score", self.cfg.rag.min_score)),
        )
        return ChatSettings(router, retrieval)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Live settings: ``router`` (default model, weighted splits), ``top_k``,
        ``min_score``, ``similarity_threshold``, ``default_rate_limit_per_minute``."""
        self.chat_pipeline.settings = self._settings(user_config)
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

    async def _metered(
        self, route: str, handler: Callable[[RequestMeter], Awaitable[Response]]
    ) -> Response:
        """Run a route handler and count its answer (refusals included) once."""
        meter = RequestMeter(route)
        try:
            response = await handler(meter)
        except ApiError as exc:
            self.metrics.observe(meter, exc.status)
            raise
        except Exception:
            self.metrics.observe(meter, 500)
            raise
        if not meter.deferred:
            self.metrics.observe(meter, response.status_code)
        return response

    def _authenticate(self, request: Request, meter: RequestMeter) -> ApiKey:
        try:
            meter.feature = feature_label(request.headers.get(FEATURE_HEADER))
        except InvalidFeatureError as exc:
            raise ApiError(400, f"{exc}.", param=FEATURE_HEADER, code="invalid_header") from None
        if not self.cfg.auth.required:
            key = ANONYMOUS
        else:
            self._maybe_reload_keys()
            try:
                key = self.keys.authenticate(request.headers.get("authorization"))
            except AuthError as exc:
                self.metrics.auth_failures.labels(reason=exc.code).inc()
                log.info("rejected request to %s: %s", request.url.path, exc.code)
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                raise ApiError(exc.status, exc.message, code=exc.code, headers=headers) from None
        meter.key, meter.team = key.id, key.team
        if key is ANONYMOUS:
            return key
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

    async def _parse(self, request: Request, model: type[M]) -> M:
        if not _is_json(request.headers.get("content-type")):
            got = request.headers.get("content-type") or "none"
            raise ApiError(
                415,
                f"Content-Type must be application/json (got {got!r}); send a JSON body, e.g. "
                "curl -H 'Content-Type: application/json' -d '{...}'.",
                code="unsupported_media_type",
            )
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
                400, f"Request body is not valid JSON: {exc}.", code="invalid_json"
            ) from None
        if not isinstance(data, dict):
            raise ApiError(400, "Request body must be a JSON object.", code="invalid_json")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise validation_error_to_api(exc, data, model) from None

    def _model_cards(self, key: ApiKey) -> list[ModelCard]:
        names = [n for m in self.cfg.models if key.may_use(m.name) for n in (m.name, *m.aliases)]
        names += self.cfg.embeddings.names
        return [ModelCard(id=n, created=self.created) for n in names]

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
    async def models(self, request: Request) -> Response:
        async def handle(meter: RequestMeter) -> Response:
            key = self._authenticate(request, meter)
            return JSONResponse(ModelList(data=self._model_cards(key)).model_dump(mode="json"))

        return await self._metered("models", handle)

    @api.get("/v1/models/{model_id:path}")
    async def model(self, model_id: str, request: Request) -> Response:
        async def handle(meter: RequestMeter) -> Response:
            key = self._authenticate(request, meter)
            for card in self._model_cards(key):
                if card.id == model_id:
                    meter.model = model_id
                    return JSONResponse(card.model_dump(mode="json"))
            raise ApiError(
                404,
                f"The model {model_id!r} does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )

        return await self._metered("models", handle)

    @api.post("/v1/embeddings")
    async def embeddings(self, request: Request) -> Response:
        return await self._metered("embeddings", lambda m: self._embeddings(request, m))

    async def _embeddings(self, request: Request, meter: RequestMeter) -> Response:
        self._authenticate(request, meter)
        req = await self._parse(request, EmbeddingsRequest)
        emb = self.cfg.embeddings
        if req.model not in (None, "", *emb.names):
            raise ApiError(
                404,
                f"Embedding model {req.model!r} does not exist; available: "
                f"{', '.join(emb.names)}.",
                param="model",
                code="model_not_found",
            )
        meter.model = emb.model_id
        dims = req.dimensions
        if dims is not None and dims != emb.dimensions and dims not in emb.matryoshka_dimensions:
            sizes = sorted({emb.dimensions, *emb.matryoshka_dimensions})
            raise ApiError(
                400,
                f"Model {emb.model_id!r} cannot produce {dims} dimensions; it supports "
                f"{sizes} (smaller sizes only for models trained for truncation; see "
                "embeddings.matryoshka_dimensions). Drop 'dimensions' or use one of these.",
                param="dimensions",
                code="invalid_value",
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
        t0 = time.perf_counter()
        out = await self.embedder.embed_with_usage(texts)
        self.metrics.embedding_latency.labels(purpose="api").observe(time.perf_counter() - t0)
        vectors = out.vectors
        if dims is not None and dims < vectors.shape[1]:
            vectors = truncate(vectors, dims)
        self.metrics.account(emb.model_id, meter, out.tokens, 0, 0.0)
        body = EmbeddingList.of(vectors, emb.model_id, out.tokens, req.encoding_format)
        return JSONResponse(body.model_dump(mode="json"))

    @api.post("/v1/documents")
    async def documents(self, request: Request) -> Response:
        async def handle(meter: RequestMeter) -> Response:
            self._authenticate(request, meter)
            req = await self._parse(request, DocumentsRequest)
            out = await self.ingestor.ingest(req)
            return JSONResponse(out.model_dump(mode="json"))

        return await self._metered("documents", handle)

    @api.get("/v1/documents/stats")
    async def document_stats(self, request: Request, sources: bool = True) -> Response:
        async def handle(meter: RequestMeter) -> Response:
            self._authenticate(request, meter)
            st = await asyncio.to_thread(self.store.stats, sources)
            body = DocumentStats(
                documents=st.documents,
                chunks=st.chunks,
                sources=[SourceRow.model_validate(dataclasses.asdict(s)) for s in st.sources]
                if sources
                else None,
                limits=IngestLimits(
                    max_document_chars=self.cfg.rag.max_document_chars,
                    max_documents_per_request=MAX_DOCUMENTS_PER_REQUEST,
                    max_request_bytes=MAX_BODY_BYTES,
                ),
            )
            return JSONResponse(body.model_dump(mode="json"))

        return await self._metered("documents_stats", handle)

    @api.post("/v1/chat/completions")
    async def chat(self, request: Request) -> Response:
        return await self._metered("chat", lambda m: self._chat(request, m))

    async def _chat(self, request: Request, meter: RequestMeter) -> Response:
        key = self._authenticate(request, meter)
        req = await self._parse(request, ChatCompletionRequest)
        out = await self.chat_pipeline(req, key, meter)
        if isinstance(out, ChatReply):
            return JSONResponse(out.completion.to_json(), headers=out.headers)
        return StreamingResponse(
            sse_events(out.chunks, out.include_usage),
            media_type="text/event-stream",
            headers=out.headers,
        )
