"""The right account and a clean teardown: every provider is limited to the stack's account,
account-wide resources do not collide when stacks share an account, ``pulumi destroy``
removes Karpenter's nodes before the controller that terminates them, and what holds data is
kept where the environment says so and removed everywhere else."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from components.account import AccountBaseline, AccountBaselineArgs, spot_role_arn
from components.cluster import (
    ApiAccessArgs,
    EksClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
)
from components.network import Network, NetworkArgs
from llmops.engine import load_project, load_stack_config, plan
from llmops.engine.report import plan_document
from stacks.config import namespace_values, parse
from stacks.platform import DATA_PROFILES, PROFILES
from stacks.preflight import ACCOUNT_SINGLETON_TYPES, singleton_owners
from tests.harness import aws_provider, run
from tests.support import REPO, of_type, write_project


def shipped_config(stack: str) -> dict[str, Any]:
    return namespace_values(load_stack_config(load_project(REPO), stack).values)


@pytest.mark.parametrize(("stack", "account"), [("dev", "111122223333"), ("prod", "444455556666")])
def test_every_provider_is_limited_to_the_stacks_account(stack: str, account: str, request: pytest.FixtureRequest) -> None:
    document = request.getfixturevalue(f"{stack}_document")
    providers = of_type(document, "pulumi:providers:aws")
    assert providers
    for provider in providers:
        assert json.loads(provider["inputs"]["allowedAccountIds"]) == [account], provider["name"]


def singletons(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The account-wide resources a plan creates, by type and identity."""
    found = []
    for resource in document["resources"]:
        if resource["type"] in ACCOUNT_SINGLETON_TYPES:
            found.append((resource["type"], str(resource["inputs"].get("awsServiceName"))))
    return found


def test_dev_and_prod_planned_into_one_account_create_its_singletons_once(tmp_path: Path) -> None:
    dev = shipped_config("dev")
    prod = shipped_config("prod")
    prod["account"] = {**dev["account"], "singletons": False}  # one account for both; dev owns its singletons
    documents = {}
    for stack, config in (("dev", dev), ("prod", prod)):
        project = write_project(tmp_path / stack, stack=stack, config=config)
        documents[stack] = plan_document(plan(stack, project))
    for document in documents.values():
        for provider in of_type(document, "pulumi:providers:aws"):
            assert json.loads(provider["inputs"]["allowedAccountIds"]) == ["111122223333"]
    created = Counter(item for document in documents.values() for item in singletons(document))
    assert created == {("aws:iam/serviceLinkedRole:ServiceLinkedRole", "spot.amazonaws.com"): 1}
    assert singleton_owners({"dev": parse(dev), "prod": parse(prod)}) == {"111122223333": ["dev"]}
    # had both claimed them, the account would have two owners (llmops doctor fails on that)
    prod["account"]["singletons"] = True
    assert singleton_owners({"dev": parse(dev), "prod": parse(prod)}) == {"111122223333": ["dev", "prod"]}


def test_the_shipped_stacks_give_each_account_one_owner() -> None:
    configs = {stack: parse(shipped_config(stack)) for stack in ("dev", "staging", "prod", "byo")}
    assert singleton_owners(configs) == {"111122223333": ["dev"], "444455556666": ["prod"]}


def test_account_singletons_survive_the_destroy_of_their_stack() -> None:
    recorded = run(lambda: AccountBaseline("account", AccountBaselineArgs(account_id="111122223333"), opts=aws_provider()))
    role = recorded.one("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert role.inputs["awsServiceName"] == "spot.amazonaws.com"
    assert role.retain_on_delete is True
    assert recorded.outputs_of(recorded.one("llmops:account:AccountBaseline"))["spotRoleArn"] == role.outputs["arn"]
    assert spot_role_arn("111122223333") == (
        "arn:aws:iam::111122223333:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot"
    )
    with pytest.raises(ValueError, match=r"AccountBaselineArgs\.account_id"):
        AccountBaselineArgs(account_id="1234").validate()


def test_destroy_removes_node_pools_before_the_controller_and_the_node_class_before_the_node_role(dev_document: dict[str, Any]) -> None:
    names = {r["name"]: r for r in dev_document["resources"]}
    controller = names["us-east-1-karpenter"]
    node_class = names["us-east-1-karpenter-nodeclass-gpu"]
    pool = names["us-east-1-karpenter-nodepool-a10g-spot"]
    # Pulumi deletes dependents first: the NodePool (its nodes) while the controller runs,
    # then the EC2NodeClass (its instance profiles), then the controller, then what it used.
    assert {controller["urn"], node_class["urn"]} <= set(pool["dependencies"])
    assert controller["urn"] in node_class["dependencies"]
    assert names["us-east-1-karpenter-nodes"]["urn"] in node_class["dependencies"]
    attachments = [r["urn"] for r in dev_document["resources"] if r["name"].startswith("us-east-1-karpenter-node-Amazon")]
    assert len(attachments) == 4 and set(attachments) <= set(node_class["dependencies"])
    for needed in ("us-east-1-system", "us-east-1-eks-pod-identity-agent", "us-east-1-karpenter-crd"):
        assert names[needed]["urn"] in controller["dependencies"], needed
    # the GPU software leaves before the nodes it runs on
    namespace = next(r for r in dev_document["resources"] if r["type"] == "kubernetes:core/v1:Namespace")
    assert names["us-east-1-system"]["urn"] in namespace["dependencies"]


def test_environments_decide_what_destroy_keeps() -> None:
    # logs outlive prod; only dev empties its document bucket on destroy (elsewhere a
    # non-empty bucket stops the destroy), and prod's cluster is deletion-protected
    assert {env: (p.retain_logs, DATA_PROFILES[env].force_destroy_documents, p.deletion_protection) for env, p in PROFILES.items()} == {
        "dev": (False, True, False),
        "staging": (False, False, False),
        "prod": (True, False, True),
    }


@pytest.mark.parametrize("retain", [True, False])
def test_log_groups_obey_the_retention_knob(retain: bool) -> None:
    def build() -> None:
        opts = aws_provider()
        network = Network("use1", NetworkArgs(region="us-east-1", cidr="10.60.0.0/16", az_count=2, cluster_name="c", retain_logs=retain), opts=opts)
        GpuCluster(
            "use1",
            GpuClusterArgs(
                region="us-east-1",
                cluster_name="c",
                cluster=EksClusterArgs(
                    private_subnet_ids=network.private_subnet_ids, access=ApiAccessArgs(ssm_bastion=True), retain_logs=retain
                ),
                gpu_pools=(GpuPoolArgs(name="p", instance_types=("g5.xlarge",)),),
            ),
            opts=opts,
        )

    recorded = run(build)
    groups = recorded.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert sorted(g.name for g in groups) == ["use1-control-plane", "use1-flow-logs"]
    assert all(g.retain_on_delete is retain for g in groups)
    # nothing else is kept behind: the rest of the stack goes with it
    kept = {r.name for r in recorded.resources.values() if r.retain_on_delete}
    assert kept == ({"use1-control-plane", "use1-flow-logs"} if retain else set())
    bastion = recorded.one("aws:ec2/instance:Instance")
    assert "ami" in bastion.ignore_changes  # a new AMI never replaces the bastion under an open tunnel


def test_deploys_keep_their_path_and_rights_until_the_last_in_cluster_resource_is_gone(
    prod_document: dict[str, Any], staging_plan: Any
) -> None:
    # pulumi destroy removes what depends on the Kubernetes provider first: every Helm release
    # and custom resource goes while the runners' rule, the tunnel and the access entries stand
    provider = next(r for r in prod_document["resources"] if r["name"] == "us-east-1-k8s")
    rule = next(r for r in prod_document["resources"] if r["name"].startswith("us-east-1-api-from-"))
    ci = [r for r in prod_document["resources"] if r["name"].startswith("us-east-1-ci-")]
    association = next(r for r in ci if r["type"] == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    entry = next(r for r in ci if r["type"] == "aws:eks/accessEntry:AccessEntry")
    assert {rule["urn"], association["urn"]} <= set(provider["dependencies"])
    assert entry["urn"] in association["dependencies"]  # the entry goes after its association
    staging_provider = next(r for r in staging_plan.resources if r.name == "us-east-1-k8s")
    bastion = next(r for r in staging_plan.resources if r.type == "aws:ec2/instance:Instance" and r.region == "us-east-1")
    to_api = next(r for r in staging_plan.resources if r.name == "us-east-1-api-bastion-to-api")
    assert {bastion.urn, to_api.urn} <= set(staging_provider.dependencies)
