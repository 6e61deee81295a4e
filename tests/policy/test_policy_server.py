"""The packs' routing analyzer (policies.common.server) answers exactly as the SDK's own
analyzer does: every fixture case and the reference programs, through both, in process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from llmops.engine import plan
from llmops.policy import PackSession, from_plan
from llmops.policy.analyzer import LEVEL_VALUES
from llmops.policy.config import resolve_config
from llmops.policy.fixtures import pack_cases
from llmops.policy.wire import AnalyzerResource, analyze_request, stack_resource
from policies.common.policy import ResourcePolicy, StackPolicy
from policies.common.server import RoutingAnalyzer
from policies.cost import pack as cost_pack
from policies.security import pack as security_pack
from tests.policy.conftest import COST, SECURITY
from tests.policy.test_policy_reference import PROGRAM

PACKS = {"security": (security_pack, SECURITY), "cost": (cost_pack, COST)}


def _configure_request(
    resolved: dict[str, tuple[str, dict[str, Any]]],
) -> analyzer_pb2.ConfigureAnalyzerRequest:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, (level, properties) in resolved.items():
        request.policyConfig[name].enforcementLevel = LEVEL_VALUES[level]
        request.policyConfig[name].properties.update(dict(properties))
    return request


def _answers(
    servicer: Any, resources: Sequence[AnalyzerResource]
) -> list[tuple[str, str, str, int]]:
    providers: dict[str, Any] = {}
    found = []
    for r in resources:
        response = servicer.Analyze(analyze_request(r, providers), None)
        found += [
            (d.policyName, r.urn, d.message, d.enforcementLevel) for d in response.diagnostics
        ]
        found += [
            (n.policy_name, r.urn, f"not applicable: {n.reason}", -1)
            for n in response.not_applicable
        ]
    stack = servicer.AnalyzeStack(
        analyzer_pb2.AnalyzeStackRequest(
            resources=[stack_resource(r, providers) for r in resources]
        ),
        None,
    )
    found += [(d.policyName, d.urn, d.message, d.enforcementLevel) for d in stack.diagnostics]
    found += [(n.policy_name, "", f"not applicable: {n.reason}", -1) for n in stack.not_applicable]
    return sorted(found)


def _pair(pack: str, document: dict[str, Any], sessions: dict[str, PackSession]) -> tuple[Any, Any]:
    module, _ = PACKS[pack]
    policies = module.policies()
    sdk = _PolicyAnalyzerServicer(
        module.NAME, "0.0.1", policies, EnforcementLevel.MANDATORY, None, module.DESCRIPTION
    )
    routed = RoutingAnalyzer(
        module.NAME, module.policies(), EnforcementLevel.MANDATORY, module.DESCRIPTION
    )
    request = _configure_request(resolve_config(sessions[pack].info, document, "test"))
    for servicer in (sdk, routed):
        servicer.Configure(request, None)
        servicer.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(stack="fixture", project="fixtures"), None
        )
    return sdk, routed


@pytest.mark.parametrize("pack", ["security", "cost"])
def test_routing_matches_the_sdk_on_every_fixture_case(
    pack: str, sessions: dict[str, PackSession]
) -> None:
    for case in pack_cases(PACKS[pack][1]):
        sdk, routed = _pair(pack, dict(case.config), sessions)
        assert _answers(routed, case.resources) == _answers(sdk, case.resources), case.label


@pytest.mark.parametrize("stack", ["clean", "insecure"])
def test_routing_matches_the_sdk_on_the_reference_program(
    stack: str, sessions: dict[str, PackSession]
) -> None:
    resources = from_plan(plan(stack, PROGRAM))
    for pack in PACKS:
        sdk, routed = _pair(pack, {}, sessions)
        answers = _answers(routed, resources)
        assert answers == _answers(sdk, resources)
        assert bool(answers) == (stack == "insecure" and pack == "security")


def test_every_security_policy_names_its_types() -> None:
    for policy in security_pack.policies():
        assert isinstance(policy, ResourcePolicy | StackPolicy), policy.name
        assert policy.resource_types, (
            f"{policy.name} reads every resource; name the types it checks"
        )


def test_routing_answers_only_the_policies_of_a_type() -> None:
    routed = RoutingAnalyzer(
        security_pack.NAME, security_pack.policies(), EnforcementLevel.MANDATORY
    )
    subset = routed._for_type("aws:sqs/queue:Queue")
    names = {p.name for p in subset._PolicyAnalyzerServicer__policies}
    assert names == {"kms-encryption-at-rest", "no-public-resource-policies"}
    assert routed._for_type("aws:ec2/routeTableAssociation:RouteTableAssociation") is None
    assert routed._for_type("aws:sqs/queue:Queue") is subset
