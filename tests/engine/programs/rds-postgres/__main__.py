"""PostgreSQL on RDS (a single instance with an RDS-managed master password) and Aurora
PostgreSQL, in subnets of the default VPC."""

import pulumi
import pulumi_aws as aws

vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
group = aws.rds.SubnetGroup("db", subnet_ids=subnets.ids)
sg = aws.ec2.SecurityGroup(
    "db", vpc_id=vpc.id, ingress=[{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": [vpc.cidr_block]}]
)
db = aws.rds.Instance(
    "orders",
    engine="postgres",
    engine_version="16.4",
    instance_class="db.t4g.micro",
    allocated_storage=20,
    db_name="orders",
    username="app",
    manage_master_user_password=True,
    db_subnet_group_name=group.name,
    vpc_security_group_ids=[sg.id],
    storage_encrypted=True,
    skip_final_snapshot=True,
)
cluster = aws.rds.Cluster(
    "analytics",
    engine="aurora-postgresql",
    engine_version="16.4",
    database_name="analytics",
    master_username="analytics",
    manage_master_user_password=True,
    db_subnet_group_name=group.name,
    vpc_security_group_ids=[sg.id],
    storage_encrypted=True,
    skip_final_snapshot=True,
    serverlessv2_scaling_configuration={"min_capacity": 0.5, "max_capacity": 4},
)
aws.rds.ClusterInstance("analytics-1", cluster_identifier=cluster.id, instance_class="db.serverless", engine=cluster.engine)

pulumi.export("address", db.address)
pulumi.export("endpoint", db.endpoint)
pulumi.export("port", db.port)
pulumi.export("secretArn", db.master_user_secrets[0].secret_arn)
pulumi.export("clusterEndpoint", cluster.endpoint)
pulumi.export("readerEndpoint", cluster.reader_endpoint)
pulumi.export("clusterPort", cluster.port)
pulumi.export("clusterResourceId", cluster.cluster_resource_id)
pulumi.export("subnetGroup", group.name)
