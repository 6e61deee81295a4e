"""Node hardening: instance metadata only through IMDSv2 (session tokens), so a pod that
can make HTTP requests cannot simply read the node role's credentials."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from policies.common.props import get

_FIX = "set metadata_options={'http_tokens': 'required', 'http_put_response_hop_limit': 2}"


def _problem(resource_type: str, props: object) -> str | None:
    if resource_type in ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"):
        if get(props, "metadataOptions", "httpTokens") != "required":
            return f"allows IMDSv1; {_FIX}"
    elif resource_type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":
        tokens = get(props, "spec", "metadataOptions", "httpTokens")
        if tokens is not None and tokens != "required":  # Karpenter's default is 'required'
            return f"sets spec.metadataOptions.httpTokens to '{tokens}'; set it to 'required'"
    elif resource_type == "aws:eks/nodeGroup:NodeGroup" and get(props, "launchTemplate") is None:
        return "has no launch template, so IMDSv2 is not enforced on its nodes; set launch_template to a template with metadata_options http_tokens='required'"
    return None


def validate_imdsv2_required(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Launch templates, instances, node groups and Karpenter node classes require IMDSv2."""
    problem = _problem(args.resource_type, args.props)
    if problem is not None:
        report_violation(f"{args.resource_type.split(':')[-1]} '{args.name}' {problem}.", None)


def imdsv2_required() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="imdsv2-required",
        description="Every launch template, instance, node group and Karpenter EC2NodeClass requires IMDSv2.",
        validate=validate_imdsv2_required,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        tags=["compute"],
    )
