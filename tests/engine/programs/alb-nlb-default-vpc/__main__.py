"""An internet-facing ALB (HTTP redirect, HTTPS with an ACM certificate) and an NLB in
the account's default VPC, found with data sources."""

import pulumi
import pulumi_aws as aws

vpc = aws.ec2.get_vpc(default=True)
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": [vpc.id]}])

web_sg = aws.ec2.SecurityGroup(
    "web",
    vpc_id=vpc.id,
    description="HTTP and HTTPS from anywhere",
    ingress=[
        {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]},
        {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]},
    ],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}],
)
alb = aws.lb.LoadBalancer("web", load_balancer_type="application", security_groups=[web_sg.id], subnets=subnets.ids)
targets = aws.lb.TargetGroup("web", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc.id, health_check={"path": "/healthz"})
aws.lb.Listener(
    "http",
    load_balancer_arn=alb.arn,
    port=80,
    default_actions=[{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}],
)
cert = aws.acm.Certificate("web", domain_name="app.example.com", validation_method="DNS")
https = aws.lb.Listener(
    "https",
    load_balancer_arn=alb.arn,
    port=443,
    protocol="HTTPS",
    ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
    certificate_arn=cert.arn,
    default_actions=[{"type": "forward", "target_group_arn": targets.arn}],
)
nlb = aws.lb.LoadBalancer("tcp", load_balancer_type="network", internal=True, subnets=subnets.ids)
tcp_targets = aws.lb.TargetGroup("tcp", port=5432, protocol="TCP", vpc_id=vpc.id)
aws.lb.Listener("tcp", load_balancer_arn=nlb.arn, port=5432, protocol="TCP", default_actions=[{"type": "forward", "target_group_arn": tcp_targets.arn}])

pulumi.export("albDnsName", alb.dns_name)
pulumi.export("albZoneId", alb.zone_id)
pulumi.export("albArnSuffix", alb.arn_suffix)
pulumi.export("nlbDnsName", nlb.dns_name)
pulumi.export("nlbZoneId", nlb.zone_id)
pulumi.export("httpsListenerArn", https.arn)
pulumi.export("targetGroupArnSuffix", targets.arn_suffix)
pulumi.export("vpcId", vpc.id)
pulumi.export("vpcCidr", vpc.cidr_block)
pulumi.export("subnetIds", subnets.ids)
pulumi.export("securityGroupId", web_sg.id)
