"""The offline engine: runs a Pulumi Python program under the SDK's mock runtime and
records every resource the way the Pulumi engine would see it in ``pulumi preview``.

The program is the very same ``__main__.py`` that ``pulumi up`` runs, executed inside the
SDK's own ``run_in_stack`` (so the root ``pulumi:pulumi:Stack`` resource and stack exports
behave as in a real run) as a preview (``pulumi.runtime.is_dry_run()`` is true), with a
monitor that records type, name, URN, parent, provider, dependencies and inputs of each
registration, and every read (``Resource.get``, ``StackReference``).

Each run is isolated: the program's own modules are imported afresh (and dropped again
afterwards), and the SDK's process-wide settings, config and root resource are reset.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import json
import logging
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import LlmopsError
from llmops.engine.errors import (
    ProgramError,
    data_source_call_site,
    defaults_note,
    engine_fault,
    missing_module_message,
    program_location,
    project_error,
)
from llmops.engine.mocks import DEFAULT_REGION, PlatformMocks, unwrap_secrets
from llmops.engine.project import Project, StackConfig, load_project, load_stack_config

__all__ = ["STACK_TYPE", "PlanResult", "ProgramError", "ResourceRecord", "plan", "run_program"]

STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
_RUN_LOCK = threading.Lock()  # the SDK's runtime settings are process-global
_EVENT_LOOPS: list[asyncio.AbstractEventLoop] = []


def _thread_event_loop() -> asyncio.AbstractEventLoop:
    """The calling thread's event loop, created (and remembered, to be closed at exit) when
    the thread has none. The SDK's gRPC-side code needs one in every worker thread; loops it
    creates itself are never closed and complain from their finalizers at interpreter exit."""
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _EVENT_LOOPS.append(loop)
        return loop


@atexit.register
def _close_event_loops() -> None:
    for loop in _EVENT_LOOPS:
        if not loop.is_running() and not loop.is_closed():
            loop.close()


@dataclass
class ResourceRecord:
    """One registered (or read) resource, as the engine recorded it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    """URN of the provider resource (``None`` for components and the stack)."""
    providers: dict[str, str]
    """Package -> provider URN, as passed to a component."""
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    """Inputs as sent by the SDK; secret values keep the SDK's secret wrapper."""
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    region: str | None = None
    protect: bool = False
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    version: str = ""
    mode: str = "create"
    """``create`` for a registration, ``read`` for ``Resource.get`` and stack references."""
    defaulted: list[str] = field(default_factory=list)
    """Output properties whose value the engine made up (the provider would compute them)."""


@dataclass
class PlanResult:
    """What a program run produced."""

    project: str
    stack: str
    program_dir: Path
    resources: list[ResourceRecord]
    """Resources the program registers (it would create them), sorted by URN."""
    outputs: dict[str, Any]
    config: StackConfig
    unmocked_calls: list[str]
    """Data sources answered with defaults: no rule knows them, so their result came from
    their declared result type alone."""
    reads: list[ResourceRecord] = field(default_factory=list)
    """Existing resources the program reads (``Resource.get``, ``StackReference``)."""
    data_sources: dict[str, int] = field(default_factory=dict)
    """Data source token -> number of calls."""

    @property
    def regions(self) -> list[str]:
        return sorted({r.region for r in self.resources if r.region})

    def by_urn(self) -> dict[str, ResourceRecord]:
        return {r.urn: r for r in self.resources}


def _provider_urn(ref: str) -> str | None:
    """``urn::id`` provider references -> the provider's URN."""
    if not ref:
        return None
    urn, _, _ = ref.rpartition("::")
    return urn or ref


async def _wait_for_rpcs_batched(await_all_outstanding_tasks: bool = True) -> None:
    """The SDK's ``wait_for_rpcs`` with one change: pending outputs are awaited together
    (``FIRST_EXCEPTION``) instead of one wake-up per completed output (``FIRST_COMPLETED``),
    which re-registers a callback on every pending task each time and so grows with the
    square of the number of outputs. Same results, same error propagation: the loop still
    repeats until no RPC or output is left, and the first failure is raised."""
    from pulumi.runtime import settings as runtime_settings

    rpc_manager = runtime_settings._get_rpc_manager()
    outputs_settings = runtime_settings.SETTINGS
    while True:
        while rpc_manager.rpcs:
            await asyncio.sleep(0)
            try:
                await rpc_manager.rpcs.pop()
            except Exception as exn:
                if rpc_manager.unhandled_exception is not None:
                    raise exn from rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
                raise
        if rpc_manager.unhandled_exception is not None:
            raise rpc_manager.unhandled_exception.with_traceback(rpc_manager.exception_traceback)
        if await_all_outstanding_tasks:
            while True:
                with outputs_settings.lock:
                    if not outputs_settings.outputs:
                        break
                    pending = list(outputs_settings.outputs)
                    outputs_settings.outputs.clear()
                done, not_done = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
                for task in done:
                    await task
                if not_done:
                    with outputs_settings.lock:
                        outputs_settings.outputs.update(not_done)
        if not rpc_manager.rpcs:
            break


@contextlib.contextmanager
def _batched_output_waits() -> Iterator[None]:
    """Installs :func:`_wait_for_rpcs_batched` for one run, if the SDK has the expected shape."""
    from pulumi.runtime import stack as runtime_stack

    original = getattr(runtime_stack, "wait_for_rpcs", None)
    settings = getattr(runtime_stack, "SETTINGS", None)
    compatible = (
        original is not None
        and hasattr(runtime_stack, "_get_rpc_manager")
        and isinstance(getattr(settings, "outputs", None), set)
        and hasattr(settings, "lock")
    )
    if compatible:
        runtime_stack.wait_for_rpcs = _wait_for_rpcs_batched
    try:
        yield
    finally:
        if compatible:
            runtime_stack.wait_for_rpcs = original  # type: ignore[assignment]


GC_THRESHOLD = (50_000, 20, 100)
"""The collector's thresholds while a program runs (CPython's default: 700, 10, 10)."""


@contextlib.contextmanager
def _relaxed_gc() -> Iterator[None]:
    """Fewer garbage collections for one run. A plan allocates millions of small objects that
    live until it ends (registrations, outputs, futures); under CPython's default thresholds
    the collector ran a full collection over the whole heap, the imported SDKs included,
    every few thousand registrations: close to half of a 30-region plan's time. For the run,
    what was imported before it is frozen (never scanned) and the youngest generation is
    collected every 50,000 allocations instead of 700; both are restored afterwards.
    Collection still runs, so a program that makes cycles in a loop stays bounded."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


@contextlib.contextmanager
def _without_stack_traces() -> Iterator[None]:
    """Skips the SDK's capture of a stack trace per registration for one run: it walks and
    reads the source of every frame to tell the Pulumi engine where a resource was declared,
    which the recording monitor never uses (about a tenth of a large plan's time)."""
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.proto import source_pb2

    original = getattr(runtime_resource, "_get_stack_trace", None)
    if original is None:
        yield
        return
    runtime_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = original


def _disabled_default_providers(values: dict[str, str]) -> frozenset[str]:
    """Packages named in ``pulumi:disable-default-providers`` (``*`` means all)."""
    raw = values.get("pulumi:disable-default-providers")
    if not raw:
        return frozenset()
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = [raw]
    return frozenset(str(p) for p in (parsed if isinstance(parsed, list) else [parsed]))


# Multi-language components: a provider plugin builds their children, so they cannot run
# offline. What to use instead, by package.
_REMOTE_ALTERNATIVES = {
    "kubernetes": "use kubernetes.helm.v3.Release for charts and kubernetes.yaml.ConfigFile (v1) for manifests",
    "eks": "build the cluster from pulumi_aws resources (aws.eks.Cluster, aws.eks.NodeGroup)",
    "awsx": "use the pulumi_aws resources the component wraps (aws.ec2.Vpc, aws.lb.LoadBalancer, aws.ecs.Service...)",
}


def remote_component_message(type_: str, name: str) -> str:
    package = type_.split(":", 1)[0]
    hint = _REMOTE_ALTERNATIVES.get(package, f"use the resources of the {package} package that it creates")
    return (
        f"'{name}' ({type_}) is a multi-language component: the {package} provider plugin creates its children, "
        f"and the offline engine runs no provider plugins, so it cannot plan it. To plan this program offline, {hint}."
    )


def _plain(value: Any) -> bool:
    """Only JSON values (what a protobuf Struct holds without the SDK's help)."""
    if isinstance(value, str | bool | int | float) or value is None:
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def _struct(state: dict[str, Any]) -> Any:
    """``state`` as the protobuf Struct the SDK's ``serialize_properties`` would build: a
    direct conversion for plain JSON values (top-level ``None`` left out, as the SDK does),
    the SDK's own serializer for anything else (assets, resources, outputs)."""
    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc
    from pulumi.runtime.sync_await import _sync_await

    if _plain(state):
        struct = struct_pb2.Struct()
        struct.update({k: v for k, v in state.items() if v is not None})
        return struct
    return _sync_await(rpc.serialize_properties(state, {}))


def _make_monitor(
    mocks: PlatformMocks,
    disabled_defaults: frozenset[str] = frozenset(),
    stack_references: Mapping[str, Mapping[str, Any]] | None = None,
) -> Any:
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.proto import resource_pb2

    references = dict(stack_references or {})

    class RecordingMonitor(MockMonitor):
        """A mock monitor that keeps what the engine would know about each registration."""

        def __init__(self) -> None:
            super().__init__(mocks)
            self.records: dict[str, ResourceRecord] = {}
            self.stack_outputs: dict[str, Any] = {}

        def RegisterResource(self, request: Any) -> Any:
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == STACK_TYPE:
                self.records[urn] = ResourceRecord(
                    urn=urn, type=request.type, name=request.name, custom=False, parent=None,
                    provider=None, providers={}, dependencies=[], property_dependencies={}, inputs={},
                )
                return resource_pb2.RegisterResourceResponse(urn=urn)
            _thread_event_loop()
            if request.remote:
                raise ProgramError(remote_component_message(request.type, request.name))
            package = request.type.split(":")[0]
            if (
                request.custom
                and not request.provider
                and package != "pulumi"
                and ({package, "*"} & disabled_defaults)
            ):
                raise ProgramError(
                    f"Default provider for '{package}' disabled. '{urn}' must use an explicit provider "
                    "(pass opts=pulumi.ResourceOptions(provider=...) or a parent with providers=[...])"
                )
            inputs = rpc.deserialize_properties(request.object)
            if not request.custom:  # a component: its outputs are what it registers
                response_id, state, defaulted = "", dict(unwrap_secrets(inputs)), []
            else:
                response = mocks.respond(request.type, request.name, inputs, request.provider or None, request.importId or None)
                response_id, state, defaulted = response.id, response.state, response.defaulted
                if request.type.startswith("pulumi:providers:"):
                    mocks.register_provider(request.type, f"{urn}::{response_id}", state)
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, response_id, state)
            self.records[urn] = ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                provider=_provider_urn(request.provider),
                providers={k: _provider_urn(v) or v for k, v in request.providers.items()},
                dependencies=sorted(set(request.dependencies)),
                property_dependencies={
                    k: sorted(set(v.urns)) for k, v in request.propertyDependencies.items() if v.urns
                },
                inputs=inputs,
                outputs=state,
                id=response_id or None,
                protect=bool(request.protect),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                version=request.version,
                defaulted=defaulted,
            )
            return resource_pb2.RegisterResourceResponse(urn=urn, id=response_id, object=_struct(state))

        def ReadResource(self, request: Any) -> Any:
            _thread_event_loop()
            urn = self.make_urn(request.parent, request.type, request.name)
            properties = rpc.deserialize_properties(request.properties)
            defaulted: list[str] = []
            if request.type == STACK_REFERENCE_TYPE:
                reference = str(unwrap_secrets(properties).get("name") or request.id)
                resource_id, state = reference, {
                    "name": reference,
                    "outputs": stack_reference_outputs(reference, request.name, references),
                    "secretOutputNames": [],
                }
            else:
                response = mocks.respond(request.type, request.name, properties, request.provider or None, request.id or request.name)
                resource_id, state, defaulted = response.id, response.state, response.defaulted
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
            self.records[urn] = ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=True,
                parent=request.parent or None,
                provider=_provider_urn(request.provider),
                providers={},
                dependencies=sorted(set(request.dependencies)),
                property_dependencies={},
                inputs=properties,
                outputs=state,
                id=resource_id,
                version=request.version,
                mode="read",
                defaulted=defaulted,
            )
            return resource_pb2.ReadResourceResponse(urn=urn, id=resource_id, properties=_struct(state))

        def Invoke(self, request: Any) -> Any:
            _thread_event_loop()
            return super().Invoke(request)  # type: ignore[no-untyped-call]

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if request.urn.split("::")[2] == STACK_TYPE:
                self.stack_outputs = rpc.deserialize_properties(request.outputs)
            return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    return RecordingMonitor()


def stack_reference_outputs(reference: str, name: str, supplied: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The outputs supplied for a stack reference: by its full ``org/project/stack`` name, or
    a supplied name that ends with the (shorter) name the program uses."""
    matches = [key for key in supplied if key == reference or key.endswith("/" + reference)]
    if len(matches) == 1:
        return dict(supplied[matches[0]])
    label = f"'{reference}'" if name == reference else f"'{reference}' (resource '{name}')"
    if len(matches) > 1:
        raise ProgramError(
            f"stack reference {label} matches several --stack-reference values "
            f"({', '.join(sorted(matches))}); name it in full (org/project/stack) in the program or on the command line"
        )
    full = reference if reference.count("/") == 2 else f"ORG/{reference}" if reference.count("/") == 1 else f"ORG/PROJECT/{reference}"
    return_hint = f"`pulumi stack output --stack {reference} --json --show-secrets > outputs.json`"
    raise ProgramError(
        f"the program reads stack reference {label}, whose outputs live with that stack, not offline. "
        f"Pass them with --stack-reference {full}=outputs.json (outputs.json from {return_hint}, or written by hand)."
    )


def _resolve_regions(records: dict[str, ResourceRecord], aws_default_region: str | None) -> None:
    """Region of every resource: an AWS provider's own region; else its provider's region;
    else (components, Kubernetes providers) the region of its AWS provider or its parent."""
    cache: dict[str, str | None] = {}

    def region_of(urn: str | None, depth: int = 0) -> str | None:
        if urn is None or depth > 64:
            return None
        if urn in cache:
            return cache[urn]
        record = records.get(urn)
        if record is None:
            return None
        region: str | None
        own = unwrap_secrets(record.inputs).get("region") if record.type.startswith("aws:") else None
        if isinstance(own, str) and own:  # pulumi_aws 7: a resource may name its own region
            region = own
        elif record.type == "pulumi:providers:aws":
            region = unwrap_secrets(record.inputs).get("region") or aws_default_region
        elif record.provider and record.provider in records:
            region = region_of(record.provider, depth + 1)
        elif record.custom and record.type.startswith("aws:"):
            region = aws_default_region  # the default AWS provider
        elif "aws" in record.providers:
            region = region_of(record.providers["aws"], depth + 1)
        else:
            region = region_of(record.parent, depth + 1)
        cache[urn] = region
        return region

    for urn, record in records.items():
        record.region = region_of(urn)


@contextlib.contextmanager
def _program_context(project: Project, venv_site: Path | None) -> Iterator[None]:
    """cwd, sys.path and argv as the language host sets them for a program; the program's
    virtualenv (its ``site-packages``) after the engine's own packages; and the program's
    own modules imported for this run only, so a second run imports them afresh."""
    old_cwd, old_path, old_argv = os.getcwd(), list(sys.path), list(sys.argv)
    before = set(sys.modules)
    os.chdir(project.main_dir)
    for path in (str(project.main_dir), str(project.root)):
        if path not in sys.path:
            sys.path.insert(0, path)
    if venv_site is not None and str(venv_site) not in sys.path:
        sys.path.append(str(venv_site))
    sys.argv = [str(project.main_dir)]
    failed = True
    try:
        yield
        failed = False
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        sys.argv = old_argv
        with _quiet_abandoned_work(collect=failed):
            _forget_program_modules(set(sys.modules) - before, (project.root, project.main_dir))


@contextlib.contextmanager
def _quiet_abandoned_work(collect: bool) -> Iterator[None]:
    """After a failed run, frees what the program left behind (futures holding the failure,
    coroutines never awaited) without asyncio reporting each of them: the engine reports the
    failure once."""
    if not collect:
        yield
        return
    import warnings

    def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "never retrieved" not in str(context.get("message", "")):
            loop.default_exception_handler(context)

    loops = [loop for loop in _EVENT_LOOPS if not loop.is_closed()]
    previous = [loop.get_exception_handler() for loop in loops]
    for loop in loops:
        loop.set_exception_handler(quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for loop in loops:  # work the failed run left scheduled: cancel it, as asyncio.run does
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()] if not loop.is_running() else []
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            yield
            _release_sdk_state()
            gc.collect()
            _mark_abandoned_work_handled()
    finally:
        for loop, handler in zip(loops, previous, strict=True):
            loop.set_exception_handler(handler)


def _forget_program_modules(names: set[str], roots: tuple[Path, ...]) -> None:
    """Drops the modules a run imported from the program's own files (not libraries, not the
    engine): the next run, of this program or another one with same-named modules, imports
    its own."""
    resolved = [r.resolve() for r in roots]
    for name in names:
        if name == "llmops" or name.startswith("llmops."):
            continue
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if not file or "site-packages" in Path(file).parts:
            continue
        path = Path(file).resolve()
        if any(path.is_relative_to(root) for root in resolved):
            del sys.modules[name]


def _mark_abandoned_work_handled() -> None:
    """Futures of the failed run still referenced somewhere (the SDK keeps some in context
    variables) get their failure marked as seen, and SDK coroutines it never started are
    closed, so neither is reported again when it is freed later."""
    import inspect
    import types

    for obj in gc.get_objects():
        if isinstance(obj, asyncio.Future):
            if obj.done() and not obj.cancelled():
                obj.exception()
        elif (
            isinstance(obj, types.CoroutineType)
            and "pulumi" in obj.cr_code.co_filename
            and inspect.getcoroutinestate(obj) == inspect.CORO_CREATED
        ):
            obj.close()


def _release_sdk_state() -> None:
    """Drops the SDK's hold on a failed run (its RPCs, outputs, root stack resource)."""
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.mocks import MockSettings

    runtime_settings.configure(
        MockSettings(  # type: ignore[no-untyped-call]
            monitor=None, engine=None, outputs=set(), lock=threading.Lock(), package_refs={}, base_providers_by_ref={}, callbacks=None)
    )
    runtime_settings.set_root_resource(None)  # type: ignore[arg-type]


def _program_logger() -> logging.Logger:
    """Where ``pulumi.log`` messages of the program go: stderr, with their level, as the
    Pulumi CLI shows them (``warning: ...``)."""
    logger = logging.getLogger("llmops.engine.program")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(_LevelFormatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace(record.levelname, record.levelname.lower(), 1)


def _settings(monitor: Any, project: Project, stack: str) -> Any:
    """Fresh SDK settings for one run: a preview (``is_dry_run()``), this project and stack,
    no state left from an earlier run (outputs, RPCs, package refs, callbacks)."""
    from pulumi.runtime.mocks import MockEngine, MockSettings

    return MockSettings(  # type: ignore[no-untyped-call]
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=MockEngine(_program_logger()),
        project=project.name,
        stack=stack,
        root_directory=str(project.root),
        dry_run=True,
        legacy_apply_enabled=False,
        parallel=None,
        organization="organization",
        outputs=set(),
        lock=threading.Lock(),
        package_refs={},
        base_providers_by_ref={},
        callbacks=None,
    )


def _failure(error: Exception, project: Project, stack: str, monitor: Any, mocks: PlatformMocks, venv_site: Path | None) -> LlmopsError:
    """The error to report for a program that raised ``error``."""
    import pulumi

    found = project_error(error)
    if found is not None:
        # Reported as raised, without the SDK frames it travelled through (they hold the
        # program's futures, which would otherwise outlive the run).
        found.__traceback__, found.__cause__, found.__context__ = None, None, None
        return found
    roots = (project.root, project.main_dir)
    if isinstance(error, pulumi.ConfigMissingError):
        located = program_location(error, roots)
        stack_file = project.stack_file(stack)
        secret = " --secret" if error.secret else ""
        failure = ProgramError(
            f"the program requires the config value '{error.key}', which stack '{stack}' does not set"
            + (f"\n  at {located}" if located else "")
            + f"\n  Add `{error.key}: <value>` under `config:` in {stack_file.name}, or run `pulumi config set {error.key} <value>{secret}`."
        )
        failure.details = "".join(traceback.format_exception(error))
        return failure
    if isinstance(error, pulumi.RunError):  # the program's own message for its user: no location, as Pulumi does
        failure = ProgramError(str(error))
        failure.details = "".join(traceback.format_exception(error))
        return failure
    fault = engine_fault(error)
    if fault is not None:
        failure = ProgramError(
            f"the offline engine failed while planning project '{project.name}' (stack '{stack}'): "
            f"{type(error).__name__}: {error} (at {fault}). This is a bug in the engine, not in the program: "
            "please report it with the output of --debug."
        )
        failure.details = "".join(traceback.format_exception(error))
        return failure
    location = program_location(error, roots)
    data_source = None if location else data_source_call_site(error, roots)
    where = f"\n  at {location}" if location else f"\n  in {data_source}" if data_source else ""
    if isinstance(error, ModuleNotFoundError):
        failure = ProgramError(missing_module_message(error, project.virtualenv, venv_site) + where)
    else:
        message = f"the program of project '{project.name}' failed for stack '{stack}': {type(error).__name__}: {error}{where}"
        failure = ProgramError(message + defaults_note(message, _stand_ins(monitor, mocks), mocks.unmocked_calls))
    failure.details = "".join(traceback.format_exception(error))
    return failure


def _stand_ins(monitor: Any, mocks: PlatformMocks) -> dict[str, str]:
    """Engine-made string values (longer than a word) -> where they came from."""
    found: dict[str, str] = {}
    for record in monitor.records.values():
        for prop in record.defaulted:
            value = record.outputs.get(prop)
            if isinstance(value, str) and len(value) >= 6:
                found.setdefault(value, f"{prop} of {record.type} '{record.name}'")
    for token, result in mocks.call_results:
        for key, value in result.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and len(item) >= 6:
                    found.setdefault(item, f"{key} of data source {token}")
    return found


def venv_site_packages(virtualenv: Path | None) -> Path | None:
    """The program virtualenv's ``site-packages``, when it is for this Python version."""
    if virtualenv is None:
        return None
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (virtualenv / "lib" / version / "site-packages", virtualenv / "Lib" / "site-packages"):
        if candidate.is_dir():
            return candidate
    return None


def run_program(
    project: Project, stack_config: StackConfig, stack_references: Mapping[str, Mapping[str, Any]] | None = None
) -> PlanResult:
    """Runs ``project``'s program for ``stack_config`` under mocks and records it.
    ``stack_references`` supplies the outputs of the stacks the program references, by
    ``org/project/stack``."""
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    aws_region = stack_config.values.get("aws:region")
    mocks = PlatformMocks(default_region=aws_region or DEFAULT_REGION)
    venv_site = venv_site_packages(project.virtualenv)
    with _RUN_LOCK, _relaxed_gc(), _program_context(project, venv_site), _batched_output_waits(), _without_stack_traces():
        monitor = _make_monitor(mocks, _disabled_default_providers(stack_config.values), stack_references)
        runtime_settings.configure(_settings(monitor, project, stack_config.stack))
        runtime_settings.set_root_resource(None)  # type: ignore[arg-type]
        set_all_config(dict(stack_config.values), list(stack_config.secret_keys))
        main_loop = _thread_event_loop()
        if main_loop not in _EVENT_LOOPS:
            _EVENT_LOOPS.append(main_loop)
        program = str(project.main_dir)

        def run_main() -> None:
            runpy.run_path(program, run_name="__main__")

        failure: LlmopsError | None = None
        try:
            _sync_await(run_in_stack(run_main))
        except Exception as exc:
            failure = _failure(exc, project, stack_config.stack, monitor, mocks, venv_site)
        finally:
            set_all_config({}, [])
        if failure is not None:  # raised outside the handler: the program's frames are not kept alive
            if isinstance(failure, ProgramError):
                failure.registered = sum(1 for r in monitor.records.values() if r.type != STACK_TYPE and r.mode == "create")
            raise failure
        records = dict(monitor.records)
        outputs = monitor.stack_outputs  # secrets keep their wrapper; reports mask them
    _resolve_regions(records, aws_region)
    ordered = sorted(records.values(), key=lambda r: r.urn)
    return PlanResult(
        project=project.name,
        stack=stack_config.stack,
        program_dir=project.root,
        resources=[r for r in ordered if r.mode == "create"],
        outputs=outputs,
        config=stack_config,
        unmocked_calls=sorted(mocks.unmocked_calls),
        reads=[r for r in ordered if r.mode == "read"],
        data_sources=dict(sorted(mocks.calls.items())),
    )


def plan(
    stack: str, program_dir: Path | str = ".", stack_references: Mapping[str, Mapping[str, Any]] | None = None
) -> PlanResult:
    """Loads the project in ``program_dir`` and runs it offline for ``stack``."""
    project = load_project(program_dir)
    return run_program(project, load_stack_config(project, stack), stack_references)
