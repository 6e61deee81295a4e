"""``Network``: real arguments of every child, checked on the offline plans of the shipped
stacks and on the pure subnet planner."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components.network import NetworkArgs, nat_gateway_count, plan_subnets
from tests.support import of_type


def test_plan_subnets_splits_a_slash16_into_large_private_and_small_public_blocks() -> None:
    plans = plan_subnets("10.0.0.0/16", 3)
    assert [p.private for p in plans] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [p.public for p in plans] == ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]
    blocks = [ipaddress.ip_network(b) for p in plans for b in (p.private, p.public)]
    vpc = ipaddress.ip_network("10.0.0.0/16")
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_plan_subnets_scales_with_the_vpc_prefix() -> None:
    plans = plan_subnets("172.16.16.0/20", 2)
    assert [p.private for p in plans] == ["172.16.16.0/23", "172.16.18.0/23"]
    assert [p.public for p in plans] == ["172.16.30.0/26", "172.16.30.64/26"]


def test_nat_gateway_count_per_mode() -> None:
    assert nat_gateway_count("perAz", 3) == 3
    assert nat_gateway_count("single", 3) == 1
    with pytest.raises(ValueError, match="nat mode"):
        nat_gateway_count("none", 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"az_count": 1}, "at least 2 AZs"),
        ({"nat_gateways": "per-az"}, "nat mode"),
        ({"flow_log_traffic_type": "SOME"}, "ALL, ACCEPT or REJECT"),
        ({"cidr": "10.0.0.1/16"}, "host bits"),
    ],
)
def test_network_args_are_validated_before_anything_is_created(change: dict[str, Any], message: str) -> None:
    args = dict(region="us-east-1", cidr="10.0.0.0/16", az_count=2, cluster_name="c")
    args.update(change)
    with pytest.raises(ValueError, match=message):
        NetworkArgs(**args).validate()  # type: ignore[arg-type]


def test_dev_network_vpc_subnets_and_az_spread(dev_document: dict[str, Any]) -> None:
    (vpc,) = of_type(dev_document, "aws:ec2/vpc:Vpc")
    assert vpc["inputs"]["cidrBlock"] == "10.10.0.0/16"
    assert vpc["inputs"]["enableDnsHostnames"] is True and vpc["inputs"]["enableDnsSupport"] is True
    subnets = of_type(dev_document, "aws:ec2/subnet:Subnet")
    private = sorted((s for s in subnets if "-private-" in s["name"]), key=lambda s: s["name"])
    public = sorted((s for s in subnets if "-public-" in s["name"]), key=lambda s: s["name"])
    assert [s["inputs"]["cidrBlock"] for s in private] == ["10.10.0.0/19", "10.10.32.0/19"]
    assert [s["inputs"]["cidrBlock"] for s in public] == ["10.10.224.0/22", "10.10.228.0/22"]
    assert [s["inputs"]["availabilityZone"] for s in private] == ["us-east-1a", "us-east-1b"]
    assert [s["inputs"]["availabilityZone"] for s in public] == ["us-east-1a", "us-east-1b"]
    for subnet in private:
        tags = subnet["inputs"]["tags"]
        assert tags["kubernetes.io/role/internal-elb"] == "1"
        assert tags["karpenter.sh/discovery"] == "llmops-dev-us-east-1"
        assert tags["kubernetes.io/cluster/llmops-dev-us-east-1"] == "shared"
        assert subnet["inputs"].get("mapPublicIpOnLaunch") in (None, False)
    for subnet in public:
        assert subnet["inputs"]["tags"]["kubernetes.io/role/elb"] == "1"
        assert "karpenter.sh/discovery" not in subnet["inputs"]["tags"]


def test_dev_has_a_single_nat_and_every_private_route_uses_it(dev_document: dict[str, Any]) -> None:
    nats = of_type(dev_document, "aws:ec2/natGateway:NatGateway")
    assert len(nats) == 1
    assert nats[0]["inputs"]["connectivityType"] == "public"
    igw = of_type(dev_document, "aws:ec2/internetGateway:InternetGateway")[0]["urn"]
    assert igw in nats[0]["dependencies"]
    routes = [r for r in of_type(dev_document, "aws:ec2/route:Route") if "private-default" in r["name"]]
    assert len(routes) == 2
    for route in routes:
        assert route["inputs"]["destinationCidrBlock"] == "0.0.0.0/0"
        assert nats[0]["urn"] in route["dependencies"]


def test_prod_has_one_nat_per_az_and_each_private_route_uses_its_own(prod_document: dict[str, Any]) -> None:
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        nats = {n["name"]: n["urn"] for n in of_type(prod_document, "aws:ec2/natGateway:NatGateway", region)}
        assert sorted(nats) == [f"{region}-nat-{i}" for i in range(3)]
        for i in range(3):
            (route,) = [
                r for r in of_type(prod_document, "aws:ec2/route:Route", region) if r["name"] == f"{region}-private-default-{i}"
            ]
            assert nats[f"{region}-nat-{i}"] in route["dependencies"]


def test_endpoints_keep_s3_and_image_pulls_off_nat(dev_document: dict[str, Any]) -> None:
    endpoints = {e["inputs"]["serviceName"]: e for e in of_type(dev_document, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert sorted(endpoints) == [
        "com.amazonaws.us-east-1.ecr.api",
        "com.amazonaws.us-east-1.ecr.dkr",
        "com.amazonaws.us-east-1.s3",
        "com.amazonaws.us-east-1.sts",
    ]
    s3 = endpoints["com.amazonaws.us-east-1.s3"]["inputs"]
    assert s3["vpcEndpointType"] == "Gateway" and len(s3["routeTableIds"]) == 2
    for service in ("ecr.api", "ecr.dkr", "sts"):
        endpoint = endpoints[f"com.amazonaws.us-east-1.{service}"]["inputs"]
        assert endpoint["vpcEndpointType"] == "Interface"
        assert endpoint["privateDnsEnabled"] is True
        assert len(endpoint["subnetIds"]) == 2 and all(s.startswith("subnet-") for s in endpoint["subnetIds"])
    (rule,) = [r for r in of_type(dev_document, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r["name"].endswith("-endpoints-https")]
    assert rule["inputs"]["cidrIpv4"] == "10.10.0.0/16"
    assert (rule["inputs"]["fromPort"], rule["inputs"]["toPort"], rule["inputs"]["ipProtocol"]) == (443, 443, "tcp")


def test_flow_logs_go_to_a_retained_log_group_through_a_least_privilege_role(dev_document: dict[str, Any]) -> None:
    import json

    (flow_log,) = of_type(dev_document, "aws:ec2/flowLog:FlowLog")
    assert flow_log["inputs"]["trafficType"] == "ALL"
    assert flow_log["inputs"]["logDestinationType"] == "cloud-watch-logs"
    (log_group,) = [g for g in of_type(dev_document, "aws:cloudwatch/logGroup:LogGroup") if g["name"].endswith("-flow-logs")]
    assert log_group["inputs"]["retentionInDays"] == 14  # from the dev stack
    assert log_group["urn"] in flow_log["dependencies"]
    (policy,) = [p for p in of_type(dev_document, "aws:iam/rolePolicy:RolePolicy") if p["name"].endswith("-flow-logs-write")]
    statement = json.loads(policy["inputs"]["policy"])["Statement"][0]
    assert "*" not in json.dumps(statement["Action"])
    assert statement["Resource"][0].startswith("arn:aws:logs:us-east-1:111122223333:log-group:/llmops/vpc-flow-logs/")
    (role,) = [r for r in of_type(dev_document, "aws:iam/role:Role") if r["name"].endswith("-flow-logs-role")]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}


def test_default_security_group_is_emptied(dev_document: dict[str, Any]) -> None:
    (sg,) = of_type(dev_document, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg["inputs"].get("ingress", []) == [] and sg["inputs"].get("egress", []) == []


def test_every_regional_resource_uses_its_regions_explicit_provider(prod_document: dict[str, Any]) -> None:
    providers = {r["urn"]: r for r in prod_document["resources"] if r["type"] == "pulumi:providers:aws"}
    assert sorted(p["inputs"]["region"] for p in providers.values()) == ["eu-west-1", "us-east-1", "us-west-2"]
    regional = [r for r in prod_document["resources"] if r["type"].startswith("aws:") and not r["name"].startswith("account-")]
    assert regional
    for resource in regional:
        provider = providers[resource["provider"]]
        assert provider["inputs"]["region"] == resource["region"], resource["urn"]
        assert resource["name"].startswith(resource["region"]), resource["urn"]


def test_provider_default_tags_carry_cost_allocation_tags(prod_plan: Any, prod_document: dict[str, Any]) -> None:
    import json

    for provider in (r for r in prod_document["resources"] if r["type"] == "pulumi:providers:aws"):
        tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
        assert tags == {
            "Project": "llmops-platform",
            "Stack": "prod",
            "Environment": "prod",
            "Owner": "ml-platform",
            "CostCenter": "cc-4471-ml-prod",
            "ManagedBy": "pulumi",
        }
    vpc = next(r for r in prod_plan.resources if r.type == "aws:ec2/vpc:Vpc")
    assert vpc.outputs["tagsAll"]["CostCenter"] == "cc-4471-ml-prod"  # as the provider reports it
    assert vpc.outputs["tagsAll"]["Name"] == vpc.name


def test_regions_get_disjoint_cidrs_in_prod(prod_document: dict[str, Any]) -> None:
    blocks = [ipaddress.ip_network(v["inputs"]["cidrBlock"]) for v in of_type(prod_document, "aws:ec2/vpc:Vpc")]
    assert len(blocks) == 3
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_network_on_its_own_with_a_single_nat_and_no_flow_logs() -> None:
    from components.network import Network
    from tests.harness import aws_provider, run

    args = NetworkArgs(region="eu-west-1", cidr="10.20.0.0/16", az_count=3, cluster_name="c", nat_gateways="single", flow_logs=False)
    recorded = run(lambda: Network("euw1", args, opts=aws_provider("eu-west-1")))
    (nat,) = recorded.of_type("aws:ec2/natGateway:NatGateway")
    private_routes = [r for r in recorded.of_type("aws:ec2/route:Route") if "-private-default-" in r.name]
    assert len(private_routes) == 3 and {r.inputs["natGatewayId"] for r in private_routes} == {nat.id}
    assert not recorded.of_type("aws:ec2/flowLog:FlowLog") and not recorded.of_type("aws:cloudwatch/logGroup:LogGroup")
    outputs = recorded.outputs_of(recorded.one("llmops:network:Network"))
    assert set(outputs) == {
        "vpcId", "privateSubnetIds", "publicSubnetIds", "availabilityZones", "availabilityZoneIds", "natGatewayIds", "endpointSecurityGroupId",
    }
    assert outputs["availabilityZones"] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert outputs["availabilityZoneIds"] == ["euw1-az1", "euw1-az2", "euw1-az3"]
    assert outputs["natGatewayIds"] == [nat.id]


def test_zones_are_chosen_by_id_whatever_names_this_account_sees() -> None:
    from components.network import choose_zones

    # in this account us-east-1a is use1-az4, ...: the same three zone IDs are chosen as anywhere
    names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
    ids = ["use1-az4", "use1-az6", "use1-az1", "use1-az3", "use1-az2", "use1-az5"]
    chosen = choose_zones(names, ids, 3, "us-east-1", excluded=("use1-az3",))
    assert [(z.id, z.name) for z in chosen] == [("use1-az1", "us-east-1c"), ("use1-az2", "us-east-1e"), ("use1-az4", "us-east-1a")]


def test_too_few_usable_zones_names_the_ones_eks_rejects() -> None:
    import pulumi

    from components.network import choose_zones

    with pytest.raises(pulumi.RunError, match=r"us-west-1 offers 1 usable availability zones .*EKS does not accept usw1-az2.*lower azCount"):
        choose_zones(["us-west-1a", "us-west-1b"], ["usw1-az1", "usw1-az2"], 2, "us-west-1", excluded=("usw1-az2",))


def test_the_network_asks_for_zones_without_the_excluded_ids_and_builds_subnets_in_the_chosen_ones() -> None:
    from pulumi.runtime.mocks import MockCallArgs

    from components.network import Network
    from llmops.engine.mocks import PlatformMocks
    from tests.harness import aws_provider, run

    class ShuffledZones(PlatformMocks):
        """An account whose zone names map to other IDs than the offline engine's default."""

        def __init__(self) -> None:
            super().__init__()
            self.asked: dict[str, Any] = {}

        def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
                self.asked.update(args.args)
                pairs = [("us-east-1a", "use1-az3"), ("us-east-1b", "use1-az5"), ("us-east-1c", "use1-az2"), ("us-east-1d", "use1-az1")]
                return {"names": [n for n, _ in pairs], "zoneIds": [i for _, i in pairs], "id": "us-east-1"}, []
            return super().call(args)

    mocks = ShuffledZones()
    args = NetworkArgs(region="us-east-1", cidr="10.50.0.0/16", az_count=2, cluster_name="c", excluded_zone_ids=("use1-az3",), flow_logs=False)
    recorded = run(lambda: Network("use1", args, opts=aws_provider("us-east-1")), mocks=mocks)
    assert mocks.asked["excludeZoneIds"] == ["use1-az3"]
    private = sorted((s for s in recorded.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name), key=lambda s: s.name)
    assert [s.inputs["availabilityZone"] for s in private] == ["us-east-1d", "us-east-1c"]  # use1-az1, use1-az2
    outputs = recorded.outputs_of(recorded.one("llmops:network:Network"))
    assert outputs["availabilityZoneIds"] == ["use1-az1", "use1-az2"]
