"""What a policy needs to know about a resource beyond its own properties: its tags
(own tags merged over the AWS provider's ``defaultTags``), its region (the provider's
``region``) and the environment it belongs to (dev, staging or prod).

The environment comes, in order, from the resource's ``Environment`` tag (its own tags or
its provider's default tags), a Kubernetes ``llmops.io/environment`` label, and finally the
policy config's ``environment`` setting, which the per-environment config files
(``policies/<pack>/config/<env>.json``) set for resources that carry no tags (Kubernetes
custom resources such as Karpenter NodePools).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.common.props import get, mapping

ENVIRONMENT_TAG = "Environment"
ENVIRONMENT_LABEL = "llmops.io/environment"
AWS_PROVIDER = "pulumi:providers:aws"


def provider_props(provider: Any) -> Mapping[str, Any]:
    """The provider's properties (empty when the resource has no provider)."""
    props = getattr(provider, "props", None)
    return props if isinstance(props, Mapping) else {}


def is_aws(provider: Any) -> bool:
    return getattr(provider, "resource_type", "") == AWS_PROVIDER


def provider_region(provider: Any) -> str | None:
    """The AWS region the provider deploys into (``region`` prop), if it is an AWS provider."""
    if not is_aws(provider):
        return None
    region = provider_props(provider).get("region")
    return str(region) if isinstance(region, str) and region else None


def default_tags(provider: Any) -> dict[str, str]:
    """The AWS provider's ``defaultTags.tags`` (nested provider props arrive as JSON text)."""
    if not is_aws(provider):
        return {}
    tags = mapping(get(provider_props(provider), "defaultTags", "tags"))
    return {str(k): str(v) for k, v in tags.items() if v is not None}


def own_tags(props: Mapping[str, Any]) -> dict[str, str]:
    """The resource's own ``tags`` merged over ``tagsAll`` (present in recorded outputs)."""
    merged: dict[str, str] = {}
    for key in ("tagsAll", "tags"):
        for k, v in mapping(props.get(key)).items():
            if v is not None:
                merged[str(k)] = str(v)
    return merged


def effective_tags(props: Mapping[str, Any], provider: Any) -> dict[str, str]:
    """The tags AWS will put on the resource: provider default tags, then its own tags."""
    return {**default_tags(provider), **own_tags(props)}


def environment_of(props: Mapping[str, Any], provider: Any, config: Mapping[str, Any]) -> str | None:
    """The environment (lower-case) a resource belongs to, or None when nothing says."""
    tag = effective_tags(props, provider).get(ENVIRONMENT_TAG)
    if tag:
        return tag.strip().lower()
    label = get(props, "metadata", "labels", ENVIRONMENT_LABEL)
    if isinstance(label, str) and label:
        return label.strip().lower()
    configured = config.get("environment")
    if isinstance(configured, str) and configured:
        return configured.strip().lower()
    return None


def stack_environment(resources: Any, config: Mapping[str, Any]) -> str | None:
    """The stack's environment for a stack policy: the ``Environment`` default tag its AWS
    providers agree on, else the policy config's ``environment``."""
    found = {
        tags[ENVIRONMENT_TAG].strip().lower()
        for r in resources
        if r.resource_type == AWS_PROVIDER
        for tags in [mapping(get(r.props, "defaultTags", "tags"))]
        if isinstance(tags.get(ENVIRONMENT_TAG), str)
    }
    if len(found) == 1:
        return str(found.pop())
    configured = config.get("environment")
    if isinstance(configured, str) and configured:
        return configured.strip().lower()
    return None


def in_environments(args: Any, environments: Any) -> bool:
    """Whether a resource policy applies to ``args``'s resource: its environment (tags,
    label, else the config's ``environment``) is one of the ``environments`` setting's
    values (a :class:`~policies.common.settings.Setting` whose value lists environments)."""
    from policies.common.settings import ENVIRONMENT, resolve

    settings = resolve(args, environments, ENVIRONMENT)
    environment = environment_of(args.props, args.provider, settings)
    return environment is not None and environment in settings[environments.name]
