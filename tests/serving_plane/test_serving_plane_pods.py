"""Every pod of the serving plane fits the smallest instance type it can land on: its
requests (init containers and sidecars counted as the kubelet counts them) are within the
node's allocatable CPU and memory, computed here from the catalogue minus what EKS nodes
reserve, less the DaemonSets every node (and every GPU node) runs."""

from __future__ import annotations

import math
from typing import Any

import pytest

from components.serving_plane import sizing
from core import catalog, gpu_pool
from stacks.config import namespace_values as _namespace_values
from stacks.config import parse
from tests.support import REPO, of_type

KUBERAY_WAIT_GCS = (200, 256)
"""KubeRay's ``wait-gcs-ready`` init container on every worker (ray-operator/controllers/ray/common/pod.go, v1.7.0)."""
DAEMONSETS = (sizing.DAEMONSET_ALLOWANCE.cpu_m, sizing.DAEMONSET_ALLOWANCE.memory_mib)
GPU_DAEMONSETS = (sizing.GPU_DAEMONSET_ALLOWANCE.cpu_m, sizing.GPU_DAEMONSET_ALLOWANCE.memory_mib)
"""The DaemonSet budget per node (every node; and GPU nodes on top), checked against what the
plan installs by :func:`test_the_daemonset_budget_covers_every_daemonset_the_plan_installs`."""
NO_NODE_DAEMONS = {
    "addon:coredns",
    "chart:karpenter",
    "chart:karpenter-crd",
    "chart:kuberay-operator",
    "chart:aws-load-balancer-controller",
}
"""Add-ons and charts the plan installs that run no DaemonSet."""


def allocatable(instance_type: str) -> tuple[int, int]:
    """CPU (m) and memory (Mi) a node offers pods, as EKS reserves them: kube-reserved CPU 6%
    of the first core, 1% of the second, 0.5% of cores 3-4, 0.25% above; memory less 7.5%
    VM overhead, 255Mi + 11Mi x 110 pods, and the 100Mi eviction threshold."""
    spec = catalog.instance_types()[instance_type]
    reserved = 60 + (10 if spec.vcpu >= 2 else 0) + 5 * max(0, min(spec.vcpu, 4) - 2) + 2.5 * max(0, spec.vcpu - 4)
    memory = math.floor(spec.memory_gib * 1024 * 0.925) - (255 + 11 * 110) - 100
    return spec.vcpu * 1000 - math.ceil(reserved), memory


def room(instance_type: str) -> tuple[int, int]:
    cpu, memory = allocatable(instance_type)
    gpu = catalog.instance_types()[instance_type].is_nvidia_gpu
    return cpu - DAEMONSETS[0] - (GPU_DAEMONSETS[0] if gpu else 0), memory - DAEMONSETS[1] - (GPU_DAEMONSETS[1] if gpu else 0)


def cpu_m(value: Any) -> int:
    text = str(value)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def memory_mi(value: Any) -> int:
    text = str(value)
    for suffix, factor in (("Gi", 1024), ("Mi", 1)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    raise AssertionError(f"unexpected memory quantity {value!r}")


def requests(container: dict[str, Any]) -> tuple[int, int]:
    wanted = container.get("resources", {}).get("requests", {})
    assert "cpu" in wanted and "memory" in wanted, f"{container['name']} requests no CPU or memory"
    return cpu_m(wanted["cpu"]), memory_mi(wanted["memory"])


def effective(containers: list[tuple[int, int]], init: list[tuple[int, int]]) -> tuple[int, int]:
    """What the scheduler reserves: the sum of the containers, or the largest init container."""
    total = (sum(c for c, _ in containers), sum(m for _, m in containers))
    return max([total[0], *(c for c, _ in init)]), max([total[1], *(m for _, m in init)])


def smallest(types: list[str]) -> tuple[int, int]:
    rooms = [room(t) for t in types]
    return min(c for c, _ in rooms), min(m for _, m in rooms)


def test_component_allocatable_is_the_eks_reservation() -> None:
    for name in ("m7i.large", "m7i.xlarge", "g5.xlarge", "g6e.2xlarge", "p5.48xlarge"):
        assert (sizing.allocatable(name).cpu_m, sizing.allocatable(name).memory_mib) == allocatable(name), name
    assert allocatable("m7i.large") == (1930, 6012)


def installed(document: Any) -> set[str]:
    """``addon:<name>`` and ``chart:<name>`` for every EKS add-on and Helm release of a plan."""
    addons = {f"addon:{r['inputs']['addonName']}" for r in of_type(document, "aws:eks/addon:Addon")}
    charts = {f"chart:{r['inputs']['chart'].rsplit('/', 1)[-1]}" for r in of_type(document, "kubernetes:helm.sh/v3:Release")}
    return addons | charts


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_daemonset_budget_covers_every_daemonset_the_plan_installs(stack: str, shipped: Any) -> None:
    from llmops.engine.report import plan_document

    present = installed(plan_document(shipped.plan(stack)))
    known = {d.installed_by for d in sizing.NODE_DAEMONS}
    unaccounted = present - known - NO_NODE_DAEMONS
    assert not unaccounted, f"{sorted(unaccounted)}: add their DaemonSets to sizing.NODE_DAEMONS (or to NO_NODE_DAEMONS here)"
    for gpu_nodes, allowance in ((False, sizing.DAEMONSET_ALLOWANCE), (True, sizing.GPU_DAEMONSET_ALLOWANCE)):
        daemons = [d for d in sizing.NODE_DAEMONS if d.installed_by in present and d.gpu_nodes_only == gpu_nodes]
        total = sizing.Resources(sum(d.requests.cpu_m for d in daemons), sum(d.requests.memory_mib for d in daemons))
        assert total.fits_in(allowance), (stack, "GPU nodes" if gpu_nodes else "every node", str(total), str(allowance))
    assert sizing.daemon_requests(False).fits_in(sizing.DAEMONSET_ALLOWANCE)
    assert sizing.daemon_requests(True).fits_in(sizing.GPU_DAEMONSET_ALLOWANCE)


def test_an_add_on_with_daemonsets_the_budget_does_not_know_is_caught() -> None:
    document = {"resources": [{"type": "aws:eks/addon:Addon", "name": "r-x", "inputs": {"addonName": "aws-guardduty-agent"}}]}
    assert installed(document) - {d.installed_by for d in sizing.NODE_DAEMONS} - NO_NODE_DAEMONS == {"addon:aws-guardduty-agent"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_pod_fits_the_smallest_node_it_can_land_on(stack: str, shipped: Any) -> None:
    from llmops.engine.report import plan_document

    document = plan_document(shipped.plan(stack))
    import yaml

    raw = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    config = parse(_namespace_values(raw))
    checked = 0
    for region in config.regions:
        system = list(region.cluster.system_nodes.instance_types)
        pools = {gpu_pool.POOL_LABEL: {p.name: list(p.instance_types) for p in region.gpu_pools}}
        node_pools = {
            r["inputs"]["metadata"]["name"]: next(q["values"] for q in r["inputs"]["spec"]["template"]["spec"]["requirements"] if q["key"] == gpu_pool.INSTANCE_TYPE_LABEL)
            for r in of_type(document, "kubernetes:karpenter.sh/v1:NodePool")
            if r["name"].startswith(f"{region.name}-serving")
        }

        def types_for(
            selector: dict[str, str], pools: dict[str, dict[str, list[str]]] = pools, system: list[str] = system,
            node_pools: dict[str, Any] = node_pools,
        ) -> list[str]:
            if selector.get(gpu_pool.POOL_LABEL):
                return pools[gpu_pool.POOL_LABEL][selector[gpu_pool.POOL_LABEL]]
            if selector.get("llmops.io/pool") == "system":
                return system
            return list(node_pools[selector["llmops.io/pool"]])

        (rayservice,) = [r for r in of_type(document, "kubernetes:ray.io/v1:RayService") if r["name"].startswith(region.name)]
        cluster = rayservice["inputs"]["spec"]["rayClusterConfig"]
        head = cluster["headGroupSpec"]["template"]["spec"]
        autoscaler = requests({"name": "autoscaler", "resources": cluster["autoscalerOptions"]["resources"]})
        want = effective([*(requests(c) for c in head["containers"]), autoscaler], [requests(c) for c in head.get("initContainers", [])])
        have = smallest(types_for(head["nodeSelector"]))
        assert want[0] <= have[0] and want[1] <= have[1], (stack, region.name, "head", want, have)
        for group in cluster["workerGroupSpecs"]:
            spec = group["template"]["spec"]
            init = [requests(c) for c in spec.get("initContainers", [])] + [KUBERAY_WAIT_GCS]
            want = effective([requests(c) for c in spec["containers"]], init)
            have = smallest(types_for(spec["nodeSelector"]))
            assert want[0] <= have[0] and want[1] <= have[1], (stack, region.name, group["groupName"], want, have)
            checked += 1
        for release in of_type(document, "kubernetes:helm.sh/v3:Release"):
            if release["name"] in (f"{region.name}-serving-kuberay", f"{region.name}-serving-lb-controller"):
                values = release["inputs"]["values"]
                want = (cpu_m(values["resources"]["requests"]["cpu"]), memory_mi(values["resources"]["requests"]["memory"]))
                have = smallest(types_for(values["nodeSelector"]))
                assert want[0] <= have[0] and want[1] <= have[1], (stack, release["name"], want, have)
                checked += 1
        for job in of_type(document, "kubernetes:batch/v1:Job"):
            if job["name"].startswith(region.name):
                spec = job["inputs"]["spec"]["template"]["spec"]
                want = effective([requests(c) for c in spec["containers"]], [])
                have = smallest(types_for(spec["nodeSelector"]))
                assert want[0] <= have[0] and want[1] <= have[1], (stack, job["name"], want, have)
    assert checked >= 4 * len(config.regions)
