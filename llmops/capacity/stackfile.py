"""``--write-stack``: add the chosen regions to a ``Pulumi.<stack>.yaml``.

The file is edited as text so its comments, key order and formatting survive: new region
entries (each with a comment saying where it came from) are inserted at the end of the
``llmops:regions`` block sequence, in the same indentation as the entries already there.
The result is then checked twice before anything is written:

1. parsed back with PyYAML, it must equal the old document with exactly the new entries
   appended (so the text edit cannot have changed anything else), and
2. its ``llmops:`` namespace must pass :func:`stacks.config.parse`.

If either check fails, :class:`~llmops.capacity.errors.StackWriteError` is raised and the
file is not touched. Otherwise it is replaced atomically.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from core import catalog
from llmops.capacity.errors import StackWriteError
from llmops.capacity.models import CapacityReport, RegionResult

NAMESPACE_PREFIX = "llmops:"
REGIONS_KEY = "llmops:regions"
MAX_POOL_TYPES = 3
"""At most this many instance types per written GPU pool (the cheapest viable ones)."""

_KEY_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<q>['\"]?)llmops:regions(?P=q)[ ]*:(?P<rest>.*)$")


@dataclass(frozen=True, slots=True)
class AddedRegion:
    """One region entry ``--write-stack`` adds."""

    region: str
    cidr: str
    az_count: int
    pool_name: str
    instance_types: tuple[str, ...]
    entry: Mapping[str, Any]
    """The entry as written (camelCase keys)."""


@dataclass(frozen=True, slots=True)
class StackEdit:
    """What ``--write-stack`` did (or would do) to one stack file."""

    path: Path
    added: tuple[AddedRegion, ...]
    skipped: tuple[tuple[str, str], ...]
    """``(region, reason)`` for viable regions that were not added."""
    text: str
    """The new file content."""

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "added": [
                {
                    "region": a.region,
                    "cidr": a.cidr,
                    "azCount": a.az_count,
                    "pool": a.pool_name,
                    "instanceTypes": list(a.instance_types),
                }
                for a in self.added
            ],
            "skipped": [{"region": r, "reason": why} for r, why in self.skipped],
        }


def plan_stack_edit(path: Path, report: CapacityReport, top: int, *, today: date | None = None) -> StackEdit:
    """Computes and checks the edit that adds the ``top`` best viable regions of ``report``
    that the stack does not have yet. Raises :class:`StackWriteError` when nothing can be
    added or the result would be invalid; never writes."""
    if top < 1:
        raise StackWriteError(f"--top must be at least 1 (got {top})")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackWriteError(
            f"{path} does not exist; create the stack first (copy stacks/Pulumi.dev.yaml) or pick "
            "an existing stack with --write-stack"
        ) from None
    document = _load(path, text)
    config = document["config"]
    existing = _existing_regions(path, config)
    present = {str(r.get("name")) for r in existing if isinstance(r, Mapping)}
    chosen: list[RegionResult] = []
    skipped: list[tuple[str, str]] = []
    for result in report.ranked:
        if result.region in present:
            skipped.append((result.region, f"already in {path.name}"))
        elif len(chosen) < top:
            chosen.append(result)
        else:
            skipped.append((result.region, f"not in the top {top} (--top)"))
    if not chosen:
        if not report.ranked:
            raise StackWriteError(f"no region can supply {report.request.label}; {path} was not changed")
        raise StackWriteError(
            f"every viable region ({', '.join(r.region for r in report.ranked)}) is already in {path.name}; "
            f"pass --regions with other regions to add; {path} was not changed"
        )
    taken = [_network(r) for r in existing if isinstance(r, Mapping)]
    nat = _inherited_nat(existing)
    cluster = _inherited_cluster(existing)
    largest = _largest_pool(existing)
    added: list[AddedRegion] = []
    for result in chosen:
        cidr = _free_cidr([n for n in taken if n is not None])
        taken.append(ipaddress.IPv4Network(cidr))
        added.append(_entry(report, result, cidr, nat, cluster, largest))
    new_text = insert_regions(text, added, report, today=today or date.today())
    _verify(path, document, new_text, added)
    return StackEdit(path=path, added=tuple(added), skipped=tuple(skipped), text=new_text)


def write_stack(path: Path, report: CapacityReport, top: int, *, today: date | None = None) -> StackEdit:
    """:func:`plan_stack_edit`, then replaces the file atomically."""
    edit = plan_stack_edit(path, report, top, today=today)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(edit.text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return edit


# --------------------------------------------------------------------------- reading


def _load(path: Path, text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise StackWriteError(f"{path} is not valid YAML ({exc}); fix it first; nothing was written") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise StackWriteError(f"{path} has no 'config:' mapping; it is not a Pulumi stack file; nothing was written")
    return document


def _existing_regions(path: Path, config: Mapping[str, Any]) -> list[Any]:
    regions = config.get(REGIONS_KEY)
    if regions is None:
        return []
    if not isinstance(regions, list):
        raise StackWriteError(
            f"{path}: {REGIONS_KEY} is not a YAML list; write it as a block list (one '- name: ...' "
            "entry per region) so regions can be added; nothing was written"
        )
    return regions


def _network(region: Mapping[str, Any]) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(region.get("cidr", "10.0.0.0/16")), strict=False)
    except ValueError:
        return None


DEFAULT_ACCESS = {"mode": "private", "deployFrom": "ssmTunnel"}
"""How a new region's deploys reach its API server when no region of the stack says: an SSM
tunnel through a bastion the stack creates (a path that needs nothing else)."""


def _inherited_cluster(existing: Sequence[Any]) -> dict[str, Any]:
    """A new region's ``cluster`` section: the access model (and version) of the stack's first
    created cluster, so its deploys reach the new API server the way they reach the others."""
    for region in existing:
        cluster = region.get("cluster") if isinstance(region, Mapping) else None
        if isinstance(cluster, Mapping) and cluster.get("existing") is None and isinstance(cluster.get("access"), Mapping):
            inherited: dict[str, Any] = {}
            if isinstance(cluster.get("kubernetesVersion"), str):
                inherited["kubernetesVersion"] = cluster["kubernetesVersion"]
            inherited["access"] = dict(cluster["access"])
            return inherited
    return {"access": dict(DEFAULT_ACCESS)}


def _largest_pool(existing: Sequence[Any]) -> int:
    """The largest ``maxNodes`` of the stack's GPU pools: a new region, a peer of the
    others, gets as much room, so what the stack serves there (replicas bounded by the
    region's GPUs) still fits."""
    sizes = [
        pool["maxNodes"]
        for region in existing
        if isinstance(region, Mapping) and isinstance(region.get("gpuPools"), list)
        for pool in region["gpuPools"]
        if isinstance(pool, Mapping) and isinstance(pool.get("maxNodes"), int)
    ]
    return max(sizes, default=0)


def _inherited_nat(existing: Sequence[Any]) -> str | None:
    for region in existing:
        if isinstance(region, Mapping) and isinstance(region.get("natGateways"), str):
            return str(region["natGateways"])
    return None


def _free_cidr(taken: Sequence[ipaddress.IPv4Network]) -> str:
    """The next free 10.x.0.0/16 after the highest one the stack uses (wrapping around)."""
    blocks = list(ipaddress.IPv4Network("10.0.0.0/8").subnets(new_prefix=16))
    used = [n for n in taken if n.subnet_of(ipaddress.IPv4Network("10.0.0.0/8"))]
    start = max((int(n.network_address.packed[1]) for n in used), default=-1) + 1
    for offset in range(len(blocks)):
        block = blocks[(start + offset) % len(blocks)]
        if not any(block.overlaps(t) for t in taken):
            return str(block)
    raise StackWriteError("no free /16 block left in 10.0.0.0/8 for a new region; nothing was written")


def _entry(
    report: CapacityReport, result: RegionResult, cidr: str, nat: str | None, cluster: Mapping[str, Any], largest: int
) -> AddedRegion:
    best = result.best
    assert best is not None
    region_azs = catalog.regions()[result.region].availability_zones
    az_count = max(2, min(len(best.availability_zones), 3, region_azs))
    types = tuple(o.candidate.instance_type for o in result.options[:MAX_POOL_TYPES])
    capacity = report.request.capacity_type
    pool_name = f"{best.candidate.accelerator_model.lower()}-{capacity}"
    pool: dict[str, Any] = {
        "name": pool_name,
        "instanceTypes": list(types),
        "capacityType": capacity,
        "minNodes": 0,
        "maxNodes": max(1, report.request.nodes, largest),
    }
    entry: dict[str, Any] = {"name": result.region, "cidr": cidr, "azCount": az_count}
    if nat is not None:
        entry["natGateways"] = nat
    entry["cluster"] = dict(cluster)
    entry["gpuPools"] = [pool]
    return AddedRegion(
        region=result.region,
        cidr=cidr,
        az_count=az_count,
        pool_name=pool_name,
        instance_types=types,
        entry=entry,
    )


# --------------------------------------------------------------------------- the text edit


class _IndentedDumper(yaml.SafeDumper):
    """Indents block sequences under their key (``gpuPools:\\n  - name: ...``), the style
    of the shipped stack files."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def render_entry(entry: Mapping[str, Any], indent: int) -> list[str]:
    """One region entry as block-sequence lines at ``indent`` spaces (lists of scalars in
    flow style, like ``instanceTypes: [g5.xlarge, g5.2xlarge]``)."""
    dumped = yaml.dump(
        [dict(entry)],
        Dumper=_IndentedDumper,
        sort_keys=False,
        default_flow_style=None,
        width=4096,
    )
    return [(" " * indent + line) if line else line for line in dumped.splitlines()]


def _comment(report: CapacityReport, added: AddedRegion, today: date) -> str:
    result = next(r for r in report.ranked if r.region == added.region)
    best = result.best
    assert best is not None
    price = best.gpu_hourly_usd
    priced = f", ${price:.4f}/GPU-h" if price is not None else ""
    return (
        f"# {added.region}: added by `llmops capacity` on {today.isoformat()} "
        f"({best.candidate.instance_type} {report.request.capacity_type}{priced}, "
        f"offered in {len(best.availability_zones)} AZs)"
    )


def insert_regions(text: str, added: Sequence[AddedRegion], report: CapacityReport, *, today: date) -> str:
    """``text`` with the entries of ``added`` appended to its ``llmops:regions`` list."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    key_index = next((i for i, line in enumerate(lines) if _KEY_LINE.match(line)), None)
    if key_index is None:
        return _append_key(text, lines, added, report, today, newline)
    match = _KEY_LINE.match(lines[key_index])
    assert match is not None
    rest = match.group("rest").strip()
    if rest and not rest.startswith("#"):
        raise StackWriteError(
            f"{REGIONS_KEY} is written inline ({rest[:40]}...); write it as a block list (one "
            "'- name: ...' entry per line) so regions can be added; nothing was written"
        )
    key_indent = len(match.group("indent"))
    last = key_index
    item_indent: int | None = None
    for index in range(key_index + 1, len(lines)):
        line = lines[index]
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        is_item = stripped == "-" or stripped.startswith("- ")
        if indent > key_indent or (indent == key_indent and is_item):
            if is_item and item_indent is None:
                item_indent = indent
            last = index
            continue
        break
    if item_indent is None:
        item_indent = key_indent + 2
    block: list[str] = []
    for entry in added:
        block.append(" " * item_indent + _comment(report, entry, today))
        block.extend(render_entry(entry.entry, item_indent))
    new_lines = lines[: last + 1] + block + lines[last + 1 :]
    return newline.join(new_lines) + (newline if text.endswith(("\n", "\r\n")) or not text else "")


def _append_key(
    text: str,
    lines: list[str],
    added: Sequence[AddedRegion],
    report: CapacityReport,
    today: date,
    newline: str,
) -> str:
    """Adds an ``llmops:regions`` key at the end of the ``config:`` block."""
    config_index = next((i for i, line in enumerate(lines) if re.match(r"^config[ ]*:[ ]*(#.*)?$", line)), None)
    if config_index is None:
        raise StackWriteError("the stack file has no top-level 'config:' block to add regions to; nothing was written")
    last = config_index
    child_indent: int | None = None
    for index in range(config_index + 1, len(lines)):
        line = lines[index]
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if indent == 0:
            break
        if child_indent is None:
            child_indent = indent
        last = index
    indent = child_indent or 2
    block = [" " * indent + f"{REGIONS_KEY}:"]
    for entry in added:
        block.append(" " * (indent + 2) + _comment(report, entry, today))
        block.extend(render_entry(entry.entry, indent + 2))
    new_lines = lines[: last + 1] + block + lines[last + 1 :]
    return newline.join(new_lines) + newline


# --------------------------------------------------------------------------- checks


def _verify(path: Path, before: Mapping[str, Any], new_text: str, added: Sequence[AddedRegion]) -> None:
    after = _load(path, new_text)
    expected_config = dict(before["config"])
    expected_config[REGIONS_KEY] = list(before["config"].get(REGIONS_KEY) or []) + [dict(a.entry) for a in added]
    expected = {**before, "config": expected_config}
    if after != expected:
        raise StackWriteError(
            f"could not add the regions to {path} without changing other parts of it (unusual "
            "indentation or anchors?); add them by hand or use --json; nothing was written"
        )
    namespace = {
        key[len(NAMESPACE_PREFIX) :]: _strip_secure(_decode(value))
        for key, value in after["config"].items()
        if isinstance(key, str) and key.startswith(NAMESPACE_PREFIX)
    }
    from stacks.config import ConfigError, parse

    try:
        parse(namespace, source=path.name)
    except ConfigError as exc:
        raise StackWriteError(
            f"adding {', '.join(a.region for a in added)} would leave an invalid stack; "
            f"{path} was not changed. {exc}"
        ) from None


def _decode(value: Any) -> Any:
    from stacks.config import decode_value

    return decode_value(value)


def _strip_secure(value: Any) -> Any:
    """``{secure: ...}`` ciphertexts become a placeholder string (as the engine does)."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return "[secret]"
        return {k: _strip_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v) for v in value]
    return value
