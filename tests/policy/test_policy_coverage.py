"""The Checkov/AWSGuard coverage table (policies/coverage.yaml, docs/policy-coverage.md)
against Checkov's registry snapshot, the packs and their fixtures."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from llmops.policy import PackSession
from llmops.policy.fixtures import pack_cases
from policies import coverage
from tests.policy.conftest import REPO, SECURITY

DATA = coverage.load()
REGISTRY = coverage.load_registry()


def _script() -> object:
    spec = importlib.util.spec_from_file_location("policy_coverage", REPO / "scripts" / "policy_coverage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_coverage_lists_every_registry_check_for_the_platforms_types() -> None:
    assert coverage.problems(DATA, REGISTRY) == []
    assert len(DATA.checkov) == len(REGISTRY.checks) - len(DATA.ignored) >= 150


def test_registry_snapshot_matches_the_installed_checkov() -> None:
    if importlib.util.find_spec("checkov") is None:
        pytest.skip("checkov is not installed here (it pins older boto3); scripts/policy_coverage.py check runs it apart")
    live = coverage.registry_from_checkov(DATA.scope)
    assert coverage.problems(DATA, live) == []


def test_scope_names_real_pulumi_types() -> None:
    for pulumi_type in {t for ts in DATA.scope.values() for t in ts}:
        package, _, name = re.match(r"^aws:(\w+)/(\w+):(\w+)$", pulumi_type).groups()  # type: ignore[union-attr]
        module = importlib.import_module(f"pulumi_aws.{'lambda_' if package == 'lambda' else package}")
        cls = getattr(module, name, None)
        assert cls is not None, f"{pulumi_type}: pulumi_aws.{package} has no {name}"
        source = Path(importlib.import_module(cls.__module__).__file__ or "").read_text(encoding="utf-8")
        assert f"'{pulumi_type}'" in source, f"{pulumi_type}: not the type token of pulumi_aws.{package}.{name}"


def test_every_covering_policy_exists_with_pass_and_fail_cases_on_the_checks_types(security_session: PackSession) -> None:
    names = {p.name for p in security_session.info.policies}
    cases = pack_cases(SECURITY)
    missing = []
    for entry in [*DATA.checkov.values(), *DATA.awsguard.values()]:
        if entry.status == "not-applicable":
            continue
        assert entry.policy in names, f"{entry.id}: no policy {entry.policy} in {security_session.name}"
        types = set(coverage.entry_types(entry, DATA, REGISTRY))
        assert types, entry.id
        for expect in ("pass", "fail"):
            if not any(c.policy == entry.policy and c.expect == expect and {r.type for r in c.resources} & types for c in cases):
                missing.append(f"{entry.id}: no '{expect}' case of {entry.policy} with a resource of {sorted(types)}")
    assert missing == []


def test_coverage_page_is_up_to_date() -> None:
    rendered = _script().render_document()  # type: ignore[attr-defined]
    assert (REPO / "docs" / "policy-coverage.md").read_text(encoding="utf-8") == rendered, "run: python scripts/policy_coverage.py render"
    assert "| `CKV_AWS_338` | Ensure CloudWatch log groups retains logs for at least 1 year | `log-group-retention` | setting |" in rendered
