"""What the data-plane components share: where they are placed, who may reach and use them,
bounded physical names, customer-managed KMS keys with explicit key policies, and security
groups that admit only named client security groups.

Nothing here knows the stack config: the composition fills :class:`Placement` and
:class:`Access` from the region's network and cluster.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components.kms import key_policy
from components.naming import name_tags

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
IDENTIFIER_MAX = 48
"""Longest identifier a component accepts; physical names derived from it are bounded per
service by :func:`bounded_name`."""


def bounded_name(base: str, suffix: str, limit: int) -> str:
    """``base + suffix``, or, when that exceeds ``limit`` characters, ``base`` cut short with
    a six-character hash of the whole ``base`` before ``suffix``, so two long bases never
    collapse into one name."""
    name = f"{base}{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    keep = limit - len(suffix) - len(digest) - 1
    if keep < 1:
        raise ValueError(f"suffix {suffix!r} leaves no room for a name within {limit} characters")
    return f"{base[:keep].rstrip('-')}-{digest}{suffix}"


def identifier_problems(path: str, identifier: str) -> list[str]:
    """Problems of a base identifier (lowercase letters, digits and hyphens, starting with a
    letter): the prefix of every physical name a data-plane component makes."""
    if not _IDENTIFIER.match(identifier) or "--" in identifier or len(identifier) > IDENTIFIER_MAX:
        return [
            f"{path}: {identifier!r} must be 2 to {IDENTIFIER_MAX} lowercase letters, digits and single hyphens, "
            "starting with a letter and ending with a letter or digit"
        ]
    return []


def key_problems(path: str, keys: Sequence[str]) -> list[str]:
    """Problems of the stable keys of a mapping of inputs (children are named after them)."""
    return [f"{path}: key {k!r} must be a short DNS label (lowercase letters, digits, '-')" for k in keys if not _KEY.match(k)]


@dataclass(frozen=True)
class Placement:
    """Where a data store lives and who may connect to it."""

    vpc_id: pulumi.Input[str]
    """The region's VPC."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets (one per availability zone) for the store's network interfaces."""
    client_security_group_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Security groups admitted on the store's port, keyed by a stable id (``nodes``: the
    cluster's node security group). Empty: nothing inside the VPC can connect yet."""

    def problems(self, path: str) -> list[str]:
        return key_problems(f"{path}.client_security_group_ids", list(self.client_security_group_ids))


@dataclass(frozen=True)
class Access:
    """Who may use a data store: the IAM roles its access policy is attached to."""

    role_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """IAM roles (the serving plane's Pod Identity role ...) keyed by a stable id. Each gets
    the store's access policy attached; empty, the policy exists and is attached to nothing
    (its ARN is an output for the serving plane to attach)."""

    def problems(self, path: str) -> list[str]:
        return key_problems(f"{path}.role_arns", list(self.role_arns))


def role_name(role_arn: str) -> str:
    """The name of a role from its ARN (the last path segment)."""
    return role_arn.rsplit("/", 1)[-1]


def attach_policy(
    name: str, policy_arn: pulumi.Input[str], access: Access, opts: pulumi.ResourceOptions
) -> list[aws.iam.RolePolicyAttachment]:
    """Attaches ``policy_arn`` to every role of ``access``, each attachment keyed by its role's id."""
    return [
        aws.iam.RolePolicyAttachment(
            f"{name}-{key}",
            role=pulumi.Output.from_input(arn).apply(role_name),
            policy_arn=policy_arn,
            opts=opts,
        )
        for key, arn in sorted(access.role_arns.items())
    ]


@dataclass(frozen=True)
class Account:
    """The account and partition the provider deploys into (from data sources)."""

    id: pulumi.Output[str]
    partition: pulumi.Output[str]


def secret_output(value: pulumi.Output[str]) -> pulumi.Output[str]:
    """``value`` marked secret (encrypted in the state, masked in every output)."""
    return cast("pulumi.Output[str]", pulumi.Output.secret(cast(Any, value)))


def generated_password(parent: pulumi.Resource, length: int) -> pulumi.Output[str]:
    """A password Secrets Manager generates (``GetRandomPassword``: letters and digits), as a
    secret. Pass it only to write-only arguments (``*_wo`` with a version): those read it when
    their version changes and keep it neither in the plan nor in the state, so a value read
    again on a later run changes nothing."""
    return secret_output(
        aws.secretsmanager.get_random_password_output(
            password_length=length, exclude_punctuation=True, opts=pulumi.InvokeOutputOptions(parent=parent)
        ).random_password
    )


def account_of(parent: pulumi.Resource) -> Account:
    """The deploying account and its partition, read with ``parent``'s provider."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    return Account(
        id=aws.get_caller_identity_output(opts=opts).account_id,
        partition=aws.get_partition_output(opts=opts).partition,
    )


def kms_key(
    name: str,
    *,
    description: str,
    alias: str,
    account: Account,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    extra_statements: pulumi.Input[Sequence[dict[str, Any]]] = (),
) -> aws.kms.Key:
    """A customer-managed symmetric key that rotates every year, with an explicit key policy
    and an alias (``alias/<alias>``)."""
    policy = pulumi.Output.all(account.partition, account.id, extra_statements).apply(
        lambda v: key_policy(v[1], v[0], *v[2])
    )
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        tags=name_tags(tags, name),
        opts=opts,
    )
    aws.kms.Alias(name, name=f"alias/{alias}", target_key_id=key.key_id, opts=opts)
    return key


def security_group(
    name: str,
    *,
    description: str,
    placement: Placement,
    port: int,
    purpose: str,
    last_port: int | None = None,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
    extra_clients: Mapping[str, pulumi.Input[str]] | None = None,
) -> aws.ec2.SecurityGroup:
    """A security group that admits TCP ``port`` (to ``last_port``, when given) from each
    client security group only (one ingress rule per client, keyed by its id) and has no
    egress rule: a data store never opens connections."""
    group = aws.ec2.SecurityGroup(
        name, vpc_id=placement.vpc_id, description=description, tags=name_tags(tags, name), opts=opts
    )
    clients = {**placement.client_security_group_ids, **(extra_clients or {})}
    for key, client in sorted(clients.items()):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-{key}",
            security_group_id=group.id,
            referenced_security_group_id=client,
            ip_protocol="tcp",
            from_port=port,
            to_port=last_port or port,
            description=f"{purpose} from the {key} security group",
            tags=name_tags(tags, f"{name}-from-{key}"),
            opts=opts,
        )
    return group


@dataclass(frozen=True)
class BucketControls:
    """The controls of a bucket that others wait for."""

    versioning: aws.s3.BucketVersioning
    policy: aws.s3.BucketPolicy


def bucket_controls(
    name: str,
    bucket: aws.s3.Bucket,
    *,
    encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs,
    policy: pulumi.Input[str],
    rules: Sequence[aws.s3.BucketLifecycleConfigurationRuleArgs],
    parent: pulumi.Resource,
) -> BucketControls:
    """What every bucket of the platform has: ACLs off, public access blocked, versioning,
    default encryption (with an S3 bucket key), a bucket policy and lifecycle rules, each a
    child ``{name}-<control>`` of ``parent``. Returns the versioning (replication and
    lifecycle rules need it first) and the policy (services that write to the bucket, such
    as log delivery, need it first)."""
    on_bucket = pulumi.ResourceOptions(parent=parent, depends_on=[bucket])
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=on_bucket,
    )
    access_block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=on_bucket,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=on_bucket,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=encryption, bucket_key_enabled=True
            )
        ],
        opts=on_bucket,
    )
    bucket_policy = aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.id,
        policy=policy,
        # S3 refuses policies while the public access block is being written.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[access_block]),
    )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=list(rules),
        # Versioning must be on before rules about noncurrent versions mean anything.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )
    return BucketControls(versioning, bucket_policy)
