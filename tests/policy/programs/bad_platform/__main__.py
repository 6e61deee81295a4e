"""A team's own program with exactly five problems the policy packs must find:

1. a public bucket (public-read ACL, no public access block),
2. an unencrypted Aurora cluster,
3. a p5 GPU pool in dev (a type dev does not allow, and 8 GPUs where dev allows 4 per pool),
4. a log group on a provider without the cost-allocation tags,
5. a stack budget of $100/month that the GPU pool alone exceeds.

Everything else is compliant, so the expected violations are exactly those.
"""

import json

import pulumi
import pulumi_aws as aws

TAGS = {"Project": "bad-platform", "Stack": "dev", "Environment": "dev", "Owner": "team-x", "CostCenter": "cc-9"}
tagged = aws.Provider("aws-tagged", region="us-east-1", default_tags=aws.ProviderDefaultTagsArgs(tags=TAGS))
untagged = aws.Provider("aws-untagged", region="us-east-1")
opts = pulumi.ResourceOptions(provider=tagged)

key = aws.kms.Key(
    "data",
    enable_key_rotation=True,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/team-x-admin"}, "Action": "kms:*", "Resource": "*"}
            ],
        }
    ),
    opts=opts,
)

# 1. A public bucket: otherwise encrypted with KMS, TLS-only and versioned.
bucket = aws.s3.Bucket("public-docs", bucket="bad-platform-public-docs", opts=opts)
aws.s3.BucketServerSideEncryptionConfiguration(
    "public-docs-sse",
    bucket=bucket.bucket,
    rules=[
        aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=key.arn
            )
        )
    ],
    opts=opts,
)
aws.s3.BucketVersioning(
    "public-docs-versioning",
    bucket=bucket.bucket,
    versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
    opts=opts,
)
aws.s3.BucketPolicy(
    "public-docs-tls",
    bucket=bucket.bucket,
    policy=bucket.arn.apply(
        lambda arn: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        )
    ),
    opts=opts,
)
aws.s3.BucketAcl("public-docs-acl", bucket=bucket.bucket, acl="public-read", opts=opts)

# 2. An unencrypted database (otherwise TLS-only, logged, IAM-enabled).
parameters = aws.rds.ClusterParameterGroup(
    "vectors",
    name="bad-platform-vectors",
    family="aurora-postgresql16",
    parameters=[
        aws.rds.ClusterParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
        aws.rds.ClusterParameterGroupParameterArgs(name="log_statement", value="ddl"),
        aws.rds.ClusterParameterGroupParameterArgs(name="log_min_duration_statement", value="1000"),
    ],
    opts=opts,
)
aws.rds.Cluster(
    "vectors",
    engine="aurora-postgresql",
    engine_mode="provisioned",
    master_username="platform",
    manage_master_user_password=True,
    db_cluster_parameter_group_name=parameters.name,
    iam_database_authentication_enabled=True,
    copy_tags_to_snapshot=True,
    enabled_cloudwatch_logs_exports=["postgresql"],
    storage_encrypted=False,
    serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(min_capacity=0.5, max_capacity=2),
    opts=opts,
)

# 3. A p5 pool in dev (spot, scales to zero, one node).
template = aws.ec2.LaunchTemplate(
    "h100",
    metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(http_tokens="required", http_put_response_hop_limit=2),
    block_device_mappings=[
        aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name="/dev/xvda",
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(volume_size=200, encrypted="true", kms_key_id=key.arn),
        )
    ],
    # The instances and volumes it launches carry the cost tags (default tags do not reach them).
    tag_specifications=[
        aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=TAGS) for kind in ("instance", "volume")
    ],
    opts=opts,
)
aws.eks.NodeGroup(
    "h100",
    cluster_name="bad-platform-dev",
    node_role_arn="arn:aws:iam::123456789012:role/bad-platform-nodes",
    subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    instance_types=["p5.48xlarge"],
    capacity_type="SPOT",
    scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=0, max_size=1, desired_size=0),
    launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version="$Latest"),
    opts=opts,
)

# 4. Missing cost-allocation tags.
aws.cloudwatch.LogGroup("untagged-logs", retention_in_days=14, opts=pulumi.ResourceOptions(provider=untagged))

# 5. A budget the GPU pool alone exceeds.
aws.budgets.Budget("monthly", budget_type="COST", time_unit="MONTHLY", limit_amount="100", limit_unit="USD", opts=opts)
