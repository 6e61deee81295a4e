"""Serving benchmark on this machine (CPU): run with ``python benchmarks/serving.py``.

Measures, in one run, on the real stack (Ray Serve, MiniLM, embedded PostgreSQL + pgvector,
Redis when ``redis-server`` is installed):

1. embeddings throughput through Serve (the batched ``Embedder`` deployment, via its handle
   and via ``POST /v1/embeddings``) vs the same model called directly (target >= 0.8x);
2. ingest throughput (``POST /v1/documents``: chunk, embed, upsert) vs raw embedding
   throughput of the same chunks (target >= 0.8x);
3. retrieval p50/p99 latency and recall@10 of the HNSW index against exact search on
   100k chunks (target p50 <= 20 ms, recall >= 0.95);
4. RAG latency (``POST /v1/chat/completions`` with retrieval) on a cache miss vs a hit;
5. retrieval quality on real documentation (the standard library's ``help()`` texts and
   language reference that ship with Python, about 6,000 chunks; ``serving_corpus.py``):
   hit@1 and hit@4 of vector-only vs hybrid search on a hand-written, labelled query set
   (``serving_queries.py``), with median latency;
6. semantic-cache false hits on hand-written near-miss question pairs ("run X" / "do not
   run X") with embedding similarity alone vs with the lexical check, and hits kept on
   paraphrase pairs.

Throughputs are medians of ``--repeats`` runs; ratios divide medians from this run.
``--quick`` shrinks every size (retrieval on 20k chunks) for a fast smoke run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

sys.path.append(str(Path(__file__).resolve().parent))  # serving_corpus, serving_queries

WORDS = [
    "ray",
    "serve",
    "replica",
    "deployment",
    "autoscaling",
    "gpu",
    "cluster",
    "kubernetes",
    "vector",
    "index",
    "cosine",
    "postgres",
    "cache",
    "redis",
    "latency",
    "throughput",
    "token",
    "model",
    "prompt",
    "retrieval",
    "embedding",
    "batch",
    "request",
    "region",
    "budget",
    "alert",
    "policy",
    "stack",
    "release",
    "canary",
    "traffic",
    "split",
    "upstream",
]


def sentences(n: int, words: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=words)) + "." for _ in range(n)]


def rate(fn: Callable[[], int]) -> float:
    """Items/second of one call of ``fn`` (which returns the items it processed)."""
    t0 = time.perf_counter()
    n = fn()
    return n / (time.perf_counter() - t0)


def interleaved(fns: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """Median rate of each function, running them in turn ``repeats`` times so that load from
    elsewhere on the machine affects all of them alike (the ratios stay fair)."""
    rates: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            rates[k].append(rate(fn))
    return {k: statistics.median(v) for k, v in rates.items()}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def start_redis() -> tuple[subprocess.Popen[bytes] | None, str | None]:
    exe = shutil.which("redis-server")
    if exe is None:
        return None, None
    from serving.local import free_port, redis_answers

    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if redis_answers(url, 0.2):
            return proc, url
        time.sleep(0.05)
    proc.terminate()
    return None, None


def ingest_docs(tag: str, docs: int) -> list[dict[str, str]]:
    """``docs`` Markdown documents of six 40-word paragraphs each."""
    paras = sentences(docs * 6, 40, seed=sum(map(ord, tag)))
    return [
        {"source": f"{tag}/doc-{i}.md", "text": "\n\n".join(paras[i * 6 : i * 6 + 6])}
        for i in range(docs)
    ]


def serve_workloads(
    stack: Any, app_name: str, model: Any, texts: list[str], chunk_texts: list[str], docs: int
) -> dict[str, Callable[[], int]]:
    """The measured workloads: direct calls of the model in this process, the same through
    Serve (handle and HTTP), raw embedding of chunks, and ingestion through the API."""
    from ray import serve

    from serving.embeddings import encode

    headers = {"Authorization": f"Bearer {stack.api_key}"}
    reqs = [texts[i : i + 32] for i in range(0, len(texts), 32)]
    handle = serve.get_deployment_handle("Embedder", app_name=app_name)

    def direct() -> int:
        return len(encode(model, texts, batch_size=64))

    def raw_chunks() -> int:
        return len(encode(model, chunk_texts, batch_size=64))

    def via_handle() -> int:
        window, pending = 8, []
        for t in reqs:
            pending.append(handle.embed.remote(t))
            if len(pending) >= window:
                pending.pop(0).result()
        for r in pending:
            r.result()
        return len(texts)

    def via_http() -> int:
        def post(t: list[str]) -> None:
            r = httpx.post(
                f"{stack.url}/v1/embeddings", json={"input": t}, headers=headers, timeout=120
            )
            r.raise_for_status()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(post, reqs))
        return len(texts)

    run_id = [0]

    def ingest() -> int:
        run_id[0] += 1
        batch = ingest_docs(f"run{run_id[0]}", docs)  # fresh documents: nothing is skipped
        groups = [batch[i : i + 16] for i in range(0, len(batch), 16)]

        def post(g: list[dict[str, str]]) -> int:
            r = httpx.post(
                f"{stack.url}/v1/documents", json={"documents": g}, headers=headers, timeout=600
            )
            r.raise_for_status()
            return int(r.json()["chunks_written"])

        with ThreadPoolExecutor(4) as pool:
            return sum(pool.map(post, groups))

    # warm every path up once
    encode(model, texts[:64])
    for r in [handle.embed.remote(t) for t in reqs[:4]]:
        r.result()
    via_http()
    ingest()
    return {
        "direct": direct,
        "handle": via_handle,
        "http": via_http,
        "raw": raw_chunks,
        "ingest": ingest,
    }


def clustered_vectors(n: int, dim: int, clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors drawn around ``clusters`` random centres (an embedding-like distribution)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, clusters, size=n)
    x = centres[labels] + rng.normal(scale=0.06, size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), centres


def bench_retrieval(dsn: str, n: int, queries: int, dim: int = 384) -> dict[str, float]:
    from serving.vectorstore import ChunkIn, PgVectorStore

    store = PgVectorStore(dsn, dim, table_prefix=f"bench{n}", pool_max_size=2)
    vecs, _ = clustered_vectors(n, dim, clusters=max(50, n // 100), seed=7)
    per_doc = 1000
    rows = [
        (
            f"doc-{d}",
            f"hash-{n}-{d}",
            [
                ChunkIn(i - d * per_doc, f"c{i}", vecs[i])
                for i in range(d * per_doc, min(n, (d + 1) * per_doc))
            ],
        )
        for d in range((n + per_doc - 1) // per_doc)
    ]
    t0 = time.perf_counter()
    index_s = store.bulk_load(rows)
    load_s = time.perf_counter() - t0 - index_s
    rng = np.random.default_rng(99)
    qv = vecs[rng.integers(0, n, size=queries)] + rng.normal(
        scale=0.05, size=(queries, dim)
    ).astype(np.float32)
    qv /= np.linalg.norm(qv, axis=1, keepdims=True)
    for q in qv[:20]:
        store.search(q, 10)  # warm the index into shared buffers
    lat, recalls = [], []
    for q in qv:
        t = time.perf_counter()
        hits = store.search(q, 10)
        lat.append((time.perf_counter() - t) * 1000)
        exact = set(np.argsort(-(vecs @ q))[:10].tolist())
        got = {int(h.text[1:]) for h in hits}
        recalls.append(len(got & exact) / 10)
    # the SQL exact path agrees with the numpy ground truth
    sql_exact = {int(h.text[1:]) for h in store.search(qv[0], 10, exact=True)}
    assert sql_exact == set(np.argsort(-(vecs @ qv[0]))[:10].tolist())
    store.close()
    return {
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "recall": float(np.mean(recalls)),
        "load_s": load_s,
        "index_s": index_s,
    }


def corpus_store(dsn: str, model: Any, model_id: str) -> tuple[Any, int]:
    """The documentation corpus, run through the ingest stages (read, chunk, embed, store)
    into its own tables. Embeddings are cached between runs (minutes on a laptop CPU)."""
    from serving_corpus import cached_embeddings, stdlib_documents

    from serving.config import RAGConfig
    from serving.embeddings import encode
    from serving.ingest import attach_vectors, chunk_document, chunk_texts, make_document
    from serving.vectorstore import ChunkIn, PgVectorStore

    rag = RAGConfig()
    docs = [
        chunk_document(make_document(src, text), rag.chunk_size_chars, rag.chunk_overlap_chars)
        for src, text in stdlib_documents()
    ]
    texts = chunk_texts(docs)
    vecs = cached_embeddings(texts, model_id, lambda ts: encode(model, ts, batch_size=64))
    store = PgVectorStore(dsn, vecs.shape[1], table_prefix="pydocs", pool_max_size=2)
    rows = [
        (
            e.chunked.document.source,
            e.chunked.document.content_hash,
            [ChunkIn(c.index, c.text, v) for c, v in zip(e.chunked.chunks, e.vectors, strict=True)],
        )
        for e in attach_vectors(docs, vecs)
    ]
    store.bulk_load(rows)
    return store, len(texts)


def _hit(query: Any, hits: list[Any], k: int) -> bool:
    return any(
        h.source in query.sources and (query.term is None or query.term.lower() in h.text.lower())
        for h in hits[:k]
    )


def bench_retrieval_quality(store: Any, model: Any) -> dict[str, dict[str, float]]:
    """hit@1 / hit@4 (all, plain-word and identifier queries) and median latency of
    vector-only and hybrid search, with the serve config's default hybrid settings."""
    from serving_queries import QUERIES

    from serving.config import RAGConfig
    from serving.embeddings import encode
    from serving.retrieval import RetrievalSettings

    settings = RetrievalSettings.from_config(RAGConfig())
    qv = encode(model, [q.text for q in QUERIES])
    modes: dict[str, Callable[[Any, np.ndarray], list[Any]]] = {
        "vector": lambda q, v: store.search(v, 4),
        "hybrid": lambda q, v: store.hybrid_search(
            v, q.text, 4, settings.candidates, settings.rrf_k, settings.text_weight_for(q.text)
        ),
    }
    out: dict[str, dict[str, float]] = {}
    for name, search in modes.items():
        for q, v in zip(QUERIES[:5], qv[:5], strict=True):
            search(q, v)  # warm up
        lat, hits = [], []
        for q, v in zip(QUERIES, qv, strict=True):
            t = time.perf_counter()
            found = search(q, v)
            lat.append((time.perf_counter() - t) * 1000)
            hits.append((q.term is not None, _hit(q, found, 1), _hit(q, found, 4)))
        res: dict[str, float] = {"p50_ms": statistics.median(lat)}
        for group, keep in (("all", lambda t: True), ("plain", lambda t: not t), ("ident", bool)):
            sel = [h for h in hits if keep(h[0])]
            res[f"{group}_n"] = len(sel)
            res[f"{group}_hit1"] = sum(h[1] for h in sel) / len(sel)
            res[f"{group}_hit4"] = sum(h[2] for h in sel) / len(sel)
        out[name] = res
    return out


def bench_cache_guard(model: Any, threshold: float) -> dict[str, float]:
    """Near-miss pairs answered from the cache (false hits) and paraphrase pairs (true
    hits) at the similarity threshold, by similarity alone and with the lexical check."""
    from serving_queries import NEAR_MISS, PARAPHRASES

    from serving.embeddings import encode
    from serving.questions import same_question

    def rates(pairs: list[tuple[str, str]]) -> tuple[float, float, float]:
        a = encode(model, [p[0] for p in pairs])
        b = encode(model, [p[1] for p in pairs])
        sims = (a * b).sum(axis=1)
        similar = [bool(s >= threshold) for s in sims]
        checked = [ok and same_question(x, y) for ok, (x, y) in zip(similar, pairs, strict=True)]
        return sum(similar) / len(pairs), sum(checked) / len(pairs), float(np.median(sims))

    fa, fb, fs = rates(NEAR_MISS)
    ta, tb, ts = rates(PARAPHRASES)
    return {
        "near_miss_n": len(NEAR_MISS),
        "false_hits_similarity": fa,
        "false_hits_checked": fb,
        "near_miss_median_sim": fs,
        "paraphrase_n": len(PARAPHRASES),
        "true_hits_similarity": ta,
        "true_hits_checked": tb,
        "paraphrase_median_sim": ts,
    }


def bench_rag(stack: Any, questions: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    miss, hit = [], []
    with httpx.Client(base_url=stack.url, headers=headers, timeout=300) as c:
        c.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "warm up"}], "cache": False},
        )
        for i in range(questions):
            body = {
                "model": "tiny",
                "max_tokens": 32,
                "messages": [
                    {
                        "role": "user",
                        "content": f"Question {i}: how does the {WORDS[i % len(WORDS)]} work?",
                    }
                ],
            }
            t = time.perf_counter()
            r1 = c.post("/v1/chat/completions", json=body)
            miss.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            r2 = c.post("/v1/chat/completions", json=body)
            hit.append((time.perf_counter() - t) * 1000)
            assert (
                r1.json()["llmops"]["cache"] == "miss" and r2.json()["llmops"]["cache"] == "exact"
            ), (r1.text, r2.text)
    return {"miss_ms": statistics.median(miss), "hit_ms": statistics.median(hit)}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes (retrieval on 20k chunks)")
    ap.add_argument(
        "--retrieval-chunks",
        type=int,
        default=None,
        help="chunks in the retrieval benchmark (default 100000)",
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["embeddings", "ingest", "retrieval", "rag", "quality", "cache-guard"],
    )
    args = ap.parse_args()
    n_embed = 512 if args.quick else 2048
    n_docs = 32 if args.quick else 96
    n_chunks = args.retrieval_chunks or (20_000 if args.quick else 100_000)
    n_queries = 100 if args.quick else 200
    threads = os.cpu_count() or 2

    from serving.chunking import chunk_text
    from serving.config import AppConfig, EmbeddingsConfig, ModelConfig, RAGConfig
    from serving.embeddings import load_embedding_model
    from serving.local import (
        LocalPaths,
        free_port,
        local_app_config,
        start_local,
        start_postgres,
        stop_local,
    )
    from serving.tiny_model import build_tiny_llm

    rag_defaults = RAGConfig()
    home = Path(tempfile.mkdtemp(prefix="llmops-bench-"))
    paths = LocalPaths(home)
    redis_proc, redis_url = start_redis()
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    print(
        f"machine: {threads} CPUs; torch threads {threads}; redis: {'yes' if redis_url else 'no (in-process cache)'}"
    )
    pg = None
    try:
        pg = start_postgres(paths.pgdata)
        dsn = pg.dsn
        results: dict[str, dict[str, float]] = {}
        if "retrieval" not in args.skip:
            print(
                f"retrieval: loading {n_chunks} chunks and building the HNSW index ...", flush=True
            )
            results["retrieval"] = bench_retrieval(dsn, n_chunks, n_queries)
        model = load_embedding_model(EmbeddingsConfig(num_threads=threads))
        if "quality" not in args.skip:
            print("retrieval quality: documentation corpus through the ingest stages ...", flush=True)
            corpus, n_corpus = corpus_store(dsn, model, EmbeddingsConfig().model_id)
            results["quality"] = bench_retrieval_quality(corpus, model)  # type: ignore[assignment]
            results["quality"]["corpus"] = {"chunks": n_corpus}  # type: ignore[index]
            corpus.close()
        if "cache-guard" not in args.skip:
            results["cache_guard"] = bench_cache_guard(model, AppConfig().cache.similarity_threshold)
        texts = sentences(n_embed, 24, seed=1)
        chunk_texts = [
            c.text
            for d in ingest_docs("raw", n_docs)
            for c in chunk_text(
                d["text"], rag_defaults.chunk_size_chars, rag_defaults.chunk_overlap_chars
            )
        ]
        from serving.embeddings import encode

        encode(model, texts[:64])  # warm up
        print("direct baselines before Ray starts ...", flush=True)
        quiet = interleaved(
            {
                "direct": lambda: len(encode(model, texts, batch_size=64)),
                "raw": lambda: len(encode(model, chunk_texts, batch_size=64)),
            },
            max(1, args.repeats // 2),
        )
        tiny = build_tiny_llm(home / "tiny-llm")
        base = local_app_config(
            paths,
            dsn,
            redis_url,
            models=[
                ModelConfig.model_validate(
                    {
                        "name": "tiny",
                        "backends": [
                            {
                                "kind": "transformers",
                                "model_id": str(tiny),
                                "max_new_tokens": 32,
                                "num_threads": threads,
                            }
                        ],
                        "deployment": {"resources": {"num_cpus": 0.1}},
                    }
                )
            ],
        )
        data = base.model_dump(mode="json")
        data["embeddings"].update(num_threads=threads, max_batch_size=16)
        data["embeddings"]["deployment"].update(max_ongoing_requests=64, resources={"num_cpus": 1})
        data["auth"]["default_rate_limit_per_minute"] = 1_000_000
        cfg = AppConfig.model_validate(data)
        print("starting Ray Serve ...", flush=True)
        stack = start_local(cfg, paths, port=free_port(), num_cpus=threads)
        try:
            work = serve_workloads(stack, cfg.name, model, texts, chunk_texts, n_docs)
            if "embeddings" in args.skip:
                work = {k: v for k, v in work.items() if k in ("raw", "ingest")}
            if "ingest" in args.skip:
                work = {k: v for k, v in work.items() if k not in ("raw", "ingest")}
            print(
                f"throughput: {args.repeats} interleaved rounds of {', '.join(work)} ...",
                flush=True,
            )
            rates = interleaved(work, args.repeats)
            if "direct" in rates:
                results["embeddings"] = {k: rates[k] for k in ("direct", "handle", "http")}
                results["embeddings"]["quiet"] = quiet["direct"]
            if "raw" in rates:
                results["ingest"] = {
                    "raw": rates["raw"],
                    "ingest": rates["ingest"],
                    "chunks_per_doc": len(chunk_texts) / n_docs,
                    "quiet": quiet["raw"],
                }
            if "rag" not in args.skip:
                results["rag"] = bench_rag(stack, 10 if args.quick else 20)
        finally:
            stop_local(paths)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
        if pg is not None:
            pg.stop()
        shutil.rmtree(home, ignore_errors=True)

    print("\n== serving benchmark (medians; ratios from this run) ==")
    if "embeddings" in results:
        e = results["embeddings"]
        print(
            f"embeddings direct, in turn with Serve  {e['direct']:8.1f} texts/s  ({n_embed} texts, 24 words)"
        )
        print(f"embeddings direct, before Ray started  {e['quiet']:8.1f} texts/s")
        for label, key in (("Serve handle", "handle"), ("HTTP API    ", "http")):
            print(
                f"embeddings via {label}             {e[key]:8.1f} texts/s  ratio "
                f"{e[key] / e['direct']:.2f}x vs direct in turn, {e[key] / e['quiet']:.2f}x vs before Ray "
                "(target >= 0.80)"
            )
    if "ingest" in results:
        g = results["ingest"]
        print(f"raw chunk embedding, in turn           {g['raw']:8.1f} chunks/s")
        print(f"raw chunk embedding, before Ray        {g['quiet']:8.1f} chunks/s")
        print(
            f"ingest (chunk+embed+upsert) via API    {g['ingest']:8.1f} chunks/s  ratio "
            f"{g['ingest'] / g['raw']:.2f}x vs raw in turn, {g['ingest'] / g['quiet']:.2f}x vs before Ray "
            f"(target >= 0.80; {n_docs} docs, {g['chunks_per_doc']:.1f} chunks/doc)"
        )
    if "retrieval" in results:
        r = results["retrieval"]
        print(
            f"retrieval on {n_chunks} chunks: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms (target p50 <= 20), recall@10 {r['recall']:.3f} (target >= 0.95); load {r['load_s']:.1f}s, HNSW build {r['index_s']:.1f}s"
        )
    if "quality" in results:
        qr: Any = results["quality"]
        print(
            f"retrieval quality on {qr['corpus']['chunks']} chunks of Python's own documentation, "
            f"{int(qr['vector']['all_n'])} hand-written queries ({int(qr['vector']['plain_n'])} "
            f"in plain words, {int(qr['vector']['ident_n'])} naming an identifier):"
        )
        for mode in ("vector", "hybrid"):
            m = qr[mode]
            print(
                f"  {mode:<6} hit@1 {m['all_hit1']:.3f}  hit@4 {m['all_hit4']:.3f}  "
                f"(plain {m['plain_hit1']:.2f}/{m['plain_hit4']:.2f}, identifiers "
                f"{m['ident_hit1']:.2f}/{m['ident_hit4']:.2f})  p50 {m['p50_ms']:.1f} ms"
            )
    if "cache_guard" in results:
        g = results["cache_guard"]
        print(
            f"semantic cache at similarity >= {AppConfig().cache.similarity_threshold}: "
            f"false hits on {int(g['near_miss_n'])} near-miss pairs {g['false_hits_similarity']:.1%} "
            f"by similarity alone, {g['false_hits_checked']:.1%} with the lexical check "
            f"(median similarity {g['near_miss_median_sim']:.3f}); hits kept on "
            f"{int(g['paraphrase_n'])} paraphrase pairs {g['true_hits_similarity']:.1%} -> "
            f"{g['true_hits_checked']:.1%} (median similarity {g['paraphrase_median_sim']:.3f})"
        )
    if "rag" in results:
        a = results["rag"]
        print(
            f"RAG latency: cache miss {a['miss_ms']:.1f} ms, cache hit {a['hit_ms']:.1f} ms ({a['miss_ms'] / a['hit_ms']:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
