"""Model weights from the region's model bucket instead of the hub.

A model revision reaches a region once: the serving plane runs a Kubernetes Job that copies
the pinned revision from the Hugging Face hub into the region's model bucket
(:func:`copy_from_hub`, ``python -m serving.model_store copy ...``; the hub token comes from
Secrets Manager). The copy ends with a marker object (:data:`MARKER`) that names the model,
its revision and every file with its size.

Replicas never call the hub: a backend whose config has ``s3_uri`` is localized at replica
start (:func:`localize`): the files under that prefix are downloaded once per node into
``$LLMOPS_MODEL_CACHE`` (checked against the marker) and the backend loads them from disk.
Scaling out reads S3 in the region, so cold starts are bounded by S3 throughput, not by the
hub's rate limits or availability.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.config import TransformersBackend, VLLMBackend

MARKER = "_llmops_model.json"
"""The object a finished copy writes last: model id, revision and the files with sizes."""
CACHE_ENV = "LLMOPS_MODEL_CACHE"
"""Where replicas keep downloaded models (default: ~/.cache/llmops/models)."""
DOWNLOAD_THREADS = 8

LocalBackend = TransformersBackend | VLLMBackend


class ModelStoreError(RuntimeError):
    """A model could not be copied or fetched (the message names the cause and the fix)."""


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix/``."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        if not uri.startswith("s3://") or len(uri) <= len("s3://"):
            raise ModelStoreError(f"{uri!r} is not an s3:// URI; use s3://bucket/prefix/")
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        prefix = prefix.strip("/")
        return cls(bucket, f"{prefix}/" if prefix else "")

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, relative: str) -> str:
        return f"{self.prefix}{relative}"


def _client(client: Any) -> Any:
    if client is not None:
        return client
    import boto3

    return boto3.client("s3")


def read_marker(location: S3Location, client: Any = None) -> dict[str, Any] | None:
    """The marker of a finished copy at ``location``; None when there is none (yet)."""
    s3 = _client(client)
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.key(MARKER))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise ModelStoreError(f"cannot read {location.uri}{MARKER} ({type(exc).__name__}: {exc})") from None
    marker: dict[str, Any] = json.loads(body)
    return marker


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".cache" not in path.relative_to(root).parts:
            yield path


def upload_directory(source: Path, location: S3Location, model_id: str, revision: str, client: Any = None) -> dict[str, Any]:
    """Uploads every file of ``source`` under ``location``, then the marker (last, so a
    reader never sees a half-finished copy as complete)."""
    s3 = _client(client)
    files = {str(p.relative_to(source)): p.stat().st_size for p in _files(source)}
    if not files:
        raise ModelStoreError(f"{source} holds no files to upload")

    def put(relative: str) -> None:
        s3.upload_file(str(source / relative), location.bucket, location.key(relative))

    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        list(pool.map(put, files))
    marker = {"modelId": model_id, "revision": revision, "files": files}
    s3.put_object(Bucket=location.bucket, Key=location.key(MARKER), Body=json.dumps(marker, sort_keys=True).encode())
    return marker


def copy_from_hub(
    model_id: str,
    revision: str,
    uri: str,
    *,
    token: str | None = None,
    client: Any = None,
    snapshot: Any = None,
) -> dict[str, Any]:
    """Copies ``model_id`` at ``revision`` from the hub into ``uri`` unless a finished copy of
    that revision is there already (the job may run again; it copies once)."""
    location = S3Location.parse(uri)
    existing = read_marker(location, client)
    if existing is not None:
        if existing.get("modelId") != model_id or existing.get("revision") != revision:
            raise ModelStoreError(
                f"{location.uri} holds {existing.get('modelId')}@{existing.get('revision')}, not {model_id}@{revision}; "
                "each revision gets its own prefix (models/<id>/<revision>/)"
            )
        return existing
    if snapshot is None:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download
    with tempfile.TemporaryDirectory(prefix="llmops-model-") as work:
        try:
            snapshot(repo_id=model_id, revision=revision, token=token, local_dir=work)
        except Exception as exc:
            raise ModelStoreError(
                f"cannot download {model_id}@{revision} from the hub ({type(exc).__name__}: {exc}); check the "
                "model id, that the revision exists, and the hub token for gated models"
            ) from None
        return upload_directory(Path(work), location, model_id, revision, client)


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "llmops" / "models")


def fetch(uri: str, cache: Path | None = None, client: Any = None) -> Path:
    """The local directory holding the finished copy at ``uri``, downloaded on first use
    (into a temporary directory, renamed when complete; a later call reuses it)."""
    location = S3Location.parse(uri)
    root = cache or cache_root()
    target = root / hashlib.sha256(location.uri.encode()).hexdigest()[:24]
    if (target / MARKER).is_file():
        return target
    s3 = _client(client)
    marker = read_marker(location, s3)
    if marker is None:
        raise ModelStoreError(
            f"{location.uri} holds no finished model copy ({MARKER} is missing); the serving plane's model "
            "copy job has not finished, or failed: see its logs (kubectl logs job/<name> -n <namespace>)"
        )
    files: dict[str, int] = marker.get("files") or {}
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:

        def get(relative: str) -> None:
            destination = partial / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(location.bucket, location.key(relative), str(destination))
            if destination.stat().st_size != files[relative]:
                raise ModelStoreError(f"{location.uri}{relative}: size differs from the copy's record; copy the model again")

        with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
            list(pool.map(get, files))
        (partial / MARKER).write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
        try:
            partial.rename(target)
        except OSError:  # another replica on this node finished first
            if not (target / MARKER).is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def localize(cfg: LocalBackend, cache: Path | None = None, client: Any = None) -> LocalBackend:
    """``cfg`` pointing at a local copy of its model when it names ``s3_uri``; else ``cfg``."""
    if cfg.s3_uri is None:
        return cfg
    path = fetch(cfg.s3_uri, cache, client)
    update: dict[str, Any] = {"model_id": str(path), "revision": None, "s3_uri": None}
    if isinstance(cfg, TransformersBackend):
        update["local_files_only"] = True
    return cfg.model_copy(update=update)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Copy a pinned model revision into S3, or fetch one from it.")
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help="copy a hub model revision into s3://bucket/prefix/ (once)")
    copy.add_argument("--model-id", required=True)
    copy.add_argument("--revision", required=True)
    copy.add_argument("--s3-uri", required=True)
    copy.add_argument("--token-secret-arn", help="Secrets Manager secret with the hub token (gated models)")
    get = commands.add_parser("fetch", help="download a finished copy into the local cache")
    get.add_argument("s3_uri")
    args = parser.parse_args(argv)
    try:
        if args.command == "copy":
            token = None
            if args.token_secret_arn:
                from serving.secrets_env import SecretsError, secret_value

                try:
                    token = secret_value(args.token_secret_arn)
                except SecretsError as exc:
                    raise ModelStoreError(str(exc)) from None
            marker = copy_from_hub(args.model_id, args.revision, args.s3_uri, token=token)
            print(f"{args.model_id}@{args.revision}: {len(marker['files'])} file(s) in {args.s3_uri}")
        else:
            print(fetch(args.s3_uri))
    except ModelStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
