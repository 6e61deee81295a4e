"""S3 buckets: default encryption with KMS, a TLS-only bucket policy, a public access block,
versioning, ACLs off, and (where configured) access logs, lifecycle rules and replication.

In pulumi-aws 7 these controls are separate resources beside the bucket
(``BucketServerSideEncryptionConfiguration``, ``BucketPolicy``, ``BucketPublicAccessBlock``,
``BucketVersioning``, ``BucketLogging``, ``BucketLifecycleConfiguration``,
``BucketOwnershipControls``, ``BucketReplicationConfig``), so this is a stack policy: it
links each control to its bucket through the ``bucket`` property's dependency (what the
engine records) or the bucket name, and also accepts the legacy inline arguments on the
bucket itself.

Log buckets are judged as AWS lets them be: a bucket that receives a load balancer's access
logs or S3 server access logs may (an Application Load Balancer's must) use SSE-S3, the
only encryption those log deliveries support, and needs no access log of its own; every
other bucket still needs KMS.
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
)

from policies.common.policy import StackPolicy
from policies.common.props import flag, get, items, mapping
from policies.common.settings import Setting, config_schema, resolve
from policies.common.stack import linked
from policies.security.documents import action_matches, anyone_principal, statements

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LIFECYCLE = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
CONTROLS = (*ENCRYPTION, *VERSIONING, *LOGGING, *LIFECYCLE, OWNERSHIP, REPLICATION, POLICY, ACCESS_BLOCK)
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")

REQUIRE_KMS = Setting("requireKms", {"type": "boolean"}, True, "Require default encryption with SSE-KMS (not SSE-S3), except on log buckets that AWS only delivers to with SSE-S3.")
REQUIRE_TLS = Setting("requireTlsOnly", {"type": "boolean"}, True, "Require a bucket policy that denies requests without TLS (aws:SecureTransport).")
REQUIRE_BLOCK = Setting("requirePublicAccessBlock", {"type": "boolean"}, True, "Require all four public access block settings (bucket or account level).")
REQUIRE_VERSIONING = Setting("requireVersioning", {"type": "boolean"}, True, "Require versioning to be Enabled.")
REQUIRE_LOGGING = Setting("requireAccessLogging", {"type": "boolean"}, False, "Require S3 server access logging to another bucket (log buckets themselves are exempt).")
REQUIRE_LIFECYCLE = Setting(
    "requireLifecycleRules",
    {"type": "boolean"},
    False,
    "Require a lifecycle configuration with an enabled rule that aborts incomplete multipart uploads.",
)
REQUIRE_REPLICATION = Setting("requireReplication", {"type": "boolean"}, False, "Require cross-region replication (a BucketReplicationConfig).")
SETTINGS = (REQUIRE_KMS, REQUIRE_TLS, REQUIRE_BLOCK, REQUIRE_VERSIONING, REQUIRE_LOGGING, REQUIRE_LIFECYCLE, REQUIRE_REPLICATION)


@dataclass
class BucketControls:
    """What the stack declares for one bucket."""

    bucket: PolicyResource
    encryption: list[Mapping[str, Any]] = field(default_factory=list)
    versioning: list[Mapping[str, Any]] = field(default_factory=list)
    policies: list[Any] = field(default_factory=list)
    access_blocks: list[Mapping[str, Any]] = field(default_factory=list)
    logging: list[Mapping[str, Any]] = field(default_factory=list)
    aborts_multipart: bool = False
    """A lifecycle rule aborts incomplete multipart uploads."""
    ownership: list[str] = field(default_factory=list)
    replication: list[Mapping[str, Any]] = field(default_factory=list)
    receives: set[str] = field(default_factory=set)
    """Log deliveries that write into this bucket: ``alb`` (Application Load Balancer
    access logs, SSE-S3 only), ``lb`` (other load balancers), ``s3`` (server access logs)."""


def _bucket_of(control: PolicyResource, prop: str, by_name: Mapping[str, PolicyResource]) -> PolicyResource | None:
    found = linked(control, prop, BUCKETS, by_name)
    return found[0] if found else None


def _inline(bucket: PolicyResource, c: BucketControls) -> None:
    """The legacy inline arguments of a bucket (singular on Bucket, plural on BucketV2)."""
    props = bucket.props
    for key in ("serverSideEncryptionConfiguration", "serverSideEncryptionConfigurations"):
        c.encryption += [mapping(v) for v in items(props.get(key))]
    for key in ("versioning", "versionings"):
        for v in items(props.get(key)):
            c.versioning.append({"status": "Enabled" if flag(mapping(v).get("enabled")) else "Suspended"})
    if props.get("policy"):
        c.policies.append(props.get("policy"))
    for key in ("logging", "loggings"):
        c.logging += [mapping(v) for v in items(props.get(key)) if mapping(v).get("targetBucket")]
    c.aborts_multipart = any(
        flag(r.get("enabled")) is not False and r.get("abortIncompleteMultipartUploadDays") is not None
        for r in (mapping(v) for v in items(props.get("lifecycleRules")))
    )
    for key in ("replicationConfiguration", "replicationConfigurations"):
        c.replication += [mapping(v) for v in items(props.get(key))]


def collect(resources: list[PolicyResource]) -> tuple[list[BucketControls], bool]:
    """Each bucket with its controls, and whether an account-level public access block
    with all four settings exists."""
    buckets = [r for r in resources if r.resource_type in BUCKETS]
    controls = {b.urn: BucketControls(b) for b in buckets}
    by_name = {str(b.props["bucket"]): b for b in buckets if isinstance(b.props.get("bucket"), str)}
    account_block = False
    for b in buckets:
        _inline(b, controls[b.urn])
    for r in resources:
        t = r.resource_type
        if t == ACCOUNT_ACCESS_BLOCK:
            account_block = account_block or all(flag(r.props.get(f)) is True for f in BLOCK_FLAGS)
            continue
        if t in LOAD_BALANCERS:
            if not get(r.props, "accessLogs", "bucket") or flag(get(r.props, "accessLogs", "enabled")) is False:
                continue
            target = _bucket_of(r, "accessLogs", by_name) or by_name.get(str(get(r.props, "accessLogs", "bucket")))
            if target is not None:
                kind = "alb" if r.props.get("loadBalancerType") in (None, "", "application") else "lb"
                controls[target.urn].receives.add(kind)
            continue
        if t not in CONTROLS:
            continue
        bucket = _bucket_of(r, "bucket", by_name)
        if t in LOGGING:
            target = _bucket_of(r, "targetBucket", by_name)
            if target is not None:
                controls[target.urn].receives.add("s3")
        if bucket is None:
            continue
        c = controls[bucket.urn]
        if t in ENCRYPTION:
            c.encryption.append(r.props)
        elif t in VERSIONING:
            c.versioning.append(mapping(r.props.get("versioningConfiguration")))
        elif t in LOGGING:
            c.logging.append(r.props)
        elif t in LIFECYCLE:
            c.aborts_multipart = c.aborts_multipart or _aborts_multipart(r.props)
        elif t == OWNERSHIP:
            c.ownership.append(str(get(r.props, "rule", "objectOwnership") or ""))
        elif t == REPLICATION:
            c.replication.append(r.props)
        elif t == POLICY:
            c.policies.append(r.props.get("policy"))
        else:
            c.access_blocks.append(r.props)
    for b in buckets:  # inline logging naming a target bucket
        for log in controls[b.urn].logging:
            target = by_name.get(str(log.get("targetBucket")))
            if target is not None and target.urn != b.urn:
                controls[target.urn].receives.add("s3")
    return list(controls.values()), account_block


def _algorithms(configs: list[Mapping[str, Any]]) -> set[str]:
    found = set()
    for config in configs:
        for rule in items(config.get("rules")) + items(config.get("rule")):
            algorithm = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            if isinstance(algorithm, str):
                found.add(algorithm)
    return found


def _tls_only(policies: list[Any]) -> bool:
    for policy in policies:
        for s in statements(policy):
            secure = get(s.condition, "Bool", "aws:SecureTransport")
            if s.denies and str(secure).lower() == "false":
                return True
    return False


def _locks_everyone_out(policies: list[Any]) -> bool:
    """A Deny of every action to everyone, with no condition and no exception: only the
    account root can then change the bucket."""
    for policy in policies:
        for s in statements(policy):
            every = any(action_matches(a, "s3:PutBucketPolicy") and action_matches(a, "s3:GetObject") for a in s.actions)
            if s.denies and every and not s.condition and not s.not_principals and anyone_principal(s):
                return True
    return False


def _aborts_multipart(config: Mapping[str, Any]) -> bool:
    return any(
        get(rule, "status") in ("Enabled", None) and get(rule, "abortIncompleteMultipartUpload", "daysAfterInitiation") is not None
        for rule in items(config.get("rules"))
    )


def _encryption_problems(c: BucketControls, settings: Mapping[str, Any]) -> list[str]:
    algorithms = _algorithms(c.encryption)
    kms = bool(algorithms & set(KMS_ALGORITHMS))
    if "alb" in c.receives:
        if kms:
            return [
                "receives Application Load Balancer access logs but defaults to SSE-KMS, which log delivery does not "
                "support (the logs are silently dropped); set its default encryption to sse_algorithm='AES256'"
            ]
        return []
    if c.receives or not settings[REQUIRE_KMS.name] or kms:
        return []  # log buckets may use SSE-S3: the only encryption those deliveries support
    return [
        "is not encrypted with KMS by default; add aws.s3.BucketServerSideEncryptionConfiguration with "
        "apply_server_side_encryption_by_default sse_algorithm='aws:kms' and a customer-managed kms_master_key_id "
        "(buckets that receive load balancer or S3 access logs may use SSE-S3)"
    ]


def bucket_problems(c: BucketControls, account_block: bool, settings: Mapping[str, Any]) -> list[str]:
    """What is missing for one bucket, each with its fix."""
    problems = _encryption_problems(c, settings)
    if settings[REQUIRE_TLS.name] and not _tls_only(c.policies):
        problems.append(
            "accepts requests without TLS; add an aws.s3.BucketPolicy statement that denies s3:* when "
            '{"Bool": {"aws:SecureTransport": "false"}}'
        )
    if _locks_everyone_out(c.policies):
        problems.append(
            "has a bucket policy that denies every action to everyone with no condition, which locks out every "
            "role and leaves only the account root able to fix it; add a condition or a NotPrincipal exception"
        )
    if settings[REQUIRE_BLOCK.name] and not account_block:
        complete = any(all(flag(b.get(f)) is True for f in BLOCK_FLAGS) for b in c.access_blocks)
        if not complete:
            problems.append(
                "has no complete public access block; add aws.s3.BucketPublicAccessBlock with block_public_acls, "
                "block_public_policy, ignore_public_acls and restrict_public_buckets all True"
            )
    if settings[REQUIRE_VERSIONING.name] and not any(get(v, "status") == "Enabled" for v in c.versioning):
        problems.append("is not versioned; add aws.s3.BucketVersioning with versioning_configuration={'status': 'Enabled'}")
    if any(o and o != "BucketOwnerEnforced" for o in c.ownership):
        problems.append(
            "has ACLs enabled (object ownership is not BucketOwnerEnforced), so objects written by other accounts "
            "stay theirs; set aws.s3.BucketOwnershipControls rule object_ownership='BucketOwnerEnforced'"
        )
    if settings[REQUIRE_LOGGING.name] and not c.receives and not c.logging:
        problems.append("writes no server access logs; add aws.s3.BucketLogging(bucket=..., target_bucket=<log bucket>, target_prefix=...)")
    if settings[REQUIRE_LIFECYCLE.name] and not c.aborts_multipart:
        problems.append(
            "has no lifecycle rule that aborts incomplete multipart uploads (their parts are billed forever); add "
            "aws.s3.BucketLifecycleConfiguration with a rule abort_incomplete_multipart_upload={'days_after_initiation': 7} "
            "(and noncurrent version expiration)"
        )
    if settings[REQUIRE_REPLICATION.name] and not c.replication:
        problems.append("is not replicated to another region; add aws.s3.BucketReplicationConfig with a destination bucket in a second region")
    return problems


def validate_s3_bucket_baseline(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every bucket has KMS default encryption, a TLS-only policy, a public access block,
    versioning, no ACLs, and what the settings add."""
    settings = resolve(args, *SETTINGS)
    controls, account_block = collect(list(args.resources))
    for c in controls:
        for problem in bucket_problems(c, account_block, settings):
            report_violation(f"bucket '{c.bucket.name}' {problem}.", c.bucket.urn)


def s3_bucket_baseline() -> StackPolicy:
    return StackPolicy(
        name="s3-bucket-baseline",
        description="S3 buckets are KMS-encrypted (log buckets may use SSE-S3), TLS-only, behind a public access block, versioned, ACL-free, and logged, lifecycled and replicated where configured.",
        validate=validate_s3_bucket_baseline,
        resource_types=[*BUCKETS, *CONTROLS, ACCOUNT_ACCESS_BLOCK, *LOAD_BALANCERS],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(*SETTINGS),
        tags=["storage", "encryption"],
    )


__all__ = ["bucket_problems", "collect", "s3_bucket_baseline"]
