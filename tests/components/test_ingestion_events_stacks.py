"""``llmops:data.ingestion.trigger`` in the schema and the composition: staging starts runs
on new documents (and nightly); each region's trigger reads that region's document queue;
the queues feed that region's alarms; events without a serving plane or a data plane, and
settings out of bounds, are config errors with their path and fix."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmops.engine.report import plan_document
from stacks.config import ConfigError, parse, stack_file_values
from tests.support import of_type, one

STACKS = Path(__file__).resolve().parents[2] / "stacks"


@pytest.fixture(scope="module")
def staging(shipped: Any) -> dict[str, Any]:
    return plan_document(shipped.plan("staging"))


def staging_config() -> dict[str, Any]:
    document = yaml.safe_load((STACKS / "Pulumi.staging.yaml").read_text())
    return stack_file_values(document["config"])


def test_staging_starts_runs_on_new_documents_in_every_region(staging: dict[str, Any]) -> None:
    for region in ("us-east-1", "us-west-2"):
        queue_policy = one(staging, "aws:sqs/queuePolicy:QueuePolicy", f"{region}-documents-events")
        queue_arn = json.loads(queue_policy["inputs"]["policy"])["Statement"][0]["Resource"]
        policy = one(staging, "aws:iam/rolePolicy:RolePolicy", f"{region}-serving-ingest-trigger-queue")
        (statement,) = json.loads(policy["inputs"]["policy"])["Statement"]
        assert statement["Resource"] == queue_arn and f":sqs:{region}:" in queue_arn, "the region's own queue"
        settings = json.loads(one(staging, "kubernetes:core/v1:ConfigMap", f"{region}-serving-ingest-trigger")["inputs"]["data"]["settings.json"])
        assert settings["region"] == region and settings["queueUrl"] == queue_policy["inputs"]["queueUrl"]
        assert settings["debounceSeconds"] == 60
        notification = one(staging, "aws:s3/bucketNotification:BucketNotification", f"{region}-documents-events")
        assert notification["inputs"]["queues"][0]["filterPrefix"] == "documents/"
        assert one(staging, "kubernetes:ray.io/v1:RayCronJob", region=region)  # the nightly safety net
    assert len(of_type(staging, "kubernetes:apps/v1:Deployment")) == 2


def test_the_queues_alarm_in_their_region(staging: dict[str, Any]) -> None:
    alarms = [a for a in of_type(staging, "aws:cloudwatch/metricAlarm:MetricAlarm") if a["inputs"].get("namespace") == "AWS/SQS"]
    by_metric = {(a["region"], a["inputs"]["metricName"], a["inputs"]["dimensions"]["QueueName"]) for a in alarms}
    for region in ("us-east-1", "us-west-2"):
        dead_policy = one(staging, "aws:sqs/queuePolicy:QueuePolicy", f"{region}-documents-events-dlq")
        dead_name = json.loads(dead_policy["inputs"]["policy"])["Statement"][0]["Resource"].rsplit(":", 1)[-1]
        assert (region, "ApproximateNumberOfMessagesVisible", dead_name) in by_metric
    ages = [a for a in alarms if a["inputs"]["metricName"] == "ApproximateAgeOfOldestMessage" and "document-events" in a["name"]]
    assert len(ages) == 2 and all(a["inputs"]["threshold"] > 6 * 3600 for a in ages), "a run under way holds events by design"


def test_other_stacks_have_no_event_queue(dev_document: dict[str, Any], prod_document: dict[str, Any]) -> None:
    for document in (dev_document, prod_document):
        assert not [q for q in of_type(document, "aws:sqs/queue:Queue") if "documents-events" in q["name"]]
        assert not of_type(document, "aws:s3/bucketNotification:BucketNotification")


def test_the_trigger_settings_have_bounds() -> None:
    config = staging_config()
    config["data"]["ingestion"]["events"] = {"debounceSeconds": 901, "maxReceiveCount": 0, "retentionDays": 15, "history": -1}
    config["data"]["ingestion"]["trigger"] = "s3"
    with pytest.raises(ConfigError) as caught:
        parse(config)
    problems = {p.path: p.message for p in caught.value.problems}
    for path in ("debounceSeconds", "maxReceiveCount", "retentionDays", "history"):
        assert f"llmops:data.ingestion.events.{path}" in problems, problems
    assert "llmops:data.ingestion.trigger" in problems and "'schedule', 'events' or 'both'" in problems["llmops:data.ingestion.trigger"]


@pytest.mark.parametrize(
    ("change", "fix"),
    [
        (lambda c: c.pop("serving"), "add a serving section (enabled: true), or set ingestion.enabled: false"),
        (lambda c: c["serving"].update(enabled=False), "the stack has no serving plane"),
        (lambda c: c["data"].update(enabled=False), "set data.enabled: true, or ingestion.enabled: false"),
    ],
    ids=["no serving section", "serving off", "data plane off"],
)
def test_ingestion_needs_the_serving_plane_and_the_data_plane(change: Any, fix: str) -> None:
    config = staging_config()
    change(config)
    with pytest.raises(ConfigError) as caught:
        parse(config)
    problems = {p.path: p.message for p in caught.value.problems}
    assert fix in problems.get("llmops:data.ingestion.enabled", ""), problems


def test_the_shipped_staging_config_parses_with_both_triggers() -> None:
    ingestion = parse(staging_config()).data.ingestion
    assert (ingestion.enabled, ingestion.trigger, ingestion.events.debounce_seconds) == (True, "both", 60)
    off = copy.deepcopy(staging_config())
    off["data"]["ingestion"]["enabled"] = False
    off.pop("serving")
    assert parse(off).data.ingestion.enabled is False  # off: nothing to check
