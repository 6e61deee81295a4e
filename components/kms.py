"""Customer-managed KMS keys as the components make them: rotating, with an alias, a 30-day
deletion window and a key policy written for the account the key lives in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import policy_json
from components.naming import name_tags


def key_policy(account_id: str, partition: str, *statements: dict[str, Any]) -> str:
    """A key policy in which the account administers the key through IAM (as AWS's default
    policy does), plus ``statements`` for the services that use it."""
    return policy_json(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        *statements,
    )


def caller_account(parent: pulumi.Resource) -> pulumi.Output[tuple[str, str]]:
    """(account id, partition) of the credentials ``parent``'s provider deploys with."""
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    return pulumi.Output.all(identity.account_id, partition.partition).apply(lambda v: (str(v[0]), str(v[1])))


def account_key(
    resource_name: str,
    *,
    alias: str,
    description: str,
    policy: Callable[[str, str], str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> aws.kms.Key:
    """A rotating key named ``alias/<alias>``; ``policy(account_id, partition)`` is its key policy."""
    child = pulumi.ResourceOptions(parent=parent)
    key = aws.kms.Key(
        resource_name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=caller_account(parent).apply(lambda account: policy(*account)),
        tags=name_tags(tags, resource_name),
        opts=child,
    )
    aws.kms.Alias(resource_name, name=f"alias/{alias}", target_key_id=key.key_id, opts=child)
    return key
