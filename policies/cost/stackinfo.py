"""Stack-wide facts for the cost pack's stack policies: the region of every resource,
including Kubernetes resources (which have no AWS provider of their own)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from core import catalog
from policies.common.context import AWS_PROVIDER, provider_props, provider_region

_REGION = re.compile(r"\b([a-z]{2}(?:-gov)?-[a-z]+-\d)\b")


class StackIndex:
    """Regions of a stack's resources.

    An AWS resource's region is its provider's ``region``. For anything else (Kubernetes
    resources, components) it is the region named in its Kubernetes provider's kubeconfig,
    else the single region of the AWS resources that share its nearest ancestor component.
    """

    def __init__(self, resources: Sequence[Any]) -> None:
        self.resources = list(resources)
        self._children: dict[str, list[Any]] = defaultdict(list)
        for r in self.resources:
            if r.parent is not None:
                self._children[r.parent.urn].append(r)
        self._subtree: dict[str, frozenset[str]] = {}
        self._known = set(catalog.regions())

    def _kubeconfig_region(self, provider: Any) -> str | None:
        if provider is None or getattr(provider, "resource_type", "") != "pulumi:providers:kubernetes":
            return None
        text = provider_props(provider).get("kubeconfig")
        if not isinstance(text, str):
            return None
        found = {m for m in _REGION.findall(text) if m in self._known}
        return found.pop() if len(found) == 1 else None

    def _aws_regions_under(self, resource: Any) -> frozenset[str]:
        cached = self._subtree.get(resource.urn)
        if cached is not None:
            return cached
        found: set[str] = set()
        stack = [resource]
        while stack:
            current = stack.pop()
            region = provider_region(current.provider)
            if region:
                found.add(region)
            stack.extend(self._children.get(current.urn, []))
        result = frozenset(found)
        self._subtree[resource.urn] = result
        return result

    def region(self, resource: Any) -> str | None:
        """The region ``resource`` runs in, or None when nothing says."""
        if resource.resource_type == AWS_PROVIDER:
            region = provider_props(resource).get("region")
            return str(region) if isinstance(region, str) else None
        region = provider_region(resource.provider) or self._kubeconfig_region(resource.provider)
        if region:
            return region
        ancestor = resource.parent
        while ancestor is not None:
            regions = self._aws_regions_under(ancestor)
            if len(regions) == 1:
                return next(iter(regions))
            if len(regions) > 1:
                return None
            ancestor = ancestor.parent
        return None
