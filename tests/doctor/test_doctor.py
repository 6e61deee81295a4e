"""``llmops doctor`` against an account served by moto on loopback (plus the stub for EC2
quotas, EKS add-on builds and the address lookup): each check passes, warns or fails with
the fix, from the probe through the CLI a user runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import boto3

from components import versions
from llmops.capacity.aws import ClientFactory, RetryPolicy
from llmops.doctor import AwsProbe, DoctorReport, Finding, address_lookup, run_doctor
from stacks.config import parse
from tests.doctor.conftest import DoctorAws
from tests.support import write_project

LLMOPS = shutil.which("llmops", path=str(Path(sys.executable).parent)) or "llmops"
DAY = date(2026, 11, 30)
MOTO_ACCOUNT = "123456789012"
G_SPOT, G_ON_DEMAND = "L-3819A6DF", "L-DB2E81BA"


def doctor_config(**access: Any) -> dict[str, Any]:
    return {
        "environment": "dev",
        "owner": "ml-platform",
        "costCenter": "cc-1",
        "account": {"id": MOTO_ACCOUNT, "singletons": True},
        "homeRegion": "us-east-1",
        "regions": [
            {
                "name": "us-east-1",
                "cidr": "10.10.0.0/16",
                "azCount": 3,
                "natGateways": "single",
                "cluster": {"access": access or {"mode": "publicRestricted", "deployerCidrs": ["198.51.100.0/24"]}},
                "gpuPools": [
                    {"name": "burst", "instanceTypes": ["g5.xlarge"], "capacityType": "spot", "minNodes": 0, "maxNodes": 2},
                    {"name": "warm", "instanceTypes": ["g6.xlarge"], "capacityType": "on-demand", "minNodes": 1, "maxNodes": 3},
                ],
            }
        ],
        "budget": {"monthlyUsd": 1000, "alertEmails": ["team@example.com"]},
    }


def healthy(fake: DoctorAws) -> None:
    """An account ready for the stack: quotas above the pools' reach, the pinned builds offered."""
    fake.quotas[("us-east-1", G_SPOT)] = 64
    fake.quotas[("us-east-1", G_ON_DEMAND)] = 64
    fake.seed_pinned_builds("us-east-1")


def check(fake: DoctorAws, config: dict[str, Any], *, stacks: dict[str, Any] | None = None, deployer_ip: str | None = None, day: date = DAY) -> DoctorReport:
    probe = AwsProbe(
        clients=ClientFactory(endpoint_url=fake.url),
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, sleep=lambda _: None),
        address_lookup=address_lookup(f"{fake.url}/checkip"),
    )
    others = {name: parse(doc) for name, doc in (stacks or {}).items()}
    return run_doctor("test", "llmops-platform", parse(config), probe, day, stacks=others, deployer_ip=deployer_ip)


def findings(report: DoctorReport, name: str) -> list[Finding]:
    return [f for f in report.findings if f.check == name]


def only(report: DoctorReport, name: str) -> Finding:
    (found,) = findings(report, name)
    return found


def give_account_the_spot_role(fake: DoctorAws, tags: dict[str, str] | None = None) -> None:
    """The role as AWS names it (moto's own create_service_linked_role names it otherwise)."""
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=fake.upstream)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "spot.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(
        RoleName="AWSServiceRoleForEC2Spot",
        Path="/aws-service-role/spot.amazonaws.com/",
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    )


def test_a_ready_account_passes_every_check(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    report = check(doctor_aws, doctor_config())
    assert not report.failed, [f for f in report.findings if f.status != "pass"]
    assert {f.check for f in report.findings} == {
        "credentials", "account-owner", "eks-version", "eks-calendar", "spot-role", "zones", "quotas", "addon-builds", "api-access",
    }
    assert only(report, "eks-calendar").message == "EKS confirms Kubernetes 1.35 in standard support until 2027-03-27"
    assert only(report, "credentials").message == f"authenticated as arn:aws:sts::{MOTO_ACCOUNT}:user/moto"
    # moto maps us-east-1e to use1-az3, which EKS rejects: the VPC takes the next zones by ID
    zones = only(report, "zones")
    assert zones.message == (
        "the VPC spans use1-az1 (us-east-1b), use1-az2 (us-east-1c), use1-az4 (us-east-1d) (use1-az3 left out: EKS rejects it)"
    )
    assert only(report, "spot-role").message == "AWSServiceRoleForEC2Spot is missing; this stack creates it"
    assert {f.subject: f.status for f in findings(report, "quotas")} == {
        "us-east-1 All G and VT Spot Instance Requests": "pass",
        "us-east-1 Running On-Demand G and VT instances": "pass",
    }
    assert only(report, "api-access").message == "198.51.100.7 is allowed to the public endpoint (198.51.100.0/24)"
    assert only(report, "addon-builds").status == "pass"
    calls = {c.action for c in doctor_aws.calls}
    assert {
        "GetCallerIdentity", "GetRole", "GetServiceQuota", "DescribeAvailabilityZones", "DescribeAddonVersions", "DescribeClusterVersions",
    } <= calls


def test_credentials_for_another_account_fail_and_nothing_else_is_asked(doctor_aws: DoctorAws) -> None:
    config = doctor_config()
    config["account"]["id"] = "111122223333"
    report = check(doctor_aws, config)
    found = only(report, "credentials")
    assert (found.status, found.fix) == ("fail", "switch to credentials for 111122223333, or correct llmops:account.id")
    assert f"for account {MOTO_ACCOUNT}" in found.message
    assert {f.status for f in report.findings if f.check in ("spot-role", "zones", "quotas", "api-access")} == {"skip"}
    assert {c.action for c in doctor_aws.calls} == {"GetCallerIdentity"}


def test_the_spot_role_is_created_once_per_account(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    config = doctor_config()
    config["account"]["singletons"] = False
    missing = only(check(doctor_aws, config), "spot-role")
    assert missing.status == "fail" and "us-east-1/burst" in missing.message
    assert "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com" in missing.fix
    give_account_the_spot_role(doctor_aws)
    assert only(check(doctor_aws, config), "spot-role").status == "pass"
    config["account"]["singletons"] = True  # this stack would create the role the account has
    taken = only(check(doctor_aws, config), "spot-role")
    assert taken.status == "fail" and "set account.singletons: false" in taken.fix
    assert f"pulumi import aws:iam/serviceLinkedRole:ServiceLinkedRole account-spot arn:aws:iam::{MOTO_ACCOUNT}:role/aws-service-role" in taken.fix


def test_a_spot_role_this_stack_created_is_its_own(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    give_account_the_spot_role(doctor_aws, tags={"Stack": "test", "Project": "llmops-platform"})
    assert only(check(doctor_aws, doctor_config()), "spot-role").status == "pass"


def test_two_stacks_owning_one_accounts_singletons_fail(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    found = only(check(doctor_aws, doctor_config(), stacks={"prod": doctor_config()}), "account-owner")
    assert found.status == "fail" and "prod, test" in found.message


def test_quotas_below_the_warm_minimum_fail_and_below_the_maximum_warn(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    doctor_aws.quotas[("us-east-1", G_ON_DEMAND)] = 2  # the warm pool keeps 1 x g6.xlarge = 4 vCPUs
    doctor_aws.quotas[("us-east-1", G_SPOT)] = 4  # the burst pool reaches 2 x 4 vCPUs
    by_subject = {f.subject: f for f in findings(check(doctor_aws, doctor_config()), "quotas")}
    on_demand = by_subject["us-east-1 Running On-Demand G and VT instances"]
    assert on_demand.status == "fail" and "below the 4 vCPUs pools warm keep running" in on_demand.message
    assert on_demand.fix == (
        "aws service-quotas request-service-quota-increase --region us-east-1 --service-code ec2 --quota-code L-DB2E81BA --desired-value 12"
    )
    spot = by_subject["us-east-1 All G and VT Spot Instance Requests"]
    assert spot.status == "warn" and "stop growing before their maximum (8 vCPUs)" in spot.message


def test_a_quota_moto_cannot_report_is_a_warning(doctor_aws: DoctorAws) -> None:
    doctor_aws.seed_pinned_builds("us-east-1")
    statuses = {f.status for f in findings(check(doctor_aws, doctor_config()), "quotas")}
    assert statuses == {"warn"}  # moto has no EC2 quotas: NoSuchResourceException


def test_more_zones_than_the_account_offers_eks_fail() -> None:
    """The config refuses more zones than the region has that EKS accepts; the account may
    offer fewer still (a zone impaired or not offered to it), which only the doctor sees."""
    from llmops.doctor.checks import zones
    from llmops.doctor.probe import ZoneInfo

    config = doctor_config()
    config["regions"][0]["azCount"] = 5
    region = parse(config).region("us-east-1")
    offered = [ZoneInfo(f"us-east-1{letter}", f"use1-az{n}", "available") for letter, n in zip("abcdef", (1, 2, 3, 4, 5, 6), strict=True)]
    assert zones(region, offered).status == "pass"
    offered[5] = ZoneInfo("us-east-1f", "use1-az6", "impaired")
    found = zones(region, offered)
    assert found.status == "fail" and found.message.startswith("4 zones EKS accepts (use1-az3 left out")
    assert found.fix == "lower llmops:regions[].azCount for us-east-1 to 4"


def test_a_version_past_standard_support_fails_on_the_day_given(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    config = doctor_config()
    config["regions"][0]["cluster"]["kubernetesVersion"] = "1.35"
    assert only(check(doctor_aws, config, day=DAY), "eks-version").status == "pass"
    late = only(check(doctor_aws, config, day=date(2027, 4, 1)), "eks-version")
    assert late.status == "fail" and "extended support until 2028-03-27" in late.message


def test_eks_s_own_calendar_overrules_a_stale_version_table(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    # the table says 1.35 is in standard support until 2027-03-27; AWS moved the date
    doctor_aws.seed_cluster_version("us-east-1", "1.35", "STANDARD_SUPPORT", date(2027, 5, 1), date(2028, 5, 1))
    moved = only(check(doctor_aws, doctor_config()), "eks-calendar")
    assert moved.status == "warn" and "on 2027-05-01; the project's table (taken 2026-11-30) says 2027-03-27" in moved.message
    assert "core/catalog/data/eks_versions.json" in moved.fix
    # AWS already counts the version as extended support: the table is stale, the deploy is not safe
    doctor_aws.seed_cluster_version("us-east-1", "1.35", "EXTENDED_SUPPORT", date(2026, 11, 1), date(2027, 11, 1))
    report = check(doctor_aws, doctor_config())
    assert only(report, "eks-version").status == "pass"  # the table alone would let it through
    ended = only(report, "eks-calendar")
    assert ended.status == "fail" and "EXTENDED_SUPPORT (standard support ended 2026-11-01)" in ended.message
    assert report.failed
    # a version the region does not offer at all
    doctor_aws.cluster_versions.clear()
    missing = only(check(doctor_aws, doctor_config()), "eks-calendar")
    assert missing.status == "fail" and missing.message == "EKS does not offer Kubernetes 1.35 in us-east-1"


def test_a_pinned_build_the_region_does_not_offer_fails(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    doctor_aws.addon_builds[("us-east-1", "1.35", "coredns")] = ["v1.13.2-eksbuild.40", "v1.13.2-eksbuild.35"]
    found = only(check(doctor_aws, doctor_config()), "addon-builds")
    assert found.status == "fail"
    assert f"coredns {versions.KUBERNETES_PINS['1.35'].addons['coredns']} (offered: v1.13.2-eksbuild.40 and 1 more)" in found.message


def test_a_deployer_outside_the_allowed_ranges_has_no_path(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    doctor_aws.address = "192.0.2.44"
    found = only(check(doctor_aws, doctor_config()), "api-access")
    assert found.status == "fail"
    assert found.message == "deploys from 192.0.2.44 cannot reach the public endpoint, open to 198.51.100.0/24 only"


def test_an_existing_cluster_is_judged_by_the_endpoint_it_has(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    eks = boto3.client("eks", region_name="us-east-1", endpoint_url=doctor_aws.upstream)
    eks.create_cluster(
        name="llmops-test-us-east-1",
        roleArn=f"arn:aws:iam::{MOTO_ACCOUNT}:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"], "endpointPublicAccess": True, "endpointPrivateAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
    )
    found = only(check(doctor_aws, doctor_config(), deployer_ip="198.51.100.7"), "api-access")
    # the live endpoint admits 203.0.113.0/24 only: this deploy cannot reach it yet
    assert found.status == "fail" and "open to 203.0.113.0/24 only" in found.message


def test_private_paths_say_how_deploys_get_in(doctor_aws: DoctorAws) -> None:
    healthy(doctor_aws)
    tunnel = only(check(doctor_aws, doctor_config(mode="private", deployFrom="ssmTunnel")), "api-access")
    assert tunnel.status == "pass" and "--exclude '**kubernetes**' --exclude-dependents" in tunnel.fix
    runner = doctor_config(mode="private", deployFrom="vpcRunner", runnerCidrs=["10.100.0.0/24"])
    assert only(check(doctor_aws, runner), "api-access").status == "warn"  # a laptop is no runner
    assert only(check(doctor_aws, runner, deployer_ip="10.100.0.17"), "api-access").status == "pass"
    assert only(check(doctor_aws, runner, deployer_ip="10.200.0.17"), "api-access").status == "fail"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([LLMOPS, "doctor", *args], env=full, capture_output=True, text=True, timeout=120)


def test_the_cli_prints_a_table_and_exits_non_zero_on_a_failure(doctor_aws: DoctorAws, tmp_path: Path) -> None:
    healthy(doctor_aws)
    project = write_project(tmp_path / "p", config=doctor_config())
    common = ("--stack", "test", "--program", str(project), "--endpoint-url", doctor_aws.url, "--today", "2026-11-30")
    ok = run_cli(*common, "--ip-lookup", f"{doctor_aws.url}/checkip")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "llmops doctor: stack test, account 123456789012, 2026-11-30" in ok.stdout
    assert "ready to deploy (" in ok.stdout and "not ready" not in ok.stdout
    doctor_aws.address = "192.0.2.44"
    failed = run_cli(*common, "--ip-lookup", f"{doctor_aws.url}/checkip", "--json")
    assert failed.returncode == 1, failed.stderr
    document = json.loads(failed.stdout)
    assert document["ok"] is False and document["counts"]["fail"] == 1
    (access,) = [f for f in document["findings"] if f["check"] == "api-access"]
    assert access["status"] == "fail" and access["fix"].startswith("add the range deploys come from")


def test_the_cli_refuses_bad_input_clearly(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", config=doctor_config())
    unknown = run_cli("--stack", "qa", "--program", str(project))
    assert unknown.returncode == 2 and "no stack 'qa'" in unknown.stderr
    bad_day = run_cli("--stack", "test", "--program", str(project), "--today", "soon")
    assert bad_day.returncode == 2 and "--today 'soon' is not a date" in bad_day.stderr
