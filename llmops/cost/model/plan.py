"""The cost model on an offline plan: the plan's resources as :class:`CostInput` s (each with
its component), the usage assumptions of the plan's stack config, and the plan's estimate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.catalog.prices import PriceCatalogue
from llmops.cost.model.estimate import estimate
from llmops.cost.model.types import CostEstimate, CostInput
from stacks.config import UsageConfig

if TYPE_CHECKING:
    from llmops.engine.runner import PlanResult


def usage_for_plan(result: PlanResult) -> tuple[UsageConfig, str]:
    """The usage assumptions of the plan's stack config and where they came from."""
    from stacks.config import namespace_values, parse

    values = namespace_values(result.config.values)
    source_file = result.config.source.name
    if not values:
        return UsageConfig(), f"UsageConfig defaults ({source_file} has no llmops: config)"
    config = parse(values, source=source_file)
    where = "llmops:usage" if "usage" in values else "UsageConfig defaults (no llmops:usage section)"
    return config.usage, f"{where} in {source_file}"


def plan_inputs(result: PlanResult) -> list[CostInput]:
    """The plan's resources as :class:`CostInput` s, each with its component."""
    from llmops.engine.mocks import unwrap_secrets
    from llmops.engine.runner import STACK_TYPE

    by_urn = {r.urn: r for r in result.resources}
    components: dict[str, str] = {}

    def component_of(urn: str | None) -> str:
        chain: list[str] = []
        label = "stack"
        while urn is not None and urn in by_urn:
            if urn in components:
                label = components[urn]
                break
            record = by_urn[urn]
            chain.append(urn)
            if not record.custom and record.type != STACK_TYPE and not record.type.startswith("pulumi:providers:"):
                label = record.type.rsplit(":", 1)[-1]
                break
            urn = record.parent
        for visited in chain:
            components[visited] = label
        return label

    inputs = []
    for record in result.resources:
        if record.type == STACK_TYPE:
            component = "stack"
        elif not record.custom:
            component = record.type.rsplit(":", 1)[-1]
        else:
            component = component_of(record.parent)
        inputs.append(
            CostInput(
                urn=record.urn,
                type=record.type,
                region=record.region,
                inputs=unwrap_secrets(record.inputs),
                component=component,
                name=record.name,
                custom=record.custom,
                id=record.id,
            )
        )
    return inputs


def estimate_plan(
    result: PlanResult,
    usage: UsageConfig | None = None,
    catalogue: PriceCatalogue | None = None,
) -> CostEstimate:
    """Monthly cost of an offline plan, with the stack config's usage assumptions unless
    ``usage`` is given."""
    if usage is None:
        usage, source = usage_for_plan(result)
    else:
        source = "usage passed by the caller"
    result_estimate = estimate(plan_inputs(result), usage, catalogue, usage_source=source)
    result_estimate.stack = result.stack
    result_estimate.project = result.project
    return result_estimate


def cost_section(result: PlanResult, catalogue: PriceCatalogue | None = None) -> dict[str, Any]:
    """The ``cost`` object of ``llmops plan --json`` (same as ``llmops cost --json``)."""
    return estimate_plan(result, catalogue=catalogue).to_document()
