"""S3 buckets: default encryption with KMS, a TLS-only bucket policy, a public access
block and versioning.

In pulumi-aws 7 these controls are separate resources beside the bucket
(``BucketServerSideEncryptionConfiguration``, ``BucketPolicy``, ``BucketPublicAccessBlock``,
``BucketVersioning``), so this is a stack policy: it links each control to its bucket
through the ``bucket`` property's dependency (what the engine records) or the bucket name,
and also accepts the legacy inline arguments on the bucket itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.common.props import flag, get, items, mapping
from policies.common.settings import Setting, config_schema, resolve
from policies.security.documents import statements

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")

REQUIRE_KMS = Setting("requireKms", {"type": "boolean"}, True, "Require default encryption with SSE-KMS (not SSE-S3).")
REQUIRE_TLS = Setting("requireTlsOnly", {"type": "boolean"}, True, "Require a bucket policy that denies requests without TLS (aws:SecureTransport).")
REQUIRE_BLOCK = Setting("requirePublicAccessBlock", {"type": "boolean"}, True, "Require all four public access block settings (bucket or account level).")
REQUIRE_VERSIONING = Setting("requireVersioning", {"type": "boolean"}, True, "Require versioning to be Enabled.")


@dataclass
class BucketControls:
    """What the stack declares for one bucket."""

    bucket: PolicyResource
    encryption: list[Mapping[str, Any]] = field(default_factory=list)
    versioning: list[Mapping[str, Any]] = field(default_factory=list)
    policies: list[Any] = field(default_factory=list)
    access_blocks: list[Mapping[str, Any]] = field(default_factory=list)


def _bucket_of(control: PolicyResource, buckets: list[PolicyResource], by_name: Mapping[str, PolicyResource]) -> PolicyResource | None:
    for dependency in control.property_dependencies.get("bucket", []):
        if dependency.resource_type in BUCKETS:
            return dependency
    name = control.props.get("bucket")
    return by_name.get(name) if isinstance(name, str) else None


def collect(resources: list[PolicyResource]) -> tuple[list[BucketControls], bool]:
    """Each bucket with its controls, and whether an account-level public access block
    with all four settings exists."""
    buckets = [r for r in resources if r.resource_type in BUCKETS]
    controls = {b.urn: BucketControls(b) for b in buckets}
    by_name = {str(b.props["bucket"]): b for b in buckets if isinstance(b.props.get("bucket"), str)}
    account_block = False
    for b in buckets:  # legacy inline arguments
        c = controls[b.urn]
        if b.props.get("serverSideEncryptionConfiguration") is not None:
            c.encryption.append(mapping(b.props.get("serverSideEncryptionConfiguration")))
        if b.props.get("versioning") is not None:
            v = mapping(b.props.get("versioning"))
            c.versioning.append({"status": "Enabled" if flag(v.get("enabled")) else "Suspended"})
        if b.props.get("policy"):
            c.policies.append(b.props.get("policy"))
    for r in resources:
        t = r.resource_type
        if t == ACCOUNT_ACCESS_BLOCK:
            account_block = account_block or all(flag(r.props.get(f)) is True for f in BLOCK_FLAGS)
            continue
        if t not in ENCRYPTION + VERSIONING + (POLICY, ACCESS_BLOCK):
            continue
        bucket = _bucket_of(r, buckets, by_name)
        if bucket is None:
            continue
        c = controls[bucket.urn]
        if t in ENCRYPTION:
            c.encryption.append(r.props)
        elif t in VERSIONING:
            c.versioning.append(mapping(r.props.get("versioningConfiguration")))
        elif t == POLICY:
            c.policies.append(r.props.get("policy"))
        else:
            c.access_blocks.append(r.props)
    return list(controls.values()), account_block


def _kms_encrypted(configs: list[Mapping[str, Any]]) -> bool:
    for config in configs:
        for rule in items(config.get("rules")) + items(config.get("rule")):
            algorithm = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            if algorithm in KMS_ALGORITHMS:
                return True
    return False


def _tls_only(policies: list[Any]) -> bool:
    for policy in policies:
        for s in statements(policy):
            secure = get(s.condition, "Bool", "aws:SecureTransport")
            if s.denies and str(secure).lower() == "false":
                return True
    return False


def bucket_problems(c: BucketControls, account_block: bool, settings: Mapping[str, Any]) -> list[str]:
    """What is missing for one bucket, each with its fix."""
    problems = []
    if settings[REQUIRE_KMS.name] and not _kms_encrypted(c.encryption):
        problems.append(
            "is not encrypted with KMS by default; add aws.s3.BucketServerSideEncryptionConfiguration with "
            "apply_server_side_encryption_by_default sse_algorithm='aws:kms' and a customer-managed kms_master_key_id"
        )
    if settings[REQUIRE_TLS.name] and not _tls_only(c.policies):
        problems.append(
            "accepts requests without TLS; add an aws.s3.BucketPolicy statement that denies s3:* when "
            '{"Bool": {"aws:SecureTransport": "false"}}'
        )
    if settings[REQUIRE_BLOCK.name] and not account_block:
        complete = any(all(flag(b.get(f)) is True for f in BLOCK_FLAGS) for b in c.access_blocks)
        if not complete:
            problems.append(
                "has no complete public access block; add aws.s3.BucketPublicAccessBlock with block_public_acls, "
                "block_public_policy, ignore_public_acls and restrict_public_buckets all True"
            )
    if settings[REQUIRE_VERSIONING.name] and not any(get(v, "status") == "Enabled" for v in c.versioning):
        problems.append(
            "is not versioned; add aws.s3.BucketVersioning with versioning_configuration={'status': 'Enabled'}"
        )
    return problems


def validate_s3_bucket_baseline(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every bucket has KMS default encryption, a TLS-only policy, a public access block and versioning."""
    settings = resolve(args, REQUIRE_KMS, REQUIRE_TLS, REQUIRE_BLOCK, REQUIRE_VERSIONING)
    controls, account_block = collect(args.resources)
    for c in controls:
        for problem in bucket_problems(c, account_block, settings):
            report_violation(f"bucket '{c.bucket.name}' {problem}.", c.bucket.urn)


def s3_bucket_baseline() -> StackValidationPolicy:
    return StackValidationPolicy(
        name="s3-bucket-baseline",
        description="S3 buckets are KMS-encrypted, TLS-only, behind a public access block, and versioned.",
        validate=validate_s3_bucket_baseline,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(REQUIRE_KMS, REQUIRE_TLS, REQUIRE_BLOCK, REQUIRE_VERSIONING),
        tags=["storage", "encryption"],
    )


__all__ = ["bucket_problems", "collect", "s3_bucket_baseline"]
