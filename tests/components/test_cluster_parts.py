"""``GpuCluster`` and its parts as components, under mocks with no project or stack file
(:mod:`tests.harness`): the knobs the composition sets are obeyed, each part registers
exactly its outputs, children sit under their part with the region's providers and an alias
to where they lived before the parts existed, admin entries are keyed by their role."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.cluster import (
    ApiAccessArgs,
    EksClusterArgs,
    ExistingClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
    GpuSoftware,
    GpuSoftwareArgs,
    KarpenterArgs,
)
from tests.harness import Recorded, aws_provider, run

SUBNETS = ["subnet-a", "subnet-b"]
BURST = GpuPoolArgs(name="burst", instance_types=("g5.xlarge",), max_nodes=4)
WARM = GpuPoolArgs(name="warm", instance_types=("g6.xlarge",), capacity_type="on-demand", min_nodes=1, max_nodes=2)
ROLES = ("arn:aws:iam::111122223333:role/deployer", "arn:aws:iam::111122223333:role/team/oncall")
PUBLIC = ApiAccessArgs(public_cidrs=("203.0.113.0/24",))


def cluster(region: str = "eu-west-1", pools: tuple[GpuPoolArgs, ...] = (BURST, WARM), **knobs: Any) -> Recorded[GpuCluster]:
    knobs.setdefault("access", PUBLIC)
    args = GpuClusterArgs(
        region=region,
        cluster_name=f"c-{region}",
        cluster=EksClusterArgs(private_subnet_ids=SUBNETS, **knobs),
        gpu_pools=pools,
        tags={"Team": "ml"},
    )
    return run(lambda: GpuCluster(region, args, opts=aws_provider(region)))


@pytest.fixture(scope="module")
def created() -> Recorded[GpuCluster]:
    return cluster()


def test_the_cluster_obeys_the_knobs_it_is_given() -> None:
    recorded = cluster(deletion_protection=True, karpenter_replicas=3, consolidate_after="90s", pools=(BURST,))
    assert recorded.one("aws:eks/cluster:Cluster").inputs["deletionProtection"] is True
    assert recorded.one("kubernetes:helm.sh/v3:Release", "eu-west-1-karpenter").inputs["values"]["replicas"] == 3
    pool = recorded.one("kubernetes:karpenter.sh/v1:NodePool")
    assert pool.inputs["spec"]["disruption"]["consolidateAfter"] == "90s"
    defaults = cluster(pools=(BURST,))
    assert defaults.one("aws:eks/cluster:Cluster").inputs["deletionProtection"] is False
    assert defaults.one("kubernetes:helm.sh/v3:Release", "eu-west-1-karpenter").inputs["values"]["replicas"] == 2


def test_each_part_registers_exactly_its_outputs(created: Recorded[GpuCluster]) -> None:
    expected = {
        "llmops:cluster:GpuCluster": {"clusterName", "endpoint", "oidcIssuer", "kubeconfig", "nodeRoleArns", "apiBastionId", "karpenterRoleName"},
        "llmops:cluster:Karpenter": {"nodeRoleArn", "controllerRoleName", "interruptionQueueName", "nodePoolNames"},
        "llmops:cluster:GpuNodeGroup": {"nodeGroupName", "launchTemplateId"},
        "llmops:cluster:GpuSoftware": {"namespaces", "metricsPort"},
    }
    for type_, keys in expected.items():
        component = created.one(type_)
        assert set(created.outputs_of(component)) == keys, component.urn
    outputs = created.outputs_of(created.one("llmops:cluster:GpuCluster"))
    karpenter = created.outputs_of(created.one("llmops:cluster:Karpenter"))
    assert outputs["clusterName"] == "c-eu-west-1"
    assert outputs["nodeRoleArns"][1] == karpenter["nodeRoleArn"]
    assert outputs["karpenterRoleName"] == karpenter["controllerRoleName"] != ""
    assert karpenter["nodePoolNames"] == ["burst", "warm"]  # the warm pool bursts through Karpenter too
    assert created.outputs_of(created.one("llmops:cluster:GpuNodeGroup"))["nodeGroupName"] == "c-eu-west-1-gpu-warm"


def test_parts_hold_their_children_with_aliases_to_where_they_were(created: Recorded[GpuCluster]) -> None:
    gpu_cluster = created.one("llmops:cluster:GpuCluster")
    prefix = gpu_cluster.urn.rsplit("::", 2)[0]  # urn:pulumi:<stack>::<project>

    def former_name(name: str) -> str:  # node class, node pools and GPU software took their part's name
        for now, before in (("-gpu-software-", "-"), ("-karpenter-nodeclass-", "-nodeclass-"), ("-karpenter-nodepool-", "-nodepool-")):
            name = name.replace(now, before)
        return name

    for part_type in ("llmops:cluster:Karpenter", "llmops:cluster:GpuNodeGroup", "llmops:cluster:GpuSoftware"):
        part = created.one(part_type)
        assert part.parent == gpu_cluster.urn
        children = created.children(part)
        assert children, part.urn
        for child in children:
            expected = f"{prefix}::llmops:cluster:GpuCluster${child.type}::{former_name(child.name)}"
            assert child.aliases == (expected,), child.urn
    renamed = [c.name for c in created.resources.values() if c.aliases and former_name(c.name) != c.name]
    assert sorted(renamed) == [
        "eu-west-1-gpu-software-dcgm-exporter",
        "eu-west-1-gpu-software-gpu-monitoring",
        "eu-west-1-gpu-software-nvidia-device-plugin",
        "eu-west-1-gpu-software-nvidia-device-plugin",
        "eu-west-1-karpenter-nodeclass-gpu",
        "eu-west-1-karpenter-nodepool-burst",
        "eu-west-1-karpenter-nodepool-warm",
    ]


def test_children_use_the_regions_providers(created: Recorded[GpuCluster]) -> None:
    aws_provider_urn = created.one("pulumi:providers:aws").urn
    k8s_provider = created.one("pulumi:providers:kubernetes")
    assert k8s_provider.name == "eu-west-1-k8s" and k8s_provider.parent == created.one("llmops:cluster:GpuCluster").urn
    for resource in created.resources.values():
        if not resource.custom or resource.type.startswith("pulumi:providers:"):
            continue
        expected = k8s_provider.urn if resource.type.startswith("kubernetes:") else aws_provider_urn
        assert resource.provider == expected, resource.urn
    queue = created.one("aws:sqs/queue:Queue")
    assert queue.outputs["arn"].startswith("arn:aws:sqs:eu-west-1:")
    assert queue.inputs["tags"] == {"Team": "ml", "Name": "eu-west-1-karpenter-interruptions"}


def test_admin_entries_are_keyed_by_their_role() -> None:
    both = cluster(pools=(), creator_admin=False, admin_role_arns=ROLES)
    second_only = cluster(pools=(), creator_admin=False, admin_role_arns=ROLES[1:])
    entries = {r.inputs["principalArn"]: r.urn for r in both.of_type("aws:eks/accessEntry:AccessEntry") if r.inputs["type"] == "STANDARD"}
    assert entries[ROLES[1]].endswith("::eu-west-1-admin-111122223333-team-oncall")
    (kept,) = [r for r in second_only.of_type("aws:eks/accessEntry:AccessEntry") if r.inputs["type"] == "STANDARD"]
    assert kept.urn == entries[ROLES[1]]  # removing the first role leaves the second one alone


def test_an_existing_cluster_gets_only_the_gpu_software() -> None:
    args = GpuClusterArgs(region="us-east-1", cluster_name="ignored", cluster=ExistingClusterArgs(cluster_name="shared"))
    recorded = run(lambda: GpuCluster("use1", args, opts=aws_provider()))
    custom = {r.type for r in recorded.resources.values() if r.custom}
    assert custom == {"pulumi:providers:aws", "pulumi:providers:kubernetes", "kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v3:Release"}
    assert recorded.outputs_of(recorded.one("llmops:cluster:GpuCluster"))["clusterName"] == "shared"
    assert "kubeconfig" in recorded.one("pulumi:providers:kubernetes").secret_inputs


def test_a_part_stands_on_its_own() -> None:
    def build() -> GpuSoftware:
        provider = k8s.Provider("kube", kubeconfig="{}")
        return GpuSoftware("gpu", GpuSoftwareArgs(), opts=pulumi.ResourceOptions(providers=[provider]))

    recorded = run(build)
    releases = {r.inputs["name"]: r for r in recorded.of_type("kubernetes:helm.sh/v3:Release")}
    assert set(releases) == {"nvidia-device-plugin", "dcgm-exporter"}
    assert all(not r.aliases for r in recorded.resources.values())  # nothing to move from
    namespace = recorded.one("kubernetes:core/v1:Namespace", "gpu-nvidia-device-plugin")
    assert namespace.urn in releases["nvidia-device-plugin"].dependencies


def test_karpenter_refuses_warm_pools() -> None:
    with pytest.raises(ValueError, match=r"KarpenterArgs.pools\[warm\].min_nodes: Karpenter keeps no minimum"):
        KarpenterArgs(region="us-east-1", cluster_name="c", cluster=None, pools=(WARM,)).validate()  # type: ignore[arg-type]
