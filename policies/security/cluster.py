"""EKS control plane: a private API endpoint (or a public one limited to an allow-list)
and control-plane logs sent to CloudWatch."""

from __future__ import annotations

import ipaddress

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

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
    ["api", "audit", "authenticator"],
    "Control-plane log types every EKS cluster must send to CloudWatch Logs.",
)


def _inside(cidr: str, allowed: list[str]) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
        return any(
            network.version == (outer := ipaddress.ip_network(a, strict=False)).version and network.subnet_of(outer)  # type: ignore[arg-type]
            for a in allowed
        )
    except ValueError:
        return False


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
    if not cidrs or any(c in ("0.0.0.0/0", "::/0") for c in cidrs):
        report_violation(
            f"EKS cluster '{args.name}' exposes its API endpoint to the whole internet; set "
            "vpc_config.endpoint_public_access=False, or list the allowed ranges in vpc_config.public_access_cidrs"
            + (f" (allowed: {', '.join(allowed)})" if allowed else "")
            + ".",
            None,
        )
        return
    if allowed:
        outside = [c for c in cidrs if not _inside(c, allowed)]
        if outside:
            report_violation(
                f"EKS cluster '{args.name}' allows public API access from {', '.join(outside)}, outside the allow-list "
                f"({', '.join(allowed)}); remove them from vpc_config.public_access_cidrs or add them to the "
                "policy's allowedPublicAccessCidrs.",
                None,
            )


def eks_endpoint_restricted() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="eks-endpoint-restricted",
        description="EKS API endpoints are private, or public only to an allow-list of CIDRs.",
        validate=validate_eks_endpoint_restricted,
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


def eks_control_plane_logging() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="eks-control-plane-logging",
        description="EKS clusters send control-plane logs (api, audit, authenticator) to CloudWatch Logs.",
        validate=validate_eks_control_plane_logging,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(REQUIRED_LOG_TYPES),
        tags=["logging", "kubernetes"],
    )
