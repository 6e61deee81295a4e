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
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """The Helm release ``release`` of ``chart`` in ``namespace`` (the Kubernetes provider
    comes from ``opts``). ``skip_crds``: leave the chart's ``crds/`` alone (another release
    manages them; Helm would install them once and never upgrade them)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release,
        chart=chart.chart,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo else None,
        namespace=namespace,
        values=dict(values),
        skip_crds=skip_crds or None,
        opts=opts,
    )
