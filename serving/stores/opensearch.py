"""Vector store on OpenSearch Serverless (a ``VECTORSEARCH`` collection) or an OpenSearch
domain, over its REST API with SigV4-signed requests (:class:`serving.aws_auth.SigV4Auth`).

Three indexes per ``prefix``:

- ``{prefix}-chunks``: one document per chunk: text (English analyzer, for full-text
  search), embedding (``knn_vector``, HNSW on Faiss, cosine), source, content hash, order;
- ``{prefix}-documents``: one record per stored document version (source, content hash,
  title, metadata, counts): the commit marker of its chunks;
- ``{prefix}-ingest``: the ingest progress record of each source (the file version read).

OpenSearch has no transactions, and vector search collections assign document ids
themselves, so a write is ordered to be safe at every step: the new version's chunks first,
then its document record, then the old version's record and chunks are deleted. Reads keep
only chunks whose (source, content hash) has a document record, so a write interrupted
halfway is never visible, and a retry first deletes what an interrupted write of the same
content left behind. Search is eventually consistent (new documents become searchable within
seconds on Serverless); hits are deduplicated by chunk.

Scores are cosine similarities computed from the returned vectors, so they mean the same
as PostgreSQL's whatever the engine's score formula; hybrid search runs a k-NN query and a
``match`` query and fuses them by reciprocal rank, as the PostgreSQL store does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import numpy as np

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

#: Version of the index layout (stored in each index's ``_meta``).
SCHEMA_VERSION = 1

#: Hits per page when listing documents (OpenSearch's default result window is 10,000).
PAGE = 1000

_SOURCE_FIELDS = [
    "source",
    "content_hash",
    "document_id",
    "chunk_id",
    "ord",
    "title",
    "text",
    "embedding",
]


def stable_id(*parts: str) -> int:
    """A stable positive 60-bit id from ``parts`` (document and chunk ids)."""
    return int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:15], 16)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class OpenSearchStore:
    """Documents and chunks in OpenSearch (see the module docstring).

    :param endpoint: the collection endpoint (``https://<id>.<region>.aoss.amazonaws.com``).
    :param dimensions: embedding size; checked against an existing chunks index.
    :param prefix: index names start with it.
    :param auth: signs requests (:class:`serving.aws_auth.SigV4Auth`); None for none.
    """

    def __init__(
        self,
        endpoint: str,
        dimensions: int,
        prefix: str = "llmops",
        auth: httpx.Auth | None = None,
        timeout_s: float = 10.0,
        verify_tls: bool = True,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        create_indexes: bool = True,
    ) -> None:
        self.dimensions = dimensions
        self.prefix = prefix.replace("_", "-")
        self.chunks_index = f"{self.prefix}-chunks"
        self.docs_index = f"{self.prefix}-documents"
        self.ingest_index = f"{self.prefix}-ingest"
        self._hnsw = (hnsw_m, hnsw_ef_construction)
        self.http = httpx.Client(
            base_url=endpoint.rstrip("/"),
            auth=auth,
            timeout=timeout_s,
            verify=verify_tls,
            headers={"Content-Type": "application/json"},
        )
        try:
            if create_indexes:
                self.create_indexes()
            self.check_schema()
        except Exception:
            self.http.close()
            raise

    # ---------------------------------------------------------------- transport

    def _request(self, method: str, path: str, body: Any = None, ndjson: str | None = None) -> Any:
        content: bytes | None = None
        headers = {}
        if ndjson is not None:
            content = ndjson.encode()
            headers["Content-Type"] = "application/x-ndjson"
        elif body is not None:
            content = json.dumps(body).encode()
        try:
            r = self.http.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise VectorStoreError(
                f"cannot reach OpenSearch at {self.http.base_url} ({type(exc).__name__}): check "
                "vector_store.opensearch.endpoint_env and the VPC endpoint"
            ) from None
        if r.status_code in (401, 403):
            raise VectorStoreError(
                f"OpenSearch refused {method} {path} (HTTP {r.status_code}): the role needs a data "
                "access policy on the collection and aoss:APIAccessAll"
            )
        if method == "HEAD":
            return r.status_code == 200
        try:
            data = r.json()
        except ValueError:
            data = {"error": r.text[:300]}
        if r.status_code >= 400:
            raise VectorStoreError(
                f"OpenSearch {method} {path}: HTTP {r.status_code}: {_reason(data)}"
            )
        return data

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def ping(self) -> bool:
        """Whether the collection answers."""
        self._request("POST", f"/{self.docs_index}/_count", {"query": {"match_all": {}}})
        return True

    # ------------------------------------------------------------------- schema

    def _mappings(self) -> dict[str, dict[str, Any]]:
        m, efc = self._hnsw
        meta = {"llmops_schema_version": SCHEMA_VERSION}
        return {
            self.chunks_index: {
                "settings": {"index": {"knn": True}},
                "mappings": {
                    "_meta": {**meta, "dimensions": self.dimensions},
                    "properties": {
                        "source": {"type": "keyword"},
                        "content_hash": {"type": "keyword"},
                        "document_id": {"type": "long"},
                        "chunk_id": {"type": "long"},
                        "ord": {"type": "integer"},
                        "title": {"type": "keyword"},
                        "text": {"type": "text", "analyzer": "english"},
                        "embedding": {
                            "type": "knn_vector",
                            "dimension": self.dimensions,
                            "method": {
                                "name": "hnsw",
                                "engine": "faiss",
                                "space_type": "cosinesimil",
                                "parameters": {"m": m, "ef_construction": efc},
                            },
                        },
                    },
                },
            },
            self.docs_index: {
                "mappings": {
                    "_meta": meta,
                    "properties": {
                        "source": {"type": "keyword"},
                        "content_hash": {"type": "keyword"},
                        "document_id": {"type": "long"},
                        "title": {"type": "keyword"},
                        "metadata": {"type": "object", "enabled": False},
                        "chars": {"type": "long"},
                        "chunks": {"type": "integer"},
                        "updated_at": {"type": "date"},
                    },
                }
            },
            self.ingest_index: {
                "mappings": {
                    "_meta": meta,
                    "properties": {
                        "source": {"type": "keyword"},
                        "fingerprint": {"type": "keyword"},
                        "content_hash": {"type": "keyword"},
                        "updated_at": {"type": "date"},
                    },
                }
            },
        }

    def create_indexes(self) -> list[str]:
        """Create the missing indexes (the serving role may create indexes in its
        collection); returns the ones created now."""
        created = []
        for name, body in self._mappings().items():
            if self._request("HEAD", f"/{name}"):
                continue
            try:
                self._request("PUT", f"/{name}", body)
            except VectorStoreError as exc:
                if "resource_already_exists" not in str(exc):  # another replica was first
                    raise
            created.append(name)
        return created

    def check_schema(self) -> int:
        """The index layout version; refuses a chunks index of another embedding size."""
        data: dict[str, Any] = self._request("GET", f"/{self.chunks_index}/_mapping")
        first: dict[str, Any] = next(iter(data.values()), {})
        mapping: dict[str, Any] = first.get("mappings", {})
        dims = mapping.get("properties", {}).get("embedding", {}).get("dimension")
        if dims is not None and int(dims) != self.dimensions:
            raise VectorStoreError(
                f"index {self.chunks_index} stores {dims}-dimensional vectors but the embedding "
                f"model gives {self.dimensions}: use another vector_store.table_prefix for this "
                "model, or re-ingest into fresh indexes"
            )
        return int(mapping.get("_meta", {}).get("llmops_schema_version", SCHEMA_VERSION))

    def schema_version(self) -> int:
        return self.check_schema()

    # -------------------------------------------------------------------- reads

    def _search(self, index: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        data = self._request("POST", f"/{index}/_search", body)
        return [h for h in data.get("hits", {}).get("hits", [])]

    def _scan(self, index: str, query: dict[str, Any], sort_field: str) -> Iterator[dict[str, Any]]:
        """Every hit of ``query``, a page at a time (``search_after`` on ``sort_field``)."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {"size": PAGE, "query": query, "sort": [{sort_field: "asc"}]}
            if after is not None:
                body["search_after"] = after
            hits = self._search(index, body)
            yield from hits
            if len(hits) < PAGE:
                return
            after = hits[-1].get("sort")

    def _docs_by(self, field: str, values: Sequence[str]) -> list[dict[str, Any]]:
        if not values:
            return []
        return [
            h["_source"]
            for h in self._scan(self.docs_index, {"terms": {field: list(values)}}, "source")
        ]

    def find_by_hash(self, content_hash: str) -> tuple[int, str] | None:
        """(document id, source) of a document with this content hash, if stored."""
        found = self._docs_by("content_hash", [content_hash])
        return (int(found[0]["document_id"]), str(found[0]["source"])) if found else None

    def progress(self, sources: Sequence[str]) -> dict[str, ProgressRecord]:
        """The ingest progress recorded for ``sources`` whose content is still stored."""
        if not sources:
            return {}
        records = [
            h["_source"]
            for h in self._scan(self.ingest_index, {"terms": {"source": list(sources)}}, "source")
        ]
        stored = {
            d["content_hash"]: d
            for d in self._docs_by("content_hash", [r["content_hash"] for r in records])
        }
        out: dict[str, ProgressRecord] = {}
        for r in records:
            d = stored.get(r["content_hash"])
            if d is not None:
                out[r["source"]] = ProgressRecord(
                    r["source"],
                    r["fingerprint"],
                    r["content_hash"],
                    int(d["document_id"]),
                    d["source"],
                )
        return out

    def _committed(self, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The chunk hits whose document version is committed, one per chunk, in order."""
        sources = [h["_source"] for h in hits]
        stored = {
            (d["source"], d["content_hash"])
            for d in self._docs_by("content_hash", sorted({s["content_hash"] for s in sources}))
        }
        seen: set[int] = set()
        out = []
        for s in sources:
            if (s["source"], s["content_hash"]) in stored and s["chunk_id"] not in seen:
                seen.add(s["chunk_id"])
                out.append(s)
        return out

    def _knn(self, vec: np.ndarray, k: int, exact: bool) -> list[dict[str, Any]]:
        if exact:
            query: dict[str, Any] = {
                "script_score": {
                    "query": {"match_all": {}},
                    "script": {
                        "source": "knn_score",
                        "lang": "knn",
                        "params": {
                            "field": "embedding",
                            "query_value": vec.tolist(),
                            "space_type": "cosinesimil",
                        },
                    },
                }
            }
        else:
            query = {"knn": {"embedding": {"vector": vec.tolist(), "k": k}}}
        return self._committed(
            self._search(self.chunks_index, {"size": k, "query": query, "_source": _SOURCE_FIELDS})
        )

    def _match(self, text: str, k: int) -> list[dict[str, Any]]:
        if not text.strip():
            return []
        body = {"size": k, "query": {"match": {"text": {"query": text}}}, "_source": _SOURCE_FIELDS}
        return self._committed(self._search(self.chunks_index, body))

    @staticmethod
    def _hit(
        s: dict[str, Any],
        vec: np.ndarray,
        fused: float = 0.0,
        matched: tuple[str, ...] = ("vector",),
    ) -> SearchHit:
        emb = np.asarray(s.get("embedding") or [], dtype=np.float32)
        norm = float(np.linalg.norm(emb) * np.linalg.norm(vec))
        score = float(emb @ vec) / norm if norm > 0 and emb.shape == vec.shape else 0.0
        return SearchHit(
            int(s["chunk_id"]),
            int(s["document_id"]),
            str(s["source"]),
            s.get("title"),
            str(s["text"]),
            score,
            fused,
            matched,
        )

    def search(
        self,
        embedding: Sequence[float] | np.ndarray,
        top_k: int = 4,
        exact: bool = False,
        ef_search: int | None = None,
    ) -> list[SearchHit]:
        """The ``top_k`` chunks nearest to ``embedding`` by cosine similarity (``exact``:
        a scan of every chunk instead of the HNSW graph)."""
        vec = query_vector(embedding, self.dimensions)
        hits = [self._hit(s, vec) for s in self._knn(vec, top_k, exact)]
        return sorted(hits, key=lambda h: -h.score)[:top_k]

    def text_search(self, query: str, top_k: int = 4) -> list[int]:
        """Ids of the ``top_k`` chunks best matching ``query`` (BM25)."""
        return [int(s["chunk_id"]) for s in self._match(query, top_k)]

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
        """k-NN and full-text search, ``candidates`` chunks each, fused by reciprocal rank."""
        vec = query_vector(embedding, self.dimensions)
        n = max(candidates, top_k)
        by_vector = self._knn(vec, n, False)
        by_text = self._match(query, n)
        rows = {int(s["chunk_id"]): s for s in [*by_vector, *by_text]}
        fused = reciprocal_rank_fusion(
            {
                "vector": [int(s["chunk_id"]) for s in by_vector],
                "text": [int(s["chunk_id"]) for s in by_text],
            },
            k=rrf_k,
            weights={"vector": 1.0, "text": text_weight},
        )
        return [self._hit(rows[i], vec, score, matched) for i, score, matched in fused[:top_k]]

    def _count(self, index: str, query: dict[str, Any] | None = None) -> int:
        data = self._request("POST", f"/{index}/_count", {"query": query or {"match_all": {}}})
        return int(data.get("count", 0))

    def stats(self, per_source: bool = False) -> StoreStats:
        """Document and chunk counts, and (``per_source``) one row per stored source."""
        rows: tuple[SourceStats, ...] = ()
        if per_source:
            rows = tuple(
                SourceStats(
                    str(d["source"]),
                    int(d["document_id"]),
                    int(d.get("chunks", 0)),
                    int(d.get("chars", 0)),
                    d.get("title"),
                    str(d.get("updated_at", "")),
                )
                for d in (
                    h["_source"] for h in self._scan(self.docs_index, {"match_all": {}}, "source")
                )
            )
        return StoreStats(self._count(self.docs_index), self._count(self.chunks_index), rows)

    # ------------------------------------------------------------------- writes

    def _bulk(self, index: str, docs: Sequence[dict[str, Any]]) -> None:
        if not docs:
            return
        lines = []
        for d in docs:
            lines.append(json.dumps({"index": {"_index": index}}))
            lines.append(json.dumps(d))
        data = self._request("POST", "/_bulk", ndjson="\n".join(lines) + "\n")
        if data.get("errors"):
            failed = [i for i in data.get("items", []) if next(iter(i.values())).get("error")]
            first = next(iter(failed[0].values())) if failed else {}
            raise VectorStoreError(
                f"OpenSearch refused {len(failed)} of {len(docs)} writes to {index}: {_reason(first)}"
            )

    def _delete(self, index: str, query: dict[str, Any]) -> int:
        data = self._request(
            "POST", f"/{index}/_delete_by_query?conflicts=proceed", {"query": query}
        )
        return int(data.get("deleted", 0))

    def upsert_document(
        self,
        source: str,
        content_hash: str,
        chunks: Sequence[ChunkIn],
        title: str | None = None,
        metadata: dict[str, Any] | None = None,
        chars: int = 0,
    ) -> UpsertResult:
        """Store a document and its chunks (see the module docstring for the write order)."""
        (result,) = self.upsert_documents(
            [DocumentIn(source, content_hash, chunks, title, metadata or {}, chars)]
        )
        return result

    def upsert_documents(self, docs: Sequence[DocumentIn]) -> list[UpsertResult]:
        """Store documents, their chunks and progress records: new chunks, then document
        records, then what the new versions replace, then the progress records."""
        for d in docs:
            check_dimensions(d.chunks, self.dimensions, d.source)
        sources = [d.source for d in docs]
        if len(set(sources)) != len(sources):
            raise VectorStoreError("a batch names a source twice; send one version per source")
        if not docs:
            return []
        known = {
            r["content_hash"]: r
            for r in self._docs_by("content_hash", sorted({d.content_hash for d in docs}))
        }
        results: list[UpsertResult] = []
        new: list[DocumentIn] = []
        for d in docs:
            k = known.get(d.content_hash)
            if k is not None:
                status: StoreStatus = "unchanged" if k["source"] == d.source else "duplicate"
                results.append(
                    UpsertResult(
                        int(k["document_id"]),
                        k["source"],
                        status,
                        int(k.get("chunks", 0)),
                        d.content_hash,
                    )
                )
                continue
            known[d.content_hash] = {
                "source": d.source,
                "document_id": stable_id(d.source),
                "chunks": len(d.chunks),
            }
            new.append(d)
            results.append(
                UpsertResult(
                    stable_id(d.source), d.source, "created", len(d.chunks), d.content_hash
                )
            )
        if new:
            existing = {r["source"] for r in self._docs_by("source", [d.source for d in new])}
            hashes = [d.content_hash for d in new]
            self._delete(
                self.chunks_index, {"terms": {"content_hash": hashes}}
            )  # an interrupted write's leftovers
            self._bulk(self.chunks_index, [self._chunk_doc(d, c) for d in new for c in d.chunks])
            now = _now()
            self._bulk(
                self.docs_index,
                [
                    {
                        "source": d.source,
                        "content_hash": d.content_hash,
                        "document_id": stable_id(d.source),
                        "title": d.title,
                        "metadata": dict(d.metadata),
                        "chars": d.chars,
                        "chunks": len(d.chunks),
                        "updated_at": now,
                    }
                    for d in new
                ],
            )
            replaced = sorted(existing)
            if replaced:
                old = {
                    "bool": {
                        "filter": [{"terms": {"source": replaced}}],
                        "must_not": [{"terms": {"content_hash": hashes}}],
                    }
                }
                self._delete(self.docs_index, old)
                self._delete(self.chunks_index, old)
                results = [
                    UpsertResult(r.document_id, r.source, "updated", r.chunks, r.content_hash)
                    if r.status == "created" and r.source in existing
                    else r
                    for r in results
                ]
        recorded = [d for d in docs if d.fingerprint]
        if recorded:
            self._delete(self.ingest_index, {"terms": {"source": [d.source for d in recorded]}})
            self._bulk(
                self.ingest_index,
                [
                    {
                        "source": d.source,
                        "fingerprint": d.fingerprint,
                        "content_hash": d.content_hash,
                        "updated_at": _now(),
                    }
                    for d in recorded
                ],
            )
        return results

    def _chunk_doc(self, d: DocumentIn, c: ChunkIn) -> dict[str, Any]:
        return {
            "source": d.source,
            "content_hash": d.content_hash,
            "document_id": stable_id(d.source),
            "chunk_id": stable_id(d.content_hash, str(c.ord)),
            "ord": c.ord,
            "title": d.title,
            "text": c.text,
            "embedding": np.asarray(c.embedding, dtype=np.float32).tolist(),
        }

    def delete_document(self, source: str) -> bool:
        """Delete a document, its chunks and its ingest progress; True if it existed."""
        query = {"term": {"source": source}}
        self._delete(self.ingest_index, query)
        deleted = self._delete(self.docs_index, query)
        self._delete(self.chunks_index, query)
        return deleted > 0


def _reason(data: Any) -> str:
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("reason") or err.get("type") or err)[:300]
        return str(err)[:300]
    return str(data)[:300]


def from_config(
    cfg: Any, dimensions: int, hnsw_m: int = 16, hnsw_ef_construction: int = 64
) -> OpenSearchStore:
    """The store a serve config's ``vector_store`` (engine ``opensearch``) names."""
    from serving.aws_auth import SigV4Auth

    os_cfg = cfg.opensearch
    endpoint = os_cfg.endpoint or os.environ.get(os_cfg.endpoint_env, "")
    if not endpoint:
        raise VectorStoreError(
            f"OpenSearch endpoint missing: set the environment variable {os_cfg.endpoint_env} or "
            "vector_store.opensearch.endpoint"
        )
    region = os_cfg.region or os.environ.get("AWS_REGION") or _region_of(endpoint)
    if not region:
        raise VectorStoreError(
            "OpenSearch region unknown: set vector_store.opensearch.region or AWS_REGION"
        )
    return OpenSearchStore(
        endpoint,
        dimensions,
        cfg.table_prefix,
        SigV4Auth(os_cfg.service, region),
        os_cfg.timeout_s,
        os_cfg.verify_tls,
        hnsw_m,
        hnsw_ef_construction,
    )


def _region_of(endpoint: str) -> str | None:
    import re

    m = re.search(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.(?:aoss|es)\.amazonaws\.com", endpoint)
    return m.group(1) if m else None
