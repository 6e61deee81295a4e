"""Scheduled ingestion on the cluster: the ServingPlane renders a KubeRay ``RayCronJob``
whose runs are ``RayJob``\\ s with a Ray cluster of their own running the Ray Data ingest
pipeline; the object validates against the vendored kuberay 1.7.0 CRD, the operator's
``RayCronJob`` gate is on, and ``llmops:data.ingestion`` maps to it."""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

import pytest
import yaml

from components.serving_plane import IngestionArgs, ServingPlane
from components.serving_plane import manifests as m
from serving.config import AppConfig, ServeConfig, render_serve_config_yaml
from serving.ingest.pipeline import app_from_serve_config
from tests.components.test_serving_plane import base_args, plane
from tests.harness import Recorded

CRONJOB = "kubernetes:ray.io/v1:RayCronJob"
SOURCE = "s3://llmops-dev-docs/documents/"
SERVE_YAML = render_serve_config_yaml(
    ServeConfig(applications=[AppConfig.model_validate({"name": "docs", "rag": {"chunk_size_chars": 800}})])
)
needs_validation = pytest.mark.skipif(
    importlib.util.find_spec("llmops.validation") is None, reason="llmops.validation is not in this checkout"
)


@pytest.fixture(scope="module")
def scheduled() -> Recorded[ServingPlane]:
    ingestion = IngestionArgs(source_uri=SOURCE, schedule="30 2 * * *", actors=2, actor_cpus=1.5, workers=2, worker_cpu=2)
    return plane(base_args(ingestion=ingestion, serve_config=SERVE_YAML))


def cron_object(recorded: Recorded[ServingPlane]) -> dict[str, Any]:
    reg = recorded.one(CRONJOB)
    return {"apiVersion": "ray.io/v1", "kind": "RayCronJob", "metadata": reg.inputs["metadata"], "spec": reg.inputs["spec"]}


def test_the_cron_job_runs_the_pipeline_on_a_cluster_of_its_own(scheduled: Recorded[ServingPlane]) -> None:
    obj = cron_object(scheduled)
    assert obj["metadata"]["name"] == "llmops-ingest" and obj["metadata"]["namespace"] == "llmops-serving"
    spec = obj["spec"]
    assert (spec["schedule"], spec["timeZone"]) == ("30 2 * * *", "Etc/UTC")
    job = spec["jobTemplate"]
    assert job["entrypoint"] == (
        f"python -m serving.ingest.pipeline {SOURCE} --serve-config-env LLMOPS_SERVE_CONFIG --actors 2 --actor-cpus 1.5"
    )
    assert job["shutdownAfterJobFinishes"] is True and job["backoffLimit"] == 0
    assert job["submissionMode"] == "K8sJobMode" and job["activeDeadlineSeconds"] == 6 * 3600
    cluster = job["rayClusterSpec"]
    assert cluster["headGroupSpec"]["rayStartParams"] == {"num-cpus": "0"}
    (workers,) = cluster["workerGroupSpecs"]
    assert (workers["groupName"], workers["replicas"], workers["minReplicas"], workers["maxReplicas"]) == ("ingest", 2, 2, 2)
    pod = workers["template"]["spec"]
    assert pod["serviceAccountName"] == m.SERVICE_ACCOUNT  # the serving role: reads the bucket and secrets
    assert pod["nodeSelector"] == {m.CPU_POOL_LABEL: "llmops-cpu"} and pod["tolerations"] == [m.CPU_POOL_TOLERATION]
    (container,) = pod["containers"]
    assert container["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}
    head_env = {e["name"]: e.get("value") for e in cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]}
    assert head_env["AWS_REGION"] == "us-east-1"
    # the driver (on the head) reads the application's settings from the Serve config
    app = app_from_serve_config(head_env[m.SERVE_CONFIG_ENV])
    assert app.name == "docs" and app.rag.chunk_size_chars == 800
    assert scheduled.value.ingest_cron_job_name == "llmops-ingest"


def test_the_operator_turns_the_cron_job_gate_on(scheduled: Recorded[ServingPlane], internal: Recorded[ServingPlane]) -> None:
    def gates(recorded: Recorded[ServingPlane]) -> Any:
        (release,) = [r for r in recorded.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "kuberay-operator"]
        return release.inputs["values"].get("featureGates")

    assert gates(internal) is None  # the chart's defaults
    on = {g["name"]: g["enabled"] for g in gates(scheduled)}
    assert on["RayCronJob"] is True
    assert {k: v for k, v in on.items() if k != "RayCronJob"} == {k: v for k, v in m.KUBERAY_FEATURE_GATES if k != "RayCronJob"}
    assert internal.of_type(CRONJOB) == []


@needs_validation
def test_the_cron_job_and_the_operator_values_validate(scheduled: Recorded[ServingPlane]) -> None:
    from llmops.validation import validate_helm_values, validate_object

    obj = cron_object(scheduled)
    assert [str(p) for p in validate_object(obj, kubernetes_version="1.35")] == []
    broken = yaml.safe_load(yaml.safe_dump(obj))
    broken["spec"]["jobTemplate"]["shutdownAfterJobFinish"] = True  # misspelled: pruned
    assert validate_object(broken, kubernetes_version="1.35")
    values = m.kuberay_values({"llmops.io/pool": "system"}, cron_jobs=True)
    problems = validate_helm_values("kuberay-operator", "1.7.0", values)
    assert [str(p) for p in problems if p.severity == "error"] == []


@pytest.fixture(scope="module")
def internal() -> Recorded[ServingPlane]:
    return plane(base_args())


def test_ingestion_args_are_checked() -> None:
    bad = IngestionArgs(source_uri=SOURCE, schedule="daily", actors=4, actor_cpus=1, workers=1, worker_cpu=2)
    with pytest.raises(ValueError) as err:
        base_args(ingestion=bad).validate()
    text = str(err.value)
    assert "ServingPlaneArgs.ingestion.schedule: 'daily' is not a five-field cron schedule" in text
    assert "ServingPlaneArgs.ingestion: 4 actor(s) x 1 CPU plus 1 for reading and writing do not fit 1 worker(s)" in text
    assert dataclasses.replace(bad, schedule="0 * * * *", workers=3).problems("x") == []  # fits now


def test_stack_config_of_ingestion_is_checked() -> None:
    from stacks.config import DataConfig

    data = DataConfig.model_validate({"ingestion": {"enabled": True, "schedule": "0 4 * * 1", "prefix": "docs/", "actors": 2}})
    assert data.ingestion.enabled and data.ingestion.schedule == "0 4 * * 1"
    with pytest.raises(ValueError, match="five-field cron schedule"):
        DataConfig.model_validate({"ingestion": {"schedule": "@daily"}})
    with pytest.raises(ValueError, match="ending with '/'"):
        DataConfig.model_validate({"ingestion": {"prefix": "docs"}})
