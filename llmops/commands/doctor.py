"""``llmops doctor --stack S``: check an AWS account for a stack before the first
``pulumi up`` (credentials, account, Spot role, quotas, EKS versions, add-on builds, zones,
the deployer's path to each API server). boto3 is imported inside the command so
``llmops --help`` stays fast."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from core.errors import UsageError

DOCTOR_FAILED_EXIT_CODE = 1


def doctor_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack to check (its Pulumi.<stack>.yaml is read).")],
    program: Annotated[
        Path | None,
        typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON on stdout.")] = False,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile (default: AWS_PROFILE / the credential chain).")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Send every AWS call there (default: AWS_ENDPOINT_URL, else AWS).")
    ] = None,
    today: Annotated[
        str | None, typer.Option("--today", help="The day to judge EKS version support on, YYYY-MM-DD (default: today).")
    ] = None,
    deployer_ip: Annotated[
        str | None,
        typer.Option("--deployer-ip", help="The address deploys come from (default: this machine's, looked up)."),
    ] = None,
    ip_lookup: Annotated[
        str, typer.Option("--ip-lookup", help="Service that answers with this machine's public address.")
    ] = "https://checkip.amazonaws.com",
    no_ip_lookup: Annotated[bool, typer.Option("--no-ip-lookup", help="Do not look the address up.")] = False,
) -> None:
    """Check the AWS account for a stack before the first pulumi up. Each check passes, warns
    or fails with the fix; exits 1 when any fails."""
    import ipaddress

    from rich.console import Console

    from llmops.capacity.aws import ClientFactory
    from llmops.commands.plan import default_program_dir
    from llmops.doctor import AwsProbe, address_lookup, run_doctor
    from llmops.doctor.render import print_report
    from llmops.engine import load_project, load_stack_config
    from stacks.config import ConfigError, namespace_values, parse

    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError:
        raise UsageError(f"--today {today!r} is not a date; use YYYY-MM-DD") from None
    if deployer_ip is not None:
        try:
            ipaddress.ip_address(deployer_ip)
        except ValueError:
            raise UsageError(f"--deployer-ip {deployer_ip!r} is not an IP address") from None
    project = load_project(program or default_program_dir())
    if stack not in project.stacks():
        raise UsageError(f"no stack '{stack}' in {project.stack_config_dir} (stacks: {', '.join(project.stacks()) or 'none'})")
    stack_config = load_stack_config(project, stack)
    config = parse(namespace_values(stack_config.values), source=stack_config.source.name)
    others = {}
    for name in project.stacks():
        if name == stack:
            continue
        try:
            others[name] = parse(namespace_values(load_stack_config(project, name).values))
        except ConfigError:
            continue  # another stack's own problems are its doctor's to report
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    probe = AwsProbe(
        clients=ClientFactory(profile=profile, endpoint_url=endpoint),
        address_lookup=None if no_ip_lookup or deployer_ip else address_lookup(ip_lookup),
    )
    report = run_doctor(stack, project.name, config, probe, day, stacks=others, deployer_ip=deployer_ip)
    if as_json:
        typer.echo(json.dumps(report.to_document(), indent=1, sort_keys=True))
    else:
        print_report(report, Console())
    if report.failed:
        raise typer.Exit(code=DOCTOR_FAILED_EXIT_CODE)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
