"""``llmops smoke --endpoint URL``: health, models, chat (plain and streamed), embeddings, a
cited RAG answer and latency against a budget. With ``--stack`` the result is recorded for
the release that stack pins, where ``llmops promote`` reads it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from llmops.release.checks import Check
    from llmops.release.results import Kind
    from llmops.release.stacks import PinnedStack

EndpointOption = Annotated[
    str,
    typer.Option("--endpoint", "-e", help="Base URL of the API, e.g. http://127.0.0.1:8000 or https://llm.example.com."),
]
StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack", "-s",
        help="Record the result for the release this stack pins (.llmops/results/<stack>/<fingerprint>/).",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option("--api-key", help="API key. Default: $LLMOPS_API_KEY, else the local server's key for a loopback endpoint.", show_default=False),
]
ProgramOption = Annotated[
    Path | None,
    typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
]
ResultsOption = Annotated[
    Path | None,
    typer.Option("--results-dir", help="Where results are kept (default: $LLMOPS_RESULTS_DIR, else .llmops/results).", file_okay=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result document as JSON on stdout.")]
IngestOption = Annotated[
    bool, typer.Option("--ingest/--no-ingest", help="Store the documents asked about first (idempotent).")
]


def resolve_api_key(api_key: str | None, endpoint: str) -> str | None:
    """``api_key``, else ``$LLMOPS_API_KEY``, else (for a loopback endpoint) the key a local
    ``llmops serve`` wrote; ``None`` when there is none (the API then answers 401)."""
    if api_key:
        return api_key
    if os.environ.get("LLMOPS_API_KEY"):
        return os.environ["LLMOPS_API_KEY"]
    from llmops.release.api import is_loopback

    if not is_loopback(endpoint):
        return None
    try:
        from serving.local import LocalPaths
    except ImportError:  # the serving runtime is not installed here
        return None
    key_file = LocalPaths.default().local_key_file
    return key_file.read_text(encoding="utf-8").strip() if key_file.is_file() else None


def pinned_stack(stack: str | None, program: Path | None) -> PinnedStack | None:
    """The stack whose release a result is recorded for (its release must be pinned)."""
    if stack is None:
        return None
    from llmops.commands.plan import default_program_dir
    from llmops.release.stacks import load_stack

    pinned = load_stack(program or default_program_dir(), stack)
    pinned.release()
    return pinned


def finish(
    console: Console,
    kind: Kind,
    pinned: PinnedStack | None,
    results_dir: Path | None,
    document: dict[str, Any],
    checks: list[Check],
    summary: str,
    as_json: bool,
) -> None:
    """Prints the verdict, records the result for the stack's release and exits 1 on a
    failed check."""
    from llmops.release.errors import ChecksFailed
    from llmops.release.render import print_checks
    from llmops.release.results import results_root, write_result

    passed = all(c.passed for c in checks)
    print_checks(console, checks)
    where = ""
    if pinned is not None:
        path = write_result(results_root(pinned.root, results_dir), pinned.release(), kind, document, passed=passed)
        where = f"; recorded in {path}"
    if as_json:
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
    console.print(f"{summary}{where}", highlight=False, soft_wrap=True)
    if not passed:
        failed = ", ".join(c.name for c in checks if not c.passed)
        raise ChecksFailed(f"{kind} failed: {failed}")


def latency_budget(pinned: PinnedStack | None) -> float:
    """The stack's ``llmops:alerting.latencyP99Ms``, else the default budget."""
    from llmops.release.smoke import DEFAULT_LATENCY_BUDGET_MS

    alerting = pinned.file.config.get("llmops:alerting") if pinned is not None else None
    value = alerting.get("latencyP99Ms") if isinstance(alerting, dict) else None
    return float(value) if isinstance(value, int | float) and value > 0 else DEFAULT_LATENCY_BUDGET_MS


def smoke_command(
    endpoint: EndpointOption,
    stack: StackOption = None,
    api_key: ApiKeyOption = None,
    model: Annotated[str | None, typer.Option("--model", help="Model for the chat checks (default: the server's choice).")] = None,
    latency_budget_ms: Annotated[
        float | None,
        typer.Option("--latency-budget-ms", help="Slowest request allowed. Default: the stack's llmops:alerting.latencyP99Ms, else 5000.", min=1),
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each answer.", min=0.1)] = 30.0,
    ingest: IngestOption = True,
    rag_question: Annotated[
        str | None, typer.Option("--rag-question", help="Ask this for the RAG check instead of the probe question (use with --no-ingest).")
    ] = None,
    program: ProgramOption = None,
    results_dir: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check an endpoint: health, models, chat, streamed chat, embeddings, a RAG answer with
    citations and latency against a budget; exit 1 when a check fails."""
    from rich.console import Console

    from llmops.release.api import ApiClient
    from llmops.release.smoke import SmokeOptions, run_smoke

    pinned = pinned_stack(stack, program)
    options = SmokeOptions(
        latency_budget_ms=latency_budget_ms or latency_budget(pinned),
        model=model,
        ingest=ingest,
        rag_question=rag_question,
    )
    console = Console(stderr=as_json)
    with ApiClient(endpoint, resolve_api_key(api_key, endpoint), timeout_s=timeout, feature="smoke") as client:
        release = f" (release {pinned.release().short} of {pinned.name})" if pinned else ""
        console.print(f"[bold]smoke[/] {client.endpoint}{release}", highlight=False)
        report = run_smoke(client, options)
    finish(console, "smoke", pinned, results_dir, report.to_document(), report.checks, report.summary, as_json)


def register(app: typer.Typer) -> None:
    app.command("smoke")(smoke_command)
