"""Bearer API keys and per-key rate limits.

Keys are random 256-bit tokens (``sk-llmops-...``). Only their SHA-256 is stored, in a JSON
secret (a mounted Kubernetes secret in production, ``~/.llmops/keys.json`` locally)::

    {"keys": [{"id": "search-team-prod", "sha256": "<hex>", "team": "search",
               "rate_limit_per_minute": 600, "models": ["*"]}]}

A fast hash is the right tool here: the keys carry 256 bits of entropy, so there is nothing
to brute-force, and every request must be checked quickly. Comparisons are constant-time.
Clear keys are never logged; logs and metrics carry the key ``id`` only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KEY_PREFIX = "sk-llmops-"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class AuthError(Exception):
    """Authentication or authorisation failed. ``status`` is 401 (no usable credentials) or
    403 (credentials present but not accepted); ``code`` is the OpenAI-style error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class KeyStoreError(ValueError):
    """The key secret is malformed (its message names the entry and field)."""


def generate_key() -> str:
    """A new random API key (shown to the user once; store only :func:`hash_key` of it)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 hex digest of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def fingerprint(key: str) -> str:
    """A short, non-reversible tag for a presented key, safe to log (8 hex chars of its hash)."""
    return hash_key(key)[:8]


@dataclass(frozen=True)
class ApiKey:
    """A stored key: its id, hash, owning team, rate limit and the models it may use."""

    id: str
    sha256: str
    team: str = "default"
    rate_limit_per_minute: int | None = None
    models: tuple[str, ...] = ("*",)

    def may_use(self, model: str) -> bool:
        """Whether this key may call ``model``."""
        return "*" in self.models or model in self.models

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "sha256": self.sha256, "team": self.team}
        if self.rate_limit_per_minute is not None:
            out["rate_limit_per_minute"] = self.rate_limit_per_minute
        out["models"] = list(self.models)
        return out


def _parse_entry(i: int, raw: Any) -> ApiKey:
    where = f"keys[{i}]"
    if not isinstance(raw, Mapping):
        raise KeyStoreError(f"{where}: must be an object with id and sha256")
    kid = raw.get("id")
    if not isinstance(kid, str) or not _ID_RE.match(kid):
        raise KeyStoreError(f"{where}.id: must be 1-64 letters, digits, '.', '_' or '-'")
    digest = raw.get("sha256")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise KeyStoreError(
            f"{where}.sha256: must be the 64-char hex SHA-256 of the key "
            "(store the hash, never the key)"
        )
    team = raw.get("team", "default")
    if not isinstance(team, str) or not _ID_RE.match(team):
        raise KeyStoreError(f"{where}.team: must be 1-64 letters, digits, '.', '_' or '-'")
    rpm = raw.get("rate_limit_per_minute")
    if rpm is not None and (not isinstance(rpm, int) or isinstance(rpm, bool) or rpm < 1):
        raise KeyStoreError(f"{where}.rate_limit_per_minute: must be a positive integer")
    models = raw.get("models", ["*"])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise KeyStoreError(f"{where}.models: must be a list of model names or ['*']")
    return ApiKey(id=kid, sha256=digest, team=team, rate_limit_per_minute=rpm, models=tuple(models))


class KeyStore:
    """The hashed keys an application accepts."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        self._by_hash: dict[str, ApiKey] = {}
        ids: set[str] = set()
        for k in keys:
            if k.id in ids:
                raise KeyStoreError(f"duplicate key id {k.id!r}: give every key its own id")
            ids.add(k.id)
            self._by_hash[k.sha256] = k

    def __len__(self) -> int:
        return len(self._by_hash)

    @property
    def keys(self) -> list[ApiKey]:
        return list(self._by_hash.values())

    @classmethod
    def from_json(cls, text: str, source: str = "keys") -> KeyStore:
        """Parse the secret's JSON text."""
        try:
            data = json.loads(text) if text.strip() else {"keys": []}
        except json.JSONDecodeError as exc:
            raise KeyStoreError(
                f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from None
        if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
            raise KeyStoreError(f'{source}: expected {{"keys": [...]}}')
        try:
            return cls(_parse_entry(i, e) for i, e in enumerate(data["keys"]))
        except KeyStoreError as exc:
            raise KeyStoreError(f"{source}: {exc}") from None

    @classmethod
    def load(cls, keys_file: str | None, keys_env: str | None) -> KeyStore:
        """Load from ``keys_file`` if given, else from the environment variable ``keys_env``.
        A missing source gives an empty store (every request is refused when auth is on)."""
        if keys_file:
            p = Path(keys_file).expanduser()
            try:
                return cls.from_json(p.read_text(encoding="utf-8"), source=str(p))
            except FileNotFoundError:
                raise KeyStoreError(
                    f"{p}: key file not found; create it with `llmops keys create` or mount "
                    "the keys secret there"
                ) from None
        if keys_env and os.environ.get(keys_env):
            return cls.from_json(os.environ[keys_env], source=f"${keys_env}")
        return cls()

    def to_json(self) -> str:
        return json.dumps({"keys": [k.to_json() for k in self._by_hash.values()]}, indent=2)

    def lookup(self, presented: str) -> ApiKey | None:
        """The stored key matching ``presented`` (constant-time compare), else None."""
        digest = hash_key(presented)
        found: ApiKey | None = None
        for stored_hash, key in self._by_hash.items():
            if hmac.compare_digest(stored_hash, digest):
                found = key
        return found

    def authenticate(self, authorization: str | None) -> ApiKey:
        """Check an ``Authorization`` header value. Raises :class:`AuthError`: 401 when no
        bearer token is present, 403 when the token is not a known key."""
        if not authorization:
            raise AuthError(
                401,
                "missing_api_key",
                "No API key provided. Send 'Authorization: Bearer <key>'.",
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError(
                401,
                "invalid_authorization_header",
                "Malformed Authorization header. Send 'Authorization: Bearer <key>'.",
            )
        key = self.lookup(token)
        if key is None:
            raise AuthError(
                403,
                "invalid_api_key",
                f"The API key (fingerprint {fingerprint(token)}) is not valid.",
            )
        return key


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token bucket per key: ``limit`` requests per minute, bursts up to ``limit``. State is
    per process (each ingress replica enforces the limit on its own share of traffic)."""

    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def check(self, key_id: str, limit_per_minute: int) -> float:
        """Take one token for ``key_id``. Returns 0.0 when allowed, else the seconds until a
        token is available (the ``Retry-After`` value)."""
        rate = limit_per_minute / 60.0
        now = self.clock()
        with self._lock:
            b = self._buckets.get(key_id)
            if b is None:
                b = self._buckets[key_id] = _Bucket(tokens=float(limit_per_minute), updated=now)
            b.tokens = min(float(limit_per_minute), b.tokens + (now - b.updated) * rate)
            b.updated = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / rate
