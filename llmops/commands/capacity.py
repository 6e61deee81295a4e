"""``llmops capacity``: which regions can actually supply a GPU type, cheapest first.

Asks AWS (EC2 instance type offerings per AZ, spot price history, Service Quotas), ranks
the regions by price per GPU-hour, says why each excluded region was excluded, and can add
the best regions to a stack config (``--write-stack``). boto3 is imported inside the
command so ``llmops --help`` stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from core.errors import UsageError

if TYPE_CHECKING:
    from llmops.capacity.models import CapacityType


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _stack_regions(stack: str, program: Path | None) -> list[str]:
    """Region names listed in ``Pulumi.<stack>.yaml``."""
    from llmops.commands.plan import default_program_dir
    from llmops.engine.project import load_project, load_stack_config
    from stacks.config import namespace_values

    project = load_project(program or default_program_dir())
    values = namespace_values(load_stack_config(project, stack).values)
    regions = values.get("regions")
    names = [str(r["name"]) for r in regions if isinstance(r, dict) and "name" in r] if isinstance(regions, list) else []
    if not names:
        raise UsageError(
            f"stack '{stack}' lists no regions (llmops:regions); pass --regions us-east-1,us-west-2"
        )
    return names


def _stack_file(stack: str, program: Path | None) -> Path:
    from llmops.commands.plan import default_program_dir
    from llmops.engine.project import load_project

    return load_project(program or default_program_dir()).stack_file(stack)


def capacity_command(
    instance_type: Annotated[
        list[str] | None,
        typer.Option(
            "--instance-type",
            "-t",
            help="GPU instance type(s) to look for, e.g. g5.xlarge (repeat or comma-separate).",
        ),
    ] = None,
    accelerator: Annotated[
        str | None,
        typer.Option(
            "--accelerator",
            "-a",
            help="GPU model instead of a type: T4, A10G, L4, L40S, V100, A100, H100, H200.",
        ),
    ] = None,
    gpus: Annotated[
        int | None,
        typer.Option("--gpus", "-g", help="GPUs per instance with --accelerator (default 1).", min=1),
    ] = None,
    regions: Annotated[
        list[str] | None,
        typer.Option(
            "--regions",
            "-r",
            help="Regions to ask (comma-separated or repeated). Default: the --stack's regions, "
            "else a list of the main GPU regions.",
        ),
    ] = None,
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Take the regions to ask from this stack.")
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
    ] = None,
    capacity_type: Annotated[
        str, typer.Option("--capacity-type", "-c", help="spot or on-demand.")
    ] = "spot",
    min_azs: Annotated[
        int, typer.Option("--min-azs", help="Exclude regions offering the type in fewer AZs.", min=1)
    ] = 2,
    nodes: Annotated[
        int,
        typer.Option("--nodes", "-n", help="Instances wanted per region (checked against the vCPU quota).", min=1),
    ] = 1,
    lookback_hours: Annotated[
        float, typer.Option("--lookback-hours", help="Spot price history window.", min=0.1, max=2160)
    ] = 3.0,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            help="Send AWS calls to this endpoint (e.g. a moto server). Default: $AWS_ENDPOINT_URL.",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="AWS profile (default: $AWS_PROFILE or the default chain).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
    write_stack: Annotated[
        str | None,
        typer.Option(
            "--write-stack",
            help="Add the best regions (with a free CIDR and a GPU pool) to stacks/Pulumi.NAME.yaml.",
            metavar="NAME",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", "-k", help="How many regions --write-stack adds.", min=1)] = 1,
    max_workers: Annotated[
        int, typer.Option("--max-workers", help="Regions asked at the same time.", min=1, max=16)
    ] = 4,
) -> None:
    """Find the regions that can supply a GPU type: AZ offerings, spot price, vCPU quota; cheapest first."""
    from rich.console import Console

    from llmops.capacity import (
        DEFAULT_REGIONS,
        CapacityError,
        CapacityRequest,
        StackWriteError,
        resolve_accelerator,
        resolve_instance_types,
        resolve_regions,
    )

    if capacity_type not in ("spot", "on-demand"):
        raise UsageError(f"--capacity-type must be spot or on-demand (got '{capacity_type}')")
    kind: CapacityType = "spot" if capacity_type == "spot" else "on-demand"
    types = _split(instance_type)
    if types and accelerator:
        raise UsageError("pass either --instance-type or --accelerator (with --gpus), not both")
    if types:
        if gpus is not None:
            raise UsageError("--gpus goes with --accelerator; an instance type fixes its GPU count")
        candidates = resolve_instance_types(types)
    elif accelerator:
        candidates = resolve_accelerator(accelerator, gpus or 1)
    else:
        raise UsageError("say what to look for: --instance-type g5.xlarge, or --accelerator A10G --gpus 1")

    if regions:
        region_names = resolve_regions(regions)
    elif stack:
        region_names = resolve_regions(_stack_regions(stack, program))
    else:
        region_names = DEFAULT_REGIONS
    stack_path = _stack_file(write_stack, program) if write_stack else None

    request = CapacityRequest(
        candidates=candidates,
        regions=region_names,
        capacity_type=kind,
        min_azs=min_azs,
        nodes=nodes,
        lookback_hours=lookback_hours,
    )

    from llmops.capacity.aws import ClientFactory, catalogue_on_demand_prices, plan_capacity
    from llmops.capacity.planner import no_on_demand_prices

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    clients = ClientFactory(profile=profile, endpoint_url=endpoint)
    report = plan_capacity(
        request,
        clients,
        on_demand_price=catalogue_on_demand_prices() if kind == "on-demand" else no_on_demand_prices,
        max_workers=max_workers,
    )

    edit = None
    write_error: StackWriteError | None = None
    if stack_path is not None and report.ranked:
        from llmops.capacity.stackfile import write_stack as write

        try:
            edit = write(stack_path, report, top)
        except StackWriteError as exc:
            write_error = exc

    console = Console(stderr=as_json)
    if as_json:
        document = report.as_json()
        document["written"] = edit.as_json() if edit is not None else None
        document["writeError"] = str(write_error) if write_error is not None else None
        typer.echo(json.dumps(document, indent=1, sort_keys=True))
    else:
        from llmops.capacity.render import print_report

        print_report(report, console)
    if edit is not None:
        for added in edit.added:
            console.print(
                f"added {added.region} ({added.cidr}, {added.az_count} AZs, pool {added.pool_name}: "
                f"{', '.join(added.instance_types)}) to {edit.path}",
                highlight=False,
            )
        for region, why in edit.skipped:
            console.print(f"not added: {region} ({why})", highlight=False)
    if write_error is not None:
        raise write_error
    if not report.ranked:
        raise CapacityError(
            f"none of the {len(request.regions)} regions asked can supply {request.label} "
            f"({request.capacity_type}, at least {request.min_azs} AZs)"
            + (f"; {stack_path} was not changed" if stack_path is not None else "")
            + "; try other --regions, --capacity-type on-demand, a lower --min-azs, or request a quota increase"
        )


def register(app: typer.Typer) -> None:
    app.command("capacity")(capacity_command)
