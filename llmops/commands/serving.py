"""Serving commands: ``serve`` (the whole RAG app locally, on CPU), ``ingest`` (load a
folder of Markdown/text files), ``stats`` (what is stored), ``ask`` (a cited answer),
``keys`` (API keys) and ``serve-config`` (render the Ray Serve / KubeRay ``serveConfigV2``
document).

Heavy imports (ray, torch, the serving deployments) happen inside the commands, so
``llmops --help`` stays fast."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from core.errors import LlmopsError, UsageError

if TYPE_CHECKING:
    from serving.client import RagClient
    from serving.config import AppConfig
    from serving.ingest.records import IngestSummary, Skipped, StoredDocument
    from serving.local import EmbeddedPostgres, LocalPaths, RunningServer

#: Exit code of ``llmops ingest`` when it finished but skipped some files (1 is a failed
#: run, 2 bad command-line input, 3 a policy violation).
INGEST_SKIPPED_EXIT_CODE = 4

# soft_wrap: long paths and messages are never broken across lines (output is often piped)
console = Console(soft_wrap=True)

HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="State directory (keys, embedded database). Default: $LLMOPS_HOME or ~/.llmops.",
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url", help="Server URL. Default: $LLMOPS_URL, else the running `llmops serve`."
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key. Default: $LLMOPS_API_KEY, else the local key.",
        show_default=False,
    ),
]


def _paths(home: Path | None) -> LocalPaths:
    from serving.local import LocalPaths

    return LocalPaths(home.expanduser()) if home else LocalPaths.default()


def _client(url: str | None, api_key: str | None, home: Path | None) -> RagClient:
    from serving.client import ClientError, RagClient, resolve_key, resolve_url

    paths = _paths(home)
    try:
        return RagClient(resolve_url(url, paths), resolve_key(api_key, paths))
    except ClientError as exc:
        raise LlmopsError(str(exc)) from None


def serve(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Serve config (YAML); its first application runs. Default: built-in local defaults.",
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on (with 127.0.0.1, Ray itself listens on loopback only)."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    num_cpus: Annotated[int | None, typer.Option(help="CPUs Ray may use. Default: all.")] = None,
    start_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds the app may take to start once Ray runs; then it stops with the reason."
        ),
    ] = 300.0,
    home: HomeOpt = None,
) -> None:
    """Run the RAG app locally on CPU (embedded PostgreSQL + pgvector, packaged MiniLM).

    Redis is used when REDIS_URL is set or a local server answers (else an in-process
    cache); the LLM comes from --config or the LLMOPS_LLM_* variables (else answers are
    extractive). A local API key is created on first start and used by the CLI. A config
    that needs more CPUs or GPUs than Ray has here is refused before anything starts.
    """
    from serving.config import ConfigError
    from serving.local import (
        LocalRuntimeError,
        check_resources,
        discover_redis,
        llm_from_env,
        load_base_config,
        local_app_config,
        start_local,
        start_postgres,
        stop_local,
    )

    paths = _paths(home)
    try:
        base = load_base_config(str(config) if config else None)
        models = llm_from_env() if base is None else None
        # the CPU check needs no Ray: refuse before starting anything
        check_resources(
            local_app_config(paths, "postgresql:///unused", None, base=base, models=models),
            {"CPU": float(num_cpus or os.cpu_count() or 1)},
        )
        paths.home.mkdir(parents=True, exist_ok=True)
        console.print(f"state directory: {paths.home}")
        pg = start_postgres(paths.pgdata)
    except (ConfigError, LocalRuntimeError, ValueError) as exc:
        raise LlmopsError(str(exc)) from None
    try:
        redis_url = discover_redis()
        app_cfg = local_app_config(paths, pg.dsn, redis_url, base=base, models=models)
        console.print("vector store: embedded PostgreSQL + pgvector")
        console.print(
            "cache: "
            + (
                "redis at " + redis_url.split("@")[-1]
                if redis_url
                else "in-process (no Redis found; set REDIS_URL to use one)"
            )
        )
        console.print(
            "models: "
            + ", ".join(
                f"{m.name} ({'/'.join(b.kind for b in m.backends)})" for m in app_cfg.models
            )
        )
        console.print(
            "starting Ray Serve (first start loads the models; this takes a little while) ..."
        )
        try:
            stack = start_local(
                app_cfg,
                paths,
                host=host,
                port=port,
                num_cpus=num_cpus,
                ready_timeout_s=start_timeout,
            )
        except LocalRuntimeError as exc:
            console.print("stopping ...")
            stop_local(paths)
            raise LlmopsError(str(exc)) from None
        if stack.key_created:
            console.print(
                f"created a local API key, saved to {paths.local_key_file} (the CLI uses it)"
            )
        console.print(f"[bold green]ready[/] at {stack.url}  (OpenAI-compatible: {stack.url}/v1)")
        console.print(
            'next: `llmops ingest ./docs`, then `llmops ask "..."`. Ctrl-C stops the server.'
        )
        done = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C, or a supervisor stopping us
            signal.signal(sig, lambda *_: done.set())
        try:
            while not done.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            console.print("stopping ...")
            stop_local(paths)
    finally:
        pg.stop()  # the embedded PostgreSQL this command started goes with it


def _rate(summary: IngestSummary) -> str:
    return (
        f"{summary.done} files, {summary.chunks_written} chunks, "
        f"{summary.chunks_written / summary.seconds:.1f} chunks/s"
    )


def ingest(
    path: Annotated[
        str,
        typer.Argument(
            help="A folder of Markdown/text files (or one file), or s3://bucket/prefix/."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary instead of progress lines.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help=(
                "Serve config (YAML): its first application's store, embedding model and "
                "chunking. Default: the running `llmops serve`'s, else the local defaults."
            ),
        ),
    ] = None,
    actors: Annotated[
        int, typer.Option(help="Embedding actors (each loads the model once).", min=1)
    ] = 1,
    actor_cpus: Annotated[
        float | None,
        typer.Option(
            help="CPUs each embedding actor reserves. Default: what Ray has free beside the other stages, at most 1.",
            min=0.05,
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="The Ray to run on. Default: the running `llmops serve`'s, else a new local one sized to this machine."
        ),
    ] = None,
    stall_timeout: Annotated[
        float, typer.Option(help="Stop with an error when nothing finishes for this many seconds.")
    ] = 300.0,
    home: HomeOpt = None,
) -> None:
    """Chunk, embed and store documents with the ingest pipeline (Ray Data).

    With `llmops serve` running, the pipeline runs on the server's Ray and writes into its
    store; otherwise on a Ray of its own, into the embedded PostgreSQL. Idempotent and
    resumable: files already stored are not read again, and a run stopped at any point goes
    on where it stopped. A file that cannot be ingested (binary, not UTF-8, empty, too
    large, unreadable) is skipped with the reason and the run goes on; the exit code is
    then 4.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from serving.ingest.records import StoredDocument, describe

    interactive = console.is_terminal and not as_json
    progress: Progress | None = None
    task: Any = None
    if interactive:
        progress = Progress(
            TextColumn("ingesting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files, {task.fields[chunks]} chunks, {task.fields[rate]} chunks/s"),
            TimeElapsedColumn(),
            console=console,
        )
        task = progress.add_task("ingest", total=None, chunks=0, rate="0.0")

    def on_progress(summary: IngestSummary, done: list[StoredDocument | Skipped]) -> None:
        if as_json:
            return
        for item in done:
            if interactive and getattr(item, "status", "") == "unchanged":
                continue  # the bar counts them; only changes get a line
            console.print(describe(item), highlight=False, markup=False)
        if progress is not None:
            progress.update(
                task,
                completed=summary.done,
                chunks=summary.chunks_written,
                rate=f"{summary.chunks_written / summary.seconds:.1f}",
            )
        elif any(isinstance(i, StoredDocument) for i in done):
            console.print(f"progress: {_rate(summary)}", highlight=False)  # after each batch

    # with --json, stdout holds the summary only: what is said along the way goes to stderr
    say = Console(stderr=True, soft_wrap=True) if as_json else console
    try:
        summary = _run_ingest(
            path,
            config,
            actors,
            actor_cpus,
            ray_address,
            stall_timeout,
            home,
            on_progress,
            say,
            progress,
        )
    finally:
        if progress is not None:
            progress.stop()
    if as_json:
        sys.stdout.write(json.dumps(summary.to_json(), indent=2) + "\n")
    else:
        counts = ", ".join(f"{n} {s}" for s, n in summary.counts().items())
        console.print(
            f"ingested {summary.files} files: {counts} ({summary.chunks_written} chunks written, "
            f"{summary.seconds:.1f}s)",
            highlight=False,
        )
    if summary.skipped_count:
        if not as_json:
            console.print(
                f"{summary.skipped_count} file(s) skipped; see the reasons above", highlight=False
            )
        raise typer.Exit(INGEST_SKIPPED_EXIT_CODE)


def _ingest_app(
    paths: LocalPaths, config: Path | None, server: RunningServer | None
) -> tuple[AppConfig, EmbeddedPostgres | None]:
    """The application ingest writes for: ``--config``'s first one, else the running
    server's; with no DSN for a pgvector store, the running server's embedded PostgreSQL,
    else one started here (returned, to be stopped after the run)."""
    from serving.config import AppConfig
    from serving.local import load_base_config, local_app_config, start_postgres

    base = load_base_config(str(config) if config else None)
    if base is None and server is not None and server.app is not None:
        return server.app, None
    store = (base or AppConfig()).vector_store
    dsn = store.dsn or (os.environ.get(store.dsn_env) if store.dsn_env else None)
    pg = None
    if not dsn and store.engine == "pgvector":
        running = server.app.vector_store if server is not None and server.app is not None else None
        if running is not None and running.engine == "pgvector" and running.dsn:
            dsn = running.dsn  # the running server's embedded PostgreSQL
        else:
            pg = start_postgres(paths.pgdata)
            dsn = pg.dsn
    app = (
        base
        if base is not None and not dsn
        else local_app_config(paths, dsn or "", None, base=base)
    )
    return app, pg


def _run_ingest(
    source: str,
    config: Path | None,
    actors: int,
    actor_cpus: float | None,
    ray_address: str | None,
    stall_timeout: float,
    home: Path | None,
    on_progress: Any,
    say: Console,
    progress: Any,
) -> IngestSummary:
    """``llmops ingest``: the Ray Data pipeline (``serving/ingest/pipeline.py``) on the running
    server's Ray, into its store; with no server, on a local Ray sized to this machine."""
    from dataclasses import replace

    from serving.config import ConfigError
    from serving.ingest.pipeline import (
        IngestError,
        PipelineSettings,
        StoreSpec,
        connect_ray,
        embedder_spec,
        fit_embed_cpus,
        free_cpus,
        run_pipeline,
    )
    from serving.ingest.sources import TEXT_SUFFIXES, Location, SourceError
    from serving.local import LocalRuntimeError, running_server

    paths = _paths(home)
    pg = None
    server = None
    try:
        location = Location.parse(source, os.environ.get("AWS_ENDPOINT_URL_S3"))
        if location.kind == "dir" and next(location.list(), None) is None:
            raise LlmopsError(
                f"no Markdown/text files ({', '.join(TEXT_SUFFIXES)}) under {location}"
            )
        server = running_server(paths)
        app, pg = _ingest_app(paths, config, server)
        joined = server.ray if server is not None else None
        if joined is not None and ray_address in (None, joined.address):
            connect_ray(joined)
            where = f"the running `llmops serve`'s Ray ({joined.address})"
        else:
            where = connect_ray(ray_address)
        settings = PipelineSettings.from_app(
            app, embed_actors=actors, stall_timeout_s=stall_timeout
        )
        if actor_cpus is None:
            settings = fit_embed_cpus(settings, free_cpus())
        else:
            settings = replace(settings, embed_cpus=actor_cpus)
        say.print(
            f"ingesting {location} on {where} into the {app.vector_store.engine} store of "
            f"application {app.name!r} ({actors} embedding actor(s) x {settings.embed_cpus:g} CPU)",
            highlight=False,
            markup=False,
        )
        if progress is not None:
            progress.start()
        # the stages that read S3 run in Ray's workers (the server's, when it runs): they get
        # this shell's AWS settings, as the listing and reading here would
        aws = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        summary = run_pipeline(
            location,
            StoreSpec(app.vector_store, app.embeddings.dimensions),
            embedder_spec(app.embeddings),
            settings,
            on_progress=on_progress,
            worker_env=aws if location.kind == "s3" and aws else None,
        )
    except (ConfigError, IngestError, LocalRuntimeError, SourceError, RuntimeError) as exc:
        raise LlmopsError(str(exc)) from None
    finally:
        if pg is not None and server is None:
            pg.stop()  # started here; a running server keeps its own
    if summary.files == 0:
        raise LlmopsError(
            f"no Markdown/text files ({', '.join(TEXT_SUFFIXES)}) under {location}: check the path"
        )
    return summary


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    home: HomeOpt = None,
) -> None:
    """Count what the server stores: documents and chunks, in total and per source."""
    from serving.client import ClientError

    client = _client(url, api_key, home)
    try:
        data = client.stats()
    except ClientError as exc:
        raise LlmopsError(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    console.print(f"{data['documents']} documents, {data['chunks']} chunks", highlight=False)
    rows = data.get("sources") or []
    if rows:
        width = max(len(r["source"]) for r in rows)
        console.print(f"  {'source':<{width}}  {'chunks':>7}  {'chars':>9}", highlight=False)
        for r in rows:
            console.print(
                f"  {r['source']:<{width}}  {r['chunks']:>7}  {r['chars']:>9}",
                highlight=False,
                markup=False,
            )


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    model: Annotated[
        str | None, typer.Option(help="Model name (default: the router's choice).")
    ] = None,
    top_k: Annotated[int | None, typer.Option(help="Passages to retrieve.")] = None,
    no_retrieval: Annotated[
        bool, typer.Option("--no-retrieval", help="Ask the model without documents.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON response.")] = False,
    url: UrlOpt = None,
    api_key: KeyOpt = None,
    home: HomeOpt = None,
) -> None:
    """Answer a question from the ingested documents and print the cited sources."""
    from serving.client import ClientError

    if not question.strip():
        raise UsageError(
            'question: empty; pass the question as an argument, e.g. llmops ask "How do I deploy?"'
        )
    client = _client(url, api_key, home)
    try:
        resp = client.ask(question, model=model, top_k=top_k, retrieval=not no_retrieval)
    except ClientError as exc:
        raise LlmopsError(str(exc)) from None
    if as_json:
        sys.stdout.write(json.dumps(resp, indent=2) + "\n")
        return
    answer = resp["choices"][0]["message"]["content"]
    meta = resp.get("llmops", {})
    console.print(answer, highlight=False, markup=False)
    cites = resp.get("citations") or []
    if cites:
        console.print("\n[bold]Sources:[/]")
        for c in cites:
            console.print(
                f"  [{c['index']}] {c['source']}  (score {c['score']:.2f})",
                highlight=False,
                markup=False,
            )
    else:
        console.print("\n(no sources: nothing relevant was retrieved)")
    console.print(
        f"\n[dim]model {resp.get('model')} via {meta.get('backend')}, cache {meta.get('cache')}, "
        f"{resp.get('usage', {}).get('total_tokens', 0)} tokens[/]",
        highlight=False,
    )


keys_app = typer.Typer(
    help="Manage API keys of the local server (stored hashed in keys.json).", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    key_id: Annotated[str, typer.Argument(help="Key id (shown in logs and metrics).")],
    team: Annotated[str, typer.Option(help="Team the usage is attributed to.")] = "default",
    rate_limit: Annotated[
        int | None, typer.Option(help="Requests per minute (default: the server's).")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Allowed model (repeat); default all.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Create a key and print it once (only its SHA-256 is stored)."""
    from serving.auth import KeyStoreError
    from serving.local import LocalRuntimeError, add_key

    try:
        key = add_key(_paths(home), key_id, team, rate_limit, tuple(model) if model else ("*",))
    except (LocalRuntimeError, KeyStoreError) as exc:
        raise LlmopsError(str(exc)) from None
    console.print(f"created key {key_id!r} for team {team!r}. Store it now; it is not shown again:")
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list(home: HomeOpt = None) -> None:
    """List key ids, teams and limits (never the keys)."""
    from serving.local import load_keys

    for k in load_keys(_paths(home)).keys:
        rpm = k.rate_limit_per_minute or "default"
        console.print(
            f"{k.id}\tteam={k.team}\trate_limit={rpm}/min\tmodels={','.join(k.models)}\tsha256={k.sha256[:12]}...",
            highlight=False,
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id to remove.")], home: HomeOpt = None
) -> None:
    """Remove a key (a running server picks the change up within seconds)."""
    from serving.local import revoke_key

    if not revoke_key(_paths(home), key_id):
        raise UsageError(f"no key with id {key_id!r}; see `llmops keys list`")
    console.print(f"revoked {key_id!r}")


def serve_config(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Serve config (YAML). Default: built-in defaults."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Render the Ray Serve config (``serve deploy`` file; KubeRay ``serveConfigV2``)."""
    from serving.config import ConfigError, ServeConfig, load_serve_config, render_serve_config_yaml

    try:
        cfg = load_serve_config(config) if config else ServeConfig()
    except ConfigError as exc:
        raise LlmopsError(str(exc)) from None
    text = render_serve_config_yaml(cfg)
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


def register(app: typer.Typer) -> None:
    """Add the serving commands to the CLI."""
    app.command("serve")(serve)
    app.command("ingest")(ingest)
    app.command("stats")(stats)
    app.command("ask")(ask)
    app.command("serve-config")(serve_config)
    app.add_typer(keys_app, name="keys")
