"""Every KMS key carries a key policy, and where the composition asks (prod) the
control-plane and flow-log groups are encrypted with keys of their own that CloudWatch Logs
may use for that one group only; a log group kept on destroy keeps its key."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest

from components.cluster import (
    ApiAccessArgs,
    EksClusterArgs,
    GpuCluster,
    GpuClusterArgs,
    GpuPoolArgs,
)
from components.network import Network, NetworkArgs
from stacks.platform import PROFILES
from tests.harness import Recorded, Registration, aws_provider, run
from tests.support import of_type

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def build(encrypt: bool, retain: bool) -> Recorded[None]:
    def program() -> None:
        opts = aws_provider("eu-west-1")
        network = Network(
            "euw1",
            NetworkArgs(
                region="eu-west-1", cidr="10.60.0.0/16", az_count=2, cluster_name="c", retain_logs=retain, encrypt_flow_logs=encrypt
            ),
            opts=opts,
        )
        GpuCluster(
            "euw1",
            GpuClusterArgs(
                region="eu-west-1",
                cluster_name="c",
                cluster=EksClusterArgs(
                    private_subnet_ids=network.private_subnet_ids,
                    access=ApiAccessArgs(ssm_bastion=True),
                    retain_logs=retain,
                    encrypt_logs=encrypt,
                ),
                gpu_pools=(GpuPoolArgs(name="p", instance_types=("g5.xlarge",)),),
            ),
            opts=opts,
        )

    return run(program)


def statements(key: Registration) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}


@pytest.mark.parametrize("retain", [True, False])
def test_encrypted_log_groups_get_a_key_for_that_group_only(retain: bool) -> None:
    recorded = build(encrypt=True, retain=retain)
    keys = {k.name: k for k in recorded.of_type(KEY)}
    assert set(keys) == {"euw1-secrets", "euw1-control-plane-key", "euw1-flow-logs-key"}
    groups = {g.name: g for g in recorded.of_type(LOG_GROUP)}
    for group_name, key_name in (("euw1-control-plane", "euw1-control-plane-key"), ("euw1-flow-logs", "euw1-flow-logs-key")):
        group, key = groups[group_name], keys[key_name]
        assert group.inputs["kmsKeyId"] == key.outputs["arn"], group_name
        assert key.inputs["enableKeyRotation"] is True
        found = statements(key)
        account = found["AccountAdministers"]["Principal"]["AWS"].split(":")[4]
        logs = found["CloudWatchLogsEncrypt"]
        assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
        # the encryption context names this group: no other group of the account may use the key
        assert logs["Condition"] == {
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{account}:log-group:{group.inputs['name']}"}
        }
        assert "kms:GenerateDataKey*" in logs["Action"] and "kms:*" not in logs["Action"]
        # a group kept for audit stays readable: its key is kept with it
        assert key.retain_on_delete is group.retain_on_delete is retain, group_name
    alias_names = sorted(a.inputs["name"] for a in recorded.of_type("aws:kms/alias:Alias"))
    assert alias_names == ["alias/c-control-plane-logs", "alias/c-eks-secrets", "alias/c-flow-logs"]


def test_unencrypted_log_groups_add_no_key_and_the_secrets_key_still_has_a_policy() -> None:
    recorded = build(encrypt=False, retain=False)
    (secrets,) = recorded.of_type(KEY)
    assert secrets.name == "euw1-secrets"
    # an explicit key policy: the account administers the key through IAM, nothing else
    assert list(statements(secrets)) == ["AccountAdministers"]
    assert statements(secrets)["AccountAdministers"]["Action"] == "kms:*"
    assert all(g.inputs.get("kmsKeyId") is None for g in recorded.of_type(LOG_GROUP))


def test_only_prod_encrypts_its_log_groups() -> None:
    assert {env: profile.encrypt_logs for env, profile in PROFILES.items()} == {"dev": False, "staging": False, "prod": True}


def test_prod_encrypts_every_log_group_and_every_key_has_a_policy(
    dev_document: dict[str, Any], prod_document: dict[str, Any]
) -> None:
    keys = {k["urn"]: k for k in of_type(prod_document, KEY)}
    for group in of_type(prod_document, LOG_GROUP):
        key_arn = group["inputs"].get("kmsKeyId")
        assert key_arn, group["name"]
        (key,) = [k for k in keys.values() if k["urn"] in group["dependencies"]]
        found = {s["Sid"]: s for s in json.loads(key["inputs"]["policy"])["Statement"]}
        condition = next(s["Condition"] for s in found.values() if s["Principal"] == {"Service": f"logs.{group['region']}.amazonaws.com"})
        pattern = next(iter(condition.values()))["kms:EncryptionContext:aws:logs:arn"]
        # the offline engine answers GetCallerIdentity with the provider's account (prod's)
        assert pattern.startswith(f"arn:aws:logs:{group['region']}:444455556666:log-group:"), group["name"]
        assert fnmatchcase(f"arn:aws:logs:{group['region']}:444455556666:log-group:{group['inputs']['name']}", pattern), group["name"]
    for document in (dev_document, prod_document):
        for key in of_type(document, KEY):
            assert key["inputs"].get("policy"), key["name"]
