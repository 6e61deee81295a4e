"""Links between the resources a stack policy sees: which VPC a flow log watches, which
bucket a policy belongs to, which load balancer a listener serves.

The engine records a property's dependencies (``property_dependencies["vpcId"]`` is the
VPC whose output fed ``vpcId``); that is the first choice. A value given literally (an
imported id, a name typed in) is matched against the resources' ``id``/``arn``/name
properties instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pulumi_policy import PolicyResource

from policies.common.props import strings


def index(resources: Iterable[PolicyResource], types: Iterable[str], keys: Sequence[str] = ("id", "arn")) -> dict[str, PolicyResource]:
    """Resources of ``types`` by the string value of each of their ``keys`` properties."""
    wanted = frozenset(types)
    found: dict[str, PolicyResource] = {}
    for r in resources:
        if r.resource_type not in wanted:
            continue
        for key in keys:
            value = r.props.get(key)
            if isinstance(value, str) and value:
                found.setdefault(value, r)
    return found


def linked(resource: PolicyResource, prop: str, types: Iterable[str], by_value: Mapping[str, PolicyResource]) -> list[PolicyResource]:
    """Resources of ``types`` that ``resource.props[prop]`` points at: its property
    dependencies first (as the engine records them), else the values found in ``by_value``."""
    wanted = frozenset(types)
    found = [r for r in resource.property_dependencies.get(prop, []) if r.resource_type in wanted]
    if found:
        return found
    return [by_value[v] for v in strings(resource.props.get(prop)) if v in by_value]


def first_linked(resource: PolicyResource, props: Sequence[str], types: Iterable[str], by_value: Mapping[str, PolicyResource]) -> PolicyResource | None:
    """The first resource ``linked`` through any of ``props``."""
    for prop in props:
        found = linked(resource, prop, types, by_value)
        if found:
            return found[0]
    return None


def of_types(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    wanted = frozenset(types)
    return [r for r in resources if r.resource_type in wanted]
