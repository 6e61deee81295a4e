"""Serving a pack's analyzer: each resource reaches only the policies that check its type,
and is converted for them once.

The SDK's ``PolicyPack`` converts a resource's properties to Python (and wraps them in its
unknown-checking proxy) once for every resource policy in the pack, and converts every
resource once for every stack policy, so a pack costs resources x policies even when most
policies look at one or two types. :func:`serve` keeps the SDK's analyzer for everything it
does (config, enforcement levels, not-applicable reports, unknown values during preview,
remediation, ``GetAnalyzerInfo``) and changes two things:

- routing: ``Analyze`` for a resource of type T goes to an analyzer holding the resource
  policies that check T (policies of :class:`~policies.common.policy.ResourcePolicy` name
  their types; plain SDK policies see every type); ``AnalyzeStack`` goes to one analyzer per
  typed stack policy, given only the resources of its types (and, where it says which
  types' properties it reads, the others without their properties), and to one analyzer
  holding the stack policies that read everything;
- conversion: within one call, a resource's properties and options are converted once, on
  first use, and each distinct provider once; the same values (read-only to policies: the
  SDK's proxy, which no policy writes to) go to every policy of that call, while each stack
  policy still gets its own ``PolicyResource`` objects, linked to its parents and
  dependencies among the resources it sees, exactly as the SDK builds them. Nothing
  converted outlives the call, so concurrent calls (the gRPC server runs four at a time)
  and successive stacks share nothing. The conversion itself is the SDK's
  (``deserialize_properties``, ``unknown_checking_proxy``) after a ``Struct`` to ``dict``
  step that returns what ``json_format.MessageToDict`` returns, faster.

If the SDK's analyzer class is not where this version expects it, :func:`serve` falls back
to the SDK's own ``PolicyPack`` (same results, slower).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import math
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent import futures
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import grpc
import pulumi.runtime
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from policies.common.policy import properties_of, resource_types_of, type_matches

# The SDK's analyzer servicer and the helpers of it that are used here: not public API, so
# looked up rather than imported.
_SDK_MODULE = importlib.import_module("pulumi_policy.policy")
_SdkAnalyzer: Any = getattr(_SDK_MODULE, "_PolicyAnalyzerServicer", None)
_NotApplicableError: Any = getattr(_SDK_MODULE, "_NotApplicableError", None)
_SDK_HELPERS = (
    "_get_enforcement_level",
    "_create_report_violation",
    "_get_policy_config",
    "_get_resource_options",
    "_get_provider_resource",
    "_map_enforcement_level",
)
SUPPORTED = (
    _SdkAnalyzer is not None
    and _NotApplicableError is not None
    and all(hasattr(_SdkAnalyzer, h) for h in _SDK_HELPERS)
)
"""Whether this version of the policy SDK has what :class:`PackAnalyzer` builds on."""

_MAX_MESSAGE = 400 * 1024 * 1024  # as the SDK's own server
_VERSION = "0.0.1"  # Python packs report this; the CLI uses PulumiPolicy.yaml's version
_UNSET: Any = object()
# Whether the runtime's Settings take an organization (the SDK asks on every call).
_SETTINGS_ORGANIZATION = "organization" in inspect.signature(pulumi.runtime.Settings).parameters


def struct_to_python(message: Any) -> dict[str, Any]:
    """A ``Struct`` as ``json_format.MessageToDict`` returns it (what the SDK's analyzer
    converts), without its per-field descriptor lookups."""
    fields = message.fields
    return {key: _value_to_python(fields[key]) for key in fields}


def _value_to_python(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return struct_to_python(value.struct_value)
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number):
            raise ValueError(
                "Fail to serialize Infinity for Value.number_value, which would parse as string_value"
            )
        if math.isnan(number):
            raise ValueError(
                "Fail to serialize NaN for Value.number_value, which would parse as string_value"
            )
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_value_to_python(item) for item in value.list_value.values]
    return None  # null_value, or not set


@lru_cache(maxsize=4)
def _config_env(text: str) -> Mapping[str, Any]:
    """``PULUMI_CONFIG`` parsed (as ``pulumi.runtime.get_config_env``), once per value."""
    return MappingProxyType(json.loads(text))


class Conversions:
    """The policy-side values of the resources of one call (an ``Analyze`` request, or the
    resources of an ``AnalyzeStack`` request), each converted as the SDK converts it, on
    first use, once. Local to the call that made it."""

    def __init__(self, converter: Any, messages: Sequence[Any]) -> None:
        self._converter = converter  # an SDK analyzer: its option and provider conversions
        self.messages = messages
        size = len(messages)
        self._props: list[Any] = [_UNSET] * size
        self._opts: list[Any] = [_UNSET] * size
        self._provider: list[Any] = [_UNSET] * size
        self._providers: dict[bytes | None, Any] = {}  # by the provider message's bytes

    def props(self, i: int) -> Mapping[str, Any]:
        """The resource's properties behind the SDK's unknown-checking proxy."""
        value = self._props[i]
        if value is _UNSET:
            value = self._props[i] = unknown_checking_proxy(
                deserialize_properties(struct_to_python(self.messages[i].properties))
            )
        return value  # type: ignore[no-any-return]

    def opts(self, i: int) -> Any:
        value = self._opts[i]
        if value is _UNSET:
            value = self._opts[i] = self._converter._get_resource_options(self.messages[i])
        return value

    def provider(self, i: int) -> Any:
        """The resource's provider (converted once per distinct provider of the call)."""
        value = self._provider[i]
        if value is _UNSET:
            message = self.messages[i]
            key = (
                message.provider.SerializeToString(deterministic=True)
                if message.HasField("provider")
                else None
            )
            value = self._providers.get(key, _UNSET)
            if value is _UNSET:
                value = self._providers[key] = self._converter._get_provider_resource(message)
            self._provider[i] = value
        return value

    def stack_resources(
        self, selected: Sequence[int], read: frozenset[str] | None
    ) -> list[PolicyResource]:
        """Fresh ``PolicyResource`` objects for the ``selected`` resources, linked to their
        parent and dependencies among them (as the SDK's ``AnalyzeStack`` builds them); with
        ``read``, resources of other types come without properties."""
        resources: list[PolicyResource] = []
        full: dict[str, bool] = {}
        for i in selected:
            message = self.messages[i]
            if read is None:
                props = self.props(i)
            else:
                reads = full.get(message.type)
                if reads is None:
                    reads = full[message.type] = type_matches(read, message.type)
                props = self.props(i) if reads else unknown_checking_proxy({})
            resources.append(
                PolicyResource(
                    message.type,
                    props,
                    message.urn,
                    message.name,
                    self.opts(i),
                    self.provider(i),
                    None,
                    [],
                    {},
                )
            )
        by_urn = {r.urn: r for r in resources}
        for i, resource in zip(selected, resources, strict=True):
            message = self.messages[i]
            if message.parent in by_urn:
                resource.parent = by_urn[message.parent]
            resource.dependencies.extend(by_urn[d] for d in message.dependencies if d in by_urn)
            for key, value in message.propertyDependencies.items():
                resource.property_dependencies[key] = [by_urn[d] for d in value.urns if d in by_urn]
        return resources


class PackAnalyzer(_SdkAnalyzer if SUPPORTED else object):  # type: ignore[misc]
    """The SDK's analyzer for some of a pack's policies, whose ``Analyze`` and
    ``AnalyzeStack`` convert each resource once for all of its policies (the SDK converts it
    for each). Everything else (config, enforcement levels, not-applicable, unknown values,
    violations as the engine expects them) is the SDK's."""

    def __init__(
        self,
        name: str,
        version: str,
        policies: list[Policy],
        enforcement_level: EnforcementLevel,
        initial_config: Any = None,
        description: str | None = None,
    ) -> None:
        super().__init__(name, version, policies, enforcement_level, initial_config, description)
        self._pack_name, self._pack_version = name, version
        self._policy_list = list(policies)
        self._stack_tags: Mapping[str, str] = MappingProxyType({})

    def ConfigureStack(self, request: Any, context: Any) -> Any:
        response = super().ConfigureStack(request, context)
        self._stack_tags = MappingProxyType(dict(request.tags))
        return response

    def _configure_runtime_settings(self) -> None:
        """As the SDK's (the stack config and runtime settings from the environment, set on
        every call), with the config parsed and the settings' signature read once."""
        text = os.environ.get("PULUMI_CONFIG")
        for key, value in (_config_env(text) if text is not None else {}).items():
            pulumi.runtime.set_config(key, value)
        if (
            "PULUMI_PROJECT" in os.environ
            and "PULUMI_STACK" in os.environ
            and "PULUMI_DRY_RUN" in os.environ
        ):
            settings: dict[str, Any] = {
                "project": os.environ["PULUMI_PROJECT"],
                "stack": os.environ["PULUMI_STACK"],
                "dry_run": os.environ["PULUMI_DRY_RUN"] == "true",
            }
            if _SETTINGS_ORGANIZATION:
                settings["organization"] = os.environ.get("PULUMI_ORGANIZATION", "organization")
            pulumi.runtime.configure(pulumi.runtime.Settings(**settings))

    def Analyze(self, request: Any, context: Any) -> Any:
        self._configure_runtime_settings()
        response = analyzer_pb2.AnalyzeResponse()
        converted = Conversions(self, [request])
        for policy in self._policy_list:
            level = self._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED or not isinstance(
                policy, ResourceValidationPolicy
            ):
                continue
            if not policy.has_validation():
                reason = "Policy does not implement validate"  # a remediation-only policy
                response.not_applicable.append(
                    analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=reason)
                )
                continue
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY  # still violated after remediation
            report_violation = self._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            args = ResourceValidationArgs(
                request.type,
                converted.props(0),
                request.urn,
                request.name,
                converted.opts(0),
                converted.provider(0),
                self._get_policy_config(policy.name),
                self._stack_tags,
            )
            self._validate(policy, args, report_violation, response)
        return response

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        resources = request.resources
        return self.analyze_stack(Conversions(self, resources), range(len(resources)), None)

    def analyze_stack(
        self, converted: Conversions, selected: Sequence[int], read: frozenset[str] | None
    ) -> Any:
        """``AnalyzeStack`` over the ``selected`` resources of ``converted`` (with ``read``,
        the others than those types without their properties)."""
        self._configure_runtime_settings()
        response = analyzer_pb2.AnalyzeResponse()
        for policy in self._policy_list:
            level = self._get_enforcement_level(policy)
            if level == EnforcementLevel.DISABLED or not isinstance(policy, StackValidationPolicy):
                continue
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY  # stack policies cannot remediate
            report_violation = self._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            resources = converted.stack_resources(selected, read)
            args = StackValidationArgs(
                resources, self._get_policy_config(policy.name), self._stack_tags
            )
            self._validate(policy, args, report_violation, response)
        return response

    def _validate(self, policy: Policy, args: Any, report_violation: Any, response: Any) -> None:
        """Runs one policy, reporting unknown values and not-applicable as the SDK does."""
        try:
            result = policy.validate(args, report_violation)  # type: ignore[attr-defined]
            if inspect.isawaitable(result):
                loop = asyncio.new_event_loop()
                task: asyncio.Task[Any] = asyncio.Task(result, loop=loop)  # type: ignore[arg-type]
                loop.run_until_complete(task)
                loop.close()
        except UnknownValueError as exc:
            response.diagnostics.append(
                analyzer_pb2.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=self._pack_name,
                    policyPackVersion=self._pack_version,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack "
                        f"'{self._pack_name}@v{self._pack_version}' during preview: {exc.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=self._map_enforcement_level(EnforcementLevel.ADVISORY),
                )
            )
        except _NotApplicableError as exc:
            response.not_applicable.append(
                analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=exc.reason or "")
            )


class RoutingAnalyzer(analyzer_pb2_grpc.AnalyzerServicer):
    """The ``pulumirpc.Analyzer`` service of a pack, routing calls to analyzers
    (:class:`PackAnalyzer`) that each hold a subset of its policies. Thread-safe (the gRPC
    server calls it concurrently)."""

    def __init__(
        self,
        name: str,
        policies: Sequence[Policy],
        enforcement_level: EnforcementLevel,
        description: str | None = None,
    ) -> None:
        if not SUPPORTED:
            raise RuntimeError("the policy SDK's analyzer class is not available")

        def build(subset: Sequence[Policy]) -> PackAnalyzer:
            return PackAnalyzer(name, _VERSION, list(subset), enforcement_level, None, description)

        self._make = build
        self._policies = list(policies)
        self._everything = self._make(self._policies)
        self._resource_policies = [
            p for p in self._policies if isinstance(p, ResourceValidationPolicy)
        ]
        stack = [p for p in self._policies if isinstance(p, StackValidationPolicy)]
        self._stack_routes: list[
            tuple[frozenset[str] | None, frozenset[str] | None, PackAnalyzer]
        ] = []
        untyped = [p for p in stack if not resource_types_of(p) and properties_of(p) is None]
        if untyped:
            self._stack_routes.append((None, None, self._make(untyped)))
        for policy in stack:
            types, read = resource_types_of(policy), properties_of(policy)
            if types or read is not None:
                self._stack_routes.append((types or None, read, self._make([policy])))
        self._lock = threading.Lock()
        self._by_type: dict[str, PackAnalyzer | None] = {}
        self._by_subset: dict[tuple[int, ...], PackAnalyzer] = {}
        self._configure: Any = None
        self._configure_stack: Any = None

    # ------------------------------------------------------------------ routing
    def _analyzers(self) -> list[PackAnalyzer]:
        return [self._everything, *(a for _, _, a in self._stack_routes), *self._by_subset.values()]

    def _for_type(self, resource_type: str) -> PackAnalyzer | None:
        """The analyzer for one resource type (None when no resource policy checks it)."""
        try:
            return self._by_type[resource_type]
        except KeyError:
            pass
        with self._lock:
            if resource_type in self._by_type:
                return self._by_type[resource_type]
            chosen = tuple(
                i
                for i, p in enumerate(self._resource_policies)
                if (types := resource_types_of(p)) is None or type_matches(types, resource_type)
            )
            analyzer = None
            if chosen:
                analyzer = self._by_subset.get(chosen)
                if analyzer is None:
                    analyzer = self._make([self._resource_policies[i] for i in chosen])
                    if self._configure is not None:
                        analyzer.Configure(self._configure, None)
                    if self._configure_stack is not None:
                        analyzer.ConfigureStack(self._configure_stack, None)
                    self._by_subset[chosen] = analyzer
            self._by_type[resource_type] = analyzer
            return analyzer

    # ------------------------------------------------------------------ service
    def GetAnalyzerInfo(self, request: Any, context: Any) -> Any:
        return self._everything.GetAnalyzerInfo(request, context)

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return self._everything.GetPluginInfo(request, context)

    def Configure(self, request: Any, context: Any) -> Any:
        with self._lock:
            self._configure = request
            for analyzer in self._analyzers():
                response = analyzer.Configure(request, context)
        return response

    def ConfigureStack(self, request: Any, context: Any) -> Any:
        with self._lock:
            self._configure_stack = request
            for analyzer in self._analyzers():
                response = analyzer.ConfigureStack(request, context)
        return response

    def Analyze(self, request: Any, context: Any) -> Any:
        analyzer = self._for_type(request.type)
        if analyzer is None:
            return analyzer_pb2.AnalyzeResponse()
        return analyzer.Analyze(request, context)

    def AnalyzeStack(self, request: Any, context: Any) -> Any:
        resources = request.resources
        converted = Conversions(self._everything, resources)  # shared by every route of this call
        everything = range(len(resources))
        types = [r.type for r in resources]
        response = analyzer_pb2.AnalyzeResponse()
        for wanted, read, analyzer in self._stack_routes:
            selected: Sequence[int] = (
                everything
                if wanted is None
                else [i for i, t in enumerate(types) if type_matches(wanted, t)]
            )
            part = analyzer.analyze_stack(converted, selected, read)
            response.diagnostics.extend(part.diagnostics)
            response.not_applicable.extend(part.not_applicable)
        return response

    def Remediate(self, request: Any, context: Any) -> Any:
        return self._everything.Remediate(request, context)


def serve(
    name: str, description: str, policies: list[Policy], enforcement_level: EnforcementLevel
) -> None:
    """Serves the pack's analyzer on a free local port, prints the port (what the engine
    reads) and blocks, as ``PolicyPack`` does."""
    if not SUPPORTED:  # pragma: no cover - depends on the installed SDK
        PolicyPack(
            name=name,
            description=description,
            policies=policies,
            enforcement_level=enforcement_level,
        )
        return
    servicer = RoutingAnalyzer(name, policies, enforcement_level, description)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.max_receive_message_length", _MAX_MESSAGE)],
    )
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    server.wait_for_termination()
