"""``GpuCluster``: EKS, system and GPU capacity, Karpenter, GPU software, BYO clusters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components import versions
from components.cluster import (
    ApiAccessArgs,
    EksClusterArgs,
    ExistingClusterArgs,
    GpuClusterArgs,
    GpuPoolArgs,
)
from components.cluster.addons import namespace_manifest
from components.cluster.karpenter import (
    ec2_node_class_manifest,
    karpenter_controller_policies,
    node_pool_manifest,
    pool_limits,
)
from llmops.engine import plan
from llmops.engine.report import plan_document
from tests.support import REPO, of_type, one, valid_config, write_project


def test_eks_cluster_is_private_encrypted_logged_and_uses_access_entries(dev_document: dict[str, Any]) -> None:
    cluster = one(dev_document, "aws:eks/cluster:Cluster")
    inputs = cluster["inputs"]
    assert inputs["name"] == "llmops-dev-us-east-1"
    assert inputs["version"] == "1.35"
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True
    # dev deploys from laptops: public endpoint, open to the deployer ranges only
    assert inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert inputs["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert len(inputs["vpcConfig"]["subnetIds"]) == 2
    assert sorted(inputs["enabledClusterLogTypes"]) == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    # API access entries only (no aws-auth ConfigMap); the deploying identity gets an entry so
    # the in-cluster parts can be installed.
    assert inputs["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    key = one(dev_document, "aws:kms/key:Key", "-secrets")
    assert key["inputs"]["enableKeyRotation"] is True
    assert inputs["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-1:111122223333:key/")
    assert key["urn"] in cluster["dependencies"]
    log_group = one(dev_document, "aws:cloudwatch/logGroup:LogGroup", "-control-plane")
    assert log_group["inputs"]["name"] == "/aws/eks/llmops-dev-us-east-1/cluster"
    assert log_group["urn"] in cluster["dependencies"]
    assert inputs["deletionProtection"] is False  # dev


def test_oidc_provider_uses_the_cluster_issuer(dev_plan: Any) -> None:
    cluster = next(r for r in dev_plan.resources if r.type == "aws:eks/cluster:Cluster")
    oidc = next(r for r in dev_plan.resources if r.type == "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["url"] == cluster.outputs["identities"][0]["oidcs"][0]["issuer"]
    assert oidc.inputs["url"].startswith("https://oidc.eks.us-east-1.amazonaws.com/id/")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_system_node_group_is_on_demand_with_imdsv2_and_encrypted_disks(dev_document: dict[str, Any]) -> None:
    group = one(dev_document, "aws:eks/nodeGroup:NodeGroup", "-system")["inputs"]
    assert group["capacityType"] == "ON_DEMAND"
    assert group["amiType"] == versions.SYSTEM_AMI_TYPE
    assert group["scalingConfig"] == {"minSize": 1, "maxSize": 3, "desiredSize": 1}  # dev: one controller node
    assert group["instanceTypes"] == ["m7i.large", "m6i.large"]
    template = one(dev_document, "aws:ec2/launchTemplate:LaunchTemplate", "-system")["inputs"]
    assert template["metadataOptions"]["httpTokens"] == "required"
    ebs = template["blockDeviceMappings"][0]["ebs"]
    assert ebs["encrypted"] == "true" and ebs["volumeType"] == "gp3"


def test_dev_gpu_pool_is_a_karpenter_nodepool_that_scales_to_zero(dev_document: dict[str, Any]) -> None:
    pools = [p for p in of_type(dev_document, "kubernetes:karpenter.sh/v1:NodePool") if p["name"].endswith("-a10g-spot")]
    assert [p["inputs"]["metadata"]["name"] for p in pools] == ["a10g-spot"]
    pool = pools[0]["inputs"]
    assert pool["metadata"]["annotations"]["llmops.io/min-nodes"] == "0"
    template = pool["spec"]["template"]
    requirements = {r["key"]: r["values"] for r in template["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == ["g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.2xlarge"]
    assert requirements["karpenter.sh/capacity-type"] == ["spot"]
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert template["metadata"]["labels"]["llmops.io/gpu-pool"] == "a10g-spot"
    assert template["metadata"]["labels"]["llmops.io/accelerator"] == "A10G"
    assert pool["spec"]["limits"]["nvidia.com/gpu"] == "2"  # maxNodes 2 x 1 GPU
    assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert template["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"}
    assert not [g for g in of_type(dev_document, "aws:eks/nodeGroup:NodeGroup") if "-gpu-" in g["name"]]


def test_node_class_pins_the_ami_and_requires_imdsv2(dev_plan: Any) -> None:
    node_class = next(r for r in dev_plan.resources if r.type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    node_role = next(r for r in dev_plan.resources if r.type == "aws:iam/role:Role" and r.name.endswith("-karpenter-node-role"))
    spec = node_class.inputs["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": versions.GPU_AMI_ALIAS}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["role"] == node_role.outputs["name"]
    assert spec["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "llmops-dev-us-east-1"}}]


def test_karpenter_controller_interruption_queue_and_pod_identity(dev_plan: Any) -> None:
    document = plan_document(dev_plan)
    release = one(document, "kubernetes:helm.sh/v3:Release", "-karpenter")
    queue = next(r for r in dev_plan.resources if r.type == "aws:sqs/queue:Queue")
    assert release["inputs"]["chart"] == versions.KARPENTER_CHART
    assert release["inputs"]["version"] == versions.KARPENTER_VERSION
    assert release["inputs"]["values"]["settings"] == {"clusterName": "llmops-dev-us-east-1", "interruptionQueue": queue.outputs["name"]}
    assert queue.inputs["sqsManagedSseEnabled"] is True
    rules = of_type(document, "aws:cloudwatch/eventRule:EventRule")
    patterns = sorted(json.loads(r["inputs"]["eventPattern"])["detail-type"][0] for r in rules)
    assert patterns == [
        "AWS Health Event",
        "EC2 Capacity Reservation Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
        "EC2 Spot Instance Interruption Warning",
    ]
    association = one(document, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "-karpenter")["inputs"]
    assert (association["namespace"], association["serviceAccount"]) == ("kube-system", "karpenter")
    statements = [
        statement
        for r in of_type(document, "aws:iam/rolePolicy:RolePolicy")
        if r["name"].startswith("us-east-1-karpenter-")
        for statement in json.loads(r["inputs"]["policy"])["Statement"]
    ]
    actions = [a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a.endswith(":*")]
    passrole = next(s for s in statements if s["Sid"] == "AllowPassingInstanceRole")
    assert passrole["Resource"].startswith("arn:aws:iam::111122223333:role/us-east-1-karpenter-node-role")


def test_gpu_software_is_installed_with_gpu_tolerations(dev_document: dict[str, Any]) -> None:
    for suffix, chart, version in (
        ("-nvidia-device-plugin", "nvidia-device-plugin", versions.NVIDIA_DEVICE_PLUGIN_VERSION),
        ("-dcgm-exporter", "dcgm-exporter", versions.DCGM_EXPORTER_VERSION),
    ):
        release = one(dev_document, "kubernetes:helm.sh/v3:Release", suffix)["inputs"]
        assert (release["chart"], release["version"]) == (chart, version)
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in release["values"]["tolerations"]


def test_every_cluster_resource_uses_its_regions_providers(prod_document: dict[str, Any]) -> None:
    resources = {r["urn"]: r for r in prod_document["resources"]}
    for resource in prod_document["resources"]:
        if not resource["custom"] or resource["type"].startswith("pulumi:providers:"):
            continue
        provider = resources[resource["provider"]]
        if resource["type"].startswith("kubernetes:"):
            assert provider["type"] == "pulumi:providers:kubernetes"
            assert provider["name"] == f"{resource['region']}-k8s", resource["urn"]
        else:
            assert provider["inputs"]["region"] == resource["region"], resource["urn"]


def test_prod_warm_base_is_a_fixed_node_group_and_everything_bursts_on_karpenter(prod_document: dict[str, Any]) -> None:
    base = one(prod_document, "aws:eks/nodeGroup:NodeGroup", "-gpu-l40s-base", "us-east-1")["inputs"]
    assert base["capacityType"] == "ON_DEMAND" and base["amiType"] == versions.GPU_AMI_TYPE
    # the warm minimum, fixed: nothing scales the group, so no cluster-autoscaler tags
    assert base["scalingConfig"] == {"minSize": 2, "maxSize": 2, "desiredSize": 2}
    assert not [k for k in base["tags"] if k.startswith("k8s.io/cluster-autoscaler")]
    assert base["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    pools = {
        p["inputs"]["metadata"]["name"]: p["inputs"]
        for p in of_type(prod_document, "kubernetes:karpenter.sh/v1:NodePool", "us-east-1")
        if "-karpenter-" in p["name"]
    }
    assert sorted(pools) == ["l40s-base", "l40s-burst"]
    # l40s-base reaches its maxNodes 4: 2 warm + up to 2 more from Karpenter
    assert pools["l40s-base"]["metadata"]["annotations"]["llmops.io/max-nodes"] == "2"
    assert pools["l40s-base"]["spec"]["limits"]["nvidia.com/gpu"] == "2"
    assert pools["l40s-burst"]["spec"]["limits"]["nvidia.com/gpu"] == "12"  # 12 nodes x 1 GPU (g6e.xlarge-4xlarge)
    releases = [r["name"] for r in of_type(prod_document, "kubernetes:helm.sh/v3:Release")]
    assert not [r for r in releases if r.endswith("-cluster-autoscaler")]  # Karpenter alone scales GPU capacity
    cluster = one(prod_document, "aws:eks/cluster:Cluster", region="us-east-1")["inputs"]
    assert cluster["deletionProtection"] is True


def _plan_with(tmp_path: Path, mutate: Any) -> dict[str, Any]:
    config = valid_config()
    mutate(config)
    return plan_document(plan("test", write_project(tmp_path / "p", config=config)))


def test_managed_node_groups_alternative_with_cluster_autoscaler(tmp_path: Path) -> None:
    def mutate(config: dict[str, Any]) -> None:
        config["regions"][0]["cluster"]["capacityProvider"] = "managedNodeGroups"

    document = _plan_with(tmp_path, mutate)
    assert not of_type(document, "kubernetes:karpenter.sh/v1:NodePool", "us-east-1")
    assert not [r for r in of_type(document, "kubernetes:helm.sh/v3:Release", "us-east-1") if r["name"].endswith("-karpenter")]
    group = one(document, "aws:eks/nodeGroup:NodeGroup", "-gpu-a10g", "us-east-1")["inputs"]
    assert group["capacityType"] == "SPOT"
    assert group["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 0}  # scales to zero
    assert group["tags"]["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "1"
    assert group["tags"]["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] == "true:NoSchedule"
    autoscaler = one(document, "kubernetes:helm.sh/v3:Release", "-cluster-autoscaler", "us-east-1")["inputs"]
    assert autoscaler["values"]["autoDiscovery"] == {"clusterName": "llmops-platform-test-us-east-1".replace("-platform", "")}


def test_public_endpoint_only_with_an_allow_list(tmp_path: Path) -> None:
    def mutate(config: dict[str, Any]) -> None:
        config["regions"][0]["cluster"] = {"access": {"mode": "publicRestricted", "deployerCidrs": ["198.51.100.0/24"]}}

    cluster = one(_plan_with(tmp_path, mutate), "aws:eks/cluster:Cluster", region="us-east-1")["inputs"]
    assert cluster["vpcConfig"]["endpointPublicAccess"] is True
    assert cluster["vpcConfig"]["publicAccessCidrs"] == ["198.51.100.0/24"]


def test_bring_your_own_cluster_creates_only_in_cluster_parts() -> None:
    document = plan_document(plan("byo", REPO))
    types = {r["type"] for r in document["resources"]}
    # The stack's alert topic, alarms and budget are its own; the region's cluster adds no AWS resource.
    assert not [r["urn"] for r in document["resources"] if r["type"].startswith("aws:") and "llmops:ops:" not in r["urn"]]
    assert "kubernetes:helm.sh/v3:Release" in types and "pulumi:providers:kubernetes" in types
    provider = one(document, "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert document["outputs"]["regions"]["us-east-1"]["clusterName"] == "shared-ml-cluster"
    assert document["outputs"]["kubeconfigs"] == "[secret]"


def test_bring_your_own_kubeconfig_stays_secret(tmp_path: Path) -> None:
    def mutate(config: dict[str, Any]) -> None:
        config["regions"] = [config["regions"][0]]
        config["regions"][0]["cluster"] = {"existing": {"kubeconfig": "apiVersion: v1\nkind: Config\n# token: s3cr3t\n"}}

    document = _plan_with(tmp_path, mutate)
    assert "s3cr3t" not in json.dumps(document)
    assert not of_type(document, "aws:eks/cluster:Cluster")


def test_args_are_validated_before_children_exist_every_problem_with_its_path() -> None:
    args = GpuClusterArgs(
        region="us-east-1",
        cluster_name="c",
        cluster=EksClusterArgs(
            private_subnet_ids=["subnet-1"], access=ApiAccessArgs(), creator_admin=False, consolidate_after="soon"
        ),
        gpu_pools=(
            GpuPoolArgs(name="a10g", instance_types=("g5.xlarge",), min_nodes=3, max_nodes=2),
            GpuPoolArgs(name="a10g", instance_types=("m7i.large",)),
        ),
    )
    with pytest.raises(ValueError) as error:
        args.validate()
    message = str(error.value)
    for expected in (
        "GpuClusterArgs.cluster.admin_role_arns: with creator_admin off",
        "GpuClusterArgs.cluster.access: no path to the API server for deploys",
        "GpuClusterArgs.cluster.consolidate_after: 'soon' is not a duration",
        "GpuClusterArgs.gpu_pools: pool name 'a10g' is used twice",
        "GpuClusterArgs.gpu_pools[a10g].max_nodes: must be >= 1 and >= min_nodes (3); got 2",
        "GpuClusterArgs.gpu_pools[a10g].instance_types: 'm7i.large' is not an NVIDIA GPU instance type",
    ):
        assert expected in message
    with pytest.raises(ValueError, match="set exactly one of cluster_name or kubeconfig"):
        GpuClusterArgs(region="us-east-1", cluster_name="c", cluster=ExistingClusterArgs()).validate()


def test_rendered_kubernetes_objects_validate_against_the_kubernetes_schemas() -> None:
    for name in ("nvidia-device-plugin", "gpu-monitoring"):
        kubernetes_validate.validate(namespace_manifest(name), "1.33", strict=True)  # the newest schemas kubernetes-validate ships


def test_karpenter_manifests_carry_the_required_fields() -> None:
    pool = GpuPoolArgs(name="p", instance_types=("g5.12xlarge", "g5.xlarge"), max_nodes=3)
    assert pool_limits(pool) == {"nvidia.com/gpu": "12", "cpu": "144", "memory": "576Gi"}
    manifest = node_pool_manifest(pool, "gpu", "5m")
    assert manifest["spec"]["disruption"]["consolidateAfter"] == "5m"
    assert set(manifest["spec"]["template"]["spec"]) >= {"nodeClassRef", "requirements", "taints"}
    node_class = ec2_node_class_manifest("gpu", "c", "role-name")
    assert node_class["spec"]["role"] == "role-name" and node_class["kind"] == "EC2NodeClass"
    policies = karpenter_controller_policies("c", "arn:aws:eks:us-east-1:111122223333:cluster/c", "us-east-1", "arn:queue", "arn:role")
    sids = {s["Sid"] for document in policies.values() for s in json.loads(document)["Statement"]}
    assert sids >= {"AllowPassingInstanceRole", "AllowInterruptionQueueActions", "AllowScopedDeletion"}


def test_nodes_launch_with_the_cost_allocation_tags(dev_plan: Any) -> None:
    expected = {"Project": "llmops-platform", "Stack": "dev", "Environment": "dev", "Owner": "ml-platform", "CostCenter": "cc-4471-ml-dev"}
    node_class = next(r for r in dev_plan.resources if r.type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    assert expected.items() <= node_class.inputs["spec"]["tags"].items()
    template = next(r for r in dev_plan.resources if r.type == "aws:ec2/launchTemplate:LaunchTemplate")
    for spec in template.inputs["tagSpecifications"]:
        assert expected.items() <= spec["tags"].items(), spec["resourceType"]


def test_karpenter_nodes_have_their_own_role_and_access_entry(dev_plan: Any) -> None:
    by_name = {r.name: r for r in dev_plan.resources}
    system = by_name["us-east-1-system"]
    managed_role = by_name["us-east-1-node-role"]
    karpenter_role = by_name["us-east-1-karpenter-node-role"]
    assert system.inputs["nodeRoleArn"] == managed_role.outputs["arn"]
    entry = by_name["us-east-1-karpenter-nodes"]
    assert entry.type == "aws:eks/accessEntry:AccessEntry" and entry.inputs["type"] == "EC2_LINUX"
    assert entry.inputs["principalArn"] == karpenter_role.outputs["arn"]  # EKS creates the node group role's entry itself
    attached = sorted(r.inputs["policyArn"] for r in dev_plan.resources if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and r.name.startswith("us-east-1-karpenter-node-"))
    assert attached == sorted(
        f"arn:aws:iam::aws:policy/{p}"
        for p in ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore")
    )


def test_coredns_waits_for_nodes_and_networking_addons_do_not(dev_plan: Any) -> None:
    by_name = {r.name: r for r in dev_plan.resources}
    system_urn = by_name["us-east-1-system"].urn
    assert system_urn in by_name["us-east-1-coredns"].dependencies
    assert system_urn in by_name["us-east-1-aws-ebs-csi-driver"].dependencies
    for addon in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert system_urn not in by_name[f"us-east-1-{addon}"].dependencies
    assert by_name["us-east-1-vpc-cni"].urn in by_name["us-east-1-system"].dependencies


def test_explicit_access_entries_instead_of_the_creator_admin(tmp_path: Path) -> None:
    role = "arn:aws:iam::123456789012:role/platform-deployer"

    def mutate(config: dict[str, Any]) -> None:
        config["regions"][0]["cluster"].update({"creatorAdmin": False, "adminRoleArns": [role]})

    document = _plan_with(tmp_path, mutate)
    cluster = one(document, "aws:eks/cluster:Cluster", region="us-east-1")["inputs"]
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    entry = one(document, "aws:eks/accessEntry:AccessEntry", "-admin-123456789012-platform-deployer", "us-east-1")["inputs"]
    assert (entry["principalArn"], entry["type"]) == (role, "STANDARD")
    association = one(document, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "-admin-123456789012-platform-deployer", "us-east-1")["inputs"]
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["accessScope"] == {"type": "cluster"}


def test_no_creator_admin_needs_an_admin_role() -> None:
    from stacks.config import ConfigError, parse

    config = valid_config()
    config["regions"][0]["cluster"]["creatorAdmin"] = False
    with pytest.raises(ConfigError, match=r"llmops:regions\[0\]\.cluster\.adminRoleArns: creatorAdmin is false"):
        parse(config)
