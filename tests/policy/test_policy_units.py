"""Direct-call unit tests: validators called with the analyzer's own argument objects (props
behind the SDK's unknown-checking proxy), no gRPC. Fast, and they pin exact messages."""

from __future__ import annotations

import json

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from policies.common import context, props
from policies.common.settings import Setting, config_schema, resolve
from policies.cost import budget, gpu, pools, regions, tagging
from policies.cost.estimate import MonthlyEstimate
from policies.cost.stackinfo import StackIndex
from policies.security import (
    cluster,
    compute,
    credentials,
    encryption,
    identity,
    network,
    resilience,
    storage,
    transit,
)
from tests.policy.support_policy import (
    TAGS,
    aws_provider,
    collect,
    policy_resource,
    resource_args,
    stack_args,
)

# --------------------------------------------------------------------------- helpers


def test_props_decode_and_get_handle_json_text_and_proxies() -> None:
    args = resource_args("x:y:Z", {"a": {"b": [1, {"c": "d"}]}, "doc": '{"k": [1, 2]}'})
    assert props.get(args.props, "a", "b", 1, "c") == "d"
    assert props.get(args.props, "doc", "k", 1) == 2
    assert props.get(args.props, "a", "missing", default="x") == "x"
    assert props.strings("one") == ["one"] and props.strings('["a", "b"]') == ["a", "b"]
    assert props.flag("true") is True and props.flag(False) is False and props.flag("maybe") is None
    assert props.number("2.5") == 2.5 and props.number(True) is None


def test_plain_copies_proxies_into_dicts_and_lists_and_still_meets_unknowns() -> None:
    value = {"a": {"b": [1.0, {"c": "d", "e": None, "f": True}], "g": b"x"}, "h": [], "i": {}}
    copied = props.plain(resource_args("x:y:Z", value).props)
    assert copied == value
    assert (
        type(copied) is dict
        and type(copied["a"]["b"]) is list
        and type(copied["a"]["b"][1]) is dict
    )
    unknown = resource_args("x:y:Z", {"a": {"b": [1, UNKNOWN_STRING_VALUE]}})
    with pytest.raises(UnknownValueError):
        props.plain(unknown.props)


def test_unknown_values_raise_the_sdk_error_for_the_analyzer_to_report() -> None:
    args = resource_args(
        "aws:eks/cluster:Cluster", {"enabledClusterLogTypes": UNKNOWN_STRING_VALUE}
    )
    with pytest.raises(UnknownValueError):
        collect(cluster.validate_eks_control_plane_logging, args)


def test_tags_and_environment_resolution() -> None:
    provider = aws_provider(tags={**TAGS, "Environment": "Prod"})
    args = resource_args("aws:s3/bucket:Bucket", {"tags": {"Owner": "me"}}, provider=provider)
    tags = context.effective_tags(args.props, args.provider)
    assert tags["Owner"] == "me" and tags["CostCenter"] == "cc"
    assert context.environment_of(args.props, args.provider, {}) == "prod"
    untagged = resource_args(
        "kubernetes:karpenter.sh/v1:NodePool",
        {"metadata": {"labels": {"llmops.io/environment": "staging"}}},
    )
    assert context.environment_of(untagged.props, None, {"environment": "dev"}) == "staging"
    assert context.environment_of({}, None, {"environment": "dev"}) == "dev"
    assert context.environment_of({}, None, {}) is None


def test_settings_resolve_defaults_and_coerce_protobuf_floats() -> None:
    limit = Setting("maxGpus", {"type": "integer", "minimum": 0}, 8, "limit")
    names = Setting("names", {"type": "array", "items": {"type": "string"}}, ["a"], "names")
    assert config_schema(limit).properties["maxGpus"] == {
        "type": "integer",
        "minimum": 0,
        "default": 8,
        "description": "limit",
    }
    resolved = resolve(resource_args("t:t:T", {}, config={"maxGpus": 4.0}), limit, names)
    assert resolved == {"maxGpus": 4, "names": ["a"]} and isinstance(resolved["maxGpus"], int)
    resolved["names"].append("b")  # defaults are copies, never shared
    assert names.default == ["a"]


# --------------------------------------------------------------------------- security


def test_kms_encryption_reports_each_unencrypted_device() -> None:
    args = resource_args(
        "aws:ec2/launchTemplate:LaunchTemplate",
        {
            "blockDeviceMappings": [
                {"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}},
                {"deviceName": "/dev/xvdb", "ebs": {"encrypted": "true"}},
            ]
        },
        name="gpu",
    )
    assert collect(encryption.validate_kms_encryption_at_rest, args) == [
        (
            "LaunchTemplate 'gpu': /dev/xvda is not encrypted; set ebs.encrypted='true' and ebs.kms_key_id to a customer-managed KMS key ARN.",
            None,
        )
    ]
    cmk = resource_args(
        "aws:rds/cluster:Cluster",
        {"storageEncrypted": True},
        config={"requireCustomerManagedKey": True},
    )
    assert (
        "customer-managed KMS key" in collect(encryption.validate_kms_encryption_at_rest, cmk)[0][0]
    )
    assert (
        collect(
            encryption.validate_kms_encryption_at_rest,
            resource_args("aws:rds/cluster:Cluster", {"storageEncrypted": True}),
        )
        == []
    )
    assert (
        collect(encryption.validate_kms_encryption_at_rest, resource_args("aws:ec2/vpc:Vpc", {}))
        == []
    )


def test_kms_rotation_and_tls() -> None:
    assert (
        len(collect(encryption.validate_kms_key_rotation, resource_args("aws:kms/key:Key", {})))
        == 1
    )
    assert (
        collect(
            encryption.validate_kms_key_rotation,
            resource_args("aws:kms/key:Key", {"enableKeyRotation": True}),
        )
        == []
    )
    rg = resource_args(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        {"transitEncryptionEnabled": False},
        name="c",
    )
    assert collect(transit.validate_tls_in_transit, rg) == [
        (
            "ReplicationGroup 'c': clients may connect without TLS; set transit_encryption_enabled=True.",
            None,
        )
    ]


def test_public_data_stores_and_eks_endpoint() -> None:
    public = resource_args("aws:rds/instance:Instance", {"publiclyAccessible": True}, name="db")
    assert collect(network.validate_no_public_data_stores, public)[0][0].startswith(
        "Instance 'db' is publicly accessible"
    )
    eks = resource_args(
        "aws:eks/cluster:Cluster",
        {"vpcConfig": {"endpointPrivateAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
    )
    assert "whole internet" in collect(cluster.validate_eks_endpoint_restricted, eks)[0][0]
    allowed = resource_args(
        "aws:eks/cluster:Cluster",
        {"vpcConfig": {"endpointPrivateAccess": True, "publicAccessCidrs": ["10.1.2.0/24"]}},
        config={"allowedPublicAccessCidrs": ["10.0.0.0/8"]},
    )
    assert collect(cluster.validate_eks_endpoint_restricted, allowed) == []


def test_public_ingress_exempts_only_public_load_balancer_listener_ports() -> None:
    sg = policy_resource(
        "aws:ec2/securityGroup:SecurityGroup",
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]},
                {"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrBlocks": ["0.0.0.0/0"]},
            ]
        },
        name="alb",
    )
    lb = policy_resource("aws:lb/loadBalancer:LoadBalancer", {"internal": False}, name="api")
    lb.property_dependencies["securityGroups"] = [sg]
    found = collect(network.validate_no_public_ingress, stack_args([sg, lb]))
    assert [urn for _, urn in found] == [sg.urn]
    assert "tcp 8080 from 0.0.0.0/0" in found[0][0]
    only_443 = collect(
        network.validate_no_public_ingress,
        stack_args([sg, lb], {"publicLoadBalancerPorts": [443, 8080]}),
    )
    assert only_443 == []


def test_imds_iam_and_secrets() -> None:
    lt = resource_args("aws:ec2/launchTemplate:LaunchTemplate", {}, name="lt")
    assert collect(compute.validate_imdsv2_required, lt)[0][0].startswith(
        "LaunchTemplate 'lt' allows IMDSv1"
    )
    doc = json.dumps({"Statement": {"Effect": "Allow", "Action": "*:*", "Resource": "*"}})
    assert (
        len(
            collect(
                identity.validate_iam_no_wildcard_actions,
                resource_args("aws:iam/policy:Policy", {"policy": doc}),
            )
        )
        == 1
    )
    assert (
        len(
            collect(
                identity.validate_iam_no_admin,
                resource_args("aws:iam/rolePolicy:RolePolicy", {"policy": doc}),
            )
        )
        == 1
    )
    # Standalone policies are held to the same rule as inline ones.
    assert (
        len(
            collect(
                identity.validate_iam_no_admin,
                resource_args("aws:iam/policy:Policy", {"policy": doc}),
            )
        )
        == 1
    )
    full_iam = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "iam:*",
                    "Resource": "arn:aws:iam::123456789012:role/x",
                }
            ]
        }
    )
    found = collect(
        identity.validate_iam_no_privilege_escalation,
        resource_args("aws:iam/policy:Policy", {"policy": full_iam}, name="p"),
    )
    assert [m for m, _ in found] == [
        "'p' policy allows privilege escalation: full IAM access (\"iam:*\"), so it can grant itself anything; scope the actions "
        "to the specific roles, users and policies the workload manages (and iam:PassRole to the one role it hands on)."
    ]
    words = credentials.SECRET_WORDS.default
    assert credentials.looks_secret("OPENAI_API_KEY", words, [])
    assert credentials.looks_secret("hfToken", words, [])
    assert not credentials.looks_secret("TOKENIZERS_PARALLELISM", words, [])
    assert not credentials.looks_secret("DB_SECRET_ARN", words, [])
    assert not credentials.looks_secret("HF_TOKEN", words, ["hf_token"])
    for name in (
        "TOKEN_LIMIT",
        "PASSWORD_MIN_LENGTH",
        "AUTH_TOKEN_TTL_SECONDS",
        "DB_SECRET_ID",
        "MAX_TOKENS",
    ):
        assert not credentials.looks_secret(name, words, []), name
    # A secret-sounding name with a value no secret takes (a number, a flag, a path) passes.
    assert (
        credentials.plaintext_secret_problems(
            "aws:lambda/function:Function",
            {"environment": {"variables": {"PWD": "/app", "NO_AUTH": "true"}}},
            words,
            [],
        )
        == []
    )
    for name in (
        "PGPASSWORD",
        "REDIS_AUTH",
        "DB_PASS",
        "openaiApiKey",
        "CLIENT_SECRET",
        "MYSQL_PWD",
    ):
        assert credentials.looks_secret(name, words, []), name


def test_environment_scoped_resilience_policies() -> None:
    prod = aws_provider(tags={**TAGS, "Environment": "prod"})
    db = {"engine": "aurora-postgresql"}
    assert (
        len(
            collect(
                resilience.validate_deletion_protection,
                resource_args("aws:rds/cluster:Cluster", db, provider=prod),
            )
        )
        == 1
    )
    assert (
        collect(
            resilience.validate_deletion_protection,
            resource_args("aws:rds/cluster:Cluster", db, provider=aws_provider(tags=TAGS)),
        )
        == []
    )
    staging_too = resource_args(
        "aws:rds/cluster:Cluster",
        db,
        provider=aws_provider(tags={**TAGS, "Environment": "staging"}),
        config={"environments": ["staging", "prod"]},
    )
    assert len(collect(resilience.validate_backups, staging_too)) == 1


def test_s3_baseline_links_controls_by_bucket_name() -> None:
    bucket = policy_resource("aws:s3/bucket:Bucket", {"bucket": "docs"}, name="docs")
    versioning = policy_resource(
        "aws:s3/bucketVersioning:BucketVersioning",
        {"bucket": "docs", "versioningConfiguration": {"status": "Enabled"}},
    )
    found = collect(storage.validate_s3_bucket_baseline, stack_args([bucket, versioning]))
    assert len(found) == 3 and all(urn == bucket.urn for _, urn in found)
    assert not any("not versioned" in m for m, _ in found)


# --------------------------------------------------------------------------- cost


def test_gpu_pool_model_reads_node_groups_and_node_pools() -> None:
    group = pools.gpu_pool(
        "aws:eks/nodeGroup:NodeGroup",
        {
            "instanceTypes": ["g5.xlarge", "g5.12xlarge"],
            "capacityType": "SPOT",
            "scalingConfig": {"minSize": 0.0, "maxSize": 3.0},
        },
    )
    assert (
        group is not None
        and group.capacity_types == ("spot",)
        and group.max_gpus_per_node == 4
        and group.max_gpus == 12
    )
    node_pool = pools.gpu_pool(
        "kubernetes:karpenter.sh/v1:NodePool",
        {
            "metadata": {"annotations": {"llmops.io/max-nodes": "10", "llmops.io/min-nodes": "0"}},
            "spec": {
                "template": {
                    "spec": {
                        "requirements": [
                            {
                                "key": "node.kubernetes.io/instance-type",
                                "operator": "In",
                                "values": ["g6e.xlarge"],
                            }
                        ]
                    }
                },
                "limits": {"nvidia.com/gpu": "3"},
            },
        },
    )
    assert (
        node_pool is not None
        and node_pool.capacity_types == ("on-demand",)
        and node_pool.max_gpus == 3
        and node_pool.min_nodes == 0
    )
    assert pools.gpu_pool("aws:eks/nodeGroup:NodeGroup", {"instanceTypes": ["m7i.large"]}) is None


def test_gpu_policies_direct() -> None:
    dev = aws_provider(tags=TAGS)
    p5 = resource_args(
        "aws:eks/nodeGroup:NodeGroup",
        {"instanceTypes": ["p5.48xlarge"], "scalingConfig": {"minSize": 1, "maxSize": 1}},
        name="h100",
        provider=dev,
    )
    assert collect(gpu.validate_gpu_instance_types, p5)[0][0].startswith(
        "NodeGroup 'h100' uses p5.48xlarge"
    )
    assert collect(gpu.validate_gpu_spot, p5) == [
        ("NodeGroup 'h100' buys on-demand capacity; set capacity_type='SPOT'.", None)
    ]
    assert "keeps 1 GPU node(s)" in collect(gpu.validate_gpu_scale_to_zero, p5)[0][0]
    assert collect(gpu.validate_gpu_pool_max, p5) == []  # 8 GPUs, default limit 16
    assert (
        len(
            collect(
                gpu.validate_gpu_pool_max,
                resource_args(p5.resource_type, dict(p5.props), config={"maxGpusPerPool": 4}),
            )
        )
        == 1
    )
    assert gpu.allowed("g6e.12xlarge", ["g6e.*"]) and not gpu.allowed(
        "p5.48xlarge", ["g6e.*", "p4d.24xlarge"]
    )


def test_stack_index_finds_the_region_of_kubernetes_resources_through_their_parent() -> None:
    component = policy_resource("llmops:cluster:GpuCluster", {}, name="c")
    eks = policy_resource(
        "aws:eks/cluster:Cluster", {}, name="eks", provider=aws_provider("eu-west-1")
    )
    node_pool = policy_resource("kubernetes:karpenter.sh/v1:NodePool", {}, name="np")
    eks.parent = component
    node_pool.parent = component
    assert StackIndex([component, eks, node_pool]).region(node_pool) == "eu-west-1"


def test_tags_regions_and_budget_direct() -> None:
    bucket = resource_args(
        "aws:s3/bucket:Bucket", {}, name="b", provider=aws_provider(tags={"Project": "p"})
    )
    assert (
        "Stack, Environment, Owner, CostCenter"
        in collect(tagging.validate_cost_allocation_tags, bucket)[0][0]
    )
    assert (
        collect(
            tagging.validate_cost_allocation_tags,
            resource_args("aws:ec2/route:Route", {}, provider=aws_provider()),
        )
        == []
    )
    provider = policy_resource("pulumi:providers:aws", {"region": "sa-east-1"}, name="aws-sa")
    found = collect(regions.validate_allowed_regions, stack_args([provider]))
    assert (
        found == [(found[0][0], provider.urn)] and "sa-east-1, which is not allowed" in found[0][0]
    )

    def stub(resources: object, usage: object) -> MonthlyEstimate:
        return MonthlyEstimate(min=800.0, expected=2500.0, unpriced=())

    over: list[tuple[str, str | None]] = []
    budget.check_budget(
        stack_args([], {"monthlyBudgetUsd": 2000}), lambda m, u=None: over.append((m, u)), stub
    )
    assert over == [
        (
            "the stack's expected monthly cost is $2,500 (idle floor $800), above the $2,000 limit from the policy "
            "config's monthlyBudgetUsd; lower GPU pool sizes or minimum nodes, use spot capacity, or raise the budget.",
            None,
        )
    ]
    under: list[str] = []
    budget.check_budget(
        stack_args([], {"monthlyBudgetUsd": 2000, "compare": "min"}),
        lambda m, u=None: under.append(m),
        stub,
    )
    assert under == []
    limited = policy_resource(
        "aws:budgets/budget:Budget",
        {"limitAmount": "1000.0", "limitUnit": "USD", "timeUnit": "MONTHLY"},
        name="monthly",
    )
    tight: list[tuple[str, str | None]] = []
    budget.check_budget(
        stack_args([limited], {"monthlyBudgetUsd": 2000}),
        lambda m, u=None: tight.append((m, u)),
        stub,
    )
    assert (
        tight[0][1] == limited.urn
        and "$1,000 limit from the stack's budget 'monthly'" in tight[0][0]
    )
