"""``AccountBaseline``: the account-wide resources the platform needs, which exist once per
AWS account whatever number of stacks and regions share it.

Today: the EC2 Spot service-linked role (``AWSServiceRoleForEC2Spot``), without which the
first spot launch in an account that never used Spot fails
(``AuthFailure.ServiceLinkedRoleCreationNotPermitted``; Karpenter's controller policy cannot
create it). Account-level singletons that other parts of the platform add (registry
settings, cost-anomaly monitors) belong here too.

Exactly one stack per account creates this component (the composition decides which); the
others rely on it. Its resources are kept when that stack is destroyed: they cost nothing
and other stacks of the account may still need them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.naming import TYPE_PREFIX

SPOT_SERVICE = "spot.amazonaws.com"
SPOT_ROLE_NAME = "AWSServiceRoleForEC2Spot"


def spot_role_arn(account_id: str, partition: str = "aws") -> str:
    """The ARN of the Spot service-linked role in ``account_id`` (for ``pulumi import``)."""
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/{SPOT_SERVICE}/{SPOT_ROLE_NAME}"


@dataclass(frozen=True)
class AccountBaselineArgs:
    """Arguments of :class:`AccountBaseline`."""

    account_id: str
    """The 12-digit account the resources belong to (names them in errors and imports)."""
    spot_service_linked_role: bool = True
    """Create the EC2 Spot service-linked role (when the account does not have it yet)."""

    def validate(self) -> None:
        if not (len(self.account_id) == 12 and self.account_id.isdigit()):
            raise ValueError(f"invalid AccountBaselineArgs:\n  AccountBaselineArgs.account_id: {self.account_id!r} is not a 12-digit account id")


class AccountBaseline(pulumi.ComponentResource):
    """The account-wide resources. Give it the home region's AWS provider (IAM is global)."""

    spot_role_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: AccountBaselineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:account:AccountBaseline", name, None, opts)
        self.spot_role_arn = None
        if args.spot_service_linked_role:
            role = aws.iam.ServiceLinkedRole(
                f"{name}-spot",
                aws_service_name=SPOT_SERVICE,
                description="EC2 Spot launches (Karpenter spot NodePools, spot node groups)",
                # Shared by every stack of the account: destroying this stack keeps it.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.spot_role_arn = role.arn
        self.register_outputs({"spotRoleArn": self.spot_role_arn})
