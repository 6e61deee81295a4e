"""``Network``: one region's VPC for an EKS-based LLM platform.

Private subnets (large, for nodes and pod IPs) and public subnets (small, for load
balancers and NAT) across the configured availability zones, chosen by zone ID (names map
to different zones in each account) among those EKS accepts; NAT gateways one per AZ or a
single shared one; an S3 gateway endpoint and interface endpoints (ECR, STS, ...) so image
pulls and IRSA token exchanges do not pay NAT data charges; VPC flow logs; the subnet tags
EKS and Karpenter use for discovery; a default security group with no rules.

The component must be given the region's ``aws.Provider`` (``opts.providers``); every
child inherits it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import policy_json
from components.monitoring import Monitored, NatGateway
from components.naming import TYPE_PREFIX

NAT_MODES = ("single", "perAz")


@dataclass(frozen=True)
class SubnetPlan:
    """The CIDR blocks for one availability zone."""

    index: int
    private: str
    public: str


def plan_subnets(cidr: str, az_count: int) -> list[SubnetPlan]:
    """Splits a VPC block into one private and one public subnet per AZ.

    Private subnets take an eighth of the VPC each (a /19 in a /16: 8,187 usable addresses,
    room for VPC-CNI pod IPs); public subnets take a sixty-fourth each (/22 in a /16), carved
    from the last eighth. Supports up to 7 AZs.
    """
    network = ipaddress.IPv4Network(cidr, strict=True)
    if not 1 <= az_count <= 7:
        raise ValueError(f"az_count must be between 1 and 7 (got {az_count})")
    eighths = list(network.subnets(new_prefix=network.prefixlen + 3))
    public_blocks = list(eighths[-1].subnets(new_prefix=network.prefixlen + 6))
    return [
        SubnetPlan(index=i, private=str(eighths[i]), public=str(public_blocks[i]))
        for i in range(az_count)
    ]


@dataclass(frozen=True)
class Zone:
    """An availability zone: its name in this account and its ID (the same in every account)."""

    name: str
    id: str


def choose_zones(names: Sequence[str], zone_ids: Sequence[str], count: int, region: str, excluded: Sequence[str] = ()) -> list[Zone]:
    """The ``count`` zones the VPC spans: the region's zones (``names[i]`` is ``zone_ids[i]``,
    as ``DescribeAvailabilityZones`` pairs them) minus the ``excluded`` IDs, in zone-ID order,
    so the same zones are picked in every account. Raises ``pulumi.RunError`` naming the
    zones when too few are left."""
    if len(names) != len(zone_ids):
        raise pulumi.RunError(f"{region}: {len(names)} zone names but {len(zone_ids)} zone IDs; cannot pair them")
    usable = sorted((Zone(n, i) for n, i in zip(names, zone_ids, strict=True) if i not in excluded), key=lambda z: z.id)
    if len(usable) < count:
        skipped = [i for i in zone_ids if i in excluded]
        why = f" (EKS does not accept {', '.join(skipped)})" if skipped else ""
        raise pulumi.RunError(
            f"{region} offers {len(usable)} usable availability zones to this account "
            f"({', '.join(f'{z.name}/{z.id}' for z in usable)}){why} but the stack asks for {count}; "
            f"lower azCount for {region}"
        )
    return usable[:count]


def nat_gateway_count(mode: str, az_count: int) -> int:
    """How many NAT gateways a mode creates."""
    if mode not in NAT_MODES:
        raise ValueError(f"nat mode must be one of {NAT_MODES} (got {mode!r})")
    return az_count if mode == "perAz" else 1


@dataclass(frozen=True)
class NetworkArgs:
    """Arguments of :class:`Network`."""

    region: str
    """AWS region code; must match the provider the component is given."""
    cidr: str
    """VPC IPv4 block (/16 to /20)."""
    az_count: int
    """Availability zones to span (>= 2 for EKS)."""
    cluster_name: str
    """EKS cluster that will use this VPC; written into the subnet discovery tags."""
    nat_gateways: str = "perAz"
    """``perAz`` (one NAT per AZ, survives an AZ outage) or ``single`` (one NAT, cheaper)."""
    interface_endpoints: Sequence[str] = ("ecr.api", "ecr.dkr", "sts")
    """Service suffixes reached through interface endpoints (``com.amazonaws.<region>.<suffix>``)."""
    flow_logs: bool = True
    """Record VPC flow logs to CloudWatch Logs."""
    flow_log_retention_days: int = 30
    """Retention of the flow log group."""
    flow_log_traffic_type: str = "ALL"
    """``ALL``, ``ACCEPT`` or ``REJECT``."""
    excluded_zone_ids: Sequence[str] = ()
    """Zone IDs the VPC must not use (those where EKS places no control plane)."""
    account_id: str | None = None
    """The account the VPC lives in: the flow-log role trusts the flow-logs service only on
    its behalf (confused-deputy protection)."""
    retain_logs: bool = False
    """Keep the flow-log group when the stack is destroyed."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags added to every child (the provider's default tags carry the cost tags)."""

    def validate(self) -> None:
        """Fails before any child is created, naming the argument."""
        plan_subnets(self.cidr, self.az_count)
        nat_gateway_count(self.nat_gateways, self.az_count)
        if self.az_count < 2:
            raise ValueError(f"NetworkArgs.az_count: EKS needs subnets in at least 2 AZs (got {self.az_count})")
        if self.flow_log_traffic_type not in ("ALL", "ACCEPT", "REJECT"):
            raise ValueError(
                f"NetworkArgs.flow_log_traffic_type: must be ALL, ACCEPT or REJECT (got {self.flow_log_traffic_type!r})"
            )


class Network(pulumi.ComponentResource):
    """A region's VPC: subnets, routing, NAT, endpoints and flow logs."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    availability_zones: pulumi.Output[list[str]]
    availability_zone_ids: pulumi.Output[list[str]]
    nat_gateway_ids: pulumi.Output[list[str]]
    endpoint_security_group_id: pulumi.Output[str]
    monitoring: tuple[Monitored, ...]
    """What the alerting watches here: the NAT gateways (:mod:`components.monitoring`)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        subnets = plan_subnets(args.cidr, args.az_count)

        def tags(resource_name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
            return {**args.tags, "Name": resource_name, **(extra or {})}

        found = aws.get_availability_zones_output(
            state="available",
            exclude_zone_ids=list(args.excluded_zone_ids) or None,
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        zones = pulumi.Output.all(found.names, found.zone_ids).apply(
            lambda v: choose_zones(v[0], v[1], args.az_count, args.region, args.excluded_zone_ids)
        )
        az_names = zones.apply(lambda chosen: [z.name for z in chosen])

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags(f"{name}-vpc"),
            opts=child,
        )
        # Lock down the default security group: nothing should rely on it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags=tags(f"{name}-default-sg"),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags(f"{name}-igw"), opts=child)

        discovery = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        def zone(index: int) -> pulumi.Output[str]:
            return az_names.apply(lambda names: names[index])

        for plan in subnets:
            az = zone(plan.index)
            public_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-public-{plan.index}",
                    vpc_id=vpc.id,
                    cidr_block=plan.public,
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags=tags(
                        f"{name}-public-{plan.index}",
                        {**discovery, "kubernetes.io/role/elb": "1", "llmops.io/tier": "public"},
                    ),
                    opts=child,
                )
            )
            private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{plan.index}",
                    vpc_id=vpc.id,
                    cidr_block=plan.private,
                    availability_zone=az,
                    tags=tags(
                        f"{name}-private-{plan.index}",
                        {
                            **discovery,
                            "kubernetes.io/role/internal-elb": "1",
                            "karpenter.sh/discovery": args.cluster_name,
                            "llmops.io/tier": "private",
                        },
                    ),
                    opts=child,
                )
            )

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags=tags(f"{name}-public-rt"), opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for plan, subnet in zip(subnets, public_subnets, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{plan.index}", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
            )

        nats: list[aws.ec2.NatGateway] = []
        for i in range(nat_gateway_count(args.nat_gateways, args.az_count)):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags(f"{name}-nat-{i}"), opts=child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public_subnets[i].id,
                    connectivity_type="public",
                    tags=tags(f"{name}-nat-{i}"),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )

        private_rts: list[aws.ec2.RouteTable] = []
        for plan, subnet in zip(subnets, private_subnets, strict=True):
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{plan.index}", vpc_id=vpc.id, tags=tags(f"{name}-private-rt-{plan.index}"), opts=child
            )
            aws.ec2.Route(
                f"{name}-private-default-{plan.index}",
                route_table_id=rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nats[plan.index % len(nats)].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{plan.index}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )
            private_rts.append(rt)

        # Gateway endpoint: S3 traffic (model weights, documents) never crosses NAT.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags=tags(f"{name}-s3"),
            opts=child,
        )

        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            tags=tags(f"{name}-endpoints"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https",
            security_group_id=endpoint_sg.id,
            description="HTTPS from the VPC",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=args.cidr,
            opts=child,
        )
        for service in args.interface_endpoints:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private_subnets],
                security_group_ids=[endpoint_sg.id],
                tags=tags(f"{name}-{service.replace('.', '-')}"),
                opts=child,
            )

        if args.flow_logs:
            self._flow_logs(name, args, vpc, tags(f"{name}-flow-logs"))

        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.availability_zones = az_names
        self.availability_zone_ids = zones.apply(lambda chosen: [z.id for z in chosen])
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats])
        self.endpoint_security_group_id = endpoint_sg.id
        self.monitoring = tuple(NatGateway(key=f"nat-{i}", nat_gateway_id=nat.id) for i, nat in enumerate(nats))
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
                "availabilityZones": self.availability_zones,
                "availabilityZoneIds": self.availability_zone_ids,
                "natGatewayIds": self.nat_gateway_ids,
                "endpointSecurityGroupId": self.endpoint_security_group_id,
            }
        )

    def _flow_logs(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, tags: dict[str, str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/llmops/vpc-flow-logs/{name}",
            retention_in_days=args.flow_log_retention_days,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_logs or None),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=flow_log_trust_policy(args.region, args.account_id),
            tags=tags,
            opts=child,
        )
        # Least privilege: write to this log group only.
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=log_group.arn.apply(flow_log_policy),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type=args.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child,
        )


def flow_log_trust_policy(region: str, account_id: str | None) -> str:
    """The flow-log role's trust: the VPC flow-logs service, on behalf of this account's
    flow logs only when the account is known."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if account_id is not None:
        statement["Condition"] = {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{region}:{account_id}:vpc-flow-log/*"},
        }
    return policy_json(statement)


def flow_log_policy(log_group_arn: str) -> str:
    """What the flow-logs service needs to publish (AWS's documented set), on the flow-log
    group only; ``DescribeLogGroups`` lists, so it takes no log group."""
    return policy_json(
        {
            "Sid": "PublishFlowLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
        {"Sid": "ListLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
    )
