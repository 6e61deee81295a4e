"""Safe access to resource properties as the analyzer hands them to a policy.

In the analyzer, ``args.props`` is a read-only *proxy* (a ``Mapping`` whose nested values
are ``Mapping``/``Sequence`` proxies, not ``dict``/``list``), numbers arrive as floats
(protobuf ``Struct``), and a few providers pass nested values as JSON text (AWS provider
``defaultTags``, IAM policy documents). These helpers accept all of those shapes, so a
validator reads the same way whether it runs in the analyzer or in a direct-call test.
Reading a value that is unknown during preview raises the SDK's ``UnknownValueError``,
which the analyzer reports as an advisory "can't run during preview" note; that is the
intended behaviour, so nothing here swallows it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

_EMPTY: Mapping[str, Any] = {}


def decode(value: Any) -> Any:
    """JSON text (``{...}`` / ``[...]``) -> the decoded value; anything else unchanged."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return value
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` as a mapping (JSON text decoded); an empty mapping for anything else."""
    value = decode(value)
    return value if isinstance(value, Mapping) else _EMPTY


def items(value: Any) -> list[Any]:
    """``value`` as a list (JSON text decoded, a single mapping wrapped); empty otherwise."""
    value = decode(value)
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return []


def strings(value: Any) -> list[str]:
    """``value`` as a list of strings (a single string becomes a one-item list)."""
    if isinstance(value, str):
        decoded = decode(value)
        if decoded is value:
            return [value]
        value = decoded
    return [str(v) for v in items(value) if isinstance(v, str | int | float)]


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    """The value at ``path`` under ``value`` (mappings by key, sequences by index), or
    ``default`` when any step is missing. JSON text met on the way is decoded."""
    current = value
    for step in path:
        current = decode(current)
        if isinstance(step, int):
            if (
                isinstance(current, Sequence)
                and not isinstance(current, str | bytes)
                and -len(current) <= step < len(current)
            ):
                current = current[step]
                continue
            return default
        if isinstance(current, Mapping) and step in current:
            current = current[step]
            continue
        return default
    return default if current is None else current


def flag(value: Any) -> bool | None:
    """A boolean property: ``True``/``"true"`` -> True, ``False``/``"false"`` -> False, else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def number(value: Any) -> float | None:
    """A numeric property (int, float or numeric string) as a float; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def plain(value: Any) -> Any:
    """A deep copy of ``value`` made of plain ``dict``/``list`` (proxies unwrapped)."""
    if value is None or isinstance(value, str | bytes | bool | int | float):
        return value  # the leaves, without the slower abstract-class checks below
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [plain(v) for v in value]
    return value
