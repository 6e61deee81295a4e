"""Runs every check of ``llmops doctor`` for a stack: asks AWS through the probe, decides
through :mod:`llmops.doctor.checks`, and keeps going after a failure, so one run lists
everything to fix. Without usable credentials for the stack's account the AWS checks are
skipped (they would describe another account)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from functools import partial
from typing import TypeVar

from components import versions
from components.naming import cluster_name
from llmops.doctor import checks
from llmops.doctor.findings import DoctorReport, Finding
from llmops.doctor.probe import AwsProbe, ProbeError
from stacks.config import PlatformConfig
from stacks.preflight import singleton_owners

T = TypeVar("T")


def _attempt(fn: Callable[[], T]) -> T | ProbeError:
    try:
        return fn()
    except ProbeError as exc:
        return exc


def run_doctor(
    stack: str,
    project: str,
    config: PlatformConfig,
    probe: AwsProbe,
    day: date,
    *,
    stacks: Mapping[str, PlatformConfig] | None = None,
    deployer_ip: str | None = None,
) -> DoctorReport:
    """Every finding for ``stack`` on ``day``. ``stacks``: the project's stacks by name (for
    who owns the account-wide resources; default: this one alone). ``deployer_ip``: the
    address deploys come from (default: looked up by the probe)."""
    account = config.account.id
    report = DoctorReport(stack=stack, account=account, day=day.isoformat())
    add = report.findings.append
    home = config.home_region

    identity = _attempt(lambda: probe.caller_identity(home))
    add(checks.credentials(account, identity))
    add(checks.account_owners(stack, account, singleton_owners({**(stacks or {}), stack: config})))
    report.findings.extend(checks.eks_versions(config, day))
    if isinstance(identity, ProbeError) or identity.account != account:
        skipped = [("spot-role", f"account {account}")]
        skipped += [(check, r.name) for r in config.regions for check in ("zones", "quotas", "addon-builds", "api-access")]
        for check, subject in skipped:
            add(Finding(check, subject, "skip", "needs credentials for the stack's account (see credentials)"))
        return report

    add(checks.spot_role(config, stack, _attempt(lambda: probe.role(home, "AWSServiceRoleForEC2Spot"))))
    address: str | None = deployer_ip
    if address is None:
        looked_up = _attempt(probe.deployer_address)
        if isinstance(looked_up, ProbeError):
            add(Finding("deployer-address", "this machine", "warn", f"could not look up the public address: {looked_up}",
                        "pass --deployer-ip <address deploys come from>"))
        else:
            address = looked_up
    for region in config.regions:
        name = region.name
        existing = region.cluster.existing
        if existing is None:
            add(checks.zones(region, _attempt(partial(probe.zones, name))))
            for need in checks.vcpu_needs(region):
                add(checks.quota(name, need, probe.quota(name, need.code, need.name)))
            version = region.cluster.kubernetes_version
            pins = versions.pins_for(version)
            offered = {
                addon: _attempt(partial(probe.addon_versions, name, version, addon))
                for addon in (pins.addons if pins is not None else ())
            }
            add(checks.addon_builds(name, version, offered))
            target = cluster_name(project, stack, name)
        elif existing.cluster_name is not None:
            target = existing.cluster_name
        else:
            add(Finding("api-access", name, "skip", "an existing cluster given by kubeconfig: its path is the kubeconfig's"))
            continue
        add(checks.api_access(region, target, _attempt(partial(probe.cluster, name, target)), address))
    return report
