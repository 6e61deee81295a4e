"""Realistic fake provider behaviour for the offline engine.

``respond`` returns what the real provider would return after a create (or a read, for
``Resource.get``): a physical id in the provider's format and every output the SDK declares
for the type, filled the way the provider fills it (see :mod:`llmops.engine.synth`), with
hand-written rules where semantics matter (:mod:`llmops.engine.rules`,
:mod:`llmops.engine.kubernetes`). ``answer`` does the same for data sources: every function
the SDKs declare gets a realistic result of its declared type; those no rule knows are
remembered, and the plan lists them as answered with defaults.

Everything derives from the resource's type and name (or a call's arguments) through a
hash, so two runs of the same program produce byte-identical plans.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import Mocks
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from llmops.engine import kubernetes
from llmops.engine.formats import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    Subject,
    acting_as,
    digest,
    kebab,
    zone_id_prefix,
)
from llmops.engine.invokes import ANSWERS, UNDECLARED_DEFAULTS, policy_document_json
from llmops.engine.rules import RULES
from llmops.engine.schema import invoke_props, resource_props
from llmops.engine.synth import synthesize

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_REGION",
    "PlatformMocks",
    "Response",
    "policy_document_json",
    "unwrap_secrets",
    "zone_id_prefix",
]


def unwrap_secrets(value: Any) -> Any:
    """Plain values from deserialized RPC properties (secret wrappers removed)."""
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


@dataclass
class Response:
    """A provider's answer to a create or read."""

    id: str
    state: dict[str, Any]
    defaulted: list[str] = field(default_factory=list)
    """Output properties whose value the engine made up (the provider would compute them)."""


class PlatformMocks(Mocks):
    """Mocks that return realistic outputs per resource type and data-source call.

    ``provider_regions`` maps a provider reference (``urn::id``) to its region; the
    recording monitor fills it as provider resources are registered.
    """

    def __init__(self, default_region: str = DEFAULT_REGION) -> None:
        self.default_region = default_region
        self.provider_regions: dict[str, str] = {}
        self.provider_accounts: dict[str, str] = {}
        """A provider's account, when its ``allowedAccountIds`` names exactly one: the
        account the real provider would run in (ARNs, owner ids, caller identity)."""
        self.provider_default_tags: dict[str, dict[str, str]] = {}
        self.unmocked_calls: set[str] = set()
        """Data sources no rule answers: their result came from its declared type alone."""
        self.calls: Counter[str] = Counter()
        self.call_results: list[tuple[str, dict[str, Any]]] = []
        """(token, the values the engine made up) of every data-source call: values a failure
        message may contain (the program's own arguments, echoed, left out)."""
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ providers
    def register_provider(self, typ: str, ref: str, inputs: dict[str, Any]) -> None:
        """Remembers an AWS provider's region and default tags for resources that use it."""
        if typ != "pulumi:providers:aws":
            return
        if inputs.get("region"):
            self.provider_regions[ref] = str(inputs["region"])
        allowed = inputs.get("allowedAccountIds") or []
        if isinstance(allowed, str):  # nested values arrive as JSON text
            allowed = json.loads(allowed)
        if isinstance(allowed, list) and len(allowed) == 1:
            self.provider_accounts[ref] = str(allowed[0])
        default_tags = inputs.get("defaultTags") or {}
        if isinstance(default_tags, str):  # provider inputs carry nested values as JSON text
            default_tags = json.loads(default_tags)
        self.provider_default_tags[ref] = dict(default_tags.get("tags") or {})

    def region_of(self, provider_ref: str | None) -> str:
        if provider_ref and provider_ref in self.provider_regions:
            return self.provider_regions[provider_ref]
        return self.default_region

    # ------------------------------------------------------------------ resources
    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        response = self.respond(args.typ, args.name, args.inputs, args.provider, args.resource_id)
        return response.id, response.state

    def respond(
        self, typ: str, name: str, raw_inputs: dict[str, Any], provider: str | None = None, resource_id: str | None = None
    ) -> Response:
        """The provider's answer for a create (``resource_id`` empty) or a read of ``resource_id``,
        in the provider's account."""
        with acting_as(self.provider_accounts.get(provider or "")):
            return self._respond(typ, name, raw_inputs, provider, resource_id)

    def _respond(
        self, typ: str, name: str, raw_inputs: dict[str, Any], provider: str | None = None, resource_id: str | None = None
    ) -> Response:
        inputs = unwrap_secrets(raw_inputs)
        if typ.startswith("pulumi:providers:"):
            return Response(f"{digest(typ, name, length=8)}-{digest(name, length=4)}-provider", inputs)
        own_region = inputs.get("region") if typ.startswith("aws:") else None  # pulumi_aws 7: per-resource region
        region = str(own_region) if isinstance(own_region, str) and own_region else self.region_of(provider)
        subject = Subject(typ, name, region, inputs, resource_id or None)
        props = resource_props(typ)
        defaulted: list[str] = []
        if typ.startswith("kubernetes:"):
            physical_id, state = kubernetes.respond(typ, name, region, inputs, resource_id or None)
            if props is not None:  # the rest of what the SDK declares, at the API server's zero values
                state = synthesize(props, state, subject, defaulted)
            return Response(physical_id, state, defaulted)
        if props is None:
            state = dict(inputs)
            if typ.startswith("aws:"):
                state.setdefault("arn", subject.arn)
        else:
            state = synthesize(props, inputs, subject, defaulted)
        rule = RULES.get(typ)
        if rule is not None:
            state.update(rule(subject, state))
        if typ.startswith("aws:") and (props is None or any(p.name == "tagsAll" for p in props)):
            tags = dict(inputs.get("tags") or {})
            state["tagsAll"] = {**self.provider_default_tags.get(provider or "", {}), **tags}
        return Response(subject.id, state, defaulted)

    # ------------------------------------------------------------------ data sources
    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return self.answer(args.token, args.args, args.provider), []

    def answer(self, token: str, raw_args: dict[str, Any], provider: str | None = None) -> dict[str, Any]:
        """A realistic result of the data source's declared type, in the provider's account."""
        with acting_as(self.provider_accounts.get(provider or "")):
            return self._answer(token, raw_args, provider)

    def _answer(self, token: str, raw_args: dict[str, Any], provider: str | None = None) -> dict[str, Any]:
        args = unwrap_secrets(raw_args)
        region = str(args.get("region") or self.region_of(provider))
        with self._lock:
            self.calls[token] += 1
        rule = ANSWERS.get(token)
        props = invoke_props(token)
        result: dict[str, Any] = rule(args, region) if rule is not None else dict(UNDECLARED_DEFAULTS.get(token, {}))
        if props is not None:
            names = {p.name for p in props}
            given = {k: v for k, v in args.items() if k in names}
            subject = _invoke_subject(token, args, region)
            result = synthesize(props, {**given, **result}, subject)
        given_values = set(_strings(args))
        made_up = {k: v for k, v in result.items() if not set(_strings(v)) <= given_values}
        with self._lock:
            self.call_results.append((token, made_up))
            if rule is None:
                self.unmocked_calls.add(token)
        return result


def _strings(value: Any) -> list[str]:
    """Every string inside ``value``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _invoke_subject(token: str, args: dict[str, Any], region: str) -> Subject:
    """The data source as the resource it describes (``getVpc`` -> a VPC), so ids, ARNs
    and endpoints take that resource's formats."""
    package, module, function = [*token.split(":"), "", ""][:3]
    resource_token = token
    if function.startswith("get") and len(function) > 3:
        kind = function[3:]
        candidate = f"{package}:{module.split('/')[0]}/{kind[0].lower()}{kind[1:]}:{kind}"
        if _declared(candidate):
            resource_token = candidate
    logical = str(args.get("name") or args.get("id") or f"{kebab(function)}-{digest(json.dumps(args, sort_keys=True, default=str), length=8)}")
    inputs = {k: v for k, v in args.items() if isinstance(v, str | int | float | bool)}
    return Subject(resource_token, logical, region, inputs, str(args["id"]) if isinstance(args.get("id"), str) else None)


def _declared(token: str) -> bool:
    from pulumi.runtime import rpc

    package, module, _ = token.split(":")
    for candidate in getattr(rpc, "_RESOURCE_MODULES", {}).get(f"{package}:{module}", []):
        info = getattr(candidate, "mod_info", None)
        if isinstance(info, dict) and token in info.get("classes", {}):
            return True
    return False
