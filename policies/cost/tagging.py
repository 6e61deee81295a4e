"""Cost allocation: every taggable resource carries the cost-allocation tags, through its
own ``tags`` or its AWS provider's ``default_tags`` (how a real preview sees them).
Karpenter EC2NodeClasses must pass them to the instances they launch (``spec.tags``)."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
)

from policies.common.context import effective_tags
from policies.common.policy import ResourcePolicy
from policies.common.props import get, items, mapping
from policies.common.settings import Setting, config_schema, resolve
from policies.cost.taggable import taggable_types
from stacks.config import COST_ALLOCATION_TAG_KEYS

NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"

REQUIRED_TAGS = Setting(
    "requiredTags",
    {"type": "array", "items": {"type": "string"}, "minItems": 1},
    list(COST_ALLOCATION_TAG_KEYS),
    "Tag keys every taggable resource must carry with a non-empty value.",
)


ON_LAUNCHED = Setting(
    "requireOnLaunchedInstances",
    {"type": "boolean"},
    True,
    "Also require the tags on what Karpenter EC2NodeClasses (spec.tags) and launch templates (tag_specifications "
    "for instances and volumes) launch: the provider's default tags do not reach those instances.",
)
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def _missing(tags: dict[str, str], required: list[str]) -> list[str]:
    return [k for k in required if not str(tags.get(k, "")).strip()]


def _launched_gaps(args: ResourceValidationArgs, required: list[str]) -> list[str]:
    """Problems with the tags of instances/volumes a node class or launch template launches."""
    if args.resource_type == NODE_CLASS:
        tags = {str(k): str(v) for k, v in mapping(get(args.props, "spec", "tags")).items()}
        missing = _missing(tags, required)
        return [f"launches instances without {', '.join(missing)}; add them to spec.tags so Karpenter tags its instances"] if missing else []
    problems = []
    specs = {str(get(s, "resourceType")): mapping(get(s, "tags")) for s in items(args.props.get("tagSpecifications"))}
    for kind in ("instance", "volume"):
        missing = _missing({str(k): str(v) for k, v in specs.get(kind, {}).items()}, required)
        if missing:
            problems.append(
                f"launches {kind}s without {', '.join(missing)}; add them to tag_specifications for resource_type='{kind}'"
            )
    return problems


def validate_cost_allocation_tags(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Taggable resources carry every cost-allocation tag."""
    t = args.resource_type
    taggable = t.startswith("aws:") and t in taggable_types()
    if not taggable and t != NODE_CLASS:
        return
    settings = resolve(args, REQUIRED_TAGS, ON_LAUNCHED)
    required = [str(k) for k in settings[REQUIRED_TAGS.name]]
    label = f"{t.split(':')[-1]} '{args.name}'"
    if taggable:
        missing = _missing(effective_tags(args.props, args.provider), required)
        if missing:
            report_violation(
                f"{label} is missing the cost-allocation tag(s) {', '.join(missing)}; set them in the AWS provider's "
                "default_tags (aws.Provider(default_tags={'tags': {...}})) or the resource's tags.",
                None,
            )
    if settings[ON_LAUNCHED.name] and t in (NODE_CLASS, LAUNCH_TEMPLATE):
        for problem in _launched_gaps(args, required):
            report_violation(f"{label} {problem}.", None)


def cost_allocation_tags() -> ResourcePolicy:
    return ResourcePolicy(
        name="cost-allocation-tags",
        resource_types=taggable_types() | {NODE_CLASS},
        description="Every taggable resource carries the cost-allocation tags (Project, Stack, Environment, Owner, CostCenter).",
        validate=validate_cost_allocation_tags,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(REQUIRED_TAGS, ON_LAUNCHED),
        tags=["tagging", "cost"],
    )
