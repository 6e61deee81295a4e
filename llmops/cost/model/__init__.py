"""The cost model: planned resources in, monthly cost per resource out.

Every resource gets one :class:`CostItem` with two figures:

``min``
    What the resource costs with no traffic and no stored data, everything scaled to its
    floor: GPU pools at their minimum node count (zero when they scale to zero), Aurora at
    ``minCapacity``, ElastiCache at its engine's minimum, fixed hourly and monthly fees.
``expected``
    ``min`` plus the usage assumptions of the stack's ``llmops:usage`` section: GPU pools
    above their minimum for ``gpuUtilization`` of the time at ``maxNodes``, NAT and endpoint
    data, log ingestion, stored data, requests.

Each figure is the sum of the item's :class:`CostLine` s (quantity x unit price), and the
item lists the assumptions used in words, so no usage-based part is ever a silent $0.
Resources that cost nothing (VPC, subnets, IAM, providers, components, Kubernetes objects
other than Karpenter NodePools) are ``free`` with the reason; resource types the model
has no rule for are ``unpriced``, listed, never dropped.

The entry point is pure (:func:`estimate` over :class:`CostInput` s) so the policy packs
can call it with analyzer resources; :func:`estimate_plan` adapts an offline plan.

The package: :mod:`.types` (what goes in and comes out), :mod:`.free` with ``free.json``
(what costs nothing, as data), :mod:`.rules` (one pricing function per type, by family),
:mod:`.estimate` (pricing a set of resources) and :mod:`.plan` (the offline-plan adapter).
"""

from __future__ import annotations

from llmops.cost.model.estimate import estimate, price_item
from llmops.cost.model.free import free_reason
from llmops.cost.model.plan import cost_section, estimate_plan, plan_inputs, usage_for_plan
from llmops.cost.model.rules import RULES, Unpriced
from llmops.cost.model.types import CostEstimate, CostInput, CostItem, CostLine, Status, Totals

__all__ = [
    "RULES",
    "CostEstimate",
    "CostInput",
    "CostItem",
    "CostLine",
    "Status",
    "Totals",
    "Unpriced",
    "cost_section",
    "estimate",
    "estimate_plan",
    "free_reason",
    "plan_inputs",
    "price_item",
    "usage_for_plan",
]
