"""Encryption at rest: every data store and disk is encrypted with a KMS key, and KMS keys
rotate.

``kms-encryption-at-rest`` covers Aurora/RDS, ElastiCache, OpenSearch (domains and
Serverless encryption policies), EBS (volumes, launch templates, instances, Karpenter
EC2NodeClasses, managed node groups), SNS topics and EKS secrets. S3 buckets are checked
with their companion resources by ``s3-bucket-baseline`` (``policies.security.storage``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from policies.common.props import flag, get, items, mapping, number, strings
from policies.common.settings import Setting, config_schema, resolve

REQUIRE_CMK = Setting(
    "requireCustomerManagedKey",
    {"type": "boolean"},
    False,
    "Require a customer-managed KMS key (kms_key_id) rather than the AWS-owned or AWS-managed default key.",
)
MAX_ROTATION_DAYS = Setting(
    "maxRotationPeriodDays",
    {"type": "integer", "minimum": 90, "maximum": 2560},
    365,
    "Longest automatic rotation period allowed for a symmetric KMS key, in days.",
)

Check = Callable[[Mapping[str, Any], bool], list[str]]


def _aws_managed(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("alias/aws/")


def _key_problem(key: Any, require_cmk: bool, what: str, field: str) -> list[str]:
    if not require_cmk:
        return []
    if not key:
        return [f"{what} uses the AWS-owned default key; set {field} to a customer-managed KMS key ARN"]
    if _aws_managed(key):
        return [f"{what} uses the AWS-managed key {key}; set {field} to a customer-managed KMS key ARN"]
    return []


def _rds(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if flag(props.get("storageEncrypted")) is not True:
        return ["storage is not encrypted; set storage_encrypted=True and kms_key_id to a customer-managed KMS key ARN"]
    return _key_problem(props.get("kmsKeyId"), require_cmk, "storage", "kms_key_id")


def _serverless_cache(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    return _key_problem(props.get("kmsKeyId"), require_cmk, "the cache", "kms_key_id")


def _replication_group(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if flag(props.get("atRestEncryptionEnabled")) is not True:
        return ["at-rest encryption is off; set at_rest_encryption_enabled=True and kms_key_id to a customer-managed KMS key ARN"]
    return _key_problem(props.get("kmsKeyId"), require_cmk, "the replication group", "kms_key_id")


def _opensearch_domain(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if flag(get(props, "encryptAtRest", "enabled")) is not True:
        return ["encryption at rest is off; set encrypt_at_rest={'enabled': True, 'kms_key_id': <customer-managed KMS key ARN>}"]
    return _key_problem(get(props, "encryptAtRest", "kmsKeyId"), require_cmk, "the domain", "encrypt_at_rest.kms_key_id")


def _opensearch_security_policy(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if props.get("type") != "encryption" or not require_cmk:
        return []
    policy = mapping(props.get("policy"))
    if flag(policy.get("AWSOwnedKey")) is True or not policy.get("KmsARN"):
        return ['the collections are encrypted with an AWS-owned key; set "AWSOwnedKey": false and "KmsARN" to a customer-managed KMS key ARN in the encryption policy']
    return []


def _ebs_volume(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if flag(props.get("encrypted")) is not True:
        return ["the volume is not encrypted; set encrypted=True and kms_key_id to a customer-managed KMS key ARN"]
    return _key_problem(props.get("kmsKeyId"), require_cmk, "the volume", "kms_key_id")


def _mapped_volumes(
    mappings: list[Mapping[str, Any]], require_cmk: bool, *, key_prop: str, key_label: str, encrypt_fix: str
) -> list[str]:
    """Problems of the EBS volumes in block device mappings (launch templates, node classes:
    the same shape, with their own spelling of the KMS key field)."""
    problems: list[str] = []
    for m in mappings:
        device = m.get("deviceName") or "block device"
        if flag(get(m, "ebs", "encrypted")) is not True:
            problems.append(f"{device} is not encrypted; {encrypt_fix}")
        else:
            problems += _key_problem(get(m, "ebs", key_prop), require_cmk, str(device), key_label)
    return problems


def _launch_template(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    mappings = [m for m in items(props.get("blockDeviceMappings")) if isinstance(m, Mapping) and get(m, "ebs") is not None]
    if not mappings:
        return ["declares no EBS block device, so node disks are encrypted only if the account default is on; add block_device_mappings with ebs={'encrypted': 'true', 'kms_key_id': <customer-managed KMS key ARN>}"]
    return _mapped_volumes(
        mappings,
        require_cmk,
        key_prop="kmsKeyId",
        key_label="ebs.kms_key_id",
        encrypt_fix="set ebs.encrypted='true' and ebs.kms_key_id to a customer-managed KMS key ARN",
    )


def _instance(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    problems: list[str] = []
    root = mapping(props.get("rootBlockDevice"))
    if flag(root.get("encrypted")) is not True:
        problems.append("the root volume is not encrypted; set root_block_device={'encrypted': True, 'kms_key_id': <customer-managed KMS key ARN>}")
    else:
        problems += _key_problem(root.get("kmsKeyId"), require_cmk, "the root volume", "root_block_device.kms_key_id")
    for device in items(props.get("ebsBlockDevices")):
        if isinstance(device, Mapping) and flag(device.get("encrypted")) is not True:
            problems.append(f"{device.get('deviceName', 'an EBS device')} is not encrypted; set encrypted=True with a KMS key")
    return problems


def _node_class(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    mappings = [m for m in items(get(props, "spec", "blockDeviceMappings")) if isinstance(m, Mapping)]
    if not mappings:
        if require_cmk:
            return ["relies on Karpenter's default root volume (AWS-managed key); add spec.blockDeviceMappings with ebs {encrypted: true, kmsKeyID: <customer-managed KMS key ARN>}"]
        return []
    return _mapped_volumes(
        mappings,
        require_cmk,
        key_prop="kmsKeyID",
        key_label="ebs.kmsKeyID",
        encrypt_fix="set ebs.encrypted: true and ebs.kmsKeyID to a customer-managed KMS key ARN",
    )


def _node_group(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if get(props, "launchTemplate") is None:
        return ["has no launch template, so node disks are encrypted only if the account default is on; set launch_template to a template whose block_device_mappings are encrypted with a KMS key"]
    return []


def _sns_topic(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    key = props.get("kmsMasterKeyId")
    if not key:
        return ["the topic is not encrypted at rest; set kms_master_key_id to a customer-managed KMS key ARN"]
    return _key_problem(key, require_cmk, "the topic", "kms_master_key_id")


def _eks_cluster(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    config = mapping(props.get("encryptionConfig"))
    if "secrets" not in strings(config.get("resources")) or not get(config, "provider", "keyArn"):
        return ["Kubernetes secrets are not envelope-encrypted; set encryption_config={'provider': {'key_arn': <KMS key ARN>}, 'resources': ['secrets']}"]
    return []


CHECKS: dict[str, Check] = {
    "aws:rds/cluster:Cluster": _rds,
    "aws:rds/instance:Instance": _rds,
    "aws:elasticache/serverlessCache:ServerlessCache": _serverless_cache,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:opensearch/domain:Domain": _opensearch_domain,
    "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy": _opensearch_security_policy,
    "aws:ebs/volume:Volume": _ebs_volume,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/instance:Instance": _instance,
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": _node_class,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:eks/cluster:Cluster": _eks_cluster,
}
"""Resource type -> the check that lists its encryption-at-rest problems."""


def validate_kms_encryption_at_rest(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Data stores, disks, topics and EKS secrets are encrypted at rest with a KMS key."""
    check = CHECKS.get(args.resource_type)
    if check is None:
        return
    settings = resolve(args, REQUIRE_CMK)
    for problem in check(args.props, bool(settings[REQUIRE_CMK.name])):
        report_violation(f"{args.resource_type.split(':')[-1]} '{args.name}': {problem}.", None)


def kms_encryption_at_rest() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="kms-encryption-at-rest",
        description="Aurora, ElastiCache, OpenSearch, EBS, SNS and EKS secrets are encrypted at rest with a KMS key.",
        validate=validate_kms_encryption_at_rest,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(REQUIRE_CMK),
        tags=["encryption", "data"],
    )


def validate_kms_key_rotation(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Symmetric customer-managed KMS keys rotate automatically."""
    if args.resource_type != "aws:kms/key:Key":
        return
    props = args.props
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    usage = props.get("keyUsage") or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return  # AWS rotates only symmetric encryption keys automatically
    max_days = resolve(args, MAX_ROTATION_DAYS)[MAX_ROTATION_DAYS.name]
    if flag(props.get("enableKeyRotation")) is not True:
        report_violation(
            f"KMS key '{args.name}' does not rotate; set enable_key_rotation=True "
            f"(and rotation_period_in_days <= {max_days}).",
            None,
        )
        return
    period = number(props.get("rotationPeriodInDays"))
    if period is not None and period > max_days:
        report_violation(
            f"KMS key '{args.name}' rotates every {int(period)} days; set rotation_period_in_days to at most {max_days}.",
            None,
        )


def kms_key_rotation() -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name="kms-key-rotation",
        description="Symmetric KMS keys have automatic rotation enabled.",
        validate=validate_kms_key_rotation,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(MAX_ROTATION_DAYS),
        tags=["encryption"],
    )


__all__ = [
    "CHECKS",
    "kms_encryption_at_rest",
    "kms_key_rotation",
    "validate_kms_encryption_at_rest",
    "validate_kms_key_rotation",
]
