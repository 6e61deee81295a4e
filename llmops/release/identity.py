"""What a release is and how it is named.

A release is the mapping under ``llmops:serving.release`` in a stack file, whatever keys it
holds (model id and pinned revision, serving image, Serve app settings, chart versions).
It is the one thing that moves between stacks on promotion. Its *fingerprint* is the
SHA-256 of its canonical JSON (keys sorted, no insignificant whitespace), so a new key, a
new value or a reordered list gives a new fingerprint, while comments, key order and
YAML formatting do not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SHORT_LENGTH = 12
"""Characters of the fingerprint shown to people (the full one names results)."""


def canonical_json(value: Any) -> str:
    """The canonical JSON text of a release: sorted keys, compact, UTF-8 kept as is.
    Values YAML reads as dates or timestamps are written as their ISO text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_iso)


def _iso(value: Any) -> str:
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return str(isoformat())
    raise TypeError(f"a release value of type {type(value).__name__} cannot be fingerprinted")


def fingerprint(release: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the release's canonical JSON."""
    return hashlib.sha256(canonical_json(release).encode("utf-8")).hexdigest()


def secret_paths(value: Any, path: str = "release") -> list[str]:
    """Where the release holds ``{secure: ...}`` ciphertexts. They are encrypted with one
    stack's key, so a release that holds one cannot be copied to another stack."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return [path]
        return [p for key, item in value.items() for p in secret_paths(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in secret_paths(item, f"{path}[{index}]")]
    return []


@dataclass(frozen=True)
class Release:
    """The release pinned in one stack."""

    stack: str
    values: Mapping[str, Any]
    """The mapping under ``llmops:serving.release``, as plain values."""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.values)

    @property
    def short(self) -> str:
        """The first characters of the fingerprint, for people."""
        return self.fingerprint[:SHORT_LENGTH]

    def to_document(self) -> dict[str, Any]:
        return {"stack": self.stack, "fingerprint": self.fingerprint, "release": json.loads(canonical_json(self.values))}
