"""Semantic answer cache.

Two lookups, in order: the exact prompt hash, then the nearest cached question by cosine
similarity of embeddings (a hit only at or above the configured threshold, and, with
``verify_question``, only when the two questions also agree lexically: see
:mod:`serving.questions`; "do not run X" never gets the answer to "run X"). The caller puts
everything else the answer depends on into the namespace: the model, the conversation so
far, the parameters and the retrieved context. Entries expire after a TTL. Backends share one interface: Redis/Valkey (``RedisCacheBackend``; works with
plain Redis, no search module needed) and an in-process one (``MemoryCacheBackend``) for
local runs without Redis.

The cache fails open: when Redis is unreachable or slow, lookups return a miss, stores are
dropped, the event is reported as ``bypass`` and Redis is left alone for ``retry_after_s``
before the next attempt, so an outage costs no latency.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from serving.questions import same_question

log = logging.getLogger(__name__)

#: Namespaces whose similarity index one process keeps in memory (least recently used go).
MAX_LOCAL_NAMESPACES = 256

#: Cache events reported to the ``on_event`` hook (and counted in metrics). ``near_miss``
#: (a similar question refused by the lexical check) is followed by ``miss``.
EVENTS = ("hit_exact", "hit_semantic", "near_miss", "miss", "bypass")


def prompt_hash(payload: Any) -> str:
    """SHA-256 of the canonical JSON of ``payload`` (request fields that determine the answer)."""
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def _unit(vec: Any) -> np.ndarray:
    v = np.asarray(vec, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass(frozen=True)
class CacheHit:
    """A cached answer and how it was found."""

    payload: dict[str, Any]
    kind: str  # "exact" or "semantic"
    similarity: float


def _answer(entry: dict[str, Any]) -> dict[str, Any]:
    answer = entry.get("answer")
    return answer if isinstance(answer, dict) else {}


class CacheBackend(ABC):
    """Storage of cache entries: an exact-key store plus a similarity index per namespace."""

    name: str = "backend"

    @abstractmethod
    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """The payload stored under ``key``, or None."""

    @abstractmethod
    async def nearest(self, namespace: str, vector: np.ndarray) -> tuple[str, float] | None:
        """The key of the most similar live entry and its cosine similarity, or None."""

    @abstractmethod
    async def put(
        self, namespace: str, key: str, vector: np.ndarray, payload: dict[str, Any], ttl_s: int
    ) -> None:
        """Store ``payload`` under ``key`` with its (unit) vector, expiring after ``ttl_s``."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class MemoryCacheBackend(CacheBackend):
    """In-process backend with the same semantics as Redis (TTL, capacity, similarity)."""

    name = "memory"

    def __init__(self, max_entries: int = 5000, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, dict[str, tuple[float, np.ndarray, dict[str, Any]]]] = {}

    def _live(self, namespace: str) -> dict[str, tuple[float, np.ndarray, dict[str, Any]]]:
        now = self.clock()
        for name in [n for n, entries in self._entries.items() if n != namespace and not entries]:
            del self._entries[name]  # forget empty namespaces
        ns = self._entries.setdefault(namespace, {})
        for k in [k for k, (exp, _, _) in ns.items() if exp <= now]:
            del ns[k]
        return ns

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        entry = self._live(namespace).get(key)
        return entry[2] if entry else None

    async def nearest(self, namespace: str, vector: np.ndarray) -> tuple[str, float] | None:
        ns = self._live(namespace)
        if not ns:
            return None
        keys = list(ns)
        mat = np.stack([ns[k][1] for k in keys])
        sims = mat @ vector
        i = int(np.argmax(sims))
        return keys[i], float(sims[i])

    async def put(
        self, namespace: str, key: str, vector: np.ndarray, payload: dict[str, Any], ttl_s: int
    ) -> None:
        ns = self._live(namespace)
        ns[key] = (self.clock() + ttl_s, vector, payload)
        while len(ns) > self.max_entries:
            oldest = min(ns, key=lambda k: ns[k][0])
            del ns[oldest]


def slot_tag(namespace: str) -> str:
    """The hash tag of a namespace's keys: the namespace itself when it is short and has no
    braces, else its SHA-256 (a hash tag ends at the first ``}``)."""
    if len(namespace) <= 64 and "{" not in namespace and "}" not in namespace and namespace:
        return namespace
    return hashlib.sha256(namespace.encode()).hexdigest()


class RedisCacheBackend(CacheBackend):
    """Redis/Valkey backend, standalone or cluster mode. Layout per namespace ``ns`` under
    ``prefix``, every key of a namespace carrying the hash tag ``{ns}`` (:func:`slot_tag`),
    so they all live in one slot of a cluster and a namespace's writes are one
    ``MULTI``/``EXEC`` on one node (never a cross-slot transaction):

    - ``{prefix}:{ns}:e:{key}``: the JSON payload (``SET ... EX ttl``)
    - ``{prefix}:{ns}:v``: hash key -> float32 vector bytes (the similarity index)
    - ``{prefix}:{ns}:t``: sorted set key -> expiry time (prunes the index, caps its size)
    - ``{prefix}:{ns}:g``: generation counter, bumped on every write

    Each process keeps a copy of the index matrix and reloads it only when the generation
    changed, so a lookup costs one small round trip in the steady state.

    ``cluster`` follows a cluster's slot map (ElastiCache Serverless is cluster-mode and
    TLS-only: a ``rediss://`` URL, ``ssl_ca_certs`` where the system's authorities do not
    apply); ``credential_provider`` supplies the user and password per connection
    (ElastiCache IAM tokens: :class:`serving.aws_auth.ElastiCacheIamCredentials`).
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        prefix: str = "llmops:cache",
        max_entries: int = 5000,
        socket_timeout_s: float = 0.25,
        clock: Callable[[], float] = time.time,
        cluster: bool = False,
        ssl_ca_certs: str | None = None,
        credential_provider: Any = None,
    ) -> None:
        self.prefix = prefix
        self.max_entries = max_entries
        self.clock = clock
        self.cluster = cluster
        options: dict[str, Any] = {
            "socket_timeout": socket_timeout_s,
            "socket_connect_timeout": socket_timeout_s,
            "health_check_interval": 0,
        }
        if ssl_ca_certs:
            options["ssl_ca_certs"] = ssl_ca_certs
        if credential_provider is not None:
            options["credential_provider"] = credential_provider
        self.client: Any
        if cluster:
            from redis.asyncio.cluster import RedisCluster

            self.client = RedisCluster.from_url(url, **options)
        else:
            import redis.asyncio as aioredis

            self.client = aioredis.from_url(url, retry_on_timeout=False, **options)
        # per-namespace copy of the similarity index: (generation, keys, matrix), LRU-capped
        self._index: OrderedDict[str, tuple[int, list[str], np.ndarray | None]] = OrderedDict()

    def key(self, namespace: str, suffix: str) -> str:
        """The Redis key of ``suffix`` (``v``, ``t``, ``g``, ``e:<key>``) in ``namespace``."""
        return f"{self.prefix}:{{{slot_tag(namespace)}}}:{suffix}"


    async def ping(self) -> bool:
        """Whether the server answers."""
        return bool(await self.client.ping())

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        raw = await self.client.get(self.key(namespace, f"e:{key}"))
        return json.loads(raw) if raw else None

    async def _prune(self, namespace: str) -> None:
        tkey, vkey = self.key(namespace, "t"), self.key(namespace, "v")
        now = self.clock()
        # expiry scores sort the oldest first, so the lowest-ranked entries are both the
        # expired ones and the ones to evict beyond max_entries
        expired = int(await self.client.zcount(tkey, "-inf", now))
        count = int(await self.client.zcard(tkey))
        n = max(expired, count - self.max_entries)
        dead: list[Any] = list(await self.client.zrange(tkey, 0, n - 1)) if n > 0 else []
        if dead:
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(tkey, *dead)
            pipe.hdel(vkey, *dead)
            pipe.incr(self.key(namespace, "g"))
            await pipe.execute()

    async def nearest(self, namespace: str, vector: np.ndarray) -> tuple[str, float] | None:
        gen_raw = await self.client.get(self.key(namespace, "g"))
        gen = int(gen_raw or 0)
        cached = self._index.get(namespace)
        if cached is None or cached[0] != gen:
            await self._prune(namespace)
            gen = int(await self.client.get(self.key(namespace, "g")) or 0)
            raw: dict[Any, Any] = await self.client.hgetall(self.key(namespace, "v"))
            keys = [k.decode() if isinstance(k, bytes) else str(k) for k in raw]
            mat = (
                np.stack([np.frombuffer(v, dtype=np.float32) for v in raw.values()])
                if raw
                else None
            )
            self._index[namespace] = cached = (gen, keys, mat)
            while len(self._index) > MAX_LOCAL_NAMESPACES:
                self._index.popitem(last=False)
        self._index.move_to_end(namespace)
        _, keys, mat = cached
        if mat is None or not keys or mat.shape[1] != vector.shape[0]:
            return None
        sims = mat @ vector
        i = int(np.argmax(sims))
        return keys[i], float(sims[i])

    async def put(
        self, namespace: str, key: str, vector: np.ndarray, payload: dict[str, Any], ttl_s: int
    ) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.set(self.key(namespace, f"e:{key}"), json.dumps(payload), ex=ttl_s)
        pipe.hset(self.key(namespace, "v"), key, np.asarray(vector, np.float32).tobytes())
        pipe.zadd(self.key(namespace, "t"), {key: self.clock() + ttl_s})
        pipe.incr(self.key(namespace, "g"))
        # an idle namespace (e.g. one conversation's context) disappears with its last entry
        for suffix in ("v", "t", "g"):
            pipe.expire(self.key(namespace, suffix), ttl_s)
        await pipe.execute()
        if int(await self.client.zcard(self.key(namespace, "t"))) > self.max_entries:
            await self._prune(namespace)

    async def close(self) -> None:
        await self.client.aclose()


def error_kind(exc: BaseException) -> str:
    """``unreachable`` (timeouts, refused or dropped connections: an outage, retried after a
    pause) or ``refused`` (the server answered with an error: authentication, a cross-slot
    or redirected command, a wrong mode; repeats until the configuration is fixed)."""
    from redis import exceptions as rx

    text = str(exc).lower()
    if isinstance(exc, rx.AuthenticationError) or "certificate verify failed" in text:
        return "refused"
    if isinstance(exc, TimeoutError | OSError | rx.TimeoutError | rx.ConnectionError):
        return "unreachable"
    if isinstance(exc, rx.RedisClusterException) and "connect" in text:
        return "unreachable"
    return "refused"


def _refusal_fix(message: str) -> str:
    if "MOVED" in message or "ASK " in message:
        return ": the server runs in cluster mode; set cache.cluster: true"
    if "CROSSSLOT" in message or "same slot" in message:
        return ": a command spans hash slots; every key of a namespace must carry its hash tag"
    if "cluster support disabled" in message.lower():
        return ": the server is not in cluster mode; set cache.cluster: false"
    if "NOAUTH" in message or "WRONGPASS" in message or "invalid username" in message.lower():
        return ": check the cache's user and password (or IAM) settings"
    if "certificate verify failed" in message.lower():
        return ": the server's certificate is not trusted; set cache.tls_ca_file to its CA"
    return ""


class SemanticCache:
    """Exact-then-semantic lookups over a :class:`CacheBackend`, failing open.

    A failed operation bypasses the backend for ``retry_after_s``; every failure is counted
    by kind (:func:`error_kind`, ``failures`` and the ``on_error`` hook) and logged, a
    refusal (which recurs on every request) as an error naming the fix."""

    def __init__(
        self,
        backend: CacheBackend | None,
        similarity_threshold: float = 0.95,
        ttl_s: int = 3600,
        retry_after_s: float = 5.0,
        on_event: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        op_timeout_s: float = 1.0,
        verify_question: bool = True,
        on_error: Callable[[str, str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.similarity_threshold = similarity_threshold
        self.verify_question = verify_question
        self.ttl_s = ttl_s
        self.retry_after_s = retry_after_s
        self.on_event = on_event or (lambda _e: None)
        self.clock = clock
        self.op_timeout_s = op_timeout_s
        self.on_error = on_error or (lambda _op, _kind: None)
        self.failures: Counter[str] = Counter()
        self.last_error: str | None = None
        self._down_until = 0.0

    @property
    def enabled(self) -> bool:
        return self.backend is not None

    @property
    def available(self) -> bool:
        """False while the backend is being skipped after a failure."""
        return self.backend is not None and self.clock() >= self._down_until

    def _failed(self, op: str, exc: BaseException) -> None:
        self._down_until = self.clock() + self.retry_after_s
        kind = error_kind(exc)
        self.failures[kind] += 1
        self.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
        self.on_error(op, kind)
        backend = self.backend.name if self.backend else "-"
        if kind == "unreachable":
            log.warning(
                "cache %s unreachable on %s (%s); bypassing the cache for %.1fs",
                backend,
                op,
                type(exc).__name__,
                self.retry_after_s,
            )
            return
        # The server answered but refused: this repeats on every request until the
        # configuration is fixed, so it is an error, with the server's words and the fix.
        log.error(
            "cache %s refused %s (%s); every request bypasses the cache until this is fixed%s",
            backend,
            op,
            self.last_error,
            _refusal_fix(str(exc)),
        )

    async def lookup(
        self, namespace: str, key: str, vector: Any | None, question: str | None = None
    ) -> CacheHit | None:
        """Exact match on ``key``, else the nearest entry by ``vector`` at or above the
        threshold whose question agrees with ``question`` (when verifying)."""
        if self.backend is None:
            return None
        if not self.available:
            self.on_event("bypass")
            return None
        try:
            async with asyncio.timeout(self.op_timeout_s):
                entry = await self.backend.get(namespace, key)
                if entry is not None:
                    self.on_event("hit_exact")
                    return CacheHit(_answer(entry), "exact", 1.0)
                if vector is not None:
                    found = await self.backend.nearest(namespace, _unit(vector))
                    if found is not None and found[1] >= self.similarity_threshold:
                        entry = await self.backend.get(namespace, found[0])
                        if entry is not None:
                            if self._agrees(question, entry):
                                self.on_event("hit_semantic")
                                return CacheHit(_answer(entry), "semantic", found[1])
                            self.on_event("near_miss")
        except Exception as exc:  # fail open on any backend error
            self._failed("lookup", exc)
            self.on_event("bypass")
            return None
        self.on_event("miss")
        return None

    def _agrees(self, question: str | None, entry: dict[str, Any]) -> bool:
        if not self.verify_question:
            return True
        cached = entry.get("question")
        return question is not None and isinstance(cached, str) and same_question(question, cached)

    async def store(
        self,
        namespace: str,
        key: str,
        vector: Any | None,
        payload: dict[str, Any],
        question: str | None = None,
    ) -> bool:
        """Store an answer (and the question it answers); returns False when the backend
        was skipped or failed."""
        if self.backend is None or not self.available:
            return False
        try:
            async with asyncio.timeout(self.op_timeout_s):
                vec = _unit(vector) if vector is not None else np.zeros(1, np.float32)
                entry = {"question": question, "answer": payload}
                await self.backend.put(namespace, key, vec, entry, self.ttl_s)
            return True
        except Exception as exc:
            self._failed("store", exc)
            return False

    async def close(self) -> None:
        if self.backend is not None:
            try:
                await self.backend.close()
            except Exception:  # closing a dead connection is not an error worth raising
                log.debug("cache close failed", exc_info=True)
