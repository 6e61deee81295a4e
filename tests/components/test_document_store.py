"""``DocumentStore`` under the mocks harness: the bucket's controls (pulumi-aws 7's separate
resources), its TLS-only policy, lifecycle rules and cross-region replication."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.data import Access, DocumentStore, DocumentStoreArgs, ReplicationTarget
from components.data.common import bounded_name
from components.data.document_store import tls_only_policy
from tests.harness import Recorded, aws_provider, run
from tests.support import component_children, only, provider_urn

INGEST = "arn:aws:iam::123456789012:role/ingest"


@pytest.fixture(scope="module")
def replicated() -> Recorded[Any]:
    def build() -> DocumentStore:
        home = DocumentStore("use1-documents", DocumentStoreArgs(region="us-east-1", identifier="llmops-test-us-east-1"), opts=aws_provider("us-east-1"))
        target = ReplicationTarget(region="us-east-1", bucket_arn=home.bucket_arn, kms_key_arn=home.kms_key_arn, depends_on=[home])
        return DocumentStore(
            "euw1-documents",
            DocumentStoreArgs(
                region="eu-west-1", identifier="llmops-test-eu-west-1", noncurrent_version_days=90, force_destroy=True,
                access_log_days=30, replicate_to=target, access=Access({"ingest": INGEST}),
            ),
            opts=aws_provider("eu-west-1"),
        )

    return run(build)


def test_bucket_is_versioned_kms_encrypted_with_a_bucket_key_and_acl_free(replicated: Recorded[Any]) -> None:
    resources = component_children(replicated, "use1-documents")
    assert len([r for r in resources if r.type == "aws:s3/bucket:Bucket"]) == 1, "no access-log bucket without access_log_days"
    bucket = only(resources, "aws:s3/bucket:Bucket")
    assert bucket.inputs["bucketPrefix"] == "llmops-test-us-east-1-docs-" and bucket.inputs["forceDestroy"] is False
    controls = [r for r in resources if r.type.startswith("aws:s3/bucket") and r.type != "aws:s3/bucket:Bucket"]
    assert controls and all(r.inputs["bucket"] == bucket.id for r in controls)
    versioning = only(resources, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    (rule,) = only(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs["rules"]
    key = only(resources, "aws:kms/key:Key")
    assert rule == {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key.outputs["arn"]}, "bucketKeyEnabled": True}
    assert key.inputs["enableKeyRotation"] is True
    ownership = only(resources, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert not [r for r in resources if r.type == "aws:s3/bucketReplicationConfig:BucketReplicationConfig"]


def test_public_access_is_blocked_and_requests_without_tls_are_refused(replicated: Recorded[Any]) -> None:
    resources = component_children(replicated, "use1-documents")
    block = only(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[f] is True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    bucket = only(resources, "aws:s3/bucket:Bucket")
    policy = only(resources, "aws:s3/bucketPolicy:BucketPolicy")
    assert policy.inputs["bucket"] == bucket.id
    assert only(resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").urn in policy.dependencies
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    arn = bucket.outputs["arn"]
    assert statement == {
        "Sid": "DenyRequestsWithoutTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_lifecycle_expires_old_versions_and_aborts_stale_uploads(replicated: Recorded[Any]) -> None:
    home = only(component_children(replicated, "use1-documents"), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    rules = {r["id"]: r for r in home.inputs["rules"]}
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert all(r["status"] == "Enabled" for r in rules.values())
    versioning = only(component_children(replicated, "use1-documents"), "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.urn in home.dependencies
    other = only(component_children(replicated, "euw1-documents"), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "documents-lifecycle")
    assert {r["id"]: r for r in other.inputs["rules"]}["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}


def test_access_logs_go_to_a_bucket_only_s3_log_delivery_writes_kept_for_the_configured_days(replicated: Recorded[Any]) -> None:
    resources = component_children(replicated, "euw1-documents")
    documents = only(resources, "aws:s3/bucket:Bucket", "euw1-documents")
    logs = only(resources, "aws:s3/bucket:Bucket", "-access-logs")
    logging = only(resources, "aws:s3/bucketLogging:BucketLogging")
    assert (logging.inputs["bucket"], logging.inputs["targetBucket"], logging.inputs["targetPrefix"]) == (documents.id, logs.id, "access/")
    # The log bucket has every control the documents bucket has, and the same key.
    key = only(resources, "aws:kms/key:Key").outputs["arn"]
    on_logs = {r.type.rsplit(":", 1)[-1] for r in resources if r.inputs.get("bucket") == logs.id}
    assert on_logs == {
        "BucketOwnershipControls", "BucketPublicAccessBlock", "BucketVersioning", "BucketServerSideEncryptionConfiguration",
        "BucketPolicy", "BucketLifecycleConfiguration",
    }
    (rule,) = only(resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "-access-logs-encryption").inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
    statements = {s["Sid"]: s for s in json.loads(only(resources, "aws:s3/bucketPolicy:BucketPolicy", "-access-logs-policy").inputs["policy"])["Statement"]}
    assert statements["DenyRequestsWithoutTls"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    delivery = statements["S3ServerAccessLogDelivery"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"} and delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"] == {"ArnLike": {"aws:SourceArn": documents.outputs["arn"]}, "StringEquals": {"aws:SourceAccount": "123456789012"}}
    rules = {r["id"]: r for r in only(resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "-access-logs-lifecycle").inputs["rules"]}
    assert rules["expire-access-logs"]["expiration"] == {"days": 30} and "abort-incomplete-multipart-uploads" in rules
    key_policy = {s["Sid"]: s for s in json.loads(only(resources, "aws:kms/key:Key").inputs["policy"])["Statement"]}
    assert key_policy["S3ServerAccessLogDeliveryEncrypts"]["Condition"]["ArnLike"] == {"aws:SourceArn": documents.outputs["arn"]}
    assert logs.inputs["forceDestroy"] is True


def test_replication_to_the_home_bucket_reencrypts_with_its_key_through_a_narrow_role(replicated: Recorded[Any]) -> None:
    home = component_children(replicated, "use1-documents")
    home_bucket = only(home, "aws:s3/bucket:Bucket").outputs["arn"]
    home_key = only(home, "aws:kms/key:Key").outputs["arn"]
    resources = component_children(replicated, "euw1-documents")
    source_bucket = only(resources, "aws:s3/bucket:Bucket", "euw1-documents")
    assert source_bucket.inputs["forceDestroy"] is True
    config = only(resources, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    role = only(resources, "aws:iam/role:Role", "-replication")
    assert config.inputs["role"] == role.outputs["arn"] and config.inputs["bucket"] == source_bucket.id
    (rule,) = config.inputs["rules"]
    assert rule["destination"] == {"bucket": home_bucket, "encryptionConfiguration": {"replicaKmsKeyId": home_key}}
    assert rule["deleteMarkerReplication"] == {"status": "Enabled"} and rule["status"] == "Enabled"
    assert rule["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
    assert only(resources, "aws:s3/bucketVersioning:BucketVersioning", "euw1-documents-versioning").urn in config.dependencies
    assert only(home, "aws:s3/bucketVersioning:BucketVersioning").urn in config.dependencies, "the home bucket's versioning first"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}
    statements = {s["Sid"]: s for s in json.loads(only(resources, "aws:iam/rolePolicy:RolePolicy", "-replication").inputs["policy"])["Statement"]}
    assert statements["WriteReplicas"]["Resource"] == f"{home_bucket}/*"
    assert statements["EncryptReplicas"]["Resource"] == home_key
    assert statements["EncryptReplicas"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    assert statements["DecryptSourceObjects"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert all(s["Resource"] != "*" for s in statements.values())


def test_read_write_policy_is_scoped_to_the_bucket_and_attached_to_the_roles(replicated: Recorded[Any]) -> None:
    resources = component_children(replicated, "euw1-documents")
    bucket = only(resources, "aws:s3/bucket:Bucket", "euw1-documents").outputs["arn"]
    policy = only(resources, "aws:iam/policy:Policy", "-read-write")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["ListTheBucket"]["Resource"] == bucket
    assert statements["ReadAndWriteDocuments"]["Resource"] == f"{bucket}/*"
    attachment = only(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "-read-write-ingest")
    assert (attachment.inputs["role"], attachment.inputs["policyArn"]) == ("ingest", policy.outputs["arn"])


def test_every_child_uses_its_region_provider_and_outputs_are_registered(replicated: Recorded[Any]) -> None:
    for name, region in (("use1-documents", "us-east-1"), ("euw1-documents", "eu-west-1")):
        children = [r for r in component_children(replicated, name) if r.custom]
        assert {r.provider for r in children} == {provider_urn(replicated, region)}
    store = next(r for r in replicated.resources.values() if r.type == "llmops:data:DocumentStore" and r.name == "euw1-documents")
    assert set(replicated.outputs_of(store)) == {"bucketName", "bucketArn", "kmsKeyArn", "accessPolicyArn", "replicationRoleArn"}


def test_tls_only_policy_and_bounded_names() -> None:
    assert json.loads(tls_only_policy("arn:aws:s3:::b"))["Statement"][0]["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert bounded_name("llmops-dev-us-east-1", "-docs-", 37) == "llmops-dev-us-east-1-docs-"
    long = bounded_name("llmops-staging-ap-southeast-2-platform", "-docs-", 37)
    assert len(long) == 37 and long.endswith("-docs-")
    assert long != bounded_name("llmops-staging-ap-southeast-1-platform", "-docs-", 37)


def test_args_are_validated_before_children_exist() -> None:
    args = DocumentStoreArgs(
        region="us-east-1", identifier="-x", noncurrent_version_days=0, abort_multipart_days=0, access_log_days=-1,
        replicate_to=ReplicationTarget(region="us-east-1", bucket_arn="arn", kms_key_arn="arn"),
    )
    with pytest.raises(ValueError) as error:
        args.validate()
    message = str(error.value)
    for expected in (
        "DocumentStoreArgs.identifier",
        "DocumentStoreArgs.noncurrent_version_days",
        "DocumentStoreArgs.abort_multipart_days",
        "DocumentStoreArgs.access_log_days",
        "DocumentStoreArgs.replicate_to.region: replication goes to another region",
    ):
        assert expected in message, expected
