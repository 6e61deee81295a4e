"""Container images: ECR repositories keep tags immutable and scan images on push.

A mutable tag lets anyone who can push replace ``model-server:1.4`` under every node that
pulls it; scanning on push reports known CVEs before the image runs. (Repository
encryption is ``kms-encryption-at-rest``'s, repository policies ``no-public-resource-policies``'.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from policies.common.policy import ResourcePolicy, table_validator
from policies.common.props import flag, get

REPOSITORY = "aws:ecr/repository:Repository"
IMMUTABLE = ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION")


def _repository(props: Mapping[str, Any], _: Mapping[str, Any]) -> list[str]:
    problems = []
    if str(props.get("imageTagMutability") or "MUTABLE").upper() not in IMMUTABLE:
        problems.append("lets a push overwrite an existing tag; set image_tag_mutability='IMMUTABLE'")
    if flag(get(props, "imageScanningConfiguration", "scanOnPush")) is not True:
        problems.append("does not scan images on push; set image_scanning_configuration={'scan_on_push': True} (or enhanced scanning for the registry)")
    return problems


CHECKS = {REPOSITORY: _repository}


def ecr_repository_baseline() -> ResourcePolicy:
    return ResourcePolicy(
        name="ecr-repository-baseline",
        description="ECR repositories have immutable tags and scan images on push.",
        validate=table_validator(CHECKS),
        resource_types=CHECKS,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        tags=["containers"],
    )
