"""What replicas do at start, against moto in server mode: the model copy (hub -> S3, once,
a marker last), the download of a finished copy into the node's cache, and secrets from
Secrets Manager into an env file that a shell sources and Kubernetes reads by key."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from serving import model_store, secrets_env
from serving.config import TransformersBackend, VLLMBackend

BUCKET = "llmops-dev-models"
PREFIX = "models/org/tiny/" + "a" * 40 + "/"


@pytest.fixture
def s3(moto_url: str) -> Iterator[Any]:
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def fake_snapshot(calls: list[dict[str, Any]]) -> Any:
    def snapshot(repo_id: str, revision: str, token: str | None, local_dir: str) -> None:
        calls.append({"repo_id": repo_id, "revision": revision, "token": token})
        root = Path(local_dir)
        (root / "config.json").write_text('{"model_type": "llama"}')
        (root / "weights").mkdir()
        (root / "weights" / "model.safetensors").write_bytes(b"\0" * 4096)
        (root / ".cache").mkdir()
        (root / ".cache" / "lock").write_text("hub bookkeeping, not model files")

    return snapshot


def test_a_revision_is_copied_once_with_its_marker_last(s3: Any) -> None:
    calls: list[dict[str, Any]] = []
    uri = f"s3://{BUCKET}/{PREFIX}"
    marker = model_store.copy_from_hub("org/tiny", "a" * 40, uri, token="hf-token", client=s3, snapshot=fake_snapshot(calls))
    assert marker == {"modelId": "org/tiny", "revision": "a" * 40, "files": {"config.json": 23, "weights/model.safetensors": 4096}}
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [f"{PREFIX}{model_store.MARKER}", f"{PREFIX}config.json", f"{PREFIX}weights/model.safetensors"]
    again = model_store.copy_from_hub("org/tiny", "a" * 40, uri, client=s3, snapshot=fake_snapshot(calls))
    assert again == marker and len(calls) == 1 and calls[0]["token"] == "hf-token"
    with pytest.raises(model_store.ModelStoreError, match=r"holds org/tiny@a+, not org/other@"):
        model_store.copy_from_hub("org/other", "b" * 40, uri, client=s3, snapshot=fake_snapshot(calls))


def test_replicas_load_a_finished_copy_from_the_node_cache(s3: Any, tmp_path: Path) -> None:
    uri = f"s3://{BUCKET}/{PREFIX}"
    with pytest.raises(model_store.ModelStoreError, match="holds no finished model copy"):
        model_store.fetch(uri, tmp_path, s3)
    model_store.copy_from_hub("org/tiny", "a" * 40, uri, client=s3, snapshot=fake_snapshot([]))
    local = model_store.fetch(uri, tmp_path, s3)
    assert (local / "weights" / "model.safetensors").stat().st_size == 4096
    assert json.loads((local / model_store.MARKER).read_text())["revision"] == "a" * 40
    s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}config.json")
    assert model_store.fetch(uri, tmp_path, s3) == local  # the node's copy serves the next replica
    backend = model_store.localize(TransformersBackend(model_id="org/tiny", revision="a" * 40, s3_uri=uri, local_files_only=False), tmp_path, s3)
    assert (backend.model_id, backend.revision, backend.s3_uri, backend.local_files_only) == (str(local), None, None, True)  # type: ignore[union-attr]
    vllm = VLLMBackend(model_id="org/tiny", revision="a" * 40)
    assert model_store.localize(vllm, tmp_path, s3) is vllm


@pytest.fixture
def secrets(moto_url: str) -> Iterator[tuple[Any, dict[str, str]]]:
    client = boto3.client("secretsmanager", endpoint_url=moto_url, region_name="us-east-1")
    arns = {
        "dsn": client.create_secret(Name="test/pg-dsn", SecretString="postgresql://app:p4ss w0rd@db:5432/llmops")["ARN"],
        "gcs": client.create_secret(Name="test/gcs", SecretString=json.dumps({"token": "redis-token-1"}))["ARN"],
    }
    yield client, arns
    for arn in arns.values():
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_secrets_become_an_env_file_a_shell_sources(secrets: tuple[Any, dict[str, str]], tmp_path: Path) -> None:
    client, arns = secrets
    mapping = secrets_env.parse_mapping(json.dumps({"LLMOPS_PG_DSN": arns["dsn"], "REDIS_PASSWORD": f"{arns['gcs']}#token"}))
    out = tmp_path / "run" / "env"
    assert secrets_env.write_env_file(out, mapping, client) == ["LLMOPS_PG_DSN", "REDIS_PASSWORD"]
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert out.read_text() == "LLMOPS_PG_DSN='postgresql://app:p4ss w0rd@db:5432/llmops'\nREDIS_PASSWORD='redis-token-1'\n"
    # What the Ray container runs before `ray start` (components/serving_plane/manifests.py SOURCE_SECRETS).
    shell = subprocess.run(
        ["bash", "-c", f'set -a && . {out} && set +a && python3 -c "import os; print(os.environ[\'LLMOPS_PG_DSN\'])"'],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )
    assert shell.stdout.strip() == "postgresql://app:p4ss w0rd@db:5432/llmops"


def test_bad_references_and_unreadable_secrets_are_named(secrets: tuple[Any, dict[str, str]]) -> None:
    client, arns = secrets
    with pytest.raises(secrets_env.SecretsError, match=r"'bad-name' is not an environment variable name; X: 'not-an-arn' is not a Secrets Manager secret ARN"):
        secrets_env.parse_mapping(json.dumps({"bad-name": arns["dsn"], "X": "not-an-arn"}))
    with pytest.raises(secrets_env.SecretsError, match="is not a JSON object, so it has no key 'token'"):
        secrets_env.secret_value(arns["dsn"], "token", client)
    missing = arns["dsn"].replace("pg-dsn", "nope")
    with pytest.raises(secrets_env.SecretsError, match=r"cannot read .* check that the pod's role may secretsmanager:GetSecretValue"):
        secrets_env.secret_value(missing, None, client)
    with pytest.raises(secrets_env.SecretsError, match="holds a quote or a line break"):
        secrets_env.env_line("X", "it's")
