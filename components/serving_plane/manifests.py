"""The Kubernetes objects of the serving plane as plain documents (pure functions, tested
directly): the RayService with its head and worker groups, the namespace, the pod
disruption budgets, the model copy Job, the CPU NodePool, the TargetGroupBinding, and the
Helm values of the KubeRay operator and the AWS Load Balancer Controller.

Field names and rules follow KubeRay v1.7.0 (``ray.io/v1``): the head runs ``num-cpus: "0"``
so no replica lands on it; ``rayStartParams`` values are strings; custom Ray resources go in
a group's ``resources`` (never also in ``rayStartParams``); the deprecated RayService fields
``serviceUnhealthySecondThreshold`` and ``deploymentUnhealthySecondThreshold`` are not set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.serving_plane import sizing
from components.serving_plane.args import (
    CpuNodePoolArgs,
    CpuWorkersArgs,
    HeadArgs,
    IngestionArgs,
    IngestionEventsArgs,
    MigrationsArgs,
    ModelCopyArgs,
    ServingPlaneArgs,
    WorkerGroupArgs,
)
from core import catalog, gpu_pool

SERVICE_ACCOUNT = "ray-serving"
"""The service account of every Ray pod (its Pod Identity role reads the named buckets and
secrets)."""
MODEL_COPY_SERVICE_ACCOUNT = "model-copy"
MIGRATIONS_SERVICE_ACCOUNT = "vector-store-migrations"
"""The migrations Job's service account: the only one whose role reads the master secret."""
"""The service account of the model copy Job (its role writes the model's prefix only)."""
SERVE_PORT = 8000
"""Ray Serve's HTTP proxy port (the Serve service's ``serve`` port)."""
METRICS_PORT = 8080
"""Ray's Prometheus metrics port on every Ray pod (Serve metrics included)."""
SECRETS_DIR = "/run/llmops/secrets"
SECRETS_FILE = "env"
SECRETS_VOLUME = "llmops-secrets"
MODEL_CACHE_DIR = "/home/ray/models"
SOURCE_SECRETS = f"set -a && . {SECRETS_DIR}/{SECRETS_FILE} && set +a"
"""Prepended to the Ray container's command (KubeRay runs ``<this> && ulimit ...; ray start
...``), so ``ray start`` and every replica it spawns get the secret variables."""
REDIS_PASSWORD = "REDIS_PASSWORD"
CPU_GROUP = "cpu"
"""The CPU worker group's name."""
CPU_POOL_LABEL = "llmops.io/pool"
"""Node label of the CPU NodePool's nodes (the system nodes carry ``system``)."""
CPU_POOL_TAINT = {"key": "llmops.io/serving-cpu", "value": "true", "effect": "NoSchedule"}
"""Keeps everything but the CPU worker pods off the CPU NodePool's nodes."""
CPU_POOL_TOLERATION = {"key": "llmops.io/serving-cpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
LOG_ENV = {"RAY_LOG_TO_STDERR": "1"}
"""Set on every Ray container: Ray leaves its workers' output on the container's stderr
instead of files under ``/tmp/ray``, so the replicas' logs (the serving API's request log
among them) reach the node's log shipper (Fluent Bit of the CloudWatch observability add-on)
and CloudWatch Logs. Ray Serve writes its replica logs to stderr as well as to its files."""
RUN_AS_USER = 1000
"""The ``ray`` user of the rayproject/ray images (group 100, ``users``)."""


def labels(name: str) -> dict[str, str]:
    """Labels of every object of the serving plane ``name``."""
    return {
        "app.kubernetes.io/name": "ray-serve",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/part-of": "llmops-platform",
    }


def serve_service_name(name: str) -> str:
    """The Service KubeRay creates for a RayService's Serve endpoints (head excluded)."""
    return f"{name}-serve-svc"


def cpu_pool_name(name: str) -> str:
    return f"{name}-cpu"


def namespace_manifest(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": {
                "app.kubernetes.io/part-of": "llmops-platform",
                "pod-security.kubernetes.io/enforce": "baseline",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    }


def service_account_manifest(name: str, namespace: str, instance: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(instance)},
    }


# ----------------------------------------------------------------------------- sizes


def _quantity_cpu(cores: float) -> str:
    millis = round(cores * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _quantity_memory(mib: float) -> str:
    mib = int(mib)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


@dataclass(frozen=True)
class GroupSpec:
    """A worker group resolved to what its pods request and where they go."""

    name: str
    instance_types: tuple[str, ...]
    min_replicas: int
    max_replicas: int
    cpu_m: int
    memory_mib: int
    gpus: int
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, str], ...]
    ray_resources: Mapping[str, int]
    idle_timeout_seconds: int | None = None


def gpu_group_spec(group: WorkerGroupArgs) -> GroupSpec:
    """A GPU pool's group: one pod per node, every GPU of the smallest type, the rest of the
    node's CPU (whole cores) and memory unless given."""
    room = sizing.whole_node(list(group.instance_types), sizing.Resources(0, 0))
    return GroupSpec(
        name=group.name,
        instance_types=tuple(group.instance_types),
        min_replicas=group.min_replicas,
        max_replicas=group.max_replicas,
        cpu_m=int(group.cpu * 1000) if group.cpu is not None else room.cpu_m,
        memory_mib=int(group.memory_gib * 1024) if group.memory_gib is not None else room.memory_mib,
        gpus=group.gpus,
        node_selector=dict(group.node_selector),
        tolerations=tuple(dict(t) for t in group.tolerations),
        ray_resources=dict(group.ray_resources),
        idle_timeout_seconds=group.idle_timeout_seconds,
    )


def cpu_group_spec(workers: CpuWorkersArgs, name: str) -> GroupSpec:
    """The CPU group: on its own NodePool (a pod per node, sized to the node), or on the
    system nodes (1 core, 4 GiB unless given)."""
    pool = workers.node_pool
    if pool is not None:
        room = sizing.whole_node(list(workers.instance_types), sizing.Resources(0, 0))
        cpu_m, memory_mib = room.cpu_m, room.memory_mib
        selector: Mapping[str, str] = {CPU_POOL_LABEL: cpu_pool_name(name)}
        tolerations: tuple[Mapping[str, str], ...] = (dict(CPU_POOL_TOLERATION),)
    else:
        cpu_m, memory_mib = 1000, 4096
        selector, tolerations = dict(workers.system_node_selector), ()
    return GroupSpec(
        name=CPU_GROUP,
        instance_types=tuple(workers.instance_types),
        min_replicas=workers.min_replicas,
        max_replicas=workers.max_replicas,
        cpu_m=int(workers.cpu * 1000) if workers.cpu is not None else cpu_m,
        memory_mib=int(workers.memory_gib * 1024) if workers.memory_gib is not None else memory_mib,
        gpus=0,
        node_selector=selector,
        tolerations=tolerations,
        ray_resources=dict(workers.ray_resources),
    )


# ----------------------------------------------------------------------------- pods


def _security_context() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def _pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": 100,
        "fsGroup": 100,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


@dataclass(frozen=True)
class PodContext:
    """What every Ray pod shares: the image, the service account, the environment."""

    image: str
    namespace: str
    instance: str
    env: Mapping[str, str]
    secret_arns_json: str | None
    """``LLMOPS_SECRETS_REF`` of the secrets init container; None: no secrets to read."""
    region: str


def _secrets_init(ctx: PodContext) -> dict[str, Any]:
    return {
        "name": "secrets",
        "image": ctx.image,
        "command": ["python", "-m", "serving.secrets_env", "--out", f"{SECRETS_DIR}/{SECRETS_FILE}"],
        "env": [
            {"name": "LLMOPS_SECRETS_REF", "value": ctx.secret_arns_json},
            {"name": "AWS_REGION", "value": ctx.region},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": _security_context(),
        "volumeMounts": [{"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR}],
    }


def _ray_container(
    ctx: PodContext, name: str, cpu_m: int, memory_mib: int, gpus: int, ports: Sequence[tuple[str, int]], extra_mounts: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    requests: dict[str, str] = {"cpu": _quantity_cpu(cpu_m / 1000), "memory": _quantity_memory(memory_mib)}
    limits: dict[str, str] = {"memory": _quantity_memory(memory_mib)}
    if gpus:
        requests[gpu_pool.GPU_RESOURCE] = limits[gpu_pool.GPU_RESOURCE] = str(gpus)
    variables = {**LOG_ENV, **ctx.env}
    env = [{"name": "AWS_REGION", "value": ctx.region}] + [{"name": k, "value": v} for k, v in sorted(variables.items())]
    container: dict[str, Any] = {
        "name": name,
        "image": ctx.image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "ports": [{"name": port_name, "containerPort": port} for port_name, port in ports],
        "resources": {"requests": requests, "limits": limits},
        "securityContext": _security_context(),
        "volumeMounts": [{"name": "ray-logs", "mountPath": "/tmp/ray"}, *extra_mounts],
    }
    if ctx.secret_arns_json is not None:
        container["args"] = [SOURCE_SECRETS]
        container["volumeMounts"].append({"name": SECRETS_VOLUME, "mountPath": SECRETS_DIR, "readOnly": True})
    return container


def _pod_template(
    ctx: PodContext, role: str, container: dict[str, Any], selector: Mapping[str, str], tolerations: Sequence[Mapping[str, str]], volumes: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "serviceAccountName": SERVICE_ACCOUNT,
        "nodeSelector": dict(selector),
        "securityContext": _pod_security_context(),
        "containers": [container],
        "volumes": [{"name": "ray-logs", "emptyDir": {}}, *volumes],
    }
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    if ctx.secret_arns_json is not None:
        spec["initContainers"] = [_secrets_init(ctx)]
        spec["volumes"].append({"name": SECRETS_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}})
    return {"metadata": {"labels": {**labels(ctx.instance), "llmops.io/ray-node": role}}, "spec": spec}


def head_group(ctx: PodContext, head: HeadArgs) -> dict[str, Any]:
    container = _ray_container(
        ctx,
        "ray-head",
        int(head.cpu * 1000),
        int(head.memory_gib * 1024),
        0,
        (("gcs-server", 6379), ("dashboard", 8265), ("client", 10001), ("serve", SERVE_PORT), ("metrics", METRICS_PORT)),
    )
    return {"rayStartParams": {"num-cpus": "0"}, "template": _pod_template(ctx, "head", container, head.node_selector, ())}


def worker_group(ctx: PodContext, group: GroupSpec) -> dict[str, Any]:
    container = _ray_container(
        ctx,
        "ray-worker",
        group.cpu_m,
        group.memory_mib,
        group.gpus,
        (("serve", SERVE_PORT), ("metrics", METRICS_PORT)),
        extra_mounts=[{"name": "models", "mountPath": MODEL_CACHE_DIR}, {"name": "shared-memory", "mountPath": "/dev/shm"}],
    )
    volumes = [{"name": "models", "emptyDir": {}}, {"name": "shared-memory", "emptyDir": {"medium": "Memory"}}]
    spec: dict[str, Any] = {
        "groupName": group.name,
        "replicas": group.min_replicas,
        "minReplicas": group.min_replicas,
        "maxReplicas": group.max_replicas,
        "rayStartParams": {},
        "template": _pod_template(ctx, "worker", container, group.node_selector, group.tolerations, volumes),
    }
    if group.ray_resources:
        spec["resources"] = {k: str(v) for k, v in sorted(group.ray_resources.items())}
    if group.idle_timeout_seconds is not None:
        spec["idleTimeoutSeconds"] = group.idle_timeout_seconds
    return spec


def gcs_options(redis_address: str) -> dict[str, Any]:
    """GCS fault tolerance on Redis; the token comes from the secrets env file."""
    return {
        "redisAddress": redis_address,
        "redisPassword": {
            "valueFrom": {"fileKeyRef": {"volumeName": SECRETS_VOLUME, "path": SECRETS_FILE, "key": REDIS_PASSWORD}}
        },
    }


def rayservice_manifest(
    args: ServingPlaneArgs,
    groups: Sequence[GroupSpec],
    *,
    serve_config: str,
    env: Mapping[str, str],
    secret_arns_json: str | None,
    redis_address: str | None,
) -> dict[str, Any]:
    """The RayService (``ray.io/v1``) of the serving plane (``serve_config`` and ``env``: the
    args' own, resolved)."""
    ctx = PodContext(
        image=args.image,
        namespace=args.namespace,
        instance=args.name,
        env=env,
        secret_arns_json=secret_arns_json,
        region=args.region,
    )
    scaler = args.autoscaler
    cluster: dict[str, Any] = {
        "rayVersion": args.ray_version,
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {
            "version": "v2",
            "upscalingMode": scaler.upscaling_mode,
            "idleTimeoutSeconds": scaler.idle_timeout_seconds,
            "imagePullPolicy": "IfNotPresent",
            "resources": {
                "requests": {"cpu": _quantity_cpu(scaler.cpu), "memory": _quantity_memory(scaler.memory_gib * 1024)},
                "limits": {"memory": _quantity_memory(scaler.memory_gib * 2048)},
            },
            "securityContext": _security_context(),
        },
        "headGroupSpec": head_group(ctx, args.head),
        "workerGroupSpecs": [worker_group(ctx, g) for g in groups],
    }
    if redis_address is not None:
        cluster["gcsFaultToleranceOptions"] = gcs_options(redis_address)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": args.name, "namespace": args.namespace, "labels": labels(args.name)},
        "spec": {
            "serveConfigV2": serve_config,
            "upgradeStrategy": {"type": args.upgrade_strategy},
            "excludeHeadPodFromServeSvc": True,
            "rayClusterConfig": cluster,
        },
    }


def secret_arns_document(refs: Mapping[str, tuple[str, str | None]]) -> str:
    """``LLMOPS_SECRETS_REF``: variable name -> ``arn`` or ``arn#key`` (see serving.secrets_env)."""
    return json.dumps({name: f"{arn}#{key}" if key else arn for name, (arn, key) in sorted(refs.items())}, sort_keys=True)


# ----------------------------------------------------------------------------- disruption


def disruption_budgets(name: str, namespace: str, groups: Sequence[GroupSpec], fault_tolerant_head: bool) -> list[dict[str, Any]]:
    """One PodDisruptionBudget per worker group (a voluntary eviction takes at most one pod of
    the group at a time) and one for the head: without GCS fault tolerance the head's loss
    restarts every application, so drains wait for it (``maxUnavailable: 0``; roll it with a
    new RayService spec instead); with it, one head may go."""
    budgets = []
    for group in groups:
        budgets.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": f"{name}-{group.name}", "namespace": namespace, "labels": labels(name)},
                "spec": {
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": {"app.kubernetes.io/instance": name, "ray.io/group": group.name}},
                },
            }
        )
    budgets.append(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": f"{name}-head", "namespace": namespace, "labels": labels(name)},
            "spec": {
                "maxUnavailable": 1 if fault_tolerant_head else 0,
                "selector": {"matchLabels": {"app.kubernetes.io/instance": name, "ray.io/node-type": "head"}},
            },
        }
    )
    return budgets


# ----------------------------------------------------------------------------- model copy


def model_copy_job_name(copy: ModelCopyArgs) -> str:
    """``model-copy-<hash>``: a new model or revision is a new Job."""
    digest = hashlib.sha256(f"{copy.model_id}@{copy.revision}/{copy.prefix}".encode()).hexdigest()[:12]
    return f"model-copy-{digest}"


def model_copy_job(
    copy: ModelCopyArgs,
    *,
    image: str,
    namespace: str,
    instance: str,
    region: str,
    bucket_name: str,
    token_secret_arn: str | None,
    node_selector: Mapping[str, str],
    tolerations: Sequence[Mapping[str, str]],
) -> dict[str, Any]:
    """The Job that copies the model revision into the bucket (a no-op when a finished copy
    is there: the job may run again)."""
    command = [
        "python", "-m", "serving.model_store", "copy",
        "--model-id", copy.model_id,
        "--revision", copy.revision,
        "--s3-uri", f"s3://{bucket_name}/{copy.prefix}",
    ]
    if token_secret_arn is not None:
        command += ["--token-secret-arn", token_secret_arn]
    spec: dict[str, Any] = {
        "serviceAccountName": MODEL_COPY_SERVICE_ACCOUNT,
        "restartPolicy": "Never",
        "nodeSelector": dict(node_selector),
        "securityContext": _pod_security_context(),
        "containers": [
            {
                "name": "copy",
                "image": image,
                "command": command,
                "env": [{"name": "AWS_REGION", "value": region}, {"name": "TMPDIR", "value": "/scratch"}],
                "resources": {
                    "requests": {"cpu": "1", "memory": "4Gi", "ephemeral-storage": f"{copy.disk_gib}Gi"},
                    "limits": {"memory": "4Gi", "ephemeral-storage": f"{copy.disk_gib}Gi"},
                },
                "securityContext": _security_context(),
                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
            }
        ],
        "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": f"{copy.disk_gib}Gi"}}],
    }
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": model_copy_job_name(copy),
            "namespace": namespace,
            "labels": {**labels(instance), "llmops.io/model-revision": copy.revision[:63]},
            # The copy of a large model takes a while; Pulumi waits for the Job to finish.
            "annotations": {"pulumi.com/timeoutSeconds": "3600"},
        },
        "spec": {"backoffLimit": 3, "activeDeadlineSeconds": 3600, "template": {"metadata": {"labels": labels(instance)}, "spec": spec}},
    }


# ----------------------------------------------------------------------------- migrations

MASTER_SECRET_ENV = "LLMOPS_PG_MASTER_SECRET_ARN"
"""Where ``python -m serving.migrate`` finds the database's master secret."""


def migrations_job_name(image: str, serve_config: str) -> str:
    """``migrate-<hash>``: a new image (new migrations) or Serve config (another table
    prefix, another embedding size) is a new Job, which runs before the RayService changes."""
    digest = hashlib.sha256(f"{image}\n{serve_config}".encode()).hexdigest()[:12]
    return f"migrate-{digest}"


def migrations_job(
    migrations: MigrationsArgs,
    *,
    image: str,
    namespace: str,
    instance: str,
    region: str,
    serve_config: str,
    master_secret_arn: str,
    env: Mapping[str, str],
    node_selector: Mapping[str, str],
) -> dict[str, Any]:
    """The Job that applies the vector store's pending migrations (idempotent: at the latest
    version it changes nothing)."""
    variables = {
        "AWS_REGION": region,
        SERVE_CONFIG_ENV: serve_config,
        MASTER_SECRET_ENV: master_secret_arn,
        **env,
    }
    spec: dict[str, Any] = {
        "serviceAccountName": MIGRATIONS_SERVICE_ACCOUNT,
        "restartPolicy": "Never",
        "nodeSelector": dict(node_selector),
        "securityContext": _pod_security_context(),
        "containers": [
            {
                "name": "migrate",
                "image": image,
                "command": ["python", "-m", "serving.migrate", "--serve-config-env", SERVE_CONFIG_ENV],
                "env": [{"name": k, "value": v} for k, v in sorted(variables.items())],
                "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
                "securityContext": {**_security_context(), "readOnlyRootFilesystem": True},
            }
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": migrations_job_name(image, serve_config),
            "namespace": namespace,
            "labels": {**labels(instance), "llmops.io/job": "migrations"},
            # Pulumi waits for the Job to complete; the RayService waits for Pulumi.
            "annotations": {"pulumi.com/timeoutSeconds": str(migrations.active_deadline_seconds + 60)},
        },
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": migrations.active_deadline_seconds,
            "template": {"metadata": {"labels": {**labels(instance), "llmops.io/job": "migrations"}}, "spec": spec},
        },
    }


# ----------------------------------------------------------------------------- nodes, LB


def cpu_node_pool_manifest(name: str, pool: CpuNodePoolArgs) -> dict[str, Any]:
    """The Karpenter NodePool (karpenter.sh/v1) of the CPU worker group."""
    types = [catalog.instance_types()[t] for t in pool.instance_types]
    pool_name = cpu_pool_name(name)
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {
            "name": pool_name,
            "labels": {CPU_POOL_LABEL: pool_name},
            "annotations": {gpu_pool.MIN_NODES_ANNOTATION: "0", gpu_pool.MAX_NODES_ANNOTATION: str(pool.max_nodes)},
        },
        "spec": {
            "template": {
                "metadata": {"labels": {CPU_POOL_LABEL: pool_name}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": pool.node_class},
                    "requirements": [
                        *gpu_pool.capacity_requirements(list(pool.instance_types), pool.capacity_type),
                        {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
                    ],
                    "taints": [dict(CPU_POOL_TAINT)],
                    "expireAfter": "720h",
                },
            },
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": pool.consolidate_after,
                "budgets": [{"nodes": "1"}],
            },
            "limits": {
                "cpu": str(pool.max_nodes * max(t.vcpu for t in types)),
                "memory": f"{int(pool.max_nodes * max(t.memory_gib for t in types))}Gi",
            },
        },
    }


def target_group_binding_manifest(name: str, namespace: str, target_group_arn: str, vpc_id: str) -> dict[str, Any]:
    """Binds the Serve service's pods (by IP) to the load balancer's target group; the AWS
    Load Balancer Controller keeps the targets in step with the endpoints."""
    return {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": f"{name}-serve", "namespace": namespace, "labels": labels(name)},
        "spec": {
            "serviceRef": {"name": serve_service_name(name), "port": SERVE_PORT},
            "targetGroupARN": target_group_arn,
            "targetType": "ip",
            "vpcID": vpc_id,
        },
    }


KUBERAY_FEATURE_GATES = (
    ("RayClusterStatusConditions", True),
    ("RayJobDeletionPolicy", True),
    ("RayMultiHostIndexing", True),
    ("RayServiceIncrementalUpgrade", True),
    ("RayCronJob", False),
    ("RayClusterMTLS", False),
    ("RayClusterNetworkPolicy", False),
    ("RayClusterHistoryServer", False),
)
"""The kuberay-operator 1.7.0 chart's ``featureGates`` defaults (values.yaml): a list, so
turning one gate on means giving them all."""


def kuberay_values(node_selector: Mapping[str, str], cron_jobs: bool = False) -> dict[str, Any]:
    """Values of the kuberay-operator chart: watching the serving namespace only (namespaced
    RBAC), on the system nodes; with ``cron_jobs`` the ``RayCronJob`` gate is on (off by
    default in 1.7)."""
    values: dict[str, Any] = {
        "singleNamespaceInstall": True,
        "nodeSelector": dict(node_selector),
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    }
    if cron_jobs:
        values["featureGates"] = [
            {"name": gate, "enabled": on or gate == "RayCronJob"} for gate, on in KUBERAY_FEATURE_GATES
        ]
    return values


# ----------------------------------------------------------------------------- ingestion

SERVE_CONFIG_ENV = "LLMOPS_SERVE_CONFIG"
"""The ingest job's copy of the Serve config (the pipeline reads its first application's
vector store, embedding model and chunking from it)."""
INGEST_GROUP = "ingest"
INGEST_JOB_LABEL = "llmops.io/job"
"""Every ingestion object carries ``llmops.io/job: ingest``."""


def ingest_job_name(name: str) -> str:
    return f"{name}-ingest"


def ingest_entrypoint(ingestion: IngestionArgs, source_uri: str) -> str:
    """The job's driver command: the Ray Data pipeline over ``source_uri``."""
    return (
        f"python -m serving.ingest.pipeline {source_uri} --serve-config-env {SERVE_CONFIG_ENV} "
        f"--actors {ingestion.actors} --actor-cpus {ingestion.actor_cpus:g}"
    )


def ingest_job_spec(
    args: ServingPlaneArgs,
    ingestion: IngestionArgs,
    cpu_group: GroupSpec,
    *,
    source_uri: str,
    serve_config: str,
    env: Mapping[str, str],
    secret_arns_json: str | None,
) -> dict[str, Any]:
    """The ``RayJob`` spec (``ray.io/v1``) of an ingest run, whoever starts it (the
    ``RayCronJob``'s ``jobTemplate``, the ingestion trigger's template): a Ray cluster of its
    own (the serving image, service account and environment; workers on the CPU group's
    nodes) running the pipeline, deleted when the job ends."""
    ctx = PodContext(
        image=args.image,
        namespace=args.namespace,
        instance=args.name,
        env={**env, SERVE_CONFIG_ENV: serve_config},
        secret_arns_json=secret_arns_json,
        region=args.region,
    )
    workers = GroupSpec(
        name=INGEST_GROUP,
        instance_types=cpu_group.instance_types,
        min_replicas=ingestion.workers,
        max_replicas=ingestion.workers,
        cpu_m=int(ingestion.worker_cpu * 1000),
        memory_mib=int(ingestion.worker_memory_gib * 1024),
        gpus=0,
        node_selector=cpu_group.node_selector,
        tolerations=cpu_group.tolerations,
        ray_resources={},
    )
    return {
        "entrypoint": ingest_entrypoint(ingestion, source_uri),
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": 600,
        "activeDeadlineSeconds": ingestion.active_deadline_seconds,
        "backoffLimit": 0,
        "submissionMode": "K8sJobMode",
        "rayClusterSpec": {
            "rayVersion": args.ray_version,
            "headGroupSpec": head_group(ctx, args.head),
            "workerGroupSpecs": [worker_group(ctx, workers)],
        },
    }


def ingest_labels(name: str) -> dict[str, str]:
    """Labels of the ingestion objects of the serving plane ``name``."""
    return {**labels(name), INGEST_JOB_LABEL: "ingest"}


def ingest_cron_job_manifest(args: ServingPlaneArgs, ingestion: IngestionArgs, job_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``RayCronJob`` (``ray.io/v1``) that starts a run of ``job_spec`` on schedule."""
    assert ingestion.schedule is not None
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCronJob",
        "metadata": {"name": ingest_job_name(args.name), "namespace": args.namespace, "labels": ingest_labels(args.name)},
        "spec": {"schedule": ingestion.schedule, "timeZone": ingestion.time_zone, "jobTemplate": dict(job_spec)},
    }


# ----------------------------------------------------------------------------- ingestion trigger

STARTED_BY_LABEL = "llmops.io/started-by"
RAY_CRON_JOB_LABEL = "ray.io/cronjob-name"
"""The label KubeRay's ``RayCronJob`` controller puts on the ``RayJob``\\ s it creates."""
TRIGGER_SERVICE_ACCOUNT = "ingest-trigger"
"""The ingestion trigger's service account (its role reads the events queue; its RBAC
manages ``rayjobs``)."""
TRIGGER_CONFIG_DIR = "/etc/llmops/ingest-trigger"
TRIGGER_SETTINGS_FILE = "settings.json"
TRIGGER_JOB_FILE = "rayjob.json"
TRIGGER_HEARTBEAT = "/tmp/heartbeat"
"""The trigger touches it after every poll; the liveness probe restarts a trigger that stopped."""
TRIGGER_RESOURCES = {"requests": {"cpu": "50m", "memory": "160Mi"}, "limits": {"memory": "320Mi"}}
MAX_RAYJOB_NAME = 47
"""KubeRay's limit on a RayJob's name (the RayCluster name, 53, less the 6 it appends)."""
RUN_SUFFIX_LENGTH = 19
"""``-<yymmddHHMMSS>-<4 hex>``: what the trigger appends to its runs' name prefix."""


def trigger_name(name: str) -> str:
    return f"{name}-ingest-trigger"


def trigger_run_prefix(name: str) -> str:
    """The name prefix of the runs the trigger starts: ``<name>-ingest`` cut so that the name
    with its suffix fits KubeRay's limit."""
    return ingest_job_name(name)[: MAX_RAYJOB_NAME - RUN_SUFFIX_LENGTH].rstrip("-")


def ingest_rayjob_template(args: ServingPlaneArgs, job_spec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``RayJob`` the trigger creates (it adds ``metadata.name``)."""
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"namespace": args.namespace, "labels": {**ingest_labels(args.name), STARTED_BY_LABEL: "s3-events"}},
        "spec": dict(job_spec),
    }


def trigger_settings(args: ServingPlaneArgs, ingestion: IngestionArgs, events: IngestionEventsArgs, queue_url: str) -> dict[str, Any]:
    """The trigger's settings (``serving.ingest.trigger.TriggerSettings``)."""
    ingest_runs = [ingest_labels(args.name)]
    if ingestion.schedule is not None:
        ingest_runs.append({RAY_CRON_JOB_LABEL: ingest_job_name(args.name)})
    return {
        "queueUrl": queue_url,
        "region": args.region,
        "namespace": args.namespace,
        "jobNamePrefix": trigger_run_prefix(args.name),
        "ingestRuns": ingest_runs,
        "startedBy": {STARTED_BY_LABEL: "s3-events"},
        "debounceSeconds": events.debounce_seconds,
        "visibilityTimeoutSeconds": events.visibility_timeout_seconds,
        "history": events.history,
    }


def trigger_config_map(args: ServingPlaneArgs, settings: Mapping[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    """The trigger's settings and the ``RayJob`` it creates, as files."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": trigger_name(args.name), "namespace": args.namespace, "labels": ingest_labels(args.name)},
        "data": {
            TRIGGER_SETTINGS_FILE: json.dumps(settings, indent=2, sort_keys=True),
            TRIGGER_JOB_FILE: json.dumps(job, indent=2, sort_keys=True),
        },
    }


def trigger_rbac(args: ServingPlaneArgs) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Role (create, read, watch and delete ``rayjobs.ray.io`` in the serving namespace,
    nothing else) and its binding to the trigger's service account."""
    name, meta = trigger_name(args.name), {"namespace": args.namespace, "labels": ingest_labels(args.name)}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": name, **meta},
        "rules": [{"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "get", "list", "watch", "delete"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, **meta},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": TRIGGER_SERVICE_ACCOUNT, "namespace": args.namespace}],
    }
    return role, binding


def trigger_deployment(args: ServingPlaneArgs, config_digest: str) -> dict[str, Any]:
    """The ingestion trigger: one replica (``Recreate``: never two at once) of the serving
    image on the system nodes, non-root, read-only root filesystem, tiny requests. The pod
    carries ``config_digest`` (of its ConfigMap) so a new job spec or setting restarts it."""
    name = trigger_name(args.name)
    selector = {"app.kubernetes.io/instance": args.name, "app.kubernetes.io/component": "ingest-trigger"}
    container = {
        "name": "trigger",
        "image": args.image,
        "imagePullPolicy": "IfNotPresent",
        "command": [
            "python", "-m", "serving.ingest.trigger",
            "--settings", f"{TRIGGER_CONFIG_DIR}/{TRIGGER_SETTINGS_FILE}",
            "--job", f"{TRIGGER_CONFIG_DIR}/{TRIGGER_JOB_FILE}",
            "--heartbeat", TRIGGER_HEARTBEAT,
        ],
        "env": [
            {"name": "AWS_REGION", "value": args.region},
            {"name": "HOME", "value": "/tmp"},
            {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
            {"name": "PYTHONUNBUFFERED", "value": "1"},
        ],
        "resources": TRIGGER_RESOURCES,
        "securityContext": {**_security_context(), "readOnlyRootFilesystem": True, "runAsNonRoot": True},
        "livenessProbe": {
            "exec": {"command": ["sh", "-c", f"test $(( $(date +%s) - $(stat -c %Y {TRIGGER_HEARTBEAT}) )) -lt 300"]},
            "initialDelaySeconds": 120,
            "periodSeconds": 60,
            "failureThreshold": 3,
        },
        "volumeMounts": [
            {"name": "settings", "mountPath": TRIGGER_CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": args.namespace, "labels": {**ingest_labels(args.name), **selector}},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": {**ingest_labels(args.name), **selector},
                    "annotations": {"llmops.io/config-digest": config_digest},
                },
                "spec": {
                    "serviceAccountName": TRIGGER_SERVICE_ACCOUNT,
                    "nodeSelector": dict(args.head.node_selector),
                    "securityContext": _pod_security_context(),
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [
                        {"name": "settings", "configMap": {"name": name}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }


def config_digest(config_map: Mapping[str, Any]) -> str:
    """A short digest of a ConfigMap's data (a pod annotation: a change rolls the pods)."""
    return hashlib.sha256(json.dumps(config_map["data"], sort_keys=True).encode()).hexdigest()[:16]


LOAD_BALANCER_CONTROLLER_NAMESPACE = "kube-system"
LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"


def load_balancer_controller_values(
    cluster_name: Any, region: str, vpc_id: Any, replicas: int, node_selector: Mapping[str, str]
) -> dict[str, Any]:
    """Values of the aws-load-balancer-controller chart: region and VPC given (pods cannot
    reach the instance metadata service), no Service mutating webhook (the platform only
    binds target groups it owns), IP targets. ``cluster_name`` and ``vpc_id`` may be
    outputs of other resources (Helm values take them nested)."""
    values: dict[str, Any] = {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": replicas,
        "serviceAccount": {"create": True, "name": LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT},
        "nodeSelector": dict(node_selector),
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "enableServiceMutatorWebhook": False,
        "defaultTargetType": "ip",
    }
    if replicas > 1:
        values["podDisruptionBudget"] = {"maxUnavailable": 1}
    return values
