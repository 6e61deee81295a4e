"""Arguments of :class:`~components.serving_plane.ServingPlane`: plain, typed values the
composition (``stacks/platform.py``) fills from the stack config. Nothing here knows the
stack schema or an environment.

``ServingPlaneArgs.validate()`` reports every problem at once, each naming its property
path (``ServingPlaneArgs.gpu_workers[l40s].max_replicas``), before any child exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from components import versions
from components.helm import Chart
from components.serving_plane import sizing
from core import catalog

Scheme = Literal["internal", "internet-facing"]
UpgradeStrategy = Literal["NewCluster", "None"]
UpscalingMode = Literal["Default", "Aggressive", "Conservative"]

_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DIGEST_IMAGE = re.compile(r"^[a-z0-9][a-z0-9.-]*(:\d+)?(/[a-z0-9._-]+)+(:[\w][\w.-]{0,127})?@sha256:[a-f0-9]{64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_RAYSERVICE_NAME = 47
"""KubeRay's limit: the RayCluster name (53) less the suffix a RayService adds (6)."""
MIN_KUBERNETES_FOR_ENV_FILES = (1, 35)
"""``valueFrom.fileKeyRef`` (EnvFiles) is on by default from Kubernetes 1.35 (beta)."""


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _types_problems(path: str, types: Sequence[str], gpu: bool) -> list[str]:
    found = [] if types else [f"{path}: list at least one instance type"]
    known = catalog.instance_types()
    for name in types:
        spec = known.get(name)
        if spec is None:
            found.append(f"{path}: {name!r} is not in the catalogue")
        elif spec.is_nvidia_gpu != gpu:
            found.append(f"{path}: {name!r} is {'not ' if gpu else ''}an NVIDIA GPU instance type")
    return found


def _fit_problems(path: str, types: Sequence[str], cpu: float | None, memory_gib: float | None, reserve: sizing.Resources) -> list[str]:
    """A pod of ``cpu`` / ``memory_gib`` (plus ``reserve`` for its other containers) fits the
    smallest of ``types`` (None: what a pod that takes the whole node requests)."""
    known = catalog.instance_types()
    if not types or any(t not in known for t in types):
        return []
    whole = sizing.whole_node(list(types), sizing.Resources(0, 0))
    want = sizing.Resources(
        int(cpu * 1000) if cpu is not None else whole.cpu_m,
        int(memory_gib * 1024) if memory_gib is not None else whole.memory_mib,
    ) + reserve
    room = sizing.smallest(list(types))
    if want.fits_in(room):
        return []
    return [f"{path}: the pod requests {want}, more than the smallest node type leaves ({room}); lower cpu/memory_gib or use larger instance types"]


@dataclass(frozen=True)
class HeadArgs:
    """The Ray head pod: on the system nodes, scheduling no Ray work (``num-cpus: 0``)."""

    instance_types: Sequence[str]
    """Instance types of the nodes it lands on (its requests must fit the smallest)."""
    node_selector: Mapping[str, str]
    """Labels of those nodes (empty in a cluster brought as it is: any untainted node)."""
    cpu: float = 0.5
    """CPU cores requested (GCS, dashboard, Serve controller; no CPU limit)."""
    memory_gib: float = 2.0
    """Memory requested and limited."""

    def problems(self, path: str) -> list[str]:
        found = _types_problems(f"{path}.instance_types", self.instance_types, gpu=False)
        if self.cpu <= 0 or self.memory_gib <= 0:
            found.append(f"{path}: cpu and memory_gib must be > 0")
        return found


@dataclass(frozen=True)
class WorkerGroupArgs:
    """One Ray worker group on a GPU pool: one pod per node, with every GPU the pool's
    smallest instance type has."""

    name: str
    """Group name: the pool's name (a DNS label)."""
    instance_types: Sequence[str]
    """The pool's instance types (requests fit the smallest; its GPU count is the pod's)."""
    min_replicas: int
    """Pods kept when idle: the pool's min_nodes."""
    max_replicas: int
    """The most pods: the pool's max_nodes."""
    node_selector: Mapping[str, str]
    """The pool's node labels the pods select (``llmops.io/gpu-pool: <pool>``)."""
    tolerations: Sequence[Mapping[str, str]] = ()
    """Tolerations of the pool's taint."""
    ray_resources: Mapping[str, int] = field(default_factory=dict)
    """Custom Ray resources the group's nodes advertise: one per Serve deployment placed on
    the pool (the deployment asks for one unit), so replicas land only where they are placed."""
    cpu: float | None = None
    """CPU cores requested; None: whole cores of what the smallest type leaves."""
    memory_gib: float | None = None
    """Memory requested and limited; None: what the smallest type leaves."""
    idle_timeout_seconds: int | None = None
    """Seconds an idle node of this group stays before the autoscaler removes it (None: the
    autoscaler's idle timeout)."""

    @property
    def gpus(self) -> int:
        """GPUs per pod: the smallest count among the pool's instance types."""
        known = catalog.instance_types()
        counts = [known[t].accelerator_count for t in self.instance_types if t in known]
        return min(counts) if counts else 0

    def problems(self, path: str) -> list[str]:
        found = []
        if not _DNS_LABEL.match(self.name) or len(self.name) > 40:
            found.append(f"{path}.name: {self.name!r} is not a DNS label of at most 40 characters")
        found += _types_problems(f"{path}.instance_types", self.instance_types, gpu=True)
        if self.min_replicas < 0 or self.max_replicas < max(self.min_replicas, 1):
            found.append(f"{path}.max_replicas: must be >= 1 and >= min_replicas ({self.min_replicas}); got {self.max_replicas}")
        if not self.node_selector:
            found.append(f"{path}.node_selector: name the pool's node labels")
        found += _resource_name_problems(f"{path}.ray_resources", self.ray_resources)
        return found


@dataclass(frozen=True)
class CpuNodePoolArgs:
    """A Karpenter NodePool the CPU worker group runs on (from the cluster's EC2NodeClass)."""

    node_class: str
    """Name of the cluster's ``EC2NodeClass``."""
    instance_types: Sequence[str]
    """CPU instance types it may launch."""
    max_nodes: int = 4
    """The most nodes."""
    capacity_type: Literal["spot", "on-demand"] = "on-demand"
    """How nodes are bought."""
    consolidate_after: str = "5m"
    """How long an empty or underused node stays."""


@dataclass(frozen=True)
class CpuWorkersArgs:
    """The CPU worker group: the ingress and embedding replicas (and CPU-only models)."""

    instance_types: Sequence[str]
    """Instance types of the nodes it lands on (requests fit the smallest)."""
    min_replicas: int = 1
    """Pods kept running."""
    max_replicas: int = 4
    """The most pods."""
    node_pool: CpuNodePoolArgs | None = None
    """A NodePool of its own (each pod takes a node); None: the system nodes."""
    system_node_selector: Mapping[str, str] = field(default_factory=dict)
    """The system nodes' labels, used without a node pool (empty in a cluster brought as it
    is: any untainted node)."""
    ray_resources: Mapping[str, int] = field(default_factory=dict)
    """Custom Ray resources its nodes advertise (see :attr:`WorkerGroupArgs.ray_resources`)."""
    cpu: float | None = None
    """CPU cores per pod; None: whole cores of what the smallest type leaves (with a node
    pool), else 1."""
    memory_gib: float | None = None
    """Memory per pod; None: what the smallest type leaves (with a node pool), else 4."""

    def problems(self, path: str) -> list[str]:
        found = _types_problems(f"{path}.instance_types", self.instance_types, gpu=False)
        if self.min_replicas < 0 or self.max_replicas < max(self.min_replicas, 1):
            found.append(f"{path}.max_replicas: must be >= 1 and >= min_replicas ({self.min_replicas}); got {self.max_replicas}")
        if self.node_pool is not None:
            if list(self.node_pool.instance_types) != list(self.instance_types):
                found.append(f"{path}.node_pool.instance_types: must be the group's instance_types")
            if self.node_pool.max_nodes < self.max_replicas:
                found.append(f"{path}.node_pool.max_nodes: {self.node_pool.max_nodes} nodes cannot hold max_replicas ({self.max_replicas}) pods, one per node")
        found += _resource_name_problems(f"{path}.ray_resources", self.ray_resources)
        return found


def _resource_name_problems(path: str, resources: Mapping[str, int]) -> list[str]:
    return [
        f"{path}: {name!r} must be a custom resource name (not CPU, GPU or memory) with a positive amount"
        for name, amount in resources.items()
        if name.lower() in ("cpu", "gpu", "memory", "nvidia.com/gpu") or amount <= 0 or not name
    ]


@dataclass(frozen=True)
class AutoscalerArgs:
    """Ray's in-tree autoscaler (a sidecar of the head): how it adds and removes workers."""

    idle_timeout_seconds: int = 300
    """Seconds a worker stays idle before it is removed (GPU nodes are slow to come back)."""
    upscaling_mode: UpscalingMode = "Default"
    """``Default`` (bounded bursts), ``Aggressive`` or ``Conservative``."""
    cpu: float = 0.2
    """CPU requested by the autoscaler sidecar."""
    memory_gib: float = 0.5
    """Memory requested by the autoscaler sidecar (limit: twice that)."""


@dataclass(frozen=True)
class SecretRef:
    """A Secrets Manager secret (or one key of a JSON secret)."""

    arn: pulumi.Input[str]
    """The secret's ARN."""
    key: str | None = None
    """A key of the secret's JSON object; None: the whole string."""


@dataclass(frozen=True)
class GcsArgs:
    """GCS fault tolerance: the head keeps the cluster's state in an external Redis, so a
    head restart does not restart the Serve applications."""

    redis_address: pulumi.Input[str]
    """``rediss://host:port`` (TLS) or ``host:port``."""
    password: SecretRef
    """The Redis AUTH token (read at pod start; never in the manifest)."""


@dataclass(frozen=True)
class AccessArgs:
    """What the serving pods' Pod Identity role may read, and nothing else."""

    read_bucket_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """S3 buckets whose objects the pods read (the model bucket, the document bucket), keyed
    by a stable id."""
    kms_key_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """KMS keys those buckets and secrets are encrypted with (decrypt only), keyed by id."""
    policy_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Managed policies the role gets attached, keyed by a stable id: the data stores' own
    access policies (``rds-db:connect`` as the serving database user, ``elasticache:Connect``
    as the cache user), which the stores scope to themselves."""
    search_collections: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """OpenSearch Serverless collections (names, keyed by a stable id) whose indexes the pods
    read and write: each gets a data access policy naming the pods' role, created here where
    the role is (the collection's ``aoss:APIAccessAll`` policy comes through ``policy_arns``)."""

    def problems(self, path: str) -> list[str]:
        return [
            f"{path}.{field_name}: key {key!r} must be lowercase letters, digits and '-'"
            for field_name, keys in (("policy_arns", self.policy_arns), ("search_collections", self.search_collections))
            for key in keys
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", key)
        ]


@dataclass(frozen=True)
class MigrationsArgs:
    """The Job that brings the vector store's schema to the serving image's version before
    the RayService starts (``python -m serving.migrate``, the same versioned migrations an
    embedded store applies): it logs in as the database's owner with the master secret, read
    at run time, and creates the role the serving pods log in as with IAM tokens. The pods
    themselves never see the master secret."""

    master_secret_arn: pulumi.Input[str]
    """The database's master secret (``username``/``password``), read by the Job at run time."""
    admin_policy_arn: pulumi.Input[str]
    """The store's policy that reads that secret (attached to the Job's role only)."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Where the database is (libpq's ``PGHOST``, ``PGPORT``, ``PGDATABASE``)."""
    active_deadline_seconds: int = 900
    """A run that takes longer fails (Pulumi reports it; the next ``up`` runs it again)."""

    def problems(self, path: str) -> list[str]:
        found = [f"{path}.env: {name!r} is not an environment variable name" for name in self.env if not _ENV_NAME.match(name)]
        if self.active_deadline_seconds < 60:
            found.append(f"{path}.active_deadline_seconds: must be >= 60")
        return found


@dataclass(frozen=True)
class ModelCopyArgs:
    """The Job that copies the release model's pinned revision from the hub into the model
    bucket once; replicas then load it from S3."""

    model_id: str
    """Hub repository id."""
    revision: str
    """The pinned revision (a commit hash)."""
    bucket_name: pulumi.Input[str]
    """The region's model bucket."""
    bucket_arn: pulumi.Input[str]
    """Its ARN (the job's role may write under the model's prefix only)."""
    prefix: str
    """Key prefix of the copy (``models/<id>/<revision>/``)."""
    hub_token: SecretRef | None = None
    """The hub token (gated models), read by the job at run time."""
    kms_key_arn: pulumi.Input[str] | None = None
    """The bucket's KMS key (the job encrypts with it)."""
    disk_gib: int = 100
    """Scratch disk the job may use (the model's size, with room)."""


@dataclass(frozen=True)
class IngestionEventsArgs:
    """Ingestion started by new documents: a small Deployment (the ingestion trigger,
    ``python -m serving.ingest.trigger``) long-polls the bucket's S3 event queue, gathers
    events for ``debounce_seconds``, and creates one ``RayJob`` from the same spec the
    schedule uses, after any ingest run under way has ended; it deletes the events once that
    job exists."""

    queue_url: pulumi.Input[str]
    """The SQS queue S3 announces new documents on."""
    queue_arn: pulumi.Input[str]
    """Its ARN (the trigger's role may read and delete its messages, nothing else)."""
    debounce_seconds: int = 60
    """Seconds of events gathered into one run after the first (0 to 900)."""
    visibility_timeout_seconds: int = 300
    """How long a received event stays hidden while the trigger holds it (it extends the time
    while it waits for a run to end; 30 to 43200)."""
    history: int = 3
    """Finished runs the trigger started that it keeps (older ones it deletes; 0 to 100)."""

    def problems(self, path: str) -> list[str]:
        found = []
        if not 0 <= self.debounce_seconds <= 900:
            found.append(f"{path}.debounce_seconds: must be between 0 and 900 (got {self.debounce_seconds})")
        if not 30 <= self.visibility_timeout_seconds <= 43200:
            found.append(f"{path}.visibility_timeout_seconds: must be between 30 and 43200 (got {self.visibility_timeout_seconds})")
        if not 0 <= self.history <= 100:
            found.append(f"{path}.history: must be between 0 and 100 (got {self.history})")
        return found


@dataclass(frozen=True)
class IngestionArgs:
    """Document ingestion on the cluster: each run a ``RayJob`` (its own Ray cluster, deleted
    when the job ends) running the Ray Data ingest pipeline (``python -m
    serving.ingest.pipeline``) over an S3 prefix into the vector store, started by a KubeRay
    ``RayCronJob`` on a schedule, by new documents (:class:`IngestionEventsArgs`), or both.
    Runs are resumable and idempotent, so each run reads only what changed since the last."""

    source_uri: pulumi.Input[str]
    """What to ingest: ``s3://<bucket>/<prefix>`` (the pods' role must read it)."""
    schedule: str | None = "0 3 * * *"
    """Cron schedule (five fields) of the runs; None: no scheduled runs."""
    time_zone: str = "Etc/UTC"
    """IANA time zone of the schedule."""
    events: IngestionEventsArgs | None = None
    """Runs started by new documents; None: none."""
    actors: int = 1
    """Embedding actors of the pipeline."""
    actor_cpus: float = 1.0
    """CPUs each embedding actor reserves."""
    worker_cpu: float = 2.0
    """CPUs of each worker pod of the job's cluster."""
    worker_memory_gib: float = 8.0
    """Memory of each worker pod."""
    workers: int = 1
    """Worker pods of the job's cluster (fixed: the pipeline sizes its stages to them)."""
    active_deadline_seconds: int = 6 * 3600
    """A run that takes longer is stopped (the next one resumes where it ended)."""

    def problems(self, path: str) -> list[str]:
        found = []
        if self.schedule is None and self.events is None:
            found.append(f"{path}: give a schedule, events, or both (nothing would start a run)")
        if self.schedule is not None and len(self.schedule.split()) != 5:
            found.append(f"{path}.schedule: {self.schedule!r} is not a five-field cron schedule such as '0 3 * * *'")
        if self.events is not None:
            found += self.events.problems(f"{path}.events")
        if self.actors < 1:
            found.append(f"{path}.actors: must be >= 1")
        if self.actor_cpus <= 0:
            found.append(f"{path}.actor_cpus: must be > 0")
        if self.workers < 1:
            found.append(f"{path}.workers: must be >= 1")
        elif self.actors * self.actor_cpus + 1 > self.worker_cpu * self.workers:
            found.append(
                f"{path}: {self.actors} actor(s) x {self.actor_cpus:g} CPU plus 1 for reading and writing do not fit "
                f"{self.workers} worker(s) x {self.worker_cpu:g} CPU; raise workers or worker_cpu, or lower actors"
            )
        if self.active_deadline_seconds < 60:
            found.append(f"{path}.active_deadline_seconds: must be >= 60")
        return found


@dataclass(frozen=True)
class CertificateArgs:
    """An ACM certificate for the public listener, validated through DNS in a hosted zone."""

    domain_name: str
    """The name clients use (the global entry's record)."""
    zone_id: pulumi.Input[str]
    """The public hosted zone of that name (validation records go there)."""


@dataclass(frozen=True)
class ExposureArgs:
    """The load balancer in front of the Serve service: an internal NLB, or a public ALB with
    TLS and a WAF web ACL."""

    scheme: Scheme
    """``internal`` (NLB, reachable inside the VPC) or ``internet-facing`` (ALB, HTTPS)."""
    vpc_id: pulumi.Input[str]
    """The cluster's VPC."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets of the load balancer (private for internal, public for internet-facing)."""
    node_security_group_id: pulumi.Input[str]
    """The security group of the cluster's nodes (pods use it): admits the Serve port from
    the load balancer."""
    load_balancer_name: str
    """Name of the load balancer and its target group (<= 32 characters)."""
    client_cidrs: Sequence[str] = ()
    """internal: the ranges that may connect (the VPC's, peered networks')."""
    certificate: CertificateArgs | None = None
    """internet-facing: the certificate of the HTTPS listener."""
    waf: bool = True
    """internet-facing: a WAF web ACL (AWS managed rules, a rate limit) in front of the ALB."""
    waf_rate_limit: int = 2000
    """Requests per client IP in any 5 minutes before the WAF blocks it."""
    deletion_protection: bool = False
    """Refuse to delete the load balancer."""
    access_log_days: int = 90
    """Days access logs are kept in the log bucket."""
    force_destroy_logs: bool = True
    """Empty the log bucket when it is destroyed."""
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    """TLS policy of the HTTPS listener (TLS 1.2 and 1.3, forward-secret ciphers only)."""
    idle_timeout_seconds: int = 300
    """ALB idle timeout (long generations without streaming)."""

    @property
    def listener_port(self) -> int:
        return 443 if self.scheme == "internet-facing" else 80

    def problems(self, path: str) -> list[str]:
        found = []
        if self.scheme not in ("internal", "internet-facing"):
            found.append(f"{path}.scheme: must be 'internal' or 'internet-facing'")
        if not 1 <= len(self.load_balancer_name) <= 32 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]", self.load_balancer_name):
            found.append(f"{path}.load_balancer_name: 1 to 32 letters, digits and hyphens, not starting or ending with one")
        if self.scheme == "internet-facing" and self.certificate is None:
            found.append(f"{path}.certificate: a public load balancer serves HTTPS; give the domain name and its hosted zone")
        if self.scheme == "internal" and not self.client_cidrs:
            found.append(f"{path}.client_cidrs: list the ranges that may reach the internal load balancer (the VPC's)")
        if not 100 <= self.waf_rate_limit <= 2_000_000_000:
            found.append(f"{path}.waf_rate_limit: must be between 100 and 2000000000")
        return found


@dataclass(frozen=True)
class ServingPlaneArgs:
    """Arguments of :class:`~components.serving_plane.ServingPlane`."""

    region: str
    """AWS region code of the cluster."""
    cluster_name: pulumi.Input[str]
    """The EKS cluster (Pod Identity associations, the load balancer controller)."""
    image: str
    """The serving image by digest (``registry/repository[:tag]@sha256:...``) for every Ray pod."""
    ray_version: str
    """The image's Ray version (the RayService's ``rayVersion``)."""
    serve_config: pulumi.Input[str]
    """The Serve config document as YAML (``serveConfigV2``), rendered from the stack's
    serve config (an output when it names the region's model bucket)."""
    head: HeadArgs
    """The head pod."""
    cpu_workers: CpuWorkersArgs
    """The CPU worker group."""
    gpu_workers: Sequence[WorkerGroupArgs] = ()
    """One worker group per GPU pool."""
    name: str = "llmops"
    """The RayService's name (DNS-1035 label, at most 47 characters)."""
    namespace: str = "llmops-serving"
    """The namespace of the RayService, its service account and the KubeRay operator."""
    kubernetes_version: str | None = None
    """The cluster's Kubernetes version, when known (GCS fault tolerance reads the Redis
    token through an env file, which needs 1.35)."""
    autoscaler: AutoscalerArgs = field(default_factory=AutoscalerArgs)
    """Ray's in-tree autoscaler."""
    upgrade_strategy: UpgradeStrategy = "NewCluster"
    """``NewCluster``: a changed cluster spec starts a new Ray cluster and switches traffic
    once it serves (no downtime, twice the capacity meanwhile); ``None``: apply in place."""
    gcs: GcsArgs | None = None
    """GCS fault tolerance on an external Redis (the region's cache); None: off."""
    secret_env: Mapping[str, SecretRef] = field(default_factory=dict)
    """Environment variables every Ray pod reads from Secrets Manager at start (the database
    DSN, upstream API keys, the hashed client keys)."""
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables of every Ray container (no secrets: the database's host,
    say, whose user and password come through ``secret_env``)."""
    access: AccessArgs = field(default_factory=AccessArgs)
    """What the serving pods' role may read."""
    model_copy: ModelCopyArgs | None = None
    """Copy the release model into the model bucket; None: nothing to copy."""
    migrations: MigrationsArgs | None = None
    """Migrate the vector store's schema before the RayService (and ingestion) start; None:
    nothing to migrate (no PostgreSQL store, or a read-only replica of one)."""
    exposure: ExposureArgs | None = None
    """The load balancer; None: the Serve service stays inside the cluster."""
    ingestion: IngestionArgs | None = None
    """Document ingestion (a ``RayCronJob``, the ingestion trigger, or both); None: none."""
    kuberay: Chart = versions.KUBERAY_OPERATOR
    """The KubeRay operator chart."""
    load_balancer_controller: Chart = versions.AWS_LOAD_BALANCER_CONTROLLER
    """The AWS Load Balancer Controller chart."""
    controller_replicas: int = 2
    """Replicas of the load balancer controller."""
    vpc_id: pulumi.Input[str] | None = None
    """The cluster's VPC (the load balancer controller's ``vpcId``; defaults to the exposure's)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the cluster, its nodes and Karpenter)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags added to every AWS child."""

    def validate(self) -> None:
        """Raises ``ValueError`` listing every problem, before any child is created."""
        path = "ServingPlaneArgs"
        found = self.head.problems(f"{path}.head") + self.cpu_workers.problems(f"{path}.cpu_workers")
        found += _fit_problems(f"{path}.head", self.head.instance_types, self.head.cpu, self.head.memory_gib,
                               sizing.Resources(int(self.autoscaler.cpu * 1000), int(self.autoscaler.memory_gib * 1024)))
        names = [g.name for g in self.gpu_workers]
        for name in sorted({n for n in names if names.count(n) > 1} | ({"cpu"} & set(names))):
            found.append(f"{path}.gpu_workers: group name {name!r} is used twice (or is the CPU group's 'cpu')")
        for group in self.gpu_workers:
            found += group.problems(f"{path}.gpu_workers[{group.name}]")
            if group.cpu is not None or group.memory_gib is not None:
                found += _fit_problems(f"{path}.gpu_workers[{group.name}]", group.instance_types, group.cpu,
                                       group.memory_gib, NO_SIDECARS)
        if self.cpu_workers.cpu is not None or self.cpu_workers.memory_gib is not None:
            found += _fit_problems(f"{path}.cpu_workers", self.cpu_workers.instance_types, self.cpu_workers.cpu,
                                   self.cpu_workers.memory_gib, NO_SIDECARS)
        if not _DNS_1035.match(self.name) or len(self.name) > MAX_RAYSERVICE_NAME:
            found.append(f"{path}.name: {self.name!r} must be a DNS-1035 label of at most {MAX_RAYSERVICE_NAME} characters")
        if not _DNS_LABEL.match(self.namespace) or len(self.namespace) > 63:
            found.append(f"{path}.namespace: {self.namespace!r} is not a DNS label")
        if not _DIGEST_IMAGE.match(self.image):
            found.append(f"{path}.image: {self.image!r} must name the image by digest (registry/repository@sha256:<64 hex>)")
        if not re.fullmatch(r"\d+\.\d+\.\d+", self.ray_version):
            found.append(f"{path}.ray_version: {self.ray_version!r} is not a Ray version such as 2.60.0")
        if self.upgrade_strategy not in ("NewCluster", "None"):
            found.append(f"{path}.upgrade_strategy: must be 'NewCluster' or 'None' (NewClusterWithIncrementalUpgrade needs the Gateway API)")
        if self.autoscaler.idle_timeout_seconds < 0:
            found.append(f"{path}.autoscaler.idle_timeout_seconds: must be >= 0")
        if isinstance(self.serve_config, str) and not self.serve_config.strip():
            found.append(f"{path}.serve_config: the Serve config document is empty")
        for name in list(self.secret_env) + list(self.env):
            if not _ENV_NAME.match(name):
                found.append(f"{path}.secret_env: {name!r} is not an environment variable name")
        for name in sorted(set(self.secret_env) & set(self.env)):
            found.append(f"{path}.env: {name!r} is also a secret variable; set it in one place")
        too_old = self.kubernetes_version is not None and _version_tuple(self.kubernetes_version) < MIN_KUBERNETES_FOR_ENV_FILES
        if self.gcs is not None and too_old:
            found.append(
                f"{path}.gcs: the Redis token reaches the head through an env file (valueFrom.fileKeyRef), on by "
                f"default from Kubernetes 1.35; the cluster runs {self.kubernetes_version}: upgrade it, or turn GCS fault tolerance off"
            )
        if "REDIS_PASSWORD" in self.secret_env and self.gcs is not None:
            found.append(f"{path}.secret_env: REDIS_PASSWORD is the GCS Redis token's variable; use another name")
        if self.exposure is not None:
            found += self.exposure.problems(f"{path}.exposure")
        found += self.access.problems(f"{path}.access")
        if self.migrations is not None:
            found += self.migrations.problems(f"{path}.migrations")
        if self.model_copy is not None and not self.model_copy.prefix.endswith("/"):
            found.append(f"{path}.model_copy.prefix: must end with '/'")
        if self.ingestion is not None:
            found += self.ingestion.problems(f"{path}.ingestion")
        if self.controller_replicas < 1:
            found.append(f"{path}.controller_replicas: must be >= 1")
        if found:
            raise ValueError("invalid ServingPlaneArgs:\n  " + "\n  ".join(found))



NO_SIDECARS = sizing.Resources(cpu_m=0, memory_mib=0)
"""What a worker pod runs beside its Ray container: nothing. Its init containers (KubeRay's
``wait-gcs-ready``: 200m, 256Mi; the secrets writer) finish before the Ray container starts,
so the pod's effective request is the larger of the two, which is the Ray container's."""
