"""Pass/fail cases for a policy pack, and the runner behind ``llmops policy test``.

A pack keeps its cases in ``<pack>/fixtures/*.yaml``::

    defaults:                      # optional, for every case in the file
      environment: dev             # the Environment default tag of the synthesized AWS provider
      region: us-east-1
    cases:
      - policy: kms-encryption-at-rest
        name: Aurora cluster without storage encryption
        expect: fail               # fail: the policy reports at least one violation; pass: none
        message: storage_encrypted # optional: a violation's message contains this text
        count: 1                   # optional: exactly this many violations of the policy
        notChecked: could not price # optional: the policy says it could not check, with this text
        config:                    # optional: pack config for this case (policy-name keyed)
          kms-encryption-at-rest: {requireCustomerManagedKey: true}
        resources:
          - type: aws:rds/cluster:Cluster
            name: vectors
            props: {engine: aurora-postgresql, storageEncrypted: false}
            # provider: {region: eu-west-1, tags: {...}} | none   (default: an AWS provider in
            #   the file's region whose default tags carry every cost-allocation tag)
            # parent: <name>, dependsOn: [<name>], propertyDependencies: {bucket: [<name>]}
            # protect: true

Every case runs through the pack's real analyzer (``Analyze`` per resource, then
``AnalyzeStack``). Only the violations of the case's ``policy`` are asserted, so a case
stays focused on one policy. ``llmops policy test`` also checks a pack's conventions:
kebab-case names, a description, documented settings with defaults, config files that
validate, and at least one passing and one failing case per policy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import UsageError
from llmops.policy.analyzer import PackInfo
from llmops.policy.config import PolicyConfigError, load_config_file, resolve_config
from llmops.policy.report import NotChecked, Violation
from llmops.policy.runner import CONFIG_DIR, PackSession
from llmops.policy.wire import AnalyzerResource, ProviderRef

FIXTURES_DIR = "fixtures"
FIXTURE_STACK = "fixture"
FIXTURE_PROJECT = "fixtures"
DEFAULT_TAGS = {"Project": "fixtures", "Stack": "fixture", "Owner": "platform-team", "CostCenter": "cc-0000"}
_KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Case:
    """One pass/fail case for one policy."""

    source: Path
    policy: str
    name: str
    expect: str
    resources: tuple[AnalyzerResource, ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    message: str | None = None
    count: int | None = None
    not_checked: str | None = None
    """Text the policy's "could not check" reason must contain (``notChecked``)."""

    @property
    def label(self) -> str:
        return f"{self.policy}: {self.name} ({self.expect})"


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case."""

    case: Case
    violations: tuple[Violation, ...]
    problem: str | None
    """Why the case failed; None when it passed."""

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class PackTestReport:
    """Everything ``llmops policy test`` found for one pack."""

    pack: Path
    name: str
    results: list[CaseResult] = field(default_factory=list)
    convention_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.convention_problems and all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{FIXTURE_STACK}::{FIXTURE_PROJECT}::{type_}::{name}"


def aws_provider(region: str, tags: Mapping[str, str] | None, name: str | None = None) -> ProviderRef:
    """An explicit AWS provider as the engine passes it (``defaultTags`` as JSON text)."""
    props: dict[str, Any] = {"region": region}
    if tags:
        props["defaultTags"] = json.dumps({"tags": dict(tags)})
    provider_name = name or f"aws-{region}"
    return ProviderRef(_urn("pulumi:providers:aws", provider_name), "pulumi:providers:aws", provider_name, props)


def kubernetes_provider(region: str, name: str | None = None) -> ProviderRef:
    """A Kubernetes provider for an EKS cluster in ``region`` (its kubeconfig names it)."""
    kubeconfig = json.dumps(
        {"clusters": [{"cluster": {"server": f"https://EXAMPLE.gr7.{region}.eks.amazonaws.com"}}], "users": [{"user": {"exec": {"args": ["eks", "get-token", "--region", region]}}}]}
    )
    provider_name = name or f"k8s-{region}"
    return ProviderRef(_urn("pulumi:providers:kubernetes", provider_name), "pulumi:providers:kubernetes", provider_name, {"kubeconfig": kubeconfig})


def build_resources(specs: Sequence[Mapping[str, Any]], environment: str, region: str, where: str) -> list[AnalyzerResource]:
    """Analyzer resources (and the providers they use) from fixture resource specs."""
    listed = [str(s.get("name")) for s in specs if isinstance(s, Mapping)]
    names = set(listed)
    repeated = {n for n in listed if listed.count(n) > 1}
    urns: dict[str, str] = {}
    for spec in specs:
        if not isinstance(spec, Mapping) or not spec.get("type") or not spec.get("name"):
            raise UsageError(f"{where}: every resource needs 'type' and 'name' (got {spec!r})")
        urns[str(spec["name"])] = _urn(str(spec["type"]), str(spec["name"]))
    providers: dict[str, ProviderRef] = {}
    resources: list[AnalyzerResource] = []

    def ref(name: Any, what: str) -> str:
        if str(name) not in names:
            raise UsageError(f"{where}: {what} '{name}' is not a resource of this case; use one of {', '.join(sorted(names))}")
        if str(name) in repeated:
            raise UsageError(f"{where}: {what} '{name}' names more than one resource of this case; give the resource it means a name of its own")
        return urns[str(name)]

    for spec in specs:
        type_ = str(spec["type"])
        provider_spec = spec.get("provider", "default")
        provider: ProviderRef | None = None
        if provider_spec not in (None, "none") and not type_.startswith("pulumi:"):
            options = provider_spec if isinstance(provider_spec, Mapping) else {}
            provider_region = str(options.get("region", region))
            if type_.startswith("kubernetes:"):
                provider = kubernetes_provider(provider_region)
            else:
                tags = options.get("tags", {**DEFAULT_TAGS, "Environment": environment})
                name = options.get("name")
                if name is None and "tags" in options:  # a provider of its own, beside the default one
                    name = f"aws-{provider_region}-{hashlib.sha1(json.dumps(tags, sort_keys=True).encode()).hexdigest()[:6]}"
                provider = aws_provider(provider_region, tags, name)
            providers.setdefault(provider.urn, provider)
        props = dict(spec.get("props") or {})
        resources.append(
            AnalyzerResource(
                urn=urns[str(spec["name"])],
                type=type_,
                name=str(spec["name"]),
                inputs=props,
                state=props,
                provider=provider,
                parent=ref(spec["parent"], "parent") if spec.get("parent") else None,
                dependencies=tuple(ref(n, "dependsOn") for n in spec.get("dependsOn") or ()),
                property_dependencies={str(k): tuple(ref(n, f"propertyDependencies.{k}") for n in v) for k, v in (spec.get("propertyDependencies") or {}).items()},
                protect=bool(spec.get("protect", False)),
            )
        )
    provider_resources = [AnalyzerResource(p.urn, p.type, p.name, p.properties, p.properties) for p in providers.values()]
    return provider_resources + resources


def load_cases(path: Path) -> list[Case]:
    """The cases of one fixture file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read fixtures ({exc})") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("cases"), list):
        raise UsageError(f"{path}: a fixture file is a mapping with a 'cases' list (and optional 'defaults')")
    defaults = document.get("defaults") or {}
    cases = []
    for index, raw in enumerate(document["cases"]):
        where = f"{path.name} cases[{index}]"
        if not isinstance(raw, Mapping):
            raise UsageError(f"{where}: must be a mapping with policy, name, expect and resources")
        missing = [k for k in ("policy", "name", "expect", "resources") if k not in raw]
        if missing:
            raise UsageError(f"{where}: missing {', '.join(missing)}")
        if raw["expect"] not in ("pass", "fail"):
            raise UsageError(f"{where}: expect must be 'pass' or 'fail' (got {raw['expect']!r})")
        environment = str(raw.get("environment", defaults.get("environment", "dev")))
        region = str(raw.get("region", defaults.get("region", "us-east-1")))
        cases.append(
            Case(
                source=path,
                policy=str(raw["policy"]),
                name=str(raw["name"]),
                expect=str(raw["expect"]),
                resources=tuple(build_resources(raw["resources"], environment, region, where)),
                config=dict(raw.get("config") or {}),
                message=str(raw["message"]) if raw.get("message") is not None else None,
                count=int(raw["count"]) if raw.get("count") is not None else None,
                not_checked=str(raw["notChecked"]) if raw.get("notChecked") is not None else None,
            )
        )
    return cases


def pack_cases(pack_dir: Path) -> list[Case]:
    """Every case in ``<pack>/fixtures/``."""
    directory = pack_dir / FIXTURES_DIR
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]) if directory.is_dir() else []
    return [case for path in files for case in load_cases(path)]


def evaluate(case: Case, violations: Sequence[Violation], not_checked: Sequence[NotChecked] = ()) -> CaseResult:
    """Whether ``violations`` (of the whole pack) meet the case's expectation."""
    own = tuple(v for v in violations if v.policy == case.policy)
    skipped = [n.reason for n in not_checked if n.policy == case.policy]
    problem: str | None = None
    if case.expect == "pass" and own:
        problem = "expected no violation, got: " + " | ".join(v.message for v in own)
    elif case.expect == "fail" and not own:
        problem = "expected a violation, got none"
    elif case.count is not None and len(own) != case.count:
        problem = f"expected {case.count} violation(s), got {len(own)}: " + " | ".join(v.message for v in own)
    elif case.message and not any(case.message in v.message for v in own):
        problem = f"no violation mentions {case.message!r}; got: " + " | ".join(v.message for v in own)
    elif case.not_checked and not any(case.not_checked in reason for reason in skipped):
        problem = f"expected the policy to say it could not check ({case.not_checked!r}); got: " + (" | ".join(skipped) or "nothing")
    return CaseResult(case, own, problem)


def run_case(session: PackSession, case: Case) -> CaseResult:
    """Runs one case through the pack's analyzer."""
    try:
        found = session.evaluate(case.resources, case.config, f"{case.source.name}: {case.label}")
    except PolicyConfigError as exc:
        return CaseResult(case, (), str(exc))
    return evaluate(case, found.violations, found.not_checked)


def convention_problems(info: PackInfo, pack_dir: Path, cases: Sequence[Case]) -> list[str]:
    """What the pack does not do that every pack should."""
    problems = []
    for policy in info.policies:
        if not _KEBAB.match(policy.name):
            problems.append(f"{policy.name}: policy names are kebab-case (lowercase words joined by '-')")
        if not policy.description.strip():
            problems.append(f"{policy.name}: has no description; say what the policy requires")
        for setting, schema in policy.config_schema.items():
            if not isinstance(schema, Mapping) or "default" not in schema:
                problems.append(f"{policy.name}.{setting}: setting has no default; give every setting a default in its schema")
            if not isinstance(schema, Mapping) or not str(schema.get("description", "")).strip():
                problems.append(f"{policy.name}.{setting}: setting has no description")
        expectations = {c.expect for c in cases if c.policy == policy.name}
        for expect in ("pass", "fail"):
            if expect not in expectations:
                problems.append(f"{policy.name}: no '{expect}' case in {FIXTURES_DIR}/; add one (expect: {expect})")
    known = {p.name for p in info.policies}
    for case in cases:
        if case.policy not in known:
            problems.append(f"{case.source.name}: case '{case.name}' names unknown policy '{case.policy}'")
    config_dir = pack_dir / CONFIG_DIR
    for path in sorted(config_dir.glob("*.json")) if config_dir.is_dir() else []:
        try:
            resolve_config(info, load_config_file(path), str(path.relative_to(pack_dir)))
        except (PolicyConfigError, UsageError) as exc:
            problems.append(str(exc))
    return problems


def test_pack(pack_dir: Path | str, session: PackSession | None = None) -> PackTestReport:
    """Runs every fixture case of a pack and checks its conventions."""
    directory = Path(pack_dir).resolve()
    cases = pack_cases(directory)
    own_session = session is None
    active = session or PackSession(directory, stack=FIXTURE_STACK, project=FIXTURE_PROJECT)
    try:
        report = PackTestReport(pack=directory, name=active.name)
        report.results = [run_case(active, case) for case in cases]
        report.convention_problems = convention_problems(active.info, directory, cases)
        return report
    finally:
        if own_session:
            active.close()


test_pack.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
