"""Checkov/AWSGuard coverage of the policy packs: refresh the registry snapshot, check
``policies/coverage.yaml`` against it, and render ``docs/policy-coverage.md``.

    python scripts/policy_coverage.py refresh   # needs checkov: rewrites policies/checkov_registry.json
    python scripts/policy_coverage.py check     # coverage.yaml vs the snapshot (and the live registry if checkov imports)
    python scripts/policy_coverage.py render    # rewrites docs/policy-coverage.md

``checkov`` pins older boto3/packaging than the project, so install it apart from the
project's virtualenv and run ``refresh`` and ``check`` with that interpreter::

    python3 -m venv /tmp/checkov && /tmp/checkov/bin/pip install checkov pyyaml
    /tmp/checkov/bin/python scripts/policy_coverage.py refresh

``render`` reads the packs (which policy checks which type), so it runs in the project's
virtualenv.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from policies import coverage  # noqa: E402

DOC = ROOT / "docs" / "policy-coverage.md"


def policies_by_type() -> dict[str, list[str]]:
    """Pulumi type -> the typed policies of both packs that read it."""
    from policies.common.policy import type_matches
    from policies.cost import pack as cost_pack
    from policies.security import pack as security_pack

    data = coverage.load()
    types = [t for ts in data.scope.values() for t in ts]
    found: dict[str, list[str]] = {t: [] for t in types}
    for policy in [*security_pack.policies(), *cost_pack.policies()]:
        declared = getattr(policy, "resource_types", None)
        if not declared:
            continue
        for t in types:
            if type_matches(declared, t):
                found[t].append(policy.name)
    return found


def render_document() -> str:
    return coverage.render(coverage.load(), coverage.load_registry(), policies_by_type())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["refresh", "check", "render"])
    args = parser.parse_args()
    data = coverage.load()
    if args.command == "refresh":
        registry = coverage.registry_from_checkov(data.scope)
        coverage.REGISTRY_FILE.write_text(json.dumps(registry.to_document(), indent=1) + "\n", encoding="utf-8")
        print(f"{coverage.REGISTRY_FILE.relative_to(ROOT)}: {len(registry.checks)} checks from checkov {registry.checkov_version}")
        return 0
    if args.command == "check":
        registries = [coverage.load_registry()]
        try:
            registries.append(coverage.registry_from_checkov(data.scope))
        except ImportError:
            print("checkov is not installed here: checking against the snapshot only", file=sys.stderr)
        found = [f"[checkov {r.checkov_version}] {p}" for r in registries for p in coverage.problems(data, r)]
        for problem in found:
            print(problem)
        print(f"{len(found)} problem(s)" if found else f"coverage.yaml matches checkov {', '.join(r.checkov_version for r in registries)}")
        return 1 if found else 0
    DOC.write_text(render_document(), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
