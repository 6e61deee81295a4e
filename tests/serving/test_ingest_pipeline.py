"""The Ray Data ingest pipeline for real, on a local Ray, into embedded PostgreSQL +
pgvector: thousands of small generated documents from disk and from S3 (moto in server
mode), re-runs that add nothing, a run killed with SIGKILL halfway and restarted, bad files
skipped with reasons. The feature-hashing embedder stands in for the model (what is tested
is the pipeline, not the model); one test runs the real MiniLM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from serving.chunking import chunk_text
from serving.config import VectorStoreConfig
from serving.ingest.embedders import HashingSpec
from serving.ingest.pipeline import (
    MIN_EMBED_CPUS,
    IngestError,
    PipelineSettings,
    StoreSpec,
    check_resources,
    connect_ray,
    fit_embed_cpus,
    run_pipeline,
)
from serving.ingest.sources import Location
from tests.support import DriverMemory

DIMS = 32
SETTINGS = PipelineSettings(
    chunk_size=200,
    chunk_overlap=20,
    embed_batch_docs=200,
    write_batch_docs=200,
    embed_cpus=0.5,
    io_cpus=0.1,
    list_shards=2,
    stall_timeout_s=120,
)
WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")


def doc_text(i: int) -> str:
    words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(30 + i % 40))
    return f"# Document {i}\n\nNumber {i}. {words}\n"


def expected_chunks(n: int) -> int:
    return sum(
        len(chunk_text(doc_text(i), SETTINGS.chunk_size, SETTINGS.chunk_overlap)) for i in range(n)
    )


def write_corpus(root: Path, n: int) -> None:
    for i in range(n):
        folder = root / f"part{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"doc{i:05d}.md").write_text(doc_text(i), encoding="utf-8")


def write_bad_files(root: Path) -> None:
    (root / "bad").mkdir(parents=True, exist_ok=True)
    (root / "bad" / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (root / "bad" / "empty.md").write_bytes(b"")
    (root / "bad" / "latin1.txt").write_bytes("caf\xe9 cr\xe8me br\xfbl\xe9e".encode("latin-1"))
    with open(root / "bad" / "huge.md", "wb") as fh:  # 50 MB, sparse: cheap to make
        fh.truncate(50 * 1024 * 1024)


def counts(dsn: str, prefix: str) -> tuple[int, int, int]:
    with psycopg.connect(dsn) as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(f"SELECT count(*) FROM {prefix}_{t}").fetchone()[0])  # type: ignore[index]
            for t in ("documents", "chunks", "ingest_progress")
        )


@pytest.fixture(scope="module")
def ray_session() -> Iterator[str]:
    """A local Ray for this module (shut down after it: the app fixture starts its own Ray
    with the environment its replicas need)."""
    import ray

    started = not ray.is_initialized()
    connect_ray(num_cpus=2)
    yield str(ray.get_runtime_context().gcs_address)
    if started:
        ray.shutdown()


def store_spec(dsn: str, prefix: str) -> StoreSpec:
    return StoreSpec(VectorStoreConfig(dsn=dsn, table_prefix=prefix), DIMS)


def test_from_disk_bad_files_skipped_and_a_rerun_adds_nothing(
    ray_session: str, pg_dsn: str, tmp_path: Path
) -> None:
    n = 2000
    write_corpus(tmp_path, n)
    write_bad_files(tmp_path)
    spec = store_spec(pg_dsn, "ing_disk")
    location = Location.parse(str(tmp_path))
    first = run_pipeline(location, spec, HashingSpec(DIMS), SETTINGS)
    assert first.counts() == {"created": n, "skipped": 4}
    assert {s.source: s.code for s in first.skipped} == {
        "bad/binary.txt": "binary",
        "bad/empty.md": "empty",
        "bad/latin1.txt": "not_utf8",
        "bad/huge.md": "too_large",
    }
    assert all(s.reason for s in first.skipped)
    chunks = expected_chunks(n)
    assert counts(pg_dsn, "ing_disk") == (n, chunks, n) and first.chunks_written == chunks
    again = run_pipeline(location, spec, HashingSpec(DIMS), SETTINGS)
    assert again.counts() == {"unchanged": n, "skipped": 4} and again.chunks_written == 0
    assert counts(pg_dsn, "ing_disk") == (n, chunks, n)
    # one file changes, one is a copy of another: only they are read again
    (tmp_path / "part3" / "doc00003.md").write_text(doc_text(3) + "\nA new paragraph.\n")
    (tmp_path / "copy.md").write_text(doc_text(7))
    third = run_pipeline(location, spec, HashingSpec(DIMS), SETTINGS)
    assert third.counts() == {"unchanged": n - 1, "updated": 1, "duplicate": 1, "skipped": 4}


def moto_s3(moto_url: str) -> Any:
    """An S3 client on the session's moto server."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

def test_from_s3(ray_session: str, pg_dsn: str, moto_url: str) -> None:

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    s3 = moto_s3(moto_url)
    s3.create_bucket(Bucket="docs")
    n = 1000
    for i in range(n):
        s3.put_object(
            Bucket="docs", Key=f"corpus/part{i % 5}/doc{i:05d}.md", Body=doc_text(i).encode()
        )
    s3.put_object(Bucket="docs", Key="corpus/bad/binary.txt", Body=b"\x00\x01\x02")
    s3.put_object(Bucket="docs", Key="other/outside.md", Body=b"# not under the prefix")
    location = Location.parse("s3://docs/corpus/", endpoint_url=moto_url)
    spec = store_spec(pg_dsn, "ing_s3")
    first = run_pipeline(location, spec, HashingSpec(DIMS), SETTINGS, worker_env=env)
    assert first.counts() == {"created": n, "skipped": 1}
    assert counts(pg_dsn, "ing_s3") == (n, expected_chunks(n), n)
    again = run_pipeline(location, spec, HashingSpec(DIMS), SETTINGS, worker_env=env)
    assert again.counts() == {"unchanged": n, "skipped": 1}


def test_a_run_killed_halfway_and_restarted_ends_with_exactly_the_expected_chunks(
    ray_session: str, pg_dsn: str, tmp_path: Path
) -> None:
    n = 3000
    corpus = tmp_path / "corpus"
    write_corpus(corpus, n)
    prefix = "ing_crash"
    config = tmp_path / "serve.yaml"
    config.write_text(
        "applications:\n  - name: docs\n"
        f"    vector_store: {{dsn: '{pg_dsn}', table_prefix: {prefix}}}\n"
        f"    embeddings: {{dimensions: {DIMS}}}\n"
        "    rag: {chunk_size_chars: 200, chunk_overlap_chars: 20}\n",
        encoding="utf-8",
    )
    cmd = [
        sys.executable,
        "-m",
        "serving.ingest.pipeline",
        str(corpus),
        "--config",
        str(config),
        "--ray-address",
        ray_session,
        "--actor-cpus",
        "0.5",
        "--hashing-embedder",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 180
    try:
        while True:  # kill once some documents are stored and most are not
            try:
                progress = counts(pg_dsn, prefix)[2]
            except psycopg.errors.UndefinedTable:
                progress = 0
            if progress > 0 or proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    docs, chunks, progress = counts(pg_dsn, prefix)
    assert 0 < progress < n and docs == progress
    with psycopg.connect(pg_dsn) as conn:  # every stored document is whole
        stored = [str(r[0]) for r in conn.execute(f"SELECT source FROM {prefix}_documents")]
    per_doc = [
        chunk_text(doc_text(int(s[-8:-3])), SETTINGS.chunk_size, SETTINGS.chunk_overlap)
        for s in stored
    ]
    assert chunks == sum(len(c) for c in per_doc)
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert counts(pg_dsn, prefix) == (n, expected_chunks(n), n)
    assert f'"unchanged": {progress}' in resumed.stdout


def test_llmops_ingest_with_the_real_model(ray_session: str, pg_dsn: str, tmp_path: Path) -> None:
    """``llmops ingest`` as a user runs it: the serve config's model (MiniLM) in the
    embedding actors, on the Ray already running here, a bad file reported."""
    import json

    from typer.testing import CliRunner

    from llmops.cli import app

    corpus = tmp_path / "docs"
    write_corpus(corpus, 20)
    (corpus / "binary.txt").write_bytes(b"\x00\x01")
    config = tmp_path / "serve.yaml"
    config.write_text(
        f"applications:\n  - name: docs\n    vector_store: {{dsn: '{pg_dsn}', table_prefix: ing_cli}}\n",
        encoding="utf-8",
    )
    args = [
        "ingest",
        str(corpus),
        "--config",
        str(config),
        "--json",
        "--home",
        str(tmp_path / "home"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 4, result.output  # finished, with a skipped file
    summary = json.loads(result.stdout)  # the summary alone: what is said goes to stderr
    assert summary["counts"] == {"created": 20, "skipped": 1} and "documents" not in summary
    assert summary["skipped"][0]["code"] == "binary"
    assert (
        "on the Ray this process runs into the pgvector store of application 'docs'"
        in result.stderr
    )
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute("SELECT vector_dims(embedding) FROM ing_cli_chunks LIMIT 1").fetchone()
    assert row is not None and row[0] == 384


def test_llmops_ingest_from_s3_with_this_shells_credentials(
    ray_session: str, pg_dsn: str, moto_url: str, tmp_path: Path
) -> None:
    """The stages that read S3 run in Ray's workers, started before the credentials were in
    this process's environment: ``llmops ingest`` hands them its AWS settings."""
    import json

    from typer.testing import CliRunner

    from llmops.cli import app

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_url,
    }
    s3 = moto_s3(moto_url)
    s3.create_bucket(Bucket="cli-docs")
    for i in range(5):
        s3.put_object(Bucket="cli-docs", Key=f"notes/doc{i:05d}.md", Body=doc_text(i).encode())
    config = tmp_path / "serve.yaml"
    config.write_text(
        f"applications:\n  - name: docs\n    vector_store: {{dsn: '{pg_dsn}', table_prefix: ing_cli_s3}}\n",
        encoding="utf-8",
    )
    args = ["ingest", "s3://cli-docs/notes/", "--config", str(config), "--json"]
    result = CliRunner().invoke(app, [*args, "--home", str(tmp_path / "home")], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == {"created": 5}


def test_a_pipeline_that_cannot_fit_or_mismatches_the_store_is_refused(
    ray_session: str, pg_dsn: str, tmp_path: Path
) -> None:
    with pytest.raises(
        IngestError, match=r"has 2 CPUs free; the ingest pipeline needs 4.75.*--actors 1"
    ):
        check_resources(PipelineSettings(embed_actors=4, embed_cpus=1.0), 2.0, "Ray")
    # the embedding actors take what is free: beside a default `llmops serve` on 2 cores
    # (ingress 0.25 + embedder 0.5 + extractive model 0.1 held), 1.15 CPUs
    one, two = PipelineSettings(embed_actors=1), PipelineSettings(embed_actors=2)
    assert fit_embed_cpus(one, 1.15).embed_cpus == 0.4
    assert fit_embed_cpus(two, 1.15).embed_cpus == 0.2
    assert fit_embed_cpus(one, 16.0).embed_cpus == 1.0  # at most one CPU each
    for fitted in (fit_embed_cpus(one, 1.15), fit_embed_cpus(two, 1.15)):
        check_resources(fitted, 1.15, "Ray")
    starved = fit_embed_cpus(one, 0.5)
    assert starved.embed_cpus == MIN_EMBED_CPUS
    with pytest.raises(IngestError, match=r"has 0.5 CPUs free; the ingest pipeline needs 0.85"):
        check_resources(starved, 0.5, "Ray")
    write_corpus(tmp_path, 2)
    with pytest.raises(IngestError, match="the store holds 32"):
        run_pipeline(
            Location.parse(str(tmp_path)), store_spec(pg_dsn, "ing_dims"), HashingSpec(16), SETTINGS
        )


def test_a_run_that_makes_no_progress_stops_with_an_error_naming_the_fix(
    ray_session: str, pg_dsn: str, tmp_path: Path
) -> None:
    """Nothing hangs silently: with the store's progress table locked (a stuck transaction
    elsewhere), no document finishes and the run stops after the stall timeout, saying how
    far it got and what to do; once the lock is gone the next run goes on."""
    write_corpus(tmp_path, 20)
    spec = store_spec(pg_dsn, "ing_stall")
    location = Location.parse(str(tmp_path))
    run_pipeline(location, spec, HashingSpec(DIMS), replace(SETTINGS, list_shards=1))
    (tmp_path / "new.md").write_text(doc_text(99))
    stalled = replace(SETTINGS, stall_timeout_s=5)
    with psycopg.connect(pg_dsn) as conn:
        conn.execute("LOCK TABLE ing_stall_ingest_progress IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(
            IngestError,
            match=r"made no progress for 5 s and was stopped after 0 documents \(what was "
            r"stored stays.*CPUs free now.*--actors 1 --actor-cpus 0.1.*raise --stall-timeout",
        ):
            run_pipeline(location, spec, HashingSpec(DIMS), stalled)
        assert time.monotonic() - started < 60
        conn.rollback()
    again = run_pipeline(location, spec, HashingSpec(DIMS), SETTINGS)
    assert again.counts() == {"created": 1, "unchanged": 20}


def test_driver_memory_stays_flat_on_a_corpus_ten_times_larger(
    ray_session: str, pg_dsn: str, tmp_path: Path
) -> None:
    """The driver streams: it lists nothing (the listing runs in sharded tasks), keeps no
    per-document result, and at most a few blocks wait between stages, so its peak memory
    over a run is the same for 3,000 documents as for 300. Measured on Python's allocations
    (every object the driver keeps, in every thread, the Ray Data executor's included), on
    what it still holds after the run, and on the resident set."""
    sizes = {"warm": 50, "small": 300, "large": 3000}
    for name, n in sizes.items():
        write_corpus(tmp_path / name, n)
    settings = replace(SETTINGS, embed_batch_docs=50, write_batch_docs=50)

    def run(name: str) -> DriverMemory:
        location = Location.parse(str(tmp_path / name))
        with DriverMemory() as memory:
            summary = run_pipeline(
                location, store_spec(pg_dsn, f"ing_mem_{name}"), HashingSpec(DIMS), settings
            )
        assert summary.counts() == {"created": sizes[name]}
        return memory

    run("warm")  # imports, Ray Data's first start
    small, large = run("small"), run("large")
    assert large.python_peak <= 1.25 * small.python_peak + 512 * 1024, (small, large)
    assert large.python_end <= small.python_end + 256 * 1024, (small, large)
    assert large.rss_peak <= small.rss_peak + 16 * 2**20, (small, large)
