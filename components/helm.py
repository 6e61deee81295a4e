"""Pinned Helm releases, as every component that installs software into a cluster makes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class Chart:
    """A chart at a pinned version (``repo`` for HTTP repositories; an OCI chart carries its
    registry in ``chart``)."""

    chart: str
    version: str
    repo: str | None = None


def helm_release(
    resource_name: str,
    *,
    release: str,
    chart: Chart,
    namespace: str,
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """The Helm release ``release`` of ``chart`` in ``namespace`` (the Kubernetes provider
    comes from ``opts``)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release,
        chart=chart.chart,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
        namespace=namespace,
        values=dict(values),
        opts=opts,
    )
