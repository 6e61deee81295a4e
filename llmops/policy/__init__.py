"""Policy checks on every plan: the offline policy runner and its report.

:func:`run_policies` starts each policy pack as the Pulumi engine does (the pack's program
serves the analyzer over gRPC) and sends it an offline plan's resources through
``Analyze`` and ``AnalyzeStack``; it returns a :class:`PolicyReport` (``.packs``,
``.violations``, ``.not_checked``, ``.mandatory_count``, ``.to_document()``, ``.to_markdown()``,
``.render(console)``). :class:`PackSession` keeps one pack running for many checks.
"""

from llmops.policy.analyzer import Analyzer, PackInfo, PolicyError, PolicyInfo
from llmops.policy.config import PolicyConfigError, resolve_config
from llmops.policy.report import Findings, NotChecked, PackRun, PolicyReport, Violation
from llmops.policy.runner import (
    PackSession,
    config_file_for,
    default_packs,
    run_packs,
    run_policies,
    stack_environment,
)
from llmops.policy.wire import AnalyzerResource, ProviderRef, from_plan

__all__ = [
    "Analyzer",
    "AnalyzerResource",
    "Findings",
    "NotChecked",
    "PackInfo",
    "PackRun",
    "PackSession",
    "PolicyConfigError",
    "PolicyError",
    "PolicyInfo",
    "PolicyReport",
    "ProviderRef",
    "Violation",
    "config_file_for",
    "default_packs",
    "from_plan",
    "resolve_config",
    "run_packs",
    "run_policies",
    "stack_environment",
]
