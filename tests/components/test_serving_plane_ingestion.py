"""Ingestion on the cluster: the ServingPlane renders a KubeRay ``RayCronJob`` whose runs
are ``RayJob``\\ s with a Ray cluster of their own running the Ray Data ingest pipeline, and
the ingestion trigger (a Deployment with a role reading the S3 event queue and RBAC over
``rayjobs``) that creates the same ``RayJob`` on new documents; the objects validate against
the vendored kuberay 1.7.0 CRDs and the Kubernetes schemas, the operator's ``RayCronJob``
gate is on only with a schedule, and ``llmops:data.ingestion`` maps to them."""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

import pytest
import yaml

from components.serving_plane import IngestionArgs, IngestionEventsArgs, ServingPlane
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


# ----------------------------------------------------------------------------- the trigger

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:llmops-dev-docs-events"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/llmops-dev-docs-events"
TRIGGER = "llmops-ingest-trigger"


def _events(**changes: Any) -> IngestionEventsArgs:
    return dataclasses.replace(IngestionEventsArgs(queue_url=QUEUE_URL, queue_arn=QUEUE_ARN, debounce_seconds=30), **changes)


@pytest.fixture(scope="module")
def both() -> Recorded[ServingPlane]:
    ingestion = IngestionArgs(source_uri=SOURCE, schedule="30 2 * * *", events=_events(), actors=2, actor_cpus=1.5, workers=2, worker_cpu=2)
    return plane(base_args(ingestion=ingestion, serve_config=SERVE_YAML))


@pytest.fixture(scope="module")
def events_only() -> Recorded[ServingPlane]:
    return plane(base_args(ingestion=IngestionArgs(source_uri=SOURCE, schedule=None, events=_events()), serve_config=SERVE_YAML))


def _k8s(recorded: Recorded[ServingPlane], type_: str, api_version: str, kind: str) -> dict[str, Any]:
    reg = recorded.one(type_, "us-east-1-serving-ingest-trigger")
    body = {k: v for k, v in reg.inputs.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": api_version, "kind": kind, **body}


def _config(recorded: Recorded[ServingPlane]) -> dict[str, Any]:
    return _k8s(recorded, "kubernetes:core/v1:ConfigMap", "v1", "ConfigMap")


def test_the_trigger_creates_the_very_job_the_cron_job_runs(both: Recorded[ServingPlane]) -> None:
    import json

    data = _config(both)["data"]
    job = json.loads(data[m.TRIGGER_JOB_FILE])
    assert job["spec"] == cron_object(both)["spec"]["jobTemplate"]  # rendered once
    assert (job["apiVersion"], job["kind"], job["metadata"]["namespace"]) == ("ray.io/v1", "RayJob", "llmops-serving")
    assert "name" not in job["metadata"]  # the trigger names each run
    assert job["metadata"]["labels"][m.STARTED_BY_LABEL] == "s3-events" and job["metadata"]["labels"]["llmops.io/job"] == "ingest"


def test_the_trigger_settings_parse_and_name_the_queue_and_both_kinds_of_run(both: Recorded[ServingPlane], events_only: Recorded[ServingPlane]) -> None:
    from serving.ingest.trigger import TriggerSettings, is_ingest_run, run_name

    settings = TriggerSettings.model_validate_json(_config(both)["data"][m.TRIGGER_SETTINGS_FILE])
    assert (settings.queue_url, settings.region, settings.namespace) == (QUEUE_URL, "us-east-1", "llmops-serving")
    assert (settings.debounce_seconds, settings.visibility_timeout_seconds, settings.history) == (30, 300, 3)
    cron_run = {"metadata": {"labels": {m.RAY_CRON_JOB_LABEL: "llmops-ingest"}}}
    assert is_ingest_run(cron_run, settings.ingest_runs), "a run of the RayCronJob is waited for"
    only_events = TriggerSettings.model_validate_json(_config(events_only)["data"][m.TRIGGER_SETTINGS_FILE])
    assert not is_ingest_run(cron_run, only_events.ingest_runs)
    from datetime import UTC, datetime

    longest = run_name(m.trigger_run_prefix("a" * 47), datetime(2026, 11, 30, tzinfo=UTC))
    assert len(longest) <= m.MAX_RAYJOB_NAME, "KubeRay refuses longer RayJob names"


def test_the_trigger_role_reads_that_queue_only(both: Recorded[ServingPlane]) -> None:
    import json

    association = both.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "us-east-1-serving-ingest-trigger")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("llmops-serving", m.TRIGGER_SERVICE_ACCOUNT)
    role = both.one("aws:iam/role:Role", "us-east-1-serving-ingest-trigger")
    assert association.inputs["roleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    policy = both.one("aws:iam/rolePolicy:RolePolicy", "us-east-1-serving-ingest-trigger-queue")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow" and statement["Resource"] == QUEUE_ARN
    assert sorted(statement["Action"]) == ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    assert not [p for p in both.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "ingest-trigger" in p.name]


def test_the_trigger_rbac_manages_rayjobs_in_its_namespace_only(both: Recorded[ServingPlane]) -> None:
    role = _k8s(both, "kubernetes:rbac.authorization.k8s.io/v1:Role", "rbac.authorization.k8s.io/v1", "Role")
    assert role["metadata"]["namespace"] == "llmops-serving"
    assert role["rules"] == [{"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "get", "list", "watch", "delete"]}]
    binding = _k8s(both, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "rbac.authorization.k8s.io/v1", "RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": TRIGGER}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": m.TRIGGER_SERVICE_ACCOUNT, "namespace": "llmops-serving"}]
    assert not both.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")


def test_the_trigger_deployment_is_small_non_root_read_only_on_the_system_nodes(both: Recorded[ServingPlane]) -> None:
    deployment = _k8s(both, "kubernetes:apps/v1:Deployment", "apps/v1", "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == m.TRIGGER_SERVICE_ACCOUNT and pod["nodeSelector"] == {"llmops.io/pool": "system"}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    (container,) = pod["containers"]
    assert container["image"] == base_args().image
    assert container["command"][:3] == ["python", "-m", "serving.ingest.trigger"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"] == {"requests": {"cpu": "50m", "memory": "160Mi"}, "limits": {"memory": "320Mi"}}
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert {"name": "settings", "configMap": {"name": TRIGGER}} in pod["volumes"]
    digest = spec["template"]["metadata"]["annotations"]["llmops.io/config-digest"]
    assert digest == m.config_digest(_config(both)), "a new job spec restarts the trigger"
    registration = both.one("kubernetes:apps/v1:Deployment", "us-east-1-serving-ingest-trigger")
    waits = {both.resources[u].type for u in registration.dependencies}
    assert {"aws:eks/podIdentityAssociation:PodIdentityAssociation", "kubernetes:core/v1:ConfigMap",
            "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "kubernetes:core/v1:ServiceAccount"} <= waits
    assert both.value.ingest_trigger_name == TRIGGER


@needs_validation
def test_the_trigger_objects_and_its_rayjob_validate(both: Recorded[ServingPlane]) -> None:
    import json

    from llmops.validation import validate_object

    objects = [
        _k8s(both, "kubernetes:apps/v1:Deployment", "apps/v1", "Deployment"),
        _config(both),
        _k8s(both, "kubernetes:rbac.authorization.k8s.io/v1:Role", "rbac.authorization.k8s.io/v1", "Role"),
        _k8s(both, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "rbac.authorization.k8s.io/v1", "RoleBinding"),
    ]
    job = json.loads(_config(both)["data"][m.TRIGGER_JOB_FILE])
    job["metadata"]["name"] = "llmops-ingest-261130120000-ab12"
    objects.append(job)
    for obj in objects:
        assert [str(p) for p in validate_object(obj, kubernetes_version="1.35")] == [], obj["kind"]
    broken = json.loads(json.dumps(objects[0]))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True  # misspelled
    assert validate_object(broken, kubernetes_version="1.35"), "strict: an unknown field is an error"
    bad_job = json.loads(json.dumps(job))
    bad_job["spec"]["shutdownAfterJobFinish"] = True
    assert validate_object(bad_job, kubernetes_version="1.35")


def test_events_only_renders_no_cron_job_and_leaves_the_gate_off(events_only: Recorded[ServingPlane], internal: Recorded[ServingPlane]) -> None:
    assert events_only.of_type(CRONJOB) == [] and events_only.value.ingest_cron_job_name is None
    (release,) = [r for r in events_only.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "kuberay-operator"]
    assert release.inputs["values"].get("featureGates") is None
    assert events_only.of_type("kubernetes:apps/v1:Deployment")
    assert internal.of_type("kubernetes:apps/v1:Deployment") == [] and internal.value.ingest_trigger_name is None


def test_trigger_args_are_checked() -> None:
    nothing = IngestionArgs(source_uri=SOURCE, schedule=None)
    assert nothing.problems("p") == ["p: give a schedule, events, or both (nothing would start a run)"]
    bad = IngestionArgs(source_uri=SOURCE, schedule=None, events=_events(debounce_seconds=901, visibility_timeout_seconds=10, history=-1))
    assert bad.problems("p") == [
        "p.events.debounce_seconds: must be between 0 and 900 (got 901)",
        "p.events.visibility_timeout_seconds: must be between 30 and 43200 (got 10)",
        "p.events.history: must be between 0 and 100 (got -1)",
    ]
