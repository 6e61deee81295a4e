"""What the project knows about AWS without asking AWS: regions and their availability
zones, EC2 instance types and their accelerators. Pure data plus typed accessors; the
Pulumi program, the config schema, the cost model and the policy packs all read it here.

The data files in ``data/`` state their source and the date they were taken.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

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
