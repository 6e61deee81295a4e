"""Resource policies open to anyone.

``no-public-resource-policies`` reads every resource policy the platform writes (S3 bucket
policies, SQS queue and SNS topic policies, KMS key policies, ECR repository policies,
Secrets Manager secret policies, OpenSearch domain access policies and OpenSearch
Serverless data access policies) and Lambda permissions and function URLs. A statement is
open when it allows anybody (``"*"``, ``{"AWS": "*"}``, any account, ``NotPrincipal``) and
its condition, if any, restricts nothing: ``aws:SecureTransport``, ``aws:Referer``, an
``...IfExists`` or negated operator, a wildcard value or ``aws:SourceIp`` ranges that add
up to the internet leave it open (see :func:`policies.security.documents.condition_restricts`).
It also flags SNS grants to other accounts without a condition, SQS grants of every action,
and AWS-service grants on Lambda without a source (the confused-deputy problem).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from policies.common.policy import ResourcePolicy, table_validator
from policies.common.props import decode, items, strings
from policies.security.documents import (
    Statement,
    action_matches,
    condition_restricts,
    is_anyone,
    open_to_anyone,
    statements,
)

_FIX = "name the principals, or add a condition on aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID or aws:SourceVpce"


def _condition_note(s: Statement) -> str:
    if not s.condition:
        return "with no condition"
    keys = sorted({str(k) for raw in s.condition.values() if isinstance(block := decode(raw), Mapping) for k in block})
    return f"and its condition ({', '.join(keys)}) restricts nothing about who calls"


def _open_statements(document: Any, what: str) -> list[str]:
    problems = []
    for index, s in enumerate(statements(document)):
        if open_to_anyone(s):
            actions = ", ".join(s.actions or s.not_actions) or "every action"
            where = f"statement {index}" + (f" ({s.label})" if s.sid else "")
            problems.append(f"{what} {where} allows anyone to {actions} {_condition_note(s)}; {_FIX}")
    return problems


def _policy(prop: str, what: str = "policy") -> Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]:
    def check(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
        return _open_statements(props.get(prop), what) if props.get(prop) else []

    return check


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def _sns_policy(props: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    document = props.get("policy")
    if not document:
        return []
    problems = _open_statements(document, "policy")
    home = _account_of(str(props.get("arn") or "")) or next(
        (a for s in statements(document) for r in s.resources if (a := _account_of(r))), None
    )
    for index, s in enumerate(statements(document)):
        if not s.allows or open_to_anyone(s) or condition_restricts(s.condition):
            continue
        foreign = [p for p in s.of_kind("AWS") if (a := _account_of(p) or (p if p.isdigit() else None)) and a != home]
        if foreign:
            problems.append(
                f"policy statement {index} lets other accounts ({', '.join(foreign)}) use the topic with no condition; "
                "add an aws:SourceArn or aws:PrincipalOrgID condition, or publish from inside the account"
            )
    return problems


def _sqs_policy(props: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    document = props.get("policy")
    if not document:
        return []
    problems = _open_statements(document, "policy")
    for index, s in enumerate(statements(document)):
        if s.allows and any(action_matches(a, "sqs:SetQueueAttributes") and action_matches(a, "sqs:DeleteQueue") for a in s.actions):
            problems.append(
                f"policy statement {index} grants every SQS action (including sqs:SetQueueAttributes, which rewrites "
                "this policy); list the actions the principal needs (e.g. sqs:SendMessage)"
            )
    return problems


def _aoss_access_policy(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if props.get("type") not in (None, "data"):
        return []
    for index, rule in enumerate(items(props.get("policy"))):
        if not isinstance(rule, Mapping):
            continue
        principals = strings(rule.get("Principal"))
        if any(is_anyone(p) for p in principals):
            return [
                f"data access policy rule {index} grants its permissions to every principal (\"Principal\": [\"*\"]); "
                "list the IAM role ARNs that read and write the collections"
            ]
    return []


def _lambda_permission(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    principal = str(props.get("principal") or "").strip()
    scoped = any(props.get(k) for k in ("sourceArn", "sourceAccount", "principalOrgId"))
    if is_anyone(principal):
        if scoped or props.get("functionUrlAuthType") == "AWS_IAM":
            return []
        action = props.get("action") or "lambda:InvokeFunction"
        return [f"lets anyone call {action} on the function; set source_arn, source_account or principal_org_id, or function_url_auth_type='AWS_IAM'"]
    if principal.endswith(".amazonaws.com") and not scoped:
        return [
            f"lets the service {principal} invoke the function on behalf of any account (the confused-deputy problem); "
            "set source_arn (and source_account) to the resource that triggers it"
        ]
    return []


def _function_url(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    if str(props.get("authorizationType") or "").upper() == "NONE":
        return ["lets anyone on the internet call the function (authorization_type='NONE'); set authorization_type='AWS_IAM' and sign requests"]
    return []


CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]] = {
    "aws:s3/bucketPolicy:BucketPolicy": _policy("policy"),
    "aws:s3/bucket:Bucket": _policy("policy"),
    "aws:s3/bucketV2:BucketV2": _policy("policy"),
    "aws:sqs/queue:Queue": _sqs_policy,
    "aws:sqs/queuePolicy:QueuePolicy": _sqs_policy,
    "aws:sns/topic:Topic": _sns_policy,
    "aws:sns/topicPolicy:TopicPolicy": _sns_policy,
    "aws:kms/key:Key": _policy("policy", "key policy"),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": _policy("policy"),
    "aws:secretsmanager/secret:Secret": _policy("policy"),
    "aws:secretsmanager/secretPolicy:SecretPolicy": _policy("policy"),
    "aws:opensearch/domain:Domain": _policy("accessPolicies", "access policy"),
    "aws:opensearch/domainPolicy:DomainPolicy": _policy("accessPolicies", "access policy"),
    "aws:elasticsearch/domain:Domain": _policy("accessPolicies", "access policy"),
    "aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy": _aoss_access_policy,
    "aws:lambda/permission:Permission": _lambda_permission,
    "aws:lambda/functionUrl:FunctionUrl": _function_url,
}
"""Resource type -> the check that lists how its resource policy is open."""

validate_no_public_resource_policies = table_validator(CHECKS)


def no_public_resource_policies() -> ResourcePolicy:
    return ResourcePolicy(
        name="no-public-resource-policies",
        description=(
            "Resource policies (S3, SQS, SNS, KMS, ECR, Secrets Manager, OpenSearch, Lambda) never allow anyone "
            "without a condition that restricts the caller."
        ),
        validate=validate_no_public_resource_policies,
        resource_types=CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
        tags=["iam", "network", "data"],
    )
