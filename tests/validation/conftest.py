"""Objects shaped like the ones the platform renders, to break one field at a time."""

from __future__ import annotations

import copy
from typing import Any

import pytest

NODE_POOL: dict[str, Any] = {
    "apiVersion": "karpenter.sh/v1",
    "kind": "NodePool",
    "metadata": {"name": "a10g-spot", "labels": {"llmops.io/gpu-pool": "a10g-spot"}},
    "spec": {
        "disruption": {"budgets": [{"nodes": "1"}], "consolidateAfter": "5m", "consolidationPolicy": "WhenEmptyOrUnderutilized"},
        "limits": {"cpu": "64", "memory": "256Gi", "nvidia.com/gpu": "8"},
        "template": {
            "metadata": {"labels": {"llmops.io/gpu-pool": "a10g-spot", "nvidia.com/gpu.present": "true"}},
            "spec": {
                "expireAfter": "720h",
                "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
                "requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g5.xlarge", "g5.2xlarge"]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
                    {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
                ],
                "taints": [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "true"}],
            },
        },
    },
}

EC2_NODE_CLASS: dict[str, Any] = {
    "apiVersion": "karpenter.k8s.aws/v1",
    "kind": "EC2NodeClass",
    "metadata": {"name": "gpu"},
    "spec": {
        "amiSelectorTerms": [{"alias": "al2023@v20251023"}],
        "blockDeviceMappings": [
            {"deviceName": "/dev/xvda", "ebs": {"deleteOnTermination": True, "encrypted": True, "volumeSize": "200Gi", "volumeType": "gp3"}}
        ],
        "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled", "httpPutResponseHopLimit": 1, "httpTokens": "required"},
        "role": "karpenter-node-role",
        "securityGroupSelectorTerms": [{"tags": {"karpenter.sh/discovery": "llmops-dev"}}],
        "subnetSelectorTerms": [{"tags": {"karpenter.sh/discovery": "llmops-dev"}}],
        "tags": {"Project": "llmops-platform", "karpenter.sh/discovery": "llmops-dev"},
    },
}


@pytest.fixture
def node_pool() -> dict[str, Any]:
    return copy.deepcopy(NODE_POOL)


@pytest.fixture
def node_class() -> dict[str, Any]:
    return copy.deepcopy(EC2_NODE_CLASS)
