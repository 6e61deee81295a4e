"""The cost pack: its name and every policy it serves, one factory per policy."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import EnforcementLevel, Policy

from policies.common import server
from policies.cost import budget, gpu, regions, tagging

NAME = "llmops-cost"
DESCRIPTION = "Cost guardrails for the llmops platform: GPU types and totals, spot and scale-to-zero in dev, cost tags, regions, budget."

FACTORIES: tuple[Callable[[], Policy], ...] = (
    gpu.gpu_instance_types,
    gpu.gpu_pool_max,
    gpu.gpu_spot,
    gpu.gpu_scale_to_zero,
    gpu.gpu_capacity_limits,
    tagging.cost_allocation_tags,
    regions.allowed_regions,
    budget.monthly_budget,
)


def policies() -> list[Policy]:
    """A fresh instance of every policy in the pack."""
    return [factory() for factory in FACTORIES]


def serve() -> None:
    """Serves the pack's analyzer over gRPC (prints the port; blocks). What ``__main__`` runs."""
    server.serve(NAME, DESCRIPTION, policies(), EnforcementLevel.MANDATORY)
