"""The price catalogue: what AWS charges, per region, for the things the platform creates.

Data lives in ``data/prices.json`` (versioned with the repository). Each section states its
source and the date it was taken: ``ec2`` (on-demand hourly prices by region and instance
type, refreshed from the AWS Price List API by ``llmops cost --refresh``), ``spot`` (a
per-family discount table plus optional recorded spot prices), ``services`` (unit prices of
the other services by key and region) and ``eks`` (which Kubernetes versions are billed at
the extended-support rate).

Lookups raise :class:`PriceLookupError` (an :class:`~core.errors.LlmopsError`) with a
message naming the value and the fix. Two kinds are user errors (a name that does not
exist): :class:`UnknownInstanceTypeError` and :class:`UnknownRegionError`. Everything else
is a :class:`MissingPriceError`: a real instance type, region or service the catalogue has
no price for, which the cost model lists as unpriced with the message as its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from core import catalog
from core.errors import LlmopsError

CapacityType = Literal["spot", "on-demand"]

DEFAULT_FILE = "prices.json"


class PriceLookupError(LlmopsError):
    """A price the catalogue cannot give: an unknown region, instance type or service key."""


class UnknownInstanceTypeError(PriceLookupError, catalog.UnknownInstanceTypeError):
    """The name is not an EC2 instance type at all (see :func:`core.catalog.check_instance_type`)."""


def check_instance_type(name: str, region: str) -> None:
    """Raises :class:`UnknownInstanceTypeError` (a typo, with suggestions) unless ``name``
    is an EC2 instance type; the check is :func:`core.catalog.check_instance_type`."""
    try:
        catalog.check_instance_type(name, where=f" in region {region}")
    except catalog.UnknownInstanceTypeError as exc:
        raise UnknownInstanceTypeError(str(exc)) from None


class UnknownRegionError(PriceLookupError):
    """The region is not an AWS region (or, as :class:`RegionNotPricedError`, one the
    catalogue has no prices for)."""


class MissingPriceError(PriceLookupError):
    """A real instance type, region or service the catalogue lists no price for (a type not
    offered in the region, one sold only through Capacity Blocks, a region or service not
    covered yet): the resource is unpriced, never an error."""


class RegionNotPricedError(MissingPriceError, UnknownRegionError):
    """An AWS region the catalogue has no prices for."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a section of the catalogue came from."""

    source: str
    taken: str


@dataclass(frozen=True, slots=True)
class ServicePrice:
    """The unit price of one service dimension in one region."""

    key: str
    unit: str
    usd: float
    source: str


def default_path() -> Path:
    """The packaged catalogue file (inside the source tree on an editable install)."""
    return Path(str(resources.files("core.catalog").joinpath("data", DEFAULT_FILE)))


class PriceCatalogue:
    """Typed, read-only access to one catalogue document."""

    def __init__(self, document: dict[str, Any], path: Path | None = None) -> None:
        self.document = document
        self.path = path
        self.version: str = str(document.get("version", ""))
        self.currency: str = str(document.get("currency", "USD"))
        self.taken: str = str(document.get("taken", ""))
        self.source: str = str(document.get("source", ""))
        ec2 = document.get("ec2") or {}
        self.ec2 = Provenance(str(ec2.get("source", "")), str(ec2.get("taken", "")))
        self._estimated: dict[str, dict[str, str]] = {
            region: {name: str(how) for name, how in types.items()}
            for region, types in (ec2.get("estimated") or {}).items()
        }
        self._on_demand: dict[str, dict[str, float]] = {
            region: {name: float(price) for name, price in types.items()}
            for region, types in (ec2.get("onDemand") or {}).items()
        }
        spot = document.get("spot") or {}
        self.spot = Provenance(str(spot.get("source", "")), str(spot.get("taken", "")))
        self._default_discount = float(spot.get("defaultDiscount", 0.0))
        self._family_discount: dict[str, float] = {
            family: float(value) for family, value in (spot.get("familyDiscount") or {}).items()
        }
        self._spot_prices: dict[str, dict[str, float]] = {
            region: {name: float(price) for name, price in types.items()}
            for region, types in (spot.get("prices") or {}).items()
        }
        services = document.get("services") or {}
        self.services = Provenance(str(services.get("source", "")), str(services.get("taken", "")))
        self._services: dict[str, dict[str, Any]] = dict(services.get("prices") or {})
        eks = document.get("eks") or {}
        self.extended_support_below: str | None = eks.get("extendedSupportBelow")

    # ------------------------------------------------------------------ regions

    @property
    def regions(self) -> list[str]:
        """Regions with EC2 prices."""
        return sorted(self._on_demand)

    def check_region(self, region: str) -> None:
        """Raises :class:`UnknownRegionError` for a name that is not an AWS region, and
        :class:`RegionNotPricedError` for a region the catalogue has no EC2 prices for."""
        if region in self._on_demand:
            return
        if region not in catalog.regions():
            raise UnknownRegionError(
                catalog.unknown_name_message("AWS region", region, catalog.regions(), "use a region code such as us-east-1")
            )
        raise RegionNotPricedError(
            f"the price catalogue has no prices for region '{region}' (it covers "
            f"{', '.join(self.regions)}); run `llmops cost --refresh --region {region}` to add it"
        )

    # ------------------------------------------------------------------ EC2

    def on_demand_hourly(self, region: str, instance_type: str) -> float:
        """On-demand Linux price per hour of ``instance_type`` in ``region``: a typo in the
        type or region is an error; a real type or region without a price is a
        :class:`MissingPriceError`."""
        price = self._on_demand.get(region, {}).get(instance_type)
        if price is not None:
            return price
        check_instance_type(instance_type, region)
        self.check_region(region)
        raise MissingPriceError(
            f"no on-demand price for {instance_type} in {region} in the price catalogue "
            f"(taken {self.ec2.taken}); it may not be offered there, or run "
            f"`llmops cost --refresh --region {region}`"
        )

    def estimated(self, region: str, instance_type: str) -> str | None:
        """How an estimated on-demand price was derived, or None for a listed price."""
        return self._estimated.get(region, {}).get(instance_type)

    def spot_discount(self, instance_type: str) -> float:
        """Assumed spot saving over on-demand (0..1) for the type's family."""
        family = instance_type.split(".", 1)[0]
        return self._family_discount.get(family, self._default_discount)

    def recorded_spot_hourly(self, region: str, instance_type: str) -> float | None:
        """A recorded spot price, when the catalogue has one."""
        return self._spot_prices.get(region, {}).get(instance_type)

    def hourly(self, region: str, instance_type: str, capacity: CapacityType) -> tuple[float, str]:
        """Price per hour and how it was derived (for the estimate's assumptions)."""
        on_demand = self.on_demand_hourly(region, instance_type)
        how = self.estimated(region, instance_type)
        estimate = f" (estimated: {how})" if how else ""
        if capacity == "on-demand":
            return on_demand, f"{instance_type} on-demand ${on_demand:g}/h{estimate}"
        recorded = self.recorded_spot_hourly(region, instance_type)
        if recorded is not None:
            return recorded, f"{instance_type} spot ${recorded:g}/h (recorded spot price)"
        discount = self.spot_discount(instance_type)
        price = on_demand * (1 - discount)
        return price, (
            f"{instance_type} spot ${price:.4f}/h (on-demand ${on_demand:g}/h{estimate} less the "
            f"{discount:.0%} {instance_type.split('.', 1)[0]} spot discount)"
        )

    # ------------------------------------------------------------------ services

    def has_service(self, key: str) -> bool:
        """Whether the catalogue has service dimension ``key`` (in any region)."""
        return key in self._services

    def service(self, key: str, region: str) -> ServicePrice:
        """The unit price of service dimension ``key`` in ``region``."""
        entry = self._services.get(key)
        if entry is None:
            raise MissingPriceError(f"the price catalogue has no service price '{key}'; add it to {DEFAULT_FILE}")
        prices = entry.get("prices") or {}
        if region not in prices:
            self.check_region(region)
            raise MissingPriceError(
                f"no price for {key} in {region} in the price catalogue; add it to {DEFAULT_FILE}"
            )
        return ServicePrice(key=key, unit=str(entry.get("unit", "")), usd=float(prices[region]), source=str(entry.get("source", "")))

    def eks_extended_support(self, version: str | None) -> bool:
        """Whether a control plane on Kubernetes ``version`` is billed at the extended rate."""
        if not version or not self.extended_support_below:
            return False
        return _version_tuple(version) < _version_tuple(self.extended_support_below)

    def describe(self) -> dict[str, str]:
        """Provenance for reports."""
        return {
            "version": self.version,
            "taken": self.taken,
            "source": self.source,
            "ec2Taken": self.ec2.taken,
            "spotTaken": self.spot.taken,
            "servicesTaken": self.services.taken,
        }


def _version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for part in str(version).split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def load_prices(path: Path | str | None = None) -> PriceCatalogue:
    """The catalogue at ``path`` (default: the packaged one, cached)."""
    if path is None:
        return _packaged()
    return _read(Path(path))


@cache
def _packaged() -> PriceCatalogue:
    return _read(default_path())


def clear_cache() -> None:
    """Forgets the cached packaged catalogue (after a refresh rewrote it)."""
    _packaged.cache_clear()


def _read(path: Path) -> PriceCatalogue:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PriceLookupError(f"price catalogue {path} does not exist; pass an existing file with --catalogue") from None
    except json.JSONDecodeError as exc:
        raise PriceLookupError(f"price catalogue {path} is not valid JSON ({exc}); restore it from git") from None
    if not isinstance(document, dict) or "ec2" not in document:
        raise PriceLookupError(f"price catalogue {path} has no 'ec2' section; restore it from git")
    return PriceCatalogue(document, path)
