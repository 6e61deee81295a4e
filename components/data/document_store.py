"""``DocumentStore``: one region's S3 bucket for source documents and model artifacts.

Versioned; encrypted by default with a customer-managed KMS key (SSE-KMS with an S3 bucket
key, so requests do not each call KMS); all public access blocked; ACLs off (the bucket
owner owns every object); a bucket policy that refuses requests without TLS; lifecycle rules
that expire noncurrent versions and abort incomplete multipart uploads. With
:attr:`DocumentStoreArgs.replicate_to` the bucket replicates every object (and delete
marker) to another region's bucket, re-encrypted there with that bucket's key, through a role
that may do only that.

With :attr:`DocumentStoreArgs.events` new objects under a prefix are announced on an SQS
queue of the component's own (S3 event notifications, ``s3:ObjectCreated:*``), for the
ingestion trigger to read: encrypted with SQS-managed keys, written only by S3 on behalf of
this bucket and account, with a dead-letter queue for messages read too often without being
deleted.

The bucket is emptied on destroy only when :attr:`DocumentStoreArgs.force_destroy` says so
(the composition allows it in throwaway environments). Give the component the region's AWS
provider.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.data.common import (
    Access,
    Account,
    account_of,
    attach_policy,
    bounded_name,
    bucket_controls,
    identifier_problems,
    kms_key,
)
from components.iam import assume_role_policy, deny_without_tls, policy_json
from components.monitoring import Monitored, Queue
from components.naming import TYPE_PREFIX, name_tags

MAX_QUEUE_RETENTION_SECONDS = 14 * 24 * 3600
"""SQS keeps a message at most 14 days."""
MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600
"""SQS hides a received message at most 12 hours."""


@dataclass(frozen=True)
class ReplicationTarget:
    """The bucket another region's document store replicates into."""

    region: str
    """The destination's region (its KMS key lives there)."""
    bucket_arn: pulumi.Input[str]
    """The destination bucket (versioned)."""
    kms_key_arn: pulumi.Input[str]
    """The destination's KMS key: replicas are encrypted with it."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the destination's store: its versioning must be on)."""


@dataclass(frozen=True)
class DocumentEventsArgs:
    """S3 event notifications of new documents, on an SQS queue (and its dead-letter queue)."""

    prefix: str
    """Key prefix announced (``documents/``; empty: the whole bucket)."""
    consumer: str = "the ingestion trigger"
    """Who reads the queue, for the alarm text."""
    max_receive_count: int = 5
    """Receives of a message without its deletion before SQS moves it to the dead-letter
    queue (1 to 1000)."""
    retention_seconds: int = 4 * 24 * 3600
    """How long an unread event is kept (60 s to 14 days); the dead-letter queue keeps its
    messages 14 days."""
    visibility_timeout_seconds: int = 300
    """How long a received event stays hidden from other readers unless the reader extends
    it (0 to 12 hours)."""
    held_seconds: float = 0.0
    """How long the reader may hold events by design (while an ingest run is under way): the
    oldest-message alarm fires only past it."""

    def problems(self, path: str) -> list[str]:
        found = []
        if self.prefix.startswith("/") or (self.prefix and not self.prefix.endswith("/")):
            found.append(f"{path}.prefix: {self.prefix!r} must be a key prefix ending with '/' (or empty for the whole bucket)")
        if not 1 <= self.max_receive_count <= 1000:
            found.append(f"{path}.max_receive_count: must be between 1 and 1000 (got {self.max_receive_count})")
        if not 60 <= self.retention_seconds <= MAX_QUEUE_RETENTION_SECONDS:
            found.append(f"{path}.retention_seconds: must be between 60 and {MAX_QUEUE_RETENTION_SECONDS} (got {self.retention_seconds})")
        if not 0 <= self.visibility_timeout_seconds <= MAX_VISIBILITY_TIMEOUT_SECONDS:
            found.append(
                f"{path}.visibility_timeout_seconds: must be between 0 and {MAX_VISIBILITY_TIMEOUT_SECONDS} (got {self.visibility_timeout_seconds})"
            )
        if self.held_seconds < 0:
            found.append(f"{path}.held_seconds: must be >= 0 (got {self.held_seconds})")
        return found


@dataclass(frozen=True)
class DocumentStoreArgs:
    """Arguments of :class:`DocumentStore`."""

    region: str
    """AWS region code; must match the provider the component is given."""
    identifier: str
    """Prefix of the bucket's generated name (S3 adds a unique suffix)."""
    noncurrent_version_days: int = 30
    """Days an overwritten or deleted object's previous version is kept (1 to 3650)."""
    abort_multipart_days: int = 7
    """Days after which an unfinished multipart upload is aborted (1 to 365)."""
    force_destroy: bool = False
    """Delete every object (and version) when the bucket is destroyed."""
    access_log_days: int = 0
    """Keep S3 server access logs of the bucket this many days, in a log bucket of the
    component's own (0: no access logs)."""
    replicate_to: ReplicationTarget | None = None
    """Replicate every object to this bucket in another region."""
    events: DocumentEventsArgs | None = None
    """Announce new documents on an SQS queue; None: no notifications."""
    access: Access = field(default_factory=Access)
    """Roles that read and write documents (the serving plane's, the ingestion job's)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags added to every child (the provider's default tags carry the cost tags)."""

    def validate(self) -> None:
        """Raises ``ValueError`` listing every problem, before any child is created."""
        found = identifier_problems("DocumentStoreArgs.identifier", self.identifier)
        found += self.access.problems("DocumentStoreArgs.access")
        if not 1 <= self.noncurrent_version_days <= 3650:
            found.append(f"DocumentStoreArgs.noncurrent_version_days: must be between 1 and 3650 (got {self.noncurrent_version_days})")
        if not 0 <= self.access_log_days <= 3650:
            found.append(f"DocumentStoreArgs.access_log_days: must be between 0 and 3650 (got {self.access_log_days})")
        if not 1 <= self.abort_multipart_days <= 365:
            found.append(f"DocumentStoreArgs.abort_multipart_days: must be between 1 and 365 (got {self.abort_multipart_days})")
        if self.replicate_to is not None and self.replicate_to.region == self.region:
            found.append(f"DocumentStoreArgs.replicate_to.region: replication goes to another region, not {self.region}")
        if self.events is not None:
            found += self.events.problems("DocumentStoreArgs.events")
        if found:
            raise ValueError("invalid DocumentStoreArgs:\n  " + "\n  ".join(found))


def tls_only_policy(bucket_arn: str, *extra: dict[str, Any]) -> str:
    """Bucket policy: every request without TLS is refused, whoever makes it (plus ``extra``
    statements)."""
    deny = deny_without_tls("s3:*", [bucket_arn, f"{bucket_arn}/*"], sid="DenyRequestsWithoutTls")
    return json.dumps({"Version": "2012-10-17", "Statement": [deny, *extra]}, sort_keys=True)


def log_delivery_statement(log_bucket_arn: str, source_bucket_arn: str, account: str) -> dict[str, Any]:
    """Bucket policy statement: S3 log delivery writes the source bucket's access logs
    (and nothing else, for no other account)."""
    return {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/*",
        "Condition": {"ArnLike": {"aws:SourceArn": source_bucket_arn}, "StringEquals": {"aws:SourceAccount": account}},
    }


def log_delivery_key_statement(source_bucket_arn: str, account: str) -> dict[str, Any]:
    """Key policy statement: S3 log delivery encrypts the access logs it writes with the key."""
    return {
        "Sid": "S3ServerAccessLogDeliveryEncrypts",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "kms:GenerateDataKey",
        "Resource": "*",
        "Condition": {"ArnLike": {"aws:SourceArn": source_bucket_arn}, "StringEquals": {"aws:SourceAccount": account}},
    }


def read_write_policy(bucket_arn: str, kms_key_arn: str, region: str) -> str:
    """IAM policy: list the bucket, read, write and delete its objects, with the bucket's key
    used through S3 only."""
    return policy_json(
        {"Sid": "ListTheBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
        {
            "Sid": "ReadAndWriteDocuments",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": f"{bucket_arn}/*",
        },
        {
            "Sid": "UseTheBucketKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": kms_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    )


def replication_policy(
    source_arn: str, source_key_arn: str, source_region: str, target_arn: str, target_key_arn: str, target_region: str
) -> str:
    """IAM policy of the replication role: read the source's versions, write replicas into
    the target, decrypt with the source key and encrypt with the target key (through S3)."""
    return policy_json(
        {"Sid": "ReadTheReplicationConfiguration", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": source_arn},
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            "Resource": f"{source_arn}/*",
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": f"{target_arn}/*",
        },
        {
            "Sid": "DecryptSourceObjects",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": source_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"}},
        },
        {
            "Sid": "EncryptReplicas",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": target_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{target_region}.amazonaws.com"}},
        },
    )


def event_queue_policy(queue_arn: str, bucket_arn: str, account: str) -> str:
    """SQS queue policy: S3 sends the events of this bucket, in this account, and nobody else
    sends anything; every request without TLS is refused."""
    return policy_json(
        {
            "Sid": "S3SendsTheBucketsEvents",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}, "StringEquals": {"aws:SourceAccount": account}},
        },
        _deny_without_tls(queue_arn),
    )


def _deny_without_tls(queue_arn: str) -> dict[str, Any]:
    return deny_without_tls("sqs:*", queue_arn, sid="DenyRequestsWithoutTls")


def dead_letter_queue_policy(queue_arn: str) -> str:
    """SQS queue policy of the dead-letter queue: nobody but its own account's principals, and
    only over TLS."""
    return policy_json(_deny_without_tls(queue_arn))


def redrive_policy(dead_letter_arn: str, max_receive_count: int) -> str:
    """The source queue's ``RedrivePolicy`` attribute."""
    return json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receive_count}, sort_keys=True)


def redrive_allow_policy(source_arn: str) -> str:
    """The dead-letter queue's ``RedriveAllowPolicy``: only the events queue may use it."""
    return json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]}, sort_keys=True)


def _abort_uploads(days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-multipart-uploads",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=days),
    )


@dataclass(frozen=True)
class EventQueues:
    """What :meth:`DocumentStore._events` made."""

    queue: aws.sqs.Queue
    dead_letters: aws.sqs.Queue
    monitoring: tuple[Monitored, ...]


class DocumentStore(pulumi.ComponentResource):
    """A region's document bucket."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    access_policy_arn: pulumi.Output[str]
    """IAM policy that reads and writes the documents (attached to :attr:`DocumentStoreArgs.access`)."""
    replication_role_arn: pulumi.Output[str | None]
    events_queue_url: pulumi.Output[str | None]
    """The queue announcing new documents (None without :attr:`DocumentStoreArgs.events`)."""
    events_queue_arn: pulumi.Output[str | None]
    events_dead_letter_queue_arn: pulumi.Output[str | None]

    def __init__(self, name: str, args: DocumentStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:data:DocumentStore", name, None, opts)
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self)
        account = account_of(self)
        prefix = bounded_name(args.identifier, "-docs-", 37)
        bucket = aws.s3.Bucket(name, bucket_prefix=prefix, force_destroy=args.force_destroy, tags=name_tags(tags, name), opts=child)
        logs = args.access_log_days > 0
        key = kms_key(
            f"{name}-key",
            description=f"Document store {prefix}*: objects and access logs at rest",
            alias=bounded_name(args.identifier, "-documents", 250),
            account=account,
            tags=tags,
            opts=child,
            extra_statements=pulumi.Output.all(bucket.arn, account.id).apply(lambda v: [log_delivery_key_statement(v[0], v[1])])
            if logs
            else (),
        )
        controls = self._controls(
            name,
            bucket,
            key,
            policy=bucket.arn.apply(tls_only_policy),
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
                ),
                _abort_uploads(args.abort_multipart_days),
            ],
        )
        if logs:
            self._access_logs(name, args, bucket, key, account)
        access = aws.iam.Policy(
            f"{name}-read-write",
            description=f"Read and write the documents of {prefix}*",
            policy=pulumi.Output.all(bucket.arn, key.arn).apply(lambda v: read_write_policy(v[0], v[1], args.region)),
            tags=name_tags(tags, f"{name}-read-write"),
            opts=child,
        )
        attach_policy(f"{name}-read-write", access.arn, args.access, child)
        replication_role = (
            self._replication(name, args, args.replicate_to, bucket, key, [controls])
            if args.replicate_to is not None
            else None
        )

        events = self._events(name, args, args.events, bucket, account) if args.events is not None else None

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self.access_policy_arn = access.arn
        self.replication_role_arn = pulumi.Output.from_input(replication_role.arn if replication_role else None)
        self.events_queue_url = pulumi.Output.from_input(events.queue.url if events else None)
        self.events_queue_arn = pulumi.Output.from_input(events.queue.arn if events else None)
        self.events_dead_letter_queue_arn = pulumi.Output.from_input(events.dead_letters.arn if events else None)
        self.monitoring: tuple[Monitored, ...] = events.monitoring if events else ()
        """What the alerting watches here: the events queue and its dead-letter queue
        (:mod:`components.monitoring`)."""
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "kmsKeyArn": self.kms_key_arn,
                "accessPolicyArn": self.access_policy_arn,
                "replicationRoleArn": self.replication_role_arn,
                "eventsQueueUrl": self.events_queue_url,
                "eventsQueueArn": self.events_queue_arn,
                "eventsDeadLetterQueueArn": self.events_dead_letter_queue_arn,
            }
        )

    def _events(self, name: str, args: DocumentStoreArgs, events: DocumentEventsArgs, bucket: aws.s3.Bucket, account: Account) -> EventQueues:
        """The events queue, its dead-letter queue, their policies and the bucket's notification.

        Encryption: SQS-managed keys (SSE-SQS). S3 delivers to such a queue without further
        grants, where a customer-managed key would need its key policy to let
        ``s3.amazonaws.com`` generate data keys, and every message would be a KMS request;
        the messages carry object keys and sizes, never document content."""
        child = pulumi.ResourceOptions(parent=self)
        dead_letters = aws.sqs.Queue(
            f"{name}-events-dlq",
            message_retention_seconds=MAX_QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            tags=name_tags(args.tags, f"{name}-events-dlq"),
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{name}-events",
            message_retention_seconds=events.retention_seconds,
            visibility_timeout_seconds=events.visibility_timeout_seconds,
            receive_wait_time_seconds=20,
            sqs_managed_sse_enabled=True,
            redrive_policy=dead_letters.arn.apply(lambda arn: redrive_policy(arn, events.max_receive_count)),
            tags=name_tags(args.tags, f"{name}-events"),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            f"{name}-events-dlq", queue_url=dead_letters.url, redrive_allow_policy=queue.arn.apply(redrive_allow_policy), opts=child
        )
        aws.sqs.QueuePolicy(f"{name}-events-dlq", queue_url=dead_letters.url, policy=dead_letters.arn.apply(dead_letter_queue_policy), opts=child)
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-events",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, bucket.arn, account.id).apply(lambda v: event_queue_policy(v[0], v[1], v[2])),
            opts=child,
        )
        # S3 checks that it may send to the queue when the notification is configured (and
        # sends an s3:TestEvent): the queue policy comes first.
        aws.s3.BucketNotification(
            f"{name}-events",
            bucket=bucket.id,
            queues=[
                aws.s3.BucketNotificationQueueArgs(
                    id="new-documents",
                    queue_arn=queue.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=events.prefix or None,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )
        monitoring: tuple[Monitored, ...] = (
            Queue(key="document-events", queue_name=queue.name, consumer=events.consumer, held_seconds=events.held_seconds),
            Queue(key="document-events-dlq", queue_name=dead_letters.name, consumer=events.consumer, dead_letter=True),
        )
        return EventQueues(queue=queue, dead_letters=dead_letters, monitoring=monitoring)

    def _controls(
        self,
        name: str,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key,
        *,
        policy: pulumi.Input[str],
        rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs],
    ) -> aws.s3.BucketVersioning:
        """What every bucket of the component has (:func:`~components.data.common.bucket_controls`),
        encrypted with ``key``. Returns the versioning (replication and lifecycle rules need it
        first)."""
        return bucket_controls(
            name,
            bucket,
            encryption=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=key.arn
            ),
            policy=policy,
            rules=rules,
            parent=self,
        ).versioning

    def _access_logs(self, name: str, args: DocumentStoreArgs, bucket: aws.s3.Bucket, key: aws.kms.Key, account: Account) -> None:
        """S3 server access logs of the documents bucket, in a bucket of their own: encrypted
        with the same key (its policy lets S3 log delivery use it for this bucket's logs only),
        written only by S3 log delivery, kept ``access_log_days``."""
        logs_name = f"{name}-access-logs"
        log_bucket = aws.s3.Bucket(
            logs_name,
            bucket_prefix=bounded_name(args.identifier, "-doclogs-", 37),
            force_destroy=args.force_destroy,
            tags=name_tags(args.tags, logs_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._controls(
            logs_name,
            log_bucket,
            key,
            policy=pulumi.Output.all(log_bucket.arn, bucket.arn, account.id).apply(
                lambda v: tls_only_policy(v[0], log_delivery_statement(v[0], v[1], v[2]))
            ),
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.access_log_days),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(noncurrent_days=1),
                ),
                _abort_uploads(args.abort_multipart_days),
            ],
        )
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=bucket.id,
            target_bucket=log_bucket.id,
            target_prefix="access/",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_bucket]),
        )

    def _replication(
        self,
        name: str,
        args: DocumentStoreArgs,
        target: ReplicationTarget,
        bucket: aws.s3.Bucket,
        key: aws.kms.Key,
        depends_on: Sequence[pulumi.Resource],
    ) -> aws.iam.Role:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-replication",
            assume_role_policy=assume_role_policy("s3.amazonaws.com"),
            description=f"S3 replication of the {args.region} documents to {target.region}",
            tags=name_tags(args.tags, f"{name}-replication"),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-replication",
            role=role.id,
            policy=pulumi.Output.all(bucket.arn, key.arn, target.bucket_arn, target.kms_key_arn).apply(
                lambda v: replication_policy(v[0], v[1], args.region, v[2], v[3], target.region)
            ),
            opts=child,
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=bucket.id,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id=f"to-{target.region}",
                    status="Enabled",
                    priority=1,
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=target.bucket_arn,
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=target.kms_key_arn
                        ),
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *target.depends_on, policy]),
        )
        return role
