"""What the cost model knows about types as data: ``free.json`` (types AWS does not charge
for, or whose cost is priced on another resource, and type prefixes that are never cloud
resources: providers, IAM, Kubernetes objects other than the ones with a pricing rule) and
``billed.json`` (types that cost money but have no pricing rule, and what AWS bills for
them; unpriced resources of these types lead the unpriced list)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _read(name: str) -> dict[str, Any]:
    table: dict[str, Any] = json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
    return table


def _table() -> dict[str, Any]:
    return _read("free.json")


def billed_for(type_: str) -> str | None:
    """What AWS bills for a type that has no pricing rule, or None when it is not listed."""
    billed: dict[str, str] = _read("billed.json")["types"]
    return billed.get(type_)


def free_types() -> dict[str, str]:
    """Free resource types and why each is free."""
    types: dict[str, str] = _table()["types"]
    return types


def free_reason(type_: str, custom: bool) -> str | None:
    """Why a resource costs nothing, or None when it is not known to be free."""
    if not custom:
        return "component resource (its children are priced)"
    reason = free_types().get(type_)
    if reason is not None:
        return reason
    prefixes: dict[str, str] = _table()["prefixes"]
    return next((why for prefix, why in prefixes.items() if type_.startswith(prefix)), None)
