"""``llmops promote FROM TO`` (copy a release to the next stack after its gates pass) and
``llmops release show|set`` (the release a stack pins; pin one value, e.g. a new image)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.errors import UsageError

ProgramOption = Annotated[
    Path | None,
    typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
]
ResultsOption = Annotated[
    Path | None,
    typer.Option(
        "--results-dir",
        help="Where smoke and eval results are kept (default: $LLMOPS_RESULTS_DIR, else .llmops/results).",
        file_okay=False,
    ),
]


def promote_command(
    source: Annotated[str, typer.Argument(help="Stack whose release moves on, e.g. dev.", metavar="FROM")],
    target: Annotated[str, typer.Argument(help="Stack that receives it, e.g. staging.", metavar="TO")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run the gates and show the change; write nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow a step outside dev -> staging -> prod (needs --reason).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the order is skipped; recorded in the target stack file.")
    ] = None,
    program: ProgramOption = None,
    results_dir: ResultsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the promotion (gates, diff) as JSON on stdout.")] = False,
    markdown: Annotated[
        Path | None,
        typer.Option("--markdown", help="Also write the promotion as Markdown (a pull request body) to FILE.", dir_okay=False),
    ] = None,
) -> None:
    """Copy the release pinned in FROM into TO's stack file after its gates pass: the order
    dev -> staging -> prod, FROM's smoke and eval results for this release, TO's offline plan
    with it, the policy packs and TO's budget. Only TO's release section changes; a refused
    promotion leaves the file byte-identical (exit 1)."""
    from rich.console import Console

    from llmops.commands.plan import default_program_dir
    from llmops.release.promote import apply, prepare
    from llmops.release.render import print_diff, print_gates

    promotion = prepare(
        program or default_program_dir(), source, target, results_dir=results_dir, force=force, reason=reason
    )
    console = Console(stderr=as_json)
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(promotion.to_markdown(), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(promotion.to_document(), indent=2, sort_keys=True))
    if promotion.up_to_date:
        console.print(f"{target} already pins release {promotion.source.short} of {source}; nothing to change")
        return
    console.print(f"[bold]promote[/] release {promotion.source.short} from {source} to {target}", highlight=False)
    print_gates(console, promotion.gates)
    if not promotion.passed:
        raise promotion.refusal()
    if not as_json:
        print_diff(console, promotion.diff())
    if dry_run:
        console.print(f"dry run: every gate passed; {promotion.label} was not changed")
        return
    apply(promotion)
    console.print(f"[green]promoted[/] release {promotion.source.short} to {target}: wrote {promotion.label}", highlight=False)


release_app = typer.Typer(
    name="release",
    help="The release a stack pins (llmops:serving.release): show it, or pin one value.",
    no_args_is_help=True,
)


@release_app.command("show")
def show_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name.")] = "dev",
    program: ProgramOption = None,
    results_dir: ResultsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {stack, fingerprint, release, results} as JSON.")] = False,
) -> None:
    """Show the stack's release, its fingerprint and its smoke and eval results."""
    import yaml
    from rich.console import Console

    from llmops.commands.plan import default_program_dir
    from llmops.release.results import KINDS, read_result, results_root
    from llmops.release.stacks import load_stack

    pinned = load_stack(program or default_program_dir(), stack)
    release = pinned.release()
    root = results_root(pinned.root, results_dir)
    statuses = {kind: read_result(root, release, kind) for kind in KINDS}
    if as_json:
        document = release.to_document()
        document["results"] = {
            kind: {"path": str(s.path), "green": s.green, "problem": s.problem} for kind, s in statuses.items()
        }
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    console = Console()
    console.print(f"[bold]{stack}[/] release {release.short} (sha256 {release.fingerprint})", highlight=False)
    console.print(yaml.safe_dump(dict(release.values), sort_keys=False).rstrip(), highlight=False, markup=False)
    for kind, status in statuses.items():
        verdict = "[green]green[/]" if status.green else f"[yellow]{status.problem}[/]"
        console.print(f"{kind}: {verdict}", highlight=False, soft_wrap=True)


@release_app.command("set")
def set_command(
    assignments: Annotated[
        list[str], typer.Argument(help="KEY=VALUE pairs, e.g. image=REPO@sha256:... (dots for nested keys).", metavar="KEY=VALUE...")
    ],
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name.")] = "dev",
    program: ProgramOption = None,
) -> None:
    """Pin values in the stack's release (strings), keeping the file's comments and layout.
    A new release needs new smoke and eval results before it can be promoted."""
    from rich.console import Console

    from llmops.commands.plan import default_program_dir
    from llmops.release.identity import Release
    from llmops.release.render import print_diff
    from llmops.release.stackfile import (
        parse_stack_file,
        unified_diff,
        with_values,
        write_atomically,
    )
    from llmops.release.stacks import load_stack

    pairs = []
    for item in assignments:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"'{item}' is not KEY=VALUE; write e.g. image=registry/serving@sha256:...")
        pairs.append((key.strip(), value))
    pinned = load_stack(program or default_program_dir(), stack)
    path = pinned.file.path
    text = with_values(pinned.file, pairs)
    console = Console()
    diff = unified_diff(path, pinned.file.text, text, path.name)
    if not diff:
        console.print(f"{stack}'s release already has these values; nothing to change")
        return
    problem = _invalid_release(path, text)
    if problem is not None:
        raise UsageError(f"{stack}'s release would not be valid; {path.name} was not changed. {problem}")
    print_diff(console, diff)
    write_atomically(path, text)
    release = Release(stack, parse_stack_file(path, text).release or {})
    console.print(f"wrote {path}: {stack} now pins release {release.short}", highlight=False)


def _invalid_release(path: Path, text: str) -> str | None:
    """Why the stack file ``text`` would be refused by the stack schema, or None: a release
    is checked before it is written (an image not by digest, a chart version without its
    schemas), not first at the next plan or promotion."""
    from llmops.release.stackfile import parse_stack_file
    from stacks.config import ConfigError, parse, stack_file_values

    try:
        parse(stack_file_values(parse_stack_file(path, text).config), source=path.name)
    except ConfigError as error:
        return str(error)
    return None


def register(app: typer.Typer) -> None:
    app.command("promote")(promote_command)
    app.add_typer(release_app, name="release")
