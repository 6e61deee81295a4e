"""Built-in Kubernetes kinds (Namespace, ConfigMap, Deployment, ...) against the OpenAPI
schemas ``kubernetes-validate`` bundles for each Kubernetes minor version, in strict mode
(an unknown field is an error, as with server-side apply).

The schemas are read through ``kubernetes_validate``'s own resource lookup; the validator of
each (version, kind) is built once per process and reports every violation, not just the
first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema

from llmops.validation.problems import PathPart
from llmops.validation.structural import Finding, explain
from llmops.validation.values import Opaque, opaque_on_path

_MINOR = re.compile(r"^v?(\d+)\.(\d+)")


@dataclass(frozen=True)
class BundledVersion:
    """The bundled schema set used for a requested Kubernetes version."""

    requested: str
    bundled: str
    """``1.35.0``"""

    @property
    def exact(self) -> bool:
        return _minor(self.requested) == _minor(self.bundled)

    @property
    def label(self) -> str:
        return f"kubernetes {'.'.join(map(str, _minor(self.bundled)))} (kubernetes-validate)"

    @property
    def note(self) -> str | None:
        if self.exact:
            return None
        from kubernetes_validate import __version__

        return (
            f"kubernetes-validate {__version__} bundles no schemas for Kubernetes {self.requested}; "
            f"built-in kinds were checked against the closest bundled version, {'.'.join(map(str, _minor(self.bundled)))}"
        )


def _minor(version: str) -> tuple[int, int]:
    match = _MINOR.match(version)
    if match is None:
        raise ValueError(f"not a Kubernetes version: {version!r} (expected e.g. '1.35')")
    return int(match.group(1)), int(match.group(2))


@cache
def _bundled() -> tuple[str, ...]:
    from kubernetes_validate.utils import all_versions

    return tuple(all_versions())


@cache
def bundled_version(requested: str) -> BundledVersion:
    """The bundled schema set for ``requested``: the same minor version, else the closest."""
    want = _minor(requested)
    versions = _bundled()
    best = min(versions, key=lambda v: (abs((_minor(v)[0] - want[0]) * 1000 + _minor(v)[1] - want[1]), -_minor(v)[1]))
    return BundledVersion(requested, best)


def _schema_file(api_version: str, kind: str) -> str:
    # rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1 (kubernetes-validate's naming)
    munged = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{munged}.json"


@cache
def _registry(bundled: str) -> Any:
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    definitions = schema_contents(f"kubernetes-json-schema/v{bundled}-local-strict/_definitions.json", bundled)
    return Resource.from_contents(definitions) @ Registry()


@cache
def _validator(bundled: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    from kubernetes_validate.utils import schema_contents
    from referencing import Resource

    try:
        schema = schema_contents(f"kubernetes-json-schema/v{bundled}-local-strict/{_schema_file(api_version, kind)}", bundled)
    except FileNotFoundError:
        return None
    registry = Resource.from_contents(schema) @ _registry(bundled)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def has_schema(api_version: str, kind: str, version: BundledVersion) -> bool:
    return _validator(version.bundled, api_version, kind) is not None


def findings(obj: Mapping[str, Any], version: BundledVersion) -> Iterator[Finding]:
    """Schema violations of a built-in object (the caller checked :func:`has_schema`)."""
    validator = _validator(version.bundled, str(obj.get("apiVersion")), str(obj.get("kind")))
    if validator is None:
        return
    for error in validator.iter_errors(obj):
        path: tuple[PathPart, ...] = tuple(error.absolute_path)
        if opaque_on_path(obj, path) or isinstance(error.instance, Opaque):
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            known = set((error.schema or {}).get("properties") or {})
            for key in error.instance:
                if key not in known:
                    yield (*path, key), "unknown field: not declared in the schema (the API server rejects it)"
            continue
        yield from explain(path, error)
