""":class:`ApiBastion`: a small instance in a private subnet that deploys tunnel through to
reach a private API server (SSM Session Manager port forwarding): no public IP, no inbound
rule, no SSH key; the cluster's security group admits it on HTTPS."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.iam import assume_role_policy
from components.naming import TYPE_PREFIX, name_tags

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
"""The latest Amazon Linux 2023 for arm64 (the SSM agent is preinstalled)."""
PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"


@dataclass(frozen=True)
class ApiBastionArgs:
    """Arguments of :class:`ApiBastion`."""

    cluster_name: str
    """The cluster the bastion gives access to (descriptions, tags)."""
    vpc_id: pulumi.Input[str]
    """The cluster's VPC."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Private subnets; the bastion starts in the first."""
    cluster_security_group_id: pulumi.Input[str]
    """The cluster security group, which gets an HTTPS rule from the bastion."""
    instance_type: str = "t4g.nano"
    """An arm64 type (the AMI is arm64); a tunnel needs next to nothing."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the AWS children."""
    launch_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the root volume (the provider's default tags do not reach it)."""

    def validate(self) -> None:
        family = self.instance_type.split(".", 1)[0]
        if not re.fullmatch(r"[a-z]+\d+g[a-z]*", family):
            raise ValueError(
                f"invalid ApiBastionArgs:\n  ApiBastionArgs.instance_type: {self.instance_type!r} is not a Graviton "
                "(arm64) type such as t4g.nano; the bastion boots the arm64 Amazon Linux AMI"
            )


class ApiBastion(pulumi.ComponentResource):
    """The bastion deploys open SSM port-forwarding sessions through (see
    ``docs/deploying.md``)::

        aws ssm start-session --target <instanceId> \\
          --document-name AWS-StartPortForwardingSessionToRemoteHost \\
          --parameters '{"host":["<endpoint host>"],"portNumber":["443"],"localPortNumber":["8443"]}'
    """

    instance_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: ApiBastionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:cluster:ApiBastion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
            tags=name_tags(args.tags, f"{name}-role"),
            opts=child,
        )
        ssm = aws.iam.RolePolicyAttachment(f"{name}-ssm", role=role.name, policy_arn=SSM_CORE_POLICY, opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=name_tags(args.tags, f"{name}-profile"), opts=child)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"SSM tunnel bastion of {args.cluster_name}: no inbound, HTTPS out",
            tags=name_tags(args.tags, f"{name}-sg"),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https-out",
            security_group_id=group.id,
            description="HTTPS to Systems Manager and the cluster API",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-to-api",
            security_group_id=args.cluster_security_group_id,
            description=f"HTTPS to the API server from the tunnel bastion of {args.cluster_name}",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            referenced_security_group_id=group.id,
            opts=child,
        )
        image = aws.ssm.get_parameter_output(name=AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self))
        instance = aws.ec2.Instance(
            name,
            ami=image.value,
            instance_type=args.instance_type,
            subnet_id=pulumi.Output.from_input(args.subnet_ids).apply(lambda ids: ids[0]),
            vpc_security_group_ids=[group.id],
            iam_instance_profile=profile.name,
            associate_public_ip_address=False,
            monitoring=True,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                encrypted=True, volume_type="gp3", volume_size=8, tags=name_tags(args.launch_tags, name)
            ),
            tags=name_tags(args.tags, name),
            # A new AMI release must not replace the bastion under an open tunnel; patch it
            # through SSM, or replace it deliberately (pulumi up --replace).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ssm], ignore_changes=["ami"]),
        )
        self.instance_id = instance.id
        self.security_group_id = group.id
        self.register_outputs({"instanceId": self.instance_id, "securityGroupId": self.security_group_id})
