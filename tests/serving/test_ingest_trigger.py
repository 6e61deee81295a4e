"""The ingestion trigger for real: S3 event notifications from a moto bucket (moto in server
mode on loopback) into an SQS queue, and a fake Kubernetes API on loopback that records the
RayJobs created and answers their status. A burst of new documents starts exactly one run;
a burst while a run is under way starts one follow-up once it ends; test events and garbage
are dropped; no event is deleted before a run that will see it exists; failures are retried.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from serving.ingest.trigger import (
    KubernetesRayJobs,
    Trigger,
    TriggerSettings,
    classify,
    expired_runs,
    is_active,
    run,
    run_name,
)

pytestmark = pytest.mark.moto

NAMESPACE = "llmops-serving"
RAYJOBS = f"/apis/ray.io/v1/namespaces/{NAMESPACE}/rayjobs"
PREFIX = "documents/"
INGEST = {"app.kubernetes.io/instance": "llmops", "llmops.io/job": "ingest"}
CRON = {"ray.io/cronjob-name": "llmops-ingest"}
STARTED_BY = {"llmops.io/started-by": "s3-events"}
TEMPLATE = {
    "apiVersion": "ray.io/v1",
    "kind": "RayJob",
    "metadata": {"namespace": NAMESPACE, "labels": {**INGEST, **STARTED_BY}},
    "spec": {"entrypoint": "python -m serving.ingest.pipeline s3://docs/documents/", "shutdownAfterJobFinishes": True},
}
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


# ----------------------------------------------------------------------------- fake Kubernetes


@dataclass
class FakeKubernetes:
    """``rayjobs.ray.io`` of one namespace over HTTP on loopback: list, create, delete."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    fail_creates: int = 0
    """Answer this many creates with HTTP 500 first."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def finish(self, name: str, state: str = "Complete") -> None:
        with self.lock:
            self.jobs[name]["status"] = {"jobDeploymentStatus": state}

    def add(self, name: str, labels: dict[str, str], state: str | None = None) -> None:
        with self.lock:
            self.jobs[name] = {"metadata": {"name": name, "labels": labels, "creationTimestamp": "2026-11-30T00:00:00Z"}}
            if state:
                self.jobs[name]["status"] = {"jobDeploymentStatus": state}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path != RAYJOBS:
                    return self._send(404, {"kind": "Status", "code": 404})
                with fake.lock:
                    items = [json.loads(json.dumps(j)) for j in fake.jobs.values()]
                return self._send(200, {"kind": "RayJobList", "items": items})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    if fake.fail_creates:
                        fake.fail_creates -= 1
                        return self._send(500, {"kind": "Status", "message": "etcd is having a moment"})
                    name = body["metadata"]["name"]
                    if name in fake.jobs:
                        return self._send(409, {"kind": "Status", "code": 409})
                    body["metadata"]["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    fake.jobs[name] = body
                    fake.created.append(name)
                return self._send(201, body)

            def do_DELETE(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                with fake.lock:
                    gone = fake.jobs.pop(name, None)
                return self._send(200 if gone else 404, {"kind": "Status"})

        return Handler


@pytest.fixture
def kube() -> Iterator[FakeKubernetes]:
    fake = FakeKubernetes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


# ----------------------------------------------------------------------------- S3 -> SQS in moto


@dataclass
class Recorder:
    """The boto3 SQS client, recording what was received and when each message was deleted
    (how many runs existed at that moment)."""

    client: Any
    kube: FakeKubernetes
    bodies: dict[str, str] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    """Message body -> runs created when it was deleted."""

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.client.receive_message(**kwargs)
        for message in response.get("Messages", []):
            self.bodies[message["ReceiptHandle"]] = message["Body"]
        return response

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        runs = len(self.kube.created)
        for entry in kwargs["Entries"]:
            self.deleted[self.bodies[entry["ReceiptHandle"]]] = runs
        return dict(self.client.delete_message_batch(**kwargs))

    def change_message_visibility_batch(self, **kwargs: Any) -> dict[str, Any]:
        return dict(self.client.change_message_visibility_batch(**kwargs))


@dataclass
class Bucket:
    s3: Any
    sqs: Any
    queue_url: str
    name: str

    def put(self, *keys: str) -> None:
        for key in keys:
            self.s3.put_object(Bucket=self.name, Key=key, Body=b"# a document\n")

    def counts(self) -> tuple[int, int]:
        """Messages visible and in flight."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


_buckets = iter(range(1_000_000))


@pytest.fixture
def bucket(moto_url: str) -> Bucket:
    import boto3

    kwargs = {"endpoint_url": moto_url, "region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    s3, sqs = boto3.client("s3", **kwargs), boto3.client("sqs", **kwargs)
    n = next(_buckets)
    name = f"docs-{n}"
    s3.create_bucket(Bucket=name)
    dead = sqs.create_queue(QueueName=f"events-{n}-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=f"events-{n}",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 5}), "SqsManagedSseEnabled": "true"},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # What DocumentStore configures: new objects under the prefix (S3 sends an s3:TestEvent now).
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "new-documents",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": PREFIX}]}},
                }
            ]
        },
    )
    return Bucket(s3, sqs, url, name)


def settings(queue_url: str, **changes: Any) -> TriggerSettings:
    base = {
        "queueUrl": queue_url,
        "region": "us-east-1",
        "namespace": NAMESPACE,
        "jobNamePrefix": "llmops-ingest",
        "ingestRuns": [INGEST, CRON],
        "startedBy": STARTED_BY,
        "debounceSeconds": 1,
        "visibilityTimeoutSeconds": 30,
        "history": 3,
        "pollSeconds": 1,
    }
    return TriggerSettings.model_validate({**base, **changes})


def pump(trigger: Trigger, until: Callable[[], bool], timeout: float = 20.0) -> None:
    """Polls until ``until()`` holds (or fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out"
        trigger.poll_once()


def pump_for(trigger: Trigger, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        trigger.poll_once()


# ----------------------------------------------------------------------------- the loop


def test_a_burst_starts_one_run_and_test_events_and_garbage_are_dropped(bucket: Bucket, kube: FakeKubernetes) -> None:
    queue = Recorder(bucket.sqs, kube)
    trigger = Trigger(settings(bucket.queue_url), TEMPLATE, queue, KubernetesRayJobs(kube.url, NAMESPACE))
    bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody="not json at all")
    bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody=json.dumps({"hello": "world"}))
    bucket.put(*(f"{PREFIX}part{i % 2}/doc{i}.md" for i in range(6)), "elsewhere/ignored.md")

    pump(trigger, lambda: bool(kube.created) and bucket.counts() == (0, 0))

    (name,) = kube.created
    assert name.startswith("llmops-ingest-") and len(name) <= 47
    job = kube.jobs[name]
    assert job["spec"] == TEMPLATE["spec"] and job["metadata"]["namespace"] == NAMESPACE
    assert job["metadata"]["labels"] == {**INGEST, **STARTED_BY}
    assert job["metadata"]["annotations"]["llmops.io/announced-objects"] == "6"
    events = {body: runs for body, runs in queue.deleted.items() if "Records" in body}
    keys = sorted(classify(body).keys[0] for body in events)  # keys arrive URL-encoded
    assert keys == sorted(f"{PREFIX}part{i % 2}/doc{i}.md" for i in range(6)), "one event per new object under the prefix"
    assert all(runs == 1 for runs in events.values()), "no event is deleted before the run that will see it exists"
    dropped = [body for body in queue.deleted if "Records" not in body]
    assert len(dropped) == 3 and "not json at all" in dropped
    assert any(json.loads(b).get("Event") == "s3:TestEvent" for b in dropped if b.startswith("{"))
    pump_for(trigger, 2)
    assert kube.created == [name], "nothing new: no second run"


def test_a_burst_during_a_run_starts_one_follow_up_after_it_ends(bucket: Bucket, kube: FakeKubernetes) -> None:
    queue = Recorder(bucket.sqs, kube)
    trigger = Trigger(settings(bucket.queue_url), TEMPLATE, queue, KubernetesRayJobs(kube.url, NAMESPACE))
    bucket.put(f"{PREFIX}a.md", f"{PREFIX}b.md")
    pump(trigger, lambda: bool(kube.created))
    (first,) = kube.created

    bucket.put(*(f"{PREFIX}later{i}.md" for i in range(4)))  # the run may have listed the prefix already
    pump_for(trigger, 3)
    assert kube.created == [first], "no second run while the first is under way"
    assert bucket.counts() == (0, 4), "the new events are held (hidden), not deleted"
    assert not [b for b in queue.deleted if "later" in b]

    kube.finish(first)
    pump(trigger, lambda: len(kube.created) == 2 and bucket.counts() == (0, 0))
    follow_up = kube.created[1]
    assert follow_up != first
    assert all(queue.deleted[b] == 2 for b in queue.deleted if "later" in b)
    assert len([b for b in queue.deleted if "later" in b]) == 4

    # A run of the RayCronJob counts as a run under way too.
    kube.finish(follow_up, "Failed")
    kube.add("llmops-ingest-x7k2p", CRON)
    bucket.put(f"{PREFIX}nightly-overlap.md")
    pump_for(trigger, 3)
    assert len(kube.created) == 2
    kube.finish("llmops-ingest-x7k2p")
    pump(trigger, lambda: len(kube.created) == 3 and bucket.counts() == (0, 0))


def test_failures_are_retried_and_the_events_kept_until_a_run_exists(bucket: Bucket, kube: FakeKubernetes, tmp_path: Path) -> None:
    kube.fail_creates = 2
    queue = Recorder(bucket.sqs, kube)
    trigger = Trigger(settings(bucket.queue_url), TEMPLATE, queue, KubernetesRayJobs(kube.url, NAMESPACE))
    bucket.put(f"{PREFIX}x.md")
    stop = threading.Event()
    heartbeat = tmp_path / "alive"
    loop = threading.Thread(target=run, args=(trigger, stop, heartbeat, 0.5), daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 20
        while not kube.created:
            assert time.monotonic() < deadline, "timed out"
            assert not [b for b in queue.deleted if "Records" in b], "deleted before a run existed"
            time.sleep(0.1)
        while bucket.counts() != (0, 0):
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.1)
    finally:
        stop.set()
        loop.join(10)
    assert not loop.is_alive() and len(kube.created) == 1 and kube.fail_creates == 0
    assert heartbeat.exists()


def test_the_entry_point_runs_until_sigterm(bucket: Bucket, kube: FakeKubernetes, moto_url: str, tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(settings(bucket.queue_url).model_dump_json(by_alias=True))
    (tmp_path / "rayjob.json").write_text(json.dumps(TEMPLATE))
    env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL_SQS": moto_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.ingest.trigger", "--settings", str(tmp_path / "settings.json"),
         "--job", str(tmp_path / "rayjob.json"), "--api-server", kube.url, "--heartbeat", str(tmp_path / "alive")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        bucket.put(f"{PREFIX}cli.md")
        deadline = time.monotonic() + 60
        while not kube.created or bucket.counts() != (0, 0):
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "started ingest run llmops-ingest-" in output and "dropping message" in output  # the S3 test event
    assert (tmp_path / "alive").exists()


def test_bad_settings_are_refused_with_the_field(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"queueUrl": "q", "debounceSeconds": 5000}))
    (tmp_path / "rayjob.json").write_text(json.dumps(TEMPLATE))
    done = subprocess.run(
        [sys.executable, "-m", "serving.ingest.trigger", "--settings", str(tmp_path / "settings.json"), "--job", str(tmp_path / "rayjob.json")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "debounceSeconds" in done.stderr and "namespace" in done.stderr


# ----------------------------------------------------------------------------- pure parts


def test_messages_are_classified() -> None:
    created = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"object": {"key": "documents/my+doc%3F.md"}}}]}
    assert classify(json.dumps(created)).keys == ("documents/my doc?.md",)
    removed = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "documents/a.md"}}}]}
    assert classify(json.dumps(removed)).kind == "other"
    assert classify(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})).kind == "test"
    assert classify("{").kind == "malformed" and classify("[1, 2]").kind == "malformed"
    assert classify(json.dumps({"Records": [{"eventSource": "aws:sns"}]})).kind == "malformed"
    assert classify(json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]})).kind == "malformed"


def test_runs_under_way_and_old_runs() -> None:
    def job(name: str, created: str, state: str | None, labels: dict[str, str] = STARTED_BY) -> dict[str, Any]:
        return {"metadata": {"name": name, "labels": labels, "creationTimestamp": created}, "status": {"jobDeploymentStatus": state} if state else {}}

    assert is_active(job("a", "1", None)) and is_active(job("a", "1", "Running")) and is_active(job("a", "1", "Retrying"))
    assert not is_active(job("a", "1", "Complete")) and not is_active(job("a", "1", "Failed"))
    jobs = [job("r1", "2026-11-01", "Complete"), job("r2", "2026-11-02", "Failed"), job("r3", "2026-11-03", "Complete"),
            job("r4", "2026-11-04", "Running"), job("cron", "2026-10-01", "Complete", CRON)]
    assert expired_runs(jobs, STARTED_BY, 2) == ["r1"], "keeps the newest finished runs; never touches others' runs"
    assert expired_runs(jobs, STARTED_BY, 0) == ["r3", "r2", "r1"]
    assert run_name("llmops-ingest", datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC)).startswith("llmops-ingest-261130120005-")
