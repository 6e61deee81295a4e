"""IAM: what a policy document may grant, and who may assume a role.

- ``iam-no-wildcard-actions``: no Allow statement grants every action or uses NotAction.
- ``iam-no-admin``: no policy document (standalone, inline or a role's inline policies)
  grants ``*`` on ``*``, and no AWS-managed admin policy is attached.
- ``iam-no-privilege-escalation``: no document lets its holder raise its own rights: full
  IAM access (``iam:*``), ``iam:PassRole`` on every role together with an action that
  starts compute with a role, or the other escalation paths Rhino Security Labs
  documented (new policy versions, attaching or writing policies, access keys, login
  profiles) on every resource.
- ``iam-no-unscoped-sensitive-actions``: actions that write, manage permissions, return
  credentials or read secrets and objects are never granted on ``"*"`` without a condition.
- ``iam-trust-policy-restricted``: a role's trust policy names who may assume it: never
  anyone, never a whole account without a condition, and web identities (EKS, GitHub
  Actions) only with ``aud`` and a specific ``sub``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
)

from policies.common.policy import ResourcePolicy
from policies.common.props import items, strings
from policies.common.settings import Setting, config_schema, resolve
from policies.security.documents import (
    Statement,
    action_matches,
    allows_action,
    condition_restricts,
    granted,
    is_anyone,
    open_to_anyone,
    statements,
    unscoped,
)

WILDCARD_ACTIONS = ("*", "*:*")

STANDALONE_POLICIES = ("aws:iam/policy:Policy",)
INLINE_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy")
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
ROLE = "aws:iam/role:Role"
DOCUMENT_TYPES = (*STANDALONE_POLICIES, *INLINE_POLICIES, ROLE)

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


def documents(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, list[Statement]]]:
    """(where, statements) of every identity policy document the resource declares."""
    if resource_type in INLINE_POLICIES or resource_type in STANDALONE_POLICIES:
        yield "policy", statements(props.get("policy"))
    elif resource_type == ROLE:
        for index, inline in enumerate(items(props.get("inlinePolicies"))):
            if isinstance(inline, Mapping):
                yield f"inline_policies[{index}] ({inline.get('name', 'unnamed')})", statements(inline.get("policy"))


def _exempt(args: ResourceValidationArgs) -> bool:
    return args.name in resolve(args, EXEMPT_NAMES)[EXEMPT_NAMES.name]


def _which(index: int, s: Statement) -> str:
    return f"statement {index}" + (f" ({s.label})" if s.sid else "")


# --------------------------------------------------------------------------- wildcard actions


def validate_iam_no_wildcard_actions(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No Allow statement grants every action ("*" or "*:*") or uses NotAction."""
    if args.resource_type not in DOCUMENT_TYPES or _exempt(args):
        return
    for where, stmts in documents(args.resource_type, args.props):
        for index, s in enumerate(stmts):
            if not s.allows:
                continue
            if set(s.actions) & set(WILDCARD_ACTIONS):
                report_violation(
                    f"'{args.name}' {where} {_which(index, s)} allows every action (\"Action\": \"*\"); "
                    "list the actions the workload needs (e.g. \"s3:GetObject\").",
                    None,
                )
            elif s.not_actions:
                report_violation(
                    f"'{args.name}' {where} {_which(index, s)} combines Allow with NotAction, which grants every "
                    "other action; use Action with an explicit list instead.",
                    None,
                )


def iam_no_wildcard_actions() -> ResourcePolicy:
    return ResourcePolicy(
        name="iam-no-wildcard-actions",
        description='IAM statements never allow every action ("*" or "*:*") and never Allow with NotAction.',
        validate=validate_iam_no_wildcard_actions,
        resource_types=DOCUMENT_TYPES,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(EXEMPT_NAMES),
        tags=["iam"],
    )


# --------------------------------------------------------------------------- admin


def validate_iam_no_admin(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No policy document grants "*" on "*", and no AWS-managed admin policy is attached."""
    t = args.resource_type
    if t not in DOCUMENT_TYPES + ATTACHMENTS:
        return
    settings = resolve(args, EXEMPT_NAMES, FORBIDDEN_MANAGED)
    if args.name in settings[EXEMPT_NAMES.name]:
        return
    forbidden = {str(n) for n in settings[FORBIDDEN_MANAGED.name]}
    for where, stmts in documents(t, args.props):
        for index, s in enumerate(stmts):
            if s.allows and set(s.actions) & set(WILDCARD_ACTIONS) and "*" in s.resources:
                report_violation(
                    f"'{args.name}' {where} {_which(index, s)} grants administrator access (every action on \"*\"); "
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


def iam_no_admin() -> ResourcePolicy:
    return ResourcePolicy(
        name="iam-no-admin",
        description="No IAM policy (standalone or inline) grants administrator access, and no AWS-managed admin policy is attached.",
        validate=validate_iam_no_admin,
        resource_types=DOCUMENT_TYPES + ATTACHMENTS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(EXEMPT_NAMES, FORBIDDEN_MANAGED),
        tags=["iam"],
    )


# --------------------------------------------------------------------------- privilege escalation

# Rhino Security Labs' escalation methods (as Cloudsplaining and Checkov's CKV_AWS_286 use
# them): each set of actions, granted on every resource, lets a principal raise its rights.
ESCALATIONS: dict[str, tuple[str, ...]] = {
    "create an access key for any user": ("iam:CreateAccessKey",),
    "set a console password for any user": ("iam:CreateLoginProfile",),
    "change any user's console password": ("iam:UpdateLoginProfile",),
    "add itself to any group": ("iam:AddUserToGroup",),
    "publish a new version of any policy": ("iam:CreatePolicyVersion",),
    "switch any policy to an older version": ("iam:SetDefaultPolicyVersion",),
    "attach any policy to a user": ("iam:AttachUserPolicy",),
    "attach any policy to a group": ("iam:AttachGroupPolicy",),
    "attach any policy to a role and assume it": ("iam:AttachRolePolicy", "sts:AssumeRole"),
    "write an inline policy on a user": ("iam:PutUserPolicy",),
    "write an inline policy on a group": ("iam:PutGroupPolicy",),
    "write an inline policy on a role and assume it": ("iam:PutRolePolicy", "sts:AssumeRole"),
    "rewrite a role's trust policy and assume it": ("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"),
    "change the code of a function that runs with a role": ("lambda:UpdateFunctionCode",),
    "change a Glue development endpoint that runs with a role": ("glue:UpdateDevEndpoint",),
}

# Actions that start something which runs with a role the caller passes: with iam:PassRole
# on every role, the caller runs code as any role in the account.
PASS_ROLE_TARGETS = (
    "ec2:RunInstances",
    "ec2:RequestSpotInstances",
    "ec2:AssociateIamInstanceProfile",
    "ec2:ReplaceIamInstanceProfileAssociation",
    "lambda:CreateFunction",
    "lambda:UpdateFunctionConfiguration",
    "ecs:RunTask",
    "ecs:StartTask",
    "ecs:RegisterTaskDefinition",
    "ecs:CreateService",
    "glue:CreateDevEndpoint",
    "glue:CreateJob",
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "datapipeline:CreatePipeline",
    "sagemaker:CreateNotebookInstance",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "codebuild:CreateProject",
    "codebuild:UpdateProject",
    "eks:CreateNodegroup",
    "batch:SubmitJob",
    "states:CreateStateMachine",
    "scheduler:CreateSchedule",
)

_ROLE_WILDCARD = re.compile(r"^arn:aws[\w-]*:iam::[^:]*:role/\*$")


def _passes_any_role(stmts: Sequence[Statement]) -> bool:
    for s in stmts:
        if not allows_action(s, "iam:PassRole"):
            continue
        if s.not_resources or any(r.strip() == "*" or _ROLE_WILDCARD.match(r.strip()) for r in s.resources):
            return True
    return False


def _full_iam(s: Statement) -> bool:
    return s.allows and any(
        p.lower().startswith("iam:") and action_matches(p, "iam:PutRolePolicy") and action_matches(p, "iam:ZzzUnlistedAction") for p in s.actions
    )


def escalations(stmts: Sequence[Statement]) -> list[str]:
    """How a holder of ``stmts`` could raise its own rights (empty when it cannot)."""
    found = []
    if any(_full_iam(s) for s in stmts):
        found.append('full IAM access ("iam:*"), so it can grant itself anything')
    if _passes_any_role(stmts):
        targets = granted(stmts, PASS_ROLE_TARGETS, scoped_ok=True)
        if targets:
            found.append(
                f"iam:PassRole on every role with {', '.join(targets[:3])}{' ...' if len(targets) > 3 else ''}, so it can "
                "run code as any role in the account"
            )
    for what, actions in ESCALATIONS.items():
        if len(granted(stmts, actions, scoped_ok=False)) == len(actions):
            found.append(f"{' + '.join(actions)} on \"*\", so it can {what}")
    return found


def validate_iam_no_privilege_escalation(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No policy document lets its holder escalate its privileges."""
    if args.resource_type not in DOCUMENT_TYPES or _exempt(args):
        return
    for where, stmts in documents(args.resource_type, args.props):
        for path in escalations(stmts):
            report_violation(
                f"'{args.name}' {where} allows privilege escalation: {path}; scope the actions to the specific "
                "roles, users and policies the workload manages (and iam:PassRole to the one role it hands on).",
                None,
            )


def iam_no_privilege_escalation() -> ResourcePolicy:
    return ResourcePolicy(
        name="iam-no-privilege-escalation",
        description="No IAM policy grants full IAM access, iam:PassRole on every role with a way to use it, or another privilege escalation path.",
        validate=validate_iam_no_privilege_escalation,
        resource_types=DOCUMENT_TYPES,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(EXEMPT_NAMES),
        tags=["iam"],
    )


# --------------------------------------------------------------------------- unscoped actions

# Actions whose API response carries credentials (Cloudsplaining's list, trimmed to the
# services a platform like this one uses).
CREDENTIAL_ACTIONS = (
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:ResetServiceSpecificCredential",
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:GetFederationToken",
    "ec2:GetPasswordData",
    "rds-db:Connect",
    "redshift:GetClusterCredentials",
    "sso:GetRoleCredentials",
    "codeartifact:GetAuthorizationToken",
    "cognito-identity:GetCredentialsForIdentity",
)
# Read actions that leak data or secrets when allowed on every resource.
EXFILTRATION_ACTIONS = (
    "s3:GetObject",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "secretsmanager:GetSecretValue",
    "kms:Decrypt",
    "rds:CopyDBSnapshot",
    "rds:CreateDBSnapshot",
    "rds:CreateDBClusterSnapshot",
)
# Verbs of actions that change resources or permissions (AWS's "Write" and "Permissions
# management" access levels); tagging is left out, as Checkov does.
WRITE_VERBS = (
    "Accept", "Add", "Allocate", "Apply", "Assign", "Associate", "Attach", "Authorize", "BatchDelete", "BatchPut",
    "BatchWrite", "Cancel", "Change", "Copy", "Create", "Deactivate", "Delete", "Deregister", "Detach", "Disable",
    "Disassociate", "Enable", "Encrypt", "Execute", "Export", "Generate", "Grant", "Import", "Invoke", "Modify",
    "Pass", "Promote", "Publish", "Purge", "Put", "ReEncrypt", "Reboot", "Register", "Reject", "Release", "Remove",
    "Replace", "Request", "Reset", "Restore", "Retire", "Revoke", "Rotate", "Run", "Schedule", "Send", "Set",
    "Start", "Stop", "Terminate", "Unassign", "Update", "Upload", "Write",
)
UNRESTRICTABLE = Setting(
    "unrestrictableActions",
    {"type": "array", "items": {"type": "string"}},
    [
        "cloudwatch:PutMetricData",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:PutResourcePolicy",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        "sts:GetCallerIdentity",
    ],
    "Actions AWS only grants on \"*\" (no resource-level permissions), allowed there without a condition.",
)


def _sensitive(pattern: str, unrestrictable: Sequence[str]) -> str | None:
    """Why an action pattern is sensitive on every resource, or None."""
    if any(action_matches(pattern, a) and "*" not in pattern for a in unrestrictable):
        return None
    if any(action_matches(pattern, a) for a in CREDENTIAL_ACTIONS):
        return "returns credentials"
    if any(action_matches(pattern, a) for a in EXFILTRATION_ACTIONS):
        return "reads data or secrets"
    service, _, name = pattern.partition(":")
    if "*" in name and action_matches(pattern, f"{service}:CreateZzz"):
        return "includes write actions"
    if any(name.lower().startswith(v.lower()) for v in WRITE_VERBS):
        return "writes or manages permissions"
    return None


def validate_iam_no_unscoped_sensitive_actions(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Writes, permission changes, credential and data reads are scoped to resources or conditions."""
    if args.resource_type not in DOCUMENT_TYPES or _exempt(args):
        return
    unrestrictable = [str(a) for a in resolve(args, UNRESTRICTABLE)[UNRESTRICTABLE.name]]
    for where, stmts in documents(args.resource_type, args.props):
        for index, s in enumerate(stmts):
            if not s.allows or not unscoped(s) or s.not_actions or set(s.actions) & set(WILDCARD_ACTIONS):
                continue  # NotAction and "*" are iam-no-wildcard-actions' findings
            flagged = [(a, why) for a in s.actions if (why := _sensitive(a, unrestrictable))]
            if flagged:
                shown = ", ".join(f"{a} ({why})" for a, why in flagged[:4]) + (f" and {len(flagged) - 4} more" if len(flagged) > 4 else "")
                report_violation(
                    f"'{args.name}' {where} {_which(index, s)} allows {shown} on every resource with no condition; "
                    "list the resource ARNs it needs, or add a condition (aws:ResourceTag, aws:RequestedRegion, ...).",
                    None,
                )


def iam_no_unscoped_sensitive_actions() -> ResourcePolicy:
    return ResourcePolicy(
        name="iam-no-unscoped-sensitive-actions",
        description='IAM statements never allow writes, permission changes, credential or secret reads on "*" without a condition.',
        validate=validate_iam_no_unscoped_sensitive_actions,
        resource_types=DOCUMENT_TYPES,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(EXEMPT_NAMES, UNRESTRICTABLE),
        tags=["iam"],
    )


# --------------------------------------------------------------------------- trust policies

_ACCOUNT_PRINCIPAL = re.compile(r"^(\d{12}|arn:aws[\w-]*:iam::\d{12}:root)$")
_OIDC_PROVIDER = re.compile(r":oidc-provider/(.+)$")
_CLAIM_OPERATORS = ("stringequals", "stringlike", "forallvalues:stringequals", "forallvalues:stringlike", "foranyvalue:stringequals", "foranyvalue:stringlike")


def _claims(condition: Mapping[str, Any], provider: str, claim: str) -> list[str] | None:
    """The values a condition requires for ``<provider>:<claim>`` (None when it does not)."""
    wanted = f"{provider}:{claim}".lower()
    found: list[str] | None = None
    for operator, block in condition.items():
        if str(operator).lower() not in _CLAIM_OPERATORS or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            if str(key).lower() == wanted:
                found = (found or []) + strings(values)
    return found


def _specific_subject(provider: str, subject: str) -> bool:
    value = subject.strip()
    if not value or re.fullmatch(r"[*?]+", value):
        return False
    if provider.startswith("token.actions.githubusercontent.com"):
        return bool(re.match(r"^repo:[^*?/:]+/[^:]+:\S", value))  # repo:<org>/<repo>:<ref or environment>
    if ".eks." in provider or provider.startswith("oidc.eks"):
        return bool(re.match(r"^system:serviceaccount:[^*?:]+:[^:]+$", value))  # namespace named
    return not value.startswith("*")


def _trust_problems(s: Statement) -> list[str]:
    if not s.allows:
        return []
    problems = []
    if open_to_anyone(s):
        return ["lets anyone (any AWS account) assume the role; name the principals, or add an aws:PrincipalOrgID or aws:PrincipalArn condition"]
    if s.of_kind("Service") and any(is_anyone(p) or p.strip() == "*" for p in s.of_kind("Service")):
        problems.append('trusts every AWS service ("Service": "*"); name the service (e.g. "ec2.amazonaws.com")')
    accounts = [p for p in s.of_kind("AWS") if _ACCOUNT_PRINCIPAL.match(p.strip())]
    if accounts and not condition_restricts(s.condition) and not _claims(s.condition, "sts", "ExternalId"):
        problems.append(
            f"trusts every principal of account {', '.join(accounts)} (any of them with sts:AssumeRole in its IAM "
            "policy can assume the role); name the role ARNs, or add an aws:PrincipalArn condition (sts:ExternalId "
            "for a third party)"
        )
    for federated in s.of_kind("Federated"):
        match = _OIDC_PROVIDER.search(federated)
        if not match:
            continue
        provider = match.group(1)
        audiences = _claims(s.condition, provider, "aud")
        subjects = _claims(s.condition, provider, "sub")
        if not audiences:
            problems.append(f"trusts the OIDC provider {provider} without an \"{provider}:aud\" condition; require the audience (sts.amazonaws.com)")
        if not subjects:
            problems.append(f"trusts the OIDC provider {provider} without a \"{provider}:sub\" condition, so every identity it issues can assume the role; require the subject (system:serviceaccount:<namespace>:<name>, repo:<org>/<repo>:...)")
        elif not all(_specific_subject(provider, v) for v in subjects):
            problems.append(f"trusts the OIDC provider {provider} for subjects {', '.join(subjects)}, which match identities of other namespaces, repositories or organizations; name the exact subject")
    return problems


def validate_iam_trust_policy_restricted(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A role's trust policy admits only named principals, services and web identities."""
    if args.resource_type != ROLE or _exempt(args):
        return
    for index, s in enumerate(statements(args.props.get("assumeRolePolicy"))):
        for problem in _trust_problems(s):
            report_violation(f"role '{args.name}' trust policy {_which(index, s)} {problem}.", None)


def iam_trust_policy_restricted() -> ResourcePolicy:
    return ResourcePolicy(
        name="iam-trust-policy-restricted",
        description="Role trust policies admit only named principals and services, and web identities only with aud and a specific sub.",
        validate=validate_iam_trust_policy_restricted,
        resource_types=[ROLE],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        config_schema=config_schema(EXEMPT_NAMES),
        tags=["iam"],
    )
