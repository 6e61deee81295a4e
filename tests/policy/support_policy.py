"""Builders for direct-call policy tests: the same argument objects the analyzer builds
(props wrapped in the SDK's unknown-checking proxy), without a gRPC server."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import PolicyCustomTimeouts
from pulumi_policy.proxy import unknown_checking_proxy

TAGS = {"Project": "p", "Stack": "s", "Environment": "dev", "Owner": "o", "CostCenter": "cc"}


def options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def aws_provider(region: str = "us-east-1", tags: Mapping[str, str] | None = None) -> PolicyProviderResource:
    props: dict[str, Any] = {"region": region}
    if tags is not None:
        props["defaultTags"] = json.dumps({"tags": dict(tags)})
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(props), f"urn:pulumi:t::p::pulumi:providers:aws::aws-{region}", f"aws-{region}")


def resource_args(
    type_: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    config: Mapping[str, Any] | None = None,
    provider: PolicyProviderResource | None = None,
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        type_, unknown_checking_proxy(dict(props)), f"urn:pulumi:t::p::{type_}::{name}", name, options(), provider, dict(config or {})
    )


def policy_resource(
    type_: str,
    props: Mapping[str, Any],
    *,
    name: str = "r",
    provider: PolicyProviderResource | None = None,
) -> PolicyResource:
    return PolicyResource(type_, unknown_checking_proxy(dict(props)), f"urn:pulumi:t::p::{type_}::{name}", name, options(), provider, None, [], {})


def stack_args(resources: Sequence[PolicyResource], config: Mapping[str, Any] | None = None) -> StackValidationArgs:
    return StackValidationArgs(list(resources), dict(config or {}))


def collect(validate: Callable[..., Any], args: Any) -> list[tuple[str, str | None]]:
    """Calls a validator and returns the (message, urn) pairs it reported."""
    found: list[tuple[str, str | None]] = []
    validate(args, lambda message, urn=None: found.append((message, urn)))
    return found
