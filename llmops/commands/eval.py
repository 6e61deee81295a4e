"""``llmops eval``: run an evaluation set kept in the repository against an endpoint and
score retrieval hit rate, citation accuracy and answer grounding against the stack's
thresholds. With ``--stack`` the result is recorded for the release that stack pins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from llmops.commands.smoke import (
    ApiKeyOption,
    EndpointOption,
    IngestOption,
    JsonOption,
    ProgramOption,
    ResultsOption,
    StackOption,
    finish,
    pinned_stack,
    resolve_api_key,
)

DEFAULT_SET = Path("evals") / "platform-handbook.yaml"


def eval_command(
    endpoint: EndpointOption,
    eval_set: Annotated[
        Path | None,
        typer.Argument(help=f"Eval set file (default: {DEFAULT_SET.as_posix()} in the project).", dir_okay=False),
    ] = None,
    stack: StackOption = None,
    thresholds: Annotated[
        str | None,
        typer.Option("--thresholds", help="Entry of the set's thresholds to use (default: the stack's name, its environment, else 'default')."),
    ] = None,
    api_key: ApiKeyOption = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each answer.", min=0.1)] = 120.0,
    ingest: IngestOption = True,
    program: ProgramOption = None,
    results_dir: ResultsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask every question of an eval set, score the answers (retrieval hit rate, citation
    accuracy, grounding) and hold them against the stack's thresholds; exit 1 below one."""
    from rich.console import Console

    from core.errors import UsageError
    from llmops.commands.plan import default_program_dir
    from llmops.release.api import ApiClient
    from llmops.release.evaluation import load_eval_set, run_eval

    pinned = pinned_stack(stack, program)
    path = eval_set or (program or default_program_dir()) / DEFAULT_SET
    loaded = load_eval_set(path)
    if thresholds is not None:
        if thresholds not in loaded.spec.thresholds:
            raise UsageError(
                f"--thresholds {thresholds}: {path} has no such entry (entries: {', '.join(loaded.spec.thresholds)})"
            )
        chosen = loaded.thresholds_for(thresholds, None)
    else:
        chosen = loaded.thresholds_for(pinned.name if pinned else None, pinned.environment if pinned else None)
    console = Console(stderr=as_json)
    with ApiClient(endpoint, resolve_api_key(api_key, endpoint), timeout_s=timeout, feature="eval") as client:
        release = f", release {pinned.release().short} of {pinned.name}" if pinned else ""
        console.print(
            f"[bold]eval[/] {loaded.spec.name} ({len(loaded.spec.cases)} questions) on {client.endpoint}{release}, "
            f"'{chosen[0]}' thresholds",
            highlight=False,
        )
        report = run_eval(client, loaded, chosen, ingest=ingest)
    for case in report.cases:
        if case.error or not (case.retrieved and case.cited) or case.facts_missing:
            problems = [case.error] if case.error else []
            if not case.error:
                if not case.retrieved:
                    problems.append(f"{case.expected} not retrieved (got {', '.join(case.sources) or 'nothing'})")
                elif not case.cited:
                    problems.append(f"{case.expected} not cited")
                if case.facts_missing:
                    problems.append("missing " + "; ".join(repr(f) for f in case.facts_missing))
            console.print(f"  [yellow]·[/] {case.id}: {'; '.join(problems)}", highlight=False, soft_wrap=True)
    finish(console, "eval", pinned, results_dir, report.to_document(), report.checks(), report.summary, as_json)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
