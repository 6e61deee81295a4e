"""``Alerting``: one region's alert topic and the CloudWatch alarms on what the platform
created there; ``OperationsDashboard``: the stack's CloudWatch dashboard.

A CloudWatch alarm can only notify a topic in its own region, so every region gets an
:class:`Alerting` of its own: a KMS-encrypted SNS topic (its key lets CloudWatch, AWS
Budgets, Cost Anomaly Detection, EventBridge and Amazon Managed Service for Prometheus
publish; a topic policy lets them publish for this account only and refuses plain HTTP),
the same receivers subscribed in every region (emails, HTTPS webhooks of paging tools),
and one set of alarms per monitored resource (:mod:`components.monitoring`):

* NAT gateways: port allocation errors, dropped packets (share of packets in);
* EKS (Container Insights): failed nodes, cluster CPU;
* load balancers: ALB 5xx share (ELB and targets), target p99 latency, healthy targets;
  NLB healthy and unhealthy targets;
* Aurora: CPU, ACU utilization, freeable memory, deadlocks;
* ElastiCache Serverless: throttled commands, ECPU and storage against the cache's limits;
* SQS: age of the oldest message (its consumer is stuck).

Thresholds come from :class:`AlarmThresholds` (the composition fills them from the stack
config and the environment's defaults). Every alarm's description starts with its severity
and ends with its runbook (``docs/runbooks/``). The alarm specs are pure data
(:func:`alarm_specs`), tested without Pulumi.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_aws as aws

from components.iam import deny_without_tls, policy_json
from components.kms import account_key, caller_account, key_policy
from components.monitoring import (
    AuroraCluster,
    EksCluster,
    LoadBalancer,
    Monitored,
    NatGateway,
    Queue,
    ServerlessCache,
    threshold_problems,
)
from components.naming import TYPE_PREFIX, name_tags

Severity = Literal["critical", "warning"]
Comparison = Literal[
    "GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"
]
MissingData = Literal["missing", "notBreaching", "breaching", "ignore"]

PUBLISHERS = (
    "cloudwatch.amazonaws.com",
    "events.amazonaws.com",
    "budgets.amazonaws.com",
    "costalerts.amazonaws.com",
    "aps.amazonaws.com",
)
"""AWS services that publish alerts to the topic: CloudWatch alarms, EventBridge rules, AWS
Budgets, Cost Anomaly Detection and the Alertmanager of Amazon Managed Service for Prometheus."""

TOPIC_OWNER_ACTIONS = (
    "SNS:GetTopicAttributes",
    "SNS:SetTopicAttributes",
    "SNS:AddPermission",
    "SNS:RemovePermission",
    "SNS:DeleteTopic",
    "SNS:Subscribe",
    "SNS:ListSubscriptionsByTopic",
    "SNS:Publish",
)
"""What principals of the owning account may do (subject to their own IAM policies), as in
the topic's default policy."""


def runbook_url(base: str, page: str) -> str:
    """The link to a runbook page: ``<base>/<page>.md``."""
    return f"{base.rstrip('/')}/{page}.md"


# ----------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class AlarmThresholds:
    """When the CloudWatch alarms fire. The composition sets them per environment; the
    stack config can override each one (``llmops:alerting.thresholds``)."""

    evaluation_minutes: int = 5
    """How long (minutes, 1-minute periods) a condition must hold before its alarm fires."""
    error_rate_percent: float = 2.0
    """Share of 5xx responses at a load balancer (ELB or targets), percent."""
    latency_p99_seconds: float = 5.0
    """p99 target response time at an Application Load Balancer, seconds."""
    nat_packet_drop_percent: float = 0.01
    """Share of a NAT gateway's packets it drops, percent (AWS recommends 0.01)."""
    node_cpu_percent: float = 90.0
    """Average CPU over a cluster's nodes, percent."""
    aurora_cpu_percent: float = 90.0
    """Aurora writer/reader CPU, percent."""
    aurora_acu_percent: float = 90.0
    """Aurora Serverless v2 capacity in use against its maximum ACUs, percent."""
    aurora_freeable_memory_mib: float = 256.0
    """Aurora freeable memory below which memory pressure alarms, MiB."""
    cache_ecpu_percent: float = 80.0
    """ECPUs per second against the serverless cache's limit, percent."""
    cache_storage_percent: float = 80.0
    """Data stored against the serverless cache's limit, percent."""
    queue_age_seconds: float = 300.0
    """Age of a queue's oldest message, seconds."""

    def problems(self, path: str) -> list[str]:
        """Every out-of-range threshold, with its path."""
        found = threshold_problems(
            self,
            path,
            percentages=(
                "error_rate_percent", "nat_packet_drop_percent", "node_cpu_percent", "aurora_cpu_percent",
                "aurora_acu_percent", "cache_ecpu_percent", "cache_storage_percent",
            ),
            positives=("latency_p99_seconds", "aurora_freeable_memory_mib", "queue_age_seconds"),
        )
        if not 1 <= self.evaluation_minutes <= 1440:
            found.insert(0, f"{path}.evaluation_minutes: must be 1..1440 (got {self.evaluation_minutes})")
        return found


# ----------------------------------------------------------------------------- alarm specs


@dataclass(frozen=True)
class MetricQuery:
    """One term of a metric-math alarm: a metric (``namespace`` set) or an expression."""

    id: str
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    stat: str | None = None
    expression: str | None = None
    label: str | None = None
    return_data: bool = False


@dataclass(frozen=True)
class AlarmSpec:
    """A CloudWatch alarm, as data: either one metric (``namespace``/``metric_name``) or
    metric math (``queries``, the one with ``return_data`` is compared)."""

    id: str
    """Stable id within its resource (part of the alarm's name)."""
    summary: str
    """What is wrong, in one sentence."""
    severity: Severity
    runbook: str
    """Page under ``docs/runbooks/`` (without ``.md``)."""
    threshold: float
    comparison: Comparison
    period: int = 60
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 5
    treat_missing_data: MissingData = "notBreaching"
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statistic: str | None = None
    extended_statistic: str | None = None
    queries: tuple[MetricQuery, ...] = ()


class _Window(TypedDict):
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int


def _window(thresholds: AlarmThresholds, at_least: int = 1) -> _Window:
    """1-minute periods over the evaluation window (at least ``at_least`` minutes), all breaching."""
    minutes = max(thresholds.evaluation_minutes, at_least)
    return {"period": 60, "evaluation_periods": minutes, "datapoints_to_alarm": minutes}


def _share(
    id_: str,
    namespace: str,
    part: str,
    whole: Sequence[str],
    dimensions: Mapping[str, pulumi.Input[str]],
) -> tuple[MetricQuery, ...]:
    """``100 * part / sum(whole)`` as metric math (a missing ``part`` counts as 0)."""
    terms = [MetricQuery(id="part", namespace=namespace, metric_name=part, dimensions=dimensions, stat="Sum")]
    terms += [
        MetricQuery(id=f"whole{i}", namespace=namespace, metric_name=name, dimensions=dimensions, stat="Sum")
        for i, name in enumerate(whole)
    ]
    denominator = " + ".join(f"whole{i}" for i in range(len(whole)))
    return (
        *terms,
        MetricQuery(id=id_, expression=f"100 * FILL(part, 0) / ({denominator})", label=f"{part} (% of {' + '.join(whole)})", return_data=True),
    )


def nat_gateway_alarms(nat: NatGateway, t: AlarmThresholds) -> list[AlarmSpec]:
    dims = {"NatGatewayId": nat.nat_gateway_id}
    return [
        AlarmSpec(
            id="port-allocation",
            summary="The NAT gateway cannot allocate source ports: new outbound connections from the private subnets fail.",
            severity="critical",
            runbook="nat-gateway",
            namespace="AWS/NATGateway",
            metric_name="ErrorPortAllocation",
            dimensions=dims,
            statistic="Sum",
            threshold=0,
            comparison="GreaterThanThreshold",
            **_window(t),
        ),
        AlarmSpec(
            id="packet-drops",
            summary=f"The NAT gateway drops more than {t.nat_packet_drop_percent:g}% of its packets.",
            severity="warning",
            runbook="nat-gateway",
            queries=_share("drops", "AWS/NATGateway", "PacketsDropCount", ("PacketsInFromSource", "PacketsInFromDestination"), dims),
            threshold=t.nat_packet_drop_percent,
            comparison="GreaterThanThreshold",
            **_window(t),
        ),
    ]


def eks_cluster_alarms(cluster: EksCluster, t: AlarmThresholds) -> list[AlarmSpec]:
    dims = {"ClusterName": cluster.cluster_name}
    return [
        AlarmSpec(
            id="failed-nodes",
            summary="Nodes of the cluster report a failing condition (NotReady, memory, disk or PID pressure).",
            severity="critical",
            runbook="eks-nodes",
            namespace="ContainerInsights",
            metric_name="cluster_failed_node_count",
            dimensions=dims,
            statistic="Maximum",
            threshold=0,
            comparison="GreaterThanThreshold",
            **_window(t),
        ),
        AlarmSpec(
            id="node-cpu",
            summary=f"The cluster's nodes average more than {t.node_cpu_percent:g}% CPU: pods will queue for capacity.",
            severity="warning",
            runbook="eks-nodes",
            namespace="ContainerInsights",
            metric_name="node_cpu_utilization",
            dimensions=dims,
            statistic="Average",
            threshold=t.node_cpu_percent,
            comparison="GreaterThanThreshold",
            **_window(t, at_least=15),
        ),
    ]


def _healthy_targets(namespace: str, lb: LoadBalancer, t: AlarmThresholds) -> list[AlarmSpec]:
    specs = []
    for key, target_group in sorted(lb.target_groups.items()):
        dims = {"LoadBalancer": lb.arn_suffix, "TargetGroup": target_group}
        specs.append(
            AlarmSpec(
                id=f"{key}-no-healthy-targets",
                summary=f"Target group {key} has no healthy target: every request to it fails.",
                severity="critical",
                runbook="load-balancer",
                namespace=namespace,
                metric_name="HealthyHostCount",
                dimensions=dims,
                statistic="Minimum",
                threshold=1,
                comparison="LessThanThreshold",
                treat_missing_data="breaching",
                **_window(t),
            )
        )
        if lb.kind == "network":
            specs.append(
                AlarmSpec(
                    id=f"{key}-unhealthy-targets",
                    summary=f"Targets of target group {key} fail their health checks.",
                    severity="warning",
                    runbook="load-balancer",
                    namespace=namespace,
                    metric_name="UnHealthyHostCount",
                    dimensions=dims,
                    statistic="Maximum",
                    threshold=0,
                    comparison="GreaterThanThreshold",
                    **_window(t),
                )
            )
    return specs


def load_balancer_alarms(lb: LoadBalancer, t: AlarmThresholds) -> list[AlarmSpec]:
    if lb.kind == "network":
        return _healthy_targets("AWS/NetworkELB", lb, t)
    dims = {"LoadBalancer": lb.arn_suffix}
    namespace = "AWS/ApplicationELB"
    return [
        AlarmSpec(
            id="elb-5xx",
            summary=f"More than {t.error_rate_percent:g}% of requests get a 5xx from the load balancer itself (no target answered).",
            severity="critical",
            runbook="load-balancer",
            queries=_share("elb5xx", namespace, "HTTPCode_ELB_5XX_Count", ("RequestCount",), dims),
            threshold=t.error_rate_percent,
            comparison="GreaterThanThreshold",
            **_window(t),
        ),
        AlarmSpec(
            id="target-5xx",
            summary=f"More than {t.error_rate_percent:g}% of requests get a 5xx from the serving targets.",
            severity="critical",
            runbook="load-balancer",
            queries=_share("target5xx", namespace, "HTTPCode_Target_5XX_Count", ("RequestCount",), dims),
            threshold=t.error_rate_percent,
            comparison="GreaterThanThreshold",
            **_window(t),
        ),
        AlarmSpec(
            id="latency-p99",
            summary=f"p99 target response time is above {t.latency_p99_seconds:g}s.",
            severity="warning",
            runbook="load-balancer",
            namespace=namespace,
            metric_name="TargetResponseTime",
            dimensions=dims,
            extended_statistic="p99",
            threshold=t.latency_p99_seconds,
            comparison="GreaterThanThreshold",
            **_window(t),
        ),
        *_healthy_targets(namespace, lb, t),
    ]


def aurora_alarms(db: AuroraCluster, t: AlarmThresholds) -> list[AlarmSpec]:
    dims = {"DBClusterIdentifier": db.cluster_identifier}

    def rds(id_: str, summary: str, metric: str, statistic: str, threshold: float, comparison: Comparison, at_least: int = 1) -> AlarmSpec:
        return AlarmSpec(
            id=id_, summary=summary, severity="warning", runbook="aurora", namespace="AWS/RDS", metric_name=metric,
            dimensions=dims, statistic=statistic, threshold=threshold, comparison=comparison, **_window(t, at_least),
        )

    specs = [
        rds("cpu", f"The vector store's CPU is above {t.aurora_cpu_percent:g}%.", "CPUUtilization", "Average", t.aurora_cpu_percent, "GreaterThanThreshold", 10),
        rds(
            "freeable-memory",
            f"The vector store has less than {t.aurora_freeable_memory_mib:g} MiB of freeable memory.",
            "FreeableMemory", "Average", t.aurora_freeable_memory_mib * 1024 * 1024, "LessThanThreshold", 10,
        ),
        rds("deadlocks", "Transactions of the vector store deadlock.", "Deadlocks", "Average", 0, "GreaterThanThreshold"),
    ]
    if db.serverless:
        specs.insert(
            1,
            rds(
                "acu",
                f"The vector store runs above {t.aurora_acu_percent:g}% of its maximum capacity (ACUs): raise maxAcu or find the load.",
                "ACUUtilization", "Average", t.aurora_acu_percent, "GreaterThanThreshold", 15,
            ),
        )
    return specs


def serverless_cache_alarms(cache: ServerlessCache, t: AlarmThresholds) -> list[AlarmSpec]:
    dims = {"clusterId": cache.cache_name}

    def cache_alarm(id_: str, summary: str, metric: str, statistic: str, threshold: float) -> AlarmSpec:
        return AlarmSpec(
            id=id_, summary=summary, severity="warning", runbook="cache", namespace="AWS/ElastiCache", metric_name=metric,
            dimensions=dims, statistic=statistic, threshold=threshold, comparison="GreaterThanThreshold", **_window(t),
        )

    specs = [
        cache_alarm(
            "throttled",
            "The cache throttles commands: the workload grows faster than the cache scales, or it hit its limits.",
            "ThrottledCmds", "Sum", 0,
        )
    ]
    if cache.ecpu_per_second_limit:
        # Sum over a 60 s period = ECPUs per minute.
        specs.append(
            cache_alarm(
                "ecpu",
                f"The cache uses more than {t.cache_ecpu_percent:g}% of its {cache.ecpu_per_second_limit} ECPUs per second.",
                "ElastiCacheProcessingUnits", "Sum", cache.ecpu_per_second_limit * 60 * t.cache_ecpu_percent / 100,
            )
        )
    if cache.data_storage_limit_gb:
        specs.append(
            cache_alarm(
                "storage",
                f"The cache holds more than {t.cache_storage_percent:g}% of its {cache.data_storage_limit_gb:g} GB limit: writes will be refused.",
                "BytesUsedForCache", "Maximum", cache.data_storage_limit_gb * 1e9 * t.cache_storage_percent / 100,
            )
        )
    return specs


def queue_alarms(queue: Queue, t: AlarmThresholds) -> list[AlarmSpec]:
    def queue_alarm(id_: str, summary: str, metric: str, threshold: float) -> AlarmSpec:
        return AlarmSpec(
            id=id_, summary=summary, severity="warning", runbook="queue", namespace="AWS/SQS", metric_name=metric,
            dimensions={"QueueName": queue.queue_name}, statistic="Maximum", threshold=threshold,
            comparison="GreaterThanThreshold", **_window(t),
        )

    if queue.dead_letter:
        summary = f"Messages reached the dead-letter queue: {queue.consumer} failed on them repeatedly."
        return [queue_alarm("dead-letters", summary, "ApproximateNumberOfMessagesVisible", 0)]
    age = max(t.queue_age_seconds, queue.held_seconds)
    summary = f"Messages wait more than {age:g}s in the queue: {queue.consumer} is not reading it."
    return [queue_alarm("oldest-message", summary, "ApproximateAgeOfOldestMessage", age)]


def alarm_specs(monitored: Monitored, thresholds: AlarmThresholds) -> list[AlarmSpec]:
    """The alarms of one monitored resource."""
    if isinstance(monitored, NatGateway):
        return nat_gateway_alarms(monitored, thresholds)
    if isinstance(monitored, EksCluster):
        return eks_cluster_alarms(monitored, thresholds)
    if isinstance(monitored, LoadBalancer):
        return load_balancer_alarms(monitored, thresholds)
    if isinstance(monitored, AuroraCluster):
        return aurora_alarms(monitored, thresholds)
    if isinstance(monitored, ServerlessCache):
        return serverless_cache_alarms(monitored, thresholds)
    return queue_alarms(monitored, thresholds)


def alarm_description(spec: AlarmSpec, runbook_base: str) -> str:
    """``[severity] summary Runbook: <link>`` (what an on-call reads in the notification)."""
    return f"[{spec.severity}] {spec.summary} Runbook: {runbook_url(runbook_base, spec.runbook)}"


# ----------------------------------------------------------------------------- policies


def topic_key_policy(account_id: str, partition: str, publishers: Sequence[str]) -> str:
    """The topic key's policy: the account administers it through IAM; the publishing
    services may encrypt messages for the topic (SNS calls KMS on their behalf)."""
    return key_policy(
        account_id,
        partition,
        {
            "Sid": "PublishersEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": sorted(publishers)},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    )


def topic_policy(topic_arn: str, account_id: str, publishers: Sequence[str]) -> str:
    """Who may use the topic: principals of the account (subject to their IAM policies),
    the publishing services on this account's behalf only; never over plain HTTP."""
    partition = topic_arn.split(":")[1]
    return policy_json(
        {
            "Sid": "AccountUses",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": list(TOPIC_OWNER_ACTIONS),
            "Resource": topic_arn,
        },
        {
            "Sid": "ServicesPublish",
            "Effect": "Allow",
            "Principal": {"Service": sorted(publishers)},
            "Action": "SNS:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        deny_without_tls("SNS:Publish", topic_arn),
    )


# ----------------------------------------------------------------------------- component


@dataclass(frozen=True)
class AlertingArgs:
    """Arguments of :class:`Alerting`."""

    region: str
    """AWS region of the topic and alarms; must match the provider the component is given."""
    name_prefix: str
    """Prefix of the topic's and the alarms' AWS names (e.g. ``llmops-prod-us-east-1``)."""
    emails: Sequence[str] = ()
    """Addresses subscribed to the topic (each confirms the subscription once, by email)."""
    webhooks: Sequence[str] = ()
    """HTTPS endpoints subscribed to the topic (paging and chat tools that confirm SNS
    subscriptions themselves, e.g. PagerDuty or Opsgenie)."""
    publishers: Sequence[str] = PUBLISHERS
    """AWS services allowed to publish to the topic (and to use its key)."""
    monitored: Sequence[Monitored] = ()
    """What to alarm on in this region."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    """When the alarms fire."""
    runbook_base: str = "docs/runbooks"
    """Where the runbook pages live (a repository URL, or the path in the repository)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the children (the provider's default tags carry the cost tags)."""

    def validate(self) -> None:
        """Fails before any child is created, naming the argument."""
        found = self.thresholds.problems("AlertingArgs.thresholds")
        for index, url in enumerate(self.webhooks):
            if not url.startswith("https://"):
                found.append(f"AlertingArgs.webhooks[{index}]: {url!r} is not an HTTPS URL; SNS delivers alerts over HTTPS only")
        for index, email in enumerate(self.emails):
            if "@" not in email:
                found.append(f"AlertingArgs.emails[{index}]: {email!r} is not an email address")
        unknown = sorted(set(self.publishers) - set(PUBLISHERS))
        if unknown:
            found.append(f"AlertingArgs.publishers: unknown service(s) {', '.join(unknown)}; use some of {', '.join(PUBLISHERS)}")
        keys = [m.key for m in self.monitored]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            found.append(f"AlertingArgs.monitored: key(s) {', '.join(duplicates)} used twice; give each resource its own key")
        if found:
            raise ValueError("invalid AlertingArgs:\n  " + "\n  ".join(found))


class Alerting(pulumi.ComponentResource):
    """A region's alert topic (KMS-encrypted), its subscriptions and the CloudWatch alarms
    of the region's monitored resources. Give it the region's AWS provider (``opts.providers``)."""

    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    alarm_names: list[str]

    def __init__(self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:ops:Alerting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = account_key(
            f"{name}-topic",
            alias=f"{args.name_prefix}-alerts",
            description=f"Encrypts the alert topic {args.name_prefix}-alerts",
            policy=lambda account, partition: topic_key_policy(account, partition, args.publishers),
            tags=args.tags,
            parent=self,
        )
        account_id = caller_account(self).apply(lambda account: account[0])
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=f"{args.name_prefix}-alerts"[:256],
            display_name=f"llmops alerts {args.name_prefix}"[:100],
            kms_master_key_id=key.arn,
            tags=name_tags(args.tags, f"{name}-topic"),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-topic",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account_id).apply(
                lambda v: topic_policy(v[0], v[1], args.publishers)
            ),
            opts=child,
        )
        for email in args.emails:
            aws.sns.TopicSubscription(
                f"{name}-email-{_subscription_id(email)}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        for url in args.webhooks:
            aws.sns.TopicSubscription(
                f"{name}-webhook-{_subscription_id(url)}",
                topic=topic.arn,
                protocol="https",
                endpoint=url,
                endpoint_auto_confirms=True,
                opts=child,
            )
        alarm_names = []
        for monitored in args.monitored:
            for spec in alarm_specs(monitored, args.thresholds):
                alarm_name = f"{args.name_prefix}-{monitored.key}-{spec.id}"
                _alarm(f"{name}-{monitored.key}-{spec.id}", alarm_name, spec, topic.arn, args, child)
                alarm_names.append(alarm_name)
        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.alarm_names = alarm_names
        self.register_outputs({"topicArn": self.topic_arn, "keyArn": self.key_arn, "alarmNames": self.alarm_names})


def _subscription_id(endpoint: str) -> str:
    """A stable, readable id for a subscription: the endpoint with every run of other
    characters turned into ``-`` (an address's subscription keeps its name when others are
    added or removed)."""
    cleaned = re.sub(r"^https://", "", endpoint.lower())
    return re.sub(r"[^a-z0-9]+", "-", cleaned).strip("-")[:60]


def _alarm(
    resource_name: str,
    alarm_name: str,
    spec: AlarmSpec,
    topic_arn: pulumi.Output[str],
    args: AlertingArgs,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    common: dict[str, Any] = {
        "name": alarm_name,
        "alarm_description": alarm_description(spec, args.runbook_base),
        "comparison_operator": spec.comparison,
        "threshold": spec.threshold,
        "evaluation_periods": spec.evaluation_periods,
        "datapoints_to_alarm": spec.datapoints_to_alarm,
        "treat_missing_data": spec.treat_missing_data,
        "actions_enabled": True,
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
        "tags": {**name_tags(args.tags, resource_name), "Severity": spec.severity},
    }
    if spec.queries:
        return aws.cloudwatch.MetricAlarm(
            resource_name,
            metric_queries=[_query(q, spec.period) for q in spec.queries],
            opts=opts,
            **common,
        )
    return aws.cloudwatch.MetricAlarm(
        resource_name,
        namespace=spec.namespace,
        metric_name=spec.metric_name,
        dimensions=dict(spec.dimensions),
        statistic=spec.statistic,
        extended_statistic=spec.extended_statistic,
        period=spec.period,
        opts=opts,
        **common,
    )


def _query(query: MetricQuery, period: int) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
    if query.expression is not None:
        return aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query.id, expression=query.expression, label=query.label, return_data=query.return_data
        )
    return aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=query.id,
        return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=query.namespace,
            metric_name=str(query.metric_name),
            dimensions=dict(query.dimensions),
            stat=str(query.stat),
            period=period,
        ),
    )


# ----------------------------------------------------------------------------- dashboard


def _widget(title: str, region: str, metrics: list[list[Any]], stat: str, y: int, x: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {"title": title, "region": region, "metrics": metrics, "stat": stat, "period": 300, "view": "timeSeries"},
    }


def dashboard_widgets(monitored_by_region: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """The CloudWatch dashboard's widgets: for every region, one graph per monitored
    resource. ``monitored_by_region`` holds resolved descriptions (:func:`resolved`)."""
    widgets: list[dict[str, Any]] = []
    position = 0
    for region in sorted(monitored_by_region):
        for item in monitored_by_region[region]:
            widget = _resource_widget(region, item)
            if widget is None:
                continue
            title, metrics, stat = widget
            widgets.append(_widget(f"{region} {item['key']}: {title}", region, metrics, stat, (position // 2) * 6, (position % 2) * 12))
            position += 1
    return widgets


def _resource_widget(region: str, item: Mapping[str, Any]) -> tuple[str, list[list[Any]], str] | None:
    kind = item["kind"]
    if kind == "nat":
        ns, dim = "AWS/NATGateway", ["NatGatewayId", item["id"]]
        return "NAT errors and drops", [[ns, "ErrorPortAllocation", *dim], [ns, "PacketsDropCount", *dim]], "Sum"
    if kind == "eks":
        ns, dim = "ContainerInsights", ["ClusterName", item["id"]]
        return "nodes", [[ns, "cluster_node_count", *dim], [ns, "cluster_failed_node_count", *dim], [ns, "node_cpu_utilization", *dim]], "Average"
    if kind == "lb-application":
        ns, dim = "AWS/ApplicationELB", ["LoadBalancer", item["id"]]
        return (
            "requests, 5xx, p99",
            [[ns, "RequestCount", *dim], [ns, "HTTPCode_ELB_5XX_Count", *dim], [ns, "HTTPCode_Target_5XX_Count", *dim],
             [ns, "TargetResponseTime", *dim, {"stat": "p99", "yAxis": "right"}]],
            "Sum",
        )
    if kind == "lb-network":
        ns, dim = "AWS/NetworkELB", ["LoadBalancer", item["id"]]
        return "flows and resets", [[ns, "ActiveFlowCount", *dim], [ns, "TCP_Target_Reset_Count", *dim], [ns, "TCP_ELB_Reset_Count", *dim]], "Sum"
    if kind == "aurora":
        ns, dim = "AWS/RDS", ["DBClusterIdentifier", item["id"]]
        return "CPU, ACU, connections", [[ns, "CPUUtilization", *dim], [ns, "ACUUtilization", *dim], [ns, "DatabaseConnections", *dim, {"yAxis": "right"}]], "Average"
    if kind == "cache":
        ns, dim = "AWS/ElastiCache", ["clusterId", item["id"]]
        return "ECPU, throttling, hit rate", [[ns, "ElastiCacheProcessingUnits", *dim], [ns, "ThrottledCmds", *dim], [ns, "CacheHitRate", *dim, {"stat": "Average", "yAxis": "right"}]], "Sum"
    if kind == "queue":
        ns, dim = "AWS/SQS", ["QueueName", item["id"]]
        return "oldest message, backlog", [[ns, "ApproximateAgeOfOldestMessage", *dim], [ns, "ApproximateNumberOfMessagesVisible", *dim, {"yAxis": "right"}]], "Maximum"
    return None


def resolved(monitored: Monitored) -> pulumi.Output[dict[str, Any]]:
    """A description with its ids resolved, for the dashboard body."""
    if isinstance(monitored, NatGateway):
        kind, value = "nat", monitored.nat_gateway_id
    elif isinstance(monitored, EksCluster):
        kind, value = "eks", monitored.cluster_name
    elif isinstance(monitored, LoadBalancer):
        kind, value = f"lb-{monitored.kind}", monitored.arn_suffix
    elif isinstance(monitored, AuroraCluster):
        kind, value = "aurora", monitored.cluster_identifier
    elif isinstance(monitored, ServerlessCache):
        kind, value = "cache", monitored.cache_name
    else:
        kind, value = "queue", monitored.queue_name
    key = monitored.key
    return pulumi.Output.from_input(value).apply(lambda v: {"kind": kind, "key": key, "id": v})


@dataclass(frozen=True)
class OperationsDashboardArgs:
    """Arguments of :class:`OperationsDashboard`."""

    dashboard_name: str
    """The dashboard's name (letters, digits, ``-`` and ``_``; at most 255 characters)."""
    monitored: Mapping[str, Sequence[Monitored]]
    """Monitored resources by region."""

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", self.dashboard_name):
            raise ValueError(
                f"invalid OperationsDashboardArgs:\n  OperationsDashboardArgs.dashboard_name: {self.dashboard_name!r} may only hold "
                "letters, digits, '-' and '_' (at most 255)"
            )


class OperationsDashboard(pulumi.ComponentResource):
    """The stack's CloudWatch dashboard of the AWS side (NAT, nodes, load balancers, data
    stores, queues in every region). Give it the home region's AWS provider."""

    dashboard_arn: pulumi.Output[str]

    def __init__(self, name: str, args: OperationsDashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:ops:OperationsDashboard", name, None, opts)
        regions = sorted(args.monitored)
        items = [pulumi.Output.all(*[resolved(m) for m in args.monitored[r]]) for r in regions]
        body = pulumi.Output.all(*items).apply(
            lambda per_region: json.dumps(
                {"widgets": dashboard_widgets(dict(zip(regions, per_region, strict=True)))}, sort_keys=True
            )
        )
        dashboard = aws.cloudwatch.Dashboard(
            name, dashboard_name=args.dashboard_name, dashboard_body=body, opts=pulumi.ResourceOptions(parent=self)
        )
        self.dashboard_arn = dashboard.dashboard_arn
        self.register_outputs({"dashboardArn": self.dashboard_arn})
