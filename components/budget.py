"""``Budget``: what a stack may spend, and who hears when it approaches or passes it.

* An AWS Budgets cost budget for the stack, filtered on its cost-allocation tag
  (``user:Stack$<stack>``), with an ACTUAL and a FORECASTED notification at each threshold to
  the alert topic and the budget's emails;
* one budget per team (a tag key and value of its own), when configured;
* a Cost Anomaly Detection subscription (immediate, to the topic) over the account's
  anomaly monitor: the component creates that monitor (AWS services, a singleton per
  account: one per account and dimension) only when it is told it owns the account-wide
  resources; otherwise it subscribes to an existing monitor by ARN;
* the activation of the cost-allocation tags (account-wide, a singleton too; the tags must
  already appear in billing data, up to 24 hours after resources first carry them, and only
  the management account may activate them);
* an optional budget action (off by default): at the threshold, AWS Budgets attaches an IAM
  policy that denies launching GPU instances to the roles that launch them (Karpenter's
  controllers), so no new GPU capacity starts until someone detaches it. Nodes already
  running keep running. (EC2 Auto Scaling launches a managed node group's instances with
  its service-linked role, to which no policy can be attached.)

Budgets, monitors and tags are global; give the component the home region's provider.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.iam import assume_role_policy, policy_json
from components.kms import caller_account
from components.naming import TYPE_PREFIX, name_tags

GPU_INSTANCE_PATTERNS = ("g*.*", "p*.*")
"""NVIDIA GPU instance families (g4dn, g5, g6, g6e, p4d, p5, ...); no CPU family starts with
``g`` or ``p``."""
LAUNCH_ACTIONS = ("ec2:RunInstances", "ec2:CreateFleet")
"""How Karpenter (CreateFleet) and Auto Scaling on a node group's behalf (RunInstances) start
instances."""
Approval = Literal["AUTOMATIC", "MANUAL"]


def cost_filter_value(tag_key: str, tag_value: str) -> str:
    """A user-defined cost-allocation tag as AWS Budgets filters on it (``user:Key$Value``)."""
    return f"user:{tag_key}${tag_value}"


def deny_gpu_launch_policy() -> str:
    """The policy the budget action attaches: no new GPU instance, from any role it is on."""
    return policy_json(
        {
            "Sid": "DenyGpuLaunchOverBudget",
            "Effect": "Deny",
            "Action": list(LAUNCH_ACTIONS),
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringLike": {"ec2:InstanceType": list(GPU_INSTANCE_PATTERNS)}},
        }
    )


def action_execution_policy(policy_arn: str, role_arn_prefix: str) -> str:
    """What AWS Budgets may do with the execution role: attach and detach the one deny
    policy, to roles of this account only."""
    return policy_json(
        {
            "Sid": "ApplyDenyPolicy",
            "Effect": "Allow",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            "Resource": f"{role_arn_prefix}*",
            "Condition": {"ArnEquals": {"iam:PolicyARN": policy_arn}},
        }
    )


@dataclass(frozen=True)
class TeamBudget:
    """A team's own monthly budget, over resources carrying its tag."""

    name: str
    """Team name (part of the budget's name)."""
    monthly_usd: float
    tag_key: str
    """Cost-allocation tag key that marks the team's resources (e.g. ``Team``)."""
    tag_value: str
    emails: Sequence[str] = ()
    """Addresses told besides the topic."""


@dataclass(frozen=True)
class AnomalyArgs:
    """Cost Anomaly Detection."""

    threshold_usd: float = 100
    """Notify for anomalies whose total impact is at least this many dollars."""
    create_account_monitor: bool = False
    """Create the account's AWS-services monitor (only the stack that owns account-wide
    resources; an account may have one)."""
    monitor_arns: Sequence[str] = ()
    """Existing monitors to subscribe to (the account's monitor, created by another stack)."""


@dataclass(frozen=True)
class BudgetActionArgs:
    """Stop new GPU capacity when the budget is reached."""

    role_names: Sequence[pulumi.Input[str]]
    """Roles that launch GPU instances (Karpenter's controller role of each cluster)."""
    threshold_percent: float = 100
    """Percentage of the budget (actual spend) at which the policy is attached."""
    approval: Approval = "AUTOMATIC"
    """``AUTOMATIC``: attached at once; ``MANUAL``: someone approves it in the console."""


@dataclass(frozen=True)
class BudgetArgs:
    """Arguments of :class:`Budget`."""

    budget_name: str
    """Name of the stack's budget (team budgets append the team); unique in the account."""
    stack: str
    """The stack's name: the value of its ``Stack`` cost-allocation tag."""
    monthly_usd: float
    thresholds_percent: Sequence[float]
    """Percentages of the limit at which actual and forecast spend notify."""
    topic_arn: pulumi.Input[str]
    """The alert topic (it must let ``budgets.amazonaws.com`` and ``costalerts.amazonaws.com`` publish)."""
    emails: Sequence[str] = ()
    """Addresses notified directly (at most 10)."""
    tag_key: str = "Stack"
    """The cost-allocation tag key whose value is :attr:`stack`."""
    teams: Sequence[TeamBudget] = ()
    anomaly: AnomalyArgs | None = field(default_factory=AnomalyArgs)
    """Anomaly alerts (None: none)."""
    action: BudgetActionArgs | None = None
    """The stop-GPU action (None, the default: no action)."""
    activate_tags: Sequence[str] = ()
    """Cost-allocation tag keys to activate (account-wide: only the stack that owns
    account-wide resources lists them)."""
    tags: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """Fails before any child is created, naming the argument."""
        found: list[str] = []
        if not re.fullmatch(r"[^:\\]{1,100}", self.budget_name):
            found.append(f"BudgetArgs.budget_name: {self.budget_name!r} must be 1-100 characters without ':' or '\\'")
        if self.monthly_usd <= 0:
            found.append(f"BudgetArgs.monthly_usd: must be > 0 (got {self.monthly_usd})")
        if not self.thresholds_percent or any(not 0 < t <= 1000 for t in self.thresholds_percent):
            found.append("BudgetArgs.thresholds_percent: list percentages in (0, 1000], e.g. [50, 80, 100]")
        if len(self.emails) > 10:
            found.append(f"BudgetArgs.emails: AWS Budgets notifies at most 10 addresses (got {len(self.emails)}); subscribe the rest to the topic")
        names = [t.name for t in self.teams]
        for index, team in enumerate(self.teams):
            if team.monthly_usd <= 0:
                found.append(f"BudgetArgs.teams[{team.name}].monthly_usd: must be > 0 (got {team.monthly_usd})")
            if names.count(team.name) > 1 and names.index(team.name) != index:
                found.append(f"BudgetArgs.teams[{team.name}]: listed twice; give each team one budget")
        if self.anomaly is not None and self.anomaly.threshold_usd <= 0:
            found.append(f"BudgetArgs.anomaly.threshold_usd: must be > 0 (got {self.anomaly.threshold_usd})")
        if self.action is not None:
            if not self.action.role_names:
                found.append("BudgetArgs.action.role_names: name the roles that launch GPU instances, or leave the action off")
            if not 0 < self.action.threshold_percent <= 1000:
                found.append(f"BudgetArgs.action.threshold_percent: must be in (0, 1000] (got {self.action.threshold_percent})")
        if found:
            raise ValueError("invalid BudgetArgs:\n  " + "\n  ".join(found))


def notifications(
    thresholds: Sequence[float], topic_arn: pulumi.Input[str], emails: Sequence[str]
) -> list[aws.budgets.BudgetNotificationArgs]:
    """An ACTUAL and a FORECASTED notification at each threshold, to the topic and emails."""
    return [
        aws.budgets.BudgetNotificationArgs(
            comparison_operator="GREATER_THAN",
            notification_type=kind,
            threshold=threshold,
            threshold_type="PERCENTAGE",
            subscriber_sns_topic_arns=[topic_arn],
            subscriber_email_addresses=list(emails) or None,
        )
        for threshold in sorted(thresholds)
        for kind in ("ACTUAL", "FORECASTED")
    ]


class Budget(pulumi.ComponentResource):
    """The stack's budget, team budgets, anomaly alerts, tag activation and the optional
    stop-GPU action. Give it the home region's AWS provider."""

    budget_name: pulumi.Output[str]
    team_budget_names: list[str]
    anomaly_monitor_arn: pulumi.Output[str | None]
    action_policy_arn: pulumi.Output[str | None]

    def __init__(self, name: str, args: BudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:ops:Budget", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        activations = [
            aws.costexplorer.CostAllocationTag(f"{name}-tag-{key.lower()}", tag_key=key, status="Active", opts=child)
            for key in args.activate_tags
        ]
        budget = self._cost_budget(name, args.budget_name, args.monthly_usd, args.tag_key, args.stack, args.emails, args, activations)
        team_names = []
        for team in args.teams:
            team_name = f"{args.budget_name}-{team.name}"[:100]
            self._cost_budget(
                f"{name}-team-{team.name}", team_name, team.monthly_usd, team.tag_key, team.tag_value, team.emails, args, activations
            )
            team_names.append(team_name)
        monitor_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.anomaly is not None:
            monitor_arn = self._anomaly(name, args, args.anomaly)
        action_policy: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.action is not None:
            action_policy = self._action(name, args, args.action, budget)
        self.budget_name = budget.name
        self.team_budget_names = team_names
        self.anomaly_monitor_arn = monitor_arn
        self.action_policy_arn = action_policy
        self.register_outputs(
            {
                "budgetName": self.budget_name,
                "teamBudgetNames": self.team_budget_names,
                "anomalyMonitorArn": self.anomaly_monitor_arn,
                "actionPolicyArn": self.action_policy_arn,
            }
        )

    def _cost_budget(
        self,
        resource_name: str,
        budget_name: str,
        monthly_usd: float,
        tag_key: str,
        tag_value: str,
        emails: Sequence[str],
        args: BudgetArgs,
        activations: Sequence[pulumi.Resource],
    ) -> aws.budgets.Budget:
        """A monthly cost budget over the resources tagged ``tag_key=tag_value`` (after the tags'
        activation, when this stack activates them)."""
        return aws.budgets.Budget(
            resource_name,
            name=budget_name,
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{monthly_usd:.2f}",
            limit_unit="USD",
            cost_filters=[aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[cost_filter_value(tag_key, tag_value)])],
            notifications=notifications(args.thresholds_percent, args.topic_arn, emails),
            tags=name_tags(args.tags, resource_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(activations)),
        )

    def _anomaly(self, name: str, args: BudgetArgs, anomaly: AnomalyArgs) -> pulumi.Output[str | None]:
        child = pulumi.ResourceOptions(parent=self)
        monitors: list[pulumi.Input[str]] = list(anomaly.monitor_arns)
        created: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if anomaly.create_account_monitor:
            monitor = aws.costexplorer.AnomalyMonitor(
                f"{name}-services",
                name="aws-services",
                monitor_type="DIMENSIONAL",
                monitor_dimension="SERVICE",
                tags=name_tags(args.tags, f"{name}-services"),
                opts=child,
            )
            monitors.insert(0, monitor.arn)
            created = monitor.arn
        if not monitors:
            return created
        aws.costexplorer.AnomalySubscription(
            f"{name}-anomalies",
            name=f"{args.budget_name}-anomalies"[:1024],
            frequency="IMMEDIATE",
            monitor_arn_lists=monitors,
            subscribers=[aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="SNS", address=args.topic_arn)],
            threshold_expression=aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
                dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                    key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                    match_options=["GREATER_THAN_OR_EQUAL"],
                    values=[f"{anomaly.threshold_usd:g}"],
                )
            ),
            tags=name_tags(args.tags, f"{name}-anomalies"),
            opts=child,
        )
        return created

    def _action(self, name: str, args: BudgetArgs, action: BudgetActionArgs, budget: aws.budgets.Budget) -> pulumi.Output[str | None]:
        child = pulumi.ResourceOptions(parent=self)
        deny = aws.iam.Policy(
            f"{name}-deny-gpu-launch",
            description=f"Attached by the budget {args.budget_name} when it is exceeded: no new GPU instances",
            policy=deny_gpu_launch_policy(),
            tags=name_tags(args.tags, f"{name}-deny-gpu-launch"),
            opts=child,
        )
        execution = aws.iam.Role(
            f"{name}-action",
            assume_role_policy=assume_role_policy("budgets.amazonaws.com"),
            tags=name_tags(args.tags, f"{name}-action"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-action",
            role=execution.id,
            policy=pulumi.Output.all(deny.arn, caller_account(self)).apply(
                lambda v: action_execution_policy(v[0], f"arn:{v[1][1]}:iam::{v[1][0]}:role/")
            ),
            opts=child,
        )
        aws.budgets.BudgetAction(
            f"{name}-stop-gpus",
            budget_name=budget.name,
            action_type="APPLY_IAM_POLICY",
            approval_model=action.approval,
            notification_type="ACTUAL",
            action_threshold=aws.budgets.BudgetActionActionThresholdArgs(
                action_threshold_type="PERCENTAGE", action_threshold_value=action.threshold_percent
            ),
            definition=aws.budgets.BudgetActionDefinitionArgs(
                iam_action_definition=aws.budgets.BudgetActionDefinitionIamActionDefinitionArgs(
                    policy_arn=deny.arn, roles=list(action.role_names)
                )
            ),
            execution_role_arn=execution.arn,
            subscribers=[aws.budgets.BudgetActionSubscriberArgs(address=args.topic_arn, subscription_type="SNS")],
            tags=name_tags(args.tags, f"{name}-stop-gpus"),
            opts=child,
        )
        return deny.arn.apply(lambda arn: arn)

