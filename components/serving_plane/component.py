""":class:`ServingPlane`: the Ray Serve applications of one region's cluster, on KubeRay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.data.vector_store import data_access_policy
from components.helm import helm_release
from components.monitoring import LoadBalancer, Monitored
from components.naming import TYPE_PREFIX
from components.pod_identity import PodIdentity, pod_identity
from components.serving_plane import iam, manifests
from components.serving_plane.args import (
    IngestionArgs,
    IngestionEventsArgs,
    MigrationsArgs,
    ModelCopyArgs,
    SecretRef,
    ServingPlaneArgs,
)
from components.serving_plane.exposure import Exposure, expose
from components.serving_plane.manifests import GroupSpec


def worker_groups(args: ServingPlaneArgs) -> list[GroupSpec]:
    """The RayService's worker groups: the CPU group first, then one per GPU pool."""
    return [manifests.cpu_group_spec(args.cpu_workers, args.name), *(manifests.gpu_group_spec(g) for g in args.gpu_workers)]


def secret_refs(args: ServingPlaneArgs) -> dict[str, SecretRef]:
    """Every variable the pods read from Secrets Manager (the GCS token included)."""
    refs = dict(args.secret_env)
    if args.gcs is not None:
        refs[manifests.REDIS_PASSWORD] = args.gcs.password
    return refs


def _resolved_refs(refs: Mapping[str, SecretRef]) -> pulumi.Output[dict[str, tuple[str, str | None]]]:
    names = sorted(refs)
    return pulumi.Output.all(*(refs[n].arn for n in names)).apply(
        lambda arns: {n: (str(a), refs[n].key) for n, a in zip(names, arns, strict=True)}
    )


class ServingPlane(pulumi.ComponentResource):
    """KubeRay and a RayService serving the stack's Serve applications in one cluster, with
    the load balancer in front of them. Give it the region's AWS provider and the cluster's
    Kubernetes provider (``opts.providers``)."""

    namespace: str
    ray_service_name: str
    serve_service_name: str
    serve_port: int
    metrics_port: int
    role_arn: pulumi.Output[str | None]
    load_balancer_arn: pulumi.Output[str | None]
    load_balancer_arn_suffix: pulumi.Output[str | None]
    load_balancer_dns_name: pulumi.Output[str | None]
    load_balancer_zone_id: pulumi.Output[str | None]
    target_group_arn: pulumi.Output[str | None]
    target_group_arn_suffix: pulumi.Output[str | None]
    health_alarm_name: pulumi.Output[str | None]
    endpoint: pulumi.Output[str | None]
    ingest_cron_job_name: str | None
    migrations_job_name: pulumi.Output[str | None]
    ingest_trigger_name: str | None
    """The ingestion trigger's Deployment (None: runs are not started by new documents)."""

    def __init__(self, name: str, args: ServingPlaneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:serving:ServingPlane", name, None, opts)
        tags = dict(args.tags)
        groups = worker_groups(args)
        waits = list(args.depends_on)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=manifests.namespace_manifest(args.namespace)["metadata"],
            opts=self._child(waits),
        )
        in_namespace = [namespace]
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=manifests.service_account_manifest(manifests.SERVICE_ACCOUNT, args.namespace, args.name)["metadata"],
            opts=self._child(in_namespace),
        )
        role = self._serving_role(name, args, tags)
        operator = helm_release(
            f"{name}-kuberay",
            release="kuberay-operator",
            chart=args.kuberay,
            namespace=args.namespace,
            values=manifests.kuberay_values(
                args.head.node_selector, cron_jobs=args.ingestion is not None and args.ingestion.schedule is not None
            ),
            opts=self._child(in_namespace),
        )
        ray_waits: list[pulumi.Resource] = [operator, service_account]
        if role is not None:
            ray_waits.extend(role.ready)
            ray_waits.extend(self._search_access(name, args, role))
        # What the ingestion trigger needs: the CRDs, the Ray pods' service account and role
        # (not the model copy nor the RayService's nodes), and the store's schema.
        ingest_waits = [*ray_waits, *in_namespace]
        if args.cpu_workers.node_pool is not None:
            pool = manifests.cpu_node_pool_manifest(args.name, args.cpu_workers.node_pool)
            ray_waits.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-nodepool-cpu",
                    api_version=pool["apiVersion"],
                    kind=pool["kind"],
                    metadata=pool["metadata"],
                    spec=pool["spec"],
                    opts=self._child(waits),
                )
            )
        if args.model_copy is not None:
            ray_waits.append(self._model_copy(name, args, args.model_copy, groups[0], in_namespace, tags))
        migrations_job_name: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.migrations is not None:
            migrations_job, migrations_job_name = self._migrations(name, args, args.migrations, in_namespace, tags)
            ray_waits.append(migrations_job)
            ingest_waits.append(migrations_job)

        refs = secret_refs(args)
        secrets_json: pulumi.Input[str | None] = _resolved_refs(refs).apply(manifests.secret_arns_document) if refs else None
        redis: pulumi.Input[str | None] = args.gcs.redis_address if args.gcs is not None else None
        env_names = sorted(args.env)
        spec = pulumi.Output.all(secrets_json, redis, args.serve_config, *(args.env[n] for n in env_names)).apply(
            lambda v: manifests.rayservice_manifest(
                args,
                groups,
                serve_config=v[2],
                env=dict(zip(env_names, v[3:], strict=True)),
                secret_arns_json=v[0],
                redis_address=v[1],
            )["spec"]
        )
        ray_service = k8s.apiextensions.CustomResource(
            f"{name}-rayservice",
            api_version="ray.io/v1",
            kind="RayService",
            metadata={"name": args.name, "namespace": args.namespace, "labels": manifests.labels(args.name)},
            spec=spec,
            opts=self._child(ray_waits),
        )
        ingest_job: str | None = None
        trigger: str | None = None
        if args.ingestion is not None:
            ingestion = args.ingestion
            job_spec = pulumi.Output.all(
                secrets_json, args.serve_config, ingestion.source_uri, *(args.env[n] for n in env_names)
            ).apply(
                lambda v: manifests.ingest_job_spec(
                    args,
                    ingestion,
                    groups[0],
                    source_uri=v[2],
                    serve_config=v[1],
                    env=dict(zip(env_names, v[3:], strict=True)),
                    secret_arns_json=v[0],
                )
            )
            if ingestion.schedule is not None:
                ingest_job = manifests.ingest_job_name(args.name)
                cron = job_spec.apply(lambda spec: manifests.ingest_cron_job_manifest(args, ingestion, spec))
                k8s.apiextensions.CustomResource(
                    f"{name}-ingest",
                    api_version="ray.io/v1",
                    kind="RayCronJob",
                    metadata={"name": ingest_job, "namespace": args.namespace, "labels": manifests.ingest_labels(args.name)},
                    spec=cron.apply(lambda c: c["spec"]),
                    opts=self._child(ray_waits),
                )
            if ingestion.events is not None:
                trigger = self._ingest_trigger(name, args, ingestion, ingestion.events, job_spec, ingest_waits, tags)
        for budget in manifests.disruption_budgets(args.name, args.namespace, groups, args.gcs is not None):
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb-{budget['metadata']['name'].removeprefix(args.name + '-')}",
                metadata=budget["metadata"],
                spec=budget["spec"],
                opts=self._child(in_namespace),
            )
        exposure = self._expose(name, args, tags, ray_service) if args.exposure is not None else None

        def optional(value: Any) -> pulumi.Output[Any]:
            return pulumi.Output.from_input(value)

        self.namespace = args.namespace
        self.ray_service_name = args.name
        self.serve_service_name = manifests.serve_service_name(args.name)
        self.serve_port = manifests.SERVE_PORT
        self.metrics_port = manifests.METRICS_PORT
        self.role_arn = optional(role.role.role.arn if role else None)
        self.load_balancer_arn = optional(exposure.load_balancer.arn if exposure else None)
        self.load_balancer_arn_suffix = optional(exposure.load_balancer.arn_suffix if exposure else None)
        self.load_balancer_dns_name = optional(exposure.load_balancer.dns_name if exposure else None)
        self.load_balancer_zone_id = optional(exposure.load_balancer.zone_id if exposure else None)
        self.target_group_arn = optional(exposure.target_group.arn if exposure else None)
        self.target_group_arn_suffix = optional(exposure.target_group.arn_suffix if exposure else None)
        self.health_alarm_name = optional(exposure.health_alarm.name if exposure else None)
        self.endpoint = optional(exposure.url if exposure else None)
        self.ingest_cron_job_name = ingest_job
        self.migrations_job_name = migrations_job_name
        self.ingest_trigger_name = trigger
        self.monitoring: tuple[Monitored, ...] = (
            (
                LoadBalancer(
                    key="serving-lb",
                    kind="application" if args.exposure is not None and args.exposure.scheme == "internet-facing" else "network",
                    arn_suffix=exposure.load_balancer.arn_suffix,
                    target_groups={"serve": exposure.target_group.arn_suffix},
                ),
            )
            if exposure is not None
            else ()
        )
        """What the alerting watches here: the load balancer and its Serve target group
        (:mod:`components.monitoring`)."""
        self.register_outputs(
            {
                "namespace": self.namespace,
                "rayServiceName": self.ray_service_name,
                "serveServiceName": self.serve_service_name,
                "servePort": self.serve_port,
                "metricsPort": self.metrics_port,
                "roleArn": self.role_arn,
                "loadBalancerArn": self.load_balancer_arn,
                "loadBalancerArnSuffix": self.load_balancer_arn_suffix,
                "loadBalancerDnsName": self.load_balancer_dns_name,
                "loadBalancerZoneId": self.load_balancer_zone_id,
                "targetGroupArn": self.target_group_arn,
                "targetGroupArnSuffix": self.target_group_arn_suffix,
                "healthAlarmName": self.health_alarm_name,
                "endpoint": self.endpoint,
                "ingestCronJobName": self.ingest_cron_job_name,
                "migrationsJobName": self.migrations_job_name,
                "ingestTriggerName": self.ingest_trigger_name,
            }
        )

    def _child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _serving_role(self, name: str, args: ServingPlaneArgs, tags: Mapping[str, str]) -> PodIdentity | None:
        """The Ray pods' role: reads the named buckets and secrets (None: nothing to read)."""
        refs = secret_refs(args)
        buckets = dict(args.access.read_bucket_arns)
        keys = dict(args.access.kms_key_arns)
        if not refs and not buckets and not args.access.policy_arns and not args.access.search_collections:
            return None
        policy = pulumi.Output.all(
            pulumi.Output.all(*buckets.values()), pulumi.Output.all(*(r.arn for r in refs.values())), pulumi.Output.all(*keys.values())
        ).apply(lambda v: iam.serving_policy(v[0], v[1], v[2]) or "")
        return pod_identity(
            f"{name}-ray",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=manifests.SERVICE_ACCOUNT,
            policies={"access": policy} if refs or buckets else None,
            policy_arns=args.access.policy_arns,
            tags=tags,
            opts=self._child(),
        )

    def _search_access(self, name: str, args: ServingPlaneArgs, role: PodIdentity) -> list[pulumi.Resource]:
        """A data access policy per OpenSearch Serverless collection: the pods' role reads and
        writes its indexes (named after the collection, as the store names its own)."""
        return [
            aws.opensearch.ServerlessAccessPolicy(
                f"{name}-search-{key}",
                name=collection,
                type="data",
                description="The serving pods read and write the collection's indexes",
                policy=pulumi.Output.all(collection, role.role.role.arn).apply(lambda v: data_access_policy(str(v[0]), [str(v[1])])),
                opts=self._child(),
            )
            for key, collection in sorted(args.access.search_collections.items())
        ]

    def _migrations(
        self, name: str, args: ServingPlaneArgs, migrations: MigrationsArgs, in_namespace: Sequence[pulumi.Resource], tags: Mapping[str, str]
    ) -> tuple[k8s.batch.v1.Job, pulumi.Output[str | None]]:
        """The migrations Job (on the system nodes) with a role that reads the master secret,
        and its name."""
        account = k8s.core.v1.ServiceAccount(
            f"{name}-migrations",
            metadata=manifests.service_account_manifest(manifests.MIGRATIONS_SERVICE_ACCOUNT, args.namespace, args.name)["metadata"],
            opts=self._child(in_namespace),
        )
        role = pod_identity(
            f"{name}-migrations",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=manifests.MIGRATIONS_SERVICE_ACCOUNT,
            policy_arns={"admin": migrations.admin_policy_arn},
            tags=tags,
            opts=self._child(),
        )
        env_names = sorted(migrations.env)
        job = pulumi.Output.all(args.serve_config, migrations.master_secret_arn, *(migrations.env[n] for n in env_names)).apply(
            lambda v: manifests.migrations_job(
                migrations,
                image=args.image,
                namespace=args.namespace,
                instance=args.name,
                region=args.region,
                serve_config=v[0],
                master_secret_arn=v[1],
                env=dict(zip(env_names, v[2:], strict=True)),
                node_selector=args.head.node_selector,
            )
        )
        resource = k8s.batch.v1.Job(
            f"{name}-migrations",
            metadata=job.apply(lambda j: j["metadata"]),
            spec=job.apply(lambda j: j["spec"]),
            # A new image or Serve config is a new Job (its name changes): created and run
            # before the RayService changes, the old one deleted after.
            opts=self._child([account, *role.ready]),
        )
        return resource, job.apply(lambda j: j["metadata"]["name"])
    def _ingest_trigger(
        self,
        name: str,
        args: ServingPlaneArgs,
        ingestion: IngestionArgs,
        events: IngestionEventsArgs,
        job_spec: pulumi.Output[dict[str, Any]],
        waits: Sequence[pulumi.Resource],
        tags: Mapping[str, str],
    ) -> str:
        """The ingestion trigger: its service account, a Pod Identity role that reads and
        deletes the events queue's messages only, RBAC over ``rayjobs`` only, the ConfigMap
        holding its settings and the RayJob it creates, and the Deployment. Returns the
        Deployment's name."""
        prefix = f"{name}-ingest-trigger"
        account = k8s.core.v1.ServiceAccount(
            prefix,
            metadata=manifests.service_account_manifest(manifests.TRIGGER_SERVICE_ACCOUNT, args.namespace, args.name)["metadata"],
            opts=self._child(waits),
        )
        role = pod_identity(
            prefix,
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=manifests.TRIGGER_SERVICE_ACCOUNT,
            policies={"queue": pulumi.Output.from_input(events.queue_arn).apply(iam.ingest_trigger_policy)},
            tags=tags,
            opts=self._child(),
        )
        rbac_role, rbac_binding = manifests.trigger_rbac(args)
        k8s_role = k8s.rbac.v1.Role(prefix, metadata=rbac_role["metadata"], rules=rbac_role["rules"], opts=self._child(waits))
        binding = k8s.rbac.v1.RoleBinding(
            prefix,
            metadata=rbac_binding["metadata"],
            role_ref=rbac_binding["roleRef"],
            subjects=rbac_binding["subjects"],
            opts=self._child([*waits, k8s_role]),
        )
        config = pulumi.Output.all(job_spec, events.queue_url).apply(
            lambda v: manifests.trigger_config_map(
                args, manifests.trigger_settings(args, ingestion, events, v[1]), manifests.ingest_rayjob_template(args, v[0])
            )
        )
        config_map = k8s.core.v1.ConfigMap(
            prefix,
            metadata=config.apply(lambda c: c["metadata"]),
            data=config.apply(lambda c: c["data"]),
            opts=self._child(waits),
        )
        deployment = config.apply(lambda c: manifests.trigger_deployment(args, manifests.config_digest(c)))
        k8s.apps.v1.Deployment(
            prefix,
            metadata=deployment.apply(lambda d: d["metadata"]),
            spec=deployment.apply(lambda d: d["spec"]),
            opts=self._child([account, binding, config_map, *role.ready]),
        )
        return manifests.trigger_name(args.name)

    def _model_copy(
        self, name: str, args: ServingPlaneArgs, copy: ModelCopyArgs, cpu_group: GroupSpec, in_namespace: Sequence[pulumi.Resource], tags: Mapping[str, str]
    ) -> k8s.batch.v1.Job:
        """The copy Job (on the CPU group's nodes) with a role that writes the model's prefix."""
        account = k8s.core.v1.ServiceAccount(
            f"{name}-model-copy",
            metadata=manifests.service_account_manifest(manifests.MODEL_COPY_SERVICE_ACCOUNT, args.namespace, args.name)["metadata"],
            opts=self._child(in_namespace),
        )
        secrets = [copy.hub_token.arn] if copy.hub_token is not None else []
        keys = [copy.kms_key_arn] if copy.kms_key_arn is not None else []
        policy = pulumi.Output.all(copy.bucket_arn, pulumi.Output.all(*secrets), pulumi.Output.all(*keys)).apply(
            lambda v: iam.model_copy_policy(v[0], copy.prefix, v[1], v[2])
        )
        role = pod_identity(
            f"{name}-model-copy",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=manifests.MODEL_COPY_SERVICE_ACCOUNT,
            policies={"access": policy},
            tags=tags,
            opts=self._child(),
        )
        token = copy.hub_token.arn if copy.hub_token is not None else None
        token_ref = (
            pulumi.Output.from_input(token).apply(lambda a: f"{a}#{copy.hub_token.key}" if copy.hub_token and copy.hub_token.key else a)
            if token is not None
            else None
        )
        job = pulumi.Output.all(copy.bucket_name, token_ref).apply(
            lambda v: manifests.model_copy_job(
                copy,
                image=args.image,
                namespace=args.namespace,
                instance=args.name,
                region=args.region,
                bucket_name=v[0],
                token_secret_arn=v[1],
                node_selector=cpu_group.node_selector,
                tolerations=cpu_group.tolerations,
            )
        )
        return k8s.batch.v1.Job(
            f"{name}-model-copy",
            metadata=job.apply(lambda j: j["metadata"]),
            spec=job.apply(lambda j: j["spec"]),
            opts=self._child([account, *role.ready]),
        )

    def _expose(self, name: str, args: ServingPlaneArgs, tags: dict[str, str], ray_service: pulumi.Resource) -> Exposure:
        """The load balancer, the controller that binds it to the Serve service, the binding."""
        exposure_args = args.exposure
        assert exposure_args is not None
        exposure = expose(name, exposure_args, args.region, self, tags)
        controller_role = pod_identity(
            f"{name}-lb-controller",
            cluster_name=args.cluster_name,
            namespace=manifests.LOAD_BALANCER_CONTROLLER_NAMESPACE,
            service_account=manifests.LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
            policies={"access": iam.load_balancer_controller_policy(args.region)},
            tags=tags,
            opts=self._child(),
        )
        vpc_id = args.vpc_id if args.vpc_id is not None else exposure_args.vpc_id
        controller = helm_release(
            f"{name}-lb-controller",
            release="aws-load-balancer-controller",
            chart=args.load_balancer_controller,
            namespace=manifests.LOAD_BALANCER_CONTROLLER_NAMESPACE,
            values=manifests.load_balancer_controller_values(
                args.cluster_name, args.region, vpc_id, args.controller_replicas, args.head.node_selector
            ),
            opts=self._child([*args.depends_on, *controller_role.ready]),
        )
        binding = pulumi.Output.all(exposure.target_group.arn, exposure_args.vpc_id).apply(
            lambda v: manifests.target_group_binding_manifest(args.name, args.namespace, v[0], v[1])
        )
        k8s.apiextensions.CustomResource(
            f"{name}-target-group-binding",
            api_version="elbv2.k8s.aws/v1beta1",
            kind="TargetGroupBinding",
            metadata={"name": f"{args.name}-serve", "namespace": args.namespace, "labels": manifests.labels(args.name)},
            spec=binding.apply(lambda b: b["spec"]),
            opts=self._child([controller, ray_service]),
        )
        return exposure
