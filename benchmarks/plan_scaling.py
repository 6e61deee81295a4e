"""Offline plan time, peak memory and resource count for 1, 3, 10 and 30 regions, beside
the floor: a bare pulumi_aws script registering as many resources under the same SDK mocks.

Each measurement is a fresh Python process (imports included, as a user pays them), run
REPEAT times; the median is reported. Usage: python benchmarks/plan_scaling.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import catalog  # noqa: E402

PLAN_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from llmops.engine import plan
result = plan(sys.argv[1], sys.argv[2])
elapsed = time.perf_counter() - t0
count = sum(1 for r in result.resources if r.type != "pulumi:pulumi:Stack")
print(json.dumps({"seconds": elapsed, "resources": count,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FLOOR_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import pulumi, pulumi_aws as aws
from pulumi.runtime import Mocks, set_mocks
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

class Echo(Mocks):
    def new_resource(self, args):
        return args.name + "-id", dict(args.inputs)
    def call(self, args):
        return {}, []

set_mocks(Echo(), project="floor", stack="floor", preview=False)
count = int(sys.argv[1])
provider = aws.Provider("p", region="us-east-1")
for i in range(count - 1):
    aws.ec2.Subnet(f"s{i}", vpc_id="vpc-1", cidr_block="10.0.0.0/24", tags={"Name": f"s{i}"},
                   opts=pulumi.ResourceOptions(provider=provider))
_sync_await(wait_for_rpcs())
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "resources": count,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def config_for(region_count: int) -> dict[str, object]:
    names = sorted(catalog.regions())[:region_count]
    if len(names) < region_count:
        raise SystemExit(f"the catalogue knows {len(names)} regions; cannot plan {region_count}")
    regions = [
        {
            "name": name,
            "cidr": f"10.{i}.0.0/16",
            "azCount": 2,
            "natGateways": "single",
            "gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "capacityType": "spot", "minNodes": 0, "maxNodes": 2}],
        }
        for i, name in enumerate(names)
    ]
    values = {
        "pulumi:disable-default-providers": ["aws", "kubernetes"],
        "llmops:environment": "dev",
        "llmops:owner": "bench",
        "llmops:costCenter": "cc-bench",
        "llmops:homeRegion": names[0],
        "llmops:regions": regions,
        "llmops:budget": {"monthlyUsd": 100000, "alertEmails": ["bench@example.com"]},
        # Every region serves (KubeRay, the RayService, an NLB) under one name.
        "llmops:serving": {
            "release": {
                "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray2.60.0-0123456789ab@sha256:" + "0" * 64,
                "modelId": "Qwen/Qwen2.5-7B-Instruct",
                "modelRevision": "a09a35458c702b33eeacc393d103063234e8bc28",
                "modelParameterCountB": 7.6,
            },
            "entry": {"hostedZoneId": "Z0761438V1CZ8EXAMPLE", "recordName": "llm.bench.example.com"},
        },
    }
    return values


def measure(code: str, *args: str, repeat: int) -> dict[str, float]:
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "resources": runs[0]["resources"],
        "peak_mib": statistics.median(r["peak_mib"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 3, 10, 30])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "Pulumi.yaml").write_text(
            yaml.safe_dump({"name": "llmops-platform", "runtime": "python", "main": str(ROOT / "stacks")})
        )
        for size in args.sizes:
            (project / f"Pulumi.r{size}.yaml").write_text(yaml.safe_dump({"config": config_for(size)}))
            ours = measure(PLAN_CHILD, f"r{size}", str(project), repeat=args.repeat)
            floor = measure(FLOOR_CHILD, str(ours["resources"]), repeat=args.repeat)
            rows.append((size, ours, floor))
    print(f"{'regions':>7} {'resources':>9} {'plan s':>8} {'floor s':>8} {'ratio':>6} {'plan MiB':>9} {'floor MiB':>9} {'ms/res':>7}")
    for size, ours, floor in rows:
        print(
            f"{size:>7} {ours['resources']:>9} {ours['seconds']:>8.2f} {floor['seconds']:>8.2f} "
            f"{ours['seconds'] / floor['seconds']:>6.2f} {ours['peak_mib']:>9.0f} {floor['peak_mib']:>9.0f} "
            f"{1000 * ours['seconds'] / ours['resources']:>7.2f}"
        )
    if len(rows) >= 2:
        (s0, a, _), (s1, b, _) = rows[0], rows[-1]
        per_region = (b["seconds"] - a["seconds"]) / (s1 - s0)
        print(f"marginal cost per region: {per_region:.3f} s ({(b['resources'] - a['resources']) / (s1 - s0):.0f} resources)")
    print(f"(median of {args.repeat} fresh processes each)")


if __name__ == "__main__":
    main()
