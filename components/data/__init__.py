"""The data plane of a region: :class:`VectorStore` (Aurora PostgreSQL with pgvector, or
OpenSearch Serverless; optionally an Aurora Global Database across regions), :class:`Cache`
(ElastiCache, plus the standalone Redis of KubeRay's GCS fault tolerance) and
:class:`DocumentStore` (S3). Each takes plain arguments of its own; the composition
(``stacks/platform.py``) fills them from the stack config and decides what an environment
means for them. :mod:`.common` holds what they share (placement, access, KMS keys, security
groups, bounded names) and :mod:`.versions` the pinned service versions."""

from components.data.cache import Cache, CacheArgs, GcsStoreArgs
from components.data.common import Access, Placement, bounded_name
from components.data.document_store import (
    DocumentEventsArgs,
    DocumentStore,
    DocumentStoreArgs,
    ReplicationTarget,
)
from components.data.vector_store import (
    AuroraArgs,
    GlobalPrimary,
    GlobalSecondary,
    OpenSearchArgs,
    VectorStore,
    VectorStoreArgs,
)

__all__ = [
    "Access",
    "AuroraArgs",
    "Cache",
    "CacheArgs",
    "DocumentEventsArgs",
    "DocumentStore",
    "DocumentStoreArgs",
    "GcsStoreArgs",
    "GlobalPrimary",
    "GlobalSecondary",
    "OpenSearchArgs",
    "Placement",
    "ReplicationTarget",
    "VectorStore",
    "VectorStoreArgs",
    "bounded_name",
]
