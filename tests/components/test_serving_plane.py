"""``ServingPlane`` under the mocks harness: the RayService's head and worker groups, the
upgrade strategy, GCS fault tolerance, the Pod Identity roles, secrets, the model copy
Job, the load balancer (internal NLB, public ALB with TLS and WAF) and its binding, and
the arguments' validation."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.serving_plane import (
    AccessArgs,
    CertificateArgs,
    CpuNodePoolArgs,
    CpuWorkersArgs,
    ExposureArgs,
    GcsArgs,
    HeadArgs,
    MigrationsArgs,
    ModelCopyArgs,
    SecretRef,
    ServingPlane,
    ServingPlaneArgs,
    WorkerGroupArgs,
)
from components.serving_plane.iam import load_balancer_controller_document
from core import gpu_pool
from tests.harness import Recorded, Registration, run

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-abc123@sha256:" + "a" * 64
SYSTEM = {"llmops.io/pool": "system"}
MODELS = "arn:aws:s3:::llmops-dev-models"
DOCS = "arn:aws:s3:::llmops-dev-docs"
PG = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pg-dsn-AbCdEf"
GCS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gcs-token-GhIjKl"
HUB = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hub-token-MnOpQr"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1111-2222"
RAYSERVICE = "kubernetes:ray.io/v1:RayService"


def pool(name: str, types: tuple[str, ...], low: int, high: int, tokens: dict[str, int] | None = None) -> WorkerGroupArgs:
    return WorkerGroupArgs(
        name=name,
        instance_types=types,
        min_replicas=low,
        max_replicas=high,
        node_selector={gpu_pool.POOL_LABEL: name},
        tolerations=(dict(gpu_pool.GPU_TOLERATION),),
        ray_resources=tokens or {},
    )


def base_args(**changes: Any) -> ServingPlaneArgs:
    args = ServingPlaneArgs(
        region="us-east-1",
        cluster_name="llmops-dev-us-east-1",
        image=IMAGE,
        ray_version="2.60.0",
        serve_config="applications: []\n",
        kubernetes_version="1.35",
        head=HeadArgs(instance_types=("m7i.large",), node_selector=SYSTEM),
        cpu_workers=CpuWorkersArgs(
            instance_types=("m7i.xlarge",),
            min_replicas=1,
            max_replicas=3,
            node_pool=CpuNodePoolArgs(node_class="gpu", instance_types=("m7i.xlarge",), max_nodes=3),
            ray_resources={"llmops-app-RAGIngress": 1000},
        ),
        gpu_workers=(
            pool("a10g", ("g5.xlarge", "g5.12xlarge"), 0, 2, {"llmops-app-LLM-m": 1000}),
            pool("quad", ("g5.12xlarge", "g6.12xlarge"), 1, 4),
        ),
        secret_env={"LLMOPS_PG_DSN": SecretRef(PG)},
        access=AccessArgs(read_bucket_arns={"models": MODELS, "documents": DOCS}, kms_key_arns={"models": KEY}),
        exposure=ExposureArgs(
            scheme="internal",
            vpc_id="vpc-0123",
            subnet_ids=["subnet-a", "subnet-b"],
            node_security_group_id="sg-nodes",
            load_balancer_name="llmops-dev-us-east-1",
            client_cidrs=("10.10.0.0/16",),
        ),
    )
    return dataclasses.replace(args, **changes)


def plane(args: ServingPlaneArgs) -> Recorded[ServingPlane]:
    def build() -> ServingPlane:
        aws_provider = aws.Provider("aws-us-east-1", region="us-east-1")
        k8s_provider = k8s.Provider("cluster-k8s", kubeconfig="{}")
        return ServingPlane(
            "us-east-1-serving", args, opts=pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": k8s_provider})
        )

    return run(build)


@pytest.fixture(scope="module")
def internal() -> Recorded[ServingPlane]:
    return plane(base_args())


def spec(recorded: Recorded[ServingPlane]) -> dict[str, Any]:
    return recorded.one(RAYSERVICE).inputs["spec"]


def groups(recorded: Recorded[ServingPlane]) -> dict[str, dict[str, Any]]:
    return {g["groupName"]: g for g in spec(recorded)["rayClusterConfig"]["workerGroupSpecs"]}


def container(template: dict[str, Any]) -> dict[str, Any]:
    (only,) = template["spec"]["containers"]
    return only


def policy_of(recorded: Recorded[ServingPlane], name: str) -> dict[str, Any]:
    return json.loads(recorded.one("aws:iam/rolePolicy:RolePolicy", f"{name}-access").inputs["policy"])


# --------------------------------------------------------------------------- RayService


def test_one_worker_group_per_gpu_pool_with_its_gpus_toleration_selector_and_bounds(internal: Recorded[ServingPlane]) -> None:
    by_name = groups(internal)
    assert list(by_name) == ["cpu", "a10g", "quad"]
    for name, low, high, gpus in (("a10g", 0, 2, "1"), ("quad", 1, 4, "4")):
        group = by_name[name]
        assert (group["minReplicas"], group["maxReplicas"], group["replicas"]) == (low, high, low), name
        template = group["template"]
        assert template["spec"]["nodeSelector"] == {gpu_pool.POOL_LABEL: name}
        assert template["spec"]["tolerations"] == [gpu_pool.GPU_TOLERATION]
        resources = container(template)["resources"]
        # Pods take the smallest GPU count among the pool's types (g5.xlarge: 1 beside g5.12xlarge: 4).
        assert resources["limits"][gpu_pool.GPU_RESOURCE] == resources["requests"][gpu_pool.GPU_RESOURCE] == gpus
    assert by_name["a10g"]["resources"] == {"llmops-app-LLM-m": "1000"}
    assert "resources" not in by_name["quad"]
    # g5.xlarge: 4 vCPUs less kube-reserved and the DaemonSets: 3 whole cores.
    assert container(by_name["a10g"]["template"])["resources"]["requests"]["cpu"] == "3"


def test_cpu_group_runs_on_its_own_node_pool(internal: Recorded[ServingPlane]) -> None:
    cpu = groups(internal)["cpu"]
    assert cpu["resources"] == {"llmops-app-RAGIngress": "1000"}
    assert cpu["template"]["spec"]["nodeSelector"] == {"llmops.io/pool": "llmops-cpu"}
    assert cpu["template"]["spec"]["tolerations"] == [{"key": "llmops.io/serving-cpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    node_pool = internal.one("kubernetes:karpenter.sh/v1:NodePool")
    template = node_pool.inputs["spec"]["template"]
    assert template["metadata"]["labels"] == {"llmops.io/pool": "llmops-cpu"}
    assert template["spec"]["taints"] == [{"key": "llmops.io/serving-cpu", "value": "true", "effect": "NoSchedule"}]
    assert template["spec"]["nodeClassRef"] == {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"}
    assert node_pool.inputs["metadata"]["annotations"] == {gpu_pool.MIN_NODES_ANNOTATION: "0", gpu_pool.MAX_NODES_ANNOTATION: "3"}
    assert node_pool.inputs["spec"]["limits"] == {"cpu": "12", "memory": "48Gi"}


def test_head_schedules_no_work_and_lives_on_the_system_nodes(internal: Recorded[ServingPlane]) -> None:
    cluster = spec(internal)["rayClusterConfig"]
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"] == {"num-cpus": "0"}
    assert head["template"]["spec"]["nodeSelector"] == SYSTEM
    assert container(head["template"])["resources"] == {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}
    assert cluster["rayVersion"] == "2.60.0" and cluster["enableInTreeAutoscaling"] is True
    assert cluster["autoscalerOptions"]["version"] == "v2"
    assert (cluster["autoscalerOptions"]["idleTimeoutSeconds"], cluster["autoscalerOptions"]["upscalingMode"]) == (300, "Default")
    assert spec(internal)["excludeHeadPodFromServeSvc"] is True


def test_upgrade_strategy_new_cluster_by_default_and_no_deprecated_fields(internal: Recorded[ServingPlane]) -> None:
    rayservice = spec(internal)
    assert rayservice["upgradeStrategy"] == {"type": "NewCluster"}
    assert "serviceUnhealthySecondThreshold" not in rayservice and "deploymentUnhealthySecondThreshold" not in rayservice
    in_place = spec(plane(base_args(upgrade_strategy="None", exposure=None)))
    assert in_place["upgradeStrategy"] == {"type": "None"}
    with pytest.raises(ValueError, match=r"upgrade_strategy: must be 'NewCluster' or 'None'"):
        base_args(upgrade_strategy="NewClusterWithIncrementalUpgrade").validate()  # type: ignore[arg-type]


def test_gcs_fault_tolerance_only_with_a_cache(internal: Recorded[ServingPlane]) -> None:
    cluster = spec(internal)["rayClusterConfig"]
    assert "gcsFaultToleranceOptions" not in cluster
    head_budget = internal.one("kubernetes:policy/v1:PodDisruptionBudget", "us-east-1-serving-pdb-head")
    assert head_budget.inputs["spec"]["maxUnavailable"] == 0  # the head's loss would restart every application

    tolerant = plane(base_args(gcs=GcsArgs("rediss://gcs.example:6379", SecretRef(GCS, "token")), exposure=None))
    options = spec(tolerant)["rayClusterConfig"]["gcsFaultToleranceOptions"]
    assert options == {
        "redisAddress": "rediss://gcs.example:6379",
        "redisPassword": {"valueFrom": {"fileKeyRef": {"volumeName": "llmops-secrets", "path": "env", "key": "REDIS_PASSWORD"}}},
    }
    init = spec(tolerant)["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["initContainers"][0]
    refs = json.loads(next(e["value"] for e in init["env"] if e["name"] == "LLMOPS_SECRETS_REF"))
    assert refs == {"LLMOPS_PG_DSN": PG, "REDIS_PASSWORD": f"{GCS}#token"}
    assert tolerant.one("kubernetes:policy/v1:PodDisruptionBudget", "us-east-1-serving-pdb-head").inputs["spec"]["maxUnavailable"] == 1
    with pytest.raises(ValueError, match=r"ServingPlaneArgs.gcs: .* Kubernetes 1.35; the cluster runs 1.33"):
        base_args(gcs=GcsArgs("rediss://gcs.example:6379", SecretRef(GCS)), kubernetes_version="1.33").validate()


def test_secrets_reach_pods_only_at_run_time(internal: Recorded[ServingPlane]) -> None:
    text = json.dumps(spec(internal))
    assert PG in text  # the ARN, a pointer ...
    for template in [spec(internal)["rayClusterConfig"]["headGroupSpec"]["template"], *(g["template"] for g in groups(internal).values())]:
        (init,) = template["spec"]["initContainers"]
        assert init["command"] == ["python", "-m", "serving.secrets_env", "--out", "/run/llmops/secrets/env"]
        ray = container(template)
        assert ray["args"] == ["set -a && . /run/llmops/secrets/env && set +a"]
        assert {"name": "llmops-secrets", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}} in template["spec"]["volumes"]
        assert all("valueFrom" not in e and e["name"] != "LLMOPS_PG_DSN" for e in ray["env"])  # ... never the value


def test_pod_identity_role_reads_only_the_named_buckets_secrets_and_keys(internal: Recorded[ServingPlane]) -> None:
    association = internal.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "us-east-1-serving-ray")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("llmops-serving", "ray-serving")
    statements = {s["Sid"]: s for s in policy_of(internal, "us-east-1-serving-ray")["Statement"]}
    assert statements == {
        "ListNamedBuckets": {"Sid": "ListNamedBuckets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": sorted([DOCS, MODELS])},
        "ReadNamedBuckets": {"Sid": "ReadNamedBuckets", "Effect": "Allow", "Action": "s3:GetObject", "Resource": [f"{DOCS}/*", f"{MODELS}/*"]},
        "ReadNamedSecrets": {"Sid": "ReadNamedSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [PG]},
        "DecryptWithNamedKeys": {"Sid": "DecryptWithNamedKeys", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": [KEY]},
    }
    nothing = plane(base_args(secret_env={}, access=AccessArgs(), exposure=None))
    assert not [r for r in nothing.of_type("aws:iam/role:Role") if r.name == "us-east-1-serving-ray"]


def test_model_copy_job_writes_only_its_prefix_and_runs_before_the_rayservice() -> None:
    prefix = "models/Qwen/Qwen2.5-7B-Instruct/" + "b" * 40 + "/"
    copy = ModelCopyArgs(
        model_id="Qwen/Qwen2.5-7B-Instruct", revision="b" * 40, bucket_name="llmops-dev-models", bucket_arn=MODELS,
        prefix=prefix, hub_token=SecretRef(HUB), kms_key_arn=KEY,
    )
    recorded = plane(base_args(model_copy=copy, exposure=None))
    job = recorded.one("kubernetes:batch/v1:Job")
    command = job.inputs["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == [
        "python", "-m", "serving.model_store", "copy", "--model-id", "Qwen/Qwen2.5-7B-Instruct", "--revision", "b" * 40,
        "--s3-uri", f"s3://llmops-dev-models/{prefix}", "--token-secret-arn", HUB,
    ]
    assert job.inputs["spec"]["template"]["spec"]["serviceAccountName"] == "model-copy"
    assert job.inputs["spec"]["template"]["spec"]["nodeSelector"] == {"llmops.io/pool": "llmops-cpu"}
    write = {s["Sid"]: s for s in policy_of(recorded, "us-east-1-serving-model-copy")["Statement"]}
    assert write["WriteModelPrefix"]["Resource"] == f"{MODELS}/{prefix}*"
    assert write["ListModelPrefix"]["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    assert write["ReadHubToken"]["Resource"] == [HUB]
    assert job.urn in recorded.one(RAYSERVICE).dependencies


MASTER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-1234-AbCdEf"
ADMIN = "arn:aws:iam::123456789012:policy/us-east-1-vectors-admin-0a1b2c"
CONNECT = "arn:aws:iam::123456789012:policy/us-east-1-vectors-connect-3d4e5f"


def migrations(**changes: Any) -> MigrationsArgs:
    return dataclasses.replace(
        MigrationsArgs(master_secret_arn=MASTER, admin_policy_arn=ADMIN, env={"PGHOST": "db.example", "PGPORT": "5432"}), **changes
    )


def test_migrations_job_alone_reads_the_master_secret_and_runs_before_the_rayservice() -> None:
    recorded = plane(
        base_args(
            migrations=migrations(),
            secret_env={},
            access=AccessArgs(read_bucket_arns={"documents": DOCS}, policy_arns={"vectors": CONNECT}),
            exposure=None,
        )
    )
    job = recorded.one("kubernetes:batch/v1:Job", "us-east-1-serving-migrations")
    pod = job.inputs["spec"]["template"]["spec"]
    (migrate,) = pod["containers"]
    env = {e["name"]: e["value"] for e in migrate["env"]}
    assert migrate["command"] == ["python", "-m", "serving.migrate", "--serve-config-env", "LLMOPS_SERVE_CONFIG"]
    assert env == {
        "AWS_REGION": "us-east-1", "LLMOPS_SERVE_CONFIG": "applications: []\n", "LLMOPS_PG_MASTER_SECRET_ARN": MASTER,
        "PGHOST": "db.example", "PGPORT": "5432",
    }
    assert (pod["serviceAccountName"], pod["restartPolicy"], pod["nodeSelector"]) == ("vector-store-migrations", "Never", SYSTEM)
    assert migrate["securityContext"]["readOnlyRootFilesystem"] is True and pod["securityContext"]["runAsNonRoot"] is True
    assert job.inputs["metadata"]["name"].startswith("migrate-")
    # its own role: the store's admin policy (the master secret), nothing else
    grant = recorded.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "us-east-1-serving-migrations-attach-admin")
    assert grant.inputs["policyArn"] == ADMIN
    association = recorded.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "us-east-1-serving-migrations")
    assert association.inputs["serviceAccount"] == "vector-store-migrations"
    assert {grant.urn, association.urn} <= set(job.dependencies)
    assert job.urn in recorded.one(RAYSERVICE).dependencies
    # the pods' role: the store's connect policy, and no secret at all
    ray = recorded.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "us-east-1-serving-ray-attach-vectors")
    assert ray.inputs["policyArn"] == CONNECT
    assert "ReadNamedSecrets" not in {s["Sid"] for s in policy_of(recorded, "us-east-1-serving-ray")["Statement"]}
    head = spec(recorded)["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]
    assert "initContainers" not in head  # nothing to read from Secrets Manager


def test_a_new_image_or_serve_config_is_a_new_migrations_job() -> None:
    from components.serving_plane.manifests import migrations_job_name

    first = migrations_job_name(IMAGE, "applications: []\n")
    assert first == migrations_job_name(IMAGE, "applications: []\n")
    assert first != migrations_job_name(IMAGE.replace("@sha256:" + IMAGE.rsplit(":", 1)[1], "@sha256:" + "d" * 64), "applications: []\n")
    assert first != migrations_job_name(IMAGE, "applications: [{name: other}]\n")


# --------------------------------------------------------------------------- exposure


def test_internal_exposure_is_an_nlb_bound_to_the_serve_service(internal: Recorded[ServingPlane]) -> None:
    balancer = internal.one("aws:lb/loadBalancer:LoadBalancer")
    assert (balancer.inputs["loadBalancerType"], balancer.inputs["internal"], balancer.inputs["enableCrossZoneLoadBalancing"]) == ("network", True, True)
    assert balancer.inputs["subnets"] == ["subnet-a", "subnet-b"] and balancer.inputs["name"] == "llmops-dev-us-east-1"
    assert balancer.inputs["accessLogs"]["enabled"] is True
    group = internal.one("aws:lb/targetGroup:TargetGroup")
    assert (group.inputs["targetType"], group.inputs["protocol"], group.inputs["port"]) == ("ip", "TCP", 8000)
    assert group.inputs["healthCheck"]["path"] == "/-/healthz" and group.inputs["healthCheck"]["protocol"] == "HTTP"
    (listener,) = internal.of_type("aws:lb/listener:Listener")
    assert (listener.inputs["protocol"], listener.inputs["port"]) == ("TCP", 80)
    binding = internal.one("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
    assert binding.inputs["spec"] == {
        "serviceRef": {"name": "llmops-serve-svc", "port": 8000},
        "targetGroupARN": group.outputs["arn"],
        "targetType": "ip",
        "vpcID": "vpc-0123",
    }
    ingress = {(r.inputs.get("cidrIpv4"), r.inputs.get("referencedSecurityGroupId"), r.inputs["fromPort"]) for r in internal.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")}
    lb_group = internal.one("aws:ec2/securityGroup:SecurityGroup").id
    assert ingress == {("10.10.0.0/16", None, 80), (None, lb_group, 8000)}
    alarm = internal.one("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == ("AWS/NetworkELB", "HealthyHostCount")
    assert alarm.inputs["dimensions"] == {"LoadBalancer": balancer.outputs["arnSuffix"], "TargetGroup": group.outputs["arnSuffix"]}
    controller = internal.one("kubernetes:helm.sh/v3:Release", "us-east-1-serving-lb-controller")
    assert (controller.inputs["chart"], controller.inputs["version"]) == ("aws-load-balancer-controller", "3.5.0")
    values = controller.inputs["values"]
    assert (values["clusterName"], values["region"], values["vpcId"], values["enableServiceMutatorWebhook"]) == (
        "llmops-dev-us-east-1", "us-east-1", "vpc-0123", False,
    )
    identity = internal.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "us-east-1-serving-lb-controller")
    assert (identity.inputs["namespace"], identity.inputs["serviceAccount"]) == ("kube-system", "aws-load-balancer-controller")


def test_load_balancer_controller_policy_is_upstreams_narrowed_to_the_region(internal: Recorded[ServingPlane]) -> None:
    upstream = load_balancer_controller_document()["Statement"]
    assert len(upstream) == 16
    statements = policy_of(internal, "us-east-1-serving-lb-controller")["Statement"]
    upstream_actions = sorted(a for s in upstream for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    actions = sorted(a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))
    assert actions == upstream_actions
    for statement in statements:
        unconditioned = "Condition" not in statement
        assert not unconditioned or all(a.startswith("iam:") for a in statement["Action"]), statement


def test_public_exposure_is_an_https_alb_behind_waf() -> None:
    public = ExposureArgs(
        scheme="internet-facing", vpc_id="vpc-0123", subnet_ids=["subnet-pa", "subnet-pb"], node_security_group_id="sg-nodes",
        load_balancer_name="llmops-prod-us-east-1", certificate=CertificateArgs("llm.example.com", "Z0761438V1CZ8EXAMPLE"),
        deletion_protection=True,
    )
    recorded = plane(base_args(exposure=public))
    balancer = recorded.one("aws:lb/loadBalancer:LoadBalancer")
    assert (balancer.inputs["loadBalancerType"], balancer.inputs["internal"]) == ("application", False)
    assert balancer.inputs["dropInvalidHeaderFields"] is True and balancer.inputs["enableDeletionProtection"] is True
    listeners = {r.inputs["port"]: r.inputs for r in recorded.of_type("aws:lb/listener:Listener")}
    assert listeners[443]["protocol"] == "HTTPS" and listeners[443]["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listeners[443]["certificateArn"] == recorded.one("aws:acm/certificateValidation:CertificateValidation").outputs["certificateArn"]
    assert listeners[80]["defaultActions"] == [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    certificate = recorded.one("aws:acm/certificate:Certificate")
    assert (certificate.inputs["domainName"], certificate.inputs["validationMethod"]) == ("llm.example.com", "DNS")
    validation = recorded.one("aws:route53/record:Record")
    assert validation.inputs["zoneId"] == "Z0761438V1CZ8EXAMPLE" and validation.inputs["allowOverwrite"] is True
    acl = recorded.one("aws:wafv2/webAcl:WebAcl")
    assert acl.inputs["scope"] == "REGIONAL"
    rules = {r["name"]: r for r in acl.inputs["rules"]}
    assert set(rules) == {"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet", "rate-limit-per-ip"}
    overrides = rules["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert [o["name"] for o in overrides] == ["SizeRestrictions_BODY"]
    assert rules["rate-limit-per-ip"]["statement"]["rateBasedStatement"] == {"limit": 2000, "aggregateKeyType": "IP"}
    association = recorded.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.inputs["resourceArn"] == balancer.outputs["arn"]
    open_ports = sorted(r.inputs["fromPort"] for r in recorded.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r.inputs.get("cidrIpv4") == "0.0.0.0/0")
    assert open_ports == [80, 443]
    encryption = recorded.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"  # what ALB log delivery takes
    # the API's Prometheus metrics never leave through the public listener
    https = next(r for r in recorded.of_type("aws:lb/listener:Listener") if r.inputs["protocol"] == "HTTPS")
    rule = recorded.one("aws:lb/listenerRule:ListenerRule")
    assert rule.inputs["listenerArn"] == https.outputs["arn"] and rule.inputs["priority"] == 1
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/metrics", "/metrics/*"]}}]
    assert rule.inputs["actions"][0]["type"] == "fixed-response" and rule.inputs["actions"][0]["fixedResponse"]["statusCode"] == "404"


def test_registered_outputs_are_what_alerting_and_the_entry_read(internal: Recorded[ServingPlane]) -> None:
    component: Registration = internal.one("llmops:serving:ServingPlane")
    outputs = internal.outputs_of(component)
    assert set(outputs) == {
        "namespace", "rayServiceName", "serveServiceName", "servePort", "metricsPort", "roleArn", "loadBalancerArn",
        "loadBalancerArnSuffix", "loadBalancerDnsName", "loadBalancerZoneId", "targetGroupArn", "targetGroupArnSuffix",
        "healthAlarmName", "endpoint",
    }
    assert (outputs["namespace"], outputs["rayServiceName"], outputs["servePort"], outputs["metricsPort"]) == ("llmops-serving", "llmops", 8000, 8080)
    assert outputs["loadBalancerArnSuffix"].startswith("net/llmops-dev-us-east-1/")
    assert outputs["endpoint"].startswith("http://internal-llmops-dev-us-east-1-")
    assert outputs["healthAlarmName"] == "llmops-dev-us-east-1-no-healthy-targets"
    children = {r.parent for r in internal.resources.values() if r.type != "llmops:serving:ServingPlane" and not r.type.startswith("pulumi:providers:")}
    assert children == {component.urn}


# --------------------------------------------------------------------------- validation


def test_arguments_are_validated_all_at_once_before_anything_is_created() -> None:
    bad = base_args(
        name="LLMOps_Service",
        image="rayproject/ray:2.60.0-py311-gpu",
        head=HeadArgs(instance_types=("m7i.large",), node_selector=SYSTEM, cpu=4.0, memory_gib=2.0),
        gpu_workers=(pool("cpu", ("g5.xlarge",), 0, 1), dataclasses.replace(pool("big", ("g5.xlarge",), 0, 1), memory_gib=64.0)),
        secret_env={"bad-name": SecretRef(PG)},
        exposure=dataclasses.replace(base_args().exposure, client_cidrs=()),  # type: ignore[arg-type]
        access=AccessArgs(policy_arns={"Vectors DB": CONNECT}),
        migrations=migrations(env={"PG-HOST": "db"}, active_deadline_seconds=5),
    )
    with pytest.raises(ValueError) as error:
        bad.validate()
    message = str(error.value)
    for expected in (
        "ServingPlaneArgs.name: 'LLMOps_Service' must be a DNS-1035 label",
        "ServingPlaneArgs.image: 'rayproject/ray:2.60.0-py311-gpu' must name the image by digest",
        "ServingPlaneArgs.head: the pod requests 4200m CPU",
        "ServingPlaneArgs.gpu_workers: group name 'cpu'",
        "ServingPlaneArgs.gpu_workers[big]: the pod requests 3000m CPU, 65536Mi memory, more than the smallest node type leaves",
        "ServingPlaneArgs.secret_env: 'bad-name' is not an environment variable name",
        "ServingPlaneArgs.exposure.client_cidrs: list the ranges",
        "ServingPlaneArgs.access.policy_arns: key 'Vectors DB' must be lowercase letters, digits and '-'",
        "ServingPlaneArgs.migrations.env: 'PG-HOST' is not an environment variable name",
        "ServingPlaneArgs.migrations.active_deadline_seconds: must be >= 60",
    ):
        assert expected in message, message
    with pytest.raises(ValueError, match="invalid ServingPlaneArgs"):
        plane(bad)


def test_the_serve_config_is_the_rayservices_serve_config_v2() -> None:
    document = yaml.safe_dump({"applications": [{"name": "llmops", "route_prefix": "/", "import_path": "serving.app:build_app"}]})
    recorded = plane(base_args(serve_config=document, exposure=None))
    assert spec(recorded)["serveConfigV2"] == document
