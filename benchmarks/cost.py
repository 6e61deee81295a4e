"""Cost model speed: pricing the prod stack's offline plan, and a synthetic 5,000-resource
plan (GPU pools, node groups, NAT, endpoints, logs, data services and free resources in
proportions like a large multi-region platform, over the regions the catalogue prices).

The plan itself is run once and not timed (``benchmarks/plan_scaling.py`` covers that); the
timed part is ``estimate_plan`` plus ``to_document`` (what ``llmops cost --json`` adds).
Each figure is the median of REPEAT runs in this process, after one warm-up run.
Targets: prod under 1 s, 5,000 resources under 5 s.

Usage: python benchmarks/cost.py [--repeat N] [--resources N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.catalog.prices import load_prices  # noqa: E402
from llmops.cost import estimate_plan  # noqa: E402
from llmops.engine import PlanResult, ResourceRecord, plan  # noqa: E402
from llmops.engine.project import StackConfig  # noqa: E402
from stacks.config import UsageConfig  # noqa: E402

# Shapes repeated per synthetic region: (type, inputs, count per region).
_NODEPOOL = {
    "metadata": {"name": "pool", "annotations": {"llmops.io/min-nodes": "0", "llmops.io/max-nodes": "8"}},
    "spec": {"template": {"spec": {"requirements": [
        {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["g6e.2xlarge", "g6e.xlarge", "g6e.4xlarge"]},
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]},
    ]}}, "limits": {"nvidia.com/gpu": "8"}},
}
SHAPES: list[tuple[str, dict[str, Any], int]] = [
    ("kubernetes:karpenter.sh/v1:NodePool", _NODEPOOL, 4),
    ("aws:eks/nodeGroup:NodeGroup", {"instanceTypes": ["g5.2xlarge"], "capacityType": "ON_DEMAND",
                                     "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 1}}, 2),
    ("aws:eks/cluster:Cluster", {"version": "1.34"}, 1),
    ("aws:ec2/natGateway:NatGateway", {}, 3),
    ("aws:ec2/eip:Eip", {"domain": "vpc"}, 3),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b", "c"]}, 4),
    ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30}, 3),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {"period": 60}, 6),
    ("aws:kms/key:Key", {}, 1),
    ("aws:sqs/queue:Queue", {}, 1),
    ("aws:elasticache/serverlessCache:ServerlessCache", {"engine": "valkey"}, 1),
    ("aws:s3/bucket:Bucket", {}, 1),
    ("aws:ec2/subnet:Subnet", {"cidrBlock": "10.0.0.0/20"}, 6),
    ("aws:ec2/routeTable:RouteTable", {}, 4),
    ("aws:ec2/routeTableAssociation:RouteTableAssociation", {}, 6),
    ("aws:iam/role:Role", {"assumeRolePolicy": "{}"}, 6),
    ("aws:ec2/securityGroup:SecurityGroup", {}, 3),
    ("kubernetes:apps/v1:Deployment", {"spec": {"replicas": 2}}, 4),
    ("aws:dynamodb/table:Table", {}, 1),  # unpriced on purpose
]


def synthetic_plan(target: int) -> PlanResult:
    """A plan of about ``target`` resources over the catalogue's regions (repeated)."""
    regions = load_prices().regions
    records: list[ResourceRecord] = []
    index = 0
    while len(records) < target:
        region = regions[index % len(regions)]
        component = f"urn:pulumi:bench::bench::llmops:bench:Region::r{index}"
        records.append(ResourceRecord(
            urn=component, type="llmops:bench:Region", name=f"r{index}", custom=False, parent=None,
            provider=None, providers={}, dependencies=[], property_dependencies={}, inputs={}, region=region,
        ))
        for type_, inputs, count in SHAPES:
            for n in range(count):
                name = f"r{index}-{type_.rsplit(':', 1)[-1].lower()}-{n}"
                records.append(ResourceRecord(
                    urn=f"urn:pulumi:bench::bench::llmops:bench:Region${type_}::{name}", type=type_, name=name,
                    custom=True, parent=component, provider=None, providers={}, dependencies=[],
                    property_dependencies={}, inputs=inputs, region=region,
                ))
        index += 1
    records = records[:target]
    config = StackConfig(stack="bench", source=Path("Pulumi.bench.yaml"), values={}, secret_keys=[])
    return PlanResult(project="bench", stack="bench", program_dir=ROOT, resources=records, outputs={},
                      config=config, unmocked_calls=[])


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    work()  # warm-up: imports, catalogue load
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--resources", type=int, default=5000)
    args = parser.parse_args()

    start = time.perf_counter()
    prod = plan("prod", ROOT)
    plan_seconds = time.perf_counter() - start
    prod_seconds = median_seconds(lambda: estimate_plan(prod).to_document(), args.repeat)
    prod_estimate = estimate_plan(prod)

    synthetic = synthetic_plan(args.resources)
    usage = UsageConfig()
    synthetic_seconds = median_seconds(lambda: estimate_plan(synthetic, usage).to_document(), args.repeat)
    synthetic_estimate = estimate_plan(synthetic, usage)

    print(f"cost model benchmark (median of {args.repeat} runs, after one warm-up)")
    print(
        f"  prod stack      {len(prod.resources):>6} resources  {prod_seconds * 1000:8.1f} ms  "
        f"(target < 1000 ms; plan itself {plan_seconds:.2f} s, not included)  "
        f"total ${prod_estimate.total.expected:,.2f} expected / ${prod_estimate.total.min:,.2f} min"
    )
    print(
        f"  synthetic plan  {len(synthetic.resources):>6} resources  {synthetic_seconds * 1000:8.1f} ms  "
        f"(target < 5000 ms)  {len(synthetic_estimate.unpriced)} unpriced, "
        f"total ${synthetic_estimate.total.expected:,.2f} expected"
    )
    ok = prod_seconds < 1.0 and synthetic_seconds < 5.0
    print("  targets met" if ok else "  TARGET MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
