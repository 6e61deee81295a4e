"""``DocumentStore``: one region's S3 bucket for source documents and model artifacts.

Versioned; encrypted by default with a customer-managed KMS key (SSE-KMS with an S3 bucket
key, so requests do not each call KMS); all public access blocked; ACLs off (the bucket
owner owns every object); a bucket policy that refuses requests without TLS; lifecycle rules
that expire noncurrent versions and abort incomplete multipart uploads. With
:attr:`DocumentStoreArgs.replicate_to` the bucket replicates every object (and delete
marker) to another region's bucket, re-encrypted there with that bucket's key, through a role
that may do only that.

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
from components.iam import assume_role_policy, policy_json
from components.naming import TYPE_PREFIX, name_tags


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
        if found:
            raise ValueError("invalid DocumentStoreArgs:\n  " + "\n  ".join(found))


def tls_only_policy(bucket_arn: str, *extra: dict[str, Any]) -> str:
    """Bucket policy: every request without TLS is refused, whoever makes it (plus ``extra``
    statements)."""
    deny = {
        "Sid": "DenyRequestsWithoutTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
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


def _abort_uploads(days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-multipart-uploads",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=days),
    )


class DocumentStore(pulumi.ComponentResource):
    """A region's document bucket."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    access_policy_arn: pulumi.Output[str]
    """IAM policy that reads and writes the documents (attached to :attr:`DocumentStoreArgs.access`)."""
    replication_role_arn: pulumi.Output[str | None]

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

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self.access_policy_arn = access.arn
        self.replication_role_arn = pulumi.Output.from_input(replication_role.arn if replication_role else None)
        self.register_outputs(
            {
                "bucketName": self.bucket_name,
                "bucketArn": self.bucket_arn,
                "kmsKeyArn": self.kms_key_arn,
                "accessPolicyArn": self.access_policy_arn,
                "replicationRoleArn": self.replication_role_arn,
            }
        )

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
