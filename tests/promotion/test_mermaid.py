"""Mermaid pictures of a plan: cost by region and component, resources added/changed/removed,
``llmops plan --format mermaid`` and the CI entry point."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from llmops.cli import app
from llmops.report.mermaid import main, plan_mermaid, resource_changes

runner = CliRunner()


def resource(urn: str, type_: str, region: str | None, parent: str | None, custom: bool = True, **inputs: Any) -> dict[str, Any]:
    return {"urn": urn, "type": type_, "name": urn.rsplit("::", 1)[-1], "custom": custom, "parent": parent, "region": region, "provider": None, "inputs": inputs}


STACK = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"
NET = "urn:pulumi:dev::p::llmops:network:Network::net"
CLUSTER = "urn:pulumi:dev::p::llmops:cluster:GpuCluster::gpu"


def document(*resources: dict[str, Any], cost: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"stack": "dev", "resources": [resource(STACK, "pulumi:pulumi:Stack", None, None, custom=False), *resources]}
    if cost is not None:
        doc["cost"] = cost
    return doc


BASE = document(
    resource(NET, "llmops:network:Network", "us-east-1", STACK, custom=False),
    resource(NET + "-vpc", "aws:ec2/vpc:Vpc", "us-east-1", NET, cidrBlock="10.0.0.0/16"),
    resource(NET + "-nat", "aws:ec2/natGateway:NatGateway", "us-east-1", NET),
    resource(CLUSTER, "llmops:cluster:GpuCluster", "us-east-1", STACK, custom=False),
    resource(CLUSTER + "-eks", "aws:eks/cluster:Cluster", "us-east-1", CLUSTER, version="1.32"),
)
HEAD = document(
    resource(NET, "llmops:network:Network", "us-east-1", STACK, custom=False),
    resource(NET + "-vpc", "aws:ec2/vpc:Vpc", "us-east-1", NET, cidrBlock="10.0.0.0/16"),
    resource(CLUSTER, "llmops:cluster:GpuCluster", "us-east-1", STACK, custom=False),
    resource(CLUSTER + "-eks", "aws:eks/cluster:Cluster", "us-east-1", CLUSTER, version="1.33"),
    resource(CLUSTER + "-pool", "aws:eks/nodeGroup:NodeGroup", "us-west-2", CLUSTER),
    cost={
        "currency": "USD",
        "items": [
            {"urn": NET + "-vpc", "region": "us-east-1", "component": "Network", "expected": 0.0},
            {"urn": CLUSTER + "-eks", "region": "us-east-1", "component": "GpuCluster", "expected": 73.0},
            {"urn": CLUSTER + "-pool", "region": "us-west-2", "component": "GpuCluster", "expected": 400.5},
            {"urn": "x", "region": None, "component": 'Budget "global"', "expected": 1.25},
        ],
    },
)


def blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, flags=re.S)


def test_changes_are_counted_by_region_and_component() -> None:
    assert resource_changes(BASE, HEAD) == {
        "us-east-1": {"GpuCluster": {"added": 0, "changed": 1, "removed": 0}, "Network": {"added": 0, "changed": 0, "removed": 1}},
        "us-west-2": {"GpuCluster": {"added": 1, "changed": 0, "removed": 0}},
    }
    # with no base every resource (components included) is new
    assert resource_changes(None, BASE)["us-east-1"]["Network"] == {"added": 3, "changed": 0, "removed": 0}
    assert resource_changes(HEAD, HEAD) == {}


def test_the_pictures_show_cost_and_changes_with_their_colours() -> None:
    pie_region, pie_component, tree, changes = blocks(plan_mermaid(HEAD, BASE))
    assert pie_region.splitlines() == [
        "pie showData",
        "    title Expected monthly cost by region (USD)",
        '    "us-west-2" : 400.50',
        '    "us-east-1" : 73.00',
        '    "global" : 1.25',
    ]
    assert '"GpuCluster" : 473.50' in pie_component and '"Budget #quot;global#quot;" : 1.25' in pie_component
    assert "Network" not in pie_component  # nothing to pay for is no slice
    assert 's["dev<br/>$474.75/month"]:::cost' in tree
    assert 'r0 --> r0c0["GpuCluster<br/>$400.50"]' in tree
    lines = changes.splitlines()
    assert lines[:2] == ["flowchart LR", '    s["dev<br/>+1 added ~1 changed -1 removed"]:::changed']
    assert '    r0 --> r0c1["Network<br/>-1 removed"]:::removed' in lines
    assert '    s --> r1["us-west-2<br/>+1 added"]:::added' in lines
    assert any(line.strip().startswith("classDef removed") for line in lines)


def test_no_changes_and_no_cost_still_give_a_picture() -> None:
    markdown = plan_mermaid(BASE, BASE)
    assert blocks(markdown) == ['flowchart LR\n    s["dev: no resource changes"]\n']
    assert "cost" not in markdown.lower()


def test_plan_format_mermaid_prints_the_pictures_of_a_real_plan() -> None:
    result = runner.invoke(app, ["plan", "--stack", "dev", "--format", "mermaid", "--no-policy"])
    assert result.exit_code == 0, result.output
    found = blocks(result.stdout)
    assert len(found) == 4
    assert found[0].startswith("pie showData\n    title Expected monthly cost by region (USD)\n    \"us-east-1\" : ")
    assert "(against an empty stack)" in result.stdout and ":::added" in found[3]
    slices = [float(v) for v in re.findall(r" : ([0-9.]+)", found[1])]
    region_total = sum(float(v) for v in re.findall(r" : ([0-9.]+)", found[0]))  # us-east-1 and the registry replica's
    assert abs(sum(slices) - region_total) < 0.05
    bad = runner.invoke(app, ["plan", "--stack", "dev", "--format", "svg"], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "'svg' is not one of" in " ".join(bad.output.split())


def test_the_ci_entry_point_compares_two_plan_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "base.json").write_text(json.dumps(BASE))
    (tmp_path / "head.json").write_text(json.dumps(HEAD))
    main([str(tmp_path / "head.json"), "--base", str(tmp_path / "base.json")])
    out = capsys.readouterr().out
    assert "#### Resources of dev added, changed and removed\n" in out and len(blocks(out)) == 4
    (tmp_path / "empty.json").write_text("{}")  # the base branch did not plan
    main([str(tmp_path / "head.json"), "--base", str(tmp_path / "empty.json")])
    assert "(against an empty stack)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="is not a plan document"):
        main([str(tmp_path / "missing.json")])
