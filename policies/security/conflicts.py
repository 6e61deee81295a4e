"""Resources that fight over the same settings.

An ``aws.ec2.SecurityGroup`` with inline ``ingress``/``egress`` rules owns all of its rules,
and an ``aws.iam.Role`` with ``managed_policy_arns``/``inline_policies`` owns all of its
policies: a separate rule, attachment or role policy for the same group or role is removed
on the next update and re-added on the one after, so permissions flap between deployments.
``no-exclusive-management-conflicts`` (AWSGuard's ``security-group-no-rule-management-conflicts``
and ``iam-role-no-policy-management-conflicts``) reports each such pair.

It reads the group's and role's declared rules and policies, so after a refresh, where the
provider reports rules made by separate resources as the group's own, it can report a pair
that is not one; it is advisory for that reason.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ReportViolation, Severity, StackValidationArgs

from policies.common.policy import StackPolicy, short_type
from policies.common.props import items, strings
from policies.common.stack import index, linked

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
ROLE = "aws:iam/role:Role"
RULES = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "",
}
ROLE_LINKS = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "role",
    "aws:iam/rolePolicy:RolePolicy": "role",
    "aws:iam/policyAttachment:PolicyAttachment": "roles",
}


def validate_no_exclusive_management_conflicts(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """No rule or policy resource for a group or role that manages its own exclusively."""
    groups = index(args.resources, [SECURITY_GROUP])
    roles = index(args.resources, [ROLE], keys=("id", "name", "arn"))
    for r in args.resources:
        if r.resource_type in RULES:
            direction = RULES[r.resource_type] or str(r.props.get("type") or "")
            for group in linked(r, "securityGroupId", [SECURITY_GROUP], groups):
                if items(group.props.get(direction)):
                    report_violation(
                        f"{short_type(r.resource_type)} '{r.name}' adds a rule to security group '{group.name}', which "
                        f"declares inline {direction} rules and so removes it on every other update; move the group's "
                        "inline rules to separate rule resources, or this rule into the group.",
                        r.urn,
                    )
        elif r.resource_type in ROLE_LINKS:
            for role in linked(r, ROLE_LINKS[r.resource_type], [ROLE], roles):
                owned = [k for k in ("managedPolicyArns", "inlinePolicies") if items(role.props.get(k)) or strings(role.props.get(k))]
                if owned:
                    report_violation(
                        f"{short_type(r.resource_type)} '{r.name}' manages a policy of role '{role.name}', which declares "
                        f"{' and '.join(owned)} and so removes it on every other update; attach all of the role's "
                        "policies one way.",
                        r.urn,
                    )


def no_exclusive_management_conflicts() -> StackPolicy:
    return StackPolicy(
        name="no-exclusive-management-conflicts",
        description="No separate rule or policy resource for a security group or role that declares its rules or policies inline.",
        validate=validate_no_exclusive_management_conflicts,
        resource_types=[SECURITY_GROUP, ROLE, *RULES, *ROLE_LINKS],
        enforcement_level=EnforcementLevel.ADVISORY,
        severity=Severity.LOW,
        tags=["network", "iam"],
    )
