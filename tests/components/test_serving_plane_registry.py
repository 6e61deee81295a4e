"""``ContainerRegistry``: the serving image's repository (immutable tags, scan on push, KMS,
lifecycle) and its replication through per-region creation templates."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components.registry import ContainerRegistry, ContainerRegistryArgs, lifecycle_policy
from tests.harness import Recorded, run


def registry(replicas: tuple[str, ...] = ("us-west-2", "eu-west-1"), pulls: tuple[str, ...] = ()) -> Recorded[ContainerRegistry]:
    def build() -> ContainerRegistry:
        home = aws.Provider("aws-us-east-1", region="us-east-1")
        providers = {r: aws.Provider(f"aws-{r}", region=r) for r in replicas}
        return ContainerRegistry(
            "serving-image",
            ContainerRegistryArgs(region="us-east-1", replicate_to=providers, pull_account_ids=pulls),
            opts=pulumi.ResourceOptions(providers=[home]),
        )

    return run(build)


def test_repository_keeps_tags_immutable_scans_on_push_and_encrypts_with_its_key() -> None:
    recorded = registry(())
    repository = recorded.one("aws:ecr/repository:Repository")
    assert repository.inputs["name"] == "llmops-serving"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    key = recorded.one("aws:kms/key:Key")
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key.outputs["arn"]}]
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    assert statements["ImagesThroughEcr"]["Condition"]["StringEquals"]["kms:ViaService"] == "ecr.us-east-1.amazonaws.com"
    rules = json.loads(recorded.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])["rules"]
    assert [(r["selection"]["tagStatus"], r["selection"]["countType"], r["selection"]["countNumber"]) for r in rules] == [
        ("untagged", "sinceImagePushed", 7),
        ("any", "imageCountMoreThan", 300),
    ]
    assert not recorded.of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    assert not recorded.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")  # no other account pulls


def test_other_accounts_pull_from_the_repository_and_its_replicas_and_do_nothing_else() -> None:
    recorded = registry(("us-west-2",), pulls=("444455556666", "777788889999"))
    repository = recorded.one("aws:ecr/repository:Repository")
    policy = recorded.one("aws:ecr/repositoryPolicy:RepositoryPolicy")
    assert policy.inputs["repository"] == repository.outputs["name"]
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == {
        "AWS": ["arn:aws:iam::444455556666:root", "arn:aws:iam::777788889999:root"]
    }
    assert sorted(statement["Action"]) == ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    template = recorded.one("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert template.inputs["repositoryPolicy"] == policy.inputs["policy"]  # replicas grant the same pulls


def test_replication_reaches_every_replica_region_through_its_template() -> None:
    recorded = registry()
    (replication,) = recorded.of_type("aws:ecr/replicationConfiguration:ReplicationConfiguration")
    (rule,) = replication.inputs["replicationConfiguration"]["rules"]
    assert [d["region"] for d in rule["destinations"]] == ["eu-west-1", "us-west-2"]
    assert rule["repositoryFilters"] == [{"filter": "llmops-serving", "filterType": "PREFIX_MATCH"}]
    templates = {t.name: t for t in recorded.of_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")}
    assert sorted(templates) == ["serving-image-eu-west-1", "serving-image-us-west-2"]
    providers = {p.name: p.urn for p in recorded.resources.values() if p.type == "pulumi:providers:aws"}
    keys = {k.name: k for k in recorded.of_type("aws:kms/key:Key")}
    for region in ("eu-west-1", "us-west-2"):
        template = templates[f"serving-image-{region}"]
        assert template.provider == providers[f"aws-{region}"]
        assert (template.inputs["appliedFors"], template.inputs["imageTagMutability"]) == (["REPLICATION"], "IMMUTABLE")
        key = keys[f"serving-image-{region}-key"]
        assert key.provider == providers[f"aws-{region}"]
        assert template.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key.outputs["arn"]}]
        assert template.inputs["lifecyclePolicy"] == lifecycle_policy(7, 300)
        assert template.urn in replication.dependencies


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"repository": "LLMOps Serving"}, "is not an ECR repository name"),
        ({"keep_images": 3}, "keep at least 10 images"),
        ({"pull_account_ids": ("4444",)}, "'4444' is not a 12-digit AWS account id"),
        ({"pull_account_ids": ("444455556666", "444455556666")}, "an account is listed twice"),
    ],
)
def test_arguments_are_checked_first(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ContainerRegistryArgs(region="us-east-1", **changes).validate()  # type: ignore[arg-type]
