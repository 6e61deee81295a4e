"""The ingestion trigger: starts an ingest run on the cluster when new documents land.

S3 announces every new object under the ingestion prefix on an SQS queue. This small,
long-running process (``python -m serving.ingest.trigger``, one replica in the serving
namespace) long-polls that queue and:

1. gathers the events of a burst for ``debounceSeconds`` after the first one;
2. waits while any ingest ``RayJob`` is under way (one it started, or the ``RayCronJob``'s):
   that run may have listed the prefix before these objects landed, so a follow-up is
   needed, and two runs at once would only compete for the same rows;
3. creates one ``RayJob`` from the template it was given (the very spec the ``RayCronJob``
   uses, rendered once by the serving plane) under a unique name;
4. deletes the events only then: a run that will list their objects exists. Until then it
   keeps them hidden from other readers (``ChangeMessageVisibility``); if it dies, they
   come back and the next trigger starts the run.

The pipeline is idempotent and resumable, so one run over the whole prefix ingests whatever
changed, however many events announced it: the events only say *when* to run. S3's
``s3:TestEvent`` (sent when the notification is configured), events of other kinds and
messages that are not S3 events are logged and deleted; no message stops the loop, and
AWS or Kubernetes errors are retried with backoff.

Kubernetes is reached over plain HTTPS with the pod's service account token (re-read for
every request, as the kubelet rotates it) and the cluster CA: the trigger needs three calls
on one resource (list, create, delete ``rayjobs``), which ``httpx`` (already a serving
dependency) covers without the official client and its dependencies in the image.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote_plus

import httpx
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
FINISHED_STATES = frozenset({"Complete", "Failed", "ValidationFailed", "Suspended"})
"""``status.jobDeploymentStatus`` of a RayJob that no longer runs (KubeRay v1.7)."""
MAX_BATCH = 10
"""SQS takes at most ten entries per batch call."""


class TriggerSettings(BaseModel):
    """The trigger's settings file (rendered by the serving plane into its ConfigMap)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    queue_url: str
    """The S3 event queue."""
    region: str
    """Its region."""
    namespace: str
    """Where the RayJobs are."""
    job_name_prefix: str = Field(min_length=1, max_length=28)
    """Name of the runs it starts, before ``-<yymmddHHMMSS>-<4 hex>``."""
    ingest_runs: list[dict[str, str]] = Field(min_length=1)
    """A RayJob whose labels include any one of these is an ingest run."""
    started_by: dict[str, str]
    """Labels of the runs this trigger starts (finished ones past ``history`` it deletes)."""
    debounce_seconds: float = Field(default=60, ge=0, le=900)
    visibility_timeout_seconds: int = Field(default=300, ge=30, le=43200)
    history: int = Field(default=3, ge=0, le=100)
    poll_seconds: int = Field(default=20, ge=1, le=20)
    """Longest SQS long poll (and so the longest wait between two checks of the runs)."""


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Classified:
    """What a queue message says."""

    kind: Literal["objects", "test", "other", "malformed"]
    keys: tuple[str, ...] = ()
    """``objects``: the new objects' keys."""
    reason: str = ""


def classify(body: str) -> Classified:
    """An SQS message body from S3: new objects (``ObjectCreated:*`` records), S3's test
    event, other S3 events, or not an S3 event at all."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        return Classified("malformed", reason=f"not JSON ({exc})")
    if not isinstance(doc, dict):
        return Classified("malformed", reason=f"a JSON {type(doc).__name__}, not an object")
    if doc.get("Event") == "s3:TestEvent":
        return Classified("test", reason=f"S3 test event for bucket {doc.get('Bucket')!r}")
    records = doc.get("Records")
    if not isinstance(records, list) or not records:
        return Classified("malformed", reason="no Records")
    keys: list[str] = []
    others: list[str] = []
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            return Classified("malformed", reason="a record that is not an S3 event")
        name = str(record.get("eventName", ""))
        key = (record.get("s3") or {}).get("object", {}).get("key") if isinstance(record.get("s3"), dict) else None
        if not isinstance(key, str):
            return Classified("malformed", reason="an S3 record without s3.object.key")
        if name.startswith("ObjectCreated:"):
            keys.append(unquote_plus(key))
        else:
            others.append(name)
    if not keys:
        return Classified("other", reason=f"S3 events {sorted(set(others))} start no run")
    return Classified("objects", keys=tuple(keys))


# ----------------------------------------------------------------------------- Kubernetes


class KubernetesError(RuntimeError):
    """The API server refused or could not be reached."""


class RayJobs(Protocol):
    """The three calls the trigger makes on ``rayjobs.ray.io`` in its namespace."""

    def list(self) -> list[dict[str, Any]]: ...

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]: ...

    def delete(self, name: str) -> None: ...


class KubernetesRayJobs:
    """``rayjobs.ray.io`` of one namespace over the API server's REST API."""

    def __init__(
        self, server: str, namespace: str, *, token_file: Path | None = None, ca_file: Path | None = None, timeout: float = 30.0
    ) -> None:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else True
        self._client = httpx.Client(base_url=server.rstrip("/"), verify=verify, timeout=timeout)
        self._path = f"/apis/ray.io/v1/namespaces/{namespace}/rayjobs"
        self._token_file = token_file

    @classmethod
    def in_cluster(cls, namespace: str) -> KubernetesRayJobs:
        """The API server as a pod sees it, with the pod's service account."""
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise KubernetesError("KUBERNETES_SERVICE_HOST is not set: not in a pod; pass --api-server")
        if ":" in host:
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", namespace, token_file=SERVICE_ACCOUNT_DIR / "token", ca_file=SERVICE_ACCOUNT_DIR / "ca.crt")

    def _headers(self) -> dict[str, str]:
        if self._token_file is None:
            return {}
        return {"Authorization": f"Bearer {self._token_file.read_text().strip()}"}

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, json=body, headers=self._headers())
        except (httpx.HTTPError, OSError) as exc:
            raise KubernetesError(f"{method} {path}: {exc}") from exc
        if response.status_code >= 300:
            raise KubernetesError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}")
        result = response.json()
        return result if isinstance(result, dict) else {}

    def list(self) -> list[dict[str, Any]]:
        items = self._call("GET", self._path).get("items") or []
        return [i for i in items if isinstance(i, dict)]

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", self._path, obj)

    def delete(self, name: str) -> None:
        self._call("DELETE", f"{self._path}/{name}")


def _labels(job: Mapping[str, Any]) -> dict[str, str]:
    return dict((job.get("metadata") or {}).get("labels") or {})


def is_ingest_run(job: Mapping[str, Any], selectors: Sequence[Mapping[str, str]]) -> bool:
    labels = _labels(job)
    return any(all(labels.get(k) == v for k, v in s.items()) for s in selectors)


def is_active(job: Mapping[str, Any]) -> bool:
    """Under way (or just created): not finished and not being deleted."""
    if (job.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return (job.get("status") or {}).get("jobDeploymentStatus") not in FINISHED_STATES


def expired_runs(jobs: Sequence[Mapping[str, Any]], started_by: Mapping[str, str], history: int) -> list[str]:
    """The finished runs this trigger started beyond the newest ``history``."""
    mine = [j for j in jobs if is_ingest_run(j, [started_by]) and not is_active(j)]
    mine.sort(key=lambda j: str((j.get("metadata") or {}).get("creationTimestamp", "")), reverse=True)
    return [str(j["metadata"]["name"]) for j in mine[history:]]


def run_name(prefix: str, now: datetime) -> str:
    """A unique RayJob name: ``<prefix>-<yymmddHHMMSS>-<4 hex>`` (at most 47 characters)."""
    return f"{prefix}-{now:%y%m%d%H%M%S}-{secrets.token_hex(2)}"


# ----------------------------------------------------------------------------- the loop


class Queue(Protocol):
    """The boto3 SQS client calls the trigger makes."""

    def receive_message(self, **kwargs: Any) -> dict[str, Any]: ...

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]: ...

    def change_message_visibility_batch(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass
class Held:
    """A message announcing new objects, kept until a run that will see them exists."""

    receipt: str
    hidden_until: float
    keys: int


@dataclass
class Trigger:
    """The poll-debounce-start loop (:meth:`poll_once`), over injectable SQS and Kubernetes
    clients and clock."""

    settings: TriggerSettings
    job_template: Mapping[str, Any]
    queue: Queue
    ray_jobs: RayJobs
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    held: dict[str, Held] = field(default_factory=dict)
    burst_started: float | None = None
    waiting_for: str | None = None
    started: list[str] = field(default_factory=list)
    """Names of the runs started, oldest first."""

    def poll_once(self) -> None:
        """One long poll, then start a run if one is due. Raises what SQS or Kubernetes
        raised (the caller backs off and tries again)."""
        self._receive(self._wait_seconds())
        if not self.held or self.burst_started is None:
            return
        now = self.clock()
        if now - self.burst_started < self.settings.debounce_seconds:
            self._keep_hidden(now)
            return
        jobs = self.ray_jobs.list()
        self._tidy(jobs)
        running = sorted(str(j["metadata"]["name"]) for j in jobs if is_ingest_run(j, self.settings.ingest_runs) and is_active(j))
        if running:
            if self.waiting_for != running[0]:
                log.info("%d event(s) wait for the ingest run under way (%s) to end", len(self.held), ", ".join(running))
                self.waiting_for = running[0]
            self._keep_hidden(now)
            return
        name = self._start()
        log.info("started ingest run %s for %d event(s)", name, len(self.held))
        seen = {mid: h.receipt for mid, h in self.held.items()}
        self.held.clear()
        self.burst_started = None
        self.waiting_for = None
        self._delete_receipts(seen, "seen by the run")

    def _wait_seconds(self) -> int:
        if not self.held or self.burst_started is None:
            return self.settings.poll_seconds
        left = self.settings.debounce_seconds - (self.clock() - self.burst_started)
        return max(1, min(self.settings.poll_seconds, int(left + 0.999))) if left > 0 else self.settings.poll_seconds

    def _receive(self, wait: int) -> None:
        response = self.queue.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=MAX_BATCH,
            WaitTimeSeconds=wait,
            VisibilityTimeout=self.settings.visibility_timeout_seconds,
        )
        now = self.clock()
        dropped: dict[str, str] = {}
        for message in response.get("Messages") or []:
            message_id, receipt = str(message.get("MessageId")), str(message.get("ReceiptHandle"))
            what = classify(str(message.get("Body", "")))
            if what.kind != "objects":
                log.info("dropping message %s: %s", message_id, what.reason)
                dropped[message_id] = receipt
                continue
            if not self.held:
                self.burst_started = now
                log.info("new documents announced; starting a run in %gs unless more arrive", self.settings.debounce_seconds)
            self.held[message_id] = Held(receipt, now + self.settings.visibility_timeout_seconds, len(what.keys))
        if dropped:
            self._delete_receipts(dropped, "dropped")

    def _keep_hidden(self, now: float) -> None:
        """Extends the hiding of held messages due to reappear within half the timeout."""
        timeout = self.settings.visibility_timeout_seconds
        due = {mid: h for mid, h in self.held.items() if h.hidden_until - now < timeout / 2}
        ids = list(due)
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start : start + MAX_BATCH]
            response = self.queue.change_message_visibility_batch(
                QueueUrl=self.settings.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": due[mid].receipt, "VisibilityTimeout": timeout} for i, mid in enumerate(chunk)],
            )
            for ok in response.get("Successful") or []:
                due[chunk[int(ok["Id"])]].hidden_until = now + timeout
            for failed in response.get("Failed") or []:
                # Past SQS's 12-hour cap, or a stale receipt: the message comes back and is
                # received (and held) again.
                mid = chunk[int(failed["Id"])]
                log.warning("could not keep message %s hidden (%s); it will be received again", mid, failed.get("Code"))
                self.held.pop(mid, None)
        if not self.held:
            self.burst_started = None

    def _start(self) -> str:
        name = run_name(self.settings.job_name_prefix, self.now())
        obj = json.loads(json.dumps(self.job_template))
        obj.setdefault("metadata", {})["name"] = name
        obj["metadata"]["namespace"] = self.settings.namespace
        obj["metadata"].setdefault("labels", {}).update(self.settings.started_by)
        obj["metadata"].setdefault("annotations", {})["llmops.io/announced-objects"] = str(sum(h.keys for h in self.held.values()))
        self.ray_jobs.create(obj)
        self.started.append(name)
        return name

    def _delete_receipts(self, receipts: Mapping[str, str], why: str) -> None:
        ids = list(receipts)
        for start in range(0, len(ids), MAX_BATCH):
            chunk = ids[start : start + MAX_BATCH]
            response = self.queue.delete_message_batch(
                QueueUrl=self.settings.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": receipts[mid]} for i, mid in enumerate(chunk)],
            )
            for failed in response.get("Failed") or []:
                # Received again later: at worst one more (idempotent) run.
                log.warning("could not delete %s message %s: %s", why, chunk[int(failed["Id"])], failed.get("Code"))

    def _tidy(self, jobs: Sequence[Mapping[str, Any]]) -> None:
        for name in expired_runs(jobs, self.settings.started_by, self.settings.history):
            try:
                self.ray_jobs.delete(name)
                log.info("deleted finished ingest run %s", name)
            except KubernetesError as exc:
                log.warning("could not delete finished ingest run %s: %s", name, exc)


def run(trigger: Trigger, stop: threading.Event, heartbeat: Path | None = None, max_backoff: float = 60.0) -> None:
    """Polls until ``stop`` is set; any error is logged and retried after a backoff (1 s,
    doubling up to ``max_backoff``), so no message and no outage ends the loop."""
    failures = 0
    while not stop.is_set():
        try:
            trigger.poll_once()
            failures = 0
        except Exception as exc:  # the loop must outlive any one failure
            failures += 1
            delay = min(max_backoff, 2.0 ** (failures - 1))
            log.error("poll failed (%s: %s); retrying in %gs", type(exc).__name__, exc, delay)
            stop.wait(delay)
        if heartbeat is not None:
            heartbeat.touch()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m serving.ingest.trigger --settings settings.json --job rayjob.json``."""
    parser = argparse.ArgumentParser(prog="python -m serving.ingest.trigger")
    parser.add_argument("--settings", required=True, type=Path, help="the trigger's settings (JSON)")
    parser.add_argument("--job", required=True, type=Path, help="the RayJob to create (JSON, without a name)")
    parser.add_argument("--heartbeat", type=Path, help="a file touched after every poll (liveness)")
    parser.add_argument("--api-server", help="the Kubernetes API server (default: the pod's, with its service account)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = TriggerSettings.model_validate_json(args.settings.read_text())
        template = json.loads(args.job.read_text())
        if not isinstance(template, dict) or template.get("kind") != "RayJob":
            raise ValueError(f"{args.job}: not a RayJob")
    except (OSError, ValueError) as exc:
        print(f"ingest trigger: {exc}", file=sys.stderr)
        return 2
    import boto3

    ray_jobs = KubernetesRayJobs(args.api_server, settings.namespace) if args.api_server else KubernetesRayJobs.in_cluster(settings.namespace)
    trigger = Trigger(settings, template, boto3.client("sqs", region_name=settings.region), ray_jobs)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("reading %s; runs named %s-*", settings.queue_url, settings.job_name_prefix)
    run(trigger, stop, args.heartbeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
