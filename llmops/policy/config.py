"""Policy pack configuration, in the format ``pulumi preview --policy-pack-config`` reads::

    {
      "all": "advisory",                              # every policy's enforcement level
      "gpu-spot-in-dev": "disabled",                  # one policy's level
      "gpu-pool-max-gpus": {"enforcementLevel": "mandatory", "maxGpusPerPool": 8}
    }

:func:`resolve_config` validates a document against the schemas the pack declares
(``GetAnalyzerInfo``) and applies the schema defaults, as the engine does before it calls
``Configure``. Every problem is reported at once, each naming the file, the policy, the
setting and how to fix it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import UsageError
from llmops.policy.analyzer import PackInfo

LEVEL_NAMES = ("advisory", "mandatory", "remediate", "disabled")
ALL = "all"


class PolicyConfigError(UsageError):
    """A policy config document is invalid; ``problems`` lists every problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid policy config {source} ({len(problems)} problem(s)):\n{lines}")


def load_config_file(path: Path) -> dict[str, Any]:
    """Reads a policy config file (JSON; YAML also accepted)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read policy config {path}: {exc.strerror}; check the path") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else _yaml(text)
    except ValueError as exc:
        raise PolicyConfigError(str(path), [f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"]) from None
    if not isinstance(document, dict):
        raise PolicyConfigError(str(path), ["must be an object mapping policy names to a level or settings, e.g. {\"policy-name\": \"advisory\"}"])
    return document


def _yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def _hint(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "null":
        return value is None
    return True


def check_value(value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
    """Problems of ``value`` against a (subset of) JSON schema: type, enum, minimum,
    maximum, minItems, items, properties, additionalProperties."""
    kinds = schema.get("type")
    kinds_list = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if kinds_list and not any(_is_type(value, k) for k in kinds_list):
        expected = " or ".join(_TYPE_WORDS.get(k, k) for k in kinds_list)
        example = _example(schema)
        return [f"{path}: must be {expected} (got {json.dumps(value)})" + (f"; e.g. {example}" if example else "")]
    problems: list[str] = []
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        shown = [e for e in enum if e != ""]
        hint = _hint(value, [str(e) for e in shown]) if isinstance(value, str) else ""
        problems.append(f"{path}: must be one of {', '.join(json.dumps(e) for e in shown)} (got {json.dumps(value)}){hint}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: must be >= {schema['minimum']} (got {value})")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: must be <= {schema['maximum']} (got {value})")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append(f"{path}: must list at least {int(schema['minItems'])} item(s)")
        item_schema = schema.get("items")
        if isinstance(item_schema, Mapping):
            for index, item in enumerate(value):
                problems += check_value(item, item_schema, f"{path}[{index}]")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, item in value.items():
            if key in properties:
                problems += check_value(item, properties[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}.{key}: unknown key{_hint(key, list(properties))}; valid keys: {', '.join(properties)}")
    return problems


def _example(schema: Mapping[str, Any]) -> str:
    default = schema.get("default")
    if default not in (None, "", [], {}):
        return json.dumps(default)
    kind = schema.get("type")
    return {"integer": "8", "number": "1.5", "boolean": "true", "string": '"text"', "array": '["a", "b"]'}.get(str(kind), "")


def resolve_config(info: PackInfo, document: Mapping[str, Any], source: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Validates ``document`` for the pack and returns, for every policy, its enforcement
    level and its settings with the schema defaults applied (what ``Configure`` receives).

    Raises :class:`PolicyConfigError` listing every problem."""
    problems: list[str] = []
    names = [p.name for p in info.policies]
    all_level: str | None = None
    levels: dict[str, str] = {}
    settings: dict[str, dict[str, Any]] = {}

    def level_of(value: Any, where: str) -> str | None:
        if isinstance(value, str) and value in LEVEL_NAMES:
            return value
        problems.append(f"{where}: enforcement level must be one of {', '.join(LEVEL_NAMES)} (got {json.dumps(value)})")
        return None

    # The pack's own initial config first, then the document over it.
    layers: list[tuple[Mapping[str, Any], str]] = [(info.initial_config, f"pack {info.name} initial config"), (document, source)]
    for layer, _where in layers:
        for key, value in layer.items():
            if key == ALL:
                level_value = value.get("enforcementLevel") if isinstance(value, Mapping) else value
                all_level = level_of(level_value, ALL) or all_level
                continue
            policy = info.policy(key)
            if policy is None:
                problems.append(f"{key}: no such policy in pack '{info.name}'{_hint(key, names)}; policies: {', '.join(names)}")
                continue
            if isinstance(value, str):
                level = level_of(value, key)
                if level:
                    levels[key] = level
                continue
            if not isinstance(value, Mapping):
                problems.append(f"{key}: must be an enforcement level or an object of settings (got {json.dumps(value)})")
                continue
            for setting, setting_value in value.items():
                if setting == "enforcementLevel":
                    level = level_of(setting_value, f"{key}.enforcementLevel")
                    if level:
                        levels[key] = level
                    continue
                schema = policy.config_schema.get(setting)
                if schema is None:
                    known = list(policy.config_schema)
                    valid = f"; valid settings: {', '.join(known)}" if known else "; this policy takes no settings, only enforcementLevel"
                    problems.append(f"{key}.{setting}: unknown setting{_hint(setting, known)}{valid}")
                    continue
                problems += check_value(setting_value, schema, f"{key}.{setting}")
                settings.setdefault(key, {})[setting] = setting_value
    if problems:
        raise PolicyConfigError(source, problems)
    resolved: dict[str, tuple[str, dict[str, Any]]] = {}
    for policy in info.policies:
        defaults = {k: s["default"] for k, s in policy.config_schema.items() if isinstance(s, Mapping) and "default" in s}
        level = levels.get(policy.name) or all_level or policy.level
        resolved[policy.name] = (level, {**defaults, **settings.get(policy.name, {})})
    return resolved


def merge_documents(*documents: Mapping[str, Any]) -> dict[str, Any]:
    """Later documents override earlier ones, setting by setting."""
    merged: dict[str, Any] = {}
    for document in documents:
        for key, value in document.items():
            previous = merged.get(key)
            if isinstance(previous, Mapping) and isinstance(value, Mapping):
                merged[key] = {**previous, **value}
            elif isinstance(previous, Mapping) and isinstance(value, str):
                merged[key] = {**previous, "enforcementLevel": value}
            elif isinstance(previous, str) and isinstance(value, Mapping):
                merged[key] = {"enforcementLevel": previous, **value}
            else:
                merged[key] = value
    return merged
