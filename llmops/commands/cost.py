"""``llmops cost``: the monthly cost of a stack, its change against a base, and refreshing
the price catalogue from the AWS Price List API (or a local table generated from it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.errors import UsageError


def cost_command(
    stack: Annotated[
        str | None,
        typer.Option("--stack", "-s", help="Stack name (its Pulumi.<stack>.yaml is read). Default: dev."),
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cost document as JSON on stdout.")] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the cost document (JSON) to FILE.", dir_okay=False)] = None,
    compare: Annotated[
        Path | None,
        typer.Option("--compare", help="Base cost (or plan) JSON; print the Markdown cost diff for a pull request.", dir_okay=False),
    ] = None,
    details: Annotated[bool, typer.Option("--details", help="Also list every priced resource with its assumptions.")] = False,
    top: Annotated[int, typer.Option("--top", help="How many cost drivers to list.", min=0)] = 5,
    catalogue: Annotated[
        Path | None,
        typer.Option("--catalogue", help="Price catalogue file (default: the packaged prices.json).", dir_okay=False),
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Update the catalogue's EC2 prices from the AWS Price List API (needs credentials).")
    ] = False,
    regions: Annotated[
        list[str] | None,
        typer.Option("--region", help="With --refresh: a region to refresh (repeatable; default: the regions in the catalogue)."),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="With --refresh: Price List API endpoint (default: AWS's).")
    ] = None,
    price_table: Annotated[
        Path | None,
        typer.Option(
            "--price-table",
            help="With --refresh: read the prices offline from a local copy of Karpenter's generated on-demand table "
            "(aws/karpenter-provider-aws pkg/providers/pricing/zz_generated.pricing_aws.go) instead of the API.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Estimate a stack's monthly cost from its offline plan (minimum and expected, by region
    and component), compare it with a base for a PR comment, or refresh the price catalogue."""
    from rich.console import Console

    console = Console()
    if refresh:
        from llmops.cost.refresh import refresh_catalogue

        if price_table is not None and endpoint_url:
            raise UsageError("--price-table and --endpoint-url are two sources of prices; give one of them")
        report = refresh_catalogue(catalogue, regions=regions or None, endpoint_url=endpoint_url, price_table=price_table)
        console.print(report.summary(), highlight=False)
        if stack is None:
            return
    elif regions or endpoint_url or price_table is not None:
        raise UsageError("--region, --endpoint-url and --price-table only apply with --refresh; add --refresh or drop them")

    from core.catalog.prices import load_prices
    from llmops.commands.plan import default_program_dir
    from llmops.cost import compare_markdown, estimate_plan
    from llmops.cost.diff import load_cost_document
    from llmops.cost.render import render_table
    from llmops.engine import plan
    from llmops.engine.report import dumps

    base = load_cost_document(compare) if compare is not None else None
    result = plan(stack or "dev", program or default_program_dir())
    estimate = estimate_plan(result, catalogue=load_prices(catalogue))
    document = estimate.to_document()
    text = dumps(document)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    if base is not None:
        typer.echo(compare_markdown(base, document), nl=False)
        return
    if as_json:
        typer.echo(text, nl=False)
        return
    render_table(estimate, console, top=top, details=details)
    if out is not None:
        console.print(f"cost document written to {out}")


def register(app: typer.Typer) -> None:
    app.command("cost")(cost_command)
