"""What every pricing rule shares: the context it prices in, what it returns, and the
lines it is made of (hourly, monthly, usage-based)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.catalog.prices import PriceCatalogue
from llmops.cost.model.types import CostInput, CostLine
from stacks.config import UsageConfig


class Unpriced(Exception):
    """Raised by a pricing rule for a resource it cannot price; becomes an unpriced item."""


@dataclass
class Priced:
    lines: list[CostLine] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


@dataclass
class Context:
    catalogue: PriceCatalogue
    usage: UsageConfig
    rds_clusters: dict[str, Mapping[str, Any]]
    node_classes: dict[tuple[str | None, str], Mapping[str, Any]]
    launch_templates: dict[tuple[str | None, str], Mapping[str, Any]]
    """Launch templates and launch configurations by (region, name or id)."""
    task_definitions: dict[tuple[str | None, str], Mapping[str, Any]] = field(default_factory=dict)
    """ECS task definitions by (region, family or id)."""

    @property
    def hours(self) -> float:
        return self.usage.hours_per_month

    def service(self, key: str, region: str) -> tuple[float, str]:
        price = self.catalogue.service(key, region)
        return price.usd, price.unit


Rule = Callable[[CostInput, Mapping[str, Any], Context], Priced]


def region_of(item: CostInput) -> str:
    if not item.region:
        raise Unpriced(
            "its AWS region is unknown: it uses no AWS provider and the stack sets no aws:region "
            "(set aws:region in the stack config, or give the resource a provider with a region)"
        )
    return item.region


def number(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def hourly_line(ctx: Context, description: str, key: str, region: str, count: float = 1.0) -> CostLine:
    price, unit = ctx.service(key, region)
    quantity = count * ctx.hours
    return CostLine(description, unit, price, quantity, quantity)


def usage_line(ctx: Context, description: str, key: str, region: str, quantity: float) -> CostLine:
    price, unit = ctx.service(key, region)
    return CostLine(description, unit, price, 0.0, quantity)


def monthly_line(ctx: Context, description: str, key: str, region: str, count: float = 1.0) -> CostLine:
    price, unit = ctx.service(key, region)
    return CostLine(description, unit, price, count, count)
