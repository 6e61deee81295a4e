"""Plain values for validation: what a plan recorded, with secrets and unknowns kept opaque.

Validation reads the inputs the engine recorded. A secret's value is never looked at (a
message could print it), and an unknown value (an output not known at plan time) cannot be
checked; both become :data:`SECRET` / :data:`UNKNOWN`, and every check skips what lies
at or under them. Numbers that arrived as whole floats (the wire format has only doubles)
are integers again, as the API server would decode them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from llmops.validation.problems import PathPart


class Opaque:
    """A value validation must not read: a secret, or one unknown until deploy time."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


SECRET: Final = Opaque("[secret]")
UNKNOWN: Final = Opaque("[unknown]")


def plain(value: Any) -> Any:
    """Deserialized RPC values -> plain JSON-like values (secrets and unknowns opaque)."""
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str) and value == rpc.UNKNOWN:
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def is_opaque(value: Any) -> bool:
    return isinstance(value, Opaque)


def contains_opaque(value: Any) -> bool:
    """Whether ``value`` is, or holds anywhere, an opaque value."""
    if isinstance(value, Opaque):
        return True
    if isinstance(value, dict):
        return any(contains_opaque(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_opaque(v) for v in value)
    return False


def opaque_on_path(value: Any, path: Iterable[PathPart]) -> bool:
    """Whether following ``path`` from ``value`` meets an opaque value (at its end included)."""
    current = value
    for part in path:
        if isinstance(current, Opaque):
            return True
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(current, Opaque)
