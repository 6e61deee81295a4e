"""The CRDs' CEL rules (``x-kubernetes-validations``), evaluated with cel-python as the API
server evaluates them on create.

``self`` is the value at the rule's place in the object, typed by its schema (an
``integer`` is a CEL int, a ``number`` a double). Transition rules (those that read
``oldSelf``) only run on update and are skipped. The Kubernetes CEL library functions the
vendored CRDs use (``find``, ``split``, ...) are provided; a rule that calls one this module
does not provide is reported as unvalidated rather than guessed at.

The CEL environment is built on first use, and each rule is compiled once per process.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from llmops.validation.problems import PathPart
from llmops.validation.values import Opaque, contains_opaque

Schema = Mapping[str, Any]

_STANDARD = frozenset(
    {
        # macros and standard functions of CEL
        "has", "all", "exists", "exists_one", "map", "filter", "size", "contains", "startsWith",
        "endsWith", "matches", "int", "uint", "double", "string", "bool", "bytes", "duration",
        "timestamp", "type", "dyn", "getDate", "getDayOfMonth", "getDayOfWeek", "getDayOfYear",
        "getFullYear", "getMonth", "getHours", "getMilliseconds", "getMinutes", "getSeconds",
    }
)  # fmt: skip
_STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_OLD_SELF = re.compile(r"\boldSelf\b")
_SELF = re.compile(r"\bself\b")
_SELF_FIELD = re.compile(r"\bself\.([A-Za-z_][A-Za-z0-9_]*)(\s*\()?")


def _kubernetes_functions() -> dict[str, Callable[..., Any]]:
    """The Kubernetes CEL library functions (regex and string extensions, list helpers)
    the vendored CRDs use, in cel-python's types."""
    from celpy import celtypes

    def find(s: Any, pattern: Any) -> Any:
        found = re.search(str(pattern), str(s))
        return celtypes.StringType(found.group(0) if found else "")

    def find_all(s: Any, pattern: Any, limit: Any = -1) -> Any:
        found = [m.group(0) for m in re.finditer(str(pattern), str(s))]
        if int(limit) >= 0:
            found = found[: int(limit)]
        return celtypes.ListType([celtypes.StringType(x) for x in found])

    def split(s: Any, separator: Any, limit: Any = -1) -> Any:
        n = int(limit)
        if n == 0:
            return celtypes.ListType([])
        parts = str(s).split(str(separator)) if n < 0 else str(s).split(str(separator), n - 1)
        return celtypes.ListType([celtypes.StringType(p) for p in parts])

    def join(items: Any, separator: Any = "") -> Any:
        return celtypes.StringType(str(separator).join(str(i) for i in items))

    def index_of(s: Any, sub: Any, start: Any = 0) -> Any:
        return celtypes.IntType(str(s).find(str(sub), int(start)))

    def last_index_of(s: Any, sub: Any) -> Any:
        return celtypes.IntType(str(s).rfind(str(sub)))

    def substring(s: Any, start: Any, end: Any = None) -> Any:
        return celtypes.StringType(str(s)[int(start) : None if end is None else int(end)])

    def replace(s: Any, old: Any, new: Any, limit: Any = -1) -> Any:
        return celtypes.StringType(str(s).replace(str(old), str(new), int(limit)))

    def is_sorted(items: Any) -> Any:
        values = list(items)
        return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(values)))

    return {
        "find": find,
        "findAll": find_all,
        "split": split,
        "join": join,
        "indexOf": index_of,
        "lastIndexOf": last_index_of,
        "substring": substring,
        "replace": replace,
        "lowerAscii": lambda s: celtypes.StringType(str(s).lower()),
        "upperAscii": lambda s: celtypes.StringType(str(s).upper()),
        "trim": lambda s: celtypes.StringType(str(s).strip()),
        "charAt": lambda s, i: celtypes.StringType(str(s)[int(i) : int(i) + 1]),
        "isSorted": is_sorted,
    }


_PROVIDED = frozenset({"find", "findAll", "split", "join", "indexOf", "lastIndexOf", "substring", "replace",
                       "lowerAscii", "upperAscii", "trim", "charAt", "isSorted"})  # fmt: skip


class CelUnsupported(Exception):
    """The rule needs something this evaluator does not provide."""


class CelRuntimeError(Exception):
    """The rule failed to evaluate (the API server fails the request the same way)."""


@cache
def _environment() -> tuple[Any, dict[str, Callable[..., Any]]]:
    import celpy

    return celpy.Environment(), _kubernetes_functions()


def is_transition_rule(rule: str) -> bool:
    return bool(_OLD_SELF.search(_STRING_LITERAL.sub("''", rule)))


def missing_functions(rule: str) -> list[str]:
    """Functions ``rule`` calls that neither CEL nor this module provides."""
    calls = set(_CALL.findall(_STRING_LITERAL.sub("''", rule)))
    return sorted(calls - _STANDARD - _PROVIDED)


@cache
def self_fields(rule: str) -> frozenset[str] | None:
    """The fields of ``self`` a rule reads, when it reads ``self`` only as ``self.<field>``
    (``has(self.role) && ...``); None when it needs all of ``self`` (``self.all(...)``,
    ``self[k]``, ``self == ...``)."""
    text = _STRING_LITERAL.sub("''", rule)
    fields: set[str] = set()
    for match in _SELF_FIELD.finditer(text):
        if match.group(2):  # a method called on self
            return None
        fields.add(match.group(1))
    if len(_SELF.findall(text)) != len(_SELF_FIELD.findall(text)):
        return None
    return frozenset(fields)


@cache
def _program(rule: str) -> Any:
    missing = missing_functions(rule)
    if missing:
        raise CelUnsupported(f"calls {', '.join(missing)}, which the offline evaluator does not provide")
    env, functions = _environment()
    try:
        return env.program(env.compile(rule), functions=functions)
    except Exception as error:  # cel-python reports parse errors with its own types
        raise CelUnsupported(f"cannot be compiled here: {error}") from error


_RESULTS: dict[tuple[str, int, str], tuple[Schema | None, Any]] = {}
"""(rule, id of the schema, value as JSON) -> (the schema, kept so its id stays its own; the
result or the evaluation error)"""
_RESULTS_LIMIT = 100_000


def evaluate(rule: str, value: Any, schema: Schema | None) -> Any:
    """The result of ``rule`` with ``self`` = ``value`` (typed by ``schema``).

    Results are remembered per (rule, schema, value): the interpreter takes milliseconds
    per rule, and a plan repeats the same values (the same NodePool requirement in every
    region) many times."""
    import celpy

    fields = self_fields(rule)
    if fields is not None and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k in fields}  # same result, less to convert and key on
    key = (rule, id(schema), json.dumps(value, sort_keys=True))
    if key in _RESULTS:
        outcome = _RESULTS[key][1]
    else:
        program = _program(rule)
        try:
            outcome = program.evaluate({"self": to_cel(value, schema)})
        except celpy.evaluation.CELEvalError as error:
            outcome = CelRuntimeError(str(error.args[0]) if error.args else str(error))
        if len(_RESULTS) >= _RESULTS_LIMIT:
            _RESULTS.clear()
        _RESULTS[key] = (schema, outcome)
    if isinstance(outcome, CelRuntimeError):
        raise CelRuntimeError(str(outcome))
    return outcome


def to_cel(value: Any, schema: Schema | None) -> Any:
    """A JSON-like value as the API server hands it to CEL, typed by its schema."""
    from celpy import celtypes

    schema = schema or {}
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.DoubleType(value) if schema.get("type") == "number" else celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        return celtypes.MapType(
            {
                celtypes.StringType(k): to_cel(v, props.get(k, extra if isinstance(extra, Mapping) else None))
                for k, v in value.items()
            }
        )
    if isinstance(value, list):
        items = schema.get("items")
        return celtypes.ListType([to_cel(v, items if isinstance(items, Mapping) else None) for v in value])
    raise TypeError(f"cannot hand {type(value).__name__} to CEL")


@dataclass(frozen=True)
class Rule:
    """One ``x-kubernetes-validations`` entry at its place in an object."""

    path: tuple[PathPart, ...]
    rule: str
    message: str
    message_expression: str
    field_path: str
    value: Any
    schema: Schema


def rules(value: Any, schema: Schema | None, path: tuple[PathPart, ...] = ()) -> Iterator[Rule]:
    """Every rule that applies to a value present in ``value`` (rules on absent fields do
    not run), outermost first."""
    if not schema or isinstance(value, Opaque):
        return
    for entry in schema.get("x-kubernetes-validations") or ():
        yield Rule(
            path=path,
            rule=str(entry.get("rule", "")),
            message=str(entry.get("message") or ""),
            message_expression=str(entry.get("messageExpression") or ""),
            field_path=str(entry.get("fieldPath") or ""),
            value=value,
            schema=schema,
        )
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, Mapping) else None)
            yield from rules(item, sub, (*path, key))
    elif isinstance(value, list):
        items = schema.get("items")
        for i, item in enumerate(value):
            yield from rules(item, items if isinstance(items, Mapping) else None, (*path, i))


@dataclass(frozen=True)
class Outcome:
    """What one rule said: ``failed`` with the API server's message, or ``unsupported``
    (could not be checked here) with why."""

    rule: Rule
    failed: bool = False
    unsupported: bool = False
    message: str = ""


def check(rule: Rule) -> Outcome | None:
    """None when the rule holds (or does not run on create)."""
    if is_transition_rule(rule.rule) or contains_opaque(rule.value):
        return None
    try:
        result = evaluate(rule.rule, rule.value, rule.schema)
    except CelUnsupported as error:
        return Outcome(rule, unsupported=True, message=f"CEL rule not checked offline: {rule.rule!r} {error}")
    except CelRuntimeError as error:
        return Outcome(rule, failed=True, message=f"Invalid value: rule {rule.rule!r} failed to evaluate: {error}")
    if bool(result):
        return None
    return Outcome(rule, failed=True, message=f"Invalid value: {_message(rule)} (rule: {rule.rule})")


def _message(rule: Rule) -> str:
    if rule.message_expression:
        try:
            text = evaluate(rule.message_expression, rule.value, rule.schema)
            if isinstance(text, str) and text.strip():
                return text
        except (CelUnsupported, CelRuntimeError):
            pass
    return rule.message or f"failed rule: {rule.rule}"
