"""IAM: no statement allows every action, and nothing grants administrator rights inline
or through an AWS-managed admin policy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from policies.common.props import items, strings
from policies.common.settings import Setting, config_schema, resolve
from policies.security.documents import Statement, statements

WILDCARD_ACTIONS = ("*", "*:*")
ADMIN_ACTIONS = ("*", "*:*", "iam:*")

STANDALONE_POLICIES = ("aws:iam/policy:Policy",)
INLINE_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy")
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
ROLE = "aws:iam/role:Role"

EXEMPT_NAMES = Setting(
    "exemptResourceNames",
    {"type": "array", "items": {"type": "string"}},
    [],
    "Pulumi resource names exempt from this policy (e.g. a break-glass role reviewed elsewhere).",
)
FORBIDDEN_MANAGED = Setting(
    "forbiddenManagedPolicies",
    {"type": "array", "items": {"type": "string"}},
    ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"],
    "AWS-managed policy names that may not be attached to roles, users or groups.",
)


def _documents(resource_type: str, props: Mapping[str, Any], inline_only: bool) -> Iterator[tuple[str, list[Statement]]]:
    """(where, statements) of every policy document the resource declares."""
    if resource_type in INLINE_POLICIES or (resource_type in STANDALONE_POLICIES and not inline_only):
        yield "policy", statements(props.get("policy"))
    elif resource_type == ROLE:
        for index, inline in enumerate(items(props.get("inlinePolicies"))):
            if isinstance(inline, Mapping):
                yield f"inline_policies[{index}] ({inline.get('name', 'unnamed')})", statements(inline.get("policy"))


def validate_iam_no_wildcard_actions(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No Allow statement grants every action ("*" or "*:*") or uses NotAction."""
    if args.resource_type not in STANDALONE_POLICIES + INLINE_POLICIES + (ROLE,):
        return
    if args.name in resolve(args, EXEMPT_NAMES)[EXEMPT_NAMES.name]:
        return
    for where, stmts in _documents(args.resource_type, args.props, inline_only=False):
        for index, s in enumerate(stmts):
            if not s.allows:
                continue
            if set(s.actions) & set(WILDCARD_ACTIONS):
                report_violation(
                    f"'{args.name}' {where} statement {index} allows every action (\"Action\": \"*\"); "
                    "list the actions the workload needs (e.g. \"s3:GetObject\").",
                    None,
                )
            elif s.not_actions:
                report_violation(
                    f"'{args.name}' {where} statement {index} combines Allow with NotAction, which grants every "
                    "other action; use Action with an explicit list instead.",
                    None,
                )


def iam_no_wildcard_actions() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="iam-no-wildcard-actions",
        description='IAM statements never allow every action ("*" or "*:*").',
        validate=validate_iam_no_wildcard_actions,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(EXEMPT_NAMES),
        tags=["iam"],
    )


def _admin_statement(s: Statement) -> bool:
    return s.allows and bool(set(s.actions) & set(ADMIN_ACTIONS)) and "*" in s.resources


def validate_iam_no_inline_admin(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No inline policy grants admin ("*" or "iam:*" on every resource) and no principal
    gets an AWS-managed admin policy."""
    t = args.resource_type
    if t not in INLINE_POLICIES + ATTACHMENTS + (ROLE,):
        return
    settings = resolve(args, EXEMPT_NAMES, FORBIDDEN_MANAGED)
    if args.name in settings[EXEMPT_NAMES.name]:
        return
    forbidden = {str(n) for n in settings[FORBIDDEN_MANAGED.name]}
    for where, stmts in _documents(t, args.props, inline_only=True):
        for index, s in enumerate(stmts):
            if _admin_statement(s):
                granted = ", ".join(a for a in s.actions if a in ADMIN_ACTIONS)
                report_violation(
                    f"'{args.name}' {where} statement {index} grants administrator access ({granted} on \"*\"); "
                    "grant only the actions and resources the workload needs.",
                    None,
                )
    arns = strings(args.props.get("policyArn")) if t in ATTACHMENTS else strings(args.props.get("managedPolicyArns")) if t == ROLE else []
    for arn in arns:
        name = arn.rsplit("/", 1)[-1]
        if ":aws:policy/" in arn and name in forbidden:
            report_violation(
                f"'{args.name}' attaches the AWS-managed {name} policy; attach a customer-managed policy scoped to the "
                "workload's actions instead.",
                None,
            )


def iam_no_inline_admin() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="iam-no-inline-admin",
        description="No inline IAM policy grants administrator access, and no AWS-managed admin policy is attached.",
        validate=validate_iam_no_inline_admin,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(EXEMPT_NAMES, FORBIDDEN_MANAGED),
        tags=["iam"],
    )
