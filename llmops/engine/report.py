"""The plan document: the offline engine's public JSON interface.

Top level: ``stack``, ``project``, ``regions``, ``resources``, ``reads``, ``dataSources``
and ``outputs`` (later sections such as ``cost`` and ``policy`` are added beside them by
their modules). Each resource has ``urn``, ``type``, ``name``, ``custom``, ``parent``,
``region``, ``provider``, ``dependencies``, ``propertyDependencies`` and ``inputs``;
``reads`` lists the existing resources the program reads (``Resource.get``, stack
references) with their ``id``; ``dataSources`` counts the data-source calls and lists the
ones answered with the engine's defaults (``defaulted``: no rule knows them, so their
result came from their declared type alone). Everything is sorted, and secrets are masked,
so the document is byte-identical across runs.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from llmops.engine.project import SECRET_PLACEHOLDER
from llmops.engine.runner import STACK_TYPE, PlanResult, ResourceRecord

SCHEMA_VERSION = 1


def json_safe(value: Any) -> Any:
    """Deserialized RPC values -> plain JSON (secrets masked, assets and resources described)."""
    from pulumi import Archive, Asset, Resource
    from pulumi.runtime import known_types, rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return SECRET_PLACEHOLDER
        return {str(k): json_safe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is rpc.UNKNOWN or value == rpc.UNKNOWN or known_types.is_unknown(value):
        return "[unknown]"
    if isinstance(value, Asset | Archive):
        described = {k: v for k, v in vars(value).items() if isinstance(v, str | int | float | bool)}
        return {"$asset": type(value).__name__, **described}
    if isinstance(value, Resource):
        return {"$resource": type(value).__name__}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def resource_document(record: ResourceRecord) -> dict[str, Any]:
    return {
        "urn": record.urn,
        "type": record.type,
        "name": record.name,
        "custom": record.custom,
        "parent": record.parent,
        "region": record.region,
        "provider": record.provider,
        "dependencies": record.dependencies,
        "propertyDependencies": dict(sorted(record.property_dependencies.items())),
        "inputs": json_safe(record.inputs),
    }


def plan_document(result: PlanResult) -> dict[str, Any]:
    """The plan as the JSON document ``llmops plan --json`` writes."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "project": result.project,
        "stack": result.stack,
        "regions": result.regions,
        "summary": summary(result),
        "resources": [resource_document(r) for r in result.resources],
        "reads": [{**resource_document(r), "id": r.id} for r in result.reads],
        "dataSources": {"calls": dict(sorted(result.data_sources.items())), "defaulted": sorted(result.unmocked_calls)},
        "outputs": json_safe(result.outputs),
    }


def summary(result: PlanResult) -> dict[str, Any]:
    """Counts by region and by type."""
    resources = [r for r in result.resources if r.type != STACK_TYPE]
    by_region = Counter(r.region or "global" for r in resources)
    by_type = Counter(r.type for r in resources)
    return {
        "resources": len(resources),
        "custom": sum(1 for r in resources if r.custom),
        "components": sum(1 for r in resources if not r.custom and not r.type.startswith("pulumi:providers:")),
        "byRegion": dict(sorted(by_region.items())),
        "byType": dict(sorted(by_type.items())),
    }


def dumps(document: dict[str, Any]) -> str:
    """Stable JSON text (sorted keys, fixed indentation, trailing newline)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
