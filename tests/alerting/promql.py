"""What the dashboards and the alert rules query: their PromQL expressions and the metric
names in them, and the DCGM exporter's metric list kept in the repository."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from components.prometheus_rules import RuleThresholds, rule_groups
from tests.support import REPO

DASHBOARDS = REPO / "dashboards"
DCGM_METRICS = DASHBOARDS / "metrics" / "dcgm-exporter-4.5.2.csv"

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_RANGES = re.compile(r"\[[^\]]*\]")
_OFFSETS = re.compile(r"\boffset\s+\S+")
_IDENTIFIER = re.compile(r"(?<![\w$.])([A-Za-z_:][A-Za-z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"})


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (labels, functions, aggregations,
    durations and template variables left out)."""
    text = _STRINGS.sub(" ", expr)
    text = _MATCHERS.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _OFFSETS.sub(" ", text)
    return {m for m in _IDENTIFIER.findall(text) if m.lower() not in _KEYWORDS}


def dashboard_expressions() -> Iterator[tuple[str, str]]:
    """(dashboard/panel, expression) of every panel target and query variable."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                yield f"{path.stem}/{panel['title']}", target["expr"]
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") == "query":
                query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
                inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
                yield f"{path.stem}/${variable['name']}", inner.group(1) if inner else query


def rule_expressions() -> Iterator[tuple[str, str]]:
    """(alert, expression) of every platform alert."""
    for group in rule_groups(RuleThresholds(), "docs/runbooks"):
        for rule in group["rules"]:
            yield rule["alert"], rule["expr"]


def queried_metrics() -> dict[str, set[str]]:
    """Every metric name the dashboards and rules use, with where it is used."""
    used: dict[str, set[str]] = {}
    for where, expr in [*dashboard_expressions(), *rule_expressions()]:
        for name in metric_names(expr):
            used.setdefault(name, set()).add(where)
    return used


def dcgm_metrics() -> set[str]:
    """The fields the DCGM exporter exports as installed (the uncommented lines of its list)."""
    names = set()
    for line in DCGM_METRICS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split(",", 1)[0].strip())
    return names
