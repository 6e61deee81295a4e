"""The GPU-pool contract round trip: what ``GpuCluster`` writes for a pool (a Karpenter
NodePool, a managed node group, or a warm node group beside its burst NodePool) reads back
through :mod:`core.gpu_pool` as the pool it was given, the cost policies read the same, and
the cost model prices the same node range."""

from __future__ import annotations

from typing import Any

import pytest

from components.cluster import (
    ApiAccessArgs,
    EksClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
)
from core import gpu_pool
from llmops.cost import CostInput, estimate
from policies.cost import pools as policy_pools
from stacks.config import GpuPoolConfig
from stacks.platform import gpu_pool_args
from tests.harness import Recorded, Registration, aws_provider, run
from tests.support import fixture_prices

BURST = GpuPoolArgs(name="burst", instance_types=("g5.xlarge", "g5.12xlarge"), capacity_type="spot", min_nodes=0, max_nodes=3)
WARM = GpuPoolArgs(
    name="warm", instance_types=("g6e.xlarge", "g6e.2xlarge"), capacity_type="on-demand", min_nodes=2, max_nodes=4, labels={"team": "ml"}
)
FIXED = GpuPoolArgs(name="fixed", instance_types=("g6.xlarge",), capacity_type="on-demand", min_nodes=1, max_nodes=1)
POOLS = (BURST, WARM, FIXED)
ACCESS = ApiAccessArgs(public_cidrs=("203.0.113.0/24",))


def build(capacity_provider: str) -> Recorded[GpuCluster]:
    args = GpuClusterArgs(
        region="us-east-1",
        cluster_name="contract",
        cluster=EksClusterArgs(private_subnet_ids=["subnet-a", "subnet-b"], access=ACCESS, capacity_provider=capacity_provider),  # type: ignore[arg-type]
        gpu_pools=POOLS,
    )
    return run(lambda: GpuCluster("use1", args, opts=aws_provider("us-east-1")))


@pytest.fixture(scope="module")
def karpenter() -> Recorded[GpuCluster]:
    return build("karpenter")


@pytest.fixture(scope="module")
def autoscaled() -> Recorded[GpuCluster]:
    return build("managedNodeGroups")


def written(recorded: Recorded[Any], pool: GpuPoolArgs) -> list[Registration]:
    """The resources the component wrote for ``pool``."""
    return [
        r
        for r in recorded.resources.values()
        if r.name in (f"use1-karpenter-nodepool-{pool.name}", f"use1-gpu-{pool.name}")
        and r.type in (*gpu_pool.NODE_POOL_TYPES, gpu_pool.NODE_GROUP_TYPE)
    ]


def read_back(resources: list[Registration]) -> gpu_pool.CapacityPool:
    parts = [gpu_pool.read_gpu_pool(r.type, r.inputs) for r in resources]
    assert all(p is not None for p in parts), [r.urn for r in resources]
    return gpu_pool.combined([p for p in parts if p is not None])


def as_analyzer_sees_it(value: Any) -> Any:
    """Numbers as floats (protobuf Struct), the way a policy analyzer hands properties over."""
    if isinstance(value, dict):
        return {k: as_analyzer_sees_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_analyzer_sees_it(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def test_each_capacity_provider_writes_a_pool_as_its_resources(karpenter: Recorded[Any], autoscaled: Recorded[Any]) -> None:
    kinds = {pool.name: sorted(r.type.rsplit(":", 1)[-1] for r in written(karpenter, pool)) for pool in POOLS}
    # Karpenter: a NodePool for whatever comes and goes; a fixed node group for a warm minimum
    assert kinds == {"burst": ["NodePool"], "warm": ["NodeGroup", "NodePool"], "fixed": ["NodeGroup"]}
    kinds = {pool.name: sorted(r.type.rsplit(":", 1)[-1] for r in written(autoscaled, pool)) for pool in POOLS}
    assert kinds == {"burst": ["NodeGroup"], "warm": ["NodeGroup"], "fixed": ["NodeGroup"]}


@pytest.mark.parametrize("pool", POOLS, ids=[p.name for p in POOLS])
@pytest.mark.parametrize("provider", ["karpenter", "autoscaled"])
def test_what_the_component_writes_reads_back_as_the_pool(provider: str, pool: GpuPoolArgs, request: pytest.FixtureRequest) -> None:
    resources = written(request.getfixturevalue(provider), pool)
    read = read_back(resources)
    assert (read.name, read.instance_types, read.capacity_types) == (pool.name, tuple(pool.instance_types), (pool.capacity_type,))
    # every pool reaches its max_nodes, whatever carries it
    assert (read.min_nodes, read.max_nodes) == (pool.min_nodes, pool.max_nodes)
    assert (read.min_gpus_per_node, read.max_gpus) == (pool.min_gpus_per_node, pool.max_gpus)
    # the policies read the same parts, also from the analyzer's shapes
    for resource in resources:
        assert policy_pools.gpu_pool(resource.type, as_analyzer_sees_it(resource.inputs)) == gpu_pool.read_gpu_pool(resource.type, resource.inputs)


def test_a_warm_pools_minimum_is_fixed_and_only_autoscaled_groups_carry_autoscaler_tags(
    karpenter: Recorded[Any], autoscaled: Recorded[Any]
) -> None:
    (base,) = [r for r in written(karpenter, WARM) if r.type == gpu_pool.NODE_GROUP_TYPE]
    assert base.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 2, "desiredSize": 2}
    assert not [t for t in base.inputs["tags"] if t.startswith("k8s.io/cluster-autoscaler")]
    (group,) = written(autoscaled, WARM)
    assert group.inputs["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    # cluster-autoscaler is told what one node of the pool guarantees
    assert group.inputs["tags"]["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "1"


def test_gpu_counts_have_one_meaning(karpenter: Recorded[Any]) -> None:
    # g5.xlarge has 1 GPU, g5.12xlarge 4: a node guarantees 1, the pool reaches 3 x 4
    (resource,) = written(karpenter, BURST)
    read = gpu_pool.read_gpu_pool(resource.type, resource.inputs)
    assert read is not None
    assert (read.min_gpus_per_node, read.max_gpus_per_node, read.max_gpus, read.gpu_limit) == (1, 4, 12, 12)
    config = GpuPoolConfig.model_validate({"name": "burst", "instanceTypes": ["g5.xlarge", "g5.12xlarge"], "maxNodes": 3})
    assert (config.min_gpus_per_node, config.max_gpus_per_node, config.max_gpus) == (1, 4, 12)
    assert gpu_pool_args(config).max_gpus == 12


def test_nodes_carry_the_contracts_labels_and_taint(karpenter: Recorded[Any]) -> None:
    for resource in written(karpenter, WARM):
        if resource.type == gpu_pool.NODE_GROUP_TYPE:
            assert resource.inputs["labels"] == gpu_pool.node_labels("warm", "L40S", {"team": "ml"})
            assert resource.inputs["taints"] == [{"key": gpu_pool.GPU_RESOURCE, "value": "true", "effect": "NO_SCHEDULE"}]
        else:
            template = resource.inputs["spec"]["template"]
            assert template["metadata"]["labels"] == gpu_pool.node_labels("warm", "L40S", {"team": "ml"})
            assert template["spec"]["taints"] == [gpu_pool.GPU_TAINT]


def test_parts_of_different_pools_do_not_combine() -> None:
    one = gpu_pool.CapacityPool("NodePool", ("g5.xlarge",), ("spot",), 0, 1, name="a")
    other = gpu_pool.CapacityPool("NodePool", ("g5.xlarge",), ("spot",), 0, 1, name="b")
    with pytest.raises(ValueError, match="different pools"):
        gpu_pool.combined([one, other])


@pytest.mark.parametrize("provider", ["karpenter", "autoscaled"])
def test_cost_model_prices_the_pools_node_range(provider: str, request: pytest.FixtureRequest) -> None:
    recorded = request.getfixturevalue(provider)
    items = [
        CostInput(urn=r.urn, type=r.type, region="us-east-1", inputs=r.inputs, name=f"{pool.name}/{r.name}")
        for pool in (BURST, WARM)
        for r in written(recorded, pool)
    ]
    result = estimate(items, catalogue=fixture_prices()).items
    assert all(i.status == "priced" for i in result)

    def hours(pool: str, which: str) -> float:
        return sum(getattr(i.lines[0], which) for i in result if i.name.startswith(f"{pool}/"))

    assert hours("burst", "min_quantity") == 0  # scales to zero
    assert hours("burst", "expected_quantity") == pytest.approx(0.25 * 3 * 730)  # gpuUtilization x maxNodes
    # whether one autoscaled group or a fixed group and its burst: min 2, expected 2 + 0.25 x (4 - 2)
    assert hours("warm", "min_quantity") == pytest.approx(2 * 730)
    assert hours("warm", "expected_quantity") == pytest.approx((2 + 0.25 * 2) * 730)
