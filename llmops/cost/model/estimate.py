"""Pricing a set of resources: the context the rules share (RDS clusters, EC2NodeClasses,
launch templates and ECS task definitions found among the resources), one
:class:`CostItem` per resource, and the :class:`CostEstimate` of them all."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.catalog.prices import MissingPriceError, PriceCatalogue, PriceLookupError, load_prices
from llmops.cost.model.free import billed_for, free_reason
from llmops.cost.model.rules import RULES, Context, Priced, Unpriced
from llmops.cost.model.types import CostEstimate, CostInput, CostItem, Status
from stacks.config import UsageConfig

NODECLASS_TYPES = frozenset(
    {"kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "kubernetes:karpenter.k8s.aws/v1beta1:EC2NodeClass"}
)
LAUNCH_TYPES = frozenset({"aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/launchConfiguration:LaunchConfiguration"})
TASK_DEFINITION_TYPE = "aws:ecs/taskDefinition:TaskDefinition"


def _name_of(item: CostInput) -> str:
    return item.name or item.urn.rsplit("::", 1)[-1]


def _context(items: list[CostInput], usage: UsageConfig, catalogue: PriceCatalogue) -> Context:
    clusters: dict[str, Mapping[str, Any]] = {}
    node_classes: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    templates: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    tasks: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    for item in items:
        if item.type in LAUNCH_TYPES:
            for key in (item.inputs.get("name"), item.id):
                if key:
                    templates[(item.region, str(key))] = item.inputs
            continue
        if item.type == TASK_DEFINITION_TYPE:
            for key in (item.inputs.get("family"), item.id):
                if key:
                    tasks[(item.region, str(key))] = item.inputs
            continue
        if item.type == "aws:rds/cluster:Cluster":
            for key in (item.inputs.get("clusterIdentifier"), item.id):
                if key:
                    clusters[str(key)] = item.inputs
        elif item.type in NODECLASS_TYPES:
            name = (item.inputs.get("metadata") or {}).get("name")
            if name:
                node_classes[(item.region, str(name))] = item.inputs
    return Context(catalogue, usage, clusters, node_classes, templates, tasks)


def price_item(item: CostInput, ctx: Context, strict: bool = True) -> CostItem:
    """Prices one resource (see :func:`estimate`)."""
    name = _name_of(item)

    def make(status: Status, reason: str | None = None, priced: Priced | None = None) -> CostItem:
        return CostItem(
            urn=item.urn,
            type=item.type,
            name=name,
            region=item.region,
            component=item.component or "stack",
            status=status,
            lines=tuple(priced.lines) if priced else (),
            assumptions=tuple(priced.assumptions) if priced else (),
            reason=reason,
            billed=status == "unpriced" and (item.type in RULES or billed_for(item.type) is not None),
        )

    rule = RULES.get(item.type) if item.custom else None
    if rule is None:
        reason = free_reason(item.type, item.custom)
        if reason is not None:
            return make("free", reason)
        billed = billed_for(item.type)
        if billed is not None:
            return make("unpriced", f"AWS bills {billed}; the cost model has no pricing rule for {item.type} yet")
        return make("unpriced", f"the cost model has no pricing rule for {item.type}")
    try:
        priced = rule(item, item.inputs, ctx)
    except (Unpriced, MissingPriceError) as exc:
        return make("unpriced", str(exc))
    except PriceLookupError as exc:
        if strict:
            raise type(exc)(f"{name} ({item.type}): {exc}") from None
        return make("unpriced", str(exc))
    if not priced.lines:
        return make("free", "; ".join(priced.assumptions) or "no charge")
    return make("priced", priced=priced)


def estimate(
    items: Iterable[CostInput],
    usage: UsageConfig | None = None,
    catalogue: PriceCatalogue | None = None,
    *,
    strict: bool = True,
    usage_source: str | None = None,
) -> CostEstimate:
    """Monthly cost of ``items``.

    ``usage`` defaults to :class:`~stacks.config.UsageConfig` defaults (stated in the
    estimate's ``usageSource``); ``catalogue`` to the packaged price catalogue. With
    ``strict`` (the default) a name that does not exist (an instance type that is no EC2
    type, a region that is no AWS region) raises a
    :class:`~core.catalog.prices.PriceLookupError` naming the resource; without it the
    resource is listed as unpriced with that message (for policy packs, which report
    rather than fail). A real type, region or service the catalogue has no price for is
    always an unpriced item with the reason, never an error.
    """
    materialised = list(items)
    resolved_usage = usage if usage is not None else UsageConfig()
    source = usage_source or ("usage passed by the caller" if usage is not None else "UsageConfig defaults")
    cat = catalogue if catalogue is not None else load_prices()
    ctx = _context(materialised, resolved_usage, cat)
    priced = [price_item(item, ctx, strict) for item in materialised]
    return CostEstimate(items=priced, usage=resolved_usage, usage_source=source, catalogue=cat)
