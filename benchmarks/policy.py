"""Policy runner speed: both packs (security: 42 policies, cost: 8) through their real analyzers.

1. A synthetic stack of 5,000 resources: the prod stack's offline plan (three regions of
   network, EKS, Karpenter and node groups) copied until it reaches the size, every copy
   with its own URNs, parents, providers and dependencies. Timed two ways:
   - ``end to end``: ``run_packs`` as ``llmops plan`` calls it: build the gRPC messages,
     start both pack processes in parallel, configure them, ``Analyze`` every resource and
     ``AnalyzeStack`` once (the cost pack's budget policy prices the whole stack);
   - ``analyzers only``: the packs already running, the messages already built.
   The same is run over a *lean* 5,000-resource stack (one-line resources: subnets, routes,
   security groups, roles, GPU node groups; the shape of the cost benchmark's synthetic
   plan), which shows the fixed per-call cost of the analyzer protocol.
2. The time ``run_policies`` adds to ``llmops plan --stack prod``.

Each figure is the median of REPEAT runs after one warm-up: wall-clock seconds, and the CPU
seconds the run cost (this process and the pack processes it started, which a busy shared
machine does not inflate). Target: both packs over the 5,000-resource stack in under 5 s.

Usage: python benchmarks/policy.py [--repeat N] [--resources N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmops.engine import PlanResult, ResourceRecord, plan  # noqa: E402
from llmops.policy import PackSession, default_packs, from_plan, run_packs, run_policies  # noqa: E402
from llmops.policy.config import load_config_file  # noqa: E402
from llmops.policy.runner import config_file_for  # noqa: E402
from llmops.policy.wire import messages  # noqa: E402

STACK_TYPE = "pulumi:pulumi:Stack"


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pack processes)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU: dict[str, float] = {}
"""Median CPU seconds of the last ``_median`` run, by label."""


def _median(run: Callable[[], Any], repeat: int, label: str = "") -> tuple[float, Any]:
    result = run()  # warm-up
    times, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), _cpu()
        result = run()
        times.append(time.perf_counter() - started)
        cpu.append(_cpu() - cpu_started)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times), result


def synthetic(base: PlanResult, size: int) -> PlanResult:
    """``base``'s resources copied until there are ``size`` (the stack resource once)."""
    stack = [r for r in base.resources if r.type == STACK_TYPE]
    rest = [r for r in base.resources if r.type != STACK_TYPE]
    stack_urns = {r.urn for r in stack}
    records: list[ResourceRecord] = list(stack)
    copy = 0
    while len(records) < size:
        suffix = f"-x{copy}"

        def rename(urn: str | None, suffix: str = suffix) -> str | None:
            return urn if urn is None or urn in stack_urns else urn + suffix

        for r in rest:
            if len(records) >= size:
                break
            records.append(
                dataclasses.replace(
                    r,
                    urn=rename(r.urn) or r.urn,
                    name=r.name + suffix,
                    parent=rename(r.parent),
                    provider=rename(r.provider),
                    providers={k: rename(v) or v for k, v in r.providers.items()},
                    dependencies=[rename(d) or d for d in r.dependencies],
                    property_dependencies={
                        k: [rename(d) or d for d in v] for k, v in r.property_dependencies.items()
                    },
                )
            )
        copy += 1
    return dataclasses.replace(base, resources=records)


LEAN_SHAPES: list[tuple[str, dict[str, Any]]] = [
    ("aws:ec2/subnet:Subnet", {"cidrBlock": "10.0.0.0/20", "vpcId": "vpc-1"}),
    ("aws:ec2/routeTable:RouteTable", {"vpcId": "vpc-1"}),
    ("aws:ec2/route:Route", {"destinationCidrBlock": "0.0.0.0/0", "routeTableId": "rtb-1"}),
    ("aws:ec2/securityGroup:SecurityGroup", {"vpcId": "vpc-1", "description": "nodes"}),
    ("aws:iam/role:Role", {"assumeRolePolicy": '{"Statement": []}'}),
    ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30}),
    (
        "aws:eks/nodeGroup:NodeGroup",
        {
            "instanceTypes": ["g6e.xlarge"],
            "capacityType": "SPOT",
            "scalingConfig": {"minSize": 0, "maxSize": 2},
        },
    ),
    ("aws:kms/key:Key", {"enableKeyRotation": True}),
]


def lean(base: PlanResult, size: int, regions: int = 10) -> PlanResult:
    """A stack of ``size`` small resources over ``regions`` explicit AWS providers."""
    stack = next(r for r in base.resources if r.type == STACK_TYPE)
    tags = '{"tags": {"Project": "p", "Stack": "s", "Environment": "prod", "Owner": "o", "CostCenter": "c"}}'
    names = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]
    records: list[ResourceRecord] = [stack]
    providers = []
    for i in range(regions):
        region = names[i % len(names)]
        urn = f"urn:pulumi:prod::llmops-platform::pulumi:providers:aws::aws-{i}"
        providers.append(urn)
        records.append(
            ResourceRecord(
                urn=urn,
                type="pulumi:providers:aws",
                name=f"aws-{i}",
                custom=True,
                parent=stack.urn,
                provider=None,
                providers={},
                dependencies=[],
                property_dependencies={},
                inputs={"region": region, "defaultTags": tags},
            )
        )
    i = 0
    while len(records) < size:
        type_, inputs = LEAN_SHAPES[i % len(LEAN_SHAPES)]
        name = f"r{i}"
        records.append(
            ResourceRecord(
                urn=f"urn:pulumi:prod::llmops-platform::{type_}::{name}",
                type=type_,
                name=name,
                custom=True,
                parent=stack.urn,
                provider=providers[i % regions],
                providers={},
                dependencies=[],
                property_dependencies={},
                inputs=dict(inputs),
                outputs=dict(inputs),
            )
        )
        i += 1
    return dataclasses.replace(base, resources=records)


def analyzers_only(result: PlanResult, repeat: int) -> tuple[float, int]:
    """Median seconds for both running packs to analyze the prebuilt messages in parallel."""
    resources = from_plan(result)
    requests, stack = messages(resources)
    environment = result.config.values.get("llmops:environment", result.stack)
    sessions = [
        PackSession(
            p, stack=result.stack, project=result.project, config_values=result.config.values
        )
        for p in default_packs()
    ]
    try:
        for session in sessions:
            config = config_file_for(session.pack_dir, environment)
            session.configure(load_config_file(config) if config else {})

        def both() -> int:
            counts: list[int] = []
            threads = [
                threading.Thread(
                    target=lambda s=s: counts.append(len(s.run(requests, stack).violations))
                )
                for s in sessions
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sum(counts)

        seconds, violations = _median(both, repeat)
        return seconds, violations
    finally:
        for session in sessions:
            session.close()


def both_packs(result: PlanResult, resources: Any) -> Any:
    """``run_packs`` over ``resources`` (``result``'s, converted once) as ``llmops plan`` runs it."""
    return run_packs(
        resources,
        stack=result.stack,
        project=result.project,
        environment="prod",
        config_values=result.config.values,
    )

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed runs per figure (median reported)"
    )
    parser.add_argument("--resources", type=int, default=5000, help="size of the synthetic stack")
    args = parser.parse_args()

    prod = plan("prod", ROOT)
    big = synthetic(prod, args.resources)
    print(
        f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; median of {args.repeat} run(s) after a warm-up"
    )

    resources = from_plan(big)
    load = os.getloadavg()[0]
    end_to_end, report = _median(
        lambda: both_packs(big, resources),
        args.repeat,
        "big",
    )
    n = len(big.resources)
    print(
        f"load average {load:.1f} on {os.cpu_count()} CPU(s) when the runs started (other work slows the wall-clock figures, not the CPU ones)"
    )
    print(
        f"synthetic stack, {n} resources, both packs ({', '.join(f'{p.name}: {p.policies} policies' for p in report.packs)}):"
    )
    print(
        f"  end to end (start packs, Analyze x{n}, AnalyzeStack): {end_to_end:.2f} s  ({n / end_to_end:,.0f} resources/s)  "
        f"[target < 5 s: {'met' if end_to_end < 5 else 'missed'}]; CPU {CPU['big']:.2f} s (runner and both packs)"
    )
    only, violations = analyzers_only(big, args.repeat)
    print(
        f"  analyzers only (packs running, messages built):       {only:.2f} s  ({n / only:,.0f} resources/s)  {violations} violation(s)"
    )
    small = lean(prod, args.resources)
    small_resources = from_plan(small)
    lean_seconds, _ = _median(
        lambda: both_packs(small, small_resources),
        args.repeat,
        "lean",
    )
    lean_only, _ = analyzers_only(small, args.repeat)
    print(f"lean synthetic stack, {len(small.resources)} one-line resources, both packs:")
    print(
        f"  end to end: {lean_seconds:.2f} s  ({len(small.resources) / lean_seconds:,.0f} resources/s)  "
        f"[target < 5 s: {'met' if lean_seconds < 5 else 'missed'}]; CPU {CPU['lean']:.2f} s; analyzers only: {lean_only:.2f} s"
    )

    plan_only, _ = _median(lambda: plan("prod", ROOT), args.repeat)
    with_policy, prod_report = _median(lambda: run_policies(plan("prod", ROOT)), args.repeat)
    print(f"llmops plan --stack prod ({len(prod.resources)} resources):")
    print(
        f"  plan alone {plan_only:.2f} s; plan + policy {with_policy:.2f} s; policy adds {with_policy - plan_only:.2f} s "
        f"({prod_report.mandatory_count} mandatory, {prod_report.advisory_count} advisory violation(s))"
    )


if __name__ == "__main__":
    main()
