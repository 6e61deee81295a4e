"""What the cost model returns: a :class:`CostEstimate` of :class:`CostItem` s, each the sum
of its :class:`CostLine` s, and what it takes: :class:`CostInput` s in plain values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.catalog.prices import PriceCatalogue
from stacks.config import UsageConfig

Status = Literal["priced", "free", "unpriced"]


@dataclass(frozen=True, slots=True)
class CostInput:
    """One resource to price, in plain values (from a plan record or a policy analyzer)."""

    urn: str
    type: str
    region: str | None
    inputs: Mapping[str, Any]
    """Plain inputs (secret wrappers removed)."""
    component: str | None = None
    """Component the resource belongs to (for grouping), e.g. ``Network``."""
    name: str | None = None
    """Logical name; defaults to the URN's last segment."""
    custom: bool = True
    """False for component resources (always free)."""
    id: str | None = None
    """Physical id when known (links Aurora instances to their cluster)."""


@dataclass(frozen=True, slots=True)
class CostLine:
    """One priced dimension of a resource: quantity x unit price, at minimum and expected."""

    description: str
    unit: str
    unit_price: float
    min_quantity: float
    expected_quantity: float

    @property
    def min(self) -> float:
        return self.min_quantity * self.unit_price

    @property
    def expected(self) -> float:
        return self.expected_quantity * self.unit_price

    def to_document(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "unit": self.unit,
            "unitPrice": self.unit_price,
            "minQuantity": rounded(self.min_quantity, 4),
            "expectedQuantity": rounded(self.expected_quantity, 4),
            "min": rounded(self.min),
            "expected": rounded(self.expected),
        }


@dataclass(frozen=True, slots=True)
class CostItem:
    """The monthly cost of one resource."""

    urn: str
    type: str
    name: str
    region: str | None
    component: str
    status: Status
    lines: tuple[CostLine, ...] = ()
    assumptions: tuple[str, ...] = ()
    reason: str | None = None
    """Why a resource is free or unpriced."""
    billed: bool = False
    """An unpriced resource of a type that costs money (it has a pricing rule, or
    ``billed.json`` says what AWS bills for it): these lead the unpriced list."""

    @property
    def min(self) -> float | None:
        """Monthly cost at the floor; ``None`` when unpriced."""
        if self.status == "unpriced":
            return None
        return sum(line.min for line in self.lines)

    @property
    def expected(self) -> float | None:
        """Monthly cost with the usage assumptions; ``None`` when unpriced."""
        if self.status == "unpriced":
            return None
        return sum(line.expected for line in self.lines)

    @property
    def unpriced(self) -> bool:
        return self.status == "unpriced"

    def to_document(self) -> dict[str, Any]:
        low, high = self.min, self.expected
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "region": self.region,
            "component": self.component,
            "min": None if low is None else rounded(low),
            "expected": None if high is None else rounded(high),
            "unpriced": self.unpriced,
            "free": self.status == "free",
            "reason": self.reason,
            "assumptions": list(self.assumptions),
            "lines": [line.to_document() for line in self.lines],
        }


@dataclass(frozen=True, slots=True)
class Totals:
    """A minimum and an expected monthly figure."""

    min: float
    expected: float

    def to_document(self) -> dict[str, float]:
        return {"min": rounded(self.min), "expected": rounded(self.expected)}


@dataclass
class CostEstimate:
    """The monthly estimate of a set of resources."""

    items: list[CostItem]
    usage: UsageConfig
    usage_source: str
    catalogue: PriceCatalogue
    stack: str | None = None
    project: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.catalogue.currency

    @property
    def total(self) -> Totals:
        return Totals(
            sum(i.min or 0.0 for i in self.items),
            sum(i.expected or 0.0 for i in self.items),
        )

    @property
    def unpriced(self) -> list[CostItem]:
        """Unpriced items, those of types that cost money first."""
        return sorted((i for i in self.items if i.unpriced), key=lambda i: (not i.billed, i.type, i.urn))

    def unpriced_by_type(self) -> list[dict[str, Any]]:
        """Unpriced items grouped by type: types that cost money first, then by count; each
        with its count and the first item's reason (``unpricedTop`` of the document)."""
        groups: dict[str, list[CostItem]] = {}
        for item in self.unpriced:
            groups.setdefault(item.type, []).append(item)
        ordered = sorted(groups.items(), key=lambda kv: (not kv[1][0].billed, -len(kv[1]), kv[0]))
        return [
            {"type": type_, "count": len(items), "billed": items[0].billed, "reason": items[0].reason}
            for type_, items in ordered
        ]

    def by_region(self) -> dict[str, Totals]:
        """Totals per region (``global`` for resources without one)."""
        sums: dict[str, list[float]] = {}
        for item in self.items:
            if item.status == "free":
                continue
            bucket = sums.setdefault(item.region or "global", [0.0, 0.0])
            bucket[0] += item.min or 0.0
            bucket[1] += item.expected or 0.0
        return {k: Totals(*v) for k, v in sorted(sums.items())}

    def by_region_component(self) -> dict[tuple[str, str], Totals]:
        """Totals per (region, component)."""
        sums: dict[tuple[str, str], list[float]] = {}
        for item in self.items:
            bucket = sums.setdefault((item.region or "global", item.component), [0.0, 0.0])
            bucket[0] += item.min or 0.0
            bucket[1] += item.expected or 0.0
        return {k: Totals(*v) for k, v in sorted(sums.items())}

    def top_drivers(self, count: int = 5) -> list[CostItem]:
        """The priced items with the highest expected cost (ties broken by URN)."""
        priced = [i for i in self.items if i.status == "priced" and (i.expected or 0) > 0]
        return sorted(priced, key=lambda i: (-(i.expected or 0.0), i.urn))[:count]

    def usage_document(self) -> dict[str, Any]:
        return self.usage.model_dump(by_alias=True)

    def to_document(self) -> dict[str, Any]:
        """The public JSON object (``llmops cost --json`` and the plan's ``cost`` section)."""
        total = self.total
        unpriced = self.unpriced
        document: dict[str, Any] = {
            "currency": self.currency,
            "total": total.to_document(),
            "byRegion": {k: v.to_document() for k, v in self.by_region().items()},
            "items": [i.to_document() for i in sorted(self.items, key=lambda i: i.urn)],
            "unpricedCount": len(unpriced),
            "unpricedTypes": sorted({i.type for i in unpriced}),
            "unpricedTop": self.unpriced_by_type(),
            "usage": self.usage_document(),
            "usageSource": self.usage_source,
            "catalogue": self.catalogue.describe(),
            "notes": list(self.notes),
        }
        if self.stack is not None:
            document["stack"] = self.stack
        if self.project is not None:
            document["project"] = self.project
        return document


def rounded(value: float, digits: int = 2) -> float:
    rounded = round(value + 0.0, digits)
    return 0.0 if rounded == 0 else rounded

