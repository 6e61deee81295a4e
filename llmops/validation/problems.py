"""What validation found: one :class:`ValidationProblem` per finding, and the
:class:`ValidationReport` of a plan (the ``validation`` section of the plan document and its
text form)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console

Severity = Literal["error", "unvalidated"]
"""``error``: the API server (or Helm) would reject or silently drop it; ``unvalidated``: no
vendored schema covers it, so it is listed, not failed."""

PathPart = str | int
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def format_path(parts: Iterable[PathPart]) -> str:
    """``("spec", "requirements", 0, "operator")`` -> ``spec.requirements[0].operator``; keys
    that are not plain names are quoted: ``metadata.labels["nvidia.com/gpu"]``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def join_path(base: str, parts: Iterable[PathPart]) -> str:
    """``base`` followed by ``parts`` (``values`` + ``("nfd", "worker")`` -> ``values.nfd.worker``)."""
    tail = format_path(parts)
    if not base:
        return tail
    if not tail:
        return base
    return f"{base}{tail}" if tail.startswith("[") else f"{base}.{tail}"


@dataclass(frozen=True)
class ValidationProblem:
    """One thing the cluster (or Helm) would reject, or could not be checked offline."""

    kind: str
    """The object's kind (``NodePool``), or ``Release`` for Helm values."""
    api_version: str
    """The object's apiVersion (``karpenter.sh/v1``), or ``helm.sh/v3`` for Helm values."""
    object_name: str
    """``metadata.name`` of the object (the release name for Helm values); empty when the
    provider will generate it."""
    path: str
    """Where in the object, as a JSON path: ``spec.template.spec.requirements[0].operator``
    (``values.controller.resources`` for Helm values; empty for the object as a whole)."""
    message: str
    severity: Severity = "error"
    urn: str = ""
    """The Pulumi resource's URN (empty when an object is validated on its own)."""
    resource_name: str = ""
    """The Pulumi resource's name."""
    schema: str = ""
    """What it was checked against: ``karpenter-1.14.1/karpenter.sh_nodepools.yaml``,
    ``kubernetes 1.35 (kubernetes-validate)``, ``nvidia-device-plugin-0.17.4/values.yaml``."""

    @property
    def where(self) -> str:
        """``NodePool/gpu spec.limits`` (kind, object name and path)."""
        name = f"{self.kind}/{self.object_name}" if self.object_name else self.kind
        return f"{name} {self.path}" if self.path else name

    def to_document(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "resource": self.resource_name,
            "kind": self.kind,
            "apiVersion": self.api_version,
            "objectName": self.object_name,
            "path": self.path,
            "message": self.message,
            "severity": self.severity,
            "schema": self.schema,
        }

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def sort_problems(problems: Iterable[ValidationProblem]) -> list[ValidationProblem]:
    """Errors first, then by resource, path and message (a stable order for plan documents)."""
    rank = {"error": 0, "unvalidated": 1}
    return sorted(problems, key=lambda p: (rank.get(p.severity, 9), p.urn, p.kind, p.object_name, p.path, p.message))


@dataclass
class ValidationReport:
    """Every Kubernetes object and Helm release of a plan, checked against the schemas of the
    versions the plan pins."""

    problems: list[ValidationProblem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    """How many objects were checked, by kind (``Release`` counts Helm releases)."""
    kubernetes_versions: dict[str, str] = field(default_factory=dict)
    """Cluster (its Kubernetes provider's resource name) -> the Kubernetes version its
    built-in kinds were checked against."""
    notes: list[str] = field(default_factory=list)
    """What the reader should know about how the check was made (a version not bundled,
    a cluster whose version the plan does not say)."""

    @property
    def errors(self) -> list[ValidationProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def unvalidated(self) -> list[ValidationProblem]:
        return [p for p in self.problems if p.severity == "unvalidated"]

    @property
    def passed(self) -> bool:
        """No object the cluster would reject."""
        return not self.errors

    def to_document(self) -> dict[str, Any]:
        """The ``validation`` section of ``llmops plan --json``."""
        return {
            "summary": {
                "checked": dict(sorted(self.checked.items())),
                "errors": len(self.errors),
                "unvalidated": len(self.unvalidated),
                "passed": self.passed,
            },
            "kubernetesVersions": dict(sorted(self.kubernetes_versions.items())),
            "notes": list(self.notes),
            "problems": [p.to_document() for p in sort_problems(self.problems)],
        }

    def render(self, console: Console) -> None:
        """Errors (each with its resource, object and path), what was left unvalidated, then a
        one-line verdict."""
        from rich.markup import escape

        for title, style, items in (
            ("REJECTED", "bold red", self.errors),
            ("UNVALIDATED", "yellow", self.unvalidated),
        ):
            if not items:
                continue
            console.print(f"[{style}]{title}[/] ({len(items)})")
            for p in sort_problems(items):
                resource = f" [dim]({escape(p.resource_name)})[/]" if p.resource_name else ""
                console.print(f"  [{style}]✗[/] [bold]{escape(p.where)}[/]{resource}", highlight=False)
                console.print(f"      {escape(p.message)}", highlight=False, soft_wrap=True)
        for note in self.notes:
            console.print(f"  [dim]note: {escape(note)}[/]", highlight=False, soft_wrap=True)
        total = sum(self.checked.values())
        verdict = "[bold red]rejected[/]" if not self.passed else "[bold green]passed[/]"
        console.print(
            f"validation: {verdict}: {len(self.errors)} error(s), {len(self.unvalidated)} unvalidated, "
            f"{total} object(s) checked",
            highlight=False,
        )

