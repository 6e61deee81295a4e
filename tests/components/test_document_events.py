"""``DocumentStore`` with :class:`DocumentEventsArgs`: S3 announces new documents on an SQS
queue (SSE-SQS) that only S3 may write to, for this bucket and account, with a dead-letter
queue behind a redrive policy; the notification waits for the queue policy; the queues
feed the alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.alerting import AlarmThresholds, alarm_specs
from components.data import DocumentEventsArgs, DocumentStore, DocumentStoreArgs
from components.monitoring import Queue
from tests.harness import Recorded, aws_provider, run
from tests.support import component_children, only

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def announced() -> Recorded[DocumentStore]:
    def build() -> DocumentStore:
        return DocumentStore(
            "use1-documents",
            DocumentStoreArgs(
                region="us-east-1",
                identifier="llmops-test-us-east-1",
                events=DocumentEventsArgs(prefix="documents/", max_receive_count=7, retention_seconds=86400, held_seconds=7200),
            ),
            opts=aws_provider("us-east-1"),
        )

    return run(build)


def _children(recorded: Recorded[Any]) -> list[Any]:
    return component_children(recorded, "use1-documents")


def test_the_queues_are_encrypted_and_the_events_queue_redrives_to_the_dead_letter_queue(announced: Recorded[DocumentStore]) -> None:
    resources = _children(announced)
    queue, dead = only(resources, "aws:sqs/queue:Queue", "-events"), only(resources, "aws:sqs/queue:Queue", "-events-dlq")
    for q in (queue, dead):
        assert q.inputs["sqsManagedSseEnabled"] is True and "kmsMasterKeyId" not in q.inputs, q.urn
    assert json.loads(queue.inputs["redrivePolicy"]) == {"deadLetterTargetArn": dead.outputs["arn"], "maxReceiveCount": 7}
    assert queue.inputs["messageRetentionSeconds"] == 86400 and queue.inputs["visibilityTimeoutSeconds"] == 300
    assert queue.inputs["receiveWaitTimeSeconds"] == 20
    assert dead.inputs["messageRetentionSeconds"] == 14 * 24 * 3600  # longer than the source's
    allow = only(resources, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert allow.inputs["queueUrl"] == dead.outputs["url"]
    assert json.loads(allow.inputs["redriveAllowPolicy"]) == {"redrivePermission": "byQueue", "sourceQueueArns": [queue.outputs["arn"]]}


def test_only_s3_sends_and_only_for_this_bucket_and_account(announced: Recorded[DocumentStore]) -> None:
    resources = _children(announced)
    queue = only(resources, "aws:sqs/queue:Queue", "-events")
    bucket = only(resources, "aws:s3/bucket:Bucket")
    policy = only(resources, "aws:sqs/queuePolicy:QueuePolicy", "-events")
    assert policy.inputs["queueUrl"] == queue.outputs["url"]
    allow, deny = json.loads(policy.inputs["policy"])["Statement"]
    assert allow == {
        "Sid": "S3SendsTheBucketsEvents",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue.outputs["arn"],
        "Condition": {"ArnEquals": {"aws:SourceArn": bucket.outputs["arn"]}, "StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    dead_policy = only(resources, "aws:sqs/queuePolicy:QueuePolicy", "-events-dlq")
    (statement,) = json.loads(dead_policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Deny", "nobody outside the account is let in to the dead letters"


def test_the_notification_announces_new_objects_under_the_prefix_after_the_queue_policy(announced: Recorded[DocumentStore]) -> None:
    resources = _children(announced)
    notification = only(resources, "aws:s3/bucketNotification:BucketNotification")
    queue = only(resources, "aws:sqs/queue:Queue", "-events")
    policy = only(resources, "aws:sqs/queuePolicy:QueuePolicy", "-events")
    bucket = only(resources, "aws:s3/bucket:Bucket")
    assert notification.inputs["bucket"] == bucket.id
    assert notification.inputs["queues"] == [
        {"id": "new-documents", "queueArn": queue.outputs["arn"], "events": ["s3:ObjectCreated:*"], "filterPrefix": "documents/"}
    ]
    assert policy.urn in notification.dependencies, "S3 checks it may send when the notification is configured"
    assert not notification.inputs.get("lambdaFunctions") and not notification.inputs.get("topics")


def test_outputs_and_alarms_name_the_queues(announced: Recorded[DocumentStore]) -> None:
    resources = _children(announced)
    queue, dead = only(resources, "aws:sqs/queue:Queue", "-events"), only(resources, "aws:sqs/queue:Queue", "-events-dlq")
    outputs = announced.outputs_of(announced.one("llmops:data:DocumentStore"))
    assert (outputs["eventsQueueUrl"], outputs["eventsQueueArn"], outputs["eventsDeadLetterQueueArn"]) == (
        queue.outputs["url"], queue.outputs["arn"], dead.outputs["arn"],
    )
    watched = {m.key: m for m in announced.value.monitoring}
    assert set(watched) == {"document-events", "document-events-dlq"}
    events, dead_letters = watched["document-events"], watched["document-events-dlq"]
    assert isinstance(events, Queue) and isinstance(dead_letters, Queue)
    assert (events.held_seconds, events.dead_letter, dead_letters.dead_letter) == (7200, False, True)
    thresholds = AlarmThresholds(queue_age_seconds=300)
    (age,) = alarm_specs(events, thresholds)
    assert (age.metric_name, age.threshold) == ("ApproximateAgeOfOldestMessage", 7200)  # events wait for a run by design
    (depth,) = alarm_specs(dead_letters, thresholds)
    assert (depth.id, depth.metric_name, depth.threshold, depth.comparison) == (
        "dead-letters", "ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold",
    )


def test_without_events_there_is_no_queue() -> None:
    recorded = run(lambda: DocumentStore("d", DocumentStoreArgs(region="us-east-1", identifier="llmops-plain"), opts=aws_provider()))
    assert recorded.of_type("aws:sqs/queue:Queue") == [] and recorded.of_type("aws:s3/bucketNotification:BucketNotification") == []
    assert recorded.value.monitoring == ()
    assert recorded.outputs_of(recorded.one("llmops:data:DocumentStore")).get("eventsQueueUrl") is None


def test_event_settings_are_checked_before_anything_is_created() -> None:
    bad = DocumentEventsArgs(prefix="documents", max_receive_count=0, retention_seconds=30, visibility_timeout_seconds=50000)
    with pytest.raises(ValueError) as err:
        DocumentStoreArgs(region="us-east-1", identifier="x", events=bad).validate()
    text = str(err.value)
    for fragment in (
        "DocumentStoreArgs.events.prefix: 'documents' must be a key prefix ending with '/'",
        "DocumentStoreArgs.events.max_receive_count: must be between 1 and 1000 (got 0)",
        "DocumentStoreArgs.events.retention_seconds: must be between 60 and 1209600 (got 30)",
        "DocumentStoreArgs.events.visibility_timeout_seconds: must be between 0 and 43200 (got 50000)",
    ):
        assert fragment in text
    assert DocumentEventsArgs(prefix="").problems("x") == []  # the whole bucket
