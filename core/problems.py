"""The one way a config problem is reported: where (the path as the user wrote it) and
what to do about it.

Both schemas use it: the stack config (``llmops:regions[1].gpuPools[0].maxNodes``, keys in
camelCase as YAML spells them) and the serve config (``applications[0].models[1].name``, keys
in Ray Serve's own snake_case). :func:`problems_from` turns a pydantic ``ValidationError``
into :class:`Problem` lines with the same wording for the same kind of mistake, including
closest-name hints for unknown keys; :class:`ConfigError` carries every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from core.catalog import closest_names
from core.errors import LlmopsError

KeyStyle = Callable[[str], str]
"""How a Python field name is shown in a path (``to_camel`` for the stack config)."""


def _same(key: str) -> str:
    return key


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config: where, and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(LlmopsError, ValueError):
    """A config is invalid. ``problems`` lists every problem found, in document order.

    ``what`` names the document (``stack config``, ``serve config``); ``source`` is where it
    came from (a file name), shown when known."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None, what: str = "config") -> None:
        self.problems = list(problems)
        self.source = source
        self.what = what
        where = f" in {source}" if source else ""
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"invalid {what}{where} ({len(self.problems)} problem(s)):\n{lines}")


def format_path(
    loc: Sequence[int | str], *, root: str = "", key_style: KeyStyle = _same, raw_last: bool = False
) -> str:
    """``<root>:a[1].b`` (with a root) or ``a[1].b`` from a pydantic location. Keys are shown
    through ``key_style`` (pydantic reports a defaulted field by its Python name), except a
    key the user wrote that the schema does not know (``raw_last``), shown as written."""
    path = root
    for index, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        key = str(part) if raw_last and index == len(loc) - 1 else key_style(str(part))
        if not path:
            path = key
        else:
            path += (":" if index == 0 and root else ".") + key
    return path or "(root)"


def describe(error: Mapping[str, Any], owner: type[BaseModel] | None = None) -> str:
    """A message with a fix for one pydantic error (a ``ValidationError.errors()`` item);
    ``owner`` is the model the error's last key belongs to (for listing the valid keys)."""
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required; add it"
    if kind == "extra_forbidden":
        valid = sorted(f.alias or n for n, f in owner.model_fields.items()) if owner else []
        key = str(error["loc"][-1])
        hint = closest_names(key, valid, limit=1)
        message = "unknown key; remove it"
        if hint:
            message += f" or rename it to '{hint[0]}'"
        if valid:
            message += f" (valid keys here: {', '.join(valid)})"
        return message
    if kind in ("value_error", "assertion_error"):
        error_obj = ctx.get("error")
        return str(error_obj) if error_obj is not None else str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {got!r})"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number (got {got!r})"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number (got {got!r})"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false (got {got!r})"
    if kind == "string_type":
        return f"must be a string (got {got!r})"
    if kind == "list_type":
        return f"must be a list, e.g. [a, b] (got {got!r})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values (got {got!r})"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')} (got {got!r})"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {op} {bound} (got {got!r})"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags')} (got {ctx.get('tag')!r})"
    return f"{error['msg']} (got {got!r})"


def _walk(loc: Sequence[int | str], root_model: type[BaseModel] | None) -> tuple[tuple[int | str, ...], type[BaseModel] | None]:
    """The location as the user wrote it, and the model that owns its last key.

    Drops the tag pydantic inserts into the location of a discriminated-union member
    (``backends.0.openai.base_url`` -> ``backends.0.base_url``): users never write it."""
    out: list[int | str] = []
    members: dict[str, type[BaseModel]] = {}
    model: type[BaseModel] | None = root_model
    owner: type[BaseModel] | None = root_model
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            continue
        if members and part in members:
            model, members = members[part], {}
            continue
        out.append(part)
        owner = model
        field = None
        if model is not None:
            field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        found = _models_in(field.annotation) if field is not None else []
        model = found[0] if len(found) == 1 else None
        members = _tags(found) if len(found) > 1 else {}
    return tuple(out), owner


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds, looking through lists, dicts, optionals and unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _tags(models: list[type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """Members of a union discriminated by ``kind``, by tag."""
    tags: dict[str, type[BaseModel]] = {}
    for model in models:
        kind = model.model_fields.get("kind")
        for tag in get_args(kind.annotation) if kind is not None else ():
            tags[str(tag)] = model
    return tags


def problems_from(
    exc: ValidationError,
    *,
    root: str = "",
    key_style: KeyStyle = _same,
    root_model: type[BaseModel] | None = None,
) -> list[Problem]:
    """Every error of ``exc`` as a :class:`Problem`, in the order pydantic reports them."""
    problems = []
    for error in exc.errors():
        loc, owner = _walk(error["loc"], root_model)
        path = format_path(loc, root=root, key_style=key_style, raw_last=error["type"] == "extra_forbidden")
        problems.append(Problem(path, describe({**error, "loc": loc}, owner)))
    return problems


def sort_key(problem: Problem) -> tuple[Any, ...]:
    """Orders problems by their path, list indexes numerically (document order)."""
    parts = re.split(r"[\[\].:]", problem.path)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)
