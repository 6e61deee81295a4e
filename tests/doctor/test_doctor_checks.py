"""The decisions of ``llmops doctor`` on their own: no AWS, plain observations in."""

from __future__ import annotations

from typing import Any

from llmops.capacity.models import QuotaObservation
from llmops.doctor import checks
from llmops.doctor.probe import CallerIdentity, ClusterInfo, ProbeError, ZoneInfo
from stacks.config import RegionConfig, parse
from tests.support import valid_config


def region(**changes: Any) -> RegionConfig:
    doc = valid_config()
    doc["regions"][1].update(changes)
    return parse(doc).region("us-west-2")


def test_vcpu_needs_add_up_per_quota_code() -> None:
    pools = [
        {"name": "l4", "instanceTypes": ["g6.xlarge", "g6.2xlarge"], "capacityType": "on-demand", "minNodes": 1, "maxNodes": 3},
        {"name": "a10g", "instanceTypes": ["g5.xlarge"], "capacityType": "on-demand", "minNodes": 2, "maxNodes": 2},
        {"name": "h100", "instanceTypes": ["p5.48xlarge"], "capacityType": "spot", "minNodes": 0, "maxNodes": 1},
    ]
    needs = {n.code: n for n in checks.vcpu_needs(region(gpuPools=pools))}
    on_demand = needs["L-DB2E81BA"]
    # l4: 1 x g6.xlarge (4) kept, up to 3 x g6.2xlarge (8); a10g: 2 x g5.xlarge (4) both ways
    assert (on_demand.minimum, on_demand.maximum, on_demand.pools) == (4 + 8, 24 + 8, ("l4", "a10g"))
    spot_p = needs["L-7212CCBC"]
    assert (spot_p.minimum, spot_p.maximum) == (0, 192)
    assert checks.quota("us-west-2", spot_p, QuotaObservation("L-7212CCBC", "All P Spot Instance Requests", 192.0)).status == "pass"


def test_credentials_that_do_not_work_fail_with_how_to_set_them() -> None:
    found = checks.credentials("111122223333", ProbeError("NoCredentials", "Unable to locate credentials"))
    assert found.status == "fail" and found.fix == checks.CREDENTIALS_FIX
    ok = checks.credentials("111122223333", CallerIdentity("111122223333", "arn:aws:iam::111122223333:role/deployer"))
    assert ok.status == "pass"


def test_only_available_zones_of_the_region_count() -> None:
    zones = [
        ZoneInfo("us-west-2a", "usw2-az2", "available"),
        ZoneInfo("us-west-2b", "usw2-az1", "impaired"),
        ZoneInfo("us-west-2-lax-1a", "usw2-lax1-az1", "available", "local-zone"),
        ZoneInfo("us-west-2c", "usw2-az3", "available"),
    ]
    found = checks.zones(region(azCount=3), zones)
    assert found.status == "fail" and found.message.startswith("2 zones EKS accepts")
    denied = checks.zones(region(), ProbeError("UnauthorizedOperation", "not allowed"))
    assert denied.status == "fail" and denied.fix.startswith("grant the identity ec2:DescribeAvailabilityZones")


def test_an_existing_private_cluster_needs_a_deploy_from_inside() -> None:
    doc = valid_config()
    doc["regions"] = [{"name": "us-east-1", "cidr": "10.10.0.0/16", "cluster": {"existing": {"clusterName": "shared"}}}]
    existing = parse(doc).regions[0]
    private = ClusterInfo("shared", "1.35", "https://X.gr7.us-east-1.eks.amazonaws.com", False, True, (), "ACTIVE")
    assert checks.api_access(existing, "shared", private, "198.51.100.7").status == "warn"
    public = ClusterInfo("shared", "1.35", "https://X", True, True, ("198.51.100.0/24",), "ACTIVE")
    assert checks.api_access(existing, "shared", public, "198.51.100.7").status == "pass"
    assert checks.api_access(existing, "shared", None, "198.51.100.7").status == "fail"


def test_unknown_addresses_and_unpinned_versions_do_not_fail() -> None:
    assert checks.api_access(parse(valid_config()).regions[0], "c", None, None).status == "warn"
    assert checks.addon_builds("us-east-1", "1.36", {}).status == "pass"
    assert checks.addon_builds("us-east-1", "1.35", {"vpc-cni": ProbeError("AccessDeniedException", "")}).status == "warn"
