"""``ContainerRegistry``: the ECR repository of the serving image in the home region,
replicated to every region that runs it.

The repository keeps tags immutable (a tag names one image forever; releases pin digests
anyway), scans every image on push, encrypts with a customer-managed KMS key and expires old
images with a lifecycle policy. Replication is a setting of the whole registry (one per
account and region), so it is created only when the component is told it owns it
(:attr:`ContainerRegistryArgs.replicate_to`); the repository is shared by every stack of
the account, as releases move between them by digest. In each destination region a
repository creation template gives the replica the same guarantees: immutable tags, the
destination's own KMS key, the same lifecycle.

Stacks in other accounts (prod, say, promoted from a staging in this account) pull the very
image they were tested with: :attr:`ContainerRegistryArgs.pull_account_ids` gives each of
those accounts pull-only access through the repository's policy, and the replicas' policy
(the creation templates). ECR decrypts layers with its own grant on the repository key, so
the pulling account needs no key access.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.data.common import account_of, kms_key
from components.iam import assume_role_policy, policy_json
from components.naming import TYPE_PREFIX, name_tags

_REPOSITORY = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def lifecycle_policy(untagged_days: int, keep_images: int) -> str:
    """Expire untagged images after ``untagged_days``; keep the newest ``keep_images`` others."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"untagged images go after {untagged_days} days",
                    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": untagged_days},
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {keep_images} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


def template_role_policy(repository_arn_pattern: str, key_arns: list[str]) -> str:
    """What ECR may do, as the role of the creation templates, when it creates a replica:
    create and tag the repository, and use the replica's KMS key (AWS requires a custom role
    for templates that set a KMS key or tags)."""
    return policy_json(
        {
            "Sid": "CreateReplicaRepositories",
            "Effect": "Allow",
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
            "Resource": repository_arn_pattern,
        },
        {
            "Sid": "UseReplicaKeys",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"],
            "Resource": sorted(key_arns),
        },
    )


PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
"""What a node needs of a repository to pull an image (its credentials come from
``ecr:GetAuthorizationToken`` in its own account)."""


def pull_policy(partition: str, account_ids: Sequence[str]) -> str:
    """Repository policy: the named accounts pull images (their principals still need
    ``ecr:BatchGetImage`` and friends in their own IAM policies, as EKS nodes have)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PullFromTheReleaseAccounts",
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:{partition}:iam::{a}:root" for a in sorted(account_ids)]},
                    "Action": list(PULL_ACTIONS),
                }
            ],
        },
        sort_keys=True,
    )


def ecr_key_statement(account: str, region: str) -> dict[str, object]:
    """Lets the account's principals use a repository key for images, through ECR only."""
    return {
        "Sid": "ImagesThroughEcr",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": account, "kms:ViaService": f"ecr.{region}.amazonaws.com"}},
    }


@dataclass(frozen=True)
class ContainerRegistryArgs:
    """Arguments of :class:`ContainerRegistry`."""

    region: str
    """The home region (the repository's); must match the provider the component is given."""
    repository: str = "llmops-serving"
    """Repository name (CI pushes here; releases name images in it by digest)."""
    replicate_to: Mapping[str, pulumi.ProviderResource] = field(default_factory=dict)
    """Regions the repository replicates into, each with its AWS provider (for the region's
    creation template and key). Setting any creates the account's registry replication
    configuration: only the stack that owns account-wide resources sets it."""
    untagged_days: int = 7
    """Days an untagged image is kept."""
    keep_images: int = 300
    """Images kept (the newest); releases pin digests, so keep enough for rollbacks."""
    force_delete: bool = False
    """Delete the repository with its images on destroy."""
    pull_account_ids: Sequence[str] = ()
    """Other AWS accounts whose stacks pull the image (pull only, on the repository and
    its replicas)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of every child."""

    def validate(self) -> None:
        found = []
        if not _REPOSITORY.match(self.repository) or len(self.repository) > 256:
            found.append(f"ContainerRegistryArgs.repository: {self.repository!r} is not an ECR repository name (lowercase, digits, '._-/')")
        if self.region in self.replicate_to:
            found.append(f"ContainerRegistryArgs.replicate_to: {self.region} is the repository's own region")
        if not 1 <= self.untagged_days <= 3650:
            found.append(f"ContainerRegistryArgs.untagged_days: must be between 1 and 3650 (got {self.untagged_days})")
        for account in self.pull_account_ids:
            if not re.fullmatch(r"\d{12}", account):
                found.append(f"ContainerRegistryArgs.pull_account_ids: {account!r} is not a 12-digit AWS account id")
        if len(set(self.pull_account_ids)) != len(self.pull_account_ids):
            found.append("ContainerRegistryArgs.pull_account_ids: an account is listed twice")
        if self.keep_images < 10:
            found.append(f"ContainerRegistryArgs.keep_images: keep at least 10 images for rollbacks (got {self.keep_images})")
        if found:
            raise ValueError("invalid ContainerRegistryArgs:\n  " + "\n  ".join(found))


class ContainerRegistry(pulumi.ComponentResource):
    """The serving image's repository. Give it the home region's AWS provider."""

    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    replica_regions: list[str]
    pull_account_ids: list[str]

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(f"{TYPE_PREFIX}:registry:ContainerRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        lifecycle = lifecycle_policy(args.untagged_days, args.keep_images)
        key = self._key(name, args.repository, args.region, tags, child)
        repository = aws.ecr.Repository(
            name,
            name=args.repository,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=key.arn)],
            force_delete=args.force_delete,
            tags=name_tags(tags, name),
            opts=child,
        )
        aws.ecr.LifecyclePolicy(name, repository=repository.name, policy=lifecycle, opts=child)
        pulls: pulumi.Output[str] | None = None
        if args.pull_account_ids:
            pulls = account_of(self).partition.apply(lambda p: pull_policy(p, args.pull_account_ids))
            aws.ecr.RepositoryPolicy(f"{name}-pulls", repository=repository.name, policy=pulls, opts=child)
        replica_keys = {
            region: self._key(f"{name}-{region}", args.repository, region, tags, pulumi.ResourceOptions(parent=self, provider=provider))
            for region, provider in sorted(args.replicate_to.items())
        }
        if replica_keys:
            template_role = aws.iam.Role(
                f"{name}-templates",
                assume_role_policy=assume_role_policy("ecr.amazonaws.com"),
                tags=name_tags(tags, f"{name}-templates"),
                opts=child,
            )
            repositories = repository.registry_id.apply(lambda account: f"arn:aws:ecr:*:{account}:repository/{args.repository}*")
            role_policy = aws.iam.RolePolicy(
                f"{name}-templates",
                role=template_role.id,
                policy=pulumi.Output.all(repositories, *(k.arn for k in replica_keys.values())).apply(
                    lambda v: template_role_policy(v[0], list(v[1:]))
                ),
                opts=child,
            )
            templates = [
                aws.ecr.RepositoryCreationTemplate(
                    f"{name}-{region}",
                    prefix=args.repository,
                    description=f"Replicas of {args.repository}: immutable tags, a key of this region, the same lifecycle",
                    applied_fors=["REPLICATION"],
                    custom_role_arn=template_role.arn,
                    image_tag_mutability="IMMUTABLE",
                    encryption_configurations=[
                        aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="KMS", kms_key=key.arn)
                    ],
                    lifecycle_policy=lifecycle,
                    repository_policy=pulls,
                    resource_tags=dict(tags),
                    opts=pulumi.ResourceOptions(parent=self, provider=args.replicate_to[region], depends_on=[role_policy]),
                )
                for region, key in replica_keys.items()
            ]
            aws.ecr.ReplicationConfiguration(
                f"{name}-replication",
                replication_configuration=aws.ecr.ReplicationConfigurationReplicationConfigurationArgs(
                    rules=[
                        aws.ecr.ReplicationConfigurationReplicationConfigurationRuleArgs(
                            destinations=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleDestinationArgs(
                                    region=region, registry_id=repository.registry_id
                                )
                                for region in sorted(args.replicate_to)
                            ],
                            repository_filters=[
                                aws.ecr.ReplicationConfigurationReplicationConfigurationRuleRepositoryFilterArgs(
                                    filter=args.repository, filter_type="PREFIX_MATCH"
                                )
                            ],
                        )
                    ]
                ),
                # Replicas are created through the templates: they must exist first.
                opts=pulumi.ResourceOptions(parent=self, depends_on=templates),
            )
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.registry_id = repository.registry_id
        self.replica_regions = sorted(args.replicate_to)
        self.pull_account_ids = sorted(args.pull_account_ids)
        self.register_outputs(
            {
                "repositoryUrl": self.repository_url,
                "repositoryArn": self.repository_arn,
                "registryId": self.registry_id,
                "replicaRegions": self.replica_regions,
                "pullAccountIds": self.pull_account_ids,
            }
        )

    def _key(self, name: str, repository: str, region: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions) -> aws.kms.Key:
        """A repository key of ``region``: administered by the account, used through ECR."""
        account = account_of(self)
        return kms_key(
            f"{name}-key",
            description=f"ECR repository {repository} in {region}: images at rest",
            alias=f"ecr-{repository.replace('/', '-')}",
            account=account,
            tags=tags,
            opts=opts,
            extra_statements=account.id.apply(lambda a: [ecr_key_statement(a, region)]),
        )
