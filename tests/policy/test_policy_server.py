"""The packs' routing analyzer (policies.common.server) answers exactly as the SDK's own
analyzer does: every fixture case and the reference programs (also with unknown, secret and
asset values), through both, in process; and it converts a resource once per call, for that
call only, also when calls run at the same time."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import replace
from typing import Any

import pulumi
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.policy import _PolicyAnalyzerServicer

from llmops.engine import plan
from llmops.policy import PackSession, from_plan
from llmops.policy.analyzer import LEVEL_VALUES
from llmops.policy.config import resolve_config
from llmops.policy.fixtures import pack_cases
from llmops.policy.wire import AnalyzerResource, ProviderRef, analyze_request, stack_resource
from policies.common.policy import ResourcePolicy, StackPolicy
from policies.common.server import RoutingAnalyzer, struct_to_python
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
    assert subset is not None
    names = {p.name for p in subset._PolicyAnalyzerServicer__policies}
    assert names == {"kms-encryption-at-rest", "no-public-resource-policies"}
    assert routed._for_type("aws:ec2/routeTableAssociation:RouteTableAssociation") is None
    assert routed._for_type("aws:sqs/queue:Queue") is subset


# --------------------------------------------------------------------------- conversion


SECRET = {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG}


def _unknown_secret_and_asset(resources: Sequence[AnalyzerResource]) -> list[AnalyzerResource]:
    """``resources`` with values the engine sends during a preview: an unknown at the top of
    every third resource's properties, an unknown one level down in the next, and a secret
    and an asset in the one after."""

    def change(props: Mapping[str, Any], i: int) -> dict[str, Any]:
        changed = dict(props)
        if not changed:
            return changed
        first = sorted(changed)[0]
        if i % 3 == 0:
            changed[first] = rpc.UNKNOWN
        elif i % 3 == 1 and isinstance(changed[first], dict) and changed[first]:
            inner = dict(changed[first])
            inner[sorted(inner)[0]] = rpc.UNKNOWN
            changed[first] = inner
        else:
            changed[first] = {**SECRET, "value": changed[first]}
            changed["script"] = pulumi.StringAsset("echo hello")
        return changed

    return [
        replace(r, inputs=change(r.inputs, i), state=change(r.state, i))
        for i, r in enumerate(resources)
    ]


def test_routing_matches_the_sdk_with_unknown_secret_and_asset_values(
    sessions: dict[str, PackSession],
) -> None:
    resources = _unknown_secret_and_asset(from_plan(plan("insecure", PROGRAM)))
    for pack in PACKS:
        sdk, routed = _pair(pack, {}, sessions)
        answers = _answers(routed, resources)
        assert answers == _answers(sdk, resources), pack
        assert any("during preview" in message for _, _, message, _ in answers), pack


def _structs() -> list[Any]:
    resources = [r for case in pack_cases(SECURITY) for r in case.resources]
    resources += from_plan(plan("insecure", PROGRAM))
    structs = [stack_resource(r).properties for r in _unknown_secret_and_asset(resources)]
    return [*structs, *(analyze_request(r).properties for r in resources)]


def test_struct_conversion_returns_what_message_to_dict_returns() -> None:
    for message in _structs():
        expected = json_format.MessageToDict(message)
        converted = struct_to_python(message)
        assert converted == expected
        # the same keys in the same order, and the same types (1.0 stays a float)
        assert json.dumps(converted) == json.dumps(expected)
    odd = struct_pb2.Struct()
    odd.update({"none": None, "empty": {}, "list": [], "nested": [{"a": [True, 2.5, "x"]}]})
    odd.fields["unset"].SetInParent()
    assert struct_to_python(odd) == json_format.MessageToDict(odd)
    for bad in (math.inf, -math.inf, math.nan):
        value = struct_pb2.Struct()
        value.update({"n": bad})
        with pytest.raises(ValueError) as sdk_error:
            json_format.MessageToDict(value)
        with pytest.raises(ValueError) as ours:
            struct_to_python(value)
        assert str(ours.value) == str(sdk_error.value)


class _Seen:
    """What the policies of a test pack were handed, policy by policy."""

    def __init__(self) -> None:
        self.resource: list[tuple[str, str, Any, Any, Any]] = []
        self.stack: list[tuple[str, list[PolicyResource]]] = []

    def resource_policy(self, name: str) -> ResourcePolicy:
        def validate(args: ResourceValidationArgs, report_violation: Any) -> None:
            self.resource.append((name, args.urn, args.props, args.opts, args.provider))
            report_violation(f"{args.name} size {args.props['size']}", None)

        return ResourcePolicy(
            name=name, description=name, validate=validate, resource_types=["test:index:Box"]
        )

    def stack_policy(self, name: str, **kwargs: Any) -> StackPolicy:
        def validate(args: StackValidationArgs, report_violation: Any) -> None:
            self.stack.append((name, list(args.resources)))

        return StackPolicy(name=name, description=name, validate=validate, **kwargs)


def _box(name: str, size: float, parent: str = "") -> AnalyzerResource:
    provider = ProviderRef("urn:test::default", "pulumi:providers:test", "default", {"zone": "z1"})
    return AnalyzerResource(
        urn=f"urn:test::{name}",
        type="test:index:Box",
        name=name,
        inputs={"size": size, "labels": {"name": name}},
        state={"size": size, "labels": {"name": name}},
        provider=provider,
        parent=parent or None,
    )


def test_a_call_converts_each_resource_once_and_shares_it_with_no_other_call() -> None:
    seen = _Seen()
    policies = [
        seen.resource_policy("first"),
        seen.resource_policy("second"),
        seen.stack_policy("whole-stack"),
        seen.stack_policy("boxes", resource_types=["test:index:Box"]),
    ]
    routed = RoutingAnalyzer("test-pack", policies, EnforcementLevel.MANDATORY)
    one, two = _box("one", 1), _box("two", 2, parent="urn:test::one")
    for box in (one, two):
        response = routed.Analyze(analyze_request(box), None)
        assert [d.message for d in response.diagnostics] == [
            f"first\n{box.name} size {float(box.inputs['size'])}",
            f"second\n{box.name} size {float(box.inputs['size'])}",
        ]
    (first_one, second_one, first_two, second_two) = seen.resource
    for same in (2, 3, 4):  # props, options, provider: one object for both policies of a call
        assert first_one[same] is second_one[same] and first_two[same] is second_two[same]
        assert first_one[same] is not first_two[same]  # and none for another call
    assert first_one[2]["size"] == 1 and first_two[2]["size"] == 2
    assert first_one[4].props["zone"] == "z1"

    request = analyzer_pb2.AnalyzeStackRequest(resources=[stack_resource(one), stack_resource(two)])
    routed.AnalyzeStack(request, None)
    routed.AnalyzeStack(request, None)
    (name_a, a), (name_b, b), (_, again), _ = seen.stack
    assert {name_a, name_b} == {"whole-stack", "boxes"}
    # each policy has its own resources, linked among themselves, over the same properties
    assert [r.urn for r in a] == [r.urn for r in b] == [one.urn, two.urn]
    assert a[0] is not b[0] and a[1].parent is a[0] and b[1].parent is b[0]
    assert a[0].props is b[0].props and a[0].provider is b[0].provider is a[1].provider
    assert again[0].props is not a[0].props  # a later call converts anew


def test_concurrent_calls_each_answer_for_their_own_resources(
    sessions: dict[str, PackSession],
) -> None:
    clean, insecure = (from_plan(plan(stack, PROGRAM)) for stack in ("clean", "insecure"))
    _, routed = _pair("security", {}, sessions)
    expected = {id(resources): _answers(routed, resources) for resources in (clean, insecure)}
    assert expected[id(clean)] != expected[id(insecure)]
    jobs = [clean, insecure] * 4
    with futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        answers = list(pool.map(lambda resources: _answers(routed, resources), jobs))
    assert answers == [expected[id(resources)] for resources in jobs]
