"""Every policy's pass and fail cases (``policies/<pack>/fixtures``), each run through the
pack's real analyzer, plus the pack conventions ``llmops policy test`` enforces."""

from __future__ import annotations

import pytest

from llmops.policy import PackSession
from llmops.policy.fixtures import convention_problems, pack_cases, run_case
from tests.policy.conftest import COST, SECURITY

CASES = [("security", c) for c in pack_cases(SECURITY)] + [("cost", c) for c in pack_cases(COST)]


@pytest.mark.parametrize(("pack", "case"), CASES, ids=[f"{p}:{c.label}" for p, c in CASES])
def test_case_through_analyzer(pack: str, case: object, sessions: dict[str, PackSession]) -> None:
    result = run_case(sessions[pack], case)  # type: ignore[arg-type]
    assert result.ok, f"{result.case.label}: {result.problem}"
    urns = {r.urn for r in result.case.resources}
    for violation in result.violations:  # every violation names one of the case's resources (or the stack)
        assert violation.urn in urns or violation.urn == "", violation
        assert violation.message and violation.pack in ("llmops-security", "llmops-cost")


@pytest.mark.parametrize("pack", ["security", "cost"])
def test_every_policy_has_a_passing_and_a_failing_case(pack: str, sessions: dict[str, PackSession]) -> None:
    session = sessions[pack]
    cases = pack_cases(session.pack_dir)
    for policy in session.info.policies:
        expectations = {c.expect for c in cases if c.policy == policy.name}
        assert expectations == {"pass", "fail"}, f"{policy.name} has {sorted(expectations)}"


@pytest.mark.parametrize("pack", ["security", "cost"])
def test_pack_conventions(pack: str, sessions: dict[str, PackSession]) -> None:
    session = sessions[pack]
    assert convention_problems(session.info, session.pack_dir, pack_cases(session.pack_dir)) == []


def test_pack_policy_inventory(sessions: dict[str, PackSession]) -> None:
    security = {p.name: (p.kind, p.level) for p in sessions["security"].info.policies}
    cost = {p.name: (p.kind, p.level) for p in sessions["cost"].info.policies}
    assert sessions["security"].info.name == "llmops-security"
    assert sessions["cost"].info.name == "llmops-cost"
    assert sessions["cost"].info.version == "0.1.0"  # from PulumiPolicy.yaml, as the CLI reads it
    assert security["no-public-ingress"] == ("stack", "mandatory")
    assert security["s3-bucket-baseline"] == ("stack", "mandatory")
    assert security["kms-encryption-at-rest"] == ("resource", "mandatory")
    assert cost["monthly-budget"] == ("stack", "mandatory")
    assert cost["gpu-capacity-limits"] == ("stack", "mandatory")
    assert security["no-public-resource-policies"] == ("resource", "mandatory")
    assert security["route53-no-dangling-records"] == ("stack", "mandatory")
    assert security["no-exclusive-management-conflicts"] == ("stack", "advisory")
    assert "iam-no-inline-admin" not in security and security["iam-no-admin"] == ("resource", "mandatory")
    assert len(security) == 42 and len(cost) == 8
