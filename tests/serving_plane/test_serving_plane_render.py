"""``llmops render`` as a user runs it: the RayService of a stack as YAML, one region, one
kind, and clear errors for what the stack does not have."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from core.errors import UsageError
from llmops.cli import app
from tests.support import REPO

runner = CliRunner()


def documents(text: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_render_prints_the_rayservice_with_its_serve_config_as_a_block() -> None:
    result = runner.invoke(app, ["render", "--stack", "dev", "--kind", "RayService", "--program", str(REPO)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# us-east-1-serving-rayservice (kubernetes:ray.io/v1:RayService, us-east-1)\n")
    (rayservice,) = documents(result.output)
    assert rayservice["apiVersion"] == "ray.io/v1" and rayservice["kind"] == "RayService"
    spec = rayservice["spec"]
    assert isinstance(spec, dict)
    assert "  serveConfigV2: |\n    proxy_location: EveryNode\n" in result.output
    serve = yaml.safe_load(spec["serveConfigV2"])
    assert [a["name"] for a in serve["applications"]] == ["llmops"]
    groups = spec["rayClusterConfig"]["workerGroupSpecs"]
    assert [g["groupName"] for g in groups] == ["cpu", "a10g-spot"] and groups[1]["maxReplicas"] == 2


def test_render_narrows_to_a_region_and_masks_nothing_it_should_not() -> None:
    result = runner.invoke(app, ["render", "--stack", "staging", "--region", "us-west-2", "--program", str(REPO)])
    assert result.exit_code == 0, result.output
    kinds = [(d["kind"], d["metadata"]["name"]) for d in documents(result.output)]  # type: ignore[index]
    assert ("RayService", "llmops") in kinds and ("Release", "kuberay-operator") in kinds and ("Namespace", "llmops-serving") in kinds
    headers = [line for line in result.output.splitlines() if line.startswith("# ")]
    assert headers and all(line.endswith(", us-west-2)") and line.startswith("# us-west-2-") for line in headers)


def test_render_errors_name_what_exists() -> None:
    result = runner.invoke(app, ["render", "--stack", "dev", "--kind", "Deployment", "--program", str(REPO)])
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 2
    assert "no Kubernetes object of kind Deployment in stack dev; kinds: ConfigMap, EC2NodeClass, Job, Namespace" in str(result.exception)
    assert "RayService" in str(result.exception)
    result = runner.invoke(app, ["render", "--stack", "dev", "--region", "eu-west-1", "--program", str(REPO)])
    assert isinstance(result.exception, UsageError) and "--region eu-west-1: stack dev has regions us-east-1" in str(result.exception)


def test_the_serve_config_llmops_serve_runs_is_the_one_in_the_rayservice(tmp_path: object) -> None:
    from pathlib import Path

    from serving.config import load_serve_config

    result = runner.invoke(app, ["render", "--stack", "dev", "--serve-config", "--program", str(REPO)])
    assert result.exit_code == 0, result.output
    path = Path(str(tmp_path)) / "serve.yaml"
    path.write_text(result.output, encoding="utf-8")
    local = load_serve_config(path)
    rendered = runner.invoke(app, ["render", "--stack", "dev", "--kind", "RayService", "--program", str(REPO)])
    (rayservice,) = documents(rendered.output)
    document = yaml.safe_load(rayservice["spec"]["serveConfigV2"])  # type: ignore[index]
    on_cluster = [a["args"] for a in document["applications"]]
    # The differences: on the cluster the release model loads from the region's bucket, and
    # the applications reach the region's stores with IAM (the migrations Job owns the schema).
    for args in on_cluster:
        assert args["vector_store"].pop("iam_auth") is True and args["vector_store"].pop("migrate_on_start") is False
        assert args["cache"].pop("iam_auth") is True and args["cache"].pop("cluster") is True

    copies = [b.pop("s3_uri") for a in on_cluster for m in a["models"] for b in m["backends"] if b.get("s3_uri")]
    assert len(copies) == 1 and copies[0].endswith("/models/Qwen/Qwen2.5-7B-Instruct/a09a35458c702b33eeacc393d103063234e8bc28/")
    local_args = [a.model_dump(mode="json", exclude={"runtime_env"}) for a in local.applications]
    for args in local_args:
        for section, keys in (("vector_store", ("iam_auth", "migrate_on_start")), ("cache", ("iam_auth", "cluster"))):
            for key in keys:
                args[section].pop(key)
    for backend in (b for a in [*on_cluster, *local_args] for m in a["models"] for b in m["backends"]):
        backend.pop("s3_uri", None)
    assert on_cluster == local_args
