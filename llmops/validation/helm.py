"""Helm values against the chart's own default ``values.yaml`` at the pinned version.

Helm renders whatever it is given: a misspelled key is silently ignored and the release
deploys without the setting. So a key the chart does not have is an error, and so is a
value of another type than the chart's default (a map where the chart has a list, a
string where it has a boolean). Not checked further (open):

- maps whose default is empty (``{}``): free-form by construction (``podAnnotations: {}``);
- keys that carry Kubernetes objects through to a manifest, whatever their default
  (:data:`PASS_THROUGH`: ``nodeSelector``, ``affinity``, ``resources``, ...);
- per-chart paths that take a foreign format (:data:`OPEN_PATHS`, e.g. the Alertmanager
  config in kube-prometheus-stack);
- keys the chart documents only as comments (``# priorityClassName: ""`` in a mapping):
  they are known keys of unknown shape;
- a key whose default is ``null`` takes any type.

Subcharts: values under a dependency's key (its alias) are checked against the subchart's
vendored ``values.yaml`` merged with the parent's defaults for it; a dependency whose values
are not vendored is reported as unvalidated. ``global`` and the dependencies' condition keys
(``nfd.enabled``) are always allowed.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from llmops.validation.catalog import ChartSource, catalog, load_values
from llmops.validation.problems import PathPart, Severity, ValidationProblem, join_path
from llmops.validation.values import Opaque

PASS_THROUGH = frozenset(
    {
        "nodeSelector", "tolerations", "affinity", "topologySpreadConstraints", "resources",
        "securityContext", "podSecurityContext", "containerSecurityContext", "labels", "annotations",
        "podLabels", "podAnnotations", "additionalLabels", "commonLabels", "env", "extraEnv", "envFrom",
        "extraArgs", "extraVolumes", "extraVolumeMounts", "dnsConfig",
    }
)  # fmt: skip
"""Keys whose value is a Kubernetes object (or a free map) the chart copies into a manifest."""

OPEN_PATHS: dict[str, frozenset[tuple[str, ...]]] = {
    "kube-prometheus-stack": frozenset({("alertmanager", "config"), ("alertmanager", "templateFiles")}),
    "grafana": frozenset({("grafana.ini",), ("datasources",), ("dashboards",), ("dashboardProviders",)}),
    "node-feature-discovery": frozenset({("worker", "config"), ("master", "config"), ("topologyUpdater", "config")}),
}
"""Per chart: paths whose value is another program's configuration, not the chart's."""

API_VERSION = "helm.sh/v3"
KIND = "Release"
_COMMENTED_KEY = re.compile(r"^(?P<indent>[ ]*)#[ ]?(?P<key>[A-Za-z_][A-Za-z0-9_.-]*):(?:\s|$)")
_KEY = re.compile(r"^(?P<indent>[ ]*)(?P<key>[A-Za-z_][A-Za-z0-9_./-]*|\"[^\"]+\"|'[^']+'):(?:\s|$)")


def chart_name(chart: str) -> str:
    """``oci://public.ecr.aws/karpenter/karpenter`` or ``repo/karpenter`` -> ``karpenter``."""
    return chart.rstrip("/").rsplit("/", 1)[-1]


def documented_keys(text: str) -> frozenset[tuple[str, ...]]:
    """Paths of keys a values file documents only as comments (``  # key: value`` at the
    indentation of the mapping's other keys)."""
    found: set[tuple[str, ...]] = set()
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        commented = _COMMENTED_KEY.match(line)
        if commented is not None:
            indent = len(commented["indent"])
            parents = [key for level, key in stack if level < indent]
            found.add((*parents, commented["key"]))
            continue
        real = _KEY.match(line)
        if real is not None:
            indent = len(real["indent"])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, real["key"].strip("\"'")))
    return frozenset(found)


def _merge(base: Any, override: Any) -> Any:
    """Helm's coalescing for the purpose of knowing keys: maps merged, the override wins."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override if override is not None else base


def _set_default(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node.setdefault(path[-1], value)


class _Chart:
    """A chart's effective defaults: its values, its subcharts' under their keys, condition
    keys and ``global``; and what is open or only documented."""

    def __init__(self, source: ChartSource) -> None:
        self.source = source
        defaults: dict[str, Any] = copy.deepcopy(dict(load_values(source.directory)))
        self.documented: set[tuple[str, ...]] = set(documented_keys((source.directory / "values.yaml").read_text(encoding="utf-8")))
        self.subcharts: dict[str, str] = {}
        """key -> chart name of each subchart whose values are vendored."""
        self.unvendored: set[str] = set()
        for dep in source.dependencies:
            if dep.directory is not None:
                sub_defaults = copy.deepcopy(dict(load_values(dep.directory)))
                defaults[dep.key] = _merge(sub_defaults, defaults.get(dep.key))
                sub_text = (dep.directory / "values.yaml").read_text(encoding="utf-8")
                self.documented |= {(dep.key, *p) for p in documented_keys(sub_text)}
                self.subcharts[dep.key] = dep.name
            else:
                self.unvendored.add(dep.key)
                defaults.setdefault(dep.key, {})
            for condition in dep.conditions:
                _set_default(defaults, condition.split("."), False)
            if dep.tags:
                _set_default(defaults, ["tags"], {})
        defaults.setdefault("global", {})
        self.defaults = defaults

    def open_at(self, path: tuple[str, ...]) -> bool:
        if path and path[-1] in PASS_THROUGH:
            return True
        chart = self.source.name
        relative = path
        if path and path[0] in self.subcharts:
            chart, relative = self.subcharts[path[0]], path[1:]
        return relative in OPEN_PATHS.get(chart, frozenset()) or path in OPEN_PATHS.get(self.source.name, frozenset())


@cache
def _chart(source: ChartSource) -> _Chart:
    return _Chart(source)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__


def _walk(
    chart: _Chart, value: Any, default: Any, path: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], str, Severity]]:
    if value is None or default is None or isinstance(value, Opaque):
        return  # null deletes a default in Helm; a null default takes anything
    if _type_name(value) != _type_name(default):
        yield path, f"expected a {_type_name(default)} (the chart's default is {_short(default)}), got a {_type_name(value)}", "error"
        return
    if not isinstance(value, dict) or not isinstance(default, dict):
        return
    keys = tuple(str(p) for p in path)
    if len(keys) == 1 and keys[0] in chart.unvendored and not default:
        yield path, f"not checked: the values of subchart {keys[0]!r} are not vendored", "unvalidated"
        return
    if not default or chart.open_at(keys) or keys == ("global",):
        return
    for key, item in value.items():
        if key in default:
            yield from _walk(chart, item, default[key], (*path, key))
        elif (*keys, key) in chart.documented:
            continue
        elif keys and keys[0] in chart.unvendored:
            yield (*path, key), f"not checked: the values of subchart {keys[0]!r} are not vendored", "unvalidated"
        else:
            hint = difflib.get_close_matches(key, [str(k) for k in default], n=1)
            fix = f'; did you mean "{hint[0]}"?' if hint else ""
            yield (*path, key), f"unknown key: chart {chart.source.name} {chart.source.version} has no such value (Helm ignores it){fix}", "error"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_helm_values(chart: str, version: str, values: Mapping[str, Any]) -> list[ValidationProblem]:
    """Problems of ``values`` for ``chart`` at ``version`` (a chart reference such as
    ``oci://.../karpenter`` is reduced to its name). A chart whose values are not vendored
    at that version gives one ``unvalidated`` problem."""
    name = chart_name(chart)
    source = catalog().chart(name, version) if version else None

    def problem(path: tuple[PathPart, ...], message: str, severity: Severity, schema: str = "") -> ValidationProblem:
        return ValidationProblem(
            kind=KIND,
            api_version=API_VERSION,
            object_name=name,
            path=join_path("values", path),
            message=message,
            severity=severity,
            schema=schema,
        )

    if source is None:
        vendored = catalog().chart_versions(name)
        if not version:
            why = "no chart version is pinned"
        elif vendored:
            why = f"no vendored values for {name} {version} (vendored: {', '.join(vendored)})"
        else:
            why = f"no vendored values for chart {name}"
        return [problem((), f"values not checked: {why}", "unvalidated")]
    effective = _chart(source)
    if not isinstance(values, Mapping):
        return [problem((), f"expected a map of values, got a {_type_name(values)}", "error", source.label)]
    return [problem(path, message, severity, source.label) for path, message, severity in _walk(effective, dict(values), effective.defaults, ())]
