"""The composition's serving wiring, through the offline engine: the shipped stacks'
serving planes, a cluster brought by name, a public entry behind TLS and WAF (and the
policy that fails it without WAF in prod), and the mapping of config to arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.engine import plan
from llmops.engine.report import plan_document
from stacks.config import parse
from stacks.platform import _bounded, region_image
from tests.serving_plane.serving_plane_support import IMAGE, serving_config
from tests.support import of_type, one, write_project

ZONE = "Z0761438V1CZ8EXAMPLE"


def test_shipped_stacks_serve_in_every_region_with_the_entry_over_them(shipped: Any) -> None:
    for stack, regions in (("dev", 1), ("staging", 2), ("prod", 3)):
        document = plan_document(shipped.plan(stack))
        assert len(of_type(document, "llmops:serving:ServingPlane")) == regions, stack
        assert len(of_type(document, "kubernetes:ray.io/v1:RayService")) == regions, stack
        entries = of_type(document, "llmops:network:GlobalEntry")
        assert len(entries) == (0 if stack == "dev" else 1), stack
    dev = plan_document(shipped.plan("dev"))
    assert one(dev, "aws:ecr/repository:Repository")["inputs"]["name"] == "llmops-serving"
    (template,) = of_type(dev, "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert template["region"] == "us-west-2"
    prod = plan_document(shipped.plan("prod"))
    checks = of_type(prod, "aws:route53/healthCheck:HealthCheck")
    assert sorted(c["inputs"]["cloudwatchAlarmRegion"] for c in checks) == ["eu-west-1", "us-east-1", "us-west-2"]
    outputs = prod["outputs"]["regions"]["eu-west-1"]["serving"]
    assert (outputs["namespace"], outputs["rayService"], outputs["metricsPort"]) == ("llmops-serving", "llmops", 8080)
    assert outputs["loadBalancerArnSuffix"].startswith("net/")
    # us-west-2 pulls the image from its replica; eu-west-1, not a replica region, as pinned.
    images = {
        r["name"].split("-serving")[0]: r["inputs"]["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
        for r in of_type(prod, "kubernetes:ray.io/v1:RayService")
    }
    assert images["us-west-2"].startswith("111122223333.dkr.ecr.us-west-2.amazonaws.com/llmops-serving:")
    assert images["eu-west-1"] == images["us-east-1"] and ".us-east-1." in images["eu-west-1"]


def test_region_image_uses_the_replica_only_where_the_repository_replicates() -> None:
    serving = parse(serving_config(registry={"replicaRegions": ["us-west-2"]})).serving
    assert serving is not None
    assert region_image(IMAGE, serving, "us-west-2") == IMAGE.replace(".us-east-1.", ".us-west-2.")
    assert region_image(IMAGE, serving, "eu-west-1") == IMAGE
    other = "ghcr.io/example/serving:ray2.60.0-abc@sha256:" + "f" * 64
    assert region_image(other, serving, "us-west-2") == other


def test_names_are_bounded_with_a_hash_of_the_whole() -> None:
    assert _bounded("llmops-dev-us-east-1", 32) == "llmops-dev-us-east-1"
    long = _bounded("llmops-staging-blue-ap-southeast-1", 32)
    assert len(long) == 32 and long.startswith("llmops-staging-blue-ap-so")
    assert long != _bounded("llmops-staging-blue-ap-southeast-2", 32)


def _plan(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    return plan_document(plan("test", write_project(tmp_path / "project", config=config)))


def test_a_cluster_brought_by_name_serves_from_its_own_vpc_and_system_nodes(tmp_path: Path) -> None:
    config = serving_config()
    config["regions"] = [config["regions"][0]]
    config["regions"][0]["cluster"] = {"existing": {"clusterName": "shared-ml-cluster"}}
    del config["regions"][0]["gpuPools"]
    model = config["serving"]["serve"]["applications"][0]["models"][0]
    model["backends"] = [{"kind": "extractive"}]
    model["deployment"]["resources"] = {"num_cpus": 0.5}
    document = _plan(tmp_path, config)
    rayservice = one(document, "kubernetes:ray.io/v1:RayService")["inputs"]["spec"]["rayClusterConfig"]
    assert rayservice["headGroupSpec"]["template"]["spec"]["nodeSelector"] == {}
    (cpu,) = rayservice["workerGroupSpecs"]
    assert cpu["template"]["spec"]["nodeSelector"] == {} and not of_type(document, "kubernetes:karpenter.sh/v1:NodePool")
    balancer = one(document, "aws:lb/loadBalancer:LoadBalancer")["inputs"]
    assert balancer["subnets"] and balancer["internal"] is True
    association = one(document, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "-lb-controller")
    assert association["inputs"]["clusterName"] == "shared-ml-cluster"


def as_prod(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as a prod stack the packs accept apart from what a test changes."""
    config["environment"] = "prod"
    config["regions"][0]["gpuPools"][0]["capacityType"] = "on-demand"
    for region in config["regions"]:
        region["flowLogs"] = {"retentionDays": 90}
    # room for prod's on-demand GPU floor and its in-cluster monitoring
    config.setdefault("budget", {})["monthlyUsd"] = 10_000
    return config


@pytest.fixture(scope="module")
def public_prod(tmp_path_factory: pytest.TempPathFactory) -> Any:
    config = serving_config(exposure={"scheme": "internet-facing"}, entry={"hostedZoneId": ZONE, "recordName": "llm.example.com"})
    return plan("test", write_project(tmp_path_factory.mktemp("public") / "project", config=as_prod(config)))


def test_a_public_entry_is_https_on_albs_behind_waf_and_passes_the_packs(public_prod: Any) -> None:
    from llmops.policy import run_policies

    document = plan_document(public_prod)
    balancers = of_type(document, "aws:lb/loadBalancer:LoadBalancer")
    assert {b["inputs"]["loadBalancerType"] for b in balancers} == {"application"}
    assert all(b["inputs"]["enableDeletionProtection"] is True for b in balancers)
    assert len(of_type(document, "aws:wafv2/webAclAssociation:WebAclAssociation")) == 2
    checks = of_type(document, "aws:route53/healthCheck:HealthCheck")
    assert sorted((c["inputs"]["type"], c["inputs"]["resourcePath"]) for c in checks) == [("HTTPS", "/healthz")] * 2
    report = run_policies(public_prod)
    assert report.mandatory_count == 0, [f"{v.policy} {v.resource}: {v.message}" for v in report.violations if v.level == "mandatory"]


def test_prod_without_waf_on_a_public_alb_is_a_violation(tmp_path: Path) -> None:
    from llmops.policy import run_policies

    config = serving_config(exposure={"scheme": "internet-facing", "waf": False}, entry={"hostedZoneId": ZONE, "recordName": "llm.example.com"})
    report = run_policies(plan("test", write_project(tmp_path / "project", config=as_prod(config))))
    waf = [v for v in report.violations if v.policy == "waf-on-public-load-balancers-in-prod"]
    assert len(waf) == 2 and all(v.level == "mandatory" for v in waf)


def _policy(document: dict[str, Any], name: str) -> dict[str, Any]:
    import json

    return json.loads(one(document, "aws:iam/rolePolicy:RolePolicy", f"{name}-access")["inputs"]["policy"])


def test_the_serving_role_reads_exactly_the_regions_bucket_and_secrets(shipped: Any) -> None:
    document = plan_document(shipped.plan("staging"))
    statements = {s["Sid"]: s for s in _policy(document, "us-west-2-serving-ray")["Statement"]}
    bucket = next(r for r in shipped.plan("staging").resources if r.name == "us-west-2-documents" and r.type == "aws:s3/bucket:Bucket").outputs["arn"]
    assert statements["ListNamedBuckets"]["Resource"] == [bucket]
    assert statements["ReadNamedBuckets"]["Resource"] == [f"{bucket}/*"]
    secrets = set(statements["ReadNamedSecrets"]["Resource"])
    assert {s for s in secrets if ":secret:llmops/" in s} == {
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:llmops/staging/openai-Q1w2E3",
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:llmops/staging/client-keys-R4t5Y6",
    }
    assert len(secrets) == 3  # and the region's GCS token; never the database's master secret
    assert not any("vectors-master" in s for s in secrets)
    assert all(s["Effect"] == "Allow" and "*" not in json_resources(s) for s in statements.values())


def json_resources(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]


def test_gcs_fault_tolerance_follows_the_data_plane(shipped: Any) -> None:
    dev = one(plan_document(shipped.plan("dev")), "kubernetes:ray.io/v1:RayService")["inputs"]["spec"]["rayClusterConfig"]
    assert "gcsFaultToleranceOptions" not in dev  # dev has no GCS Redis
    staging = plan_document(shipped.plan("staging"))
    for region in ("us-east-1", "us-west-2"):
        spec = one(staging, "kubernetes:ray.io/v1:RayService", f"{region}-serving-rayservice")["inputs"]["spec"]["rayClusterConfig"]
        options = spec["gcsFaultToleranceOptions"]
        assert options["redisAddress"].startswith("rediss://") and options["redisPassword"]["valueFrom"]["fileKeyRef"]["key"] == "REDIS_PASSWORD"


def test_gcs_fault_tolerance_waits_for_kubernetes_1_35(tmp_path: Path) -> None:
    config = serving_config()
    config["data"] = {"gcsFaultTolerance": {"enabled": True}}
    config["regions"][0].setdefault("cluster", {})["kubernetesVersion"] = "1.33"
    config["regions"][1].setdefault("cluster", {})["kubernetesVersion"] = "1.35"
    document = _plan(tmp_path, config)
    specs = {r["name"]: r["inputs"]["spec"]["rayClusterConfig"] for r in of_type(document, "kubernetes:ray.io/v1:RayService")}
    assert "gcsFaultToleranceOptions" not in specs["us-east-1-serving-rayservice"]  # its Redis exists, unused until 1.35
    assert "gcsFaultToleranceOptions" in specs["us-west-2-serving-rayservice"]


def test_the_cost_model_prices_the_repository_waf_and_entry(shipped: Any, public_prod: Any) -> None:
    from llmops.cost import estimate_plan
    from tests.support import fixture_prices

    dev = {(i.type, i.name): i for i in estimate_plan(shipped.plan("dev"), catalogue=fixture_prices()).items}
    repository = dev[("aws:ecr/repository:Repository", "us-east-1-serving-image")]
    assert repository.expected == pytest.approx(100 * 0.10)  # registryStorageGb x $0.10/GB-month
    balancer = dev[("aws:lb/loadBalancer:LoadBalancer", "us-east-1-serving-lb")]
    assert balancer.expected == pytest.approx(730 * 0.0225 + 730 * 0.006)  # NLB hours and one NLCU
    public = {(i.type, i.name): i for i in estimate_plan(public_prod, catalogue=fixture_prices()).items}
    acl = public[("aws:wafv2/webAcl:WebAcl", "us-east-1-serving-waf")]
    assert acl.expected == pytest.approx(5 + 4 * 1 + 10 * 0.60)  # web ACL, 4 rules, 10M requests
    checks = [i for (kind, _), i in public.items() if kind == "aws:route53/healthCheck:HealthCheck"]
    assert len(checks) == 2 and all(c.expected and c.expected > 0 for c in checks)
    staging = estimate_plan(shipped.plan("staging"), catalogue=fixture_prices())
    assert "aws:route53/zoneAssociation:ZoneAssociation" not in staging.to_document()["unpricedTypes"]


def test_pods_reach_the_data_stores_with_iam_and_only_the_migrations_read_the_master_secret(shipped: Any) -> None:
    """Aurora and ElastiCache through the pods' own credentials (IAM tokens), their endpoints
    from the stores' outputs; the schema is migrated by a Job before the RayService starts."""
    import json

    import yaml

    result = shipped.plan("staging")
    document = plan_document(result)
    by_name = {r.name: r for r in result.resources}
    for region in ("us-east-1", "us-west-2"):
        name = f"{region}-serving"
        attached = {
            a["name"]: a["inputs"]["policyArn"]
            for a in of_type(document, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", region)
            if a["name"].startswith(f"{name}-ray-attach-")
        }
        assert attached == {
            f"{name}-ray-attach-vectors": by_name[f"{region}-vectors-connect"].outputs["arn"],
            f"{name}-ray-attach-cache": by_name[f"{region}-cache-connect"].outputs["arn"],
        }
        rayservice = one(document, "kubernetes:ray.io/v1:RayService", f"{name}-rayservice")
        spec = rayservice["inputs"]["spec"]
        head = spec["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in head["containers"][0]["env"]}
        cluster = by_name[f"{region}-vectors-cluster"].outputs
        cache = next(r.outputs for r in result.resources if r.type == "aws:elasticache/serverlessCache:ServerlessCache" and r.name == f"{region}-cache")
        assert env["PGHOST"] == cluster["endpoint"] and env["PGUSER"] == "llmops_serving"
        assert env["LLMOPS_PG_DSN"] == "sslmode=verify-full"
        assert env["REDIS_URL"] == f"rediss://{cache['endpoints'][0]['address']}:{int(cache['endpoints'][0]['port'])}"
        assert env["LLMOPS_CACHE_ARN"] == cache["arn"]
        assert env["LLMOPS_CACHE_USER"] == by_name[f"{region}-cache-serving"].outputs["userName"]
        refs = json.loads(head["initContainers"][0]["env"][0]["value"])
        assert "PGPASSWORD" not in refs and "PGUSER" not in refs
        (app,) = yaml.safe_load(spec["serveConfigV2"])["applications"]
        store, answers = app["args"]["vector_store"], app["args"]["cache"]
        assert (store["iam_auth"], store["migrate_on_start"], store["serving_role"]) == (True, False, "llmops_serving")
        assert (answers["iam_auth"], answers["cluster"], answers["url_env"]) == (True, True, "REDIS_URL")

        job = one(document, "kubernetes:batch/v1:Job", f"{name}-migrations")
        assert job["urn"] in rayservice["dependencies"]
        container = job["inputs"]["spec"]["template"]["spec"]["containers"][0]
        job_env = {e["name"]: e["value"] for e in container["env"]}
        assert job_env["LLMOPS_PG_MASTER_SECRET_ARN"] == cluster["masterUserSecrets"][0]["secretArn"]
        assert job_env["LLMOPS_SERVE_CONFIG"] == spec["serveConfigV2"]  # the stores the pods open
        assert container["command"] == ["python", "-m", "serving.migrate", "--serve-config-env", "LLMOPS_SERVE_CONFIG"]
        assert job["inputs"]["spec"]["template"]["spec"]["serviceAccountName"] == "vector-store-migrations"
        grant = one(document, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{name}-migrations-attach-admin")
        assert grant["inputs"]["policyArn"] == by_name[f"{region}-vectors-admin"].outputs["arn"]
        association = one(document, "aws:eks/podIdentityAssociation:PodIdentityAssociation", f"{name}-migrations")
        assert association["inputs"]["serviceAccount"] == "vector-store-migrations"
        assert {grant["urn"], association["urn"]} <= set(job["dependencies"])


def test_opensearch_serverless_is_reached_by_the_serving_role_with_sigv4(tmp_path: Path) -> None:
    """With ``vectorStoreEngine: opensearch-serverless`` the pods get the collection's endpoint,
    its ``aoss:APIAccessAll`` policy, and a data access policy naming their own role; there is
    no SQL schema, so no migrations Job."""
    import json

    import yaml

    config = serving_config()
    config["data"] = {"vectorStoreEngine": "opensearch-serverless"}
    result = plan("test", write_project(tmp_path / "project", config=config))
    document = plan_document(result)
    outputs = {(r.type, r.name): r.outputs for r in result.resources}
    for region in ("us-east-1", "us-west-2"):
        name = f"{region}-serving"
        collection = one(document, "aws:opensearch/serverlessCollection:ServerlessCollection", f"{region}-vectors-collection")
        access = one(document, "aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy", f"{name}-search-vectors")
        assert access["inputs"]["type"] == "data" and access["inputs"]["name"] == collection["inputs"]["name"]
        (rule,) = json.loads(access["inputs"]["policy"])
        assert rule["Principal"] == [outputs[("aws:iam/role:Role", f"{name}-ray")]["arn"]]
        assert {r["Resource"][0] for r in rule["Rules"]} == {f"collection/{collection['inputs']['name']}", f"index/{collection['inputs']['name']}/*"}
        api = one(document, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{name}-ray-attach-vectors")
        assert api["inputs"]["policyArn"] == outputs[("aws:iam/policy:Policy", f"{region}-vectors-api")]["arn"]
        rayservice = one(document, "kubernetes:ray.io/v1:RayService", f"{name}-rayservice")
        assert access["urn"] in rayservice["dependencies"]
        head = rayservice["inputs"]["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
        env = {e["name"]: e["value"] for e in head["containers"][0]["env"]}
        endpoint = outputs[("aws:opensearch/serverlessCollection:ServerlessCollection", f"{region}-vectors-collection")]["collectionEndpoint"]
        assert env["LLMOPS_OPENSEARCH_ENDPOINT"] == endpoint and endpoint.startswith("https://")
        assert "PGHOST" not in env
        (app,) = yaml.safe_load(rayservice["inputs"]["spec"]["serveConfigV2"])["applications"]
        store = app["args"]["vector_store"]
        assert store["engine"] == "opensearch-serverless" and store["opensearch"]["endpoint_env"] == "LLMOPS_OPENSEARCH_ENDPOINT"
    assert not [j for j in of_type(document, "kubernetes:batch/v1:Job") if j["name"].endswith("-migrations")]
