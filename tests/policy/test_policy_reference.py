"""The reference program (tests/policy/programs/reference_platform): every resource type the
platform creates or is about to create. Configured as AWS's guidance asks (stack
``clean``) it gets no violation at all; its twin with one misconfiguration per resource
(stack ``insecure``) gets exactly one finding per misconfiguration, from the policy meant
to catch it."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops.engine import plan
from llmops.policy import PolicyReport, run_policies
from policies import coverage

PROGRAM = Path(__file__).resolve().parent / "programs" / "reference_platform"

# (policy, resource) for each misconfiguration of the insecure stack.
EXPECTED = {
    ("access-logging", "aws:globalaccelerator/accelerator:Accelerator::api"),
    ("data-store-authentication", "aws:elasticache/serverlessCache:ServerlessCache::semantic"),
    ("data-store-authentication", "aws:rds/cluster:Cluster::vectors"),
    ("ecr-repository-baseline", "aws:ecr/repository:Repository::model-server"),
    ("eks-endpoint-restricted", "aws:eks/cluster:Cluster::eks"),
    ("iam-no-admin", "aws:iam/rolePolicyAttachment:RolePolicyAttachment::node"),
    ("iam-no-privilege-escalation", "aws:iam/policy:Policy::deployer"),
    ("iam-no-privilege-escalation", "aws:iam/rolePolicy:RolePolicy::ingest-launch"),
    ("iam-no-unscoped-sensitive-actions", "aws:iam/rolePolicy:RolePolicy::ingest-launch"),
    ("iam-no-unscoped-sensitive-actions", "aws:iam/rolePolicy:RolePolicy::serving-documents"),
    ("iam-trust-policy-restricted", "aws:iam/role:Role::ingest"),
    ("iam-trust-policy-restricted", "aws:iam/role:Role::operator"),
    ("imds-hop-limit", "aws:ec2/launchTemplate:LaunchTemplate::gpu"),
    ("kms-encryption-at-rest", "aws:rds/globalCluster:GlobalCluster::vectors"),
    ("kms-encryption-at-rest", "aws:secretsmanager/secret:Secret::upstream-api-key"),
    ("kms-encryption-at-rest", "aws:sns/topic:Topic::alerts"),
    ("kms-encryption-at-rest", "aws:sqs/queue:Queue::interruptions"),
    ("kms-key-rotation", "aws:kms/key:Key::logs"),
    ("load-balancer-baseline", "aws:lb/loadBalancer:LoadBalancer::api"),
    ("load-balancer-baseline", "aws:lb/targetGroup:TargetGroup::serving"),
    ("load-balancer-tls", "aws:lb/listener:Listener::http"),
    ("load-balancer-tls", "aws:lb/listener:Listener::https"),
    ("log-group-kms-in-prod", "aws:cloudwatch/logGroup:LogGroup::app-logs"),
    ("log-group-retention", "aws:cloudwatch/logGroup:LogGroup::flow-logs"),
    ("monitoring-enabled", "aws:cloudwatch/metricAlarm:MetricAlarm::db-cpu"),
    ("no-plaintext-secrets", "aws:ec2/launchTemplate:LaunchTemplate::system"),
    ("no-public-data-stores", "aws:elasticache/cluster:Cluster::page-cache"),
    ("no-public-data-stores", "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy::vectors-network"),
    ("no-public-data-stores", "aws:rds/clusterInstance:ClusterInstance::vectors-0"),
    ("no-public-ingress", "aws:ec2/securityGroup:SecurityGroup::admin"),
    ("no-public-ingress", "aws:eks/nodeGroup:NodeGroup::system"),
    ("no-public-ip", "aws:ec2/subnet:Subnet::public-0"),
    ("no-public-resource-policies", "aws:ecr/repositoryPolicy:RepositoryPolicy::model-server"),
    ("no-public-resource-policies", "aws:kms/key:Key::data"),
    ("no-public-resource-policies", "aws:lambda/functionUrl:FunctionUrl::ingest"),
    ("no-public-resource-policies", "aws:lambda/permission:Permission::ingest-from-bucket"),
    ("no-public-resource-policies", "aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy::vectors-access"),
    ("no-public-resource-policies", "aws:s3/bucketPolicy:BucketPolicy::models-read"),
    ("no-public-resource-policies", "aws:sns/topicPolicy:TopicPolicy::alerts"),
    ("no-public-resource-policies", "aws:sqs/queuePolicy:QueuePolicy::interruptions"),
    ("rds-tls-required", "aws:rds/cluster:Cluster::vectors"),
    ("route53-no-dangling-records", "aws:route53/record:Record::docs"),
    ("s3-bucket-baseline", "aws:s3/bucket:Bucket::documents"),
    ("s3-bucket-baseline", "aws:s3/bucket:Bucket::logs"),
    ("s3-bucket-baseline", "aws:s3/bucket:Bucket::models"),
    ("secrets-rotation", "aws:secretsmanager/secretRotation:SecretRotation::db-admin"),
    ("security-group-descriptions", "aws:ec2/securityGroup:SecurityGroup::endpoints"),
    ("tls-in-transit", "aws:elasticache/replicationGroup:ReplicationGroup::sessions"),
    ("vpc-baseline", "aws:ec2/route:Route::private-default"),
    ("vpc-baseline", "aws:ec2/vpc:Vpc::vpc"),
    ("waf-on-public-load-balancers-in-prod", "aws:lb/loadBalancer:LoadBalancer::api"),
}
ADVISORY_IN_SHIPPED_CONFIGS: set[str] = set()  # every finding on the components is mandatory


@pytest.fixture(scope="module")
def clean() -> tuple[object, PolicyReport]:
    result = plan("clean", PROGRAM)
    return result, run_policies(result)


@pytest.fixture(scope="module")
def insecure() -> PolicyReport:
    return run_policies(plan("insecure", PROGRAM))


def test_clean_program_has_no_violation(clean: tuple[object, PolicyReport]) -> None:
    _, report = clean
    assert report.environment == "prod" and [p.config.name for p in report.packs if p.config] == ["prod.json", "prod.json"]
    assert report.violations == [], [f"{v.policy} {v.resource}: {v.message}" for v in report.violations]
    assert report.not_checked == [] and report.passed


def test_clean_program_has_every_resource_type_of_the_coverage_table(clean: tuple[object, PolicyReport]) -> None:
    result, _ = clean
    present = {r.type for r in result.resources}  # type: ignore[attr-defined]
    wanted = {types[0] for types in coverage.load().scope.values()}
    # Types the platform keeps but this program has no use for (the packs still check them).
    absent_by_design = {
        "aws:ec2/instance:Instance",
        "aws:ebs/volume:Volume",
        "aws:iam/policyAttachment:PolicyAttachment",
        "aws:rds/instance:Instance",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:opensearch/domain:Domain",
        "aws:elasticsearch/domain:Domain",
        "aws:s3/bucketAcl:BucketAcl",
        "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:secretsmanager/secretPolicy:SecretPolicy",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:alb/loadBalancer:LoadBalancer",
        "aws:alb/listener:Listener",
        "aws:alb/targetGroup:TargetGroup",
        "aws:eks/accessEntry:AccessEntry",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
    }
    assert wanted - present == absent_by_design


def test_insecure_twin_gets_one_finding_per_misconfiguration(insecure: PolicyReport) -> None:
    found = {(v.policy, v.resource) for v in insecure.violations}
    assert found == EXPECTED
    levels = {v.policy: v.level for v in insecure.violations}
    assert {p for p, level in levels.items() if level == "advisory"} == ADVISORY_IN_SHIPPED_CONFIGS
    assert insecure.mandatory_count == len([v for v in insecure.violations if v.level == "mandatory"]) > 40


@pytest.mark.parametrize(
    ("policy", "resource", "text"),
    [
        ("no-public-ingress", "aws:ec2/securityGroup:SecurityGroup::admin", "tcp 22 from 0.0.0.0/1, 128.0.0.0/1 (together 0.0.0.0/0)"),
        ("eks-endpoint-restricted", "aws:eks/cluster:Cluster::eks", "whole internet"),
        ("no-plaintext-secrets", "aws:ec2/launchTemplate:LaunchTemplate::system", "'PGPASSWORD'"),
        ("no-public-resource-policies", "aws:s3/bucketPolicy:BucketPolicy::models-read", "(aws:Referer) restricts nothing"),
        ("iam-trust-policy-restricted", "aws:iam/role:Role::ingest", ':sub" condition'),
        ("route53-no-dangling-records", "aws:route53/record:Record::docs", "reference-docs.s3-website-us-east-1.amazonaws.com"),
        ("s3-bucket-baseline", "aws:s3/bucket:Bucket::logs", "BucketOwnerEnforced"),
    ],
)
def test_insecure_findings_say_what_and_how_to_fix(insecure: PolicyReport, policy: str, resource: str, text: str) -> None:
    messages = [v.message for v in insecure.violations if v.policy == policy and v.resource == resource]
    assert any(text in m for m in messages), messages
