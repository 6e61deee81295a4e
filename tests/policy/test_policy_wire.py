"""The messages the runner sends the packs: ``struct`` builds in one pass what
``Struct.update(to_wire(...))`` builds, and ``messages`` builds every resource's ``Analyze``
request and ``AnalyzeStack`` entry as the one-resource builders do."""

from __future__ import annotations

from typing import Any

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import rpc

from llmops.engine import plan
from llmops.policy import from_plan
from llmops.policy.fixtures import pack_cases
from llmops.policy.wire import (
    UNKNOWN_STRING,
    AnalyzerResource,
    analyze_request,
    messages,
    stack_resource,
    struct,
    to_wire,
)
from tests.policy.conftest import COST, SECURITY
from tests.policy.test_policy_reference import PROGRAM


def _reference(properties: dict[Any, Any]) -> bytes:
    message = struct_pb2.Struct()
    message.update(to_wire(dict(properties)))
    return _bytes(message)


def _bytes(message: Any) -> bytes:
    return bytes(message.SerializeToString(deterministic=True))


ODD: dict[Any, Any] = {
    "unknown": rpc.UNKNOWN,
    "asset": pulumi.StringAsset("echo hello"),
    "archive": pulumi.AssetArchive({"run.sh": pulumi.StringAsset("echo")}),
    "mixed": [1, True, None, {}, [], (2, 3), "x", 2.5],
    7: {"whole": 3, "empty": {}, "nested": {"deeper": [{"a": None}]}},
    "big": 2**60,
    "other": object(),
}


def _resources() -> list[AnalyzerResource]:
    resources = [
        r for pack in (SECURITY, COST) for case in pack_cases(pack) for r in case.resources
    ]
    resources += from_plan(plan("insecure", PROGRAM))
    odd = AnalyzerResource(urn="urn:odd", type="test:index:Odd", name="odd", inputs=ODD, state=ODD)
    return [*resources, odd]


def test_struct_builds_what_update_of_to_wire_builds() -> None:
    assert _bytes(struct(ODD)) == _reference(ODD)
    assert struct({"u": rpc.UNKNOWN})["u"] == UNKNOWN_STRING
    assert struct({"e": {}}).fields["e"].HasField("struct_value")  # empty objects stay objects
    for r in _resources():
        assert _bytes(struct(r.inputs)) == _reference(dict(r.inputs)), r.urn
        assert _bytes(struct(r.state)) == _reference(dict(r.state)), r.urn


def test_messages_are_the_one_resource_messages_built_together() -> None:
    resources = _resources()
    requests, stack = messages(resources)
    providers: dict[str, Any] = {}  # one message per provider URN, as in one stack
    assert [_bytes(m) for m in requests] == [
        _bytes(analyze_request(r, providers)) for r in resources
    ]
    assert [_bytes(m) for m in stack] == [_bytes(stack_resource(r, providers)) for r in resources]
    shared = [i for i, r in enumerate(resources) if r.state is r.inputs]
    assert shared  # resources without recorded outputs: one Struct for both messages
    assert all(requests[i].properties == stack[i].properties for i in shared)
