"""``llmops plan``: run a stack's program offline and show what it would create."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.errors import POLICY_VIOLATION_EXIT_CODE, LlmopsError, UsageError
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
    stack_reference: Annotated[
        list[str] | None,
        typer.Option(
            "--stack-reference",
            help="Outputs of a stack the program references, as ORG/PROJECT/STACK=outputs.json "
            "(from `pulumi stack output --json`). Repeatable.",
            metavar="ORG/PROJECT/STACK=FILE",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="On a program failure, also print its traceback.")] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate/--no-validate",
            help="Check every rendered Kubernetes object and Helm values against the schemas of the pinned versions "
            "(exit 4 when the cluster would reject one).",
        ),
    ] = True,
) -> None:
    """Run the stack's Pulumi program offline (SDK mocks, no cloud) and show every resource,
    its monthly cost, the policy violations and what the cluster would reject. Exits 3 on
    any mandatory violation, else 4 when a rendered Kubernetes object or Helm value would be
    rejected (or silently dropped)."""
    from rich.console import Console

    from llmops.engine import ProgramError, load_stack_references, plan
    from llmops.engine.render import print_plan
    from llmops.engine.report import dumps, plan_document

    references = load_stack_references(stack_reference or [])
    try:
        result = plan(stack, program or default_program_dir(), references)
    except ProgramError as error:
        if debug and error.details:
            typer.echo(error.details, err=True, nl=False)
        raise
    document = plan_document(result)
    estimate = None
    cost_failure = None
    if cost:
        from llmops.cost import estimate_plan

        try:
            estimate = estimate_plan(result)
        except LlmopsError as error:  # the plan stands without its cost section
            cost_failure = str(error)
            document["cost"] = {"error": cost_failure}
        else:
            document["cost"] = estimate.to_document()
    report = None
    if policy:
        from llmops.policy import run_policies

        report = run_policies(result)
        document["policy"] = report.to_document()
    validation = None
    if validate:
        from llmops.validation import validate_plan

        validation = validate_plan(result)
        document["validation"] = validation.to_document()
    text = dumps(document)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    if markdown is not None and report is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(report.to_markdown(), encoding="utf-8")
    if as_json or output_format is PlanFormat.mermaid:
        typer.echo(text if as_json else output_format.render(document), nl=False)
        if cost_failure:
            typer.echo(f"warning: no cost estimate: {cost_failure}", err=True)
    else:
        from rich.markup import escape

        console = Console()
        print_plan(result, console)
        if cost_failure:
            console.print(f"[yellow]warning:[/] no cost estimate: {escape(cost_failure)}", highlight=False)
        if estimate is not None:
            from llmops.cost import render_summary

            render_summary(estimate, console)
        if report is not None:
            report.render(console)
        if validation is not None:
            validation.render(console)
        if out is not None:
            console.print(f"plan written to {out}")
    if validation is not None and (as_json or output_format is PlanFormat.mermaid):
        for problem in validation.errors:
            typer.echo(f"rejected: {problem.resource_name}: {problem}", err=True)
    if report is not None and report.mandatory_count:
        raise typer.Exit(code=POLICY_VIOLATION_EXIT_CODE)
    if validation is not None and not validation.passed:
        from llmops.validation import VALIDATION_FAILED_EXIT_CODE

        raise typer.Exit(code=VALIDATION_FAILED_EXIT_CODE)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)
