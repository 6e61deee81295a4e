"""EKS control plane: a private API endpoint (or a public one limited to an allow-list),
control-plane logs sent to CloudWatch, and a Kubernetes version AWS still supports."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
)

from policies.common.cidrs import covers_internet, inside
from policies.common.policy import ResourcePolicy
from policies.common.props import flag, get, strings
from policies.common.settings import Setting, config_schema, resolve

EKS_CLUSTER = "aws:eks/cluster:Cluster"

ALLOWED_PUBLIC_CIDRS = Setting(
    "allowedPublicAccessCidrs",
    {"type": "array", "items": {"type": "string"}},
    [],
    "CIDRs that may reach a public EKS API endpoint (e.g. the office and CI egress ranges); empty: any CIDR except 0.0.0.0/0.",
)
REQUIRED_LOG_TYPES = Setting(
    "requiredLogTypes",
    {"type": "array", "items": {"type": "string", "enum": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}},
    ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    "Control-plane log types every EKS cluster must send to CloudWatch Logs.",
)
MINIMUM_VERSION = Setting(
    "minimumVersion",
    {"type": "string", "pattern": "^1\\.[0-9]+$"},
    "1.29",
    "Oldest Kubernetes minor version an EKS cluster may run (AWS's standard and extended support window).",
)


def validate_eks_endpoint_restricted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """The EKS API endpoint is private, or public only to allow-listed CIDRs."""
    if args.resource_type != EKS_CLUSTER:
        return
    vpc = args.props.get("vpcConfig") or {}
    allowed = [str(c) for c in resolve(args, ALLOWED_PUBLIC_CIDRS)[ALLOWED_PUBLIC_CIDRS.name]]
    if flag(get(vpc, "endpointPrivateAccess")) is not True:
        report_violation(
            f"EKS cluster '{args.name}' has no private API endpoint, so nodes reach the API over the internet; "
            "set vpc_config.endpoint_private_access=True.",
            None,
        )
    if flag(get(vpc, "endpointPublicAccess")) is False:
        return  # AWS's default is public: only an explicit False makes it private
    cidrs = strings(get(vpc, "publicAccessCidrs"))
    if not cidrs or covers_internet(cidrs):  # AWS's default is 0.0.0.0/0
        report_violation(
            f"EKS cluster '{args.name}' exposes its API endpoint to the whole internet; set "
            "vpc_config.endpoint_public_access=False, or list the allowed ranges in vpc_config.public_access_cidrs"
            + (f" (allowed: {', '.join(allowed)})" if allowed else "")
            + ".",
            None,
        )
        return
    if allowed:
        outside = [c for c in cidrs if not inside(c, allowed)]
        if outside:
            report_violation(
                f"EKS cluster '{args.name}' allows public API access from {', '.join(outside)}, outside the allow-list "
                f"({', '.join(allowed)}); remove them from vpc_config.public_access_cidrs or add them to the "
                "policy's allowedPublicAccessCidrs.",
                None,
            )


def eks_endpoint_restricted() -> ResourcePolicy:
    return ResourcePolicy(
        name="eks-endpoint-restricted",
        description="EKS API endpoints are private, or public only to an allow-list of CIDRs that is not the whole internet.",
        validate=validate_eks_endpoint_restricted,
        resource_types=[EKS_CLUSTER],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(ALLOWED_PUBLIC_CIDRS),
        tags=["network", "kubernetes"],
    )


def validate_eks_control_plane_logging(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """EKS clusters send the required control-plane log types to CloudWatch Logs."""
    if args.resource_type != EKS_CLUSTER:
        return
    required = [str(t) for t in resolve(args, REQUIRED_LOG_TYPES)[REQUIRED_LOG_TYPES.name]]
    enabled = set(strings(args.props.get("enabledClusterLogTypes")))
    missing = [t for t in required if t not in enabled]
    if missing:
        wanted = sorted(enabled | set(required))
        report_violation(
            f"EKS cluster '{args.name}' does not log {', '.join(missing)}; set enabled_cluster_log_types={wanted}.",
            None,
        )


def eks_control_plane_logging() -> ResourcePolicy:
    return ResourcePolicy(
        name="eks-control-plane-logging",
        description="EKS clusters send every control-plane log type to CloudWatch Logs.",
        validate=validate_eks_control_plane_logging,
        resource_types=[EKS_CLUSTER],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(REQUIRED_LOG_TYPES),
        tags=["logging", "kubernetes"],
    )


def _minor(version: object) -> tuple[int, int] | None:
    parts = str(version).strip().split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def validate_eks_supported_version(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """EKS clusters run a Kubernetes version AWS still supports."""
    if args.resource_type != EKS_CLUSTER:
        return
    minimum = str(resolve(args, MINIMUM_VERSION)[MINIMUM_VERSION.name])
    version = args.props.get("version")
    if not version:
        return  # AWS picks its current default version
    running, oldest = _minor(version), _minor(minimum)
    if running is None:
        report_violation(f"EKS cluster '{args.name}' has version {version!r}, which is not a Kubernetes minor version; set version to e.g. '1.33'.", None)
    elif oldest is not None and running < oldest:
        report_violation(
            f"EKS cluster '{args.name}' runs Kubernetes {version}, older than {minimum}, the oldest version this "
            f"policy accepts (AWS ends support, then upgrades clusters forcibly); set version to {minimum} or newer.",
            None,
        )


def eks_supported_version() -> ResourcePolicy:
    return ResourcePolicy(
        name="eks-supported-version",
        description="EKS clusters run a Kubernetes version AWS still supports.",
        validate=validate_eks_supported_version,
        resource_types=[EKS_CLUSTER],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(MINIMUM_VERSION),
        tags=["kubernetes"],
    )
