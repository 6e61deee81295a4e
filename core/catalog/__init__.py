"""What the project knows about AWS without asking AWS: regions and their availability
zones, EC2 instance types and their accelerators. Pure data plus typed accessors; the
Pulumi program, the config schema, the cost model and the policy packs all read it here.

The data files in ``data/`` state their source and the date they were taken. Whether a
name is an EC2 instance type at all is decided by :func:`check_instance_type` against every
type AWS defines (the EC2 service model botocore ships), not against the few types whose
specifications the project keeps in ``data/instance_types.json``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from core.errors import LlmopsError

Accelerator = Literal["nvidia", "neuron"]


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One EC2 instance type as the platform needs to know it."""

    name: str
    family: str
    vcpu: int
    memory_gib: float
    accelerator: Accelerator | None
    accelerator_model: str | None
    accelerator_count: int
    accelerator_memory_gib: float

    @property
    def is_nvidia_gpu(self) -> bool:
        return self.accelerator == "nvidia" and self.accelerator_count > 0


@dataclass(frozen=True, slots=True)
class Region:
    """An AWS region and how many availability zones it offers."""

    name: str
    location: str
    availability_zones: int


def load_data(name: str) -> dict[str, Any]:
    """A data file of the catalogue (``data/<name>``, JSON)."""
    text = resources.files("core.catalog").joinpath("data", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def instance_types() -> dict[str, InstanceType]:
    """All known instance types by name."""
    raw = load_data("instance_types.json")["instanceTypes"]
    return {
        name: InstanceType(
            name=name,
            family=spec["family"],
            vcpu=spec["vcpu"],
            memory_gib=spec["memoryGiB"],
            accelerator=spec["accelerator"],
            accelerator_model=spec["acceleratorModel"],
            accelerator_count=spec["acceleratorCount"],
            accelerator_memory_gib=spec["acceleratorMemoryGiB"],
        )
        for name, spec in raw.items()
    }


@cache
def regions() -> dict[str, Region]:
    """All known commercial AWS regions by code."""
    raw = load_data("regions.json")["regions"]
    return {
        name: Region(name=name, location=spec["location"], availability_zones=spec["availabilityZones"])
        for name, spec in raw.items()
    }


class UnknownInstanceTypeError(LlmopsError, ValueError):
    """The name is not an EC2 instance type (a typo); the message suggests the closest names.

    A ``ValueError`` too, so a pydantic validator can let it through as the field's error."""


_ENUM = re.compile(r'"InstanceType"\s*:\s*\{[^{}]*?"enum"\s*:\s*\[([^\]]*)\]')


@cache
def ec2_instance_type_names() -> frozenset[str]:
    """Every EC2 instance type name AWS defines: the ``InstanceType`` enum of the newest EC2
    service model in the installed botocore (read on first use, then kept), plus the types
    of the instance catalogue (so an older botocore never refuses a type the project
    knows)."""
    return frozenset(_botocore_instance_types()) | frozenset(instance_types())


def _botocore_instance_types() -> list[str]:
    """The ``InstanceType`` enum of botocore's EC2 model; empty when botocore is missing or
    its model has no such shape."""
    try:
        import botocore
    except ImportError:  # pragma: no cover - boto3 is a runtime dependency
        return []
    root = Path(botocore.__file__).parent / "data" / "ec2"
    versions = sorted(p for p in root.iterdir() if (p / "service-2.json.gz").exists() or (p / "service-2.json").exists())
    if not versions:
        return []
    newest = versions[-1]
    packed = newest / "service-2.json.gz"
    text = gzip.decompress(packed.read_bytes()).decode("utf-8") if packed.exists() else (newest / "service-2.json").read_text("utf-8")
    match = _ENUM.search(text)  # one shape of a ~5 MB model: a search is ~20x faster than json.loads
    return json.loads(f"[{match.group(1)}]") if match else []


def is_instance_type(name: str) -> bool:
    """Whether ``name`` is an EC2 instance type AWS defines (priced or not). Types of the
    instance catalogue answer without reading botocore's model."""
    return name in instance_types() or name in ec2_instance_type_names()


DEFAULT_INSTANCE_TYPE_FIX = "use an EC2 instance type such as m7i.large or g5.xlarge"


def check_instance_type(
    name: str, *, where: str = "", fix: str = DEFAULT_INSTANCE_TYPE_FIX, hints: Iterable[str] | None = None
) -> None:
    """Raises :class:`UnknownInstanceTypeError` unless ``name`` is an EC2 instance type.

    The one check of an instance type name in the project (stack schema, capacity planner,
    cost model): decided against every type AWS defines (:func:`ec2_instance_type_names`);
    ``hints`` narrows only the spelling suggestions (e.g. to GPU types)."""
    if is_instance_type(name):
        return
    candidates = hints if hints is not None else ec2_instance_type_names()
    raise UnknownInstanceTypeError(unknown_name_message("instance type", name, candidates, fix, where))


_ACCELERATED_FAMILY = re.compile(r"^(?:dl|f|g|gr|inf|p|trn|vt)\d")
"""Families of the EC2 "accelerated computing" category (docs.aws.amazon.com/ec2/latest/
instancetypes/ac.html): DL, F, G, Gr, Inf, P, Trn and VT."""


def is_accelerated(name: str) -> bool:
    """Whether an instance type carries GPUs or other accelerators: from its specification
    when the catalogue has one, else from its family (accelerated computing families)."""
    spec = instance_types().get(name)
    if spec is not None:
        return spec.accelerator is not None
    return bool(_ACCELERATED_FAMILY.match(name))


def gpu_instance_types() -> dict[str, InstanceType]:
    """Instance types with NVIDIA GPUs (what a GPU pool can run)."""
    return {n: t for n, t in instance_types().items() if t.is_nvidia_gpu}


def unknown_name_message(kind: str, name: str, candidates: Iterable[str], fix: str = "", where: str = "") -> str:
    """``unknown <kind> '<name>'<where> (did you mean ...?); <fix>``: the one wording every
    catalogue lookup error uses."""
    hint = closest_names(name, sorted(candidates))
    message = f"unknown {kind} '{name}'{where}"
    if hint:
        message += f" (did you mean {', '.join(hint)}?)"
    return f"{message}; {fix}" if fix else message


def closest_names(name: str, candidates: list[str] | tuple[str, ...], limit: int = 3) -> list[str]:
    """Spelling suggestions for error messages."""
    import difflib

    return difflib.get_close_matches(name, list(candidates), n=limit, cutoff=0.6)
