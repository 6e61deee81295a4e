"""The GPU-pool contract round trip: what ``GpuCluster`` writes for a pool (a Karpenter
NodePool, a managed node group) reads back through :mod:`core.gpu_pool` as the pool it was
given, the cost policies read the same, and the cost model prices the same node range."""

from __future__ import annotations

from typing import Any

import pytest

from components.cluster import EksClusterArgs, GpuCluster, GpuClusterArgs, GpuPoolArgs
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


@pytest.fixture(scope="module")
def cluster() -> Recorded[GpuCluster]:
    args = GpuClusterArgs(
        region="us-east-1",
        cluster_name="contract",
        cluster=EksClusterArgs(private_subnet_ids=["subnet-a", "subnet-b"]),
        gpu_pools=(BURST, WARM),
    )
    return run(lambda: GpuCluster("use1", args, opts=aws_provider("us-east-1")))


def written(recorded: Recorded[Any], pool: GpuPoolArgs) -> Registration:
    """The resource the component wrote for ``pool``."""
    if pool.min_nodes == 0:
        return recorded.one("kubernetes:karpenter.sh/v1:NodePool", f"use1-karpenter-nodepool-{pool.name}")
    return recorded.one("aws:eks/nodeGroup:NodeGroup", f"use1-gpu-{pool.name}")


def as_analyzer_sees_it(value: Any) -> Any:
    """Numbers as floats (protobuf Struct), the way a policy analyzer hands properties over."""
    if isinstance(value, dict):
        return {k: as_analyzer_sees_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_analyzer_sees_it(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@pytest.mark.parametrize("pool", [BURST, WARM], ids=["karpenter-nodepool", "managed-node-group"])
def test_what_the_component_writes_reads_back_as_the_pool(cluster: Recorded[Any], pool: GpuPoolArgs) -> None:
    resource = written(cluster, pool)
    read = gpu_pool.read_gpu_pool(resource.type, resource.inputs)
    assert read is not None, resource.urn
    assert (read.name, read.instance_types, read.capacity_types) == (pool.name, tuple(pool.instance_types), (pool.capacity_type,))
    assert (read.min_nodes, read.max_nodes) == (pool.min_nodes, pool.max_nodes)
    assert (read.min_gpus_per_node, read.max_gpus) == (pool.min_gpus_per_node, pool.max_gpus)
    # the policies read the same pool, also from the analyzer's shapes
    assert policy_pools.gpu_pool(resource.type, as_analyzer_sees_it(resource.inputs)) == read


def test_gpu_counts_have_one_meaning(cluster: Recorded[Any]) -> None:
    # g5.xlarge has 1 GPU, g5.12xlarge 4: a node guarantees 1, the pool reaches 3 x 4
    read = gpu_pool.read_gpu_pool("kubernetes:karpenter.sh/v1:NodePool", written(cluster, BURST).inputs)
    assert read is not None
    assert (read.min_gpus_per_node, read.max_gpus_per_node, read.max_gpus, read.gpu_limit) == (1, 4, 12, 12)
    config = GpuPoolConfig.model_validate({"name": "burst", "instanceTypes": ["g5.xlarge", "g5.12xlarge"], "maxNodes": 3})
    assert (config.min_gpus_per_node, config.max_gpus_per_node, config.max_gpus) == (1, 4, 12)
    assert gpu_pool_args(config).max_gpus == 12
    # cluster-autoscaler is told what one node of a warm pool guarantees
    group = written(cluster, WARM)
    assert group.inputs["tags"]["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"] == "1"


def test_nodes_carry_the_contracts_labels_and_taint(cluster: Recorded[Any]) -> None:
    template = written(cluster, BURST).inputs["spec"]["template"]
    assert template["metadata"]["labels"] == gpu_pool.node_labels("burst", "A10G")
    assert template["spec"]["taints"] == [gpu_pool.GPU_TAINT]
    group = written(cluster, WARM).inputs
    assert group["labels"] == gpu_pool.node_labels("warm", "L40S", {"team": "ml"})
    assert group["taints"] == [{"key": gpu_pool.GPU_RESOURCE, "value": "true", "effect": "NO_SCHEDULE"}]


def test_cost_model_prices_the_pools_node_range(cluster: Recorded[Any]) -> None:
    items = [
        CostInput(urn=r.urn, type=r.type, region="us-east-1", inputs=r.inputs, name=pool.name)
        for pool in (BURST, WARM)
        for r in [written(cluster, pool)]
    ]
    result = {i.name: i for i in estimate(items, catalogue=fixture_prices()).items}
    burst, warm = result["burst"], result["warm"]
    assert burst.status == warm.status == "priced"
    assert burst.lines[0].min_quantity == 0  # scales to zero
    assert burst.lines[0].expected_quantity == pytest.approx(0.25 * 3 * 730)  # gpuUtilization x maxNodes
    assert any("max 3 - min 0" in a for a in burst.assumptions)
    assert warm.lines[0].min_quantity == pytest.approx(2 * 730)
    assert warm.lines[0].expected_quantity == pytest.approx((2 + 0.25 * 2) * 730)
