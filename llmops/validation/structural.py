"""A custom resource against its CRD's structural schema, as the API server checks it on
create: nulls dropped and defaults applied, then the OpenAPI v3 schema (types, enums,
required fields, patterns, formats, bounds), list uniqueness (``x-kubernetes-list-type``)
and the fields it would silently prune.

Schemas are the CRDs' ``openAPIV3Schema`` as vendored; their JSON Schema form and validator
are built once per schema and kept for the process.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import jsonschema

from llmops.validation.problems import PathPart
from llmops.validation.values import Opaque, opaque_on_path

Schema = Mapping[str, Any]
Finding = tuple[tuple[PathPart, ...], str]
"""(path in the object, message)"""

ROOT_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
"""Fields every object has, whatever its schema says (the API server handles them itself)."""


def _sub(schema: Schema | None, key: str) -> Schema | None:
    if not schema:
        return None
    props = schema.get("properties") or {}
    if key in props:
        return props[key]  # type: ignore[no-any-return]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _items(schema: Schema | None) -> Schema | None:
    items = (schema or {}).get("items")
    return items if isinstance(items, Mapping) else None


def apply_defaults(value: Any, schema: Schema | None) -> Any:
    """``value`` as the API server stores it before validating: nulls of fields that are not
    ``nullable`` dropped, then each absent field with a ``default`` set to it (defaults are
    defaulted in turn)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = _sub(schema, key)
            if item is None and not (sub or {}).get("nullable"):
                continue
            out[key] = apply_defaults(item, sub)
        for key, sub in ((schema or {}).get("properties") or {}).items():
            if key not in out and isinstance(sub, Mapping) and "default" in sub:
                out[key] = apply_defaults(sub["default"], sub)
        return out
    if isinstance(value, list):
        items = _items(schema)
        return [apply_defaults(item, items) for item in value]
    return value


def pruned_fields(value: Any, schema: Schema | None, path: tuple[PathPart, ...] = ()) -> Iterator[tuple[PathPart, ...]]:
    """Paths of the fields the structural schema does not know: the API server drops them
    without a word (``x-kubernetes-preserve-unknown-fields`` keeps them)."""
    if schema is None or isinstance(value, Opaque):
        return
    if isinstance(value, dict):
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource")) or not path
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if embedded and key in ROOT_FIELDS:
                continue  # the API server handles apiVersion, kind and ObjectMeta itself
            if key in props:
                yield from pruned_fields(item, props[key], (*path, key))
            elif isinstance(extra, Mapping):
                yield from pruned_fields(item, extra, (*path, key))
            elif extra is True or preserve:
                continue
            else:
                yield (*path, key)
    elif isinstance(value, list):
        items = _items(schema)
        for i, item in enumerate(value):
            yield from pruned_fields(item, items, (*path, i))


def list_type_findings(value: Any, schema: Schema | None, path: tuple[PathPart, ...] = ()) -> Iterator[Finding]:
    """Duplicates in ``x-kubernetes-list-type: set`` lists and repeated keys in ``map`` lists
    (the API server rejects both)."""
    if schema is None or isinstance(value, Opaque):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from list_type_findings(item, _sub(schema, key), (*path, key))
    elif isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        seen: dict[Any, int] = {}
        for i, item in enumerate(value):
            if list_type == "set":
                marker: Any = _hashable(item)
            elif list_type == "map" and isinstance(item, dict):
                marker = tuple(_hashable(item.get(k)) for k in schema.get("x-kubernetes-list-map-keys") or ())
            else:
                marker = None
            if marker is not None:
                if marker in seen:
                    what = "value" if list_type == "set" else "key " + ", ".join(
                        f"{k}={item.get(k)!r}" for k in schema.get("x-kubernetes-list-map-keys") or ()
                    )
                    yield (*path, i), f"Duplicate value: {what} repeats item [{seen[marker]}]"
                else:
                    seen[marker] = i
            yield from list_type_findings(item, _items(schema), (*path, i))


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value if not isinstance(value, Opaque) else id(value)


def to_json_schema(schema: Any) -> Any:
    """Kubernetes' OpenAPI v3 flavour -> JSON Schema: ``nullable`` widens the type,
    ``x-kubernetes-int-or-string`` without ``anyOf`` becomes one."""
    if isinstance(schema, Mapping):
        out = {k: to_json_schema(v) for k, v in schema.items() if k != "x-kubernetes-validations"}
        if schema.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"]
        if schema.get("x-kubernetes-int-or-string") and "anyOf" not in out and "type" not in out:
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        return out
    if isinstance(schema, list):
        return [to_json_schema(v) for v in schema]
    return schema


# Formats the API server checks on custom resources (kube-openapi's strfmt registry); the
# rest (int32, int64, ...) it ignores, and so do we.
FORMATS = jsonschema.FormatChecker(formats=())
_DURATION = re.compile(r"^[-+]?(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+$|^0$")


def _matching(pattern: re.Pattern[str]) -> Callable[[str], object]:
    def parse(value: str) -> object:
        if not pattern.match(value):
            raise ValueError(value)
        return value

    return parse


_FORMAT_PARSERS: dict[str, Callable[[str], object]] = {
    "date-time": lambda v: datetime.fromisoformat(v.replace("Z", "+00:00").replace("z", "+00:00")),
    "date": lambda v: datetime.strptime(v, "%Y-%m-%d"),
    "duration": _matching(_DURATION),
    "uuid": uuid.UUID,
    "ipv4": ipaddress.IPv4Address,
    "ipv6": ipaddress.IPv6Address,
    "cidr": lambda v: ipaddress.ip_network(v, strict=False),
    "byte": lambda v: base64.b64decode(v, validate=True),
}


def _register(name: str, parse: Callable[[str], object]) -> None:
    def checker(value: object) -> bool:
        if isinstance(value, str):
            parse(value)
        return True

    FORMATS.checks(name, raises=(ValueError, TypeError))(checker)


for _name, _parse in _FORMAT_PARSERS.items():
    _register(_name, _parse)


class SchemaValidator:
    """One CRD version's schema, ready to check objects with."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._validator = jsonschema.Draft7Validator(to_json_schema(schema), format_checker=FORMATS)

    def findings(self, value: Any) -> Iterator[Finding]:
        """Schema violations of ``value`` (already defaulted), skipping what lies under an
        opaque value."""
        for error in self._validator.iter_errors(value):
            path = tuple(error.absolute_path)
            if opaque_on_path(value, path) or isinstance(error.instance, Opaque):
                continue
            yield from explain(path, error)


def explain(path: tuple[PathPart, ...], error: jsonschema.ValidationError) -> Iterator[Finding]:
    """Messages worded like the API server's."""
    validator, instance = error.validator, error.instance
    if validator == "required":
        missing = re.match(r"^'(.+)' is a required property$", error.message)
        yield (*path, missing.group(1) if missing else "?"), "Required value"
    elif validator == "enum":
        allowed = ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in error.validator_value)
        yield path, f"Unsupported value: {_show(instance)}: supported values: {allowed}"
    elif validator == "type":
        yield path, f"Invalid value: {_show(instance)}: must be of type {error.validator_value}"
    elif validator == "pattern":
        yield path, f"Invalid value: {_show(instance)}: should match '{error.validator_value}'"
    elif validator == "format":
        yield path, f"Invalid value: {_show(instance)}: must be a valid {error.validator_value}"
    elif validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[str(validator)]
        yield path, f"Invalid value: {_show(instance)}: must be {relation} {error.validator_value}"
    elif validator in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
        yield path, f"Invalid value: {error.message}"
    else:
        yield path, f"Invalid value: {error.message}"


def _show(value: Any) -> str:
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
