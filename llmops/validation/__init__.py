"""Offline validation of what a plan would send to Kubernetes.

A plan proves the program runs, not that the cluster accepts what it renders. This package
checks every object the way the API server would on create, against the schemas of the
exact versions the project pins, vendored in ``llmops/validation/schemas/`` (see its
``SOURCES.md``):

- built-in kinds against the cluster's Kubernetes version (``kubernetes-validate``, strict);
- custom resources against their CRD: defaults applied, then the OpenAPI schema, the
  fields the API server would silently prune, and the CRD's CEL rules (``cel-python``);
- Helm values against the chart's own ``values.yaml`` (and its subcharts'): unknown keys
  and type mismatches, which Helm would silently ignore.

Public API: :func:`validate_object`, :func:`validate_helm_values`, :func:`validate_plan`,
:class:`ValidationProblem`, :class:`ValidationReport`.
"""

from __future__ import annotations

from llmops.validation.helm import validate_helm_values
from llmops.validation.objects import validate_object
from llmops.validation.plan import DEFAULT_KUBERNETES_VERSION, validate_plan
from llmops.validation.problems import ValidationProblem, ValidationReport

VALIDATION_FAILED_EXIT_CODE = 4
"""Exit code of ``llmops plan`` when a rendered object would be rejected (1 is a failed run,
2 bad command-line input, 3 a mandatory policy violation)."""

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "VALIDATION_FAILED_EXIT_CODE",
    "ValidationProblem",
    "ValidationReport",
    "validate_helm_values",
    "validate_object",
    "validate_plan",
]
