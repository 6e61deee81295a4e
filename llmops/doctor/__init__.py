"""``llmops doctor``: a preflight of an AWS account for a stack, run before the first
``pulumi up``: credentials for the right account, who owns the account-wide resources,
the EC2 Spot service-linked role, vCPU quotas for the GPU pools, EKS version support on the
day, the pinned add-on builds, zone IDs EKS accepts, and the deployer's path to each API
server. Each check passes, warns or fails with the fix.

:mod:`.checks` decides (pure), :mod:`.probe` asks AWS (boto3, the capacity planner's
clients and quota lookup), :mod:`.runner` runs every check, :mod:`.render` prints them.
"""

from llmops.doctor.findings import DoctorReport, Finding, Status
from llmops.doctor.probe import CHECKIP_URL, AwsProbe, ProbeError, address_lookup
from llmops.doctor.runner import run_doctor

__all__ = ["CHECKIP_URL", "AwsProbe", "DoctorReport", "Finding", "ProbeError", "Status", "address_lookup", "run_doctor"]
