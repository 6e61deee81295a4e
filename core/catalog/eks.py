"""What the project knows about Amazon EKS without asking AWS: the Kubernetes versions EKS
offers and until when it supports each, and the availability zones EKS will not place a
control plane in.

Data: ``data/eks_versions.json`` and ``data/eks_zones.json`` (each states its source and
the date it was taken). Support is a function of the date, and the date is always an
argument, so a plan made today and the same plan made next month say the same thing when
they are given the same date; the stack program passes today, tests pass a fixed day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

from core.catalog import load_data

SupportPhase = Literal["standard", "extended", "unsupported", "unreleased", "unknown"]
"""``standard``: AWS's standard support; ``extended``: the billed extended support
(clusters on ``upgradePolicy: STANDARD`` are upgraded by AWS instead); ``unsupported``:
past extended support, AWS upgrades the cluster; ``unreleased``: not on EKS yet on that
day; ``unknown``: not in the table."""


@dataclass(frozen=True, slots=True)
class EksVersion:
    """One Kubernetes minor version on EKS and its support calendar."""

    version: str
    eks_release: date
    end_of_standard_support: date
    end_of_extended_support: date


@dataclass(frozen=True, slots=True)
class SupportStatus:
    """Where a version stands on a given day, with what to do about it."""

    version: str
    day: date
    phase: SupportPhase
    ends: date | None
    """When the current phase ends (None when unsupported or unknown)."""

    @property
    def supported(self) -> bool:
        """In standard support: what a new or upgraded cluster should run."""
        return self.phase == "standard"

    @property
    def message(self) -> str:
        """One sentence: the phase, its end, and the fix when there is one."""
        newest = newest_supported(self.day)
        upgrade = f"; upgrade one minor version at a time towards {newest}" if newest else ""
        if self.phase == "standard":
            return f"Kubernetes {self.version} is in EKS standard support until {self.ends}"
        if self.phase == "extended":
            return (
                f"Kubernetes {self.version} left EKS standard support and is in billed extended support until "
                f"{self.ends} (clusters on upgradePolicy STANDARD are upgraded by AWS, and the next deploy would "
                f"try a downgrade){upgrade}"
            )
        if self.phase == "unsupported":
            return f"Kubernetes {self.version} is past EKS extended support; AWS upgrades such clusters{upgrade}"
        if self.phase == "unreleased":
            return f"Kubernetes {self.version} is not on EKS before {self.ends}; use {newest or 'a released version'}"
        known = ", ".join(eks_versions())
        return f"Kubernetes {self.version} is not in the project's EKS version table ({known})"


@cache
def eks_versions() -> dict[str, EksVersion]:
    """Every version in the table, oldest first."""
    raw = load_data("eks_versions.json")["versions"]
    found = {
        version: EksVersion(
            version=version,
            eks_release=date.fromisoformat(spec["eksRelease"]),
            end_of_standard_support=date.fromisoformat(spec["endOfStandardSupport"]),
            end_of_extended_support=date.fromisoformat(spec["endOfExtendedSupport"]),
        )
        for version, spec in raw.items()
    }
    return dict(sorted(found.items(), key=lambda item: _minor(item[0])))


def table_taken() -> date:
    """The day the version table was taken (refresh it when support phases move)."""
    return date.fromisoformat(load_data("eks_versions.json")["taken"])


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def support_status(version: str, day: date) -> SupportStatus:
    """Where ``version`` stands on ``day``."""
    known = eks_versions().get(version)
    if known is None:
        return SupportStatus(version, day, "unknown", None)
    if day < known.eks_release:
        return SupportStatus(version, day, "unreleased", known.eks_release)
    if day < known.end_of_standard_support:
        return SupportStatus(version, day, "standard", known.end_of_standard_support)
    if day < known.end_of_extended_support:
        return SupportStatus(version, day, "extended", known.end_of_extended_support)
    return SupportStatus(version, day, "unsupported", None)


def newest_supported(day: date) -> str | None:
    """The newest version in standard support on ``day``."""
    standard = [v for v in eks_versions() if support_status(v, day).phase == "standard"]
    return standard[-1] if standard else None


@cache
def unsupported_zone_ids(region: str) -> tuple[str, ...]:
    """Zone IDs of ``region`` where EKS places no control plane (cluster subnets may not be
    there)."""
    table: dict[str, list[str]] = load_data("eks_zones.json")["unsupportedControlPlaneZoneIds"]
    return tuple(table.get(region, ()))
