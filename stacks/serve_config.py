"""The serving section of a stack: from ``llmops:serving`` to each region's Serve config.

One serve config (``llmops:serving.serve``, the :class:`serving.config.ServeConfig` schema
that ``llmops serve --config`` runs locally) becomes every region's ``serveConfigV2``:

1. the release fills in what it pins: vllm/transformers backends without a ``model_id``
   serve the release model at its pinned revision (and its declared size), and the release's
   application settings (``rag``, ``request_timeout_s``) apply to every application;
2. each region's overrides (keyed by application and model name) set replicas and which
   worker groups a deployment runs on; by default a deployment that asks for GPUs runs on
   every GPU pool of the region, anything else on the CPU worker group;
3. every deployment asks for one unit of a custom Ray resource named after it
   (:func:`resource_token`), which exactly the worker groups it runs on advertise, so a
   replica never lands anywhere else.

:func:`serving_problems` checks what only the stack as a whole can tell (each a problem
with its ``llmops:serving...`` path and a fix): a deployment asking for GPUs on the CPU
group, replicas beyond what the placed pools hold (pods take the smallest GPU count among a
pool's instance types), a replica needing more GPUs than a pool's nodes have, a model too
large for the GPU memory of the pool's instance types (from its declared parameter count and
dtype), an unknown pool, application, model or region.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from core import catalog
from core.literals import CONFIG_NAMESPACE
from core.problems import Problem
from serving.config import (
    EMBEDDER_DEPLOYMENT,
    INGRESS_DEPLOYMENT,
    LLM_DEPLOYMENT_PREFIX,
    AppConfig,
    ConfigError,
    DeploymentSettings,
    ServeConfig,
    TransformersBackend,
    VLLMBackend,
    parse_app_config,
    parse_serve_config,
)
from stacks.config import (
    AppOverride,
    DeploymentOverride,
    PlatformConfig,
    RegionConfig,
    ServingConfig,
)

CPU_GROUP = "cpu"
"""The CPU worker group's name in placements (never a GPU pool's: pool names are checked)."""
TOKEN_CAPACITY = 1000
"""Units of a deployment's resource each node of a worker group advertises: enough for any
replica count; CPUs, GPUs and memory bound the packing."""
WEIGHT_HEADROOM = 1.2
"""GPU memory a model needs beyond its weights (activations, KV cache), as a factor."""
TRANSFORMERS_GPU_SHARE = 0.9
"""Share of a GPU's memory the transformers backend can fill (CUDA context, fragmentation)."""
SERVE = f"{CONFIG_NAMESPACE}:serving.serve"
SERVING = f"{CONFIG_NAMESPACE}:serving"


def resource_token(app: str, deployment: str) -> str:
    """The custom Ray resource a deployment's replicas ask one unit of."""
    return f"llmops-{app}-{deployment}"


# ----------------------------------------------------------------------------- base config


def _serve_problems(error: ConfigError, root: str) -> list[Problem]:
    return [Problem(f"{root}.{p.path}" if p.path not in ("(root)", "") else root, p.message) for p in error.problems]


def _fill_release(serving: ServingConfig, data: dict[str, Any]) -> list[Problem]:
    """Backends without a model serve the release model (in place, on the raw document)."""
    release = serving.release
    problems = []
    for a, app in enumerate(data.get("applications") or []):
        for m, model in enumerate(app.get("models") or [] if isinstance(app, dict) else []):
            for b, backend in enumerate(model.get("backends") or [] if isinstance(model, dict) else []):
                if not isinstance(backend, dict) or backend.get("kind") not in ("vllm", "transformers") or backend.get("model_id"):
                    continue
                if release.model_id is None:
                    problems.append(
                        Problem(
                            f"{SERVE}.applications[{a}].models[{m}].backends[{b}].model_id",
                            "is unset, so the backend serves the release model, but the release names none; set "
                            "llmops:serving.release.modelId (and modelRevision), or the backend's model_id",
                        )
                    )
                    continue
                backend["model_id"] = release.model_id
                backend.setdefault("revision", release.model_revision)
                if release.model_parameter_count_b is not None:
                    backend.setdefault("parameter_count_b", release.model_parameter_count_b)
    return problems


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in override.items()}}
    return override


def base_serve_config(serving: ServingConfig) -> tuple[ServeConfig | None, list[Problem]]:
    """The stack's serve config with the release applied (None when it has problems)."""
    problems: list[Problem] = []
    settings = dict(serving.release.app_settings)
    if settings:
        try:
            parse_app_config(settings)
        except ConfigError as error:
            problems += _serve_problems(error, f"{SERVING}.release.appSettings")
            settings = {}  # reported where they are set, not again in every application
    data = _merge({}, dict(serving.serve))
    problems += _fill_release(serving, data)
    if settings and isinstance(data.get("applications"), list):
        data["applications"] = [_merge(app, settings) if isinstance(app, dict) else app for app in data["applications"]]
    elif settings and "applications" not in data:
        data["applications"] = [_merge(AppConfig().model_dump(mode="json"), settings)]
    try:
        config = parse_serve_config(data)
    except ConfigError as error:
        reported = {p.path for p in problems}
        return None, problems + [p for p in _serve_problems(error, SERVE) if p.path not in reported]
    return (config if not problems else None), problems


# ----------------------------------------------------------------------------- placement


@dataclass(frozen=True)
class Placement:
    """One deployment of one application in one region."""

    app: str
    deployment: str
    settings: DeploymentSettings
    groups: tuple[str, ...]
    path: str
    """Where the placement is configured (the override, else the deployment's settings)."""
    local_backends: tuple[tuple[str, TransformersBackend | VLLMBackend], ...] = ()
    """The model's vllm/transformers backends with their config paths (load weights locally)."""

    @property
    def token(self) -> str:
        return resource_token(self.app, self.deployment)

    @property
    def num_gpus(self) -> float:
        return self.settings.resources.num_gpus

    @property
    def max_replicas(self) -> int:
        if self.settings.autoscaling is not None:
            return self.settings.autoscaling.max_replicas
        return self.settings.num_replicas or 1


def _overridden(settings: DeploymentSettings, override: DeploymentOverride | None, token: str) -> DeploymentSettings:
    data = settings.model_dump(mode="json")
    if override is not None:
        if override.replicas is not None:
            data.update(num_replicas=override.replicas, autoscaling=None)
        elif override.min_replicas is not None or override.max_replicas is not None:
            scaling = dict(data.get("autoscaling") or {"min_replicas": data.get("num_replicas") or 1, "max_replicas": data.get("num_replicas") or 1})
            if override.min_replicas is not None:
                scaling["min_replicas"] = override.min_replicas
            if override.max_replicas is not None:
                scaling["max_replicas"] = override.max_replicas
            scaling["max_replicas"] = max(scaling["max_replicas"], scaling["min_replicas"], 1)
            scaling.pop("initial_replicas", None)
            data.update(num_replicas=None, autoscaling=scaling)
    data["resources"]["custom"] = {**data["resources"].get("custom", {}), token: 1}
    return DeploymentSettings.model_validate(data)


def _default_groups(settings: DeploymentSettings, region: RegionConfig) -> tuple[str, ...]:
    if settings.resources.num_gpus > 0 and region.gpu_pools:
        return tuple(p.name for p in region.gpu_pools)
    return (CPU_GROUP,)


def region_index(config: PlatformConfig, region: RegionConfig) -> int:
    return [r.name for r in config.regions].index(region.name)


def placements(config: PlatformConfig, base: ServeConfig, region: RegionConfig) -> list[Placement]:
    """Every deployment of every application in ``region``, with its overrides applied."""
    serving = config.serving
    assert serving is not None
    overrides = serving.regions.get(region.name)
    out: list[Placement] = []
    for a, app in enumerate(base.applications):
        app_override = (overrides.applications.get(app.name) if overrides else None) or AppOverride()
        over_root = f"{SERVING}.regions.{region.name}.applications.{app.name}"
        entries: list[tuple[str, DeploymentSettings, DeploymentOverride | None, str, str, tuple[tuple[str, Any], ...]]] = [
            (INGRESS_DEPLOYMENT, app.ingress, app_override.ingress, f"{over_root}.ingress", f"{SERVE}.applications[{a}].ingress", ()),
            (
                EMBEDDER_DEPLOYMENT,
                app.embeddings.deployment,
                app_override.embeddings,
                f"{over_root}.embeddings",
                f"{SERVE}.applications[{a}].embeddings.deployment",
                (),
            ),
        ]
        for m, model in enumerate(app.models):
            local = tuple(
                (f"{SERVE}.applications[{a}].models[{m}].backends[{b}]", backend)
                for b, backend in enumerate(model.backends)
                if isinstance(backend, TransformersBackend | VLLMBackend)
            )
            entries.append(
                (
                    model.deployment_name,
                    model.deployment,
                    app_override.models.get(model.name),
                    f"{over_root}.models.{model.name}",
                    f"{SERVE}.applications[{a}].models[{m}].deployment",
                    local,
                )
            )
        for deployment, settings, override, over_path, settings_path, local in entries:
            token = resource_token(app.name, deployment)
            resolved = _overridden(settings, override, token)
            groups = tuple(override.pools) if override is not None and override.pools else _default_groups(settings, region)
            path = f"{over_path}.pools" if override is not None and override.pools else f"{settings_path}.resources.num_gpus"
            out.append(Placement(app.name, deployment, resolved, groups, path, local))
    return out


def region_serve_config(base: ServeConfig, placed: Sequence[Placement], model_uri: Mapping[str, str] | None = None) -> ServeConfig:
    """The region's serve config: ``base`` with each deployment's settings replaced by its
    placement's, and release-model backends pointed at the region's S3 copy (``model_uri``:
    ``model_id@revision`` -> ``s3://...``)."""
    by_key = {(p.app, p.deployment): p.settings.model_dump(mode="json") for p in placed}
    data = base.model_dump(mode="json")
    for app in data["applications"]:
        app["ingress"] = by_key[(app["name"], INGRESS_DEPLOYMENT)]
        app["embeddings"]["deployment"] = by_key[(app["name"], EMBEDDER_DEPLOYMENT)]
        for model in app["models"]:
            model["deployment"] = by_key[(app["name"], f"{LLM_DEPLOYMENT_PREFIX}{model['name']}")]
            for backend in model["backends"]:
                key = f"{backend.get('model_id')}@{backend.get('revision')}"
                if model_uri and backend.get("kind") in ("vllm", "transformers") and key in model_uri and not backend.get("s3_uri"):
                    backend["s3_uri"] = model_uri[key]
    return ServeConfig.model_validate(data)


PG_DSN_ENV = "LLMOPS_PG_DSN"
"""The variable of the managed vector store's DSN (libpq's ``PG*`` variables carry the rest)."""
CACHE_URL_ENV = "REDIS_URL"
CACHE_USER_ENV = "LLMOPS_CACHE_USER"
CACHE_ARN_ENV = "LLMOPS_CACHE_ARN"
OPENSEARCH_ENDPOINT_ENV = "LLMOPS_OPENSEARCH_ENDPOINT"


@dataclass(frozen=True)
class DataWiring:
    """How a region's Serve applications reach its managed data stores. The pods get the
    endpoints as environment variables (outputs of the stores) and log in with their own
    AWS credentials: IAM tokens for Aurora and ElastiCache, SigV4 for OpenSearch. No
    password reaches a pod."""

    vector_engine: Literal["aurora-pgvector", "opensearch-serverless"] | None
    """The region's vector store engine (None: no managed vector store here)."""
    serving_role: str = "llmops_serving"
    """The database user the pods log in as (the store's IAM database user)."""
    cache_cluster_mode: bool | None = None
    """The region's cache is cluster-mode (ElastiCache Serverless); None: no managed cache."""


def wire_data_plane(config: ServeConfig, wiring: DataWiring) -> ServeConfig:
    """``config`` with every application's connection settings pointed at the region's data
    stores (what the stack's serve config says about tables, pools and the cache's policy
    stays). The stores' schema is the migrations Job's: the pods only check its version. An
    application that keeps its cache in process (``backend: memory`` or ``none``) keeps it."""
    data = config.model_dump(mode="json")
    for app in data["applications"]:
        store = app["vector_store"]
        if wiring.vector_engine == "aurora-pgvector":
            store.update(engine="pgvector", dsn=None, dsn_env=PG_DSN_ENV, iam_auth=True, migrate_on_start=False, serving_role=wiring.serving_role)
        elif wiring.vector_engine == "opensearch-serverless":
            store.update(engine="opensearch-serverless")
            store["opensearch"].update(endpoint=None, endpoint_env=OPENSEARCH_ENDPOINT_ENV, service="aoss")
        cache = app["cache"]
        if wiring.cache_cluster_mode is not None and cache["backend"] == "redis":
            cache.update(
                url=None,
                url_env=CACHE_URL_ENV,
                cluster=wiring.cache_cluster_mode,
                tls_ca_file=None,
                iam_auth=True,
                iam_user_env=CACHE_USER_ENV,
                iam_cache_arn_env=CACHE_ARN_ENV,
            )
    return ServeConfig.model_validate(data)


def group_resources(placed: Sequence[Placement]) -> dict[str, dict[str, int]]:
    """Worker group -> the custom Ray resources its nodes advertise."""
    out: dict[str, dict[str, int]] = {}
    for p in placed:
        for group in p.groups:
            out.setdefault(group, {})[p.token] = TOKEN_CAPACITY
    return out


# ----------------------------------------------------------------------------- checks


def _bytes_per_parameter(backend: TransformersBackend | VLLMBackend, on_gpu: bool) -> float:
    if backend.dtype == "float32" or (isinstance(backend, TransformersBackend) and backend.dtype == "auto" and not on_gpu):
        return 4.0
    return 2.0  # float16/bfloat16, and "auto" on GPUs (checkpoints ship in 16 bits)


def _gpu_problems(placement: Placement, region: RegionConfig) -> list[Problem]:
    pools = {p.name: p for p in region.gpu_pools}
    gpus = placement.num_gpus
    problems: list[Problem] = []
    placed = [pools[g] for g in placement.groups if g in pools]
    where = f"{placement.app}/{placement.deployment} in {region.name}"
    if gpus > 0 and CPU_GROUP in placement.groups:
        problems.append(
            Problem(
                placement.path,
                f"{where} asks for {gpus:g} GPU(s) per replica but runs on the CPU worker group, which has none; "
                f"place it on a GPU pool ({', '.join(pools) or 'the region has none: add a gpuPool'}) or set num_gpus: 0",
            )
        )
        return problems
    if gpus <= 0:
        return problems
    capacity = 0
    for pool in placed:
        per_node = pool.min_gpus_per_node
        if gpus > per_node:
            problems.append(
                Problem(
                    placement.path,
                    f"{where}: a replica needs {gpus:g} GPUs, but pool {pool.name}'s pods get {per_node} (the smallest "
                    f"GPU count among {', '.join(pool.instance_types)}); use instance types with more GPUs or fewer GPUs per replica",
                )
            )
            continue
        capacity += pool.max_nodes * math.floor(per_node / gpus)
    if placed and capacity and placement.max_replicas > capacity:
        problems.append(
            Problem(
                placement.path,
                f"{where} may scale to {placement.max_replicas} replicas of {gpus:g} GPU(s), but its pools "
                f"({', '.join(p.name for p in placed)}) hold {capacity} at their maxNodes; lower max_replicas or raise the pools' maxNodes",
            )
        )
    for backend_path, backend in placement.local_backends:
        if isinstance(backend, VLLMBackend) and backend.tensor_parallel_size > gpus:
            problems.append(
                Problem(
                    f"{backend_path}.tensor_parallel_size",
                    f"shards the model over {backend.tensor_parallel_size} GPUs but the replica has {gpus:g}; "
                    "set the deployment's num_gpus to the tensor parallel size",
                )
            )
        if backend.parameter_count_b is None:
            problems.append(
                Problem(
                    f"{backend_path}.parameter_count_b",
                    "is required for a model on GPUs (the memory check reads no hub offline); declare the model's size "
                    "in billions of parameters (or the release's modelParameterCountB)",
                )
            )
            continue
        weights_gib = backend.parameter_count_b * 1e9 * _bytes_per_parameter(backend, True) / 2**30
        share = backend.gpu_memory_utilization if isinstance(backend, VLLMBackend) else TRANSFORMERS_GPU_SHARE
        for pool in placed:
            per_gpu = min(catalog.instance_types()[t].accelerator_memory_gib for t in pool.instance_types)
            usable = math.floor(gpus) * per_gpu * share if gpus >= 1 else gpus * per_gpu * share
            if weights_gib * WEIGHT_HEADROOM > usable:
                problems.append(
                    Problem(
                        f"{backend_path}.parameter_count_b",
                        f"{backend.model_id}: {backend.parameter_count_b:g}B parameters in {backend.dtype} need about "
                        f"{weights_gib * WEIGHT_HEADROOM:.1f} GiB of GPU memory ({weights_gib:.1f} GiB of weights + "
                        f"{round((WEIGHT_HEADROOM - 1) * 100)}%), but a replica on pool {pool.name} has {usable:.1f} GiB "
                        f"({gpus:g} x {per_gpu:g} GiB x {share:g}); give it more GPUs (and tensor_parallel_size), a pool "
                        "with larger GPUs, or a smaller model",
                    )
                )
    return problems


def _known_names_problems(config: PlatformConfig, base: ServeConfig) -> list[Problem]:
    serving = config.serving
    assert serving is not None
    problems = []
    region_names = [r.name for r in config.regions]
    app_names = [a.name for a in base.applications]
    for region_name, overrides in serving.regions.items():
        root = f"{SERVING}.regions.{region_name}"
        if region_name not in region_names:
            problems.append(Problem(root, catalog.unknown_name_message("region", region_name, region_names, "key overrides by one of the stack's regions")))
            continue
        region = config.region(region_name)
        groups = [CPU_GROUP, *(p.name for p in region.gpu_pools)]
        for app_name, app_override in overrides.applications.items():
            if app_name not in app_names:
                problems.append(
                    Problem(f"{root}.applications.{app_name}", catalog.unknown_name_message("application", app_name, app_names, "key by an application of llmops:serving.serve"))
                )
                continue
            app = base.app(app_name)
            model_names = [m.name for m in app.models]
            for model_name in app_override.models:
                if model_name not in model_names:
                    problems.append(
                        Problem(
                            f"{root}.applications.{app_name}.models.{model_name}",
                            catalog.unknown_name_message("model", model_name, model_names, f"key by a model of application {app_name}"),
                        )
                    )
            deployments = {"ingress": app_override.ingress, "embeddings": app_override.embeddings}
            deployments.update({f"models.{k}": v for k, v in app_override.models.items()})
            for key, override in deployments.items():
                for index, pool in enumerate(override.pools or [] if override else []):
                    if pool not in groups:
                        problems.append(
                            Problem(
                                f"{root}.applications.{app_name}.{key}.pools[{index}]",
                                catalog.unknown_name_message("worker group", pool, groups, f"use a GPU pool of {region_name} or '{CPU_GROUP}'"),
                            )
                        )
    return problems


def serving_problems(config: PlatformConfig) -> list[Problem]:
    """Every problem of the serving section that needs the whole stack to see."""
    serving = config.serving
    if serving is None or not serving.enabled:
        return []
    base, problems = base_serve_config(serving)
    if serving.exposure.scheme == "internet-facing" and serving.entry is None:
        problems.append(
            Problem(
                f"{SERVING}.exposure.scheme",
                "a public load balancer serves HTTPS with a certificate for the entry's name; set llmops:serving.entry "
                "(hostedZoneId, recordName), or use scheme: internal",
            )
        )
    if serving.entry is not None and len(config.regions) > 1:
        if serving.entry.routing == "failover" and len(config.regions) != 2:
            problems.append(Problem(f"{SERVING}.entry.routing", "failover has one primary and one secondary region; use latency with more than two regions"))
        if serving.entry.routing == "accelerator" and serving.exposure.scheme == "internal":
            problems.append(
                Problem(f"{SERVING}.entry.routing", "a Global Accelerator is reachable from the internet; an internal entry uses latency or failover")
            )
    for index, region in enumerate(config.regions):
        existing = region.cluster.existing
        if existing is not None and existing.kubeconfig is not None:
            problems.append(
                Problem(
                    f"{CONFIG_NAMESPACE}:regions[{index}].cluster.existing.kubeconfig",
                    "the serving plane needs an EKS cluster (Pod Identity, load balancers): name it with clusterName, "
                    "or remove llmops:serving",
                )
            )
    if base is None:
        return problems
    problems += _known_names_problems(config, base)
    if problems:
        return problems
    for region in config.regions:
        for placement in placements(config, base, region):
            problems += _gpu_problems(placement, region)
    return problems
