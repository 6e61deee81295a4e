"""``llmops spend``: a stack's month-to-date spend and forecast from Cost Explorer (filtered
on its ``Stack`` cost-allocation tag), by region and service, against its budget and the cost
model's estimate, with a clear warning when it is over. boto3 is imported inside the command
so ``llmops --help`` stays fast."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from core.errors import POLICY_VIOLATION_EXIT_CODE, UsageError

OVER_BUDGET_EXIT_CODE = POLICY_VIOLATION_EXIT_CODE
"""Exit code of ``--fail-over`` when the stack is, or is forecast to be, over budget."""


def _budget(stack: str, program: Path | None) -> float:
    """``llmops:budget.monthlyUsd`` of the stack (its config validated first)."""
    from llmops.commands.plan import default_program_dir
    from llmops.engine.project import load_project, load_stack_config
    from stacks.config import namespace_values, parse

    project = load_project(program or default_program_dir())
    stack_config = load_stack_config(project, stack)
    config = parse(namespace_values(stack_config.values), source=str(stack_config.source))
    return config.budget.monthly_usd


def _estimate(stack: str, program: Path | None, catalogue: Path | None) -> float:
    """The cost model's expected monthly cost of the stack's offline plan."""
    from core.catalog.prices import load_prices
    from llmops.commands.plan import default_program_dir
    from llmops.cost import estimate_plan
    from llmops.engine import plan

    result = plan(stack, program or default_program_dir())
    return float(estimate_plan(result, catalogue=load_prices(catalogue)).total.expected)


def spend_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: its Stack cost-allocation tag and Pulumi.<stack>.yaml.")],
    program: Annotated[
        Path | None,
        typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    estimate: Annotated[
        bool, typer.Option("--estimate/--no-estimate", help="Compare with the cost model's estimate of the stack's plan.")
    ] = True,
    catalogue: Annotated[
        Path | None,
        typer.Option("--catalogue", help="Price catalogue for the estimate (default: the packaged prices.json).", dir_okay=False),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="How many regions and services to list.", min=1)] = 10,
    today: Annotated[
        str | None, typer.Option("--today", help="Report as of this date (YYYY-MM-DD; default: today, UTC).", metavar="DATE")
    ] = None,
    fail_over: Annotated[
        bool,
        typer.Option("--fail-over", help=f"Exit {OVER_BUDGET_EXIT_CODE} when the stack is, or is forecast to be, over budget."),
    ] = False,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="Send Cost Explorer calls to this endpoint (e.g. a moto server). Default: $AWS_ENDPOINT_URL."),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile (default: $AWS_PROFILE or the default chain).")
    ] = None,
) -> None:
    """Month-to-date spend and forecast of a stack from Cost Explorer, by region and service,
    against its budget and the cost model's estimate."""
    from rich.console import Console

    as_of: date | None = None
    if today is not None:
        try:
            as_of = date.fromisoformat(today)
        except ValueError:
            raise UsageError(f"--today must be a date like 2026-11-30 (got '{today}')") from None
    budget = _budget(stack, program)
    expected = _estimate(stack, program, catalogue) if estimate else None

    from llmops.spend.costexplorer import CostExplorer, cost_explorer_client, measure

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    explorer = CostExplorer(cost_explorer_client(profile=profile, endpoint_url=endpoint))
    report = measure(explorer, stack=stack, budget=budget, estimate=expected, today=as_of)
    if as_json:
        typer.echo(json.dumps(report.to_document(), indent=1, sort_keys=True))
    else:
        from llmops.spend.render import print_report

        print_report(report, Console(), top=top)
    if fail_over and report.status != "ok":
        raise typer.Exit(OVER_BUDGET_EXIT_CODE)


def register(app: typer.Typer) -> None:
    app.command("spend")(spend_command)
