"""Outputs from declared types: what a provider returns for the properties a program did not
set, derived from the SDK's declaration of each property (:mod:`llmops.engine.schema`) and
the formats in :mod:`llmops.engine.formats`.

The rule follows what the generated SDKs encode: a property declared ``T`` (not
``Optional[T]``) always has a value after a create, so it gets one; a property the program
can set but left unset, declared ``Optional[T]``, stays unset, as the provider leaves it; a
property only the provider sets (not an argument) always gets one. Values come from the
property's name where it says what it holds (an ARN, an id with its prefix, an endpoint, a
zone, a time...), else a recognisable stand-in of the declared type (a computed default the
program could have set gets the type's zero value: ``""``, ``0``, ``false``, ``[]``).
"""

from __future__ import annotations

from typing import Any

from llmops.engine.formats import (
    MISSING,
    Subject,
    availability_zones,
    digest,
    kebab,
    private_ip,
    public_ip,
    semantic,
)
from llmops.engine.schema import Prop, Shape, object_props

MAX_DEPTH = 4
# Computed ids a provider fills in nested blocks the program passed (``vpcConfig.vpcId``).
_NESTED_COMPUTED = frozenset({"vpcId", "clusterSecurityGroupId", "associationId", "networkInterfaceId", "allocationId"})


def synthesize(props: tuple[Prop, ...], given: dict[str, Any], subject: Subject, defaulted: list[str] | None = None) -> dict[str, Any]:
    """``given`` (echoed) completed with a value for every property a provider would set.
    Names of the properties that got a generated value are appended to ``defaulted``."""
    out = dict(given)
    for prop in props:
        name = prop.name
        if name in given:
            value = given[name]
            completed = _complete(prop.shape, value, subject, name, 1)
            if completed is not value:
                out[name] = completed
            continue
        if prop.optional and prop.settable:
            continue
        value = _value(prop, subject, name, top_level=True, depth=1)
        if value is not MISSING:
            out[name] = value
            if defaulted is not None:
                defaulted.append(name)
    return out


def _value(prop: Prop, subject: Subject, path: str, *, top_level: bool, depth: int) -> Any:
    shape = prop.shape
    zero = prop.settable and not prop.optional  # a computed default the program could have set
    if zero and _names_another_resource(prop.name):
        # A reference the program left out (a route's instanceId next to its natGatewayId, an
        # instance's kmsKeyId): AWS reports it empty, not as some other resource.
        return [] if shape.kind == "list" else _zero(shape) if shape.kind in ("str", "int", "float", "bool") else MISSING
    if shape.kind in ("str", "int", "float", "bool"):
        found = semantic(subject, prop.name, shape.kind, path, top_level)
        if found is not MISSING:
            return found
        if shape.choices:
            return shape.choices[0]
        if zero and shape.kind == "bool":
            # A flag the program could set but did not: its default is the provider's to pick
            # (rotation "defaults to enabled when rules are configured"), so it stays unknown,
            # as in `pulumi preview`, rather than a guess that reads as the program's choice.
            return MISSING
        return _zero(shape) if zero else _stand_in(shape, prop.name, subject, path)
    if shape.kind == "list":
        return [] if zero else _list(prop.name, shape.item or Shape("any"), subject, path, depth)
    if shape.kind == "map":
        return {}
    if shape.kind == "object" and shape.cls is not None:
        # A configuration block the program did not write: the provider's default block, its
        # required fields at their zero values.
        return _complete(shape, {}, subject, path, depth) if zero else _object(shape.cls, subject, path, depth)
    return MISSING


def _names_another_resource(name: str) -> bool:
    """``natGatewayId``, ``kmsKeyArn``, ``securityGroupIds``: a property naming another resource."""
    if name in ("id", "arn") or name.startswith(("availabilityZone", "owner", "account")):
        return False  # where the resource is and whose it is, not a reference
    return name.endswith(("Id", "ID", "Ids", "IDs", "Arn", "Arns"))


def _zero(shape: Shape) -> Any:
    return {"str": "", "int": 0, "float": 0.0, "bool": False}[shape.kind]


def _stand_in(shape: Shape, name: str, subject: Subject, path: str) -> Any:
    if shape.kind == "str":
        return f"{kebab(name)}-{digest(subject.token, subject.logical, path, length=8)}"
    if shape.kind == "int":
        return 1
    if shape.kind == "float":
        return 1.0
    return False


def _list(name: str, item: Shape, subject: Subject, path: str, depth: int) -> list[Any]:
    n = name.lower()
    seed = (subject.token, subject.logical, path)
    if item.kind == "str":
        if n in ("availabilityzones", "azs", "names") and subject.module in ("index", "ec2") and "zone" in subject.kind.lower():
            return list(availability_zones(subject.region))
        if n == "availabilityzones":
            return list(availability_zones(subject.region))
        if n == "nameservers":
            return [f"ns-{int(digest(*seed, str(i), length=3), 16) % 2048}.awsdns-{int(digest(*seed, str(i), length=2), 16) % 64:02d}.{tld}" for i, tld in enumerate(("com", "net", "org", "co.uk"))]
        if name.endswith(("Ids", "IDs")) or n == "ids":
            stem = name[:-3] if name.endswith(("Ids", "IDs")) else subject.kind.removeprefix("Get")
            count = len(availability_zones(subject.region)) if "subnet" in (stem.lower() or subject.kind.lower()) else 1
            found = [semantic(subject, f"{stem[:1].lower()}{stem[1:]}Id" if stem else "id", "str", f"{path}[{i}]", False) for i in range(count)]
            return [v for v in found if v is not MISSING] or [f"{kebab(stem) or 'id'}-{digest(*seed, str(i))}" for i in range(count)]
        if name.endswith("Arns"):
            found = semantic(subject, name[:-1], "str", f"{path}[0]", False)
            return [found] if found is not MISSING else []
        if name.endswith(("Ips", "IPs", "Addresses")):
            return [private_ip(*seed) if "private" in n else public_ip(*seed)]
        if n in ("cidrblocks",):
            return ["10.0.0.0/16"]
        return []
    if item.kind == "object" and item.cls is not None and depth < MAX_DEPTH:
        element = _object(item.cls, subject, f"{path}[0]", depth + 1)
        return [element] if element is not MISSING else []
    return []


def _object(cls: type, subject: Subject, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        return MISSING
    out: dict[str, Any] = {}
    for prop in object_props(cls):
        nested_path = f"{path}.{prop.name}"
        kind = prop.shape.kind
        if kind in ("str", "int", "float", "bool"):
            value = semantic(subject, prop.name, kind, nested_path, False)
            if value is MISSING:
                value = prop.shape.choices[0] if prop.shape.choices else _stand_in(prop.shape, prop.name, subject, nested_path)
        elif prop.optional:
            continue  # nested optional blocks and lists stay empty
        elif kind == "list":
            value = _list(prop.name, prop.shape.item or Shape("any"), subject, nested_path, depth)
        elif kind == "map":
            value = {}
        elif kind == "object" and prop.shape.cls is not None:
            value = _object(prop.shape.cls, subject, nested_path, depth + 1)
        else:
            continue
        if value is not MISSING:
            out[prop.name] = value
    return out


def _coerce(kind: str, value: Any) -> Any:
    """A scalar the program passed, in the type the provider's schema stores it as: Terraform
    providers read ``"true"`` into a bool and ``"2"`` into a number (and the SDK's result
    classes check the type), so the echoed value takes the declared type. Values that do
    not convert stay as given."""
    if isinstance(value, bool):
        return ("true" if value else "false") if kind == "str" else value
    if kind == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "int" and isinstance(value, str | float):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else value
    if kind == "float" and isinstance(value, str | int):
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "str" and isinstance(value, int | float):
        return str(value)
    return value


def _complete(shape: Shape, value: Any, subject: Subject, path: str, depth: int) -> Any:
    """A value the program passed, with the fields a provider computes inside it filled in
    (non-optional fields it left out, and computed ids such as ``vpcConfig.vpcId``)."""
    if depth > MAX_DEPTH:
        return value
    if shape.kind in ("str", "int", "float", "bool"):
        return _coerce(shape.kind, value)
    if shape.kind == "list" and isinstance(value, list) and shape.item is not None and shape.item.kind == "object":
        completed = [_complete(shape.item, v, subject, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        return completed if any(c is not v for c, v in zip(completed, value, strict=True)) else value
    if shape.kind != "object" or shape.cls is None or not isinstance(value, dict):
        return value
    added: dict[str, Any] = {}
    for prop in object_props(shape.cls):
        if prop.name in value:
            if prop.shape.kind in ("str", "int", "float", "bool"):
                coerced = _coerce(prop.shape.kind, value[prop.name])
                if coerced is not value[prop.name]:
                    added[prop.name] = coerced
            continue
        nested_path = f"{path}.{prop.name}"
        if prop.name in _NESTED_COMPUTED:
            found = semantic(subject, prop.name, prop.shape.kind, nested_path, False)
            if found is not MISSING:
                added[prop.name] = found
        elif not prop.optional and prop.shape.kind in ("str", "int", "float", "bool"):
            found = MISSING if _names_another_resource(prop.name) else semantic(subject, prop.name, prop.shape.kind, nested_path, False)
            added[prop.name] = found if found is not MISSING else _zero(prop.shape)
        elif not prop.optional and prop.shape.kind == "list":
            added[prop.name] = []
        elif not prop.optional and prop.shape.kind == "map":
            added[prop.name] = {}
        elif not prop.optional and prop.shape.kind == "object":
            added[prop.name] = _complete(prop.shape, {}, subject, nested_path, depth + 1)
    if not added:
        return value
    return {**value, **added}

