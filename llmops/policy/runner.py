"""The offline policy runner: starts each policy pack as the Pulumi engine does and sends it
the offline engine's recorded resources through ``Analyze`` (one call per resource) and
``AnalyzeStack`` (all of them), so the very pack code that guards ``pulumi preview`` runs
here, on any Pulumi program the offline engine can plan.

Each pack gets the config file matching the stack's environment
(``<pack>/config/<environment>.json``), where the environment is the stack config's
``<project-namespace>:environment`` (``llmops:environment`` here), else the stack name.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.errors import UsageError
from llmops.policy.analyzer import Analyzer, Diagnostic, PackInfo
from llmops.policy.analyzer import Findings as AnalyzerFindings
from llmops.policy.config import load_config_file, merge_documents, resolve_config
from llmops.policy.report import (
    Findings,
    NotChecked,
    PackRun,
    PolicyReport,
    Violation,
    sort_not_checked,
    sort_violations,
)
from llmops.policy.wire import AnalyzerResource, from_plan, messages

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKS_DIR = REPO_ROOT / "policies"
DEFAULT_PACK_NAMES = ("security", "cost")
CONFIG_DIR = "config"

ConfigOverrides = Mapping[str, Mapping[str, Any]]
"""Pack name (``llmops-cost``) or pack directory -> a config document applied over the file."""


def default_packs() -> list[Path]:
    """The project's packs: ``policies/security`` and ``policies/cost``."""
    return [PACKS_DIR / name for name in DEFAULT_PACK_NAMES]


def configured_environment(config_values: Mapping[str, str]) -> str | None:
    """``llmops:environment`` (or any ``<ns>:environment``) in a stack's config, if set."""
    value = config_values.get("llmops:environment")
    if value is None:
        value = next(
            (v for k, v in sorted(config_values.items()) if k.endswith(":environment")), None
        )
    if isinstance(value, str) and value.strip():
        return value.strip().strip('"').lower()
    return None


def stack_environment(stack: str, config_values: Mapping[str, str]) -> str:
    """The stack's environment: ``llmops:environment`` (or any ``<ns>:environment``) in its
    config, else the stack name."""
    return configured_environment(config_values) or stack


def environments_of(pack_dir: Path) -> list[str]:
    """The environments a pack has a config file for (``config/<environment>.json``)."""
    directory = pack_dir / CONFIG_DIR
    if not directory.is_dir():
        return []
    return sorted(
        {
            p.stem
            for p in directory.iterdir()
            if p.suffix in (".json", ".yaml", ".yml") and p.is_file()
        }
    )


def check_environment(pack_dirs: Sequence[Path], environment: str, where: str) -> None:
    """Raises :class:`UsageError` when a pack keeps per-environment config files but none
    for ``environment``: its defaults would apply silently instead."""
    for pack_dir in pack_dirs:
        known = environments_of(pack_dir)
        if known and environment not in known:
            raise UsageError(
                f"unknown environment '{environment}' ({where}): policy pack {pack_dir.name} has config files for "
                f"{', '.join(known)} only; use one of those, or add {pack_dir / CONFIG_DIR / (environment + '.json')}"
            )


def config_file_for(pack_dir: Path, environment: str | None) -> Path | None:
    """``<pack>/config/<environment>.json`` (or ``.yaml``) when it exists."""
    if not environment:
        return None
    for suffix in (".json", ".yaml", ".yml"):
        candidate = pack_dir / CONFIG_DIR / f"{environment}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def to_findings(found: AnalyzerFindings, info: PackInfo) -> Findings:
    return Findings(
        to_violations(found.diagnostics, info),
        [NotChecked(info.name, s.policy, s.urn, s.reason) for s in found.skipped],
    )


def to_violations(diagnostics: Sequence[Diagnostic], info: PackInfo) -> list[Violation]:
    return [
        Violation(
            pack=d.pack or info.name,
            policy=d.policy,
            urn=d.urn,
            level=d.level,
            message=d.message,
            severity=d.severity,
            description=d.description,
        )
        for d in diagnostics
    ]


class PackSession:
    """A running pack that can check many sets of resources (each with its own config).

    Starting a pack costs a Python start-up; tests and ``llmops policy test`` start each
    pack once and run every case through it."""

    def __init__(
        self,
        pack_dir: Path | str,
        *,
        stack: str = "offline",
        project: str = "offline",
        config_values: Mapping[str, str] | None = None,
        secret_keys: Sequence[str] = (),
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        values = dict(config_values or {})
        env = {
            "PULUMI_PROJECT": project,
            "PULUMI_STACK": stack,
            "PULUMI_CONFIG": json.dumps(values),
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(secret_keys)),
        }
        self.analyzer = Analyzer(self.pack_dir, env=env)
        self.info = self.analyzer.info
        self.analyzer.configure_stack(stack, project, values, secret_keys)

    @property
    def name(self) -> str:
        return self.info.name

    def configure(
        self, document: Mapping[str, Any] | None = None, source: str = "(pack defaults)"
    ) -> None:
        """Validates ``document`` against the pack's schemas and sends it (defaults applied)."""
        self.analyzer.configure(resolve_config(self.info, document or {}, source))

    def run(self, requests: Sequence[Any], stack_resources: Sequence[Any]) -> Findings:
        """``Analyze`` each prepared request, then ``AnalyzeStack`` over all resources."""
        return to_findings(
            self.analyzer.analyze(requests) + self.analyzer.analyze_stack(stack_resources),
            self.info,
        )

    def check(
        self,
        resources: Sequence[AnalyzerResource],
        document: Mapping[str, Any] | None = None,
        source: str = "(pack defaults)",
    ) -> list[Violation]:
        """Configures the pack with ``document`` and checks ``resources``: the violations."""
        return self.evaluate(resources, document, source).violations

    def evaluate(
        self,
        resources: Sequence[AnalyzerResource],
        document: Mapping[str, Any] | None = None,
        source: str = "(pack defaults)",
    ) -> Findings:
        """Configures the pack with ``document`` and checks ``resources``: the violations and
        what the policies could not check."""
        self.configure(document, source)
        requests, stack = messages(resources)
        found = self.run(requests, stack)
        return Findings(sort_violations(found.violations), sort_not_checked(found.not_checked))

    def close(self) -> None:
        self.analyzer.close()

    def __enter__(self) -> PackSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _override_for(
    overrides: ConfigOverrides | None, pack_dir: Path, name: str
) -> Mapping[str, Any]:
    if not overrides:
        return {}
    for key in (name, str(pack_dir), pack_dir.name):
        if key in overrides:
            return overrides[key]
    return {}


def run_packs(
    resources: Sequence[AnalyzerResource],
    packs: Sequence[Path | str] | None = None,
    *,
    stack: str = "offline",
    project: str = "offline",
    environment: str | None = None,
    config_values: Mapping[str, str] | None = None,
    secret_keys: Sequence[str] = (),
    config_files: Mapping[Path | str, Path | str | None] | None = None,
    overrides: ConfigOverrides | None = None,
    environment_source: str | None = None,
) -> PolicyReport:
    """Runs every pack (in parallel, one process each) over ``resources``.

    ``config_files`` maps a pack directory to the config file to use (None: defaults only);
    packs not named there get ``<pack>/config/<environment>.json`` when it exists.
    ``overrides`` are applied over the file (see :data:`ConfigOverrides`). With
    ``environment_source`` (where an explicitly chosen environment came from), a pack that
    keeps per-environment config files but none for ``environment`` is an error rather than
    a silent fall back to its defaults."""
    pack_dirs = [Path(p).resolve() for p in (packs if packs is not None else default_packs())]
    for pack_dir in pack_dirs:
        if not (pack_dir / "PulumiPolicy.yaml").is_file():
            raise UsageError(
                f"{pack_dir} is not a policy pack (no PulumiPolicy.yaml); pass --pack with a pack directory"
            )
    explicit = {
        Path(k).resolve(): (Path(v) if v is not None else None)
        for k, v in (config_files or {}).items()
    }
    if environment and environment_source:
        check_environment(
            [p for p in pack_dirs if p not in explicit], environment, environment_source
        )
    built_messages: dict[str, list[Any]] = {}
    built = threading.Event()
    runs: dict[Path, PackRun] = {}
    found: dict[Path, Findings] = {}
    errors: list[BaseException] = []

    def run_one(pack_dir: Path) -> None:
        started = time.perf_counter()
        try:
            config_file = (
                explicit[pack_dir]
                if pack_dir in explicit
                else config_file_for(pack_dir, environment)
            )
            document: Mapping[str, Any] = load_config_file(config_file) if config_file else {}
            with PackSession(
                pack_dir,
                stack=stack,
                project=project,
                config_values=config_values,
                secret_keys=secret_keys,
            ) as session:
                document = merge_documents(
                    document, _override_for(overrides, pack_dir, session.name)
                )
                session.configure(
                    document, str(config_file) if config_file else f"(defaults of {session.name})"
                )
                built.wait()  # the messages are built while the packs start
                if "requests" not in built_messages:
                    return
                found[pack_dir] = session.run(built_messages["requests"], built_messages["stack"])
                runs[pack_dir] = PackRun(
                    name=session.name,
                    version=session.info.version,
                    path=pack_dir,
                    config=config_file,
                    policies=len(session.info.policies),
                    seconds=time.perf_counter() - started,
                )
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    threads = [
        threading.Thread(target=run_one, args=(p,), name=f"policy-{p.name}") for p in pack_dirs
    ]
    for t in threads:
        t.start()
    try:
        built_messages["requests"], built_messages["stack"] = messages(resources)
    finally:
        built.set()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    report = PolicyReport(stack=stack, environment=environment)
    for pack_dir in pack_dirs:
        report.packs.append(runs[pack_dir])
        report.violations.extend(found[pack_dir].violations)
        report.not_checked.extend(found[pack_dir].not_checked)
    report.violations = sort_violations(report.violations)
    report.not_checked = sort_not_checked(report.not_checked)
    return report


def run_policies(
    result: Any,
    packs: Sequence[Path | str] | None = None,
    environment: str | None = None,
    *,
    config_files: Mapping[Path | str, Path | str | None] | None = None,
    overrides: ConfigOverrides | None = None,
) -> PolicyReport:
    """Runs the policy packs (default: the project's security and cost packs) over an
    offline plan (:class:`~llmops.engine.PlanResult`) and returns what they found.

    ``environment`` picks each pack's ``config/<environment>.json``; by default it is the
    stack's ``llmops:environment``, else the stack name. An environment given here or in the
    stack config must have a config file in every pack that keeps them (a stack name that
    matches none runs the packs' defaults)."""
    values = dict(result.config.values)
    configured = configured_environment(values)
    env = environment or configured or result.stack
    source = (
        "--environment"
        if environment
        else (f"the stack config of '{result.stack}'" if configured else None)
    )
    return run_packs(
        from_plan(result),
        packs,
        stack=result.stack,
        project=result.project,
        environment=env,
        config_values=values,
        secret_keys=list(result.config.secret_keys),
        config_files=config_files,
        overrides=overrides,
        environment_source=source,
    )
