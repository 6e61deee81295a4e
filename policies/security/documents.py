"""IAM-style policy documents (identity policies, trust policies, resource policies of S3,
SQS, SNS, KMS, ECR, Secrets Manager, OpenSearch) as plain statements, and the questions
several policies ask of them: who is the principal, does a condition restrict anything,
which actions does a statement allow."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.common.cidrs import covers_internet
from policies.common.props import decode, items, strings

ANYONE = "*"


@dataclass(frozen=True)
class Statement:
    """One statement, with single values normalised to lists."""

    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    principals: tuple[str, ...]
    """Every principal value, whatever its kind (``"*"`` for ``"Principal": "*"``)."""
    condition: Mapping[str, Any]
    principal_kinds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Principal kind (``AWS``, ``Service``, ``Federated``, ``CanonicalUser``; ``*`` for the
    bare string form) -> its values."""
    not_principals: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    sid: str = ""

    @property
    def allows(self) -> bool:
        return self.effect.lower() == "allow"

    @property
    def denies(self) -> bool:
        return self.effect.lower() == "deny"

    def of_kind(self, kind: str) -> tuple[str, ...]:
        return self.principal_kinds.get(kind, ())

    @property
    def label(self) -> str:
        return f'"{self.sid}"' if self.sid else ""


def _principal_kinds(value: Any) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if isinstance(value, str):
        decoded = decode(value)
        if decoded is value:
            return {ANYONE: (value,)}
        value = decoded
    if isinstance(value, Mapping):
        return {str(k): tuple(strings(v)) for k, v in value.items()}
    return {ANYONE: tuple(strings(value))}


def statements(document: Any) -> list[Statement]:
    """The statements of a policy document given as JSON text or a mapping."""
    doc = decode(document)
    if not isinstance(doc, Mapping):
        return []
    result = []
    for raw in items(doc.get("Statement")):
        if not isinstance(raw, Mapping):
            continue
        condition = decode(raw.get("Condition"))
        kinds = _principal_kinds(raw.get("Principal"))
        not_kinds = _principal_kinds(raw.get("NotPrincipal"))
        result.append(
            Statement(
                effect=str(raw.get("Effect", "Allow")),
                actions=tuple(strings(raw.get("Action"))),
                not_actions=tuple(strings(raw.get("NotAction"))),
                resources=tuple(strings(raw.get("Resource"))),
                principals=tuple(p for values in kinds.values() for p in values),
                condition=condition if isinstance(condition, Mapping) else {},
                principal_kinds=kinds,
                not_principals=tuple(p for values in not_kinds.values() for p in values),
                not_resources=tuple(strings(raw.get("NotResource"))),
                sid=str(raw.get("Sid") or ""),
            )
        )
    return result


# --------------------------------------------------------------------------- principals

_ACCOUNT_WILDCARD = re.compile(r"^arn:aws[\w-]*:(iam|sts)::[*?]+:")


def is_anyone(principal: str) -> bool:
    """``"*"``, or an ARN of any account (``arn:aws:iam::*:root``)."""
    return principal.strip() == ANYONE or bool(_ACCOUNT_WILDCARD.match(principal.strip()))


def anyone_principal(statement: Statement) -> bool:
    """The statement applies to anybody: ``"Principal": "*"``, ``{"AWS": "*"}``, an ARN of
    any account, or an Allow with ``NotPrincipal`` (everyone but the ones named)."""
    if statement.allows and statement.not_principals:
        return True
    return any(is_anyone(p) for kind in (ANYONE, "AWS", "CanonicalUser") for p in statement.of_kind(kind))


# --------------------------------------------------------------------------- conditions

# Condition keys that narrow who may make the request or from where. Anything else
# (aws:SecureTransport, aws:Referer, aws:UserAgent, s3:prefix, times, tags of the request)
# leaves the statement open to whoever can send a request.
_ACCOUNT_KEYS = frozenset({"aws:sourceaccount", "aws:sourceowner", "aws:principalaccount", "kms:calleraccount", "aws:resourceaccount"})
_ARN_KEYS = frozenset({"aws:sourcearn", "aws:principalarn", "s3:dataaccesspointarn"})
_IP_KEYS = frozenset({"aws:sourceip", "aws:vpcsourceip"})
_OTHER_KEYS = frozenset(
    {
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:userid",
        "aws:username",
        "aws:principalservicename",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "kms:viaservice",
        "s3:dataaccesspointaccount",
        "lambda:functionurlauthtype",
    }
)
_BOOLEAN_KEYS = frozenset({"aws:principalisawsservice", "aws:viaawsservice"})
_WILDCARD_ONLY = re.compile(r"^[*?]*$")
_ACCOUNT = re.compile(r"^\d{12}$")


def _base_operator(operator: str) -> tuple[str, bool]:
    """(operator without set qualifier or IfExists, whether it is IfExists)."""
    op = operator.split(":", 1)[-1]
    if_exists = op.lower().endswith("ifexists")
    return (op[: -len("IfExists")] if if_exists else op), if_exists


def _arn_restricts(value: str) -> bool:
    """An ARN value names one account's resource (or one S3 bucket, whose ARNs carry no
    account): a same-named resource in another account would otherwise match."""
    parts = value.strip().split(":", 5)
    if len(parts) < 6:
        return False
    service, account, resource = parts[2], parts[4], parts[5]
    if service == "s3" and not account:
        bucket = resource.split("/", 1)[0]
        return bool(bucket) and "*" not in bucket and "?" not in bucket
    return bool(_ACCOUNT.match(account))


def _value_restricts(key: str, values: list[str]) -> bool:
    if not values:
        return False
    if key in _IP_KEYS:
        return not covers_internet(values)
    if key in _ACCOUNT_KEYS:
        return all(_ACCOUNT.match(v.strip()) for v in values)
    if key in _ARN_KEYS:
        return all(_arn_restricts(v) for v in values)
    return not any(_WILDCARD_ONLY.match(v.strip()) for v in values)


def condition_restricts(condition: Mapping[str, Any]) -> bool:
    """Whether ``condition`` narrows who may send the request (a principal, account,
    organization, source ARN, VPC, VPC endpoint or network that is not the whole internet).

    ``...IfExists`` operators, negated operators (``StringNotEquals``, ``NotIpAddress``),
    ``Null`` checks and wildcard-only values restrict nothing: a request that lacks the key,
    or comes from anywhere else, still passes."""
    for operator, block in condition.items():
        block = decode(block)
        if not isinstance(block, Mapping):
            continue
        op, if_exists = _base_operator(str(operator))
        if if_exists or op.lower() == "null" or "not" in op.lower():
            continue
        for raw_key, raw_values in block.items():
            key = str(raw_key).lower()
            values = strings(raw_values)
            if key in _BOOLEAN_KEYS:
                if op.lower() == "bool" and values and all(v.lower() == "true" for v in values):
                    return True
                continue
            if key in _ACCOUNT_KEYS | _ARN_KEYS | _IP_KEYS | _OTHER_KEYS and _value_restricts(key, values):
                return True
    return False


def open_to_anyone(statement: Statement) -> bool:
    """An Allow for anybody whose condition (if any) restricts nothing."""
    return statement.allows and anyone_principal(statement) and not condition_restricts(statement.condition)


# --------------------------------------------------------------------------- actions


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` and ``?`` wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.strip().lower())


def allows_action(statement: Statement, action: str) -> bool:
    """Whether an Allow ``statement`` grants ``action`` (through Action or NotAction)."""
    if not statement.allows:
        return False
    if statement.not_actions:
        return not any(action_matches(p, action) for p in statement.not_actions)
    return any(action_matches(p, action) for p in statement.actions)


def unscoped(statement: Statement) -> bool:
    """The statement applies to every resource (``"Resource": "*"`` or ``NotResource``)
    and has no condition."""
    every = ANYONE in (r.strip() for r in statement.resources) or bool(statement.not_resources)
    return every and not statement.condition


def granted(statements_: Iterable[Statement], actions: Iterable[str], *, scoped_ok: bool) -> list[str]:
    """The ``actions`` some Allow statement grants (on every resource without a condition,
    unless ``scoped_ok``)."""
    wanted = list(actions)
    found = []
    for action in wanted:
        for s in statements_:
            if (scoped_ok or unscoped(s)) and allows_action(s, action):
                found.append(action)
                break
    return found
