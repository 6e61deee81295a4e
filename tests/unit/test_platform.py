"""The composition maps the stack config to the components' own arguments and decides what
an environment means for them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from components.cluster import EksClusterArgs, ExistingClusterArgs
from stacks.config import ClusterConfig, parse
from stacks.platform import PROFILES, cluster_args, gpu_pool_args
from tests.support import valid_config


def test_environments_decide_protection_replicas_and_consolidation() -> None:
    assert {env: (p.deletion_protection, p.karpenter_replicas, p.consolidate_after) for env, p in PROFILES.items()} == {
        "dev": (False, 1, "1m"),
        "staging": (False, 2, "5m"),
        "prod": (True, 2, "5m"),
    }


def test_a_created_cluster_gets_the_config_and_the_environments_choices() -> None:
    config = parse({**valid_config(), "environment": "prod"})
    region = config.region("us-west-2")
    network: Any = SimpleNamespace(private_subnet_ids=["subnet-1", "subnet-2"])
    args = cluster_args(region.cluster, PROFILES[config.environment], network)
    assert isinstance(args, EksClusterArgs)
    assert (args.deletion_protection, args.karpenter_replicas, args.consolidate_after) == (True, 2, "5m")
    assert args.private_subnet_ids == ["subnet-1", "subnet-2"]
    assert args.system_nodes.instance_types == ("m7i.large", "m6i.large")
    (pool,) = [gpu_pool_args(p) for p in region.gpu_pools]
    assert (pool.name, pool.instance_types, pool.capacity_type, pool.min_nodes, pool.max_nodes) == (
        "l4", ("g6.xlarge", "g6.2xlarge"), "on-demand", 1, 3,
    )


def test_an_existing_cluster_needs_no_network() -> None:
    existing = ClusterConfig.model_validate({"existing": {"clusterName": "shared"}})
    assert cluster_args(existing, PROFILES["dev"], None) == ExistingClusterArgs(cluster_name="shared")
    with pytest.raises(ValueError, match="needs the region's network"):
        cluster_args(ClusterConfig(), PROFILES["dev"], None)
