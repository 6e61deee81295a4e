"""What the Pulumi engine sends an analyzer, built from the offline engine's records.

:class:`AnalyzerResource` is the engine-neutral description of one resource (the same
fields the engine's ``AnalyzeRequest`` / ``AnalyzerResource`` messages carry);
:func:`from_plan` builds them from a :class:`~llmops.engine.PlanResult` and
:func:`analyze_request` / :func:`stack_resource` turn them into the protobuf messages
(:func:`messages`: both for every resource of a stack, each provider built once).
Values are marshalled as the engine marshals them: secrets keep their signature wrapper,
unknowns become the engine's unknown sentinel, assets their signature objects, and nested
provider config stays JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a value not known until the update runs."""
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class ProviderRef:
    """The provider of a resource, as an analyzer sees it."""

    urn: str
    type: str
    name: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class AnalyzerResource:
    """One resource as the engine hands it to ``Analyze`` (inputs) and ``AnalyzeStack`` (state)."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    """Properties sent to ``Analyze`` (the resource's inputs)."""
    state: Mapping[str, Any]
    """Properties sent to ``AnalyzeStack`` (the resource's outputs; its inputs when it has none)."""
    provider: ProviderRef | None = None
    parent: str | None = None
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    protect: bool = False
    ignore_changes: Sequence[str] = ()
    delete_before_replace: bool | None = None


def _special(value: Any) -> Any:
    """A value that is not JSON data (unknowns, assets, resources) as the engine marshals it."""
    from pulumi import Archive, Asset, Resource
    from pulumi.runtime import rpc

    if value is rpc.UNKNOWN or isinstance(value, Resource):
        return UNKNOWN_STRING
    if isinstance(value, Asset | Archive):
        from pulumi_policy.deserialize import serialize_properties

        return serialize_properties({"v": value})["v"]
    return str(value)


def to_wire(value: Any) -> Any:
    """A deserialized SDK value -> the JSON-compatible form the engine puts in a ``Struct``."""
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return _special(value)


def _fill(target: struct_pb2.Value, value: Any) -> None:
    """Sets ``target`` to ``value`` as ``Struct.update(to_wire(...))`` would, in one pass."""
    if isinstance(value, dict):
        target.struct_value.Clear()  # present even when empty
        fields = target.struct_value.fields
        for k, v in value.items():
            _fill(fields[str(k)], v)
    elif isinstance(value, list | tuple):
        target.list_value.Clear()
        values = target.list_value.values
        for v in value:
            _fill(values.add(), v)
    elif value is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, int | float):
        target.number_value = float(value)
    else:
        special = _special(value)
        if isinstance(special, str):
            target.string_value = special
        else:  # an asset or archive: its signature object, as the SDK serializes it
            target.struct_value.Clear()
            target.struct_value.update(special)


def struct(properties: Mapping[str, Any]) -> struct_pb2.Struct:
    """``properties`` as the ``Struct`` the engine sends (see :func:`to_wire`)."""
    message = struct_pb2.Struct()
    fields = message.fields
    for key, value in properties.items():
        _fill(fields[str(key)], value)
    return message


def _provider(ref: ProviderRef) -> analyzer_pb2.AnalyzerProviderResource:
    return analyzer_pb2.AnalyzerProviderResource(
        type=ref.type, urn=ref.urn, name=ref.name, properties=struct(ref.properties)
    )


def _options(resource: AnalyzerResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=bool(resource.delete_before_replace),
        deleteBeforeReplaceDefined=resource.delete_before_replace is not None,
        parent=resource.parent or "",
    )


def analyze_request(
    resource: AnalyzerResource,
    providers: dict[str, Any] | None = None,
    *,
    properties: struct_pb2.Struct | None = None,
    options: analyzer_pb2.AnalyzerResourceOptions | None = None,
) -> analyzer_pb2.AnalyzeRequest:
    """The ``Analyze`` request for one resource (``providers`` caches provider messages;
    ``properties`` and ``options``, when given, are the resource's already built)."""
    request = analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        urn=resource.urn,
        name=resource.name,
        properties=properties if properties is not None else struct(resource.inputs),
        options=options if options is not None else _options(resource),
    )
    if resource.provider is not None:
        request.provider.CopyFrom(_cached_provider(resource.provider, providers))
    return request


def stack_resource(
    resource: AnalyzerResource,
    providers: dict[str, Any] | None = None,
    *,
    properties: struct_pb2.Struct | None = None,
    options: analyzer_pb2.AnalyzerResourceOptions | None = None,
) -> analyzer_pb2.AnalyzerResource:
    """The ``AnalyzeStack`` entry for one resource (arguments as :func:`analyze_request`)."""
    message = analyzer_pb2.AnalyzerResource(
        type=resource.type,
        urn=resource.urn,
        name=resource.name,
        properties=properties if properties is not None else struct(resource.state),
        options=options if options is not None else _options(resource),
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
    )
    if resource.provider is not None:
        message.provider.CopyFrom(_cached_provider(resource.provider, providers))
    for key, urns in resource.property_dependencies.items():
        message.propertyDependencies[key].urns.extend(urns)
    return message


def messages(
    resources: Sequence[AnalyzerResource],
) -> tuple[list[analyzer_pb2.AnalyzeRequest], list[analyzer_pb2.AnalyzerResource]]:
    """The ``Analyze`` request of each resource and the ``AnalyzeStack`` entries, built
    together: each provider once, each resource's options once, and its properties once
    when its state is its inputs (a resource without recorded outputs)."""
    providers: dict[str, Any] = {}
    requests: list[analyzer_pb2.AnalyzeRequest] = []
    stack: list[analyzer_pb2.AnalyzerResource] = []
    for resource in resources:
        options = _options(resource)
        inputs = struct(resource.inputs)
        state = inputs if resource.state is resource.inputs else struct(resource.state)
        requests.append(analyze_request(resource, providers, properties=inputs, options=options))
        stack.append(stack_resource(resource, providers, properties=state, options=options))
    return requests, stack


def _cached_provider(
    ref: ProviderRef, cache: dict[str, Any] | None
) -> analyzer_pb2.AnalyzerProviderResource:
    if cache is None:
        return _provider(ref)
    message = cache.get(ref.urn)
    if message is None:
        message = cache[ref.urn] = _provider(ref)
    return message


# --------------------------------------------------------------------------- from a plan


def _default_provider(
    package: str, stack: str, project: str, config: Mapping[str, str]
) -> ProviderRef:
    """The default provider the engine would create for ``package``: its props are the
    stack's ``<package>:*`` config values (nested values stay JSON text)."""
    prefix = f"{package}:"
    props = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
    return ProviderRef(
        urn=f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::default",
        type=f"pulumi:providers:{package}",
        name="default",
        properties=props,
    )


def _provider_props(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Provider inputs as the engine passes them: nested values as JSON text."""
    return {k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in inputs.items()}


def from_plan(result: Any) -> list[AnalyzerResource]:
    """The analyzer view of every resource an offline plan recorded (the stack first)."""
    records = result.resources
    by_urn = {r.urn: r for r in records}
    providers: dict[str, ProviderRef] = {}
    defaults: dict[str, ProviderRef] = {}
    for r in records:
        if r.type.startswith("pulumi:providers:"):
            providers[r.urn] = ProviderRef(r.urn, r.type, r.name, _provider_props(r.inputs))
    resources: list[AnalyzerResource] = []
    for r in sorted(records, key=lambda rec: (rec.type != STACK_TYPE, rec.urn)):
        provider: ProviderRef | None = None
        if r.provider is not None:
            provider = providers.get(r.provider)
            if provider is None and r.provider in by_urn:
                p = by_urn[r.provider]
                provider = ProviderRef(p.urn, p.type, p.name, _provider_props(p.inputs))
        elif r.custom and not r.type.startswith("pulumi:"):
            package = r.type.split(":", 1)[0]
            provider = defaults.get(package)
            if provider is None:
                provider = defaults[package] = _default_provider(
                    package, result.stack, result.project, result.config.values
                )
        resources.append(
            AnalyzerResource(
                urn=r.urn,
                type=r.type,
                name=r.name,
                inputs=r.inputs,
                state=r.outputs or r.inputs,
                provider=provider,
                parent=r.parent,
                dependencies=tuple(r.dependencies),
                property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
                protect=r.protect,
                ignore_changes=tuple(r.ignore_changes),
                delete_before_replace=r.delete_before_replace or None,
            )
        )
    return resources
