"""The capacity planner: which regions can actually supply a GPU type, SkyPilot-style.

For one instance type (or an accelerator and a GPU count, resolved through the catalogue),
it asks every candidate region which AZs offer it, what spot capacity cost recently and
what the account's vCPU quota allows, then ranks the regions cheapest per GPU-hour first
and says why each excluded region was excluded.

- :mod:`llmops.capacity.resolve`: candidates, regions and quota codes (pure);
- :mod:`llmops.capacity.planner`: :func:`evaluate`, ranking and exclusions (pure);
- :mod:`llmops.capacity.aws`: the boto3 layer (``plan_capacity``, ``ClientFactory``,
  ``RetryPolicy``), imported on demand because boto3 is slow to import;
- :mod:`llmops.capacity.stackfile`: ``--write-stack``;
- :mod:`llmops.capacity.render`: the rich tables.
"""

from llmops.capacity.errors import (
    CapacityError,
    CapacityUsageError,
    CredentialsError,
    StackWriteError,
)
from llmops.capacity.models import (
    Candidate,
    CapacityReport,
    CapacityRequest,
    CapacityType,
    Exclusion,
    Option,
    QuotaObservation,
    RegionFailure,
    RegionObservation,
    RegionResult,
)
from llmops.capacity.planner import evaluate
from llmops.capacity.resolve import (
    DEFAULT_REGIONS,
    quota_for,
    resolve_accelerator,
    resolve_instance_types,
    resolve_regions,
)

__all__ = [
    "DEFAULT_REGIONS",
    "Candidate",
    "CapacityError",
    "CapacityReport",
    "CapacityRequest",
    "CapacityType",
    "CapacityUsageError",
    "CredentialsError",
    "Exclusion",
    "Option",
    "QuotaObservation",
    "RegionFailure",
    "RegionObservation",
    "RegionResult",
    "StackWriteError",
    "evaluate",
    "quota_for",
    "resolve_accelerator",
    "resolve_instance_types",
    "resolve_regions",
]
