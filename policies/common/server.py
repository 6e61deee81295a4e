"""Serving a pack's analyzer: each resource reaches only the policies that check its type.

The SDK's ``PolicyPack`` converts a resource's properties to Python (and wraps them in its
unknown-checking proxy) once for every resource policy in the pack, and converts every
resource once for every stack policy, so a pack costs resources x policies even when most
policies look at one or two types. :func:`serve` keeps the SDK's analyzer for everything it
does (config, enforcement levels, not-applicable reports, unknown values during preview,
remediation, ``GetAnalyzerInfo``) and only routes:

- ``Analyze`` for a resource of type T goes to an SDK analyzer holding the resource
  policies that check T (policies of :class:`~policies.common.policy.ResourcePolicy` name
  their types; plain SDK policies see every type);
- ``AnalyzeStack`` goes to one SDK analyzer per typed stack policy, given only the resources
  of its types (and, where it says which types' properties it reads, the others without
  their properties), and to one analyzer holding the stack policies that read everything.

If the SDK's analyzer class is not where this version expects it, :func:`serve` falls back
to the SDK's own ``PolicyPack`` (same results, slower).
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import Any

import grpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from policies.common.policy import properties_of, resource_types_of, type_matches

# The SDK's analyzer servicer: not public API, so looked up rather than imported.
_SdkAnalyzer: Any = getattr(
    importlib.import_module("pulumi_policy.policy"), "_PolicyAnalyzerServicer", None
)

_MAX_MESSAGE = 400 * 1024 * 1024  # as the SDK's own server
_VERSION = "0.0.1"  # Python packs report this; the CLI uses PulumiPolicy.yaml's version


class RoutingAnalyzer(analyzer_pb2_grpc.AnalyzerServicer):
    """The ``pulumirpc.Analyzer`` service of a pack, routing calls to SDK analyzers that
    each hold a subset of its policies. Thread-safe (the gRPC server calls it concurrently)."""

    def __init__(
        self,
        name: str,
        policies: Sequence[Policy],
        enforcement_level: EnforcementLevel,
        description: str | None = None,
        make: Callable[..., Any] | None = None,
    ) -> None:
        factory: Callable[..., Any] | None = make or _SdkAnalyzer
        if factory is None:
            raise RuntimeError("the policy SDK's analyzer class is not available")

        def build(subset: Sequence[Policy]) -> Any:
            return factory(name, _VERSION, list(subset), enforcement_level, None, description)

        self._make: Callable[[Sequence[Policy]], Any] = build
        self._policies = list(policies)
        self._everything = self._make(self._policies)
        self._resource_policies = [
            p for p in self._policies if isinstance(p, ResourceValidationPolicy)
        ]
        stack = [p for p in self._policies if isinstance(p, StackValidationPolicy)]
        self._stack_routes: list[tuple[frozenset[str] | None, frozenset[str] | None, Any]] = []
        untyped = [p for p in stack if not resource_types_of(p) and properties_of(p) is None]
        if untyped:
            self._stack_routes.append((None, None, self._make(untyped)))
        for policy in stack:
            types, read = resource_types_of(policy), properties_of(policy)
            if types or read is not None:
                self._stack_routes.append((types or None, read, self._make([policy])))
        self._lock = threading.Lock()
        self._by_type: dict[str, Any] = {}
        self._by_subset: dict[tuple[int, ...], Any] = {}
        self._configure: Any = None
        self._configure_stack: Any = None

    # ------------------------------------------------------------------ routing
    def _analyzers(self) -> list[Any]:
        return [self._everything, *(a for _, _, a in self._stack_routes), *self._by_subset.values()]

    def _for_type(self, resource_type: str) -> Any:
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
        response = analyzer_pb2.AnalyzeResponse()
        for types, read, analyzer in self._stack_routes:
            if types is None and read is None:
                part = analyzer.AnalyzeStack(request, context)
            else:
                resources = [
                    r for r in request.resources if types is None or type_matches(types, r.type)
                ]
                if read is not None:
                    resources = [
                        r if type_matches(read, r.type) else _without_properties(r)
                        for r in resources
                    ]
                part = analyzer.AnalyzeStack(
                    analyzer_pb2.AnalyzeStackRequest(resources=resources), context
                )
            response.diagnostics.extend(part.diagnostics)
            response.not_applicable.extend(part.not_applicable)
        return response

    def Remediate(self, request: Any, context: Any) -> Any:
        return self._everything.Remediate(request, context)


def _without_properties(resource: Any) -> Any:
    """An ``AnalyzerResource`` with everything but its properties."""
    slim = analyzer_pb2.AnalyzerResource()
    slim.CopyFrom(resource)
    slim.ClearField("properties")
    return slim


def serve(
    name: str, description: str, policies: list[Policy], enforcement_level: EnforcementLevel
) -> None:
    """Serves the pack's analyzer on a free local port, prints the port (what the engine
    reads) and blocks, as ``PolicyPack`` does."""
    if _SdkAnalyzer is None:  # pragma: no cover - depends on the installed SDK
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
