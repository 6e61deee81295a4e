"""Names that several layers must spell the same way."""

from __future__ import annotations

CONFIG_NAMESPACE = "llmops"
"""The Pulumi config namespace of the platform's settings (``llmops:regions`` ...)."""

PLATFORM_TAG_KEYS = ("Project", "Stack", "Environment", "Owner", "CostCenter", "ManagedBy")
"""Tag keys the platform sets on every taggable resource itself."""

COST_ALLOCATION_TAG_KEYS = ("Project", "Stack", "Environment", "Owner", "CostCenter")
"""The cost-allocation tags: activated in Billing, required by the tagging policy, used by
budgets and spend reports to filter a stack's costs."""

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
"""The retention periods (days) CloudWatch Logs accepts."""
