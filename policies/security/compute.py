"""Node hardening: instance metadata only through IMDSv2 (session tokens), and out of reach
of pods where pods get their AWS credentials another way.

- ``imdsv2-required``: launch templates, instances, node groups and Karpenter node classes
  require session tokens, so a pod that can make a plain HTTP request cannot read the node
  role's credentials.
- ``imds-hop-limit``: where pods get credentials from EKS Pod Identity (or everywhere, as
  Checkov's CKV_AWS_341 asks), a hop limit of 1 keeps the metadata service's token replies
  from reaching containers at all; with the AL2023 AMIs' default of 2 every pod can still
  take the node role.
"""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.common.policy import ResourcePolicy, StackPolicy, short_type
from policies.common.props import get, number, strings
from policies.common.settings import Setting, config_schema, resolve
from policies.common.stack import index, linked

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ADDON = "aws:eks/addon:Addon"
POD_IDENTITY_AGENT = "eks-pod-identity-agent"

_FIX = "set metadata_options={'http_tokens': 'required', 'http_put_response_hop_limit': 1}"


def _problem(resource_type: str, props: object) -> str | None:
    if resource_type in (LAUNCH_TEMPLATE, INSTANCE):
        if get(props, "metadataOptions", "httpTokens") != "required":
            return f"allows IMDSv1; {_FIX}"
    elif resource_type == NODE_CLASS:
        tokens = get(props, "spec", "metadataOptions", "httpTokens")
        if tokens is not None and tokens != "required":  # Karpenter's default is 'required'
            return f"sets spec.metadataOptions.httpTokens to '{tokens}'; set it to 'required'"
    elif resource_type == NODE_GROUP and get(props, "launchTemplate") is None:
        return "has no launch template, so IMDSv2 is not enforced on its nodes; set launch_template to a template with metadata_options http_tokens='required'"
    return None


def validate_imdsv2_required(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Launch templates, instances, node groups and Karpenter node classes require IMDSv2."""
    problem = _problem(args.resource_type, args.props)
    if problem is not None:
        report_violation(f"{short_type(args.resource_type)} '{args.name}' {problem}.", None)


def imdsv2_required() -> ResourcePolicy:
    return ResourcePolicy(
        name="imdsv2-required",
        description="Every launch template, instance, node group and Karpenter EC2NodeClass requires IMDSv2.",
        validate=validate_imdsv2_required,
        resource_types=[LAUNCH_TEMPLATE, INSTANCE, NODE_CLASS, NODE_GROUP],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        tags=["compute"],
    )


ONLY_WITH_POD_IDENTITY = Setting(
    "onlyWithPodIdentity",
    {"type": "boolean"},
    True,
    "Require hop limit 1 only on the nodes of clusters that use EKS Pod Identity; false: on every launch template, instance and node class.",
)


def _hop_limit(resource: PolicyResource) -> float | None:
    if resource.resource_type == NODE_CLASS:
        return number(get(resource.props, "spec", "metadataOptions", "httpPutResponseHopLimit"))
    return number(get(resource.props, "metadataOptions", "httpPutResponseHopLimit"))


def _pod_identity_clusters(resources: Iterable[PolicyResource]) -> set[str]:
    clusters = set()
    for r in resources:
        if r.resource_type == POD_IDENTITY or (r.resource_type == ADDON and r.props.get("addonName") == POD_IDENTITY_AGENT):
            clusters.update(strings(r.props.get("clusterName")))
    return clusters


def _checked_nodes(resources: list[PolicyResource], everywhere: bool) -> dict[str, tuple[PolicyResource, set[str]]]:
    """URN -> (launch template, node class or instance to check, the Pod Identity clusters
    whose nodes it launches)."""
    clusters = _pod_identity_clusters(resources)
    if everywhere:
        return {r.urn: (r, set()) for r in resources if r.resource_type in (LAUNCH_TEMPLATE, INSTANCE, NODE_CLASS)}
    if not clusters:
        return {}
    templates = index(resources, [LAUNCH_TEMPLATE], keys=("id", "name"))
    chosen: dict[str, tuple[PolicyResource, set[str]]] = {}
    for group in resources:
        group_clusters = set(strings(group.props.get("clusterName"))) & clusters
        if group.resource_type != NODE_GROUP or not group_clusters:
            continue
        found = linked(group, "launchTemplate", [LAUNCH_TEMPLATE], {})
        if not found:
            refs = [get(group.props, "launchTemplate", key) for key in ("id", "name")]
            found = [templates[ref] for ref in refs if isinstance(ref, str) and ref in templates][:1]
        for template in found:
            chosen.setdefault(template.urn, (template, set()))[1].update(group_clusters)
    # Karpenter node classes name no cluster in their spec: with Pod Identity anywhere in the
    # stack, every node class is held to hop limit 1 (Karpenter's own default).
    for r in resources:
        if r.resource_type == NODE_CLASS:
            chosen[r.urn] = (r, clusters)
    return chosen


def validate_imds_hop_limit(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Nodes whose pods use Pod Identity (or every node) answer IMDS on hop limit 1 only."""
    everywhere = not resolve(args, ONLY_WITH_POD_IDENTITY)[ONLY_WITH_POD_IDENTITY.name]
    for node, clusters in _checked_nodes(list(args.resources), everywhere).values():
        limit = _hop_limit(node)
        if limit is not None and limit <= 1:
            continue
        current = "is not set (AL2023 AMIs default to 2)" if limit is None else f"is {int(limit)}"
        why = f"pods of {', '.join(sorted(clusters))} get credentials from EKS Pod Identity; " if clusters else ""
        fix = (
            "set spec.metadataOptions.httpPutResponseHopLimit: 1"
            if node.resource_type == NODE_CLASS
            else "set metadata_options.http_put_response_hop_limit=1"
        )
        report_violation(
            f"{short_type(node.resource_type)} '{node.name}': the IMDS hop limit {current}, so containers can "
            f"reach the instance metadata service and take the node role; {why}{fix}.",
            node.urn,
        )


def imds_hop_limit() -> StackPolicy:
    return StackPolicy(
        name="imds-hop-limit",
        description="Nodes of clusters whose pods use EKS Pod Identity set the IMDS hop limit to 1, so pods cannot take the node role.",
        validate=validate_imds_hop_limit,
        resource_types=[LAUNCH_TEMPLATE, INSTANCE, NODE_CLASS, NODE_GROUP, POD_IDENTITY, ADDON],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(ONLY_WITH_POD_IDENTITY),
        tags=["compute", "kubernetes"],
    )
