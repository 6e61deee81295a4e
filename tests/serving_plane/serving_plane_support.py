"""Stack configs with a serving section, to change one thing at a time."""

from __future__ import annotations

import copy
from typing import Any

from tests.support import valid_config

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-0123456789ab@sha256:" + "c" * 64
REVISION = "a09a35458c702b33eeacc393d103063234e8bc28"


def serving_config(**serving: Any) -> dict[str, Any]:
    """``tests.support.valid_config()`` (us-east-1 with an A10G spot pool of g5.xlarge, 0 to 2
    nodes; us-west-2 with an L4 pool of g6.xlarge/g6.2xlarge, 1 to 3) with a serving section:
    the release model (7.6B parameters) on vLLM with one GPU per replica, up to 2 replicas."""
    config = valid_config()
    section: dict[str, Any] = {
        "release": {"image": IMAGE, "modelId": "Qwen/Qwen2.5-7B-Instruct", "modelRevision": REVISION, "modelParameterCountB": 7.6},
        "serve": {
            "applications": [
                {
                    "name": "llmops",
                    "models": [
                        {
                            "name": "assistant",
                            "backends": [{"kind": "vllm"}, {"kind": "extractive"}],
                            "deployment": {
                                "autoscaling": {"min_replicas": 0, "max_replicas": 2},
                                "resources": {"num_cpus": 1, "num_gpus": 1},
                            },
                        },
                        {"name": "extractive", "backends": [{"kind": "extractive"}], "deployment": {"resources": {"num_cpus": 0.1}}},
                    ],
                }
            ]
        },
    }
    section.update(copy.deepcopy(serving))
    config["serving"] = section
    return config


def model(config: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """The serve config's ``applications[0].models[index]`` (to edit in place)."""
    found: dict[str, Any] = config["serving"]["serve"]["applications"][0]["models"][index]
    return found
