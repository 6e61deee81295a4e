"""What the installed provider SDKs declare about a resource or data source, read from
their generated Python classes.

A generated resource class (``pulumi_aws.ec2.Vpc``) declares every output property as a
``@pulumi.getter`` property annotated ``pulumi.Output[T]``; nested values are
``@pulumi.output_type`` classes (``pulumi_aws.eks.outputs.ClusterVpcConfig``) declared the
same way, and a data source's result is a ``Get...Result`` output type. The generator marks
a property ``Optional[T]`` when the provider may leave it null and plain ``T`` when the
provider always returns a value (required or computed), which is exactly what an offline
engine needs to know to answer like the provider.

Everything here is cached per class: the SDK itself resolves the same annotations when it
turns a registration's outputs into Python values, and both share its cache.
"""

from __future__ import annotations

import enum
import functools
import importlib
import inspect
import re
import sys
import typing
from collections import abc
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["str", "int", "float", "bool", "any", "list", "map", "object", "asset"]


@dataclass(frozen=True)
class Shape:
    """The declared type of a value: a scalar, a list or map of shapes, or an output type."""

    kind: Kind
    item: Shape | None = None
    """Element type of a list or map."""
    cls: type | None = None
    """The ``@pulumi.output_type`` class of an object."""
    choices: tuple[Any, ...] = ()
    """Allowed values (``Literal[...]`` or an enum), first one preferred."""


@dataclass(frozen=True)
class Prop:
    """One declared output property."""

    name: str
    """The wire (Pulumi) name, e.g. ``defaultSecurityGroupId``."""
    shape: Shape
    optional: bool
    """``Optional[T]``: the provider may leave it unset."""
    settable: bool
    """The program can set it (it is also an input / an argument)."""


ANY = Shape("any")
_SCALARS: dict[Any, Kind] = {str: "str", int: "int", float: "float", bool: "bool"}


def _getter_names(cls: type) -> dict[str, tuple[str, Any]]:
    """Pulumi name -> (Python name, getter function) of ``cls``'s ``@pulumi.getter`` properties."""
    found: dict[str, tuple[str, Any]] = {}
    for base in reversed(cls.__mro__):
        for python_name, value in base.__dict__.items():
            if isinstance(value, property) and value.fget is not None:
                pulumi_name = getattr(value.fget, "_pulumi_name", None)
                if isinstance(pulumi_name, str):
                    found[pulumi_name] = (python_name, value.fget)
    return found


def _return_hints(cls: type) -> dict[str, Any]:
    """Pulumi name -> the getter's return annotation, before unwrapping. The SDK computes
    (and caches) exactly this when it resolves a resource's outputs; use its cache."""
    from pulumi import _types

    raw = getattr(_types, "_raw_return_hints", None)
    if raw is not None:
        try:
            return dict(raw(cls))
        except Exception:
            pass
    return _own_return_hints(cls)


@functools.cache
def _own_return_hints(cls: type) -> dict[str, Any]:
    import pulumi

    namespace: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        module = sys.modules.get(base.__module__)
        if module is not None:
            namespace.update(vars(module))
    hints: dict[str, Any] = {}
    for pulumi_name, (_, fget) in _getter_names(cls).items():
        try:
            hint = typing.get_type_hints(fget, globalns=namespace, localns={"Output": pulumi.Output}).get("return")
        except Exception:
            hint = None
        hints[pulumi_name] = hint
    return hints


def shape_of(hint: Any) -> tuple[Shape, bool]:
    """``pulumi.Output[Optional[Sequence[X]]]`` -> (list-of-X shape, optional=True)."""
    import pulumi

    if typing.get_origin(hint) is pulumi.Output:
        (hint,) = typing.get_args(hint) or (Any,)
    optional = False
    if typing.get_origin(hint) is typing.Union or _is_union_type(hint):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        hint = members[0] if members else Any  # Union[int, str] (an int-or-string): the first member
    return _shape(hint), optional


def _is_union_type(hint: Any) -> bool:
    import types

    return isinstance(hint, types.UnionType)


def _shape(hint: Any) -> Shape:
    from pulumi import Archive, Asset
    from pulumi._types import is_output_type

    if hint in _SCALARS:
        return Shape(_SCALARS[hint])
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Literal:
        first = args[0] if args else ""
        return Shape(_SCALARS.get(type(first), "str"), choices=tuple(args))
    if origin in (list, abc.Sequence, typing.Sequence, tuple):
        return Shape("list", item=_shape(args[0]) if args else ANY)
    if origin in (dict, abc.Mapping, typing.Mapping):
        return Shape("map", item=_shape(args[1]) if len(args) == 2 else ANY)
    if origin is typing.Union or _is_union_type(hint):
        members = [a for a in args if a is not type(None)]
        return _shape(members[0]) if members else ANY
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            values = tuple(m.value for m in hint)
            return Shape(_SCALARS.get(type(values[0]), "str") if values else "str", choices=values)
        if issubclass(hint, Asset | Archive):
            return Shape("asset")
        if is_output_type(hint):
            return Shape("object", cls=hint)
    return ANY


@functools.cache
def object_props(cls: type, settable: frozenset[str] = frozenset()) -> tuple[Prop, ...]:
    """The declared properties of a resource class or output type, by wire name (sorted)."""
    props = []
    for name, hint in sorted(_return_hints(cls).items()):
        shape, optional = shape_of(hint)
        props.append(Prop(name=name, shape=shape, optional=optional, settable=_norm(name) in settable))
    return tuple(props)


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


@functools.cache
def _input_names(args_cls: type | None) -> frozenset[str]:
    if args_cls is None:
        return frozenset()
    return frozenset(_norm(n) for n in _getter_names(args_cls))


# ---------------------------------------------------------------------- resources
def resource_class(token: str) -> type | None:
    """The SDK class registered for a resource type token (``aws:ec2/vpc:Vpc``), from the
    SDKs' own resource-module registry; ``None`` when no loaded SDK declares it."""
    from pulumi.runtime import rpc

    package, module, _ = _split(token)
    if package is None:
        return None
    if token.startswith("pulumi:providers:"):
        return _provider_class(token.split(":")[2])
    modules = getattr(rpc, "_RESOURCE_MODULES", {})
    for candidate in modules.get(f"{package}:{module}", []):
        info = getattr(candidate, "mod_info", None)
        if not isinstance(info, dict):
            continue
        class_name = info.get("classes", {}).get(token)
        fqn = info.get("fqn")
        if class_name and fqn:
            try:
                return typing.cast(type, getattr(importlib.import_module(fqn), class_name))
            except (ImportError, AttributeError):
                return None
    return None


def _provider_class(package: str) -> type | None:
    module = sys.modules.get(python_package(package))
    provider = getattr(module, "Provider", None) if module is not None else None
    return provider if isinstance(provider, type) else None


def _split(token: str) -> tuple[str | None, str, str]:
    parts = token.split(":")
    if len(parts) != 3:
        return None, "", ""
    return parts[0], parts[1], parts[2]


def python_package(package: str) -> str:
    """``aws`` -> ``pulumi_aws``, ``aws-native`` -> ``pulumi_aws_native``."""
    return "pulumi_" + package.replace("-", "_")


@functools.cache
def resource_props(token: str) -> tuple[Prop, ...] | None:
    """Declared output properties of a resource type, or ``None`` when no SDK declares it."""
    cls = resource_class(token)
    if cls is None:
        return None
    module = sys.modules.get(cls.__module__)
    # Kubernetes names a resource's own arguments ``<Kind>InitArgs`` (``<Kind>Args`` is the
    # nested input type of the same name, status included); the other SDKs ``<Class>Args``.
    args_cls = None
    for suffix in ("InitArgs", "Args"):
        candidate = getattr(module, f"{cls.__name__}{suffix}", None) if module is not None else None
        if isinstance(candidate, type):
            args_cls = candidate
            break
    return object_props(cls, _input_names(args_cls))


# ---------------------------------------------------------------------- data sources
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


@functools.cache
def invoke_props(token: str) -> tuple[Prop, ...] | None:
    """Declared properties of a data source's result (``aws:ec2/getVpc:getVpc`` ->
    ``GetVpcResult``), with the function's arguments marked settable; ``None`` when no
    loaded SDK declares the function."""
    found = _invoke_function(token)
    if found is None:
        return None
    function, result_cls = found
    try:
        params = frozenset(_norm(p) for p in inspect.signature(function).parameters if p != "opts")
    except (TypeError, ValueError):
        params = frozenset()
    return object_props(result_cls, params)


def _invoke_function(token: str) -> tuple[Any, type] | None:
    package, module, function = _split(token)
    if package is None or not function:
        return None
    root = python_package(package)
    area = module.split("/")[0]
    segments = [] if area == "index" else [s for s in re.split(r"[./]", area) if s]
    file = snake(function)
    candidates = []
    for variant in (segments, [s + "_" for s in segments]):
        candidates.append(".".join([root, *variant, file]))
    for name in candidates:
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
        result_cls = getattr(mod, function[0].upper() + function[1:] + "Result", None)
        python_function = getattr(mod, file, None)
        if isinstance(result_cls, type) and python_function is not None:
            return python_function, result_cls
    return None
