"""``llmops deploy --stack S``: refresh, preview with the project's policy packs, then update
a stack with the real Pulumi engine (Automation API), streaming its progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def deploy_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack to deploy (its Pulumi.<stack>.yaml is read).")],
    program: Annotated[
        Path | None,
        typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
    ] = None,
    preview_only: Annotated[bool, typer.Option("--preview-only", help="Refresh and preview; do not update.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh/--no-refresh", help="Refresh the state from the cloud first.")] = True,
    policy: Annotated[
        bool, typer.Option("--policy/--no-policy", help="Run the project's policy packs on preview and update.")
    ] = True,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Message recorded with the update.")] = None,
) -> None:
    """Deploy a stack with the real engine: validate its config, select it, refresh, preview
    with the security and cost policy packs, then update. Needs the Pulumi CLI and cloud
    credentials; exits 1 with the reason and the fix when the engine fails."""
    from rich.console import Console
    from rich.markup import escape

    from llmops.commands.plan import default_program_dir
    from llmops.engine import load_project, load_stack_config
    from llmops.release.driver import StackDriver, project_packs
    from llmops.release.stacks import load_stack
    from stacks.config import namespace_values, parse

    console = Console()
    root = program or default_program_dir()
    project = load_project(root)
    driver = StackDriver(
        project.root, stack, on_output=lambda line: console.print(escape(line), highlight=False, soft_wrap=True)
    )
    config = load_stack_config(project, stack)
    parse(namespace_values(config.values), source=config.source.name)
    environment = load_stack(root, stack).environment
    packs = project_packs(environment) if policy else []
    summary = driver.deploy(packs, refresh=refresh, preview_only=preview_only, message=message)
    planned = ", ".join(f"{n} {op}" for op, n in summary.preview.items()) or "no changes"
    console.print(f"[bold]preview[/] of {stack}: {planned}", highlight=False)
    if summary.update is None:
        console.print("preview only: nothing was changed")
        return
    done = ", ".join(f"{n} {op}" for op, n in summary.update.items()) or "no changes"
    console.print(f"[bold green]deployed[/] {stack}: {done}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy_command)
