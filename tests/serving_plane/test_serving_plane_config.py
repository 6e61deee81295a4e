"""The serving section of the stack config: every cross-check fails with its
``llmops:serving...`` path and a fix, the release's rules (image by digest, Ray version,
pinned revision, chart versions), and what is rendered per region (placement, the
release model, resource tokens, overrides by name)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from serving.config import ServeConfig, load_serve_config, render_serve_config_yaml
from stacks import serve_config
from stacks.config import ConfigError, image_ray_version, parse
from tests.serving_plane.serving_plane_support import IMAGE, REVISION, model, serving_config


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse(config)
    return [str(p) for p in error.value.problems]


def only_problem(config: dict[str, Any]) -> str:
    found = problems(config)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_serving_section_parses() -> None:
    config = parse(serving_config())
    assert config.serving is not None and config.serving.release.ray_version == "2.60.0"


# --------------------------------------------------------------------------- cross-checks


def test_a_deployment_asking_for_gpus_on_the_cpu_group() -> None:
    config = serving_config(regions={"us-east-1": {"applications": {"llmops": {"models": {"assistant": {"pools": ["cpu"]}}}}}})
    message = only_problem(config)
    assert message.startswith("llmops:serving.regions.us-east-1.applications.llmops.models.assistant.pools: ")
    assert "asks for 1 GPU(s) per replica but runs on the CPU worker group" in message and "place it on a GPU pool (a10g)" in message


def test_a_gpu_deployment_in_a_region_without_gpu_pools() -> None:
    config = serving_config()
    del config["regions"][0]["gpuPools"]
    message = only_problem(config)
    assert message.startswith("llmops:serving.serve.applications[0].models[0].deployment.resources.num_gpus: ")
    assert "the region has none: add a gpuPool" in message


def test_replicas_beyond_what_the_pools_hold() -> None:
    config = serving_config()
    model(config)["deployment"]["autoscaling"]["max_replicas"] = 3  # us-east-1: 2 nodes x 1 GPU
    message = only_problem(config)
    assert message.startswith("llmops:serving.serve.applications[0].models[0].deployment.resources.num_gpus: llmops/LLM-assistant in us-east-1")
    assert "may scale to 3 replicas of 1 GPU(s), but its pools (a10g) hold 2 at their maxNodes" in message
    assert "lower max_replicas or raise the pools' maxNodes" in message
    # A region override is checked at its own path.
    config = serving_config(regions={"us-west-2": {"applications": {"llmops": {"models": {"assistant": {"maxReplicas": 9}}}}}})
    model(config)["deployment"]["autoscaling"]["max_replicas"] = 2
    assert "us-west-2" in only_problem(config) and "hold 3 at their maxNodes" in only_problem(config)


def test_pods_take_the_smallest_gpu_count_of_a_pools_types() -> None:
    config = serving_config()
    config["regions"][1]["gpuPools"][0]["instanceTypes"] = ["g6.12xlarge", "g6.xlarge"]  # 4 GPUs, and 1
    model(config)["deployment"]["resources"]["num_gpus"] = 2
    model(config)["backends"][0]["tensor_parallel_size"] = 2
    found = problems(config)
    assert any(
        p.startswith("llmops:serving.serve.applications[0].models[0].deployment.resources.num_gpus: llmops/LLM-assistant in us-west-2: a replica needs 2 GPUs, but pool l4's pods get 1")
        for p in found
    ), found


def test_an_unknown_backend() -> None:
    config = serving_config()
    model(config)["backends"][0] = {"kind": "tgi", "model_id": "x"}
    message = only_problem(config)
    assert message.startswith("llmops:serving.serve.applications[0].models[0].backends[0]")
    assert "tgi" in message and "vllm" in message


def test_a_model_too_large_for_the_pools_gpu_memory() -> None:
    config = serving_config()
    config["serving"]["release"]["modelParameterCountB"] = 32
    found = problems(config)
    assert len(found) == 2, found  # one per region's pool
    assert found[0].startswith("llmops:serving.serve.applications[0].models[0].backends[0].parameter_count_b: Qwen/Qwen2.5-7B-Instruct: 32B parameters in auto need about 71.5 GiB")
    assert "a replica on pool a10g has 21.6 GiB (1 x 24 GiB x 0.9)" in found[0] and "a smaller model" in found[0]


def test_a_gpu_model_must_declare_its_size() -> None:
    config = serving_config()
    del config["serving"]["release"]["modelParameterCountB"]
    found = problems(config)
    assert found[0].startswith("llmops:serving.serve.applications[0].models[0].backends[0].parameter_count_b: is required for a model on GPUs")


def test_tensor_parallelism_needs_as_many_gpus() -> None:
    config = serving_config()
    model(config)["backends"][0]["tensor_parallel_size"] = 2
    assert problems(config)[0].startswith(
        "llmops:serving.serve.applications[0].models[0].backends[0].tensor_parallel_size: shards the model over 2 GPUs but the replica has 1"
    )


def test_unknown_names_in_overrides() -> None:
    config = serving_config(
        regions={
            "us-east-2": {},
            "us-east-1": {"applications": {"llmops": {"models": {"assistent": {"maxReplicas": 1}, "assistant": {"pools": ["a10"]}}}, "lmops": {}}},
        }
    )
    found = problems(config)
    assert any(p.startswith("llmops:serving.regions.us-east-2: unknown region 'us-east-2'") for p in found), found
    assert any(p.startswith("llmops:serving.regions.us-east-1.applications.llmops.models.assistent: unknown model 'assistent' (did you mean assistant?)") for p in found)
    assert any(p.startswith("llmops:serving.regions.us-east-1.applications.llmops.models.assistant.pools[0]: unknown worker group 'a10' (did you mean a10g") for p in found)
    assert any(p.startswith("llmops:serving.regions.us-east-1.applications.lmops: unknown application 'lmops' (did you mean llmops?)") for p in found)


def test_a_backend_without_a_model_needs_a_release_model() -> None:
    config = serving_config()
    del config["serving"]["release"]["modelId"]
    assert only_problem(config).startswith(
        "llmops:serving.serve.applications[0].models[0].backends[0].model_id: is unset, so the backend serves the release model, but the release names none"
    )


def test_exposure_and_entry_rules() -> None:
    public = serving_config(exposure={"scheme": "internet-facing"})
    assert only_problem(public).startswith("llmops:serving.exposure.scheme: a public load balancer serves HTTPS")
    config = serving_config(entry={"hostedZoneId": "Z0761438V1CZ8EXAMPLE", "recordName": "llm.example.com", "routing": "accelerator"})
    assert only_problem(config).startswith("llmops:serving.entry.routing: a Global Accelerator is reachable from the internet")


def test_a_cluster_brought_by_kubeconfig_cannot_serve() -> None:
    config = serving_config()
    config["regions"][0]["cluster"] = {"existing": {"kubeconfig": "apiVersion: v1\n"}}
    del config["regions"][0]["gpuPools"]
    found = problems(config)
    assert any(p.startswith("llmops:regions[0].cluster.existing.kubeconfig: the serving plane needs an EKS cluster") for p in found), found


# --------------------------------------------------------------------------- release


def test_ray_version_comes_from_the_image_tag_and_must_be_the_projects() -> None:
    assert image_ray_version(IMAGE) == "2.60.0"
    assert image_ray_version("rayproject/ray:2.60.0-py311-gpu@sha256:" + "d" * 64) == "2.60.0"
    assert image_ray_version("registry.example.com/serving@sha256:" + "d" * 64) is None
    other = serving_config()
    other["serving"]["release"]["image"] = IMAGE.replace("ray2.60.0", "ray2.41.0")
    assert only_problem(other).startswith("llmops:serving.release.rayVersion: the image runs Ray 2.41.0, but the project pins Ray 2.60.0")
    untagged = serving_config()
    untagged["serving"]["release"]["image"] = "registry.example.com/serving@sha256:" + "d" * 64
    assert only_problem(untagged).startswith("llmops:serving.release.rayVersion: cannot be derived: the image's tag carries no Ray version")
    untagged["serving"]["release"]["rayVersion"] = "2.60.0"
    assert parse(untagged).serving is not None
    clash = serving_config()
    clash["serving"]["release"]["rayVersion"] = "2.59.0"
    assert "the image's tag says Ray 2.60.0" in only_problem(clash)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("image", "rayproject/ray:2.60.0-py311-gpu", "llmops:serving.release.image: 'rayproject/ray:2.60.0-py311-gpu' does not name the image by digest"),
        ("modelRevision", "main", "llmops:serving.release.modelRevision: 'main' is not a commit hash"),
        ("chartVersions", {"kuberay-operator": "1.3.2"}, "llmops:serving.release.chartVersions: kuberay-operator 1.3.2 has no schemas in the project; use 1.7.0"),
        ("chartVersions", {"kuberay": "1.7.0"}, "llmops:serving.release.chartVersions: unknown chart 'kuberay' (did you mean kuberay-operator?)"),
        ("appSettings", {"models": []}, "llmops:serving.release.appSettings: models: a release carries only rag, request_timeout_s"),
        ("appSettings", {"rag": {"top_k": 0}}, "llmops:serving.release.appSettings.rag.top_k: "),
    ],
)
def test_release_values_are_checked(key: str, value: Any, expected: str) -> None:
    config = serving_config()
    config["serving"]["release"][key] = value
    assert only_problem(config).startswith(expected)


# --------------------------------------------------------------------------- rendering


def test_placement_tokens_and_the_release_model_in_each_regions_serve_config() -> None:
    config = parse(serving_config(regions={"us-west-2": {"applications": {"llmops": {"models": {"assistant": {"minReplicas": 1, "maxReplicas": 3}}}}}}))
    base, found = serve_config.base_serve_config(config.serving)  # type: ignore[arg-type]
    assert base is not None and not found
    west = config.region("us-west-2")
    placed = {p.deployment: p for p in serve_config.placements(config, base, west)}
    assert {k: p.groups for k, p in placed.items()} == {
        "RAGIngress": ("cpu",), "Embedder": ("cpu",), "LLM-assistant": ("l4",), "LLM-extractive": ("cpu",),
    }
    assert placed["LLM-assistant"].settings.autoscaling is not None
    assert (placed["LLM-assistant"].settings.autoscaling.min_replicas, placed["LLM-assistant"].max_replicas) == (1, 3)
    rendered = serve_config.region_serve_config(base, list(placed.values()))
    app = rendered.applications[0]
    backend = app.models[0].backends[0]
    assert (backend.model_id, backend.revision, backend.parameter_count_b) == ("Qwen/Qwen2.5-7B-Instruct", REVISION, 7.6)  # type: ignore[union-attr]
    assert app.models[0].deployment.resources.custom == {"llmops-llmops-LLM-assistant": 1}
    assert app.ingress.resources.custom == {"llmops-llmops-RAGIngress": 1}
    assert serve_config.group_resources(list(placed.values())) == {
        "cpu": {"llmops-llmops-RAGIngress": 1000, "llmops-llmops-Embedder": 1000, "llmops-llmops-LLM-extractive": 1000},
        "l4": {"llmops-llmops-LLM-assistant": 1000},
    }
    east = {p.deployment: p for p in serve_config.placements(config, base, config.region("us-east-1"))}
    assert east["LLM-assistant"].max_replicas == 2  # the override is us-west-2's only


def test_the_release_settings_apply_to_every_application() -> None:
    config = parse(serving_config(release={"image": IMAGE, "modelId": "m/x", "modelRevision": REVISION, "modelParameterCountB": 1,
                                           "appSettings": {"request_timeout_s": 45, "rag": {"top_k": 7}}}))
    base, _ = serve_config.base_serve_config(config.serving)  # type: ignore[arg-type]
    assert base is not None
    assert (base.applications[0].request_timeout_s, base.applications[0].rag.top_k, base.applications[0].rag.min_score) == (45, 7, 0.2)


def test_the_rendered_document_is_the_serve_config_llmops_serve_runs(tmp_path: Any) -> None:
    config = parse(serving_config())
    base, _ = serve_config.base_serve_config(config.serving)  # type: ignore[arg-type]
    assert base is not None
    rendered = serve_config.region_serve_config(base, serve_config.placements(config, base, config.region("us-east-1")))
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(rendered.model_dump(mode="json")), encoding="utf-8")
    assert load_serve_config(path) == rendered
    document = yaml.safe_load(render_serve_config_yaml(rendered))
    args = document["applications"][0]["args"]
    assert ServeConfig.model_validate({"applications": [args]}).applications[0] == rendered.applications[0]


def test_pull_accounts_are_granted_by_the_stack_that_manages_the_repository() -> None:
    with_serving = serving_config
    config = with_serving(registry={"manage": True, "pullAccountIds": ["444455556666"]})
    assert parse(config).serving.registry.pull_account_ids == ["444455556666"]  # type: ignore[union-attr]
    for registry, message in (
        ({"pullAccountIds": ["444455556666"]}, "only the stack that manages the repository (registry.manage: true) grants pulls"),
        ({"manage": True, "pullAccountIds": [config["account"]["id"]]}, "is this stack's own account, which pulls already"),
        ({"manage": True, "pullAccountIds": ["4444"]}, "'4444' is not an AWS account id (12 digits)"),
    ):
        with pytest.raises(ConfigError) as error:
            parse(with_serving(registry=registry))
        assert "llmops:serving.registry.pullAccountIds" in str(error.value) and message in str(error.value), str(error.value)


def test_every_shipped_stack_can_pull_its_release_image() -> None:
    """A stack's image is in its own account's repository, or in one whose managing stack
    grants the stack's account pulls (prod runs staging's image from dev's account)."""
    import re
    from pathlib import Path

    from llmops.engine.project import load_project, load_stack_config
    from stacks.config import namespace_values

    root = Path(__file__).resolve().parents[2]
    project = load_project(root)
    configs = {s: parse(namespace_values(load_stack_config(project, s).values)) for s in ("dev", "staging", "prod")}
    grants = {c.account.id: set(c.serving.registry.pull_account_ids) for c in configs.values() if c.serving and c.serving.registry.manage}
    for stack, config in configs.items():
        assert config.serving is not None
        match = re.match(r"^(\d{12})\.dkr\.ecr\.", config.serving.release.image)
        assert match is not None, stack
        owner = match.group(1)
        assert owner in grants, f"{stack}: no shipped stack manages a repository in {owner}"
        assert owner == config.account.id or config.account.id in grants[owner], f"{stack}: {owner} does not let {config.account.id} pull"
