"""EKS Pod Identity: an IAM role a Kubernetes service account assumes, for controllers that
call AWS (Karpenter, cluster-autoscaler, the EBS CSI driver)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import assume_role_policy
from components.naming import name_tags


@dataclass(frozen=True)
class PodIdentityRole:
    """A role the Pod Identity agent can hand to pods, with its policies."""

    role: aws.iam.Role
    policies: tuple[aws.iam.RolePolicy, ...]
    """Inline policies, one per named document."""
    attachments: tuple[aws.iam.RolePolicyAttachment, ...]
    """Managed policies attached (AWS's and the project's own)."""

    @property
    def grants(self) -> list[pulumi.Resource]:
        """What a pod using the role needs in place before it starts (and after it stops)."""
        return [*self.policies, *self.attachments]


@dataclass(frozen=True)
class PodIdentity:
    """The role, its policies and the association with the service account."""

    role: PodIdentityRole
    association: aws.eks.PodIdentityAssociation

    @property
    def ready(self) -> list[pulumi.Resource]:
        """Everything a workload using the identity depends on: the association and the
        role's policies. A Helm release depending on these is installed after them and,
        on ``pulumi destroy``, uninstalled before them."""
        return [self.association, *self.role.grants]


def pod_identity_role(
    resource_name: str,
    *,
    policies: Mapping[str, pulumi.Input[str]] | None = None,
    managed_policy_arns: Sequence[str] = (),
    policy_arns: Mapping[str, pulumi.Input[str]] | None = None,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> PodIdentityRole:
    """A role trusted by the Pod Identity agent (``pods.eks.amazonaws.com`` with
    ``sts:TagSession``), with one inline policy per entry of ``policies``
    (``{resource_name}-{key}``), the AWS managed policies of ``managed_policy_arns`` and the
    customer managed policies of ``policy_arns`` (outputs of other components, such as a data
    store's access policy; ``{resource_name}-attach-{key}``)."""
    role = aws.iam.Role(
        resource_name,
        assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", session_tags=True),
        tags=name_tags(tags, resource_name),
        opts=opts,
    )
    inline = tuple(
        aws.iam.RolePolicy(f"{resource_name}-{key}", role=role.id, policy=document, opts=opts)
        for key, document in (policies or {}).items()
    )
    attached = tuple(
        aws.iam.RolePolicyAttachment(f"{resource_name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn, opts=opts)
        for arn in managed_policy_arns
    ) + tuple(
        aws.iam.RolePolicyAttachment(f"{resource_name}-attach-{key}", role=role.name, policy_arn=arn, opts=opts)
        for key, arn in sorted((policy_arns or {}).items())
    )
    return PodIdentityRole(role, inline, attached)


def pod_identity(
    resource_name: str,
    *,
    cluster_name: pulumi.Input[str],
    namespace: str,
    service_account: str,
    policies: Mapping[str, pulumi.Input[str]] | None = None,
    managed_policy_arns: Sequence[str] = (),
    policy_arns: Mapping[str, pulumi.Input[str]] | None = None,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> PodIdentity:
    """A :func:`pod_identity_role` that ``namespace/service_account`` assumes through the
    Pod Identity agent."""
    role = pod_identity_role(
        resource_name, policies=policies, managed_policy_arns=managed_policy_arns, policy_arns=policy_arns, tags=tags, opts=opts
    )
    association = aws.eks.PodIdentityAssociation(
        resource_name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.role.arn,
        opts=opts,
    )
    return PodIdentity(role, association)
