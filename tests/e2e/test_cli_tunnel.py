"""``llmops tunnel``: the deploys of a stack whose regions declare ``deployFrom: ssmTunnel``
(staging) open one SSM tunnel per region, each on its own port, before ``llmops deploy``;
here the AWS CLI is a stand-in that listens where Session Manager would."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from llmops.engine import load_project, load_stack_config
from stacks.config import namespace_values
from tests.support import REPO, write_project

LLMOPS = shutil.which("llmops", path=str(Path(sys.executable).parent)) or "llmops"
ENDPOINT = "https://ABC123.gr7.{region}.eks.amazonaws.com"


def shipped(stack: str) -> dict[str, Any]:
    return namespace_values(load_stack_config(load_project(REPO), stack).values)


def outputs(*regions: str, bastion: bool = True) -> dict[str, Any]:
    return {
        "regions": {
            r: {"apiBastionId": f"i-0{i}abc" if bastion else "", "clusterEndpoint": ENDPOINT.format(region=r)}
            for i, r in enumerate(regions)
        }
    }


def llmops(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([LLMOPS, *args], cwd=cwd, input=stdin, env=env, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_staging_opens_one_tunnel_per_region_on_ports_of_their_own() -> None:
    result = llmops("tunnel", "--stack", "staging", "--outputs", "-", "--dry-run", stdin=json.dumps(outputs("us-east-1", "us-west-2")))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line, (region, bastion, port) in zip(lines, [("us-east-1", "i-00abc", 8443), ("us-west-2", "i-01abc", 8444)], strict=True):
        assert line.startswith(f"aws ssm start-session --region {region} --target {bastion} ")
        assert "--document-name AWS-StartPortForwardingSessionToRemoteHost" in line
        parameters = json.loads(line.split("--parameters ", 1)[1].strip("'"))
        assert parameters == {"host": [f"ABC123.gr7.{region}.eks.amazonaws.com"], "portNumber": ["443"], "localPortNumber": [str(port)]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stacks_without_a_tunnel_open_nothing(stack: str) -> None:
    result = llmops("tunnel", "--stack", stack, "--outputs", "-", stdin="{}")
    assert result.returncode == 0 and f"no region of {stack} deploys through a tunnel" in result.stdout


def test_the_first_deploy_is_told_to_create_the_bastion_first() -> None:
    result = llmops("tunnel", "--stack", "staging", "--outputs", "-", stdin=json.dumps(outputs("us-east-1", "us-west-2", bastion=False)))
    assert result.returncode == 1
    assert "no tunnel bastion in us-east-1, us-west-2 yet" in result.stderr
    assert "pulumi up --exclude '**kubernetes**' --exclude-dependents" in result.stderr


FAKE_AWS = textwrap.dedent(
    """\
    #!{python}
    # Stands in for `aws ssm start-session`: listens on the local port it is asked for.
    import json, socket, sys, time
    args = sys.argv[1:]
    parameters = json.loads(args[args.index("--parameters") + 1])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(parameters["localPortNumber"][0])))
    server.listen()
    print("Waiting for connections...", flush=True)
    time.sleep(120)
    """
)


def test_tunnels_listen_before_the_command_returns_and_close_ends_them(tmp_path: Path) -> None:
    config = shipped("staging")
    ports = (free_port(), free_port())
    for region, port in zip(config["regions"], ports, strict=True):
        region["cluster"]["access"]["tunnelLocalPort"] = port
    project = write_project(tmp_path / "project", stack="staging", config=config)
    aws = tmp_path / "aws"
    aws.write_text(FAKE_AWS.format(python=sys.executable), encoding="utf-8")
    aws.chmod(0o755)
    document = tmp_path / "outputs.json"
    document.write_text(json.dumps(outputs("us-east-1", "us-west-2")), encoding="utf-8")
    state = project / ".llmops" / "tunnels"
    try:
        result = llmops("tunnel", "-s", "staging", "-p", str(project), "--outputs", str(document), "--aws", str(aws), "--wait-s", "30")
        assert result.returncode == 0, result.stderr
        assert f"us-west-2: https://127.0.0.1:{ports[1]} -> ABC123.gr7.us-west-2.eks.amazonaws.com through i-01abc" in result.stdout
        for port in ports:  # the tunnels outlive the command: the deploy goes through them
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        assert sorted(p.name for p in state.glob("*.pid")) == ["staging-us-east-1.pid", "staging-us-west-2.pid"]
        # a second open finds the ports taken and says so
        again = llmops("tunnel", "-s", "staging", "-p", str(project), "--outputs", str(document), "--aws", str(aws))
        assert again.returncode == 1 and f"port {ports[0]} is taken already" in again.stderr
    finally:
        closed = llmops("tunnel", "-s", "staging", "-p", str(project), "--close")
    assert closed.returncode == 0 and "closed the tunnels of us-east-1, us-west-2" in closed.stdout
    assert not list(state.glob("*.pid"))
