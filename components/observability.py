"""``Observability``: metrics, alert routing, dashboards and logs of one region's cluster.

Metrics, one of (:attr:`ObservabilityArgs.metrics`):

* ``kube-prometheus-stack`` (Helm, pinned in :mod:`components.versions`): Prometheus,
  Alertmanager, Grafana, kube-state-metrics and node-exporter in the ``monitoring``
  namespace. The ``*SelectorNilUsesHelmValues`` flags are off, so Prometheus picks up every
  ServiceMonitor, PodMonitor and PrometheusRule (each also carries the ``release`` label).
  Alertmanager sends the platform's alerts (``platform: llmops``) and every ``critical``
  alert to the region's SNS topic (``sns_configs`` signed with SigV4; its service account
  gets ``sns:Publish`` through EKS Pod Identity). Grafana's sidecar loads every ConfigMap
  labelled ``grafana_dashboard: "1"``: the dashboards of ``dashboards/`` are given to it so.
* ``amp``: an Amazon Managed Service for Prometheus workspace fed by a managed scraper with
  the cluster as its source (an access entry and RBAC let the scraper read the cluster),
  the same rules as a rule-group namespace, and an alert manager definition that publishes
  to the same topic. Dashboards are then imported into Amazon Managed Grafana by hand.
* ``none``: nothing (the alarms of :class:`~components.alerting.Alerting` remain).

Scraped, in-cluster: Ray head and worker pods (PodMonitors on the ``metrics`` port 8080 that
KubeRay opens, ``ray.io/cluster`` relabelled to ``ray_io_cluster``), the serving API's
``/metrics`` through the Serve proxy, the DCGM exporter (ServiceMonitor on its 9400 service,
GPU pool and accelerator taken from the node's labels) and node-exporter (the chart's own
ServiceMonitor). Rules: :mod:`components.prometheus_rules`.

Logs (:attr:`ObservabilityArgs.logs`, clusters the stack creates): the EKS add-on
``amazon-cloudwatch-observability`` (Fluent Bit for container logs, the CloudWatch agent for
Container Insights metrics, which the node alarms read) with a Pod Identity role, and its
log groups created beforehand with the configured retention and, optionally, a
customer-managed KMS key. The add-on is preferred to a Fluent Bit chart: EKS keeps it
compatible with the cluster's version, and the same agent provides the node metrics.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from components import versions
from components.cluster.addons import MONITORING_NAMESPACE as DCGM_NAMESPACE
from components.cluster.nodes import SYSTEM_NODE_LABELS
from components.helm import Chart, helm_release
from components.iam import policy_json
from components.kms import account_key, key_policy, logs_statement
from components.naming import TYPE_PREFIX, name_tags
from components.pod_identity import pod_identity
from components.prometheus_rules import PLATFORM_LABEL, RuleThresholds, rule_groups
from core import gpu_pool

MetricsStack = Literal["kube-prometheus-stack", "amp", "none"]
METRICS_STACKS: tuple[MetricsStack, ...] = ("kube-prometheus-stack", "amp", "none")

NAMESPACE = "monitoring"
RELEASE = "kube-prometheus-stack"
ALERTMANAGER_SERVICE_ACCOUNT = "alertmanager"
RELEASE_LABEL = {"release": RELEASE}
"""The label kube-prometheus-stack's own selectors match (set on every monitor and rule too)."""
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
"""The label Grafana's dashboard sidecar loads ConfigMaps by."""
RAY_METRICS_PORT = "metrics"
"""Port name of the metrics endpoint (8080) KubeRay opens on Ray head and worker containers."""
SERVE_PORT = "serve"
"""Port name of the Serve HTTP proxy (8000) on the Ray head container."""
LOG_STREAMS = ("application", "dataplane", "host", "performance")
"""The Container Insights log groups ``/aws/containerinsights/<cluster>/<stream>``."""
CLOUDWATCH_AGENT_NAMESPACE = "amazon-cloudwatch"
CLOUDWATCH_AGENT_SERVICE_ACCOUNT = "cloudwatch-agent"
CLOUDWATCH_AGENT_POLICIES = (
    "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
)
"""What the add-on's role needs (the add-on's documented permissions)."""
AMP_COLLECTOR_USER = "aps-collector-user"
"""The Kubernetes user name the managed scraper's role maps to."""


def log_group_names(cluster_name: str) -> list[str]:
    """The Container Insights log groups of a cluster."""
    return [f"/aws/containerinsights/{cluster_name}/{stream}" for stream in LOG_STREAMS]


# ----------------------------------------------------------------------------- manifests


def _label_relabel(source: str, target: str) -> dict[str, Any]:
    return {"sourceLabels": [source], "targetLabel": target, "action": "replace"}


def _prometheus_label(kubernetes_label: str) -> str:
    """A Kubernetes label as Prometheus service discovery spells it (``llmops.io/gpu-pool``
    -> ``llmops_io_gpu_pool``)."""
    return "".join(c if c.isalnum() else "_" for c in kubernetes_label)


def ray_pod_monitor(name: str, node_type: str) -> dict[str, Any]:
    """A PodMonitor for Ray pods of one node type, in every namespace, with the RayCluster's
    name as ``ray_io_cluster`` (what Ray's dashboards filter on)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(RELEASE_LABEL)},
        "spec": {
            "jobLabel": "ray.io/node-type",
            "namespaceSelector": {"any": True},
            "selector": {"matchLabels": {"ray.io/node-type": node_type}},
            "podMetricsEndpoints": [
                {
                    "port": RAY_METRICS_PORT,
                    "interval": "30s",
                    "relabelings": [
                        _label_relabel("__meta_kubernetes_pod_label_ray_io_cluster", "ray_io_cluster"),
                        _label_relabel("__meta_kubernetes_pod_node_name", "node"),
                    ],
                }
            ],
        },
    }


def serving_api_pod_monitor() -> dict[str, Any]:
    """The serving API's own metrics (tokens, cost, cache) at ``/metrics`` through the Serve
    proxy on the head pods."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "llmops-serving-api", "namespace": NAMESPACE, "labels": dict(RELEASE_LABEL)},
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchLabels": {"ray.io/node-type": "head"}},
            "podMetricsEndpoints": [
                {
                    "port": SERVE_PORT,
                    "path": "/metrics",
                    "interval": "30s",
                    "relabelings": [_label_relabel("__meta_kubernetes_pod_label_ray_io_cluster", "ray_io_cluster")],
                }
            ],
        },
    }


def dcgm_service_monitor() -> dict[str, Any]:
    """The DCGM exporter's service (installed by the cluster's GPU software), with each GPU's
    pool and accelerator from its node's labels (:mod:`core.gpu_pool`)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "dcgm-exporter", "namespace": NAMESPACE, "labels": dict(RELEASE_LABEL)},
        "spec": {
            "jobLabel": "app.kubernetes.io/name",
            "namespaceSelector": {"matchNames": [DCGM_NAMESPACE]},
            "selector": {
                "matchLabels": {"app.kubernetes.io/name": "dcgm-exporter", "app.kubernetes.io/instance": "dcgm-exporter"}
            },
            "attachMetadata": {"node": True},
            "endpoints": [
                {
                    "port": "metrics",
                    "path": "/metrics",
                    "interval": "15s",
                    "relabelings": [
                        _label_relabel(f"__meta_kubernetes_node_label_{_prometheus_label(gpu_pool.POOL_LABEL)}", "pool"),
                        _label_relabel(
                            f"__meta_kubernetes_node_label_{_prometheus_label(gpu_pool.ACCELERATOR_LABEL)}", "accelerator"
                        ),
                        _label_relabel("__meta_kubernetes_pod_node_name", "node"),
                    ],
                }
            ],
        },
    }


def monitors() -> list[dict[str, Any]]:
    """Every ServiceMonitor and PodMonitor the platform adds to kube-prometheus-stack's own."""
    return [
        ray_pod_monitor("ray-head", "head"),
        ray_pod_monitor("ray-workers", "worker"),
        serving_api_pod_monitor(),
        dcgm_service_monitor(),
    ]


def prometheus_rule(thresholds: RuleThresholds, runbook_base: str) -> dict[str, Any]:
    """The platform's alerts as one ``PrometheusRule``."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "llmops", "namespace": NAMESPACE, "labels": {**RELEASE_LABEL, **PLATFORM_LABEL}},
        "spec": {"groups": rule_groups(thresholds, runbook_base)},
    }


def dashboard_config_map(stem: str, dashboard: str) -> dict[str, Any]:
    """A Grafana dashboard (JSON text) as the sidecar loads it."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"llmops-dashboard-{stem}", "namespace": NAMESPACE, "labels": dict(DASHBOARD_LABEL)},
        "data": {f"{stem}.json": dashboard},
    }


SNS_SUBJECT = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})"
"""Alert notification subject (Alertmanager template; SNS subjects are at most 100 characters)."""


def alertmanager_config(region: str, topic_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Alertmanager's routing: the platform's alerts and every critical alert to the topic
    (grouped by alert and application), the rest (kube-prometheus-stack's warnings, its
    Watchdog) nowhere."""
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": "null",
            "group_by": ["alertname", "namespace", "application", "pool"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {"receiver": "null", "matchers": ['alertname = "Watchdog"']},
                {"receiver": "sns", "matchers": ['platform = "llmops"']},
                {"receiver": "sns", "matchers": ['severity = "critical"']},
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity = "critical"'],
                "target_matchers": ['severity = "warning"'],
                "equal": ["alertname", "namespace"],
            }
        ],
        "receivers": [
            {"name": "null"},
            {
                "name": "sns",
                "sns_configs": [
                    {
                        "topic_arn": topic_arn,
                        "sigv4": {"region": region},
                        "subject": SNS_SUBJECT,
                        "send_resolved": True,
                    }
                ],
            },
        ],
    }


@dataclass(frozen=True)
class PrometheusArgs:
    """The in-cluster Prometheus and Alertmanager."""

    retention: str = "7d"
    """How long Prometheus keeps samples (``7d``, ``15d``)."""
    replicas: int = 1
    """Prometheus replicas (each scrapes everything; two survive a node loss)."""
    alertmanager_replicas: int = 1
    """Alertmanager replicas (they form a cluster and deduplicate notifications)."""
    scrape_interval: str = "30s"
    """Default scrape interval."""


def kube_prometheus_stack_values(
    region: str, cluster_name: pulumi.Input[str], topic_arn: pulumi.Input[str], prometheus: PrometheusArgs
) -> dict[str, Any]:
    """The chart's values (checked against the chart's own ``values.yaml`` in the tests);
    the cluster name and topic may be outputs."""
    system = dict(SYSTEM_NODE_LABELS)
    return {
        "crds": {"enabled": True},
        "alertmanager": {
            "serviceAccount": {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT},
            "config": alertmanager_config(region, topic_arn),
            "alertmanagerSpec": {"replicas": prometheus.alertmanager_replicas, "nodeSelector": system},
        },
        "prometheus": {
            "prometheusSpec": {
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "retention": prometheus.retention,
                "replicas": prometheus.replicas,
                "scrapeInterval": prometheus.scrape_interval,
                "externalLabels": {"cluster": cluster_name, "region": region},
                "nodeSelector": system,
            }
        },
        "prometheusOperator": {"nodeSelector": system},
        "grafana": {
            "enabled": True,
            "nodeSelector": system,
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": next(iter(DASHBOARD_LABEL)),
                    "labelValue": DASHBOARD_LABEL["grafana_dashboard"],
                    "searchNamespace": "ALL",
                }
            },
        },
        "kube-state-metrics": {"nodeSelector": system},
        # node-exporter runs on every node, GPU nodes (tainted) included.
        "prometheus-node-exporter": {"tolerations": [{"operator": "Exists"}]},
    }


def amp_scrape_configuration(scrape_interval: str) -> str:
    """The managed scraper's Prometheus configuration: the same targets as the in-cluster
    monitors (Ray pods, the serving API, the DCGM exporter). The managed scraper attaches no
    node labels to endpoints, so GPU series carry the node, not the pool."""

    def keep(label: str, value: str) -> dict[str, Any]:
        return {"source_labels": [label], "regex": value, "action": "keep"}

    def copy(source: str, target: str) -> dict[str, Any]:
        return {"source_labels": [source], "target_label": target, "action": "replace"}

    config = {
        "global": {"scrape_interval": scrape_interval},
        "scrape_configs": [
            {
                "job_name": "ray",
                "kubernetes_sd_configs": [{"role": "pod"}],
                "relabel_configs": [
                    keep("__meta_kubernetes_pod_label_ray_io_node_type", "head|worker"),
                    keep("__meta_kubernetes_pod_container_port_name", RAY_METRICS_PORT),
                    copy("__meta_kubernetes_pod_label_ray_io_cluster", "ray_io_cluster"),
                    copy("__meta_kubernetes_pod_node_name", "node"),
                ],
            },
            {
                "job_name": "llmops-serving-api",
                "metrics_path": "/metrics",
                "kubernetes_sd_configs": [{"role": "pod"}],
                "relabel_configs": [
                    keep("__meta_kubernetes_pod_label_ray_io_node_type", "head"),
                    keep("__meta_kubernetes_pod_container_port_name", SERVE_PORT),
                    copy("__meta_kubernetes_pod_label_ray_io_cluster", "ray_io_cluster"),
                ],
            },
            {
                "job_name": "dcgm-exporter",
                "scrape_interval": "15s",
                "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [DCGM_NAMESPACE]}}],
                "relabel_configs": [
                    keep("__meta_kubernetes_service_label_app_kubernetes_io_name", "dcgm-exporter"),
                    keep("__meta_kubernetes_endpoint_port_name", "metrics"),
                    copy("__meta_kubernetes_pod_node_name", "node"),
                ],
            },
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def amp_alert_manager_definition(region: str, topic_arn: str) -> str:
    """The workspace's alert manager definition: the same routing, SigV4 to the topic."""
    config = alertmanager_config(region, topic_arn)
    return yaml.safe_dump({"alertmanager_config": yaml.safe_dump(config, sort_keys=False)}, sort_keys=False)


def collector_cluster_role() -> dict[str, Any]:
    """What the managed scraper may read in the cluster (the documented ``aps-collector-role``)."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "aps-collector-role"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods", "ingresses", "configmaps"],
                "verbs": ["get", "list", "watch"],
            },
            {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses/status", "ingresses"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
        ],
    }


def role_arn_without_path(arn: str) -> str:
    """``arn:aws:iam::1:role/aws-service-role/x/Name`` -> ``arn:aws:iam::1:role/Name`` (EKS
    access entries name a role without its path)."""
    head, _, resource = arn.partition(":role/")
    return f"{head}:role/{resource.rsplit('/', 1)[-1]}" if resource else arn


def alertmanager_policy(topic_arn: str, key_arn: str) -> str:
    """Alertmanager publishes to the topic (and encrypts for it with the topic's key)."""
    return policy_json(
        {"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn},
        {"Sid": "EncryptForTopic", "Effect": "Allow", "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": key_arn},
    )


def logs_key_policy(account_id: str, partition: str, region: str) -> str:
    """The log groups' key: the account administers it; CloudWatch Logs in ``region`` uses
    it for this account's Container Insights log groups only."""
    return key_policy(account_id, partition, logs_statement(account_id, partition, region, "/aws/containerinsights/*"))


# ----------------------------------------------------------------------------- component


@dataclass(frozen=True)
class LogsArgs:
    """Pod logs to CloudWatch Logs."""

    retention_days: int = 30
    """Retention of the log groups (a value CloudWatch Logs accepts)."""
    kms: bool = True
    """Encrypt the log groups with a customer-managed key of their own."""


@dataclass(frozen=True)
class ObservabilityArgs:
    """Arguments of :class:`Observability`."""

    region: str
    """AWS region of the cluster; must match the AWS provider the component is given."""
    cluster_name: pulumi.Input[str]
    """The EKS cluster (log groups, add-on, managed scraper, Prometheus' ``cluster`` label)."""
    topic_arn: pulumi.Input[str]
    """The region's alert topic (:class:`~components.alerting.Alerting`)."""
    topic_key_arn: pulumi.Input[str]
    """The topic's KMS key."""
    name_prefix: str
    """Prefix of AWS names (workspace alias, scraper alias, key alias)."""
    metrics: MetricsStack = "kube-prometheus-stack"
    """Which Prometheus: in the cluster, Amazon Managed Service for Prometheus, or none."""
    prometheus: PrometheusArgs = field(default_factory=PrometheusArgs)
    """The in-cluster Prometheus (``kube-prometheus-stack``)."""
    rules: RuleThresholds = field(default_factory=RuleThresholds)
    """When the Prometheus alerts fire."""
    runbook_base: str = "docs/runbooks"
    """Where the runbook pages live."""
    dashboards: Mapping[str, str] = field(default_factory=dict)
    """Grafana dashboards (JSON text) by file stem, given to the in-cluster Grafana."""
    logs: LogsArgs | None = None
    """Ship pod logs (None: the cluster's owner ships them, e.g. an existing cluster)."""
    kubernetes_version: str | None = None
    """The cluster's Kubernetes version: the CloudWatch observability add-on is installed at
    the build pinned for it in :mod:`components.versions`, else at AWS's default build for it."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    """``amp``: the cluster's private subnets, where the managed scraper's interfaces go."""
    chart: Chart = versions.KUBE_PROMETHEUS_STACK
    """The kube-prometheus-stack chart."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What the in-cluster parts wait for (the cluster and its nodes)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the AWS children."""

    def validate(self) -> None:
        """Fails before any child is created, naming the argument."""
        found = self.rules.problems("ObservabilityArgs.rules")
        if self.metrics not in METRICS_STACKS:
            found.append(f"ObservabilityArgs.metrics: must be one of {', '.join(METRICS_STACKS)} (got {self.metrics!r})")
        if self.prometheus.replicas < 1 or self.prometheus.alertmanager_replicas < 1:
            found.append("ObservabilityArgs.prometheus: replicas and alertmanager_replicas must be >= 1")
        for stem, text in self.dashboards.items():
            try:
                json.loads(text)
            except ValueError as exc:
                found.append(f"ObservabilityArgs.dashboards[{stem}]: not JSON ({exc})")
        if self.metrics == "amp" and self.subnet_ids is None:
            found.append("ObservabilityArgs.subnet_ids: the managed scraper needs the cluster's subnets")
        if self.logs is not None and self.logs.retention_days < 1:
            found.append(f"ObservabilityArgs.logs.retention_days: must be >= 1 (got {self.logs.retention_days})")
        if found:
            raise ValueError("invalid ObservabilityArgs:\n  " + "\n  ".join(found))


@dataclass(frozen=True)
class _Metrics:
    workspace_arn: pulumi.Output[str | None]
    alertmanager_role_arn: pulumi.Output[str | None]


class Observability(pulumi.ComponentResource):
    """Metrics, alert routing, dashboards and logs of one cluster. Give it the region's AWS
    provider and the cluster's Kubernetes provider (``opts.providers``)."""

    workspace_arn: pulumi.Output[str | None]
    alertmanager_role_arn: pulumi.Output[str | None]
    log_group_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:ops:Observability", name, None, opts)
        if args.metrics == "kube-prometheus-stack":
            metrics = self._in_cluster(name, args)
        elif args.metrics == "amp":
            metrics = self._managed(name, args)
        else:
            metrics = _Metrics(pulumi.Output.from_input(None), pulumi.Output.from_input(None))
        groups: pulumi.Output[list[str]] = (
            self._logs(name, args, args.logs) if args.logs is not None else pulumi.Output.from_input([])
        )
        self.workspace_arn = metrics.workspace_arn
        self.alertmanager_role_arn = metrics.alertmanager_role_arn
        self.log_group_names = groups
        self.register_outputs(
            {
                "workspaceArn": self.workspace_arn,
                "alertmanagerRoleArn": self.alertmanager_role_arn,
                "logGroupNames": self.log_group_names,
            }
        )

    def _child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    # ------------------------------------------------------------------ in-cluster stack
    def _in_cluster(self, name: str, args: ObservabilityArgs) -> _Metrics:
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": NAMESPACE,
                # node-exporter reads the host (hostNetwork, hostPID, host paths).
                "labels": {"app.kubernetes.io/part-of": "llmops-platform", "pod-security.kubernetes.io/enforce": "privileged"},
            },
            opts=self._child(args.depends_on),
        )
        publisher = pod_identity(
            f"{name}-alertmanager",
            cluster_name=args.cluster_name,
            namespace=NAMESPACE,
            service_account=ALERTMANAGER_SERVICE_ACCOUNT,
            policies={"publish": pulumi.Output.all(args.topic_arn, args.topic_key_arn).apply(lambda v: alertmanager_policy(v[0], v[1]))},
            tags=args.tags,
            opts=self._child(),
        )
        release = helm_release(
            f"{name}-{RELEASE}",
            release=RELEASE,
            chart=args.chart,
            namespace=NAMESPACE,
            values=kube_prometheus_stack_values(args.region, args.cluster_name, args.topic_arn, args.prometheus),
            opts=self._child([namespace, *publisher.ready]),
        )
        for manifest in [*monitors(), prometheus_rule(args.rules, args.runbook_base)]:
            k8s.apiextensions.CustomResource(
                f"{name}-{manifest['kind'].lower()}-{manifest['metadata']['name']}",
                api_version=manifest["apiVersion"],
                kind=manifest["kind"],
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=self._child([release]),
            )
        for stem, dashboard in sorted(args.dashboards.items()):
            manifest = dashboard_config_map(stem, dashboard)
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{stem}", metadata=manifest["metadata"], data=manifest["data"], opts=self._child([namespace])
            )
        return _Metrics(pulumi.Output.from_input(None), publisher.role.role.arn)

    # ------------------------------------------------------------------ managed Prometheus
    def _managed(self, name: str, args: ObservabilityArgs) -> _Metrics:
        workspace = aws.amp.Workspace(
            f"{name}-workspace", alias=f"{args.name_prefix}", tags=name_tags(args.tags, f"{name}-workspace"), opts=self._child()
        )
        aws.amp.RuleGroupNamespace(
            f"{name}-rules",
            name="llmops",
            workspace_id=workspace.id,
            data=yaml.safe_dump({"groups": rule_groups(args.rules, args.runbook_base)}, sort_keys=False),
            opts=self._child(),
        )
        aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager",
            workspace_id=workspace.id,
            definition=pulumi.Output.from_input(args.topic_arn).apply(lambda arn: amp_alert_manager_definition(args.region, arn)),
            opts=self._child(),
        )
        cluster = aws.eks.get_cluster_output(name=args.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=list(args.depends_on)))
        scraper = aws.amp.Scraper(
            f"{name}-scraper",
            alias=f"{args.name_prefix}"[:100],
            source=aws.amp.ScraperSourceArgs(
                eks=aws.amp.ScraperSourceEksArgs(
                    cluster_arn=cluster.arn,
                    subnet_ids=args.subnet_ids or [],
                    security_group_ids=[cluster.vpc_config.cluster_security_group_id],
                )
            ),
            destination=aws.amp.ScraperDestinationArgs(amp=aws.amp.ScraperDestinationAmpArgs(workspace_arn=workspace.arn)),
            scrape_configuration=amp_scrape_configuration(args.prometheus.scrape_interval),
            tags=name_tags(args.tags, f"{name}-scraper"),
            opts=self._child(),
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-collector", metadata=collector_cluster_role()["metadata"], rules=collector_cluster_role()["rules"],
            opts=self._child(args.depends_on),
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-collector",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="aps-collector-user-role-binding"),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="User", name=AMP_COLLECTOR_USER, api_group="rbac.authorization.k8s.io")],
            role_ref=k8s.rbac.v1.RoleRefArgs(kind="ClusterRole", name="aps-collector-role", api_group="rbac.authorization.k8s.io"),
            opts=self._child([role]),
        )
        aws.eks.AccessEntry(
            f"{name}-collector",
            cluster_name=args.cluster_name,
            principal_arn=scraper.role_arn.apply(lambda arn: role_arn_without_path(arn) if arn else arn),
            user_name=AMP_COLLECTOR_USER,
            type="STANDARD",
            opts=self._child(),
        )
        return _Metrics(workspace.arn, pulumi.Output.from_input(None))

    # ------------------------------------------------------------------ logs
    def _logs(self, name: str, args: ObservabilityArgs, logs: LogsArgs) -> pulumi.Output[list[str]]:
        key_arn: pulumi.Output[str] | None = None
        if logs.kms:
            key_arn = account_key(
                f"{name}-logs",
                alias=f"{args.name_prefix}-container-logs",
                description=f"Encrypts the Container Insights log groups of {args.name_prefix}",
                policy=lambda account, partition: logs_key_policy(account, partition, args.region),
                tags=args.tags,
                parent=self,
            ).arn
        groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-logs-{stream}",
                name=pulumi.Output.concat("/aws/containerinsights/", args.cluster_name, f"/{stream}"),
                retention_in_days=logs.retention_days,
                kms_key_id=key_arn,
                tags=name_tags(args.tags, f"{name}-logs-{stream}"),
                opts=self._child(),
            )
            for stream in LOG_STREAMS
        ]
        role = aws.iam.Role(
            f"{name}-cloudwatch-agent",
            assume_role_policy=policy_json(
                {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
            ),
            tags=name_tags(args.tags, f"{name}-cloudwatch-agent"),
            opts=self._child(),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-cloudwatch-agent-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=self._child()
            )
            for arn in CLOUDWATCH_AGENT_POLICIES
        ]
        addon = versions.CLOUDWATCH_OBSERVABILITY_ADDON
        addon_version = versions.addon_version(addon, args.kubernetes_version, self) if args.kubernetes_version else None
        aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=args.cluster_name,
            addon_name=addon,
            addon_version=addon_version,
            pod_identity_associations=[
                aws.eks.AddonPodIdentityAssociationArgs(role_arn=role.arn, service_account=CLOUDWATCH_AGENT_SERVICE_ACCOUNT)
            ],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=name_tags(args.tags, f"{name}-{versions.CLOUDWATCH_OBSERVABILITY_ADDON}"),
            opts=self._child([*args.depends_on, *groups, *attachments]),
        )
        return pulumi.Output.all(*[g.name for g in groups])
