"""``llmops policy``: run policy packs over a stack offline, test packs, list their policies.

- ``llmops policy check --stack prod`` plans the stack offline and runs the packs (default:
  ``policies/security`` and ``policies/cost``) through their real analyzers; exits 3 on any
  mandatory violation (as ``llmops plan`` does), 2 on bad input such as an unknown
  environment.
- ``llmops policy test --pack DIR`` runs a pack's own pass/fail cases (``<pack>/fixtures``)
  and checks its conventions: works on any team's Python policy pack.
- ``llmops policy list`` shows each pack's policies, enforcement levels and settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.errors import POLICY_VIOLATION_EXIT_CODE

PackOption = Annotated[
    list[Path] | None,
    typer.Option("--pack", help="Policy pack directory (repeatable; default: policies/security and policies/cost).", file_okay=False),
]

policy_app = typer.Typer(
    name="policy",
    help="Run policy packs over a stack offline, test packs, list their policies.",
    no_args_is_help=True,
)


@policy_app.command("check")
def check_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name (its Pulumi.<stack>.yaml is read).")] = "dev",
    program: Annotated[
        Path | None,
        typer.Option("--program", "-p", help="Directory of any Pulumi Python project (default: this project).", file_okay=False),
    ] = None,
    packs: PackOption = None,
    environment: Annotated[
        str | None,
        typer.Option(
            "--environment",
            "-e",
            help="Pick <pack>/config/<ENV>.json (default: the stack's llmops:environment, else its name); must be one the packs have a config file for.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {stack, project, policy} as JSON on stdout.")] = False,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Also write a Markdown report (for a PR comment) to FILE.", dir_okay=False)] = None,
) -> None:
    """Plan the stack offline and run the policy packs over it; exit 3 on a mandatory violation."""
    from rich.console import Console

    from llmops.commands.plan import default_program_dir
    from llmops.engine import plan
    from llmops.policy import run_policies

    result = plan(stack, program or default_program_dir())
    report = run_policies(result, packs or None, environment)
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(report.to_markdown(), encoding="utf-8")
    if as_json:
        document = {"stack": result.stack, "project": result.project, "policy": report.to_document()}
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        from rich.markup import escape

        console = Console()
        report.render(console)
        if markdown is not None:
            console.print(f"markdown report written to {escape(str(markdown))}", highlight=False)
    if not report.passed:
        raise typer.Exit(POLICY_VIOLATION_EXIT_CODE)


@policy_app.command("test")
def test_command(
    packs: PackOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every case, not only failures.")] = False,
) -> None:
    """Run each pack's pass/fail cases (<pack>/fixtures/*.yaml) through its analyzer and check its conventions; exit 1 on any failure."""
    from rich.console import Console
    from rich.markup import escape

    from llmops.policy import default_packs
    from llmops.policy.fixtures import test_pack

    console = Console()
    failed = False
    for pack in packs or default_packs():
        report = test_pack(pack)
        passed = sum(1 for r in report.results if r.ok)
        style = "green" if report.ok else "red"
        console.print(f"[bold {style}]{report.name}[/] ({escape(str(report.pack))}): {passed}/{len(report.results)} case(s) passed", highlight=False)
        for result in report.results:
            if verbose or not result.ok:
                mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
                console.print(f"  {mark} {escape(result.case.source.name)}: {escape(result.case.label)}", highlight=False)
                if result.problem:
                    console.print(f"      {escape(result.problem)}", highlight=False, soft_wrap=True)
        for problem in report.convention_problems:
            console.print(f"  [red]✗[/] convention: {escape(problem)}", highlight=False, soft_wrap=True)
        failed = failed or not report.ok
    if failed:
        raise typer.Exit(1)


@policy_app.command("list")
def list_command(packs: PackOption = None) -> None:
    """List each pack's policies: enforcement level, kind, description and settings."""
    from rich.console import Console
    from rich.table import Table

    from llmops.policy import PackSession, default_packs

    console = Console()
    for pack in packs or default_packs():
        with PackSession(pack) as session:
            table = Table(title=f"{session.name} {session.info.version}", title_justify="left")
            for column in ("policy", "level", "kind", "description", "settings (default)"):
                table.add_column(column)
            for p in session.info.policies:
                settings = "\n".join(f"{k} ({json.dumps(_tidy(v.get('default')))})" for k, v in p.config_schema.items())
                table.add_row(p.name, p.level, p.kind, p.description, settings)
            console.print(table)


def _tidy(value: object) -> object:
    """Whole floats (protobuf numbers) back to ints for display."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
