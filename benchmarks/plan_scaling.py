"""Offline plan time at 1, 3, 10 and 30 regions, against a floor.

The floor is the least any offline plan of the same program can cost: a bare script that
imports the same provider modules and registers the same resources (same types, names,
parents, providers and recorded inputs, through the same generated SDK classes) under the
SDK's own mock runtime, as a preview, with mocks that only echo inputs, and waits for
every registration. Three figures per size, each the median of REPEAT fresh processes
(imports included, as a user pays them):

- floor: the bare script;
- floor, tuned: the same script with the garbage-collector settings the engine uses for a
  run (objects imported before it frozen, ``GC_THRESHOLD``), so the engine's own work can
  be told apart from its collector tuning, which any script could copy;
- engine: ``llmops.engine.plan`` (the program, the engine's mocks, recording, regions);
- full: what ``llmops plan --json`` does: the engine, the plan document, the cost estimate,
  the policy packs and the validation of every rendered Kubernetes object and Helm values
  (its wall-time share is printed as "valid s").

Wall and CPU time are both printed (CPU includes the policy packs' processes); on a
machine shared with other work, CPU time is the figure that compares.

Usage: python benchmarks/plan_scaling.py [--repeat N] [--sizes 1 3 10 30]
Targets: engine within 2.0x of the floor, full within 2.5x.
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
from llmops.engine.runner import GC_THRESHOLD  # noqa: E402

ENGINE_CHILD = """
import json, resource, sys, time
t0, cpu0 = time.perf_counter(), time.process_time()
from llmops.engine import plan
result = plan(sys.argv[1], sys.argv[2])
elapsed = time.perf_counter() - t0
count = sum(1 for r in result.resources if r.type != "pulumi:pulumi:Stack")
print(json.dumps({"seconds": elapsed, "cpu": time.process_time() - cpu0, "resources": count,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

FULL_CHILD = """
import json, resource, sys, time
t0, cpu0 = time.perf_counter(), time.process_time()
from llmops.cost import estimate_plan
from llmops.engine import plan
from llmops.engine.report import dumps, plan_document
from llmops.policy import run_policies
from llmops.validation import validate_plan
result = plan(sys.argv[1], sys.argv[2])
document = plan_document(result)
document["cost"] = estimate_plan(result).to_document()
document["policy"] = run_policies(result).to_document()
t1 = time.perf_counter()
validation = validate_plan(result)
assert validation.passed, [str(p) for p in validation.errors]
document["validation"] = validation.to_document()
t2 = time.perf_counter()
text = dumps(document)
elapsed = time.perf_counter() - t0
count = sum(1 for r in result.resources if r.type != "pulumi:pulumi:Stack")
packs = resource.getrusage(resource.RUSAGE_CHILDREN)  # the policy packs run as their own processes
cpu = time.process_time() - cpu0 + packs.ru_utime + packs.ru_stime
print(json.dumps({"seconds": elapsed, "cpu": cpu, "resources": count, "validation": t2 - t1,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# Writes what the floor registers: every resource in registration order (parents and
# providers first), with its recorded inputs made plain (secrets unwrapped).
RECORD_CHILD = """
import json, sys
from llmops.engine import plan
from llmops.engine.mocks import unwrap_secrets
from llmops.engine.report import json_safe
result = plan(sys.argv[1], sys.argv[2])
records = {r.urn: r for r in result.resources if r.type != "pulumi:pulumi:Stack"}
order, seen = [], set()
def visit(urn):
    if urn in seen or urn not in records:
        return
    seen.add(urn)
    r = records[urn]
    for before in [r.parent, r.provider, *r.providers.values()]:
        visit(before)
    order.append(r)
for urn in records:
    visit(urn)
json.dump([{"urn": r.urn, "type": r.type, "name": r.name, "custom": r.custom, "parent": r.parent,
            "provider": r.provider, "providers": r.providers, "inputs": json_safe(unwrap_secrets(r.inputs))}
           for r in order], open(sys.argv[3], "w"))
"""

FLOOR_CHILD = """
import json, resource, sys, time
records = json.load(open(sys.argv[1]))
t0, cpu0 = time.perf_counter(), time.process_time()
import asyncio, importlib
import pulumi
from pulumi import _types
from pulumi.runtime import Mocks, rpc, set_mocks
from pulumi.runtime.stack import wait_for_rpcs
from pulumi.runtime.sync_await import _sync_await

class Echo(Mocks):
    def new_resource(self, args):
        return args.name + "-id", dict(args.inputs)
    def call(self, args):
        return {}, []

set_mocks(Echo(), project="floor", stack="floor", preview=True)

def resource_class(token):
    package, module, kind = token.split(":")
    if token.startswith("pulumi:providers:"):
        return importlib.import_module("pulumi_" + kind.replace("-", "_")).Provider
    for candidate in rpc._RESOURCE_MODULES.get(f"{package}:{module}", []):
        name = candidate.mod_info["classes"].get(token)
        if name:
            return getattr(importlib.import_module(candidate.mod_info["fqn"]), name)
    importlib.import_module("pulumi_" + package.replace("-", "_"))  # registers the package's modules
    for candidate in rpc._RESOURCE_MODULES.get(f"{package}:{module}", []):
        name = candidate.mod_info["classes"].get(token)
        if name:
            return getattr(importlib.import_module(candidate.mod_info["fqn"]), name)
    if package == "kubernetes":  # a custom resource: the SDK's generic class
        return importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource
    raise SystemExit(f"no SDK class for {token}")

def kwargs_for(cls, inputs, provider):
    module = sys.modules[cls.__module__]
    args_cls = getattr(module, cls.__name__ + "InitArgs", None) or getattr(module, cls.__name__ + "Args", None)
    names = {v: k for k, v in _types.input_type_py_to_pulumi_names(args_cls).items()} if args_cls else {}
    names.setdefault("apiVersion", "api_version")
    kwargs = {}
    for key, value in inputs.items():
        if provider and isinstance(value, str) and value[:1] in "{[":
            value = json.loads(value)  # provider inputs carry nested values as JSON text
        kwargs[names.get(key, key)] = value
    return kwargs

made = {}
for r in records:
    opts = pulumi.ResourceOptions(
        parent=made.get(r["parent"]),
        provider=made.get(r["provider"]),
        providers={k: made[v] for k, v in r["providers"].items() if v in made} or None,
    )
    if not r["custom"]:
        component = pulumi.ComponentResource(r["type"], r["name"], None, opts)
        component.register_outputs({})
        made[r["urn"]] = component
        continue
    cls = resource_class(r["type"])
    is_provider = r["type"].startswith("pulumi:providers:")
    made[r["urn"]] = cls(r["name"], opts=opts, **kwargs_for(cls, r["inputs"], is_provider))
_sync_await(wait_for_rpcs())
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "cpu": time.process_time() - cpu0, "resources": len(records),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


TUNED_FLOOR_CHILD = f"import gc\ngc.freeze()\ngc.set_threshold(*{GC_THRESHOLD!r})\n" + FLOOR_CHILD


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
            "cluster": {"access": {"mode": "publicRestricted", "deployerCidrs": ["203.0.113.0/24"]}},
            "gpuPools": [{"name": "gpu", "instanceTypes": ["g5.xlarge"], "capacityType": "spot", "minNodes": 0, "maxNodes": 2}],
        }
        for i, name in enumerate(names)
    ]
    return {
        "pulumi:disable-default-providers": ["aws", "kubernetes"],
        "llmops:environment": "dev",
        "llmops:owner": "bench",
        "llmops:costCenter": "cc-bench",
        "llmops:account": {"id": "123456789012", "singletons": True},
        "llmops:homeRegion": names[0],
        "llmops:regions": regions,
        "llmops:budget": {"monthlyUsd": 100000, "alertEmails": ["bench@example.com"], "anomaly": {"enabled": False}},
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


def run_child(code: str, *args: str) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def measure(code: str, *args: str, repeat: int) -> dict[str, float]:
    runs = [run_child(code, *args) for _ in range(repeat)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "resources": runs[0]["resources"],
        "peak_mib": statistics.median(r["peak_mib"] for r in runs),
        "validation": statistics.median(r.get("validation", 0.0) for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 3, 10, 30])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "Pulumi.yaml").write_text(
            yaml.safe_dump({"name": "llmops-platform", "runtime": "python", "main": str(ROOT / "stacks")})
        )
        for size in args.sizes:
            stack = f"r{size}"
            (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config_for(size)}))
            records = project / f"{stack}.records.json"
            subprocess.run([sys.executable, "-c", RECORD_CHILD, stack, str(project), str(records)], cwd=ROOT, check=True)
            floor = measure(FLOOR_CHILD, str(records), repeat=args.repeat)
            tuned = measure(TUNED_FLOOR_CHILD, str(records), repeat=args.repeat)
            engine = measure(ENGINE_CHILD, stack, str(project), repeat=args.repeat)
            full = measure(FULL_CHILD, stack, str(project), repeat=args.repeat)
            rows.append((size, floor, engine, full, tuned))
            print(f"  {size} region(s) measured", file=sys.stderr)
    for figure, unit in (("seconds", "wall s"), ("cpu", "CPU s")):
        print(
            f"{'regions':>7} {'resources':>9} {'floor ' + unit:>12} {'engine':>7} {'ratio':>6} {'full':>7} {'ratio':>6}"
            + f" {'tuned':>7} {'engine':>6} {'full':>6}"
            + (f" {'valid s':>7} {'floor MiB':>9} {'engine MiB':>10} {'full MiB':>8}" if figure == "seconds" else "")
        )
        for size, floor, engine, full, tuned in rows:
            print(
                f"{size:>7} {engine['resources']:>9.0f} {floor[figure]:>12.2f} {engine[figure]:>7.2f} "
                f"{engine[figure] / floor[figure]:>6.2f} {full[figure]:>7.2f} {full[figure] / floor[figure]:>6.2f}"
                f" {tuned[figure]:>7.2f} {engine[figure] / tuned[figure]:>6.2f} {full[figure] / tuned[figure]:>6.2f}"
                + (f" {full['validation']:>7.2f} {floor['peak_mib']:>9.0f} {engine['peak_mib']:>10.0f} {full['peak_mib']:>8.0f}" if figure == "seconds" else "")
            )
    if len(rows) >= 2:
        (s0, _, a, _, _), (s1, _, b, _, _) = rows[0], rows[-1]
        wall, cpu = ((b[f] - a[f]) / (s1 - s0) for f in ("seconds", "cpu"))
        print(f"engine: marginal cost per region {wall:.3f} s wall, {cpu:.3f} s CPU ({(b['resources'] - a['resources']) / (s1 - s0):.0f} resources)")
    print(
        f"(median of {args.repeat} fresh processes each; CPU includes the policy packs' processes; "
        "targets: engine <= 2.0x floor, full <= 2.5x floor; 'tuned' is the floor with the engine's collector "
        "settings, and the two ratios after it compare against that)"
    )


if __name__ == "__main__":
    main()
