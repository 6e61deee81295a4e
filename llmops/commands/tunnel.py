"""``llmops tunnel --stack S``: open the SSM port-forwarding tunnels a stack's deploys go
through (regions with ``access.deployFrom: ssmTunnel``), one per region on its
``tunnelLocalPort``, and wait until each listens; ``--close`` ends them. Deploy workflows
run it before ``llmops deploy``; on a laptop it replaces the ``aws ssm start-session`` line
of docs/deploying.md.

The bastion and the endpoint come from the stack's outputs (``pulumi stack output --json``,
or ``--outputs FILE``); a stack that has no bastion yet is at its first deploy, which runs
in two steps (docs/deploying.md)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from core.errors import LlmopsError, UsageError

FIRST_DEPLOY = "pulumi up --exclude '**kubernetes**' --exclude-dependents"
PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"


class TunnelError(LlmopsError):
    """A tunnel that cannot be opened: no bastion yet, or the session did not come up."""


@dataclass(frozen=True)
class Tunnel:
    """One region's tunnel: ``https://127.0.0.1:<port>`` forwards to the API server's
    private endpoint through the bastion."""

    region: str
    port: int
    bastion_id: str
    endpoint_host: str

    def command(self, aws: str = "aws") -> list[str]:
        """The Session Manager port forward (needs the session-manager-plugin)."""
        parameters = {"host": [self.endpoint_host], "portNumber": ["443"], "localPortNumber": [str(self.port)]}
        return [
            aws, "ssm", "start-session", "--region", self.region, "--target", self.bastion_id,
            "--document-name", PORT_FORWARD_DOCUMENT, "--parameters", json.dumps(parameters, separators=(",", ":")),
        ]


def tunnel_ports(config: Any) -> dict[str, int]:
    """Region -> local port, for the regions of a parsed stack config deployed through a tunnel."""
    return {
        region.name: region.cluster.access.tunnel_local_port
        for region in config.regions
        if region.cluster.access is not None and region.cluster.access.deploy_from == "ssmTunnel"
    }


def tunnels(stack: str, ports: Mapping[str, int], outputs: Mapping[str, Any]) -> list[Tunnel]:
    """The tunnels of ``ports``' regions, their bastions and endpoints read from the stack's
    ``outputs``; raises :class:`TunnelError` naming the regions without a bastion yet."""
    regions = outputs.get("regions") if isinstance(outputs.get("regions"), Mapping) else {}
    found, missing = [], []
    for region, port in ports.items():
        entry = regions.get(region) if isinstance(regions, Mapping) else None
        bastion = str(entry.get("apiBastionId") or "") if isinstance(entry, Mapping) else ""
        endpoint = str(entry.get("clusterEndpoint") or "") if isinstance(entry, Mapping) else ""
        host = endpoint.removeprefix("https://").split("/", 1)[0]
        if not bastion or not host:
            missing.append(region)
            continue
        found.append(Tunnel(region, port, bastion, host))
    if missing:
        raise TunnelError(
            f"stack {stack} has no tunnel bastion in {', '.join(missing)} yet (its first deploy): run "
            f"`{FIRST_DEPLOY}` first, then open the tunnels and deploy the rest (docs/deploying.md)"
        )
    return found


def stack_outputs(root: Path, stack: str, source: str | None) -> dict[str, Any]:
    """The stack's outputs: from ``source`` (a file, ``-`` for stdin), else from Pulumi."""
    if source == "-":
        text = sys.stdin.read()
    elif source is not None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"--outputs {source}: {error.strerror or error}") from None
    else:
        try:
            proc = subprocess.run(
                ["pulumi", "stack", "output", "--stack", stack, "--json"], cwd=root, capture_output=True, text=True, timeout=120
            )
        except FileNotFoundError:
            raise TunnelError("the Pulumi CLI is not installed; install it, or pass --outputs FILE") from None
        if proc.returncode != 0:
            raise TunnelError(f"pulumi stack output --stack {stack} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        text = proc.stdout
    try:
        document = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise UsageError(f"the stack outputs are not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(document, dict):
        raise UsageError("the stack outputs are not a JSON object (pulumi stack output --json)")
    return document


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path) -> str:
    try:
        return " ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:])
    except OSError:
        return ""


def open_tunnel(tunnel: Tunnel, state: Path, stack: str, wait_s: float, aws: str) -> int:
    """Starts the tunnel in a session of its own (it outlives this command), records its
    pid under ``state``, and waits until the local port accepts; returns the pid."""
    if _listening(tunnel.port):
        raise TunnelError(
            f"{tunnel.region}: port {tunnel.port} is taken already; close what listens there "
            f"(llmops tunnel --stack {stack} --close, if it is an earlier tunnel) or change tunnelLocalPort"
        )
    state.mkdir(parents=True, exist_ok=True)
    log = state / f"{stack}-{tunnel.region}.log"
    with log.open("wb") as out:
        try:
            process = subprocess.Popen(
                tunnel.command(aws), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        except FileNotFoundError:
            raise TunnelError(f"{aws} not found: install the AWS CLI and the Session Manager plugin") from None
    (state / f"{stack}-{tunnel.region}.pid").write_text(f"{process.pid}\n", encoding="utf-8")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if _listening(tunnel.port):
            return process.pid
        if process.poll() is not None:
            raise TunnelError(f"{tunnel.region}: the SSM session ended (exit {process.returncode}): {_tail(log)}")
        time.sleep(0.2)
    process.terminate()
    raise TunnelError(f"{tunnel.region}: nothing listened on 127.0.0.1:{tunnel.port} after {wait_s:g}s: {_tail(log)}")


def close_tunnels(state: Path, stack: str) -> list[str]:
    """Ends the tunnels ``open_tunnel`` recorded for ``stack``; returns their regions."""
    closed = []
    for pid_file in sorted(state.glob(f"{stack}-*.pid")):
        try:
            pid = int(pid_file.read_text(encoding="utf-8").strip())
            os.killpg(pid, signal.SIGTERM)
        except (ValueError, ProcessLookupError, PermissionError):
            pass  # gone already
        pid_file.unlink(missing_ok=True)
        closed.append(pid_file.stem.removeprefix(f"{stack}-"))
    return closed


def tunnel_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack whose tunnels to open (its Pulumi.<stack>.yaml is read).")],
    program: Annotated[
        Path | None,
        typer.Option("--program", "-p", help="Directory of the Pulumi project (default: this project).", file_okay=False),
    ] = None,
    outputs: Annotated[
        str | None,
        typer.Option("--outputs", help="The stack's outputs as `pulumi stack output --json` prints them (a file, or - for stdin)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the commands; open nothing.")] = False,
    close: Annotated[bool, typer.Option("--close", help="End the tunnels opened for the stack.")] = False,
    wait_s: Annotated[float, typer.Option("--wait-s", help="How long each tunnel may take to listen.", min=1)] = 60.0,
    aws: Annotated[str, typer.Option("--aws", help="The AWS CLI to run.")] = "aws",
) -> None:
    """Open the SSM tunnels to the private API servers of a stack's ssmTunnel regions (one
    per region, on its tunnelLocalPort) and wait until they listen; they keep running
    after the command. --close ends them."""
    from llmops.commands.plan import default_program_dir
    from llmops.engine import load_project, load_stack_config
    from stacks.config import namespace_values, parse

    project = load_project(program or default_program_dir())
    state = project.root / ".llmops" / "tunnels"
    if close:
        closed = close_tunnels(state, stack)
        typer.echo(f"closed the tunnels of {', '.join(closed)}" if closed else f"no open tunnel of {stack}")
        return
    if stack not in project.stacks():
        raise UsageError(f"no stack '{stack}' in {project.stack_config_dir} (stacks: {', '.join(project.stacks()) or 'none'})")
    stack_config = load_stack_config(project, stack)
    ports = tunnel_ports(parse(namespace_values(stack_config.values), source=stack_config.source.name))
    if not ports:
        typer.echo(f"no region of {stack} deploys through a tunnel: nothing to open")
        return
    found = tunnels(stack, ports, stack_outputs(project.root, stack, outputs))
    for tunnel in found:
        if dry_run:
            typer.echo(shlex.join(tunnel.command(aws)))
            continue
        pid = open_tunnel(tunnel, state, stack, wait_s, aws)
        typer.echo(
            f"{tunnel.region}: https://127.0.0.1:{tunnel.port} -> {tunnel.endpoint_host} through {tunnel.bastion_id} (pid {pid})"
        )


def register(app: typer.Typer) -> None:
    app.command("tunnel")(tunnel_command)
