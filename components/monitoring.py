"""What a component tells the alerting about itself: the AWS resources it created, as
CloudWatch names them (namespace, dimension values), in typed descriptions.

Each component that creates something worth an alarm exposes a ``monitoring`` attribute, a
tuple of the descriptions below, built from its own resources' outputs (the
:class:`~components.network.Network` exposes its NAT gateways). The composition gathers the
descriptions of a region and hands them to that region's
:class:`~components.alerting.Alerting`, which turns each into CloudWatch alarms with the
thresholds the composition chose. A new component adds its descriptions here (or reuses
one), exposes ``monitoring``, and the composition passes it on; nothing else changes.

``key`` names the resource within its region (``nat-0``, ``vector-store``): it is part of
the alarms' resource names and AWS names, so it must stay the same across deployments
(never a list position that shifts when another resource is added).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

LoadBalancerKind = Literal["application", "network"]


@dataclass(frozen=True)
class NatGateway:
    """A NAT gateway (``AWS/NATGateway``, dimension ``NatGatewayId``)."""

    key: str
    """Stable name of the gateway within its region, e.g. ``nat-0``."""
    nat_gateway_id: pulumi.Input[str]
    """The gateway's id (``nat-...``)."""


@dataclass(frozen=True)
class EksCluster:
    """An EKS cluster whose nodes report to Container Insights (``ContainerInsights``,
    dimension ``ClusterName``; the CloudWatch observability add-on sends the metrics)."""

    key: str
    """Stable name within the region, e.g. ``eks``."""
    cluster_name: pulumi.Input[str]
    """The EKS cluster name."""


@dataclass(frozen=True)
class LoadBalancer:
    """An Application or Network Load Balancer (``AWS/ApplicationELB`` /
    ``AWS/NetworkELB``, dimension ``LoadBalancer``)."""

    key: str
    """Stable name within the region, e.g. ``serving-alb``."""
    kind: LoadBalancerKind
    """``application`` (ALB: HTTP codes, response time) or ``network`` (NLB: healthy targets, resets)."""
    arn_suffix: pulumi.Input[str]
    """The load balancer's ``arn_suffix`` output (``app/<name>/<id>`` or ``net/<name>/<id>``),
    the value CloudWatch uses for the ``LoadBalancer`` dimension."""
    target_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Target groups behind it by stable key: each one's ``arn_suffix`` output
    (``targetgroup/<name>/<id>``), for the healthy-host alarms (dimension ``TargetGroup``)."""


@dataclass(frozen=True)
class AuroraCluster:
    """An Aurora cluster (``AWS/RDS``, dimension ``DBClusterIdentifier``)."""

    key: str
    """Stable name within the region, e.g. ``vector-store``."""
    cluster_identifier: pulumi.Input[str]
    """The cluster identifier."""
    serverless: bool = True
    """Aurora Serverless v2: alarms on ``ACUUtilization`` as well."""


@dataclass(frozen=True)
class ServerlessCache:
    """An ElastiCache Serverless cache (``AWS/ElastiCache``, dimension ``clusterId``: the
    cache name)."""

    key: str
    """Stable name within the region, e.g. ``cache``."""
    cache_name: pulumi.Input[str]
    """The serverless cache's name."""
    data_storage_limit_gb: float | None = None
    """Its ``cache_usage_limits.data_storage.maximum`` (GB), when set: storage alarms compare with it."""
    ecpu_per_second_limit: int | None = None
    """Its ``cache_usage_limits.ecpu_per_second.maximum``, when set: ECPU alarms compare with it."""


@dataclass(frozen=True)
class Queue:
    """An SQS queue whose consumer must keep up (``AWS/SQS``, dimension ``QueueName``)."""

    key: str
    """Stable name within the region, e.g. ``karpenter-interruptions``."""
    queue_name: pulumi.Input[str]
    """The queue's name."""
    consumer: str
    """Who reads it, for the alarm text (e.g. ``Karpenter``)."""
    held_seconds: float = 0.0
    """How long the consumer may keep a message by design before deleting it (the ingestion
    trigger holds events while an ingest run is under way): the oldest-message alarm fires
    only past the larger of this and the alarm threshold."""
    dead_letter: bool = False
    """A dead-letter queue: nobody reads it, and any message in it alarms (a message the
    consumer failed on too often), instead of the oldest-message alarm."""


Monitored = NatGateway | EksCluster | LoadBalancer | AuroraCluster | ServerlessCache | Queue
"""Anything a component can describe for the alerting."""


def threshold_problems(thresholds: object, path: str, *, percentages: Sequence[str] = (), positives: Sequence[str] = ()) -> list[str]:
    """The attributes of ``thresholds`` out of range: ``percentages`` must lie in (0, 100],
    ``positives`` above 0; each problem names ``<path>.<attribute>``."""
    found = []
    for name in percentages:
        value = getattr(thresholds, name)
        if not 0 < value <= 100:
            found.append(f"{path}.{name}: must be a percentage in (0, 100] (got {value})")
    for name in positives:
        value = getattr(thresholds, name)
        if value <= 0:
            found.append(f"{path}.{name}: must be > 0 (got {value})")
    return found
