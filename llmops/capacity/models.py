"""Typed results of a capacity query.

Two layers: *observations* are the raw facts one region reported (which AZs offer which
instance type, the latest spot price per AZ, the account's vCPU quota), and the *report*
is what :func:`llmops.capacity.planner.evaluate` makes of them (each region viable with its
best option, or excluded with every reason). Everything is frozen; ``as_json`` gives the
stable, camelCase document that ``llmops capacity --json`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

CapacityType = Literal["spot", "on-demand"]

ExclusionKind = Literal[
    "not-offered",
    "too-few-azs",
    "quota-too-low",
    "no-spot-price",
    "region-not-enabled",
    "not-permitted",
    "throttled",
    "error",
]
"""Why a region (or one instance type in it) cannot supply the capacity."""

REPORT_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Candidate:
    """An instance type that satisfies the request, with what the planner needs of it."""

    instance_type: str
    gpus: int
    """GPUs per instance."""
    accelerator_model: str
    """E.g. ``A10G``, ``L4``, ``H100``."""
    vcpus: int
    """vCPUs per instance (EC2 vCPU quotas are counted in vCPUs)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "instanceType": self.instance_type,
            "gpus": self.gpus,
            "acceleratorModel": self.accelerator_model,
            "vcpus": self.vcpus,
        }


@dataclass(frozen=True, slots=True)
class CapacityRequest:
    """What to look for: resolved candidates plus the constraints a region must meet."""

    candidates: tuple[Candidate, ...]
    """Instance types to consider, in the order given (``--instance-type``) or by size."""
    regions: tuple[str, ...]
    """Regions to ask, in the order given."""
    capacity_type: CapacityType = "spot"
    min_azs: int = 2
    """A region needs the type in at least this many AZs."""
    nodes: int = 1
    """Instances wanted per region; the quota check needs ``nodes * vcpus`` vCPUs."""
    lookback_hours: float = 3.0
    """How far back spot price history is read."""

    @property
    def label(self) -> str:
        """A short description for headings: ``g5.xlarge`` or ``1 x A10G``."""
        if len(self.candidates) == 1:
            return self.candidates[0].instance_type
        first = self.candidates[0]
        return f"{first.gpus} x {first.accelerator_model}"

    def vcpus_needed(self, candidate: Candidate) -> int:
        return candidate.vcpus * self.nodes


@dataclass(frozen=True, slots=True)
class QuotaObservation:
    """One Service Quotas value in one region (``value`` is None when it could not be read)."""

    code: str
    """Quota code, e.g. ``L-DB2E81BA``."""
    name: str
    """Quota name, e.g. ``Running On-Demand G and VT instances``."""
    value: float | None
    """The account's applied value in vCPUs; None when unknown."""
    note: str = ""
    """Why the value is unknown (e.g. no permission, not reported in this region)."""

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "vcpus": self.value, "note": self.note or None}


@dataclass(frozen=True, slots=True)
class RegionFailure:
    """A region that could not be asked at all (not enabled, no permission, throttled)."""

    kind: ExclusionKind
    code: str
    """The AWS error code, e.g. ``AuthFailure``."""
    message: str


@dataclass(frozen=True, slots=True)
class RegionObservation:
    """Everything one region told us."""

    region: str
    offerings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Instance type -> sorted AZ names that offer it (only candidates; absent = not offered)."""
    spot_prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Instance type -> AZ -> latest spot price (USD per instance-hour)."""
    quotas: Mapping[str, QuotaObservation] = field(default_factory=dict)
    """Quota code -> observation."""
    failure: RegionFailure | None = None
    """Set when the region could not be asked; the other fields are then empty."""


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One reason a region cannot supply the capacity."""

    kind: ExclusionKind
    message: str
    instance_types: tuple[str, ...] = ()
    """The candidates the reason applies to (empty for region-wide reasons)."""

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "instanceTypes": list(self.instance_types)}


@dataclass(frozen=True, slots=True)
class Option:
    """One viable instance type in one region."""

    candidate: Candidate
    availability_zones: tuple[str, ...]
    """AZs that offer the type."""
    hourly_usd: float | None
    """Price per instance-hour: the cheapest AZ's latest spot price, or the on-demand price;
    None when unknown (on-demand types missing from the price catalogue)."""
    price_source: str
    """Where ``hourly_usd`` came from."""
    az_prices: Mapping[str, float] = field(default_factory=dict)
    """Spot price per AZ (spot only)."""
    quota: QuotaObservation | None = None
    """The quota that limits this type in this region."""
    vcpus_needed: int = 0

    @property
    def gpu_hourly_usd(self) -> float | None:
        """Price per GPU-hour, the ranking key."""
        if self.hourly_usd is None:
            return None
        return self.hourly_usd / self.candidate.gpus

    @property
    def quota_headroom(self) -> float | None:
        """Quota vCPUs left after the requested instances (None when the quota is unknown)."""
        if self.quota is None or self.quota.value is None:
            return None
        return self.quota.value - self.vcpus_needed

    def sort_key(self) -> tuple[Any, ...]:
        """Cheapest per GPU-hour first (unpriced last), then more AZs, then fewer vCPUs."""
        price = self.gpu_hourly_usd
        return (
            price is None,
            price if price is not None else 0.0,
            -len(self.availability_zones),
            self.candidate.vcpus,
            self.candidate.instance_type,
        )

    def as_json(self) -> dict[str, Any]:
        price = self.gpu_hourly_usd
        return {
            "instanceType": self.candidate.instance_type,
            "gpus": self.candidate.gpus,
            "availabilityZones": list(self.availability_zones),
            "hourlyUsd": _round(self.hourly_usd),
            "gpuHourlyUsd": _round(price),
            "priceSource": self.price_source,
            "azPrices": {az: _round(p) for az, p in sorted(self.az_prices.items())},
            "vcpusNeeded": self.vcpus_needed,
            "quota": self.quota.as_json() if self.quota is not None else None,
            "quotaHeadroomVcpus": self.quota_headroom,
        }


@dataclass(frozen=True, slots=True)
class RegionResult:
    """The verdict for one region: its options (best first) or why it was excluded."""

    region: str
    options: tuple[Option, ...] = ()
    """Viable options, best first; empty when the region is excluded."""
    exclusions: tuple[Exclusion, ...] = ()
    """Why the region (or some of its candidate types) cannot supply the capacity."""

    @property
    def viable(self) -> bool:
        return bool(self.options)

    @property
    def best(self) -> Option | None:
        return self.options[0] if self.options else None

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "viable": self.viable,
            "best": self.best.as_json() if self.best is not None else None,
            "options": [o.as_json() for o in self.options],
            "exclusions": [e.as_json() for e in self.exclusions],
        }


@dataclass(frozen=True, slots=True)
class CapacityReport:
    """Ranked regions for one request: viable ones cheapest first, then the excluded ones."""

    request: CapacityRequest
    ranked: tuple[RegionResult, ...]
    """Viable regions, cheapest price per GPU-hour first."""
    excluded: tuple[RegionResult, ...]
    """Regions that cannot supply the capacity, by name."""

    def top(self, count: int) -> tuple[RegionResult, ...]:
        """The ``count`` best viable regions."""
        return self.ranked[:count]

    def as_json(self) -> dict[str, Any]:
        request = self.request
        return {
            "schemaVersion": REPORT_SCHEMA_VERSION,
            "request": {
                "candidates": [c.as_json() for c in request.candidates],
                "regions": list(request.regions),
                "capacityType": request.capacity_type,
                "minAzs": request.min_azs,
                "nodes": request.nodes,
                "lookbackHours": request.lookback_hours,
            },
            "ranked": [r.as_json() for r in self.ranked],
            "excluded": [r.as_json() for r in self.excluded],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
