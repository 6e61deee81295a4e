"""Ingestion on Ray Data: one streaming pipeline from a folder or an S3 prefix into the
vector store, built from the ingest stages (:mod:`serving.ingest.sources`,
:mod:`serving.ingest.stages`)::

    list (sharded tasks) -> prepare (progress check, read, decode, chunk)
        -> embed (actor pool, the model loaded once per actor) -> write (batched upserts)

- **Idempotent**: a document's identity is its content hash; storing known text again
  changes nothing.
- **Resumable**: each source's progress record (the fingerprint of the file version read:
  size and mtime, or the S3 ETag) is written in the same transaction as its document, so a
  run killed at any point loses nothing and duplicates nothing, and the next run reads only
  the files it has no record of.
- **Streaming**: the listing streams out of sharded tasks, blocks of at most
  ``block_bytes`` pass between the stages, at most ``queued_blocks`` of them wait between
  two stages (:mod:`serving.ingest.backpressure`), and the driver receives only outcomes,
  a write batch at a time, and counts them (with ``keep_documents=False``): its memory
  does not grow with the corpus.
- Bad files (binary, empty, not UTF-8, too large, unreadable) are skipped with a reason and
  the run goes on.
- It never hangs silently: the Ray it runs on must have the CPUs the stages ask for (else
  :class:`IngestError` says what is missing; :func:`fit_embed_cpus` sizes the embedding
  actors to what is free), and a run that makes no progress for ``stall_timeout_s`` stops
  with an error naming the fix.

The same code runs from ``llmops ingest`` (on the running ``llmops serve``'s Ray, into its
store, or on a local Ray of its own) and as a KubeRay ``RayJob`` on the cluster
(``python -m serving.ingest.pipeline``).
"""

from __future__ import annotations

import _thread
import argparse
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from serving.config import AppConfig, EmbeddingsConfig, VectorStoreConfig, rendered_applications
from serving.ingest.embedders import EmbedderSpec, HashingSpec, ModelSpec
from serving.ingest.records import IngestSummary, Skipped, SourceFile, StoredDocument
from serving.ingest.sources import Location, read_document
from serving.ingest.stages import chunk_document

if TYPE_CHECKING:
    from serving.local import RayAccess

log = logging.getLogger(__name__)

#: The columns every stage passes on (one row per source file).
COLUMNS = (
    "source",
    "uri",
    "size",
    "fingerprint",
    "state",  # pending | skipped | unchanged | stored
    "code",
    "reason",
    "content_hash",
    "title",
    "metadata",
    "chars",
    "chunks",
    "vectors",
    "document_id",
    "stored_chunks",
)


class IngestError(RuntimeError):
    """The pipeline cannot run or stopped (the message names the fix)."""


@dataclass(frozen=True)
class PipelineSettings:
    """How the pipeline splits and sizes its work."""

    chunk_size: int = 1000
    chunk_overlap: int = 150
    max_document_chars: int = 2_000_000
    embed_actors: int = 1
    """Embedding actors (each loads the model once)."""
    embed_cpus: float = 1.0
    """CPUs each embedding actor reserves."""
    embed_gpus: float = 0.0
    """GPUs each embedding actor reserves (on the cluster)."""
    embed_batch_docs: int = 64
    """Documents per embedding call."""
    write_batch_docs: int = 128
    """Documents per store transaction."""
    block_bytes: int = 256 << 10
    """Target size of the blocks passed between stages (Ray Data's default is 128 MiB, which
    would put a whole listing shard, or thousands of documents, in one block that every
    stage and the driver hold whole). Ray Data keeps a little bookkeeping in the driver for
    each block a run makes, so much smaller blocks would make that grow faster with the
    corpus."""
    io_cpus: float = 0.25
    """CPUs of each listing task and of the prepare and write actors (mostly I/O)."""
    list_shards: int = 4
    """Listing tasks (each walks the whole root and keeps its share of the names)."""
    stall_timeout_s: float = 300.0
    """Stop with an error when no document finishes for this long."""
    queued_blocks: int = 8
    """Blocks that may wait between two stages: the driver keeps a record of each block in
    flight, so this bounds what listing far ahead of embedding would otherwise make it hold
    (see :mod:`serving.ingest.backpressure`)."""

    @classmethod
    def from_app(cls, app: AppConfig, **overrides: Any) -> PipelineSettings:
        rag = app.rag
        return cls(
            chunk_size=rag.chunk_size_chars,
            chunk_overlap=rag.chunk_overlap_chars,
            max_document_chars=rag.max_document_chars,
            **overrides,
        )

    def cpus_needed(self) -> float:
        """CPUs the stages hold at once (the embedding actors, prepare, write, a listing
        task)."""
        return self.embed_actors * self.embed_cpus + 3 * self.io_cpus


@dataclass(frozen=True)
class StoreSpec:
    """What an actor needs to open the vector store itself (credentials are fetched where
    it runs)."""

    config: VectorStoreConfig
    dimensions: int

    def open(self) -> Any:
        from serving.stores.factory import open_store

        return open_store(
            self.config, self.dimensions, pool_min_size=0, pool_max_size=1, migrate_on_start=False
        )


# ------------------------------------------------------------------------------ stages


def _row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(values)
    return row


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("source", pa.string()),
            ("uri", pa.string()),
            ("size", pa.int64()),
            ("fingerprint", pa.string()),
            ("state", pa.string()),
            ("code", pa.string()),
            ("reason", pa.string()),
            ("content_hash", pa.string()),
            ("title", pa.string()),
            ("metadata", pa.string()),
            ("chars", pa.int64()),
            ("chunks", pa.list_(pa.string())),
            ("vectors", pa.binary()),
            ("document_id", pa.int64()),
            ("stored_chunks", pa.int64()),
        ]
    )


#: What the last stage passes to the driver: each source's outcome, nothing of its text.
OUTCOME_COLUMNS = (
    "source",
    "state",
    "code",
    "reason",
    "content_hash",
    "document_id",
    "stored_chunks",
)


def _table(rows: list[dict[str, Any]], columns: Sequence[str] = COLUMNS) -> Any:
    import pyarrow as pa

    schema = _schema()
    if columns is not COLUMNS:
        schema = pa.schema([schema.field(c) for c in columns])
    return pa.Table.from_pylist([{c: r[c] for c in columns} for r in rows], schema=schema)


@dataclass(frozen=True)
class ListShard:
    """Lists one shard of the location's files (a Ray Data ``flat_map`` over shard ids),
    streamed: rows leave in blocks as the listing goes, never as one list."""

    location: Location
    shards: int

    def __call__(self, row: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for f in self.location.list(int(row["id"]), self.shards):
            yield {"source": f.source, "uri": f.uri, "size": f.size, "fingerprint": f.fingerprint}


class Prepare:
    """Drops files whose version is already stored (their progress record matches), reads
    and decodes the rest, and chunks them; unreadable files become skipped rows."""

    def __init__(self, store: StoreSpec, location: Location, settings: PipelineSettings) -> None:
        self.store = store.open()
        self.settings = settings
        self.load = location.loader()

    def __call__(self, batch: Any) -> Any:
        files = batch.to_pylist()
        known = self.store.progress([f["source"] for f in files])
        out = []
        s = self.settings
        for f in files:
            rec = known.get(f["source"])
            if rec is not None and rec.fingerprint == f["fingerprint"]:
                out.append(
                    _row(
                        **f,
                        state="unchanged",
                        content_hash=rec.content_hash,
                        document_id=rec.document_id,
                    )
                )
                continue
            file = SourceFile(f["source"], f["uri"], int(f["size"]), f["fingerprint"])
            doc = read_document(file, s.max_document_chars, self.load)
            if isinstance(doc, Skipped):
                out.append(_row(**f, state="skipped", code=doc.code, reason=doc.reason))
                continue
            chunked = chunk_document(doc, s.chunk_size, s.chunk_overlap)
            out.append(
                _row(
                    **f,
                    state="pending",
                    content_hash=doc.content_hash,
                    title=doc.title,
                    metadata=json.dumps(doc.metadata),
                    chars=len(doc.text),
                    chunks=[c.text for c in chunked.chunks],
                )
            )
        return _table(out)

    def __del__(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()


class Embed:
    """Embeds the chunks of pending documents (one actor of the pool; the model is built
    once, in the actor)."""

    def __init__(self, spec: EmbedderSpec, num_threads: int | None = None) -> None:
        self.embedder = spec.build(num_threads)

    def __call__(self, batch: Any) -> Any:
        rows = batch.to_pylist()
        texts = [t for r in rows if r["state"] == "pending" for t in r["chunks"]]
        vectors = self.embedder.encode(texts) if texts else np.zeros((0, 0), np.float32)
        i = 0
        for r in rows:
            if r["state"] == "pending":
                n = len(r["chunks"])
                r["vectors"] = np.ascontiguousarray(vectors[i : i + n], np.float32).tobytes()
                i += n
        return _table(rows)


class Write:
    """Stores pending documents in batches, each batch one transaction with the progress
    records of its sources; passes every source's outcome on (:data:`OUTCOME_COLUMNS`)."""

    def __init__(self, store: StoreSpec) -> None:
        self.store = store.open()
        self.dimensions = store.dimensions

    def __call__(self, batch: Any) -> Any:
        from serving.stores.base import ChunkIn, DocumentIn

        rows = batch.to_pylist()
        pending = [r for r in rows if r["state"] == "pending"]
        docs = []
        for r in pending:
            vectors = np.frombuffer(r["vectors"] or b"", np.float32).reshape(-1, self.dimensions)
            chunks = [
                ChunkIn(i, t, v) for i, (t, v) in enumerate(zip(r["chunks"], vectors, strict=True))
            ]
            docs.append(
                DocumentIn(
                    r["source"],
                    r["content_hash"],
                    chunks,
                    r["title"],
                    json.loads(r["metadata"] or "{}"),
                    int(r["chars"] or 0),
                    r["fingerprint"],
                )
            )
        results = self.store.upsert_documents(docs) if docs else []
        for r, res in zip(pending, results, strict=True):
            r.update(
                state="stored",
                code=res.status,
                document_id=res.document_id,
                stored_chunks=res.chunks,
            )
        return _table(rows, OUTCOME_COLUMNS)

    def __del__(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()


# ------------------------------------------------------------------------------ driver


#: How long a run waits for the CPUs it needs before it is refused.
RESOURCE_WAIT_S = 10.0

#: The least CPU :func:`fit_embed_cpus` gives an embedding actor.
MIN_EMBED_CPUS = 0.1


def fit_embed_cpus(
    settings: PipelineSettings, free_cpus: float, most: float = 1.0
) -> PipelineSettings:
    """``settings`` with each embedding actor's CPU reservation fitted to ``free_cpus``: what
    the listing, reading and writing stages leave, shared by the actors, at most ``most``
    each, rounded down to 0.05 CPU. Beside a running server on a small machine the actors
    then take what is free instead of waiting for CPUs the server holds. Never below
    :data:`MIN_EMBED_CPUS`: when even that does not fit, :func:`check_resources` refuses."""
    spare = (free_cpus - 3 * settings.io_cpus) / max(1, settings.embed_actors)
    fitted = math.floor(spare * 20 + 1e-9) / 20
    return replace(settings, embed_cpus=max(MIN_EMBED_CPUS, min(most, fitted)))


def check_resources(settings: PipelineSettings, free_cpus: float, where: str) -> None:
    """Refuse to start a pipeline the Ray cluster cannot schedule (it would wait forever)."""
    need = settings.cpus_needed()
    if free_cpus + 1e-9 < need:
        raise IngestError(
            f"{where} has {free_cpus:g} CPUs free; the ingest pipeline needs {need:g} "
            f"({settings.embed_actors} embedding actor(s) x {settings.embed_cpus:g} CPU + "
            f"{3 * settings.io_cpus:g} for listing, reading and writing): use fewer actors "
            "(--actors 1), less CPU per actor (--actor-cpus 0.5), or stop what holds the CPUs"
        )


def _outcome(row: dict[str, Any]) -> StoredDocument | Skipped:
    if row["state"] == "skipped":
        return Skipped(row["source"], row["code"], row["reason"])
    if row["state"] == "unchanged":
        return StoredDocument(
            row["source"], int(row["document_id"]), "unchanged", None, row["content_hash"]
        )
    return StoredDocument(
        row["source"],
        int(row["document_id"]),
        row["code"],
        None if row["stored_chunks"] is None else int(row["stored_chunks"]),
        row["content_hash"],
    )


@dataclass
class _Watchdog:
    """Interrupts the driver when no outcome arrived for ``timeout_s``."""

    timeout_s: float
    last: float = field(default_factory=time.monotonic)
    fired: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)

    def beat(self) -> None:
        self.last = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.timeout_s / 4)):
            if time.monotonic() - self.last > self.timeout_s:
                self.fired = True
                _thread.interrupt_main()
                return

    def __enter__(self) -> _Watchdog:
        threading.Thread(target=self._run, daemon=True, name="ingest-watchdog").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def run_pipeline(
    location: Location,
    store: StoreSpec,
    embedder: EmbedderSpec,
    settings: PipelineSettings,
    on_progress: Callable[[IngestSummary, list[StoredDocument | Skipped]], None] | None = None,
    keep_documents: bool = False,
    worker_env: Mapping[str, str] | None = None,
) -> IngestSummary:
    """Run the pipeline on the Ray this process is connected to (see :func:`connect_ray`)
    and return the run's summary. The store's schema is migrated first (when its config
    allows), so the actors only write. ``worker_env`` is set in the environment of the
    stages that read the source (e.g. S3 credentials of another account)."""
    import ray

    if embedder.dimensions != store.dimensions:
        raise IngestError(
            f"the embedder gives {embedder.dimensions}-dimensional vectors, the store holds "
            f"{store.dimensions}: use the serve config's embedding model"
        )
    from serving.stores.factory import open_store

    open_store(store.config, store.dimensions, pool_min_size=0, pool_max_size=1).close()
    check_resources(settings, free_cpus(settings.cpus_needed(), RESOURCE_WAIT_S), "Ray")
    from serving.ingest import backpressure

    s = settings
    # the Dataset takes a copy of the current DataContext when it is made
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.target_max_block_size = s.block_bytes
    backpressure.enable(ctx, s.queued_blocks)
    shards = max(1, s.list_shards)
    threads = max(1, int(s.embed_cpus)) if s.embed_gpus == 0 else None
    env: dict[str, Any] = {"runtime_env": {"env_vars": dict(worker_env)}} if worker_env else {}
    ds = (
        # shard ids made here (no read tasks: those would ask for a whole CPU each)
        ray.data.from_items([{"id": i} for i in range(shards)], override_num_blocks=shards)
        .flat_map(ListShard(location, shards), num_cpus=s.io_cpus, **env)
        .map_batches(
            Prepare,
            fn_constructor_args=(store, location, s),
            batch_size=s.embed_batch_docs,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=1),
            num_cpus=s.io_cpus,
            **env,
        )
        .map_batches(
            Embed,
            fn_constructor_args=(embedder, threads),
            batch_size=s.embed_batch_docs,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=s.embed_actors),
            num_cpus=s.embed_cpus,
            num_gpus=s.embed_gpus or None,
        )
        .map_batches(
            Write,
            fn_constructor_args=(store,),
            batch_size=s.write_batch_docs,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=1),
            num_cpus=s.io_cpus,
        )
    )
    summary = IngestSummary(keep_documents=keep_documents)
    hook = on_progress or (lambda _s, _d: None)
    watchdog = _Watchdog(s.stall_timeout_s)
    try:
        with watchdog:
            # outcomes a bounded number of rows at a time, however large a block is
            batches: Any = ds.iter_batches(batch_format="pyarrow", batch_size=s.write_batch_docs)
            for batch in batches:
                done = [_outcome(r) for r in batch.to_pylist()]
                summary.files += len(done)
                for item in done:
                    summary.add(item)
                watchdog.beat()
                hook(summary, done)
    except KeyboardInterrupt:
        if not watchdog.fired:
            raise
        now_free = ray.available_resources()  # type: ignore[no-untyped-call]
        cpus = float(now_free.get("CPU", 0.0))
        raise IngestError(
            f"the ingest pipeline made no progress for {s.stall_timeout_s:g} s and was stopped "
            f"after {summary.done} documents (what was stored stays; a rerun goes on from "
            f"there). Ray has {cpus:g} CPUs free now: if something else took them, stop it or "
            "rerun with fewer actors or less CPU per actor (--actors 1 --actor-cpus "
            f"{MIN_EMBED_CPUS:g}); if single documents take this long, raise --stall-timeout"
        ) from None
    summary.finished = time.monotonic()
    return summary


def connect_ray(address: str | RayAccess | None = None, num_cpus: int | None = None) -> str:
    """Join the Ray at ``address`` (a running ``llmops serve``'s, with what its server file
    says about joining it, or a cluster's), else start a local one with ``num_cpus``
    (default: this machine's cores). Returns where it runs."""
    import ray

    from serving.local import LocalRuntimeError, RayAccess, _init_ray

    if ray.is_initialized():
        return "the Ray this process runs"
    if address:
        access = address if isinstance(address, RayAccess) else RayAccess(address)
        try:
            access.join()
        except LocalRuntimeError as exc:
            raise IngestError(
                f"{exc}. Is the server still running? Leave out --ray-address to start a Ray "
                "of its own"
            ) from None
        return f"the Ray at {access.address}"
    cpus = num_cpus or os.cpu_count() or 2
    _init_ray(cpus)
    return f"a local Ray ({cpus} CPUs)"


def free_cpus(at_least: float = 0.0, wait_s: float = 0.0) -> float:
    """CPUs the Ray this process is connected to has free, waiting up to ``wait_s`` for
    ``at_least`` (the actors of a run that just ended take a moment to give theirs back)."""
    import ray

    deadline = time.monotonic() + wait_s
    while True:
        free: dict[str, float] = ray.available_resources()  # type: ignore[no-untyped-call]
        cpus = float(free.get("CPU", 0.0))
        if cpus + 1e-9 >= at_least or time.monotonic() >= deadline:
            return cpus
        time.sleep(0.2)


def embedder_spec(embeddings: EmbeddingsConfig, hashing: bool = False) -> EmbedderSpec:
    """The serve config's model, or (``hashing``) the feature-hashing stand-in of its size."""
    return HashingSpec(embeddings.dimensions) if hashing else ModelSpec(embeddings)


# -------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m serving.ingest.pipeline SOURCE [--config serve.yaml]``: the RayJob's
    entry point (on a cluster: the head's Ray; the store's credentials from the pod)."""
    from serving.config import load_serve_config

    parser = argparse.ArgumentParser(prog="python -m serving.ingest.pipeline")
    parser.add_argument("source", help="a folder or s3://bucket/prefix/")
    parser.add_argument("--config", help="serve config (YAML); its first application")
    parser.add_argument(
        "--serve-config-env",
        help="an environment variable holding the Ray Serve config (serveConfigV2) instead",
    )
    parser.add_argument("--app", help="the application (default: the first)")
    parser.add_argument("--actors", type=int, default=1)
    parser.add_argument("--actor-cpus", type=float, default=1.0)
    parser.add_argument("--actor-gpus", type=float, default=0.0)
    parser.add_argument("--ray-address", default=os.environ.get("RAY_ADDRESS"))
    parser.add_argument("--stall-timeout", type=float, default=300.0)
    parser.add_argument("--hashing-embedder", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.serve_config_env:
            app = app_from_serve_config(
                os.environ.get(args.serve_config_env, ""), args.app, f"${args.serve_config_env}"
            )
        else:
            config = load_serve_config(args.config) if args.config else None
            first = config.applications[0] if config else AppConfig()
            app = config.app(args.app) if config and args.app else first
        settings = PipelineSettings.from_app(
            app,
            embed_actors=args.actors,
            embed_cpus=args.actor_cpus,
            embed_gpus=args.actor_gpus,
            stall_timeout_s=args.stall_timeout,
        )
        location = Location.parse(args.source, os.environ.get("AWS_ENDPOINT_URL_S3"))
        connect_ray(args.ray_address)
        summary = run_pipeline(
            location,
            StoreSpec(app.vector_store, app.embeddings.dimensions),
            embedder_spec(app.embeddings, args.hashing_embedder),
            settings,
            on_progress=_log_progress,
        )
    except Exception as exc:
        print(f"ingest failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary.to_json(), sort_keys=True))
    return 4 if summary.skipped_count else 0


def app_from_serve_config(
    text: str, name: str | None = None, source: str = "serveConfigV2"
) -> AppConfig:
    """An application's config out of a rendered Ray Serve config (``serveConfigV2``, read by
    :func:`serving.config.rendered_applications`): the one named ``name``, else the first.
    ``source`` names where the text came from in error messages."""
    apps = rendered_applications(text, source)
    if name is None:
        return apps[0]
    for app in apps:
        if app.name == name:
            return app
    raise IngestError(
        f"no application {name!r} in the Serve config; it has "
        f"{', '.join(repr(a.name) for a in apps)}: pass one of them with --app"
    )


def _log_progress(summary: IngestSummary, done: list[StoredDocument | Skipped]) -> None:
    for item in done:
        if isinstance(item, Skipped):
            log.warning("skipped %s (%s: %s)", item.source, item.code, item.reason)
    log.info("progress: %d documents, %d chunks written", summary.done, summary.chunks_written)


if __name__ == "__main__":
    sys.exit(main())
