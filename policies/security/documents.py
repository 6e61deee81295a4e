"""IAM-style policy documents (IAM policies, bucket policies) as plain statements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.common.props import decode, items, strings


@dataclass(frozen=True)
class Statement:
    """One statement, with single values normalised to lists."""

    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    principals: tuple[str, ...]
    condition: Mapping[str, Any]

    @property
    def allows(self) -> bool:
        return self.effect.lower() == "allow"

    @property
    def denies(self) -> bool:
        return self.effect.lower() == "deny"


def _principals(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    decoded = decode(value)
    if isinstance(decoded, Mapping):
        return tuple(p for v in decoded.values() for p in strings(v))
    return tuple(strings(decoded))


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
        result.append(
            Statement(
                effect=str(raw.get("Effect", "Allow")),
                actions=tuple(strings(raw.get("Action"))),
                not_actions=tuple(strings(raw.get("NotAction"))),
                resources=tuple(strings(raw.get("Resource"))),
                principals=_principals(raw.get("Principal")),
                condition=condition if isinstance(condition, Mapping) else {},
            )
        )
    return result
