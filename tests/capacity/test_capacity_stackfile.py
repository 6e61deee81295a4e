"""``--write-stack``: regions added to a copy of a stack file, comments and layout kept,
the result validated by ``stacks.config.parse``, invalid results refused untouched."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from llmops.capacity import (
    CapacityReport,
    CapacityRequest,
    RegionObservation,
    StackWriteError,
    evaluate,
    resolve_accelerator,
)
from llmops.capacity.stackfile import plan_stack_edit, write_stack
from stacks.config import namespace_values, parse
from tests.support import REPO

TODAY = date(2026, 11, 25)


def _report(prices: dict[str, float], azs: int = 3, accelerator: str = "A10G") -> CapacityReport:
    """Every region in ``prices`` offers the smallest two types of ``accelerator``."""
    candidates = resolve_accelerator(accelerator, 1)
    names = [c.instance_type for c in candidates[:2]]
    observations = {
        region: RegionObservation(
            region=region,
            offerings={n: tuple(f"{region}{letter}" for letter in "abcdef"[:azs]) for n in names},
            spot_prices={names[0]: {f"{region}a": price}, names[1]: {f"{region}a": price * 1.5}},
        )
        for region, price in prices.items()
    }
    request = CapacityRequest(candidates=candidates, regions=tuple(prices))
    return evaluate(request, observations)


def _copy(stack: str, tmp_path: Path) -> Path:
    target = tmp_path / f"Pulumi.{stack}.yaml"
    shutil.copyfile(REPO / "stacks" / f"Pulumi.{stack}.yaml", target)
    return target


def _config(path: Path) -> dict[str, object]:
    return namespace_values(yaml.safe_load(path.read_text())["config"])


def test_dev_gets_the_cheapest_region_with_a_free_cidr_and_a_gpu_pool(tmp_path: Path) -> None:
    path = _copy("dev", tmp_path)
    before = path.read_text()
    edit = write_stack(path, _report({"us-east-2": 0.31, "us-west-2": 0.29, "us-east-1": 0.20}), top=1, today=TODAY)
    after = path.read_text()

    # us-east-1 is cheapest but already in dev: the next one is added
    assert [a.region for a in edit.added] == ["us-west-2"]
    assert edit.skipped == (("us-east-1", "already in Pulumi.dev.yaml"), ("us-east-2", "not in the top 1 (--top)"))
    config = parse(_config(path))
    assert [r.name for r in config.regions] == ["us-east-1", "us-west-2"]
    west = config.region("us-west-2")
    assert west.cidr == "10.11.0.0/16"
    assert west.az_count == 3
    assert west.nat_gateways == "single"  # follows the stack's existing regions
    (pool,) = west.gpu_pools
    assert (pool.name, pool.instance_types, pool.capacity_type, pool.min_nodes, pool.max_nodes) == (
        "a10g-spot",
        ["g5.xlarge", "g5.2xlarge"],
        "spot",
        0,
        2,  # as much room as dev's a10g-spot pool in us-east-1, so what dev serves fits
    )
    # everything that was there is still there, byte for byte, comments included
    lines = before.splitlines()
    regions_start = lines.index("  llmops:regions:")
    regions_end = next(i for i, line in enumerate(lines) if i > regions_start and line.startswith("  llmops:"))
    assert after.startswith("\n".join(lines[:regions_end]) + "\n")
    assert after.endswith("\n".join(lines[regions_end:]) + "\n")
    added = after.splitlines()[regions_end : regions_end + 17]
    assert added == [
        "    # us-west-2: added by `llmops capacity` on 2026-11-25 (g5.xlarge spot, $0.2900/GPU-h, offered in 3 AZs)",
        "    - name: us-west-2",
        "      cidr: 10.11.0.0/16",
        "      azCount: 3",
        "      natGateways: single",
        "      cluster:",  # deploys reach it the way they reach the stack's other clusters
        "        kubernetesVersion: '1.35'",
        "        access:",
        "          mode: publicRestricted",
        "          deployerCidrs: [203.0.113.0/24]",
        "      gpuPools:",
        "        - name: a10g-spot",
        "          instanceTypes: [g5.xlarge, g5.2xlarge]",
        "          capacityType: spot",
        "          minNodes: 0",
        "          maxNodes: 2",
        lines[regions_end],
    ]


def test_prod_top_two_get_the_next_free_blocks(tmp_path: Path) -> None:
    path = _copy("prod", tmp_path)
    edit = write_stack(path, _report({"eu-central-1": 0.33, "us-east-2": 0.30, "ap-south-1": 0.5}, azs=2), top=2, today=TODAY)
    assert [(a.region, a.cidr, a.az_count) for a in edit.added] == [
        ("us-east-2", "10.33.0.0/16", 2),
        ("eu-central-1", "10.34.0.0/16", 2),
    ]
    config = parse(_config(path))
    assert [r.name for r in config.regions] == ["us-east-1", "us-west-2", "eu-west-1", "us-east-2", "eu-central-1"]
    assert config.region("eu-central-1").nat_gateways == "perAz"
    assert path.read_text().startswith("# prod: three regions; each keeps an on-demand GPU base warm and bursts on spot.\n")


def test_an_invalid_result_is_refused_and_the_file_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.broken.yaml"
    text = (REPO / "stacks" / "Pulumi.dev.yaml").read_text().replace("monthlyUsd: 1500", "monthlyUsd: -5")
    path.write_text(text)
    stamp = path.stat().st_mtime_ns
    with pytest.raises(StackWriteError) as info:
        write_stack(path, _report({"us-west-2": 0.29}), top=1, today=TODAY)
    message = str(info.value)
    assert message.startswith(f"adding us-west-2 would leave an invalid stack; {path} was not changed.")
    assert "llmops:budget.monthlyUsd: must be > 0" in message
    assert path.read_text() == text
    assert path.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Pulumi.broken.yaml"]  # no temp file left


def test_nothing_to_add_when_every_viable_region_is_already_in_the_stack(tmp_path: Path) -> None:
    path = _copy("staging", tmp_path)
    text = path.read_text()
    with pytest.raises(StackWriteError) as info:
        plan_stack_edit(path, _report({"us-east-1": 0.2, "us-west-2": 0.3}), top=2)
    assert "every viable region (us-east-1, us-west-2) is already in Pulumi.staging.yaml" in str(info.value)
    assert path.read_text() == text


def test_inline_region_lists_are_refused_rather_than_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.flow.yaml"
    text = (
        "config:\n"
        "  llmops:environment: dev\n"
        "  llmops:regions: [{name: us-east-1, cidr: 10.10.0.0/16, azCount: 2}]\n"
    )
    path.write_text(text)
    with pytest.raises(StackWriteError, match="is written inline"):
        write_stack(path, _report({"us-west-2": 0.29}), top=1)
    assert path.read_text() == text


def test_items_at_the_key_indentation_and_a_missing_key_are_handled(tmp_path: Path) -> None:
    base = (
        "config:\n"
        "  llmops:environment: staging\n"
        "  llmops:owner: team  # who pages\n"
        "  llmops:costCenter: cc-1\n"
        "  llmops:account: {id: '123456789012'}\n"
        "  llmops:homeRegion: us-east-1\n"
        "  llmops:budget:\n"
        "    monthlyUsd: 100\n"
        "    alertEmails: [team@example.com]\n"
    )
    flush = tmp_path / "Pulumi.flush.yaml"
    flush.write_text(
        base
        + "  llmops:regions:\n"
        + "  - name: us-east-1\n"
        + "    cidr: 10.0.0.0/16\n"
        + "    cluster: {existing: {clusterName: shared}}\n"
        + "  # trailing comment stays where it is\n"
        + "  llmops:usage:\n"
        + "    gpuUtilization: 0.2\n"
    )
    write_stack(flush, _report({"us-west-2": 0.29}, accelerator="L4"), top=1, today=TODAY)
    config = parse(_config(flush))
    assert [(r.name, r.cidr) for r in config.regions] == [("us-east-1", "10.0.0.0/16"), ("us-west-2", "10.1.0.0/16")]
    assert config.region("us-west-2").gpu_pools[0].instance_types == ["g6.xlarge", "g6.2xlarge"]
    access = config.region("us-west-2").cluster.access  # no created cluster to follow: the path that needs nothing else
    assert access is not None and (access.mode, access.deploy_from) == ("private", "ssmTunnel")
    text = flush.read_text()
    assert "\n  - name: us-west-2\n" in text
    assert text.index("  - name: us-west-2") < text.index("  # trailing comment stays where it is")
    assert "llmops:owner: team  # who pages" in text

    missing = tmp_path / "Pulumi.empty.yaml"
    missing.write_text(base)
    write_stack(missing, _report({"us-east-1": 0.2}), top=1, today=TODAY)
    config = parse(_config(missing))
    assert [(r.name, r.cidr) for r in config.regions] == [("us-east-1", "10.0.0.0/16")]
    assert missing.read_text().startswith(base)


def test_top_must_be_positive_and_the_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(StackWriteError, match="--top must be at least 1"):
        plan_stack_edit(tmp_path / "Pulumi.x.yaml", _report({"us-east-1": 0.2}), top=0)
    with pytest.raises(StackWriteError, match="does not exist"):
        plan_stack_edit(tmp_path / "Pulumi.x.yaml", _report({"us-east-1": 0.2}), top=1)
