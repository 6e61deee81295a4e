"""A Fargate service behind an ALB in the default VPC, its image in ECR, logs in
CloudWatch: the shape of the public aws-py-fargate examples."""

import json

import pulumi
import pulumi_aws as aws

vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])
region = aws.get_region()

repo = aws.ecr.Repository("app", image_scanning_configuration={"scan_on_push": True}, force_delete=True)
token = aws.ecr.get_authorization_token(registry_id=repo.registry_id)
cluster = aws.ecs.Cluster("cluster")
logs = aws.cloudwatch.LogGroup("app", retention_in_days=14)
group = aws.ec2.SecurityGroup(
    "app",
    vpc_id=vpc.id,
    ingress=[{"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]}],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
)
alb = aws.lb.LoadBalancer("app", security_groups=[group.id], subnets=subnets.ids)
targets = aws.lb.TargetGroup("app", port=80, protocol="HTTP", target_type="ip", vpc_id=vpc.id)
listener = aws.lb.Listener("web", load_balancer_arn=alb.arn, port=80, default_actions=[{"type": "forward", "target_group_arn": targets.arn}])
execution_role = aws.iam.Role(
    "task-exec",
    assume_role_policy=json.dumps(
        {"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    ),
)
aws.iam.RolePolicyAttachment(
    "task-exec", role=execution_role.name, policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
)
task = aws.ecs.TaskDefinition(
    "app",
    family="app",
    cpu="256",
    memory="512",
    network_mode="awsvpc",
    requires_compatibilities=["FARGATE"],
    execution_role_arn=execution_role.arn,
    container_definitions=pulumi.Output.all(repo.repository_url, logs.name).apply(
        lambda args: json.dumps(
            [
                {
                    "name": "app",
                    "image": f"{args[0]}:latest",
                    "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
                    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": args[1], "awslogs-region": region.region, "awslogs-stream-prefix": "app"}},
                }
            ]
        )
    ),
)
service = aws.ecs.Service(
    "app",
    cluster=cluster.arn,
    desired_count=2,
    launch_type="FARGATE",
    task_definition=task.arn,
    network_configuration={"assign_public_ip": True, "subnets": subnets.ids, "security_groups": [group.id]},
    load_balancers=[{"target_group_arn": targets.arn, "container_name": "app", "container_port": 80}],
    opts=pulumi.ResourceOptions(depends_on=[listener]),
)

pulumi.export("url", alb.dns_name.apply(lambda name: f"http://{name}"))
pulumi.export("repositoryUrl", repo.repository_url)
pulumi.export("registryEndpoint", token.proxy_endpoint)
pulumi.export("registryUser", token.user_name)
pulumi.export("clusterArn", cluster.arn)
pulumi.export("serviceName", service.name)
pulumi.export("taskDefinitionArn", task.arn)
pulumi.export("taskRevision", task.revision)
pulumi.export("logGroup", logs.name)
