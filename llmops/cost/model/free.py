"""Resources that cost nothing, as data (``free.json``): types AWS does not charge for, or
whose cost is priced on another resource, and type prefixes that are never cloud resources
(providers, IAM, Kubernetes objects other than the ones with a pricing rule)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _table() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(resources.files(__package__).joinpath("free.json").read_text(encoding="utf-8"))
    return table


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
