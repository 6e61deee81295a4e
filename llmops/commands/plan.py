"""``llmops plan``: run a stack's program offline and show what it would create."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.errors import POLICY_VIOLATION_EXIT_CODE, UsageError
from llmops.report.mermaid import PlanFormat


def default_program_dir() -> Path:
    """The current directory when it holds a Pulumi project, else this project's root."""
    cwd = Path.cwd()
    if (cwd / "Pulumi.yaml").is_file():
        return cwd
    here = Path(__file__).resolve().parents[2]
    if (here / "Pulumi.yaml").is_file():
        return here
    raise UsageError("no Pulumi.yaml in the current directory; run from a Pulumi project or pass --program DIR")


StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name (its Pulumi.<stack>.yaml is read).")]
ProgramOption = Annotated[
    Path | None,
    typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
]


def plan_command(
    stack: StackOption = "dev",
    program: ProgramOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan document as JSON on stdout.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the plan document to FILE.", dir_okay=False)] = None,
    cost: Annotated[bool, typer.Option("--cost/--no-cost", help="Estimate the monthly cost (the plan's cost section).")] = True,
    policy: Annotated[
        bool, typer.Option("--policy/--no-policy", help="Run the security and cost policy packs (exit 3 on a mandatory violation).")
    ] = True,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown report (policy violations) for a PR comment to FILE.", dir_okay=False)
    ] = None,
    output_format: Annotated[
        PlanFormat, typer.Option("--format", help="text: a tree by region and component; mermaid: Markdown diagrams of cost and resources.")
    ] = PlanFormat.text,
) -> None:
    """Run the stack's Pulumi program offline (SDK mocks, no cloud) and show every resource,
    its monthly cost and the policy violations. Exits 3 on any mandatory violation."""
    from rich.console import Console

    from llmops.engine import plan
    from llmops.engine.render import print_plan
    from llmops.engine.report import dumps, plan_document

    result = plan(stack, program or default_program_dir())
    document = plan_document(result)
    estimate = None
    if cost:
        from llmops.cost import estimate_plan

        estimate = estimate_plan(result)
        document["cost"] = estimate.to_document()
    report = None
    if policy:
        from llmops.policy import run_policies

        report = run_policies(result)
        document["policy"] = report.to_document()
    text = dumps(document)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    if markdown is not None and report is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(report.to_markdown(), encoding="utf-8")
    if as_json:
        typer.echo(text, nl=False)
    elif output_format is PlanFormat.mermaid:
        typer.echo(output_format.render(document), nl=False)
    else:
        console = Console()
        print_plan(result, console)
        if estimate is not None:
            from llmops.cost import render_summary

            render_summary(estimate, console)
        if report is not None:
            report.render(console)
        if out is not None:
            console.print(f"plan written to {out}")
    if report is not None and report.mandatory_count:
        raise typer.Exit(code=POLICY_VIOLATION_EXIT_CODE)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)
