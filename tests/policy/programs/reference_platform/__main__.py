"""Every resource type the platform creates (or is about to), configured as AWS's guidance,
Checkov and AWSGuard ask (stack ``clean``), and its twin with exactly one misconfiguration
per resource, drawn from the same checks (stack ``insecure``: ``platform:insecure``).

``bad(secure, insecure)`` picks the value for the stack: everything outside a ``bad(...)``
call is the same in both stacks, so the insecure stack's violations are exactly the
misconfigurations listed in ``tests/policy/test_policy_reference.py``.
"""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config("platform")
INSECURE = config.get_bool("insecure") or False
ACCOUNT = "123456789012"
REGION = "us-east-1"
TAGS = {"Project": "reference-platform", "Stack": pulumi.get_stack(), "Environment": "prod", "Owner": "platform-team", "CostCenter": "cc-1000"}


def bad(secure, insecure):
    """The secure value, or the insecure one in the insecure stack."""
    return insecure if INSECURE else secure


provider = aws.Provider("aws", region=REGION, default_tags={"tags": TAGS})
opts = pulumi.ResourceOptions(provider=provider)


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def key_policy(service_statements=()):
    return doc(
        {"Sid": "KeyAdministrators", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/platform-admin"}, "Action": "kms:*", "Resource": "*"},
        *service_statements,
    )


# --------------------------------------------------------------------------- KMS
data_key = aws.kms.Key(
    "data",
    description="Data at rest of the reference platform",
    enable_key_rotation=True,
    deletion_window_in_days=30,
    policy=bad(
        key_policy(),
        doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}),
    ),
    opts=opts,
)
logs_key = aws.kms.Key(
    "logs",
    description="CloudWatch Logs encryption",
    enable_key_rotation=bad(True, False),
    policy=key_policy(
        [
            {
                "Sid": "CloudWatchLogs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"}},
            }
        ]
    ),
    opts=opts,
)
aws.kms.Alias("data", name="alias/reference-data", target_key_id=data_key.key_id, opts=opts)

# --------------------------------------------------------------------------- logs
flow_logs = aws.cloudwatch.LogGroup("flow-logs", name="/reference/vpc-flow-logs", retention_in_days=bad(365, None), kms_key_id=logs_key.arn, opts=opts)
app_logs = aws.cloudwatch.LogGroup("app-logs", name="/reference/app", retention_in_days=365, kms_key_id=bad(logs_key.arn, None), opts=opts)

# --------------------------------------------------------------------------- network
vpc = aws.ec2.Vpc("vpc", cidr_block="10.40.0.0/16", enable_dns_hostnames=True, enable_dns_support=True, opts=opts)
private = [
    aws.ec2.Subnet(f"private-{i}", vpc_id=vpc.id, cidr_block=f"10.40.{i * 32}.0/19", availability_zone=f"{REGION}{z}", opts=opts)
    for i, z in enumerate("ab")
]
public = aws.ec2.Subnet("public-0", vpc_id=vpc.id, cidr_block="10.40.224.0/22", availability_zone=f"{REGION}a", map_public_ip_on_launch=bad(False, True), opts=opts)
public_b = aws.ec2.Subnet("public-1", vpc_id=vpc.id, cidr_block="10.40.228.0/22", availability_zone=f"{REGION}b", opts=opts)
igw = aws.ec2.InternetGateway("igw", vpc_id=vpc.id, opts=opts)
nat_ip = aws.ec2.Eip("nat", domain="vpc", opts=opts)
nat = aws.ec2.NatGateway("nat", subnet_id=public.id, allocation_id=nat_ip.id, opts=opts)
private_routes = aws.ec2.RouteTable("private", vpc_id=vpc.id, opts=opts)
public_routes = aws.ec2.RouteTable("public", vpc_id=vpc.id, opts=opts)
aws.ec2.Route("public-default", route_table_id=public_routes.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=opts)
aws.ec2.Route(
    "private-default",
    route_table_id=private_routes.id,
    destination_cidr_block="0.0.0.0/0",
    nat_gateway_id=bad(nat.id, None),
    network_interface_id=bad(None, "eni-0123456789abcdef0"),
    opts=opts,
)
for i, subnet in enumerate(private):
    aws.ec2.RouteTableAssociation(f"private-{i}", subnet_id=subnet.id, route_table_id=private_routes.id, opts=opts)
aws.ec2.RouteTableAssociation("public-0", subnet_id=public.id, route_table_id=public_routes.id, opts=opts)
if not INSECURE:
    aws.ec2.FlowLog("vpc", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs", log_destination=flow_logs.arn,
                    iam_role_arn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs", opts=opts)
aws.ec2.DefaultSecurityGroup(
    "default",
    vpc_id=vpc.id,
    ingress=bad([], [{"protocol": "-1", "from_port": 0, "to_port": 0, "self": True}]),
    egress=[],
    opts=opts,
)
endpoints = aws.ec2.SecurityGroup("endpoints", vpc_id=vpc.id, description=bad("HTTPS from the VPC to interface endpoints", None), opts=opts)
aws.vpc.SecurityGroupIngressRule(
    "endpoints-https", security_group_id=endpoints.id, description="HTTPS from the VPC", ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4="10.40.0.0/16", opts=opts
)
bastion = aws.ec2.SecurityGroup("admin", vpc_id=vpc.id, description="SSH for the operations network", opts=opts)
for i, cidr in enumerate(bad(["10.99.0.0/24"], ["0.0.0.0/1", "128.0.0.0/1"])):
    aws.vpc.SecurityGroupIngressRule(
        f"admin-ssh-{i}", security_group_id=bastion.id, description="SSH from operations", ip_protocol="tcp", from_port=22, to_port=22, cidr_ipv4=cidr, opts=opts
    )
aws.vpc.SecurityGroupEgressRule(
    "endpoints-out", security_group_id=endpoints.id, description="Replies inside the VPC", ip_protocol="-1", cidr_ipv4="10.40.0.0/16", opts=opts
)
aws.ec2.VpcEndpoint(
    "ecr-api", vpc_id=vpc.id, service_name=f"com.amazonaws.{REGION}.ecr.api", vpc_endpoint_type="Interface",
    subnet_ids=[s.id for s in private], security_group_ids=[endpoints.id], private_dns_enabled=True, opts=opts,
)

# --------------------------------------------------------------------------- IAM
cluster_role = aws.iam.Role(
    "cluster", assume_role_policy=doc({"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}), opts=opts
)
aws.iam.RolePolicyAttachment("cluster", role=cluster_role.name, policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", opts=opts)
node_role = aws.iam.Role(
    "node",
    assume_role_policy=doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
    opts=opts,
)
aws.iam.RolePolicyAttachment(
    "node", role=node_role.name, policy_arn=bad("arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AdministratorAccess"), opts=opts
)
operator_role = aws.iam.Role(
    "operator",
    assume_role_policy=bad(
        doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/platform-admin"}, "Action": "sts:AssumeRole"}),
        doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
    ),
    opts=opts,
)
OIDC = f"oidc.eks.{REGION}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ingest_role = aws.iam.Role(
    "ingest",
    assume_role_policy=doc(
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": bad(
                    {f"{OIDC}:aud": "sts.amazonaws.com", f"{OIDC}:sub": "system:serviceaccount:serving:ingest"},
                    {f"{OIDC}:aud": "sts.amazonaws.com"},
                )
            },
        }
    ),
    opts=opts,
)
serving_role = aws.iam.Role(
    "serving",
    assume_role_policy=doc({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}),
    opts=opts,
)
documents_arn = f"arn:aws:s3:::reference-documents-{ACCOUNT}"
aws.iam.RolePolicy(
    "serving-documents",
    role=serving_role.id,
    policy=doc(
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": bad(f"{documents_arn}/*", "*")},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*", "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}},
    ),
    opts=opts,
)
aws.iam.RolePolicy(
    "ingest-launch",
    role=ingest_role.id,
    policy=doc(
        {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "ingest"}}},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": bad(f"arn:aws:iam::{ACCOUNT}:role/ingest-worker", "*")},
    ),
    opts=opts,
)
aws.iam.Policy(
    "deployer",
    description="What the deploy pipeline may do to the serving roles",
    policy=doc(
        {"Effect": "Allow", "Action": bad(["iam:GetRole", "iam:TagRole"], ["iam:*"]), "Resource": f"arn:aws:iam::{ACCOUNT}:role/serving-*"},
    ),
    opts=opts,
)
aws.iam.OpenIdConnectProvider("oidc", url=f"https://{OIDC}", client_id_lists=["sts.amazonaws.com"], opts=opts)

# --------------------------------------------------------------------------- EKS
cluster = aws.eks.Cluster(
    "eks",
    name="reference",
    version="1.33",
    role_arn=cluster_role.arn,
    vpc_config={
        "subnet_ids": [s.id for s in private],
        "endpoint_private_access": True,
        "endpoint_public_access": bad(False, True),
        "public_access_cidrs": bad(None, ["0.0.0.0/1", "128.0.0.0/1"]),
    },
    access_config={"authentication_mode": "API"},
    enabled_cluster_log_types=["api", "audit", "authenticator", "controllerManager", "scheduler"],
    encryption_config={"provider": {"key_arn": data_key.arn}, "resources": ["secrets"]},
    deletion_protection=True,
    opts=opts,
)
aws.eks.Addon("pod-identity-agent", cluster_name=cluster.name, addon_name="eks-pod-identity-agent", opts=opts)
aws.eks.PodIdentityAssociation("serving", cluster_name=cluster.name, namespace="serving", service_account="serving", role_arn=serving_role.arn, opts=opts)


def launch_template(name, hop_limit=1, user_data=None):
    return aws.ec2.LaunchTemplate(
        name,
        metadata_options={"http_tokens": "required", "http_put_response_hop_limit": hop_limit, "http_endpoint": "enabled"},
        block_device_mappings=[{"device_name": "/dev/xvda", "ebs": {"volume_size": 100, "volume_type": "gp3", "encrypted": "true", "kms_key_id": data_key.arn}}],
        network_interfaces=[{"associate_public_ip_address": "false", "security_groups": [endpoints.id]}],
        tag_specifications=[{"resource_type": kind, "tags": TAGS} for kind in ("instance", "volume")],
        user_data=user_data,
        opts=opts,
    )


NODE_USER_DATA = "IyEvYmluL2Jhc2gKZWNobyBub2RlYWRtIGJvb3RzdHJhcAo="  # "#!/bin/bash\necho nodeadm bootstrap\n"
LEAKY_USER_DATA = "IyEvYmluL2Jhc2gKZXhwb3J0IFBHUEFTU1dPUkQ9aHVudGVyMi1wcm9kCg=="  # "...export PGPASSWORD=hunter2-prod\n"
system_template = launch_template("system", user_data=bad(NODE_USER_DATA, LEAKY_USER_DATA))
gpu_template = launch_template("gpu", hop_limit=bad(1, 2))
for pool, template, types in (("system", system_template, ["m7i.large"]), ("gpu", gpu_template, ["g6e.xlarge"])):
    aws.eks.NodeGroup(
        pool,
        cluster_name=cluster.name,
        node_role_arn=node_role.arn,
        subnet_ids=[s.id for s in private],
        instance_types=types,
        capacity_type="ON_DEMAND",
        scaling_config={"min_size": 0, "max_size": 2, "desired_size": 0},
        launch_template={"id": template.id, "version": template.latest_version.apply(str)},
        remote_access=bad(None, {"ec2_ssh_key": "ops"}) if pool == "system" else None,
        opts=opts,
    )

# --------------------------------------------------------------------------- SQS and EventBridge
queue = aws.sqs.Queue(
    "interruptions",
    name="reference-interruptions",
    message_retention_seconds=300,
    kms_master_key_id=bad(data_key.arn, None),
    sqs_managed_sse_enabled=bad(None, False),
    opts=opts,
)
rule = aws.cloudwatch.EventRule("spot-interruption", event_pattern=json.dumps({"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]}), opts=opts)
aws.cloudwatch.EventTarget("spot-interruption", rule=rule.name, arn=queue.arn, opts=opts)
aws.sqs.QueuePolicy(
    "interruptions",
    queue_url=queue.url,
    policy=pulumi.Output.all(queue.arn, rule.arn).apply(
        lambda a: doc(
            bad(
                {"Sid": "EventBridge", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": a[0],
                 "Condition": {"ArnEquals": {"aws:SourceArn": a[1]}}},
                {"Sid": "EventBridge", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": a[0],
                 "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
            ),
            {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": a[0], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        )
    ),
    opts=opts,
)

# --------------------------------------------------------------------------- Aurora PostgreSQL
db_subnets = aws.rds.SubnetGroup("vectors", name="reference-vectors", subnet_ids=[s.id for s in private], opts=opts)
db_sg = aws.ec2.SecurityGroup("vectors", vpc_id=vpc.id, description="PostgreSQL from the serving pods", opts=opts)
cluster_parameters = aws.rds.ClusterParameterGroup(
    "vectors",
    name="reference-vectors",
    family="aurora-postgresql16",
    description="TLS only, statement logging",
    parameters=[
        {"name": "rds.force_ssl", "value": bad("1", "0")},
        {"name": "log_statement", "value": "ddl"},
        {"name": "log_min_duration_statement", "value": "1000"},
    ],
    opts=opts,
)
global_cluster = aws.rds.GlobalCluster(
    "vectors", global_cluster_identifier="reference-vectors", engine="aurora-postgresql", engine_version="16.4",
    storage_encrypted=bad(True, False), deletion_protection=True, opts=opts,
)
db = aws.rds.Cluster(
    "vectors",
    engine="aurora-postgresql",
    engine_version="16.4",
    engine_mode="provisioned",
    database_name="vectors",
    master_username="platform",
    manage_master_user_password=True,
    storage_encrypted=True,
    kms_key_id=data_key.arn,
    iam_database_authentication_enabled=bad(True, False),
    db_cluster_parameter_group_name=cluster_parameters.name,
    db_subnet_group_name=db_subnets.name,
    vpc_security_group_ids=[db_sg.id],
    deletion_protection=True,
    backup_retention_period=14,
    copy_tags_to_snapshot=True,
    skip_final_snapshot=False,
    final_snapshot_identifier="reference-vectors-final",
    enabled_cloudwatch_logs_exports=["postgresql"],
    serverlessv2_scaling_configuration={"min_capacity": 0.5, "max_capacity": 8},
    opts=opts,
)
monitoring_role = aws.iam.Role(
    "rds-monitoring", assume_role_policy=doc({"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}), opts=opts
)
aws.iam.RolePolicyAttachment("rds-monitoring", role=monitoring_role.name, policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole", opts=opts)
for i in range(2):
    aws.rds.ClusterInstance(
        f"vectors-{i}",
        cluster_identifier=db.id,
        instance_class="db.serverless",
        engine="aurora-postgresql",
        engine_version="16.4",
        publicly_accessible=bad(False, True) if i == 0 else False,
        performance_insights_enabled=True,
        performance_insights_kms_key_id=data_key.arn,
        monitoring_interval=60,
        monitoring_role_arn=monitoring_role.arn,
        auto_minor_version_upgrade=True,
        db_subnet_group_name=db_subnets.name,
        opts=opts,
    )

# --------------------------------------------------------------------------- OpenSearch Serverless
aws.opensearch.ServerlessSecurityPolicy(
    "vectors-encryption", name="vectors-encryption", type="encryption",
    policy=data_key.arn.apply(lambda arn: json.dumps({"Rules": [{"ResourceType": "collection", "Resource": ["collection/vectors"]}], "AWSOwnedKey": False, "KmsARN": arn})),
    opts=opts,
)
aoss_endpoint = aws.opensearch.ServerlessVpcEndpoint("vectors", name="vectors", vpc_id=vpc.id, subnet_ids=[s.id for s in private], security_group_ids=[endpoints.id], opts=opts)
aws.opensearch.ServerlessSecurityPolicy(
    "vectors-network", name="vectors-network", type="network",
    policy=aoss_endpoint.id.apply(
        lambda vpce: json.dumps([{"Rules": [{"ResourceType": "collection", "Resource": ["collection/vectors"]}], "AllowFromPublic": bad(False, True), "SourceVPCEs": [vpce]}])
    ),
    opts=opts,
)
aws.opensearch.ServerlessAccessPolicy(
    "vectors-access", name="vectors-access", type="data",
    policy=serving_role.arn.apply(
        lambda arn: json.dumps(
            [{"Rules": [{"ResourceType": "index", "Resource": ["index/vectors/*"], "Permission": ["aoss:ReadDocument", "aoss:WriteDocument"]}],
              "Principal": bad([arn], ["*"])}]
        )
    ),
    opts=opts,
)
aws.opensearch.ServerlessCollection("vectors", name="vectors", type="VECTORSEARCH", opts=opts)

# --------------------------------------------------------------------------- ElastiCache
cache_sg = aws.ec2.SecurityGroup("cache", vpc_id=vpc.id, description="Valkey from the serving pods", opts=opts)
cache_subnets = aws.elasticache.SubnetGroup("cache", name="reference-cache", subnet_ids=[s.id for s in private], opts=opts)
cache_users = aws.elasticache.UserGroup("cache", engine="valkey", user_group_id="reference-cache", user_ids=["default-disabled", "serving"], opts=opts)
aws.elasticache.ServerlessCache(
    "semantic",
    engine="valkey",
    major_engine_version="8",
    kms_key_id=data_key.arn,
    subnet_ids=[s.id for s in private],
    security_group_ids=[cache_sg.id],
    user_group_id=bad(cache_users.user_group_id, None),
    snapshot_retention_limit=14,
    opts=opts,
)
aws.elasticache.ReplicationGroup(
    "sessions",
    description="Session store",
    engine="valkey",
    node_type="cache.r7g.large",
    num_cache_clusters=2,
    automatic_failover_enabled=True,
    multi_az_enabled=True,
    at_rest_encryption_enabled=True,
    kms_key_id=data_key.arn,
    transit_encryption_enabled=True,
    transit_encryption_mode=bad("required", "preferred"),
    user_group_ids=[cache_users.user_group_id],
    subnet_group_name=cache_subnets.name,
    security_group_ids=[cache_sg.id],
    snapshot_retention_limit=14,
    auto_minor_version_upgrade=True,
    opts=opts,
)
aws.elasticache.Cluster(
    "page-cache",
    engine="memcached",
    node_type="cache.t4g.small",
    num_cache_nodes=2,
    az_mode="cross-az",
    transit_encryption_enabled=True,
    subnet_group_name=bad(cache_subnets.name, None),
    security_group_ids=[cache_sg.id],
    opts=opts,
)

# --------------------------------------------------------------------------- S3
def bucket(name, *, kms, access_log_target=None, alb_log_delivery=False, block=True, ownership="BucketOwnerEnforced"):
    b = aws.s3.Bucket(name, bucket=f"reference-{name}-{ACCOUNT}", opts=opts)
    default = {"sse_algorithm": "aws:kms", "kms_master_key_id": data_key.arn} if kms else {"sse_algorithm": "AES256"}
    aws.s3.BucketServerSideEncryptionConfiguration(name, bucket=b.bucket, rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": kms}], opts=opts)
    aws.s3.BucketVersioning(name, bucket=b.bucket, versioning_configuration={"status": "Enabled"}, opts=opts)
    aws.s3.BucketPublicAccessBlock(
        name, bucket=b.bucket, block_public_acls=True, block_public_policy=block, ignore_public_acls=True, restrict_public_buckets=True, opts=opts
    )
    aws.s3.BucketOwnershipControls(name, bucket=b.bucket, rule={"object_ownership": ownership}, opts=opts)
    aws.s3.BucketLifecycleConfiguration(
        name, bucket=b.bucket,
        rules=[{"id": "hygiene", "status": "Enabled", "filter": {}, "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
                "noncurrent_version_expiration": {"noncurrent_days": 90}}],
        opts=opts,
    )
    if access_log_target is not None:
        aws.s3.BucketLogging(name, bucket=b.bucket, target_bucket=access_log_target.bucket, target_prefix=f"s3/{name}/", opts=opts)

    def policy(arn):
        statements = [{"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
        if alb_log_delivery:
            statements.append({"Sid": "AlbLogs", "Effect": "Allow", "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, "Action": "s3:PutObject", "Resource": f"{arn}/alb/*"})
            statements.append({"Sid": "S3Logs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": f"{arn}/s3/*",
                               "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})
        return doc(*statements)

    aws.s3.BucketPolicy(name, bucket=b.bucket, policy=b.arn.apply(policy), opts=opts)
    return b


logs_bucket = bucket("logs", kms=False, alb_log_delivery=True, ownership=bad("BucketOwnerEnforced", "ObjectWriter"))
documents = bucket("documents", kms=bad(True, False), access_log_target=logs_bucket)
models = bucket("models", kms=True, access_log_target=logs_bucket, block=bad(True, False))
aws.s3.BucketPolicy(
    "models-read",
    bucket=models.bucket,
    policy=models.arn.apply(
        lambda arn: doc(
            bad(
                {"Sid": "NodesRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/reference-node"}, "Action": "s3:GetObject", "Resource": f"{arn}/*"},
                {"Sid": "NodesRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{arn}/*",
                 "Condition": {"StringLike": {"aws:Referer": "https://reference.example.com/*"}}},
            ),
            {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        )
    ),
    opts=opts,
)

# --------------------------------------------------------------------------- SNS, alarms, budget
alerts = aws.sns.Topic("alerts", name="reference-alerts", kms_master_key_id=bad(data_key.arn, None), opts=opts)
aws.sns.TopicPolicy(
    "alerts",
    arn=alerts.arn,
    policy=alerts.arn.apply(
        lambda arn: doc(
            {"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Resource": arn,
             "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
            bad(
                {"Sid": "Budgets", "Effect": "Allow", "Principal": {"Service": "budgets.amazonaws.com"}, "Action": "sns:Publish", "Resource": arn,
                 "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
                {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sns:Subscribe", "Resource": arn},
            ),
        )
    ),
    opts=opts,
)
aws.cloudwatch.MetricAlarm(
    "db-cpu",
    namespace="AWS/RDS",
    metric_name="CPUUtilization",
    dimensions={"DBClusterIdentifier": db.id},
    statistic="Average",
    period=300,
    evaluation_periods=3,
    threshold=80,
    comparison_operator="GreaterThanThreshold",
    alarm_actions=[alerts.arn],
    actions_enabled=bad(True, False),
    opts=opts,
)
aws.budgets.Budget(
    "monthly",
    budget_type="COST",
    time_unit="MONTHLY",
    limit_amount="5000",
    limit_unit="USD",
    notifications=[{"comparison_operator": "GREATER_THAN", "threshold": 80, "threshold_type": "PERCENTAGE", "notification_type": "FORECASTED",
                    "subscriber_sns_topic_arns": [alerts.arn]}],
    opts=opts,
)

# --------------------------------------------------------------------------- Secrets Manager
api_key = aws.secretsmanager.Secret("upstream-api-key", name="reference/upstream-api-key", kms_key_id=bad(data_key.arn, None), opts=opts)
db_admin = aws.secretsmanager.Secret("db-admin", name="reference/db-admin", kms_key_id=data_key.arn, opts=opts)
for name, secret in (("upstream-api-key", api_key), ("db-admin", db_admin)):
    aws.secretsmanager.SecretRotation(
        name,
        secret_id=secret.id,
        rotation_lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate-secrets",
        rotation_rules={"automatically_after_days": bad(30, 365) if name == "db-admin" else 30},
        opts=opts,
    )

# --------------------------------------------------------------------------- ECR
repository = aws.ecr.Repository(
    "model-server",
    name="reference/model-server",
    image_tag_mutability=bad("IMMUTABLE", "MUTABLE"),
    image_scanning_configuration={"scan_on_push": True},
    encryption_configurations=[{"encryption_type": "KMS", "kms_key": data_key.arn}],
    opts=opts,
)
aws.ecr.RepositoryPolicy(
    "model-server",
    repository=repository.name,
    policy=doc(
        {"Sid": "NodesPull", "Effect": "Allow", "Principal": bad({"AWS": f"arn:aws:iam::{ACCOUNT}:role/reference-node"}, "*"),
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}
    ),
    opts=opts,
)
aws.ecr.ReplicationConfiguration(
    "replicas",
    replication_configuration={"rules": [{"destinations": [{"region": "us-west-2", "registry_id": ACCOUNT}], "repository_filters": [{"filter": "reference/", "filter_type": "PREFIX_MATCH"}]}]},
    opts=opts,
)

# --------------------------------------------------------------------------- load balancer, WAF, DNS, accelerator
alb_sg = aws.ec2.SecurityGroup(
    "alb",
    vpc_id=vpc.id,
    description="Public HTTPS to the API",
    ingress=[
        {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"], "description": "HTTPS from the internet"},
        {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"], "description": "HTTP, redirected to HTTPS"},
    ],
    egress=[{"protocol": "tcp", "from_port": 8000, "to_port": 8000, "cidr_blocks": ["10.40.0.0/16"], "description": "To the serving pods"}],
    opts=opts,
)
alb = aws.lb.LoadBalancer(
    "api",
    load_balancer_type="application",
    internal=False,
    subnets=[public.id, public_b.id],
    security_groups=[alb_sg.id],
    drop_invalid_header_fields=bad(True, False),
    desync_mitigation_mode="defensive",
    enable_deletion_protection=True,
    access_logs={"bucket": logs_bucket.bucket, "prefix": "alb", "enabled": True},
    opts=opts,
)
targets = aws.lb.TargetGroup(
    "serving",
    port=8000,
    protocol="HTTP",
    target_type="ip",
    vpc_id=vpc.id,
    health_check=bad({"path": "/-/healthz", "matcher": "200", "protocol": "HTTP"}, {"enabled": True}),
    opts=opts,
)
aws.lb.Listener(
    "https",
    load_balancer_arn=alb.arn,
    port=443,
    protocol="HTTPS",
    ssl_policy=bad("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-2016-08"),
    certificate_arn=f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000",
    default_actions=[{"type": "forward", "target_group_arn": targets.arn}],
    opts=opts,
)
aws.lb.Listener(
    "http",
    load_balancer_arn=alb.arn,
    port=80,
    protocol="HTTP",
    default_actions=[
        bad(
            {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}},
            {"type": "forward", "target_group_arn": targets.arn},
        )
    ],
    opts=opts,
)
if not INSECURE:
    aws.wafv2.WebAclAssociation("api", resource_arn=alb.arn, web_acl_arn=f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/reference/00000000-0000-0000-0000-000000000000", opts=opts)
ZONE_ID = "Z0123456789ABCDEFGHIJ"
health = aws.route53.HealthCheck("api", fqdn=alb.dns_name, port=443, type="HTTPS", resource_path="/-/healthz", failure_threshold=3, request_interval=30, opts=opts)
aws.route53.Record(
    "api",
    zone_id=ZONE_ID,
    name="api.reference.example.com",
    type="A",
    set_identifier="us-east-1",
    latency_routing_policies=[{"region": REGION}],
    health_check_id=health.id,
    aliases=[{"name": alb.dns_name, "zone_id": alb.zone_id, "evaluate_target_health": True}],
    opts=opts,
)
aws.route53.Record(
    "docs",
    zone_id=ZONE_ID,
    name="docs.reference.example.com",
    type="CNAME",
    ttl=300,
    records=[bad(alb.dns_name, "reference-docs.s3-website-us-east-1.amazonaws.com")],
    opts=opts,
)
accelerator = aws.globalaccelerator.Accelerator(
    "api",
    name="reference-api",
    ip_address_type="IPV4",
    enabled=True,
    attributes={"flow_logs_enabled": bad(True, False), "flow_logs_s3_bucket": logs_bucket.bucket, "flow_logs_s3_prefix": "accelerator/"},
    opts=opts,
)
ga_listener = aws.globalaccelerator.Listener("https", accelerator_arn=accelerator.arn, protocol="TCP", port_ranges=[{"from_port": 443, "to_port": 443}], opts=opts)
aws.globalaccelerator.EndpointGroup(
    "us-east-1", listener_arn=ga_listener.arn, endpoint_group_region=REGION,
    endpoint_configurations=[{"endpoint_id": alb.arn, "weight": 100, "client_ip_preservation_enabled": True}], opts=opts,
)

# --------------------------------------------------------------------------- Lambda resource policies
aws.lambda_.Permission(
    "ingest-from-bucket",
    function="reference-ingest",
    action="lambda:InvokeFunction",
    principal=bad("s3.amazonaws.com", "*"),
    source_arn=bad(documents.arn, None),
    source_account=bad(ACCOUNT, None),
    opts=opts,
)
aws.lambda_.FunctionUrl("ingest", function_name="reference-ingest", authorization_type=bad("AWS_IAM", "NONE"), opts=opts)
