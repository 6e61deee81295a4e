"""Policy settings: thresholds and allow-lists declared once, as a ``PolicyConfigSchema``
(what ``pulumi preview --policy-pack-config`` validates) and read back with their defaults.

A policy declares its settings as :class:`Setting` values::

    MAX_GPUS = Setting("maxGpus", {"type": "integer", "minimum": 0}, 8, "Most GPUs one pool may reach.")
    SCHEMA = config_schema(MAX_GPUS)

and its validator reads them with ``resolve(args, MAX_GPUS)`` (the config from
``args.get_config()`` over the defaults), so the default lives in exactly one place.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyConfigSchema

ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Setting:
    """One configurable property of a policy."""

    name: str
    """camelCase key in the policy config."""
    schema: Mapping[str, Any]
    """JSON schema of the value (``type``, ``items``, ``enum``, ``minimum``, ...)."""
    default: Any
    """Value used when the config does not set it (JSON data; never mutated)."""
    description: str
    """What the setting controls, shown by ``llmops policy list`` and in the pack's schema."""

    def property_schema(self) -> dict[str, Any]:
        return {**copy.deepcopy(dict(self.schema)), "default": copy.deepcopy(self.default), "description": self.description}


ENVIRONMENT = Setting(
    "environment",
    {"type": "string", "enum": list(ENVIRONMENTS)},
    "",
    "Environment of resources that carry no Environment tag (set by config/<env>.json).",
)
"""Shared by every environment-aware policy."""

# An empty default is allowed for ``environment`` (meaning "not set"); the enum above is
# what a config file may set.
_EMPTY_OK = {"environment"}


def config_schema(*settings: Setting) -> PolicyConfigSchema:
    """The ``PolicyConfigSchema`` for ``settings`` (defaults and descriptions included)."""
    properties: dict[str, dict[str, Any]] = {}
    for setting in settings:
        schema = setting.property_schema()
        if setting.name in _EMPTY_OK and "enum" in schema:
            schema["enum"] = ["", *schema["enum"]]
        properties[setting.name] = schema
    return PolicyConfigSchema(properties=properties)


def resolve(args: Any, *settings: Setting) -> dict[str, Any]:
    """Each setting's configured value (``args.get_config()``), else its default.

    Whole numbers that arrived as floats (protobuf ``Struct`` carries only doubles) are
    turned back into ``int`` for ``integer`` settings.
    """
    raw = args.get_config() if hasattr(args, "get_config") else {}
    config: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    values: dict[str, Any] = {}
    for setting in settings:
        value = config.get(setting.name, None)
        if value is None:
            value = copy.deepcopy(setting.default)
        if setting.schema.get("type") == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)
        values[setting.name] = value
    return values
