"""Vector store on PostgreSQL + pgvector: documents and their chunks, an HNSW index with
cosine distance, a full-text index next to it (hybrid retrieval), a connection pool, and
versioned schema migrations.

Migrations are numbered steps recorded in ``{prefix}_schema_migrations``; each runs once,
in order, under an advisory lock, so replicas starting together and databases at any earlier
version converge on the same schema. The same steps run on Aurora PostgreSQL, there from the
migrations job (``python -m serving.migrate``, which also creates the serving role), and the
serving pods, logged in as that role with IAM tokens, only check the schema version.

Ingestion is atomic per document (a failure leaves no partial document) and idempotent by
content hash: the same text again is a no-op; a known source with new text replaces its
chunks. A batch of documents is written in one transaction (one commit, one COPY), each
with its ingest progress record.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg_pool import ConnectionPool

from serving.stores.base import (
    ChunkIn,
    DocumentIn,
    ProgressRecord,
    SearchHit,
    SourceStats,
    StoreStats,
    StoreStatus,
    UpsertResult,
    VectorStoreError,
    check_dimensions,
    query_vector,
    reciprocal_rank_fusion,
)

__all__ = [
    "LATEST_SCHEMA_VERSION",
    "ChunkIn",
    "DocumentIn",
    "PgVectorStore",
    "ProgressRecord",
    "SearchHit",
    "SourceStats",
    "StoreStats",
    "StoreStatus",
    "UpsertResult",
    "VectorStoreError",
    "bm25_idf",
    "migrations",
    "reciprocal_rank_fusion",
]

log = logging.getLogger(__name__)

#: PostgreSQL text search configuration of the full-text index (stemmed English; tokens with
#: digits such as ``CMP0048`` are kept whole).
TEXT_SEARCH_CONFIG = "english"


def _tsvector_sql(column: str) -> str:
    """The full-text terms of ``column``: the words as the parser sees them, plus the parts
    of dotted and path-like names (``itertools.groupby`` is one token to the parser; a
    question naming ``groupby`` or ``itertools.groupby`` must match either way)."""
    cfg = f"'{TEXT_SEARCH_CONFIG}'::regconfig"
    return (
        f"(to_tsvector({cfg}, {column}) || "
        f"to_tsvector({cfg}, regexp_replace({column}, '[./:@]+', ' ', 'g')))"
    )

#: A query term found in more than this share of the chunks (and more than
#: ``COMMON_TERM_MIN_CHUNKS``) still scores, but does not bring in candidates by itself.
COMMON_TERM_FRACTION = 0.05
COMMON_TERM_MIN_CHUNKS = 100


#: The database role the serving pods log in as (``AuroraArgs.iam_db_user`` on AWS).
DEFAULT_SERVING_ROLE = "llmops_serving"

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class _Migration:
    version: int
    description: str
    statements: tuple[str, ...] = field(default_factory=tuple)


def migrations(
    prefix: str,
    dim: int,
    m: int = 16,
    ef_construction: int = 64,
    serving_role: str = DEFAULT_SERVING_ROLE,
) -> list[_Migration]:
    """The schema, as numbered steps (never edit a released step: add the next one)."""
    docs, chunks = f"{prefix}_documents", f"{prefix}_chunks"
    return [
        _Migration(
            1,
            "documents and chunks tables",
            (
                "CREATE EXTENSION IF NOT EXISTS vector",
                f"""CREATE TABLE IF NOT EXISTS {docs} (
                    id BIGSERIAL PRIMARY KEY,
                    source TEXT NOT NULL UNIQUE,
                    content_hash TEXT NOT NULL UNIQUE,
                    title TEXT,
                    metadata JSONB NOT NULL DEFAULT '{{}}'::jsonb,
                    chars INTEGER NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
                f"""CREATE TABLE IF NOT EXISTS {chunks} (
                    id BIGSERIAL PRIMARY KEY,
                    document_id BIGINT NOT NULL REFERENCES {docs}(id) ON DELETE CASCADE,
                    ord INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    embedding vector({dim}) NOT NULL,
                    UNIQUE (document_id, ord))""",
            ),
        ),
        _Migration(
            2,
            "HNSW cosine index on chunk embeddings",
            (
                f"""CREATE INDEX IF NOT EXISTS {chunks}_embedding_hnsw ON {chunks}
                    USING hnsw (embedding vector_cosine_ops)
                    WITH (m = {int(m)}, ef_construction = {int(ef_construction)})""",
            ),
        ),
        _Migration(
            3,
            "full-text search column and GIN index on chunks (hybrid retrieval)",
            (
                f"""ALTER TABLE {chunks} ADD COLUMN IF NOT EXISTS tsv tsvector
                    GENERATED ALWAYS AS {_tsvector_sql("text")} STORED""",
                f"CREATE INDEX IF NOT EXISTS {chunks}_tsv_gin ON {chunks} USING gin (tsv)",
            ),
        ),
        _Migration(
            4,
            "ingest progress: the file version each source was last read from",
            (
                f"""CREATE TABLE IF NOT EXISTS {prefix}_ingest_progress (
                    source TEXT PRIMARY KEY,
                    fingerprint TEXT NOT NULL,
                    content_hash TEXT NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
            ),
        ),
        _Migration(
            5,
            f"the serving role {serving_role}: IAM login, reads and writes this store's tables",
            _serving_role_sql(prefix, serving_role),
        ),
    ]


#: The schema version this code needs (the last migration).
LATEST_SCHEMA_VERSION = 5

def _serving_role_sql(prefix: str, role: str) -> tuple[str, ...]:
    """Create the login role the serving pods use (if missing) with exactly what they need:
    connect, read and write this store's tables and sequences, read the schema version; no
    DDL, no other tables. Where the ``rds_iam`` role exists (Aurora, RDS), the role is
    granted it, so it logs in with IAM authentication tokens only; elsewhere (a local or
    embedded PostgreSQL) the grant is skipped with a notice, which :meth:`PgVectorStore.migrate`
    logs."""
    if not _ROLE_NAME.match(role):
        raise VectorStoreError(
            f"serving role {role!r} is not a plain PostgreSQL name: use lowercase letters, "
            "digits and underscores (vector_store.serving_role)"
        )
    tables = ", ".join(
        f"{prefix}_{t}" for t in ("documents", "chunks", "ingest_progress")
    )
    return (
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} LOGIN;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
                GRANT rds_iam TO {role};
            ELSE
                RAISE NOTICE 'no rds_iam role here (not Aurora or RDS): {role} is created '
                    'without IAM authentication; on Aurora it logs in with IAM tokens only';
            END IF;
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO {role}', current_database());
            EXECUTE format('GRANT USAGE ON SCHEMA %I TO {role}', current_schema());
        END $$""",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {role}",
        f"GRANT SELECT ON {prefix}_schema_migrations TO {role}",
        f"GRANT USAGE, SELECT ON SEQUENCE {prefix}_documents_id_seq, {prefix}_chunks_id_seq TO {role}",
    )


def _log_notice(diag: psycopg.errors.Diagnostic) -> None:
    """Log what the server says besides results (a migration's ``RAISE NOTICE``, e.g. that
    the ``rds_iam`` grant was skipped)."""
    message = diag.message_primary or ""
    if "already exists, skipping" in message:  # IF NOT EXISTS doing its job
        log.debug("PostgreSQL: %s", message)
    elif message and diag.severity_nonlocalized in ("NOTICE", "WARNING"):
        log.warning("PostgreSQL: %s", message)


def bm25_idf(documents: int, frequency: int) -> float:
    """Okapi BM25's inverse document frequency (always positive)."""
    return math.log(1.0 + (documents - frequency + 0.5) / (frequency + 0.5))


class PgVectorStore:
    """Documents and chunks in PostgreSQL with pgvector.

    :param dsn: libpq connection string (without a password).
    :param dimensions: embedding size; checked against an existing table.
    :param table_prefix: tables are ``{prefix}_documents``, ``{prefix}_chunks`` and
        ``{prefix}_ingest_progress``.
    :param ef_search: HNSW search breadth (recall/latency trade-off), set per query.
    :param schema_version: migrate up to this version only (default: the latest); for
        testing upgrades from an earlier schema.
    :param connect_kwargs: called for each new connection, returns extra connection
        arguments (an RDS IAM token as the password: :class:`serving.aws_auth.RdsIamLogin`).
    :param migrate_on_start: apply pending migrations now; when False (the serving role on
        Aurora may not change the schema) only check that the schema is recent enough.
    :param serving_role: the login role the migrations create for the serving pods.
    """

    def __init__(
        self,
        dsn: str,
        dimensions: int,
        table_prefix: str = "llmops",
        pool_min_size: int = 1,
        pool_max_size: int = 4,
        connect_timeout_s: float = 10.0,
        statement_timeout_ms: int = 30_000,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        ef_search: int = 100,
        schema_version: int | None = None,
        connect_kwargs: Callable[[], dict[str, Any]] | None = None,
        migrate_on_start: bool = True,
        serving_role: str = DEFAULT_SERVING_ROLE,
    ) -> None:
        self.dimensions = dimensions
        self.serving_role = serving_role
        self.prefix = table_prefix
        self.ef_search = ef_search
        self._docs = sql.Identifier(f"{table_prefix}_documents")
        self._chunks = sql.Identifier(f"{table_prefix}_chunks")
        self._progress = sql.Identifier(f"{table_prefix}_ingest_progress")
        self._hnsw = (hnsw_m, hnsw_ef_construction)
        self._statement_timeout_ms = statement_timeout_ms
        self._dsn = dsn
        self._connect_kwargs = connect_kwargs
        timeout = int(max(1, connect_timeout_s))
        if migrate_on_start:
            self._ensure_extension(timeout)
        self.pool = ConnectionPool(
            dsn,
            min_size=pool_min_size,
            max_size=pool_max_size,
            kwargs=self._kwargs_for(timeout),
            configure=self._configure,
            open=False,
            name=f"{table_prefix}-vectorstore",
        )
        try:
            self.pool.open(wait=True, timeout=connect_timeout_s)
        except Exception as exc:
            self.pool.close()
            raise VectorStoreError(
                f"cannot connect to PostgreSQL ({type(exc).__name__}): check the DSN in "
                "vector_store.dsn_env and that the server is reachable"
            ) from None
        #: The migrations this store applied when it opened.
        self.applied: list[int] = []
        try:
            if migrate_on_start:
                self.applied = self.migrate(schema_version)
            else:
                self.check_schema()
        except Exception:
            self.pool.close()
            raise

    def _kwargs_for(self, timeout: int) -> dict[str, Any] | Callable[[], dict[str, Any]]:
        extra = self._connect_kwargs
        if extra is None:
            return {"connect_timeout": timeout}
        return lambda: {"connect_timeout": timeout, **extra()}

    def _connect(self, timeout: int) -> psycopg.Connection[Any]:
        extra = self._connect_kwargs() if self._connect_kwargs else {}
        return psycopg.connect(self._dsn, connect_timeout=timeout, autocommit=True, **extra)

    def _ensure_extension(self, timeout: int) -> None:
        # register_vector needs the type to exist, so create it before the pool configures
        # connections (CREATE EXTENSION is idempotent, and needs no migration lock).
        try:
            with self._connect(timeout) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        except psycopg.Error as exc:
            raise VectorStoreError(
                f"cannot prepare PostgreSQL ({type(exc).__name__}: {str(exc).strip()[:200]}): "
                "check vector_store.dsn_env and that the pgvector extension is installed"
            ) from None

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.add_notice_handler(_log_notice)
        register_vector(conn)
        conn.execute(f"SET statement_timeout = {int(self._statement_timeout_ms)}")
        conn.commit()

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    # ------------------------------------------------------------------ schema

    def migrate(self, target: int | None = None) -> list[int]:
        """Apply pending migrations (up to ``target``, default all) under an advisory lock
        (safe when several replicas start at once). Returns the versions applied now (empty
        when up to date)."""
        lock_id = zlib.crc32(f"llmops-migrate:{self.prefix}".encode())
        table = sql.Identifier(f"{self.prefix}_schema_migrations")
        applied_now: list[int] = []
        with self._tx() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (version INTEGER PRIMARY KEY, "
                    "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                ).format(table)
            )
            done = {r[0] for r in conn.execute(sql.SQL("SELECT version FROM {}").format(table))}
            self._check_dimensions(conn)
            conn.execute("SET LOCAL statement_timeout = 0")  # index builds take their time
            steps = migrations(self.prefix, self.dimensions, *self._hnsw, self.serving_role)
            for mig in steps:
                if mig.version in done or (target is not None and mig.version > target):
                    continue
                for stmt in mig.statements:
                    conn.execute(stmt)  # built from validated identifiers
                conn.execute(
                    sql.SQL("INSERT INTO {} (version, description) VALUES (%s, %s)").format(table),
                    (mig.version, mig.description),
                )
                applied_now.append(mig.version)
        if applied_now:
            log.info("vector store %s: applied migrations %s", self.prefix, applied_now)
        return applied_now

    def check_schema(self) -> int:
        """The schema version, checked to be at least :data:`LATEST_SCHEMA_VERSION` (and the
        embedding size to match); raises :class:`VectorStoreError` naming the fix."""
        try:
            version = self.schema_version()
        except psycopg.errors.UndefinedTable:
            version = 0
        except psycopg.Error as exc:
            raise VectorStoreError(
                f"cannot read the schema version of {self.prefix} ({type(exc).__name__}: "
                f"{str(exc).strip()[:200]}): the serving role needs SELECT on "
                f"{self.prefix}_schema_migrations; run the migrations (python -m serving.migrate)"
            ) from None
        if version < LATEST_SCHEMA_VERSION:
            raise VectorStoreError(
                f"the database schema of {self.prefix} is at version {version}, this code needs "
                f"{LATEST_SCHEMA_VERSION}: run the migrations job (python -m serving.migrate) "
                "before the serving pods, or set vector_store.migrate_on_start: true where the "
                "role may change the schema"
            )
        with self.pool.connection() as conn:
            self._check_dimensions(conn)
        return version

    def _check_dimensions(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = %s AND a.attname = 'embedding' AND c.relkind = 'r'",
            (f"{self.prefix}_chunks",),
        ).fetchone()
        if row is not None and row[0] != f"vector({self.dimensions})":
            raise VectorStoreError(
                f"table {self.prefix}_chunks stores {row[0]} but the embedding model gives "
                f"vector({self.dimensions}): use another vector_store.table_prefix for this "
                "model, or re-ingest into a fresh table"
            )

    def schema_version(self) -> int:
        """The highest applied migration."""
        table = sql.Identifier(f"{self.prefix}_schema_migrations")
        with self.pool.connection() as conn:
            row = conn.execute(sql.SQL("SELECT max(version) FROM {}").format(table)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # ------------------------------------------------------------------ writes

    def find_by_hash(self, content_hash: str) -> tuple[int, str] | None:
        """(document id, source) of a document with this content hash, if stored."""
        with self.pool.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT id, source FROM {} WHERE content_hash = %s").format(self._docs),
                (content_hash,),
            ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def progress(self, sources: Sequence[str]) -> dict[str, ProgressRecord]:
        """The ingest progress recorded for ``sources`` whose content is still stored (under
        the source itself or, for a duplicate, another one); sources without one are left
        out."""
        if not sources:
            return {}
        with self.pool.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT p.source, p.fingerprint, p.content_hash, d.id, d.source FROM {p} p "
                    "JOIN {d} d ON d.content_hash = p.content_hash WHERE p.source = ANY(%s)"
                ).format(p=self._progress, d=self._docs),
                (list(sources),),
            ).fetchall()
        return {
            str(r[0]): ProgressRecord(str(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]))
            for r in rows
        }

    def upsert_document(
        self,
        source: str,
        content_hash: str,
        chunks: Sequence[ChunkIn],
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        chars: int = 0,
    ) -> UpsertResult:
        """Store a document and its chunks in one transaction."""
        doc = DocumentIn(source, content_hash, chunks, title, metadata or {}, chars)
        (result,) = self.upsert_documents([doc])
        return result

    def upsert_documents(self, docs: Sequence[DocumentIn]) -> list[UpsertResult]:
        """Store documents and their chunks, and each one's ingest progress record, in one
        transaction: all or none. Each is ``created``, ``updated`` (new text under a known
        source; its chunks replaced), ``unchanged`` or ``duplicate`` (the text is stored
        under another source, or earlier in the same batch)."""
        for d in docs:
            check_dimensions(d.chunks, self.dimensions, d.source)
        sources = [d.source for d in docs]
        if len(set(sources)) != len(sources):
            raise VectorStoreError("a batch names a source twice; send one version per source")
        if not docs:
            return []
        with self._tx() as conn:
            # serialise writers of the same content/source, so concurrent identical ingests
            # cannot both insert (locks taken in one order: no deadlock between batches)
            keys = sorted({zlib.crc32(k.encode()) for d in docs for k in (d.content_hash, d.source)})
            for key in keys:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            hashes = sorted({d.content_hash for d in docs})
            by_hash = {
                str(r[2]): (int(r[0]), str(r[1]))
                for r in conn.execute(
                    sql.SQL("SELECT id, source, content_hash FROM {} WHERE content_hash = ANY(%s)").format(
                        self._docs
                    ),
                    (hashes,),
                )
            }
            by_source = {
                str(r[1]): int(r[0])
                for r in conn.execute(
                    sql.SQL("SELECT id, source FROM {} WHERE source = ANY(%s)").format(self._docs),
                    (sources,),
                )
            }
            counts = self._chunk_counts(conn, [i for i, _ in by_hash.values()])
            results: list[UpsertResult] = []
            rows: list[tuple[int, ChunkIn]] = []
            for d in docs:
                known = by_hash.get(d.content_hash)
                if known is not None:
                    status: StoreStatus = "unchanged" if known[1] == d.source else "duplicate"
                    results.append(
                        UpsertResult(known[0], known[1], status, counts.get(known[0], 0), d.content_hash)
                    )
                    continue
                meta = json.dumps(dict(d.metadata))
                existing = by_source.get(d.source)
                if existing is not None:
                    conn.execute(
                        sql.SQL("DELETE FROM {} WHERE document_id = %s").format(self._chunks),
                        (existing,),
                    )
                    conn.execute(
                        sql.SQL(
                            "UPDATE {} SET content_hash = %s, title = %s, metadata = %s, "
                            "chars = %s, updated_at = now() WHERE id = %s"
                        ).format(self._docs),
                        (d.content_hash, d.title, meta, d.chars, existing),
                    )
                    doc_id, status = existing, "updated"
                else:
                    row = conn.execute(
                        sql.SQL(
                            "INSERT INTO {} (source, content_hash, title, metadata, chars) "
                            "VALUES (%s, %s, %s, %s, %s) RETURNING id"
                        ).format(self._docs),
                        (d.source, d.content_hash, d.title, meta, d.chars),
                    ).fetchone()
                    assert row is not None
                    doc_id, status = int(row[0]), "created"
                by_hash[d.content_hash] = (doc_id, d.source)
                counts[doc_id] = len(d.chunks)
                rows.extend((doc_id, c) for c in d.chunks)
                results.append(UpsertResult(doc_id, d.source, status, len(d.chunks), d.content_hash))
            self._copy_chunks(conn, rows)
            recorded = [(d.source, d.fingerprint, d.content_hash) for d in docs if d.fingerprint]
            if recorded:
                conn.cursor().executemany(
                    sql.SQL(
                        "INSERT INTO {} (source, fingerprint, content_hash) VALUES (%s, %s, %s) "
                        "ON CONFLICT (source) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
                        "content_hash = EXCLUDED.content_hash, updated_at = now()"
                    ).format(self._progress),
                    recorded,
                )
        return results

    def _chunk_counts(self, conn: psycopg.Connection[Any], doc_ids: list[int]) -> dict[int, int]:
        if not doc_ids:
            return {}
        return {
            int(r[0]): int(r[1])
            for r in conn.execute(
                sql.SQL(
                    "SELECT document_id, count(*) FROM {} WHERE document_id = ANY(%s) "
                    "GROUP BY document_id"
                ).format(self._chunks),
                (doc_ids,),
            )
        }

    def _copy_chunks(self, conn: psycopg.Connection[Any], rows: Sequence[tuple[int, ChunkIn]]) -> None:
        if not rows:
            return
        with (
            conn.cursor() as cur,
            cur.copy(
                sql.SQL(
                    "COPY {} (document_id, ord, text, embedding) FROM STDIN WITH (FORMAT BINARY)"
                ).format(self._chunks)
            ) as copy,
        ):
            copy.set_types(["int8", "int4", "text", "vector"])
            for doc_id, c in rows:
                copy.write_row((doc_id, c.ord, c.text, np.asarray(c.embedding, dtype=np.float32)))

    def delete_document(self, source: str) -> bool:
        """Delete a document, its chunks and its ingest progress; True if it existed."""
        with self._tx() as conn:
            conn.execute(sql.SQL("DELETE FROM {} WHERE source = %s").format(self._progress), (source,))
            cur = conn.execute(
                sql.SQL("DELETE FROM {} WHERE source = %s").format(self._docs), (source,)
            )
            return cur.rowcount > 0

    def bulk_load(
        self, rows: Sequence[tuple[str, str, Sequence[ChunkIn]]], rebuild_index: bool = True
    ) -> float:
        """Load many ``(source, content_hash, chunks)`` documents fast: drops the HNSW index,
        COPYs everything, then rebuilds the index in one pass (much faster than indexing row
        by row); for backfills and benchmarks. Returns the seconds the index build took."""
        idx = sql.Identifier(f"{self.prefix}_chunks_embedding_hnsw")
        with self._tx() as conn:
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(idx))
            for source, digest, chunks in rows:
                row = conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (source, content_hash, chars) VALUES (%s, %s, 0) RETURNING id"
                    ).format(self._docs),
                    (source, digest),
                ).fetchone()
                assert row is not None
                self._copy_chunks(conn, [(int(row[0]), c) for c in chunks])
        return self.rebuild_index() if rebuild_index else 0.0

    def rebuild_index(self, maintenance_work_mem: str = "1GB") -> float:
        """(Re)create the HNSW index; returns the seconds it took."""
        idx = sql.Identifier(f"{self.prefix}_chunks_embedding_hnsw")
        m, efc = self._hnsw
        t0 = time.perf_counter()
        with self._tx() as conn:
            conn.execute(
                sql.SQL("SET LOCAL maintenance_work_mem = {}").format(
                    sql.Literal(maintenance_work_mem)
                )
            )
            conn.execute("SET LOCAL statement_timeout = 0")
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(idx))
            conn.execute(
                sql.SQL(
                    "CREATE INDEX {} ON {} USING hnsw (embedding vector_cosine_ops) "
                    "WITH (m = {}, ef_construction = {})"
                ).format(idx, self._chunks, sql.Literal(m), sql.Literal(efc))
            )
        return time.perf_counter() - t0

    # ------------------------------------------------------------------- reads

    def _vector_ids(
        self, conn: psycopg.Connection[Any], vec: np.ndarray, limit: int, exact: bool, ef: int
    ) -> list[int]:
        if exact:
            conn.execute("SET LOCAL enable_indexscan = off")
        else:
            conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef)))
        rows = conn.execute(
            sql.SQL("SELECT id FROM {} ORDER BY embedding <=> %s LIMIT %s").format(self._chunks),
            (vec, limit),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def _text_ids(self, conn: psycopg.Connection[Any], query: str, limit: int) -> list[int]:
        """Chunks matching any term of ``query``, ranked by the BM25 weights (inverse document
        frequency) of the terms each contains, then by term density (``ts_rank_cd``).

        PostgreSQL's own ranking has no notion of how rare a term is, so a chunk repeating
        a common word would outrank the one chunk naming ``CMP0048``; weighting each query
        term by its IDF (counted on the GIN index) fixes that."""
        terms = conn.execute(
            sql.SQL(
                "SELECT t.lexeme, (SELECT count(*) FROM {c} WHERE tsv @@ quote_literal(t.lexeme)::tsquery) "
                "FROM (SELECT %(q)s::text AS q) AS input, "
                "unnest(tsvector_to_array(" + _tsvector_sql("input.q") + ")) AS t(lexeme)"
            ).format(c=self._chunks),
            {"q": query},
        ).fetchall()
        terms = [(str(t), int(df)) for t, df in terms if int(df) > 0]
        if not terms:
            return []
        total_row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._chunks)).fetchone()
        total = int(total_row[0]) if total_row else 0
        weighted = [(t, bm25_idf(total, df)) for t, df in terms]
        # Candidates come from the rarer terms when there are any: chunks that match only
        # words found everywhere would rank last anyway, and there are many of them.
        rare_limit = max(COMMON_TERM_MIN_CHUNKS, COMMON_TERM_FRACTION * total)
        rare = [(t, w) for (t, w), (_, df) in zip(weighted, terms, strict=True) if df <= rare_limit]
        score = sql.SQL(" + ").join(
            sql.SQL("(CASE WHEN tsv @@ {q}::tsquery THEN {w} ELSE 0 END)").format(
                q=sql.Literal(_quote_lexeme(t)),
                w=sql.Literal(round(w, 6)),
            )
            for t, w in weighted
        )
        any_term = " | ".join(_quote_lexeme(t) for t, _ in (rare or weighted))
        rows = conn.execute(
            sql.SQL(
                "SELECT id FROM {c}, CAST(%(q)s AS tsquery) AS q WHERE tsv @@ q "
                "ORDER BY {score} DESC, ts_rank_cd(tsv, q, 32) DESC, id LIMIT %(k)s"
            ).format(c=self._chunks, score=score),
            {"q": any_term, "k": limit},
        ).fetchall()
        return [int(r[0]) for r in rows]

    def _hits(
        self,
        conn: psycopg.Connection[Any],
        vec: np.ndarray,
        ranked: Sequence[tuple[int, float, tuple[str, ...]]],
    ) -> list[SearchHit]:
        if not ranked:
            return []
        ids = [i for i, _, _ in ranked]
        rows = conn.execute(
            sql.SQL(
                "SELECT c.id, c.document_id, d.source, d.title, c.text, 1 - (c.embedding <=> %s) "
                "FROM {c} c JOIN {d} d ON d.id = c.document_id WHERE c.id = ANY(%s)"
            ).format(c=self._chunks, d=self._docs),
            (vec, ids),
        ).fetchall()
        by_id = {int(r[0]): r for r in rows}
        out = []
        for i, fused, matched in ranked:
            r = by_id.get(i)
            if r is not None:  # a chunk deleted between the queries is simply left out
                out.append(
                    SearchHit(
                        int(r[0]), int(r[1]), str(r[2]), r[3], str(r[4]), float(r[5]), fused, matched
                    )
                )
        return out

    def _query_vector(self, embedding: Sequence[float] | np.ndarray) -> np.ndarray:
        return query_vector(embedding, self.dimensions)

    def search(
        self,
        embedding: Sequence[float] | np.ndarray,
        top_k: int = 4,
        exact: bool = False,
        ef_search: int | None = None,
    ) -> list[SearchHit]:
        """The ``top_k`` chunks nearest to ``embedding`` by cosine distance. ``exact=True``
        scans every row (ground truth for recall measurements)."""
        vec = self._query_vector(embedding)
        ef = max(ef_search or self.ef_search, top_k)
        with self._tx() as conn:
            ids = self._vector_ids(conn, vec, top_k, exact, ef)
            ranked = [(i, 0.0, ("vector",)) for i in ids]
            return sorted(self._hits(conn, vec, ranked), key=lambda h: -h.score)

    def text_search(self, query: str, top_k: int = 4) -> list[int]:
        """Ids of the ``top_k`` chunks best matching ``query`` by full-text search."""
        with self._tx() as conn:
            return self._text_ids(conn, query, top_k)

    def hybrid_search(
        self,
        embedding: Sequence[float] | np.ndarray,
        query: str,
        top_k: int = 4,
        candidates: int = 40,
        rrf_k: float = 10.0,
        text_weight: float = 1.0,
        ef_search: int | None = None,
    ) -> list[SearchHit]:
        """Vector search and full-text search, ``candidates`` chunks each, fused by
        reciprocal rank (:func:`reciprocal_rank_fusion`); the ``top_k`` best, each with its
        cosine similarity, fused score and the rankings that found it."""
        vec = self._query_vector(embedding)
        n = max(candidates, top_k)
        ef = max(ef_search or self.ef_search, n)
        with self._tx() as conn:
            by_vector = self._vector_ids(conn, vec, n, False, ef)
            by_text = self._text_ids(conn, query, n) if query.strip() else []
            fused = reciprocal_rank_fusion(
                {"vector": by_vector, "text": by_text},
                k=rrf_k,
                weights={"vector": 1.0, "text": text_weight},
            )
            return self._hits(conn, vec, fused[:top_k])

    def stats(self, per_source: bool = False) -> StoreStats:
        """Document and chunk counts, and (``per_source``) one row per stored source."""
        with self.pool.connection() as conn:
            d = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._docs)).fetchone()
            c = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._chunks)).fetchone()
            rows: list[Any] = []
            if per_source:
                rows = conn.execute(
                    sql.SQL(
                        "SELECT d.source, d.id, count(c.id), d.chars, d.title, d.updated_at "
                        "FROM {d} d LEFT JOIN {c} c ON c.document_id = d.id "
                        "GROUP BY d.id ORDER BY d.source"
                    ).format(d=self._docs, c=self._chunks)
                ).fetchall()
        return StoreStats(
            documents=int(d[0]) if d else 0,
            chunks=int(c[0]) if c else 0,
            sources=tuple(
                SourceStats(str(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5].isoformat())
                for r in rows
            ),
        )

    def ping(self) -> bool:
        """Whether the database answers."""
        with self.pool.connection(timeout=2.0) as conn:
            conn.execute("SELECT 1")
        return True


def _quote_lexeme(lexeme: str) -> str:
    """A lexeme as a tsquery operand (quoted, so ``os.o_nofollow`` stays one term)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
