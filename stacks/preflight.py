"""Checks of a valid stack config against the calendar and the project's pins, shared by the
program (``pulumi preview``/``up`` and ``llmops plan`` print them as warnings) and
``llmops doctor`` (which fails on them).

The day is always an argument: the same config and the same day give the same findings.
The program takes today (``LLMOPS_TODAY=YYYY-MM-DD`` overrides it, for reproducible runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from typing import Literal

from components import versions
from core.catalog import eks
from stacks.config import PlatformConfig

TODAY_VARIABLE = "LLMOPS_TODAY"
Severity = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class VersionFinding:
    """Where one region's cluster version stands on a day."""

    region: str
    version: str
    status: eks.SupportStatus
    pinned: bool
    """Whether :mod:`components.versions` pins add-ons, AMI release and autoscaler for it."""

    @property
    def severity(self) -> Severity:
        """``fail`` out of standard support, ``warn`` without pins, else ``ok``."""
        if not self.status.supported:
            return "fail"
        return "ok" if self.pinned else "warn"

    @property
    def message(self) -> str:
        message = f"{self.region}: {self.status.message}"
        if not self.pinned:
            message += (
                f"; no add-on builds, node AMI release or cluster-autoscaler image are pinned for {self.version} "
                "(components/versions.py), so add-ons take AWS's default build at deploy time"
            )
        return message

    @property
    def fix(self) -> str:
        if self.status.phase in ("extended", "unsupported"):
            newest = eks.newest_supported(self.status.day)
            return f"raise llmops:regions[].cluster.kubernetesVersion one minor at a time towards {newest}"
        if self.status.phase in ("unreleased", "unknown"):
            return f"use a version in standard support ({eks.newest_supported(self.status.day)})"
        if not self.pinned:
            pinned = ", ".join(versions.KUBERNETES_PINS)
            return f"use a pinned version ({pinned}) or add pins for {self.version} to components/versions.py"
        return ""


def version_findings(config: PlatformConfig, day: date) -> list[VersionFinding]:
    """The support phase of each created cluster's Kubernetes version on ``day``."""
    return [
        VersionFinding(
            region=region.name,
            version=region.cluster.kubernetes_version,
            status=eks.support_status(region.cluster.kubernetes_version, day),
            pinned=versions.pins_for(region.cluster.kubernetes_version) is not None,
        )
        for region in config.regions
        if region.cluster.existing is None
    ]


def plan_warnings(config: PlatformConfig, day: date) -> list[str]:
    """What a plan warns about on ``day`` (``llmops doctor`` fails on the same findings)."""
    return [
        f"{finding.message}; {finding.fix}" if finding.fix else finding.message
        for finding in version_findings(config, day)
        if finding.severity != "ok"
    ]


def today() -> date:
    """Today, or the day ``LLMOPS_TODAY`` names."""
    value = os.environ.get(TODAY_VARIABLE)
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{TODAY_VARIABLE}={value!r} is not a date; use YYYY-MM-DD") from None


ACCOUNT_SINGLETON_TYPES = ("aws:iam/serviceLinkedRole:ServiceLinkedRole",)
"""Resource types of which an AWS account holds one (per identity): what only the stack that
owns the account's singletons (``account.singletons``) may create."""


def singleton_owners(configs: dict[str, PlatformConfig]) -> dict[str, list[str]]:
    """Stacks by account id that own the account's account-wide resources (each account
    needs at most one)."""
    owners: dict[str, list[str]] = {}
    for stack, config in sorted(configs.items()):
        owners.setdefault(config.account.id, [])
        if config.account.singletons:
            owners[config.account.id].append(stack)
    return owners
