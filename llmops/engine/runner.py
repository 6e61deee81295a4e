"""The offline engine: runs a Pulumi Python program under the SDK's mock runtime and
records every resource the way the Pulumi engine would see it.

The program is the very same ``__main__.py`` that ``pulumi up`` runs, executed inside the
SDK's own ``run_in_stack`` (so the root ``pulumi:pulumi:Stack`` resource and stack exports
behave as in a real run), with a monitor that records type, name, URN, parent, provider,
dependencies and inputs of each registration.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import runpy
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.engine.mocks import DEFAULT_REGION, PlatformMocks, unwrap_secrets
from llmops.engine.project import Project, StackConfig, load_project, load_stack_config
from core.errors import LlmopsError

STACK_TYPE = "pulumi:pulumi:Stack"
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


class ProgramError(LlmopsError):
    """The program failed while the offline engine ran it.

    ``registered`` counts the resources the program had registered before it failed
    (besides the stack itself): 0 for a config error caught up front.
    """

    registered: int = 0


@dataclass
class ResourceRecord:
    """One registered resource, as the engine recorded it."""

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


@dataclass
class PlanResult:
    """What a program run produced."""

    project: str
    stack: str
    program_dir: Path
    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    config: StackConfig
    unmocked_calls: list[str]

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
    import asyncio

    from pulumi.runtime import stack as runtime_stack

    rpc_manager = runtime_stack._get_rpc_manager()
    outputs_settings = runtime_stack.SETTINGS
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
        runtime_stack.wait_for_rpcs = _wait_for_rpcs_batched  # type: ignore[assignment]
    try:
        yield
    finally:
        if compatible:
            runtime_stack.wait_for_rpcs = original  # type: ignore[assignment]


def _disabled_default_providers(values: dict[str, str]) -> frozenset[str]:
    """Packages named in ``pulumi:disable-default-providers`` (``*`` means all)."""
    import json

    raw = values.get("pulumi:disable-default-providers")
    if not raw:
        return frozenset()
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = [raw]
    return frozenset(str(p) for p in (parsed if isinstance(parsed, list) else [parsed]))


def _make_monitor(mocks: PlatformMocks, disabled_defaults: frozenset[str] = frozenset()) -> Any:
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor, MockResourceArgs
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.sync_await import _sync_await

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
            resource_args = MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
            id_, state = mocks.new_resource(resource_args)
            if request.type.startswith("pulumi:providers:"):
                mocks.register_provider(request.type, f"{urn}::{id_}", unwrap_secrets(inputs))
            elif "tagsAll" in state and request.provider in mocks.provider_default_tags:
                state["tagsAll"] = {**mocks.provider_default_tags[request.provider], **state["tagsAll"]}
            obj_proto = _sync_await(rpc.serialize_properties(state, {}))
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
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
                id=id_,
                protect=bool(request.protect),
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                version=request.version,
            )
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)

        def Invoke(self, request: Any) -> Any:
            _thread_event_loop()
            return super().Invoke(request)

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if request.urn.split("::")[2] == STACK_TYPE:
                self.stack_outputs = rpc.deserialize_properties(request.outputs)
            return super().RegisterResourceOutputs(request)

    return RecordingMonitor()


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
        if record.type == "pulumi:providers:aws":
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
def _program_context(project: Project) -> Iterator[None]:
    """cwd, sys.path and argv as the language host sets them for a program."""
    old_cwd, old_path, old_argv = os.getcwd(), list(sys.path), list(sys.argv)
    os.chdir(project.main_dir)
    for path in (str(project.main_dir), str(project.root)):
        if path not in sys.path:
            sys.path.insert(0, path)
    sys.argv = [str(project.main_dir)]
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        sys.argv = old_argv


def run_program(project: Project, stack_config: StackConfig) -> PlanResult:
    """Runs ``project``'s program for ``stack_config`` under mocks and records it."""
    import pulumi
    from pulumi.runtime import settings as runtime_settings
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.mocks import MockEngine, MockSettings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    aws_region = stack_config.values.get("aws:region")
    mocks = PlatformMocks(default_region=aws_region or DEFAULT_REGION)
    with _RUN_LOCK, _program_context(project), _batched_output_waits():
        monitor = _make_monitor(mocks, _disabled_default_providers(stack_config.values))
        logger = logging.getLogger("llmops.engine.program")
        settings = MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=MockEngine(logger),
            project=project.name,
            stack=stack_config.stack,
            dry_run=False,
            organization="organization",
            callbacks=None,
        )
        runtime_settings.configure(settings)
        runtime_settings.set_root_resource(None)  # type: ignore[arg-type]
        set_all_config(dict(stack_config.values), list(stack_config.secret_keys))
        main_loop = _thread_event_loop()
        if main_loop not in _EVENT_LOOPS:
            _EVENT_LOOPS.append(main_loop)
        program = str(project.main_dir)
        try:
            try:
                def run_main() -> None:
                    runpy.run_path(program, run_name="__main__")

                _sync_await(run_in_stack(run_main))
            except pulumi.RunError as exc:
                raise ProgramError(str(exc)) from None
            except LlmopsError:
                raise
            except Exception as exc:
                cause = exc.__cause__ or exc.__context__
                if isinstance(cause, LlmopsError):
                    raise cause from None
                raise ProgramError(
                    f"the program of project '{project.name}' failed for stack '{stack_config.stack}': "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        except ProgramError as error:
            error.registered = sum(1 for r in monitor.records.values() if r.type != STACK_TYPE)
            raise
        finally:
            set_all_config({}, [])
        records = dict(monitor.records)
        outputs = monitor.stack_outputs  # secrets keep their wrapper; reports mask them
    _resolve_regions(records, aws_region)
    return PlanResult(
        project=project.name,
        stack=stack_config.stack,
        program_dir=project.root,
        resources=sorted(records.values(), key=lambda r: r.urn),
        outputs=outputs,
        config=stack_config,
        unmocked_calls=sorted(mocks.unmocked_calls),
    )


def plan(stack: str, program_dir: Path | str = ".") -> PlanResult:
    """Loads the project in ``program_dir`` and runs it offline for ``stack``."""
    project = load_project(program_dir)
    return run_program(project, load_stack_config(project, stack))
