"""The dev stack's ``serveConfigV2``, as its offline plan renders it into the RayService,
runs on real Ray Serve on CPU and answers ``/healthz`` and a chat completion.

It is applied as KubeRay applies it, through Serve's declarative API (the controller imports
the document's ``import_path`` with its ``args`` and applies its ``deployments`` options), on
the session's Ray and Serve (the ``serve_app`` fixture) as a second application. What the
cluster provides is swapped for what this machine has, in the args and in the deployment
options alike: GPU counts and the worker groups' placement resources go to zero (no GPU, no
KubeRay worker groups here), CPU reservations shrink to fit two cores, the release model is the
tiny test model, and the database, cache and client keys are the session's: on the cluster the
pods log in to Aurora and ElastiCache with IAM tokens (a cluster-mode serverless cache), which
this machine has neither of, so the session's PostgreSQL and Redis take their place with
password-less local logins. The schema stays the migrations' (``migrate_on_start`` off, as
rendered): the store only checks the version the session's database already has. The cluster-wide ``http_options`` and ``proxy_location`` stay
the session's. Everything else is the document as rendered."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import yaml

pytestmark = pytest.mark.slow

APP = "dev-stack"
PREFIX = "/dev-stack"


def rendered_serve_config(plan: Any) -> dict[str, Any]:
    (rayservice,) = [r for r in plan.resources if r.type == "kubernetes:ray.io/v1:RayService"]
    from llmops.engine.mocks import unwrap_secrets

    document: dict[str, Any] = yaml.safe_load(unwrap_secrets(rayservice.inputs)["spec"]["serveConfigV2"])
    return document


def on_this_machine(settings: dict[str, Any]) -> None:
    resources = settings["resources"]
    resources.update(num_gpus=0.0, num_cpus=0.05, custom={})


@pytest.fixture(scope="module")
def dev_app(serve_app: Any, shipped: Any, tiny_llm_path: Any) -> Any:
    from ray import serve
    from ray.serve.context import _get_global_client
    from ray.serve.schema import ServeDeploySchema

    from serving.config import AppConfig

    document = rendered_serve_config(shipped.plan("dev"))
    assert set(document) == {"applications", "http_options", "proxy_location"}
    (entry,) = document["applications"]
    assert entry["import_path"] == "serving.app:build_app"
    # The document's deployment options are the args' own (what build_app applies).
    assert entry["deployments"] == AppConfig.model_validate(entry["args"]).to_serve_application()["deployments"]
    for options in entry["deployments"]:
        options["ray_actor_options"].update(num_cpus=0.05, num_gpus=0.0, resources={})
    args = entry["args"]
    for settings in (args["ingress"], args["embeddings"]["deployment"], *(m["deployment"] for m in args["models"])):
        on_this_machine(settings)
    release_model = args["models"][0]["backends"][0]
    assert (release_model["kind"], release_model["model_id"]) == ("transformers", "Qwen/Qwen2.5-7B-Instruct")
    # On the cluster the release model comes from the region's bucket (s3_uri); here, from disk.
    assert release_model["s3_uri"] is not None and release_model["s3_uri"].endswith("/models/Qwen/Qwen2.5-7B-Instruct/a09a35458c702b33eeacc393d103063234e8bc28/")
    release_model.update(model_id=str(tiny_llm_path), s3_uri=None, device="cpu", max_new_tokens=12)
    # Rendered for Aurora and ElastiCache Serverless: IAM logins, schema from the migrations Job.
    store, cache = args["vector_store"], args["cache"]
    assert (store["iam_auth"], store["migrate_on_start"], store["dsn"]) == (True, False, None)
    assert (cache["iam_auth"], cache["cluster"], cache["url"]) == (True, True, None)
    store.update(dsn=serve_app.dsn, iam_auth=False)
    cache.update(url=serve_app.redis.url, iam_auth=False, cluster=False)
    args["auth"]["keys_file"] = str(serve_app.paths.keys_file)
    args.update(name=APP, route_prefix=PREFIX)
    entry.update(name=APP, route_prefix=PREFIX)
    AppConfig.model_validate(args)
    client = _get_global_client()
    assert client is not None, "the session's Serve is not running"
    client.deploy_apps(ServeDeploySchema.model_validate({"applications": [entry]}))
    url = serve_app.url.rstrip("/") + PREFIX
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    else:
        status = serve.status().applications.get(APP)
        detail = (status.message or "", {n: d.message for n, d in status.deployments.items()}) if status else "not deployed"
        pytest.fail(f"the dev stack's application did not become healthy within 300 s: {detail}")
    yield url, serve_app.key
    serve.delete(APP)


def test_dev_stack_serve_config_answers_health_and_a_chat_completion(dev_app: tuple[str, str]) -> None:
    url, key = dev_app
    health = httpx.get(f"{url}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["models"][:2] == ["assistant", "extractive"]
    reply = httpx.post(
        f"{url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "What does the platform serve?"}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["object"] == "chat.completion" and body["model"] == "assistant"
    assert body["choices"][0]["message"]["role"] == "assistant" and body["choices"][0]["finish_reason"]
    assert body["usage"]["completion_tokens"] >= 1
    from ray import serve

    # Deployed declaratively, as KubeRay does: every deployment the document names is running.
    status = serve.status().applications[APP]
    assert status.status == "RUNNING"
    assert set(status.deployments) == {"RAGIngress", "Embedder", "LLM-assistant", "LLM-extractive"}
