"""EKS Pod Identity: an IAM role a Kubernetes service account assumes, for controllers that
call AWS (Karpenter, cluster-autoscaler)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import assume_role_policy
from components.naming import name_tags


@dataclass(frozen=True)
class PodIdentity:
    """The role, its inline policy and the association with the service account."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    association: aws.eks.PodIdentityAssociation


def pod_identity(
    resource_name: str,
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policy: pulumi.Input[str],
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> PodIdentity:
    """A role with ``policy`` that ``namespace/service_account`` assumes through the Pod
    Identity agent (its trust policy allows ``sts:TagSession``, which the agent needs)."""
    role = aws.iam.Role(
        resource_name,
        assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", session_tags=True),
        tags=name_tags(tags, resource_name),
        opts=opts,
    )
    inline = aws.iam.RolePolicy(resource_name, role=role.id, policy=policy, opts=opts)
    association = aws.eks.PodIdentityAssociation(
        resource_name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        opts=opts,
    )
    return PodIdentity(role, inline, association)
