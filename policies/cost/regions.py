"""Regions: the stack deploys only into allow-listed AWS regions."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyProviderResource,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
)

from policies.common.context import AWS_PROVIDER, provider_props
from policies.common.policy import StackPolicy
from policies.common.settings import Setting, config_schema, resolve

ALLOWED_REGIONS = Setting(
    "allowedRegions",
    {"type": "array", "items": {"type": "string"}, "minItems": 1},
    ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"],
    "AWS regions the stack may deploy into.",
)


def validate_allowed_regions(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every AWS provider in the stack targets an allow-listed region."""
    allowed = [str(r) for r in resolve(args, ALLOWED_REGIONS)[ALLOWED_REGIONS.name]]
    seen: set[str] = set()
    providers: list[PolicyResource | PolicyProviderResource] = [r for r in args.resources if r.resource_type == AWS_PROVIDER]
    # Resources on a provider that is not itself in the list (a default provider).
    providers += [r.provider for r in args.resources if r.provider is not None and r.provider.resource_type == AWS_PROVIDER]
    for provider in providers:
        if provider.urn in seen:
            continue
        seen.add(provider.urn)
        region = provider_props(provider).get("region")
        if not isinstance(region, str) or not region:
            report_violation(f"AWS provider '{provider.name}' does not set a region; set region explicitly (one of {', '.join(allowed)}).", provider.urn)
        elif region not in allowed:
            report_violation(
                f"AWS provider '{provider.name}' deploys into {region}, which is not allowed; use one of "
                f"{', '.join(allowed)}, or add {region} to the policy's allowedRegions for this environment.",
                provider.urn,
            )


def allowed_regions() -> StackPolicy:
    return StackPolicy(
        name="allowed-regions",
        properties_of=[AWS_PROVIDER],  # the others only for the providers they name
        description="Resources deploy only into allow-listed AWS regions.",
        validate=validate_allowed_regions,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(ALLOWED_REGIONS),
        tags=["regions", "cost"],
    )
