"""An application stack on a network stack's VPC: the VPC id comes from a stack reference,
the VPC itself is read with ``Vpc.get``, and a subnet and instance are created in it."""

import pulumi
import pulumi_aws as aws

network = pulumi.StackReference("acme/network/prod")
vpc_id = network.require_output("vpcId")
vpc = aws.ec2.Vpc.get("network-vpc", vpc_id)
subnet = aws.ec2.Subnet("app", vpc_id=vpc.id, cidr_block=network.require_output("appSubnetCidr"), availability_zone="eu-west-1b")
ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"], filters=[{"name": "name", "values": ["al2023-ami-*-x86_64"]}])
server = aws.ec2.Instance("app", ami=ami.id, instance_type="t3.small", subnet_id=subnet.id, associate_public_ip_address=False)
role = aws.iam.Role.get("deployer", "deployer")

pulumi.export("vpcId", vpc.id)
pulumi.export("vpcCidr", vpc.cidr_block)
pulumi.export("vpcArn", vpc.arn)
pulumi.export("subnetId", subnet.id)
pulumi.export("subnetAzId", subnet.availability_zone_id)
pulumi.export("privateIp", server.private_ip)
pulumi.export("privateDns", server.private_dns)
pulumi.export("deployerArn", role.arn)
pulumi.export("environment", network.get_output("environment"))
