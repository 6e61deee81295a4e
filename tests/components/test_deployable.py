"""What a real ``pulumi up`` of the shipped stacks needs, checked on their offline plans:
a path to every API server, zones EKS accepts, versions AWS supports with matching add-ons
and AMIs, Karpenter's reference IAM, GPU software that schedules on tainted nodes, warm
pools that reach their maximum, the right account, and a clean teardown. Each test here
stands for a mistake a review of the plan against upstream sources found."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import versions
from components.cluster.addons import dcgm_exporter_values, device_plugin_values
from components.cluster.cluster import kubeconfig
from core import gpu_pool
from core.catalog import eks
from tests.support import of_type, one

RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

# nvidia-device-plugin chart 0.17.4 values.yaml (NVIDIA/k8s-device-plugin tag v0.17.4,
# deployments/helm/nvidia-device-plugin/values.yaml): what its node-feature-discovery
# worker tolerates unless the values say otherwise.
NFD_WORKER_DEFAULT_TOLERATIONS = [
    {"key": "node-role.kubernetes.io/master", "operator": "Equal", "value": "", "effect": "NoSchedule"},
    {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
]


@pytest.fixture(scope="module")
def staging_document(staging_plan: Any) -> dict[str, Any]:
    from llmops.engine.report import plan_document

    return plan_document(staging_plan)


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in document["resources"]}


def statements(document: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for r in of_type(document, "aws:iam/rolePolicy:RolePolicy")
        if r["name"].startswith(prefix)
        for statement in json.loads(r["inputs"]["policy"])["Statement"]
    ]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


# ----------------------------------------------------------------------------- 1. access


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_created_cluster_has_a_path_for_deploys(stack: str, request: pytest.FixtureRequest) -> None:
    document = request.getfixturevalue(f"{stack}_document")
    for cluster in of_type(document, "aws:eks/cluster:Cluster"):
        region = cluster["region"]
        vpc = cluster["inputs"]["vpcConfig"]
        public = vpc.get("endpointPublicAccess") is True and vpc.get("publicAccessCidrs")
        runners = [r for r in of_type(document, INGRESS, region) if "-api-from-" in r["name"]]
        bastions = of_type(document, "aws:ec2/instance:Instance", region)
        assert public or runners or bastions, f"{stack}/{region}: nothing can reach the API server"
        assert vpc["endpointPrivateAccess"] is True  # nodes always use the private endpoint


def test_dev_deploys_from_the_listed_ranges_over_the_public_endpoint(dev_document: dict[str, Any]) -> None:
    vpc = one(dev_document, "aws:eks/cluster:Cluster")["inputs"]["vpcConfig"]
    assert (vpc["endpointPublicAccess"], vpc["publicAccessCidrs"]) == (True, ["203.0.113.0/24"])
    assert not of_type(dev_document, "aws:ec2/instance:Instance")


def test_prod_runners_reach_the_private_endpoint_and_ci_has_its_own_entry(prod_document: dict[str, Any]) -> None:
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        cluster = one(prod_document, "aws:eks/cluster:Cluster", region=region)
        assert cluster["inputs"]["vpcConfig"]["endpointPublicAccess"] is False
        (rule,) = [r for r in of_type(prod_document, INGRESS, region) if "-api-from-" in r["name"]]
        assert rule["inputs"]["cidrIpv4"] == "10.100.0.0/24"
        assert (rule["inputs"]["fromPort"], rule["inputs"]["toPort"], rule["inputs"]["ipProtocol"]) == (443, 443, "tcp")
        assert cluster["urn"] in rule["dependencies"]  # on the cluster's own security group
        ci = "arn:aws:iam::444455556666:role/llmops-ci-deployer"
        entry = one(prod_document, "aws:eks/accessEntry:AccessEntry", "-ci-444455556666-llmops-ci-deployer", region)
        assert (entry["inputs"]["principalArn"], entry["inputs"]["type"]) == (ci, "STANDARD")
        association = one(prod_document, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "-ci-444455556666-llmops-ci-deployer", region)
        assert association["inputs"]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")


def test_staging_tunnels_through_a_bastion_with_no_way_in(staging_document: dict[str, Any], staging_plan: Any) -> None:
    for region in ("us-east-1", "us-west-2"):
        cluster = one(staging_document, "aws:eks/cluster:Cluster", region=region)["inputs"]
        assert cluster["vpcConfig"]["endpointPublicAccess"] is False
        instance = one(staging_document, "aws:ec2/instance:Instance", region=region)["inputs"]
        assert instance["associatePublicIpAddress"] is False
        assert instance["instanceType"] == "t4g.nano"
        assert instance["metadataOptions"]["httpTokens"] == "required"
        assert instance["rootBlockDevice"]["encrypted"] is True
        bastion_sg = one(staging_document, "aws:ec2/securityGroup:SecurityGroup", "-api-bastion-sg", region)
        # nothing may open a way in to the bastion; the cluster admits it on HTTPS
        assert not [r for r in of_type(staging_document, INGRESS, region) if r["inputs"]["securityGroupId"] == bastion_sg["urn"]]
        (to_api,) = [r for r in of_type(staging_document, INGRESS, region) if r["name"].endswith("-api-bastion-to-api")]
        assert (to_api["inputs"]["fromPort"], to_api["inputs"]["toPort"]) == (443, 443)
        assert bastion_sg["urn"] in to_api["dependencies"]
        profile = one(staging_document, "aws:iam/instanceProfile:InstanceProfile", region=region)
        attached = [
            r["inputs"]["policyArn"] for r in of_type(staging_document, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", region)
            if r["name"].endswith("-api-bastion-ssm")
        ]
        assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"] and profile
    # the kubeconfig the stack deploys with goes through the tunnel
    provider = next(r for r in staging_plan.resources if r.type == "pulumi:providers:kubernetes" and r.name == "us-east-1-k8s")
    from llmops.engine.mocks import unwrap_secrets

    config = json.loads(unwrap_secrets(provider.inputs)["kubeconfig"])
    server = config["clusters"][0]["cluster"]
    assert server["server"] == "https://127.0.0.1:8443"
    assert server["tls-server-name"].endswith(".gr7.us-east-1.eks.amazonaws.com")
    # the stack tells deploys which instance to tunnel through
    bastion = next(r for r in staging_plan.resources if r.type == "aws:ec2/instance:Instance" and r.region == "us-east-1")
    assert staging_document["outputs"]["regions"]["us-east-1"]["apiBastionId"] == bastion.id


def test_a_tunnel_kubeconfig_keeps_checking_the_real_name() -> None:
    text = kubeconfig("c", "https://ABC.gr7.eu-west-1.eks.amazonaws.com", "Q0E=", "eu-west-1", tunnel_port=9443)
    cluster = json.loads(text)["clusters"][0]["cluster"]
    assert cluster == {
        "server": "https://127.0.0.1:9443",
        "tls-server-name": "ABC.gr7.eu-west-1.eks.amazonaws.com",
        "certificate-authority-data": "Q0E=",
    }
    direct = json.loads(kubeconfig("c", "https://ABC.gr7.eu-west-1.eks.amazonaws.com", "Q0E=", "eu-west-1"))["clusters"][0]["cluster"]
    assert direct["server"] == "https://ABC.gr7.eu-west-1.eks.amazonaws.com" and "tls-server-name" not in direct


# ----------------------------------------------------------------------------- 2. zones


def test_prod_us_east_1_leaves_out_the_zone_eks_rejects(prod_document: dict[str, Any]) -> None:
    assert eks.unsupported_zone_ids("us-east-1") == ("use1-az3",)
    zone_ids = prod_document["outputs"]["regions"]["us-east-1"]["availabilityZoneIds"]
    assert zone_ids == ["use1-az1", "use1-az2", "use1-az4"]
    subnets = of_type(prod_document, "aws:ec2/subnet:Subnet", "us-east-1")
    assert "us-east-1c" not in {s["inputs"]["availabilityZone"] for s in subnets}  # use1-az3 in the offline engine


@pytest.mark.parametrize(
    ("region", "offered", "chosen"),
    [
        # an older account: the rejected zone is offered, under the first name
        ("us-west-1", [("us-west-1a", "usw1-az2"), ("us-west-1b", "usw1-az1"), ("us-west-1c", "usw1-az3")], ["usw1-az1", "usw1-az3"]),
        ("ca-central-1", [("ca-central-1a", "cac1-az3"), ("ca-central-1b", "cac1-az1"), ("ca-central-1d", "cac1-az4"), ("ca-central-1c", "cac1-az2")], ["cac1-az1", "cac1-az2"]),
        ("us-east-1", [("us-east-1a", "use1-az3"), ("us-east-1b", "use1-az6"), ("us-east-1c", "use1-az4")], ["use1-az4", "use1-az6"]),
    ],
)
def test_zones_eks_rejects_are_never_chosen_even_when_the_account_lists_them(
    region: str, offered: list[tuple[str, str]], chosen: list[str]
) -> None:
    from pulumi.runtime.mocks import MockCallArgs

    from components.network import Network, NetworkArgs
    from llmops.engine.mocks import PlatformMocks
    from tests.harness import aws_provider, run

    class OlderAccount(PlatformMocks):
        """DescribeAvailabilityZones as an account that still has the rejected zone answers
        it, the exclusion not applied (as when the filter is dropped or the data stale)."""

        def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
                return {"names": [n for n, _ in offered], "zoneIds": [i for _, i in offered], "id": region}, []
            return super().call(args)

    excluded = eks.unsupported_zone_ids(region)  # what the composition passes
    assert len(excluded) == 1
    args = NetworkArgs(region=region, cidr="10.50.0.0/16", az_count=2, cluster_name="c", excluded_zone_ids=excluded, flow_logs=False)
    recorded = run(lambda: Network("n", args, opts=aws_provider(region)), mocks=OlderAccount())
    outputs = recorded.outputs_of(recorded.one("llmops:network:Network"))
    assert outputs["availabilityZoneIds"] == chosen
    names = {i: n for n, i in offered}
    subnets = {s.inputs["availabilityZone"] for s in recorded.of_type("aws:ec2/subnet:Subnet")}
    assert subnets == {names[i] for i in chosen} and names[excluded[0]] not in subnets


# ----------------------------------------------------------------------------- 3. spot


def test_the_account_owner_stack_creates_the_spot_service_linked_role_and_keeps_it(
    dev_document: dict[str, Any], staging_document: dict[str, Any], dev_plan: Any
) -> None:
    role = one(dev_document, "aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert role["inputs"]["awsServiceName"] == "spot.amazonaws.com"
    assert role["region"] == "us-east-1"  # the home region's provider (IAM is global)
    assert not of_type(staging_document, "aws:iam/serviceLinkedRole:ServiceLinkedRole")  # dev owns it for the shared account


# ----------------------------------------------------------------------------- 4. GPU software


def test_gpu_feature_discovery_runs_on_the_tainted_gpu_nodes(dev_document: dict[str, Any]) -> None:
    values = one(dev_document, RELEASE, "-nvidia-device-plugin")["inputs"]["values"]
    assert values == device_plugin_values()
    assert values["gfd"]["enabled"] is True
    # with the chart's own NFD worker tolerations, GFD's labels would never reach a GPU node
    assert not gpu_pool.tolerates(NFD_WORKER_DEFAULT_TOLERATIONS, gpu_pool.GPU_TAINT)
    worker = values.get("nfd", {}).get("worker", {}).get("tolerations", NFD_WORKER_DEFAULT_TOLERATIONS)
    assert gpu_pool.tolerates(worker, gpu_pool.GPU_TAINT)
    assert gpu_pool.tolerates(values["tolerations"], gpu_pool.GPU_TAINT)  # device plugin and GFD
    dcgm = one(dev_document, RELEASE, "-dcgm-exporter")["inputs"]["values"]
    assert dcgm == dcgm_exporter_values() and gpu_pool.tolerates(dcgm["tolerations"], gpu_pool.GPU_TAINT)


@pytest.mark.parametrize(
    ("tolerations", "expected"),
    [
        ([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}], True),
        ([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true"}], True),
        ([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}], False),
        ([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}], False),
        ([{"operator": "Exists"}], True),
        ([], False),
    ],
)
def test_tolerations_follow_the_kubernetes_rules(tolerations: list[dict[str, str]], expected: bool) -> None:
    assert gpu_pool.tolerates(tolerations, gpu_pool.GPU_TAINT) is expected


# ----------------------------------------------------------------------------- 5. warm pools


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_node_group_that_may_grow_has_something_growing_it(stack: str, request: pytest.FixtureRequest) -> None:
    document = request.getfixturevalue(f"{stack}_document")
    for group in of_type(document, NODE_GROUP):
        scaling = group["inputs"]["scalingConfig"]
        if scaling["maxSize"] == scaling["minSize"] or group["name"].endswith("-system"):
            continue  # fixed, or the system group (sized by the stack file)
        autoscalers = [r for r in of_type(document, RELEASE, group["region"]) if r["name"].endswith("-cluster-autoscaler")]
        assert autoscalers, f"{group['name']} ranges {scaling['minSize']}..{scaling['maxSize']} but nothing scales it"


def test_prod_pools_reach_their_configured_maximum(prod_plan: Any, prod_document: dict[str, Any]) -> None:
    from stacks.config import namespace_values, parse

    config = parse(namespace_values(prod_plan.config.values))
    for region in config.regions:
        for pool in region.gpu_pools:
            parts = [
                part
                for r in of_type(prod_document, NODE_GROUP, region.name) + of_type(prod_document, NODE_POOL, region.name)
                if (part := gpu_pool.read_gpu_pool(r["type"], r["inputs"])) is not None and part.name == pool.name
            ]
            total = gpu_pool.combined(parts)
            assert (total.min_nodes, total.max_nodes) == (pool.min_nodes, pool.max_nodes), (region.name, pool.name)


# ----------------------------------------------------------------------------- 6 and 8. Karpenter IAM


def test_karpenter_reads_prices_without_a_region_condition(prod_document: dict[str, Any]) -> None:
    for region in ("us-east-1", "eu-west-1"):
        found = statements(prod_document, f"{region}-karpenter-")
        (pricing,) = [s for s in found if "pricing:GetProducts" in actions(s)]
        assert actions(pricing) == ["pricing:GetProducts"] and "Condition" not in pricing
        regional = next(s for s in found if s["Sid"] == "AllowRegionalReadActions")
        assert regional["Condition"] == {"StringEquals": {"aws:RequestedRegion": region}}


def test_karpenter_launches_terminates_and_profiles_only_what_is_tagged_for_its_cluster(dev_document: dict[str, Any]) -> None:
    found = {s["Sid"]: s for s in statements(dev_document, "us-east-1-karpenter-")}
    cluster = "llmops-dev-us-east-1"
    launch = found["AllowScopedEC2InstanceActionsWithTags"]
    assert set(actions(launch)) == {"ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"}
    assert launch["Condition"] == {
        "StringEquals": {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster},
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
    }
    delete = found["AllowScopedDeletion"]
    assert set(actions(delete)) == {"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}
    assert delete["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }
    for sid in ("AllowScopedInstanceProfileCreationActions", "AllowScopedInstanceProfileTagActions", "AllowScopedInstanceProfileActions"):
        condition = found[sid]["Condition"]
        assert condition["StringEquals"][next(k for k in condition["StringEquals"] if k.endswith("topology.kubernetes.io/region"))] == "us-east-1"
        assert any(k.endswith("karpenter.k8s.aws/ec2nodeclass") for k in condition["StringLike"]), sid
        assert found[sid]["Resource"] == "arn:aws:iam::111122223333:instance-profile/*"
    assert set(found) == {
        "AllowScopedEC2InstanceAccessActions", "AllowScopedEC2LaunchTemplateAccessActions", "AllowScopedEC2InstanceActionsWithTags",
        "AllowScopedResourceCreationTagging", "AllowScopedResourceTagging", "AllowScopedDeletion", "AllowPassingInstanceRole",
        "AllowScopedInstanceProfileCreationActions", "AllowScopedInstanceProfileTagActions", "AllowScopedInstanceProfileActions",
        "AllowAPIServerEndpointDiscovery", "AllowInterruptionQueueActions", "AllowRegionalReadActions", "AllowSSMReadActions",
        "AllowPricingReadActions", "AllowUnscopedInstanceProfileListAction", "AllowInstanceProfileReadActions",
    }  # the reference template's statements at the pinned version, and no others


def test_node_launch_templates_keep_pods_away_from_instance_credentials(prod_document: dict[str, Any]) -> None:
    templates = of_type(prod_document, "aws:ec2/launchTemplate:LaunchTemplate")
    assert templates
    for template in templates:
        options = template["inputs"]["metadataOptions"]
        assert (options["httpTokens"], options["httpPutResponseHopLimit"]) == ("required", 1), template["name"]
    for node_class in of_type(prod_document, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        assert node_class["inputs"]["spec"]["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_node_roles_only_pull_images(dev_document: dict[str, Any]) -> None:
    attached = {r["inputs"]["policyArn"] for r in of_type(dev_document, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly" in attached
    assert "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly" not in attached


def test_helm_releases_wait_for_their_pod_identity(dev_document: dict[str, Any]) -> None:
    names = by_name(dev_document)
    karpenter = names["us-east-1-karpenter"]
    association = one(dev_document, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "-karpenter")
    assert association["urn"] in karpenter["dependencies"]
    for policy in (r for r in of_type(dev_document, "aws:iam/rolePolicy:RolePolicy") if r["name"].startswith("us-east-1-karpenter-")):
        assert policy["urn"] in karpenter["dependencies"], policy["name"]
    crd = names["us-east-1-karpenter-crd"]
    assert (crd["inputs"]["chart"], crd["inputs"]["version"]) == (versions.KARPENTER_CRD_CHART, versions.KARPENTER_VERSION)
    assert crd["urn"] in karpenter["dependencies"] and karpenter["inputs"]["skipCrds"] is True


def test_the_ebs_csi_driver_gets_its_role_through_pod_identity(dev_document: dict[str, Any]) -> None:
    addon = by_name(dev_document)["us-east-1-aws-ebs-csi-driver"]
    (association,) = addon["inputs"]["podIdentityAssociations"]
    assert association["serviceAccount"] == "ebs-csi-controller-sa"
    role = one(dev_document, "aws:iam/role:Role", "-ebs-csi")
    assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    (policy,) = [r for r in of_type(dev_document, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if r["name"].startswith("us-east-1-ebs-csi-")]
    assert policy["inputs"]["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    assert policy["urn"] in addon["dependencies"]


def test_gpu_node_groups_wait_for_the_vpc_cni_like_the_system_group(prod_document: dict[str, Any]) -> None:
    names = by_name(prod_document)
    for group in of_type(prod_document, NODE_GROUP):
        assert names[f"{group['region']}-vpc-cni"]["urn"] in group["dependencies"], group["name"]


def test_flow_log_role_can_do_what_the_service_needs_for_this_account_only(dev_document: dict[str, Any]) -> None:
    (policy,) = [p for p in of_type(dev_document, "aws:iam/rolePolicy:RolePolicy") if p["name"].endswith("-flow-logs-write")]
    granted = {a for s in json.loads(policy["inputs"]["policy"])["Statement"] for a in actions(s)}
    assert granted == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"}
    (role,) = [r for r in of_type(dev_document, "aws:iam/role:Role") if r["name"].endswith("-flow-logs-role")]
    condition = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert condition == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:ec2:us-east-1:111122223333:vpc-flow-log/*"},
    }


# ----------------------------------------------------------------------------- 7. versions


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_clusters_run_a_supported_version_with_pinned_add_ons_and_matching_amis(stack: str, request: pytest.FixtureRequest) -> None:
    document = request.getfixturevalue(f"{stack}_document")
    pins = versions.KUBERNETES_PINS["1.35"]
    for cluster in of_type(document, "aws:eks/cluster:Cluster"):
        assert cluster["inputs"]["version"] == "1.35"
        assert cluster["inputs"]["upgradePolicy"] == {"supportType": "STANDARD"}
    for addon in of_type(document, "aws:eks/addon:Addon"):
        name = addon["inputs"]["addonName"]
        if name == versions.CLOUDWATCH_OBSERVABILITY_ADDON:  # no pin: AWS's default build for 1.35, looked up
            assert addon["inputs"]["addonVersion"], addon["name"]
            continue
        assert addon["inputs"]["addonVersion"] == pins.addons[name], addon["name"]
    assert {a["inputs"]["addonName"] for a in of_type(document, "aws:eks/addon:Addon")} == {*pins.addons, versions.CLOUDWATCH_OBSERVABILITY_ADDON}
    for group in of_type(document, NODE_GROUP):
        assert (group["inputs"]["version"], group["inputs"]["releaseVersion"]) == ("1.35", pins.node_release)
        # the same AMI release as Karpenter's nodes
        assert pins.node_release.rsplit("-", 1)[1] == versions.GPU_AMI_ALIAS.split("@v", 1)[1]
    for node_class in of_type(document, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        assert node_class["inputs"]["spec"]["amiSelectorTerms"] == [{"alias": versions.GPU_AMI_ALIAS}]
    for release in of_type(document, RELEASE):
        if release["inputs"]["name"] == "karpenter":
            assert release["inputs"]["version"] == "1.14.1"  # the first Karpenter whose MaxK8sVersion covers 1.36


def test_the_pinned_versions_are_in_standard_support_today_per_the_table() -> None:
    status = eks.support_status("1.35", eks.table_taken())
    assert status.phase == "standard" and status.ends is not None and status.ends.isoformat() == "2027-03-27"
    assert set(versions.KUBERNETES_PINS) <= set(eks.eks_versions())


def test_cluster_autoscaler_matches_the_cluster_minor() -> None:
    from components.cluster.autoscaler import autoscaler_values

    pins = versions.KUBERNETES_PINS["1.35"]
    values = autoscaler_values("c", "us-east-1", pins.cluster_autoscaler_tag)
    assert values["image"] == {"repository": "registry.k8s.io/autoscaling/cluster-autoscaler", "tag": "v1.35.2"}
    assert values["image"]["tag"].removeprefix("v").rsplit(".", 1)[0] == "1.35"
    assert versions.CLUSTER_AUTOSCALER_VERSION == "9.59.0"  # appVersion 1.35.0
