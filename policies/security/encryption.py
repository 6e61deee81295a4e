"""Encryption at rest: every data store and disk is encrypted with a KMS key, and KMS keys
rotate.

``kms-encryption-at-rest`` covers Aurora/RDS (clusters, instances, global clusters,
Performance Insights), ElastiCache, OpenSearch (domains and Serverless encryption
policies), EBS (volumes, launch templates, instances, Karpenter EC2NodeClasses, managed node
groups), SNS topics, SQS queues, ECR repositories, Secrets Manager secrets and EKS secrets.
S3 buckets are checked with their companion resources by ``s3-bucket-baseline``
(``policies.security.storage``); CloudWatch log groups by ``log-group-kms-in-prod``
(``policies.security.observability``). ``kms-key-policy-defined`` and ``kms-key-enabled``
keep the keys themselves usable and scoped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
)

from policies.common.policy import ResourcePolicy
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


def _performance_insights(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if flag(props.get("performanceInsightsEnabled")) is not True:
        return []
    return _key_problem(props.get("performanceInsightsKmsKeyId"), require_cmk, "Performance Insights data", "performance_insights_kms_key_id")


def _rds(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if props.get("replicateSourceDb"):
        return _performance_insights(props, require_cmk)  # a read replica takes its source's encryption
    if flag(props.get("storageEncrypted")) is not True:
        return ["storage is not encrypted; set storage_encrypted=True and kms_key_id to a customer-managed KMS key ARN"]
    return _key_problem(props.get("kmsKeyId"), require_cmk, "storage", "kms_key_id") + _performance_insights(props, require_cmk)


def _global_cluster(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    if props.get("sourceDbClusterIdentifier"):
        return []  # built from an existing cluster, whose encryption it keeps
    if flag(props.get("storageEncrypted")) is not True:
        return ["storage is not encrypted; set storage_encrypted=True (its member clusters then need kms_key_id in each region)"]
    return []


def _sqs_queue(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    key = props.get("kmsMasterKeyId")
    if key:
        return _key_problem(key, require_cmk, "the queue", "kms_master_key_id")
    if flag(props.get("sqsManagedSseEnabled")) is True:
        if require_cmk:
            return ["the queue uses SQS-owned keys (SSE-SQS); set kms_master_key_id to a customer-managed KMS key ARN"]
        return []
    return ["the queue is not encrypted at rest; set sqs_managed_sse_enabled=True, or kms_master_key_id to a customer-managed KMS key ARN"]


def _ecr_repository(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    configs = [c for c in items(props.get("encryptionConfigurations")) if isinstance(c, Mapping)]
    kms = [c for c in configs if str(c.get("encryptionType", "")).upper() in ("KMS", "KMS_DSSE")]
    if not kms:
        return ["images are encrypted with S3-managed keys (AES256); set encryption_configurations=[{'encryption_type': 'KMS', 'kms_key': <customer-managed KMS key ARN>}]"]
    return _key_problem(kms[0].get("kmsKey"), require_cmk, "the repository", "encryption_configurations[0].kms_key")


def _secret(props: Mapping[str, Any], require_cmk: bool) -> list[str]:
    # Secrets always need a customer-managed key: with the default aws/secretsmanager key,
    # any principal of the account allowed secretsmanager:GetSecretValue can decrypt, and the
    # key policy cannot be narrowed.
    key = props.get("kmsKeyId")
    if not key or _aws_managed(key):
        return ["the secret is encrypted with the AWS-managed key aws/secretsmanager, whose key policy cannot be narrowed; set kms_key_id to a customer-managed KMS key ARN"]
    return []


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
    "aws:rds/clusterInstance:ClusterInstance": _performance_insights,
    "aws:rds/globalCluster:GlobalCluster": _global_cluster,
    "aws:elasticache/serverlessCache:ServerlessCache": _serverless_cache,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:opensearch/domain:Domain": _opensearch_domain,
    "aws:elasticsearch/domain:Domain": _opensearch_domain,
    "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy": _opensearch_security_policy,
    "aws:ebs/volume:Volume": _ebs_volume,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/instance:Instance": _instance,
    "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass": _node_class,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:sns/topic:Topic": _sns_topic,
    "aws:sqs/queue:Queue": _sqs_queue,
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:secretsmanager/secret:Secret": _secret,
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


def kms_encryption_at_rest() -> ResourcePolicy:
    return ResourcePolicy(
        name="kms-encryption-at-rest",
        description=(
            "Aurora/RDS, ElastiCache, OpenSearch, EBS, SNS, SQS, ECR, Secrets Manager and EKS secrets are "
            "encrypted at rest with a KMS key."
        ),
        validate=validate_kms_encryption_at_rest,
        resource_types=CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=config_schema(REQUIRE_CMK),
        tags=["encryption", "data"],
    )


KMS_KEY = "aws:kms/key:Key"


def _symmetric_encryption_key(props: Mapping[str, Any]) -> bool:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    usage = props.get("keyUsage") or "ENCRYPT_DECRYPT"
    return spec == "SYMMETRIC_DEFAULT" and usage == "ENCRYPT_DECRYPT"


def validate_kms_key_rotation(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Symmetric customer-managed KMS keys rotate automatically."""
    if args.resource_type != KMS_KEY:
        return
    props = args.props
    if not _symmetric_encryption_key(props) or props.get("customKeyStoreId") or props.get("xksKeyId"):
        return  # AWS rotates only symmetric encryption keys whose material it holds
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


def kms_key_rotation() -> ResourcePolicy:
    return ResourcePolicy(
        name="kms-key-rotation",
        description="Symmetric KMS keys have automatic rotation enabled.",
        validate=validate_kms_key_rotation,
        resource_types=[KMS_KEY],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_schema=config_schema(MAX_ROTATION_DAYS),
        tags=["encryption"],
    )


def validate_kms_key_policy_defined(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """KMS keys carry an explicit key policy."""
    if args.resource_type == KMS_KEY and not args.props.get("policy"):
        report_violation(
            f"KMS key '{args.name}' has no key policy, so AWS applies the default one: every principal of the "
            "account whose IAM policy allows kms:* may use and administer the key; set policy to a key policy that "
            "names the key's administrators and the principals or services (with kms:ViaService / "
            "aws:SourceArn conditions) that use it.",
            None,
        )


def kms_key_policy_defined() -> ResourcePolicy:
    return ResourcePolicy(
        name="kms-key-policy-defined",
        description="KMS keys have an explicit key policy naming who administers and who uses them.",
        validate=validate_kms_key_policy_defined,
        resource_types=[KMS_KEY],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["encryption", "iam"],
    )


def validate_kms_key_enabled(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """KMS keys are enabled."""
    if args.resource_type == KMS_KEY and flag(args.props.get("isEnabled")) is False:
        report_violation(
            f"KMS key '{args.name}' is disabled, so nothing encrypted with it can be read or written; set "
            "is_enabled=True, or remove the key and what uses it.",
            None,
        )


def kms_key_enabled() -> ResourcePolicy:
    return ResourcePolicy(
        name="kms-key-enabled",
        description="KMS keys are enabled.",
        validate=validate_kms_key_enabled,
        resource_types=[KMS_KEY],
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["encryption"],
    )


__all__ = [
    "CHECKS",
    "kms_encryption_at_rest",
    "kms_key_enabled",
    "kms_key_policy_defined",
    "kms_key_rotation",
    "validate_kms_encryption_at_rest",
    "validate_kms_key_enabled",
    "validate_kms_key_policy_defined",
    "validate_kms_key_rotation",
]
