"""Property: for every resource class of the provider SDK modules the platform uses, a
registration with minimal inputs (only the required arguments, drawn by hypothesis) yields
outputs of the types the SDK declares: every non-optional output has a value, nested
objects have their declared shape, and nothing fails in the engine.

Each example plans one throwaway program that registers every class of one SDK module;
the program hands its resource objects to this module, which then reads their outputs as
the program would see them.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import json
import sys
import types
import typing
from collections import abc
from pathlib import Path
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi import _types

from llmops.engine import plan

# Registering every class touches the SDK's deprecated properties; their warnings are noise here.
pytestmark = pytest.mark.filterwarnings("ignore:.* is deprecated:UserWarning")

AWS_MODULES = (
    "acm", "apigateway", "apigatewayv2", "budgets", "cloudfront", "cloudwatch", "ec2", "ecr", "ecs", "eks",
    "elasticache", "globalaccelerator", "iam", "kms", "lambda_", "lb", "opensearch", "rds", "route53", "s3",
    "secretsmanager", "sns", "sqs", "vpc", "wafv2",
)
KUBERNETES_MODULES = ("core.v1", "apps.v1", "helm.v3", "apiextensions.v1")
MODULES = [f"pulumi_aws.{m}" for m in AWS_MODULES] + [f"pulumi_kubernetes.{m}" for m in KUBERNETES_MODULES]

UNIONS = (typing.Union, types.UnionType)
"""``Optional[X]`` and ``X | None`` alike: which spelling a hint has depends on how (and after
what) the SDK's annotations were evaluated."""

REGISTERED: list[tuple[str, pulumi.CustomResource]] = []
"""Filled by the throwaway program: (class path, resource)."""

PROGRAM = """
import importlib, json, pathlib, sys

spec = json.loads(pathlib.Path("spec.json").read_text())
probe = sys.modules[spec["probe"]]  # this test module, as pytest imported it
for item in spec["resources"]:
    cls = getattr(importlib.import_module(item["module"]), item["class"])
    probe.REGISTERED.append((f"{item['module']}.{item['class']}", cls(item["name"], **item["kwargs"])))
"""


def resource_classes(module_name: str) -> list[type[pulumi.CustomResource]]:
    module = importlib.import_module(module_name)
    getattr(module, "__all__", None)  # the SDKs load their modules lazily, on first attribute access
    found = []
    for name in sorted(dir(module)):
        value = getattr(module, name)
        if (
            isinstance(value, type)
            and issubclass(value, pulumi.CustomResource)
            and not issubclass(value, pulumi.ProviderResource)
            and value.__module__.startswith(module_name + ".")
            and name != "CustomResource"  # kubernetes' generic class: its type comes from its arguments
        ):
            found.append(value)
    return found


def _args_class(cls: type) -> type | None:
    module = sys.modules[cls.__module__]
    for suffix in ("InitArgs", "Args"):
        candidate = getattr(module, f"{cls.__name__}{suffix}", None)
        if isinstance(candidate, type):
            return candidate
    return None


def _unwrap(hint: Any) -> Any:
    """``Optional[Input[Union[X, XDict]]]`` -> ``X``."""
    while True:
        origin = typing.get_origin(hint)
        if origin in UNIONS:
            members = [a for a in typing.get_args(hint) if a is not type(None) and typing.get_origin(a) not in (abc.Awaitable,)]
            members = [a for a in members if typing.get_origin(a) is not pulumi.Output]
            hint = members[0] if members else Any
            continue
        if origin is pulumi.Output:
            hint = typing.get_args(hint)[0]
            continue
        return hint


class Pool:
    """Values drawn once per example; each required argument takes one by its position."""

    def __init__(self, texts: list[str], ints: list[int], flags: list[bool]) -> None:
        self.texts, self.ints, self.flags = texts, ints, flags
        self.i = 0

    def next(self, values: list[Any]) -> Any:
        self.i += 1
        return values[self.i % len(values)]


def minimal_value(hint: Any, pool: Pool, depth: int = 0) -> Any:
    hint = _unwrap(hint)
    origin = typing.get_origin(hint)
    if hint is str or isinstance(hint, str):
        return pool.next(pool.texts)
    if hint is bool:
        return pool.next(pool.flags)
    if hint in (int, float):
        return pool.next(pool.ints)
    if origin in (list, abc.Sequence, typing.Sequence):
        (item,) = typing.get_args(hint) or (str,)
        return [minimal_value(item, pool, depth + 1)]
    if origin in (dict, abc.Mapping, typing.Mapping):
        return {}
    if origin is typing.Literal:
        return typing.get_args(hint)[0]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint)).value
    if isinstance(hint, type) and issubclass(hint, pulumi.Archive):
        return pulumi.AssetArchive({"index.py": pulumi.StringAsset("x = 1\n")})
    if isinstance(hint, type) and issubclass(hint, pulumi.Asset):
        return pulumi.StringAsset("x")
    if isinstance(hint, type) and _types.is_input_type(hint) and depth < 8:
        return minimal_kwargs(hint, pool, depth + 1)
    return pool.next(pool.texts)


def minimal_kwargs(args_cls: type | None, pool: Pool, depth: int = 0) -> dict[str, Any]:
    if args_cls is None:
        return {}
    init = vars(args_cls).get("__init__", object.__init__)
    try:
        hints = typing.get_type_hints(init, globalns=vars(sys.modules[args_cls.__module__]))
    except Exception:
        hints = {}
    kwargs = {}
    for name, param in inspect.signature(init).parameters.items():
        if name in ("self", "__self__") or param.default is not inspect.Parameter.empty or param.kind != param.KEYWORD_ONLY:
            continue
        kwargs[name] = minimal_value(hints.get(name, str), pool, depth)
    return kwargs


def conforms(value: Any, hint: Any, path: str, problems: list[str], depth: int = 0) -> None:
    """Appends to ``problems`` where ``value`` is not of the declared type ``hint``."""
    if typing.get_origin(hint) is pulumi.Output:
        (hint,) = typing.get_args(hint)
    optional = False
    if typing.get_origin(hint) in UNIONS:
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        hint = members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007
    if value is None:
        if not optional:
            problems.append(f"{path}: declared {hint}, got no value")
        return
    origin = typing.get_origin(hint)
    if hint is typing.Any or depth > 6:
        return
    if origin in UNIONS:
        if not any(_is_instance(value, m) for m in typing.get_args(hint)):
            problems.append(f"{path}: {value!r} is none of {hint}")
        return
    if hint in (str, bool):
        if not isinstance(value, hint):
            problems.append(f"{path}: {value!r} is not {hint.__name__}")
    elif hint in (int, float):
        if not isinstance(value, int | float) or isinstance(value, bool):
            problems.append(f"{path}: {value!r} is not a number")
    elif origin is typing.Literal:
        if value not in typing.get_args(hint):
            problems.append(f"{path}: {value!r} not in {typing.get_args(hint)}")
    elif origin in (list, abc.Sequence, typing.Sequence):
        if not isinstance(value, list):
            problems.append(f"{path}: {value!r} is not a list")
            return
        (item,) = typing.get_args(hint) or (typing.Any,)
        for i, element in enumerate(value):
            conforms(element, item, f"{path}[{i}]", problems, depth + 1)
    elif origin in (dict, abc.Mapping, typing.Mapping):
        if not isinstance(value, dict):
            problems.append(f"{path}: {value!r} is not a mapping")
            return
        args = typing.get_args(hint)
        for key, element in value.items():
            conforms(element, args[1] if len(args) == 2 else typing.Any, f"{path}.{key}", problems, depth + 1)
    elif isinstance(hint, type) and _types.is_output_type(hint):
        if not isinstance(value, hint):
            problems.append(f"{path}: {value!r} is not a {hint.__name__}")
            return
        for name, nested in _types._raw_return_hints(hint).items():
            python_name = _types._pulumi_to_py_names_from_py_properties(hint).get(name, name)
            conforms(getattr(value, python_name, None), nested, f"{path}.{name}", problems, depth + 1)
    elif isinstance(hint, type) and issubclass(hint, enum.Enum) and value not in {m.value for m in hint} and not isinstance(value, str):
        problems.append(f"{path}: {value!r} is not a {hint.__name__}")


def _is_instance(value: Any, hint: Any) -> bool:
    probe: list[str] = []
    conforms(value, hint, "", probe)
    return not probe


def _write_program(root: Path, specs: list[dict[str, Any]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: declared-outputs\nruntime: python\n", encoding="utf-8")
    (root / "Pulumi.test.yaml").write_text("config:\n  aws:region: eu-west-1\n", encoding="utf-8")
    (root / "__main__.py").write_text(PROGRAM, encoding="utf-8")
    (root / "spec.json").write_text(json.dumps({"probe": __name__, "resources": specs}), encoding="utf-8")
    return root


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-./:*", min_size=1, max_size=24)


@pytest.mark.parametrize("module_name", MODULES)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    texts=st.lists(words, min_size=3, max_size=6),
    ints=st.lists(st.integers(min_value=0, max_value=65535), min_size=2, max_size=4),
    flags=st.lists(st.booleans(), min_size=2, max_size=3),
)
def test_minimal_registrations_yield_outputs_of_the_declared_types(
    tmp_path_factory: pytest.TempPathFactory, module_name: str, texts: list[str], ints: list[int], flags: list[bool]
) -> None:
    from pulumi.runtime.sync_await import _sync_await

    classes = resource_classes(module_name)
    assert classes, module_name
    pool = Pool(texts, ints, flags)
    specs = [
        {"module": module_name, "class": cls.__name__, "name": f"r{i}", "kwargs": minimal_kwargs(_args_class(cls), pool)}
        for i, cls in enumerate(classes)
    ]
    REGISTERED.clear()
    result = plan("test", _write_program(tmp_path_factory.mktemp("declared"), specs))
    assert len(REGISTERED) == len(classes)
    assert len(result.resources) == len(classes) + 1  # and the stack
    problems: list[str] = []
    for path, resource in REGISTERED:
        cls: Any = type(resource)
        args_cls = _args_class(cls)
        settable = set(_types.input_type_py_to_pulumi_names(args_cls).values()) if args_cls else set()
        for name, hint in _types._raw_return_hints(cls).items():
            python_name = _types._pulumi_to_py_names_from_py_properties(cls).get(name, name)
            output = getattr(resource, python_name)
            value = _sync_await(output.future()) if isinstance(output, pulumi.Output) else output
            if value is None and name in settable and _types.unwrap_type(hint) is bool:
                continue  # a flag the program left to the provider: unknown in a preview, by design
            conforms(value, hint, f"{path}.{name}", problems)
    REGISTERED.clear()
    assert not problems, "\n".join(problems[:40])
