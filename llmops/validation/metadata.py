"""``metadata`` as the API server checks it on every object: the name's format for the kind,
label keys and values, annotation keys and their total size."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from llmops.validation.structural import Finding
from llmops.validation.values import Opaque

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_ANNOTATIONS_LIMIT = 256 * 1024

_LABEL = (_DNS1123_LABEL, 63, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character")
_SUBDOMAIN = (_DNS1123_SUBDOMAIN, 253, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
_DNS1035 = (_DNS1035_LABEL, 63, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character")
NAME_RULES: dict[str, tuple[re.Pattern[str], int, str]] = {"Namespace": _LABEL, "Service": _DNS1035}
"""Kinds whose names follow a stricter rule than the default (a DNS-1123 subdomain)."""


def metadata_findings(obj: Mapping[str, Any], kind: str) -> Iterator[Finding]:
    metadata = obj.get("metadata")
    if metadata is None or isinstance(metadata, Opaque):
        return
    if not isinstance(metadata, Mapping):
        yield ("metadata",), "Invalid value: must be an object"
        return
    name = metadata.get("name")
    if isinstance(name, str):  # absent: the Kubernetes provider generates one
        pattern, limit, rule = NAME_RULES.get(kind, _SUBDOMAIN)
        if len(name) > limit:
            yield ("metadata", "name"), f'Invalid value: "{name}": must be no more than {limit} characters'
        elif not pattern.match(name):
            yield ("metadata", "name"), f'Invalid value: "{name}": {rule}'
    namespace = metadata.get("namespace")
    if isinstance(namespace, str) and not (_DNS1123_LABEL.match(namespace) and len(namespace) <= 63):
        yield ("metadata", "namespace"), f'Invalid value: "{namespace}": {_LABEL[2]}'
    labels = metadata.get("labels")
    if isinstance(labels, Mapping):
        for key, value in labels.items():
            yield from _qualified_name(("metadata", "labels", key), key)
            if isinstance(value, str) and value and (len(value) > 63 or not _NAME_PART.match(value)):
                yield (
                    ("metadata", "labels", key),
                    f'Invalid value: "{value}": a valid label must be an empty string or consist of alphanumeric '
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)",
                )
    annotations = metadata.get("annotations")
    if isinstance(annotations, Mapping):
        size = 0
        for key, value in annotations.items():
            yield from _qualified_name(("metadata", "annotations", key), key)
            size += len(key) + (len(value) if isinstance(value, str) else 0)
        if size > _ANNOTATIONS_LIMIT:
            yield ("metadata", "annotations"), f"Too long: must have at most {_ANNOTATIONS_LIMIT} bytes"


def _qualified_name(path: tuple[str, ...], key: str) -> Iterator[Finding]:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        yield path, f'Invalid value: "{key}": prefix part {_SUBDOMAIN[2]}'
    elif not name or len(name) > 63 or not _NAME_PART.match(name):
        yield (
            path,
            f'Invalid value: "{key}": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', '
            "and must start and end with an alphanumeric character (at most 63)",
        )
