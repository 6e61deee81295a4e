"""One Kubernetes object, checked as the API server would check it on create: a custom
resource against the vendored CRD of its kind, a built-in kind against the Kubernetes
version's schema, and ``metadata`` for both. A kind with neither is unvalidated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from llmops.validation import builtin, cel
from llmops.validation.catalog import Crd, CrdSource, choose_crd, load_crd
from llmops.validation.metadata import metadata_findings
from llmops.validation.problems import Severity, ValidationProblem, format_path
from llmops.validation.structural import (
    Finding,
    SchemaValidator,
    apply_defaults,
    list_type_findings,
    pruned_fields,
)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``karpenter.sh/v1`` -> (``karpenter.sh``, ``v1``); ``v1`` -> (``""``, ``v1``)."""
    group, _, version = api_version.rpartition("/")
    return group, version


@cache
def _schema_validator(source: CrdSource, version: str) -> SchemaValidator:
    return SchemaValidator(load_crd(source).schemas[version])


def _custom_resource_findings(obj: Mapping[str, Any], crd: Crd, version: str) -> Iterable[tuple[Finding, Severity]]:
    schema = crd.schemas[version]
    document = apply_defaults(dict(obj), schema)
    for finding in _schema_validator(crd.source, version).findings(document):
        yield finding, "error"
    for path in pruned_fields(document, schema):
        yield (path, "unknown field: not in the CRD's schema, so the API server would silently drop (prune) it"), "error"
    for finding in list_type_findings(document, schema):
        yield finding, "error"
    for rule in cel.rules(document, schema):
        outcome = cel.check(rule)
        if outcome is None:
            continue
        path = rule.path
        message = outcome.message
        if rule.field_path and outcome.failed:
            message = f"{message} [at {rule.field_path}]"
        yield (path, message), "unvalidated" if outcome.unsupported else "error"


def schema_for(api_version: str, kind: str, *, kubernetes_version: str, charts: Mapping[str, str] | None = None) -> str | None:
    """What an object of ``api_version``/``kind`` is checked against (``None``: nothing)."""
    group, _ = split_api_version(api_version)
    choice = choose_crd(group, kind, charts) if group else None
    if choice is not None:
        return choice.crd.source.label
    bundled = builtin.bundled_version(kubernetes_version)
    return bundled.label if builtin.has_schema(api_version, kind, bundled) else None


def validate_object(
    obj: Mapping[str, Any],
    *,
    kubernetes_version: str,
    charts: Mapping[str, str] | None = None,
) -> list[ValidationProblem]:
    """Every problem the API server would have with ``obj`` on create.

    A custom resource is checked against the vendored CRD of its group and kind (defaults
    applied first, then the schema, the fields that would be pruned and the CEL rules);
    ``charts`` (chart name -> version installed in the same cluster) picks the CRD version
    when several are vendored. A built-in kind is checked against ``kubernetes_version``'s
    schema (the closest bundled version when that one is not bundled). A kind with neither
    gives one ``unvalidated`` problem.
    """
    api_version = str(obj.get("apiVersion") or "")
    kind = str(obj.get("kind") or "")
    metadata = obj.get("metadata")
    name = str(metadata.get("name") or "") if isinstance(metadata, Mapping) else ""

    def problem(path: Iterable[Any], message: str, severity: Severity = "error", schema: str = "") -> ValidationProblem:
        return ValidationProblem(
            kind=kind or "?",
            api_version=api_version,
            object_name=name,
            path=format_path(path),
            message=message,
            severity=severity,
            schema=schema,
        )

    if not api_version or not kind:
        return [problem((), "apiVersion and kind are required")]
    group, version = split_api_version(api_version)
    choice = choose_crd(group, kind, charts) if group else None
    if choice is not None:
        crd = choice.crd
        label = crd.source.label
        if version not in crd.schemas:
            served = ", ".join(f"{group}/{v}" for v in crd.schemas)
            return [problem(("apiVersion",), f"no matches for kind {kind} in version {api_version}: the CRD ({label}) serves {served}", schema=label)]
        problems = [problem(path, message, schema=label) for path, message in metadata_findings(obj, kind)]
        problems += [problem(path, message, severity, label) for (path, message), severity in _custom_resource_findings(obj, crd, version)]
        return problems
    bundled = builtin.bundled_version(kubernetes_version)
    if not builtin.has_schema(api_version, kind, bundled):
        return [problem((), f"no vendored schema for {kind} ({api_version}): not validated", "unvalidated")]
    label = bundled.label
    problems = [problem(path, message, schema=label) for path, message in metadata_findings(obj, kind)]
    problems += [problem(path, message, schema=label) for path, message in builtin.findings(obj, bundled)]
    return problems
