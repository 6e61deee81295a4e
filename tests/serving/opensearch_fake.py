"""A fake of the OpenSearch Serverless REST API, on 127.0.0.1, for the store tests (no engine
runs here). It implements what :class:`serving.stores.opensearch.OpenSearchStore` uses, the
way OpenSearch answers it:

- ``PUT /<index>`` (mappings with ``knn_vector`` fields), ``HEAD /<index>``,
  ``GET /<index>/_mapping``;
- ``POST /_bulk`` (``index`` actions; ids assigned by the server, as vector search
  collections do; per-item errors for a vector of the wrong size);
- ``POST /<index>/_search`` with ``match_all``, ``term``, ``terms``, ``bool`` (``filter``,
  ``must``, ``must_not``), ``knn`` (cosine), ``match`` (BM25 over an English-like analysis),
  ``script_score`` with ``knn_score``; ``size``, ``sort``, ``search_after``, ``_source``;
- ``POST /<index>/_count``, ``POST /<index>/_delete_by_query``.

Every request must carry a valid SigV4 signature for the service ``aoss`` with the fake's
credentials (recomputed with botocore), as the real endpoint demands. ``fail_next_bulk``
makes the next bulk write to an index fail (to test interrupted writes).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np

ACCESS_KEY = "AKIAFAKEOPENSEARCH01"
SECRET_KEY = "fake-secret-key-for-the-opensearch-fake"
REGION = "us-east-1"

_STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    )
)


def analyze(text: str) -> list[str]:
    """Lowercased word tokens without English stop words, plural 's' stripped (a rough
    stand-in for the ``english`` analyzer)."""
    out = []
    for w in re.findall(r"\w+", text.lower()):
        if w in _STOP:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


class _Index:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.docs: dict[str, dict[str, Any]] = {}
        props = body.get("mappings", {}).get("properties", {})
        self.vectors = {
            k: int(v["dimension"]) for k, v in props.items() if v.get("type") == "knn_vector"
        }
        self.texts = {k for k, v in props.items() if v.get("type") == "text"}


class FakeOpenSearch:
    """The fake server; ``endpoint`` is its base URL, ``requests`` counts calls by path kind."""

    def __init__(self) -> None:
        self.indexes: dict[str, _Index] = {}
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.fail_next_bulk: str | None = None
        self.unsigned: list[str] = []
        self._ids = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: Any = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not outer.verify(self.command, self.path, dict(self.headers.items()), raw):
                    outer.unsigned.append(f"{self.command} {self.path}")
                    return self._reply(
                        403, {"message": "The request signature we calculated does not match"}
                    )
                try:
                    status, body = outer.route(self.command, self.path, raw)
                except _Error as exc:
                    status, body = (
                        exc.status,
                        {"error": {"type": exc.kind, "reason": str(exc)}, "status": exc.status},
                    )
                self._reply(status, body)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -------------------------------------------------------------------- signing

    def verify(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bool:
        """Recompute the SigV4 signature of the request with the fake's secret."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        lower = {k.lower(): v for k, v in headers.items()}
        auth = lower.get("authorization", "")
        m = re.match(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$",
            auth,
        )
        if m is None or m.group(1) != ACCESS_KEY or m.group(4) != "aoss" or m.group(3) != REGION:
            return False
        import hashlib

        if lower.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            return False
        signed = m.group(5).split(";")
        req = AWSRequest(
            method=method,
            url=f"http://{lower.get('host', '')}{path}",
            data=body,
            headers={h: lower[h] for h in signed if h in lower},
        )
        req.context["timestamp"] = lower.get("x-amz-date", "")
        signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "aoss", REGION)
        canonical = signer.canonical_request(req)
        expected = signer.signature(signer.string_to_sign(req, canonical), req)
        return bool(expected == m.group(6))

    # -------------------------------------------------------------------- routing

    def route(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        url = urlsplit(path)
        parts = [p for p in url.path.split("/") if p]
        params = dict(parse_qsl(url.query))
        with self.lock:
            if parts == ["_bulk"] and method in ("POST", "PUT"):
                self.requests["bulk"] += 1
                return 200, self._bulk(raw.decode())
            if len(parts) == 1:
                name = parts[0]
                if method == "HEAD":
                    return (200 if name in self.indexes else 404), None
                if method == "PUT":
                    if name in self.indexes:
                        raise _Error(
                            400,
                            "resource_already_exists_exception",
                            f"index [{name}] already exists",
                        )
                    self.indexes[name] = _Index(json.loads(raw or b"{}"))
                    return 200, {"acknowledged": True, "index": name}
            if len(parts) == 2:
                index = self._index(parts[0])
                body = json.loads(raw or b"{}")
                op = parts[1]
                self.requests[op] += 1
                if op == "_mapping" and method == "GET":
                    return 200, {parts[0]: {"mappings": index.body.get("mappings", {})}}
                if op == "_search":
                    return 200, self._search(index, body)
                if op == "_count":
                    return 200, {
                        "count": len(self._matching(index, body.get("query", {"match_all": {}})))
                    }
                if op == "_delete_by_query":
                    if params.get("conflicts") not in (None, "proceed", "abort"):
                        raise _Error(400, "illegal_argument_exception", "bad conflicts")
                    hits = self._matching(index, body.get("query", {}))
                    for doc_id, _ in hits:
                        del index.docs[doc_id]
                    return 200, {"deleted": len(hits), "failures": []}
            raise _Error(400, "illegal_argument_exception", f"no handler for {method} {url.path}")

    def _index(self, name: str) -> _Index:
        if name not in self.indexes:
            raise _Error(404, "index_not_found_exception", f"no such index [{name}]")
        return self.indexes[name]

    def _bulk(self, text: str) -> dict[str, Any]:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        items = []
        errors = False
        for action_line, doc_line in zip(lines[::2], lines[1::2], strict=True):
            action = json.loads(action_line)
            ((kind, meta),) = action.items()
            if kind not in ("index", "create"):
                raise _Error(400, "illegal_argument_exception", f"unsupported bulk action {kind}")
            if "_id" in meta:
                raise _Error(
                    400,
                    "illegal_argument_exception",
                    "Document ID is not supported in create/index operation request",
                )
            name = meta["_index"]
            doc = json.loads(doc_line)
            error = None
            if self.fail_next_bulk == name:
                error = {"type": "fake_failure", "reason": "injected failure"}
            elif name not in self.indexes:
                error = {"type": "index_not_found_exception", "reason": f"no such index [{name}]"}
            else:
                for field, dims in self.indexes[name].vectors.items():
                    if field in doc and len(doc[field]) != dims:
                        error = {
                            "type": "mapper_parsing_exception",
                            "reason": f"Vector dimension mismatch. Expected: {dims}, Given: {len(doc[field])}",
                        }
            if error is not None:
                errors = True
                items.append({kind: {"_index": name, "status": 400, "error": error}})
                continue
            self._ids += 1
            doc_id = f"fake{self._ids:08d}"
            self.indexes[name].docs[doc_id] = doc
            items.append(
                {kind: {"_index": name, "_id": doc_id, "status": 201, "result": "created"}}
            )
        if errors:
            self.fail_next_bulk = None
        return {"took": 1, "errors": errors, "items": items}

    # -------------------------------------------------------------------- queries

    def _matches(self, index: _Index, doc: dict[str, Any], query: dict[str, Any]) -> bool:
        ((kind, spec),) = query.items()
        if kind == "match_all":
            return True
        if kind == "term":
            ((field, value),) = spec.items()
            value = value.get("value") if isinstance(value, dict) else value
            return bool(doc.get(field) == value)
        if kind == "terms":
            ((field, values),) = spec.items()
            return doc.get(field) in values
        if kind == "bool":
            musts = [*spec.get("filter", []), *spec.get("must", [])]
            musts = musts if isinstance(musts, list) else [musts]
            nots = spec.get("must_not", [])
            nots = nots if isinstance(nots, list) else [nots]
            return all(self._matches(index, doc, q) for q in musts) and not any(
                self._matches(index, doc, q) for q in nots
            )
        if kind == "match":
            ((field, value),) = spec.items()
            terms = set(analyze(value.get("query", "") if isinstance(value, dict) else value))
            return bool(terms & set(analyze(str(doc.get(field, "")))))
        if kind in ("knn", "script_score"):
            return True
        raise _Error(400, "parsing_exception", f"unknown query [{kind}]")

    def _matching(self, index: _Index, query: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        return [(i, d) for i, d in index.docs.items() if self._matches(index, d, query)]

    def _score(
        self, index: _Index, query: dict[str, Any], hits: list[tuple[str, dict[str, Any]]]
    ) -> list[float]:
        ((kind, spec),) = query.items()
        if kind == "knn":
            ((field, params),) = spec.items()
            return [
                _cosine_score(d.get(field), params["vector"], index.vectors[field]) for _, d in hits
            ]
        if kind == "script_score":
            p = spec["script"]["params"]
            if spec["script"].get("source") != "knn_score" or p.get("space_type") != "cosinesimil":
                raise _Error(400, "script_exception", "only knn_score with cosinesimil is faked")
            return [
                1.0
                + 2.0
                * (
                    _cosine_score(d.get(p["field"]), p["query_value"], index.vectors[p["field"]])
                    - 0.5
                )
                for _, d in hits
            ]
        if kind == "match":
            ((field, value),) = spec.items()
            return self._bm25(
                index, field, value.get("query", "") if isinstance(value, dict) else value, hits
            )
        return [1.0] * len(hits)

    def _bm25(
        self, index: _Index, field: str, text: str, hits: list[tuple[str, dict[str, Any]]]
    ) -> list[float]:
        terms = analyze(text)
        docs = [analyze(str(d.get(field, ""))) for d in index.docs.values()]
        n = len(docs)
        avg = sum(len(t) for t in docs) / max(n, 1)
        df = {t: sum(1 for d in docs if t in d) for t in set(terms)}
        out = []
        for _, d in hits:
            tokens = analyze(str(d.get(field, "")))
            tf = Counter(tokens)
            score = 0.0
            for t in set(terms):
                if tf[t]:
                    idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                    score += (
                        idf
                        * tf[t]
                        * 2.2
                        / (tf[t] + 1.2 * (0.25 + 0.75 * len(tokens) / max(avg, 1e-9)))
                    )
            out.append(score)
        return out

    def _search(self, index: _Index, body: dict[str, Any]) -> dict[str, Any]:
        query = body.get("query", {"match_all": {}})
        hits = self._matching(index, query)
        size = int(body.get("size", 10))
        sort = body.get("sort")
        if sort:
            ((field, order),) = sort[0].items()
            hits.sort(key=lambda h: h[1].get(field), reverse=order == "desc")
            after = body.get("search_after")
            if after is not None:
                hits = [h for h in hits if h[1].get(field) > after[0]]
            ranked = [(h, None) for h in hits]
        else:
            scores = self._score(index, query, hits)
            order_ = sorted(range(len(hits)), key=lambda i: -scores[i])
            if "knn" in query:
                ((_, params),) = query["knn"].items()
                order_ = order_[: int(params.get("k", size))]
            ranked = [(hits[i], scores[i]) for i in order_]
        out = []
        for (doc_id, doc), score in ranked[:size]:
            hit: dict[str, Any] = {
                "_index": "",
                "_id": doc_id,
                "_score": score,
                "_source": _filter(doc, body.get("_source")),
            }
            if sort:
                hit["sort"] = [doc.get(next(iter(sort[0])))]
            out.append(hit)
        return {
            "took": 1,
            "timed_out": False,
            "hits": {"total": {"value": len(ranked), "relation": "eq"}, "hits": out},
        }


def _cosine_score(stored: Any, query: Any, dims: int) -> float:
    a = np.asarray(stored or [0.0] * dims, dtype=np.float64)
    b = np.asarray(query, dtype=np.float64)
    if b.shape != (dims,):
        raise _Error(
            400,
            "illegal_argument_exception",
            f"Query vector has invalid dimension: {b.shape[0]}. Dimension should be: {dims}",
        )
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    cos = float(a @ b) / norm if norm else 0.0
    return (2.0 - (1.0 - cos)) / 2.0  # OpenSearch's cosinesimil score


def _filter(doc: dict[str, Any], spec: Any) -> dict[str, Any]:
    if spec is None or spec is True:
        return dict(doc)
    if isinstance(spec, list):
        return {k: v for k, v in doc.items() if k in spec}
    if isinstance(spec, dict) and "excludes" in spec:
        return {k: v for k, v in doc.items() if k not in spec["excludes"]}
    return dict(doc)


class _Error(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
