"""Policies that name the resource types they read.

A :class:`ResourcePolicy` or :class:`StackPolicy` is the SDK's policy class plus
``resource_types``: the type tokens (``aws:sqs/queue:Queue``) or type prefixes ending in
``*`` (``kubernetes:*``) whose resources it checks. The pack's analyzer
(:mod:`policies.common.server`) hands a resource policy only resources of those types and a
stack policy only those resources, so a policy costs nothing on the resources it ignores.
A validator therefore reads ``resource_types`` from the same table it dispatches on
(``CHECKS``), so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from policies.common.settings import Setting, resolve

ALL_TYPES: frozenset[str] = frozenset()
"""``resource_types`` of a policy that reads every resource."""


def type_matches(patterns: Iterable[str], resource_type: str) -> bool:
    """Whether ``resource_type`` is one of ``patterns`` (``prefix*`` matches by prefix)."""
    for pattern in patterns:
        if pattern.endswith("*"):
            if resource_type.startswith(pattern[:-1]):
                return True
        elif pattern == resource_type:
            return True
    return False


class ResourcePolicy(ResourceValidationPolicy):
    """A resource validation policy that checks only ``resource_types``."""

    def __init__(self, *, resource_types: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_types = frozenset(resource_types)
        if not self.resource_types:
            raise ValueError(f"policy {kwargs.get('name')!r}: resource_types is empty; list the types it checks")

    def applies_to(self, resource_type: str) -> bool:
        return type_matches(self.resource_types, resource_type)


class StackPolicy(StackValidationPolicy):
    """A stack validation policy that reads only ``resource_types`` (every resource when
    empty: budgets, regions and GPU totals need the whole stack and its parents).

    ``properties_of`` (when given) narrows further: the policy reads the properties of those
    types only, and every other resource reaches it with its type, name, provider, parent
    and dependencies but no properties (what a region or parent walk needs)."""

    def __init__(self, *, resource_types: Iterable[str] = ALL_TYPES, properties_of: Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.resource_types = frozenset(resource_types)
        self.properties_of = frozenset(properties_of) if properties_of is not None else None

    def applies_to(self, resource_type: str) -> bool:
        return not self.resource_types or type_matches(self.resource_types, resource_type)


def properties_of(policy: object) -> frozenset[str] | None:
    """The types whose properties a stack policy reads; None: all of its resources'."""
    types = getattr(policy, "properties_of", None)
    return types if isinstance(types, frozenset) else None


def resource_types_of(policy: object) -> frozenset[str] | None:
    """The types ``policy`` declares; None for an SDK policy that declares none (it sees
    every resource)."""
    types = getattr(policy, "resource_types", None)
    return types if isinstance(types, frozenset) else None


def short_type(resource_type: str) -> str:
    """``aws:sqs/queue:Queue`` -> ``Queue``."""
    return resource_type.split(":")[-1]


Check = Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]
"""Lists one resource's problems from its props and the policy's resolved settings; each
problem reads after the resource's name ("has no ...; set ...")."""


def table_validator(
    checks: Mapping[str, Check], *settings: Setting, environments: Setting | None = None
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """A validator that dispatches on the resource type through ``checks`` and reports
    each problem as ``<Type> '<name>' <problem>.``; with ``environments`` (a setting listing
    environments), only for resources of those environments."""
    from policies.common.context import in_environments

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        check = checks.get(args.resource_type)
        if check is None or (environments is not None and not in_environments(args, environments)):
            return
        values = resolve(args, *settings) if settings else {}
        for problem in check(args.props, values):
            report_violation(f"{short_type(args.resource_type)} '{args.name}' {problem}.", None)

    return validate
