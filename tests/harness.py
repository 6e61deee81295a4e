"""Components under the Pulumi SDK's mocks, with no project and no stack file.

As in pulumi/examples ``testing-unit-py``: :func:`run` configures ``set_mocks`` with a
monitor that records every registration, calls a function that builds one component (or a
few), waits for every output and returns what was registered. The mocks are the offline
engine's (realistic ids, ARNs, cluster endpoints, availability zones), so components that
read outputs of their children work as under ``llmops plan``::

    recorded = run(lambda: Network("us-east-1", args, opts=aws_provider("us-east-1")))
    vpc = recorded.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.10.0.0/16", vpc.urn

:func:`capture_aliases` records the ``aliases`` every resource declares, under any monitor
(also the offline engine's), as the URNs they resolve to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pulumi
from pulumi.runtime import Mocks, rpc, settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from llmops.engine.mocks import PlatformMocks, unwrap_secrets

T = TypeVar("T")
STACK_TYPE = "pulumi:pulumi:Stack"


def alias_urns(monitor: Any, request: Any) -> list[str]:
    """The URNs a registration's ``aliases`` stand for, built the way ``monitor`` builds
    URNs (an alias spec names what changed: parent, name or type; the rest is the
    resource's own)."""
    urns = []
    for alias in request.aliases:
        if alias.urn:
            urns.append(alias.urn)
            continue
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        urns.append(monitor.make_urn(parent, spec.type or request.type, spec.name or request.name))
    return urns


@contextlib.contextmanager
def capture_aliases() -> Iterator[dict[str, list[str]]]:
    """Yields a dict that fills, while the block runs, with new URN -> alias URNs for every
    resource registered with ``aliases`` (whatever monitor the runtime is configured with)."""
    captured: dict[str, list[str]] = {}
    original = settings.get_monitor

    class Recording:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def RegisterResource(self, request: Any) -> Any:
            response = self._inner.RegisterResource(request)
            if request.aliases:
                captured[response.urn] = alias_urns(self._inner, request)
            return response

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    def get_monitor() -> Any:
        inner = original()
        return None if inner is None else Recording(inner)

    settings.get_monitor = get_monitor
    try:
        yield captured
    finally:
        settings.get_monitor = original


@dataclass(frozen=True)
class Registration:
    """One registered resource as the engine would see it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    """URN of the resource's provider (None for components and the stack)."""
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]
    """Plain inputs (secret wrappers removed)."""
    outputs: dict[str, Any]
    aliases: tuple[str, ...]
    """URNs the resource's aliases stand for."""
    id: str | None = None
    """The (mock) physical id of a custom resource."""
    secret_inputs: frozenset[str] = frozenset()
    """Top-level inputs sent as secrets."""
    retain_on_delete: bool = False
    """Kept in the cloud when deleted from the stack (``pulumi destroy`` leaves it)."""
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()


def _provider_urn(reference: str) -> str | None:
    """``urn::id`` provider references -> the provider's URN."""
    return reference.rpartition("::")[0] or None if reference else None


class _RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}
        self.component_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        inputs = rpc.deserialize_properties(request.object)
        if request.type.startswith("pulumi:providers:") and isinstance(self.mocks, PlatformMocks):
            self.mocks.register_provider(request.type, f"{response.urn}::{response.id}", unwrap_secrets(inputs))
        secret = frozenset(k for k, v in inputs.items() if isinstance(v, dict) and v.get(rpc._special_sig_key) == rpc._special_secret_sig)
        self.registrations[response.urn] = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=_provider_urn(request.provider),
            dependencies=tuple(sorted(set(request.dependencies))),
            inputs=unwrap_secrets(inputs),
            outputs=unwrap_secrets(rpc.deserialize_properties(response.object)) if request.custom else {},
            aliases=tuple(alias_urns(self, request)),
            id=response.id or None,
            secret_inputs=secret,
            retain_on_delete=bool(getattr(request, "retainOnDelete", False)),
            protect=bool(request.protect),
            ignore_changes=tuple(request.ignoreChanges),
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.component_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


@dataclass
class Recorded(Generic[T]):
    """What :func:`run` built: the function's result and every registration."""

    value: T
    resources: dict[str, Registration]
    registered_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``register_outputs`` of each component, by URN (plain values, outputs resolved)."""

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources.values() if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        """The one resource of ``type_`` (named ``name`` when given)."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}{f' named {name}' if name else ''}, found {[r.urn for r in found]}")
        return found[0]

    def children(self, parent: Registration) -> list[Registration]:
        return [r for r in self.resources.values() if r.parent == parent.urn]

    def outputs_of(self, component: Registration) -> dict[str, Any]:
        """The outputs a component registered (its ``register_outputs``)."""
        return self.registered_outputs[component.urn]


def run(build: Callable[[], T], *, mocks: Mocks | None = None, project: str = "llmops-platform", stack: str = "test") -> Recorded[T]:
    """Runs ``build`` under mocks (no Pulumi project or stack file) and waits for every
    registration and output."""
    monitor = _RecordingMonitor(mocks if mocks is not None else PlatformMocks())
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    holder: list[T] = []

    def body() -> None:
        holder.append(build())

    try:
        _sync_await(run_pulumi_func(body))
    finally:
        settings.set_root_resource(None)  # type: ignore[arg-type]
    outputs = {urn: unwrap_secrets(values) for urn, values in monitor.component_outputs.items()}
    return Recorded(holder[0], dict(monitor.registrations), outputs)


def aws_provider(region: str = "us-east-1", tags: dict[str, str] | None = None) -> pulumi.ResourceOptions:
    """Options that give a component an explicit AWS provider for ``region`` (as
    ``stacks/platform.py`` does)."""
    import pulumi_aws as aws

    provider = aws.Provider(
        f"aws-{region}", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags or {})
    )
    return pulumi.ResourceOptions(providers=[provider])
