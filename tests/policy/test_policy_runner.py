"""The offline policy runner on real programs: this project's stacks, a deliberately bad
program of another team, and programs on default providers."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from core.errors import UsageError
from llmops.engine import plan
from llmops.policy import (
    NotChecked,
    PackSession,
    PolicyError,
    PolicyReport,
    run_policies,
    stack_environment,
)
from llmops.policy.fixtures import build_resources
from llmops.policy.report import PackRun, Violation
from tests.policy.conftest import BAD_PROGRAM, COST, SECURITY
from tests.support import write_project


@pytest.fixture(scope="module")
def bad_report() -> PolicyReport:
    return run_policies(plan("dev", BAD_PROGRAM))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_pass_with_no_mandatory_violation(stack: str, request: pytest.FixtureRequest) -> None:
    result = request.getfixturevalue(f"{stack}_plan")
    report = run_policies(result)
    assert report.mandatory_count == 0, [f"{v.policy} {v.resource}: {v.message}" for v in report.violations]
    assert report.environment == stack
    assert [(p.name, p.config) for p in report.packs] == [
        ("llmops-security", SECURITY / "config" / f"{stack}.json"),
        ("llmops-cost", COST / "config" / f"{stack}.json"),
    ]
    assert report.passed


def test_bad_program_produces_exactly_the_expected_violations(bad_report: PolicyReport) -> None:
    found = {(v.pack, v.policy, v.resource, v.level) for v in bad_report.violations}
    assert found == {
        ("llmops-security", "no-public-data-stores", "aws:s3/bucketAcl:BucketAcl::public-docs-acl", "mandatory"),
        ("llmops-security", "s3-bucket-baseline", "aws:s3/bucket:Bucket::public-docs", "mandatory"),
        ("llmops-security", "kms-encryption-at-rest", "aws:rds/cluster:Cluster::vectors", "mandatory"),
        ("llmops-cost", "gpu-instance-types-allowed", "aws:eks/nodeGroup:NodeGroup::h100", "mandatory"),
        ("llmops-cost", "gpu-pool-max-gpus", "aws:eks/nodeGroup:NodeGroup::h100", "mandatory"),
        ("llmops-cost", "cost-allocation-tags", "aws:cloudwatch/logGroup:LogGroup::untagged-logs", "mandatory"),
        ("llmops-cost", "monthly-budget", "aws:budgets/budget:Budget::monthly", "mandatory"),
    }
    assert len(bad_report.violations) == 7 and bad_report.mandatory_count == 7
    budget = next(v for v in bad_report.violations if v.policy == "monthly-budget")
    assert "above the $100 limit from the stack's budget 'monthly'" in budget.message
    assert "public access block" in next(v.message for v in bad_report.violations if v.policy == "s3-bucket-baseline")


def test_report_document_markdown_and_text(bad_report: PolicyReport) -> None:
    document = bad_report.to_document()
    assert [p["name"] for p in document["packs"]] == ["llmops-security", "llmops-cost"]
    assert document["summary"] == {"mandatory": 7, "advisory": 0, "notChecked": 0, "passed": False}
    assert document["notChecked"] == []
    first = document["violations"][0]
    assert set(first) == {"pack", "policy", "urn", "level", "severity", "message"}
    assert json.loads(json.dumps(document)) == document
    markdown = bad_report.to_markdown()
    assert markdown.startswith("### Policy checks: stack `dev`\n\n**7 mandatory violation(s)**: the deployment is blocked.")
    assert "#### Mandatory (7)" in markdown and "| `gpu-pool-max-gpus` | `aws:eks/nodeGroup:NodeGroup::h100` |" in markdown
    console = Console(record=True, width=300)
    bad_report.render(console)
    text = console.export_text()
    assert text.startswith("MANDATORY (7)\n")
    assert "policy: blocked: 7 mandatory, 0 advisory violation(s) from llmops-security (3), llmops-cost (4)" in text


def test_render_groups_by_level() -> None:
    report = PolicyReport(stack="s", environment="dev")
    report.packs.append(PackRun("p", "1", Path("."), None, 2, 0.1))
    report.violations = [
        Violation("p", "b-policy", "urn:pulumi:s::p::aws:s3/bucket:Bucket::x", "advisory", "adv message"),
        Violation("p", "a-policy", "", "mandatory", "stack message"),
    ]
    console = Console(record=True, width=200)
    report.render(console)
    text = console.export_text()
    assert text.index("MANDATORY (1)") < text.index("ADVISORY (1)")
    assert "a-policy stack" in text and "b-policy aws:s3/bucket:Bucket::x" in text
    assert report.mandatory_count == 1 and report.advisory_count == 1 and not report.passed


def test_environment_selection_and_explicit_override(tmp_path: Path) -> None:
    assert stack_environment("prod-eu", {"llmops:environment": "prod"}) == "prod"
    assert stack_environment("staging", {"acme:environment": "Staging"}) == "staging"
    assert stack_environment("dev", {}) == "dev"
    report = run_policies(plan("dev", BAD_PROGRAM), environment="prod")
    assert [p.config.name for p in report.packs if p.config] == ["prod.json", "prod.json"]
    # prod allows p5 pools of 8 GPUs: those two violations go. The resources' own Environment
    # tag (dev) still wins over the config's environment, so prod's resilience rules stay off,
    # except on the log group whose provider carries no tags: prod's retention and KMS apply.
    policies = {v.policy for v in report.violations}
    assert policies == {
        "no-public-data-stores", "s3-bucket-baseline", "kms-encryption-at-rest", "cost-allocation-tags", "monthly-budget",
        "log-group-retention", "log-group-kms-in-prod",
    }
    assert {v.resource for v in report.violations if v.policy.startswith("log-group")} == {"aws:cloudwatch/logGroup:LogGroup::untagged-logs"}


DEFAULT_PROVIDER_PROGRAM = textwrap.dedent(
    """
    import pulumi_aws as aws

    aws.s3.Bucket("scratch", bucket="team-scratch")
    aws.ec2.SecurityGroup(
        "ssh",
        ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"])],
    )
    """
)


def test_any_program_on_default_providers(tmp_path: Path) -> None:
    program = write_project(tmp_path / "team", stack="qa", program=DEFAULT_PROVIDER_PROGRAM, name="team-app", extra_config={"aws:region": "ap-south-1"})
    report = run_policies(plan("qa", program))
    assert report.environment == "qa" and all(p.config is None for p in report.packs)
    found = {(v.policy, v.resource) for v in report.violations}
    assert ("allowed-regions", "pulumi:providers:aws::default") in found
    assert ("no-public-ingress", "aws:ec2/securityGroup:SecurityGroup::ssh") in found
    assert ("cost-allocation-tags", "aws:s3/bucket:Bucket::scratch") in found
    assert ("s3-bucket-baseline", "aws:s3/bucket:Bucket::scratch") in found
    region = next(v for v in report.violations if v.policy == "allowed-regions")
    assert "deploys into ap-south-1, which is not allowed" in region.message


def test_explicit_config_files_and_overrides() -> None:
    result = plan("dev", BAD_PROGRAM)
    report = run_policies(
        result,
        packs=[COST],
        config_files={COST: None},
        overrides={"llmops-cost": {"cost-allocation-tags": "disabled", "monthly-budget": "advisory"}},
    )
    assert [p.config for p in report.packs] == [None]
    by_policy = {v.policy: v.level for v in report.violations}
    assert "cost-allocation-tags" not in by_policy and by_policy["monthly-budget"] == "advisory"


def _pack(root: Path, main: str, fixtures: dict[str, Any] | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 2.0.0\n", encoding="utf-8")
    (root / "__main__.py").write_text(textwrap.dedent(main), encoding="utf-8")
    if fixtures is not None:
        (root / "fixtures").mkdir()
        (root / "fixtures" / "cases.yaml").write_text(json.dumps(fixtures), encoding="utf-8")
    return root


def test_pack_that_fails_to_start_reports_its_output(tmp_path: Path) -> None:
    pack = _pack(tmp_path / "broken", "raise RuntimeError('no policies here')\n")
    with pytest.raises(PolicyError) as error:
        run_policies(plan("dev", BAD_PROGRAM), packs=[pack])
    assert "did not start" in str(error.value) and "no policies here" in str(error.value)
    with pytest.raises(UsageError, match="is not a policy pack"):
        run_policies(plan("dev", BAD_PROGRAM), packs=[tmp_path])


def test_pack_that_crashes_on_a_resource_names_it(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path / "crashy",
        """
        from pulumi_policy import PolicyPack, ResourceValidationPolicy

        def validate(args, report_violation):
            if args.resource_type == "aws:rds/cluster:Cluster":
                raise ValueError("boom")

        PolicyPack("crashy", [ResourceValidationPolicy(name="crash-on-rds", description="crashes", validate=validate)])
        """,
    )
    with pytest.raises(PolicyError) as error:
        run_policies(plan("dev", BAD_PROGRAM), packs=[pack])
    assert "aws:rds/cluster:Cluster::vectors" in str(error.value) and "boom" in str(error.value)


TEAM_PACK = """
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

def no_t2(args, report_violation):
    if args.resource_type == "aws:ec2/instance:Instance" and str(args.props.get("instanceType", "")).startswith("t2."):
        report_violation("t2 instances are retired here; use t3 or newer.")

PolicyPack("team-pack", [ResourceValidationPolicy(name="no-t2-instances", description="No t2 instances.", validate=no_t2,
    enforcement_level=EnforcementLevel.MANDATORY)])
"""


def team_pack(root: Path, *, wrong: bool = False) -> Path:
    cases = [
        {"policy": "no-t2-instances", "name": "t2.micro", "expect": "pass" if wrong else "fail", "message": "retired",
         "resources": [{"type": "aws:ec2/instance:Instance", "name": "web", "props": {"instanceType": "t2.micro"}}]},
        {"policy": "no-t2-instances", "name": "t3.micro", "expect": "pass",
         "resources": [{"type": "aws:ec2/instance:Instance", "name": "web", "props": {"instanceType": "t3.micro"}}]},
    ]
    return _pack(root, TEAM_PACK, {"cases": cases})


def test_a_teams_own_pack_runs_on_a_plan(tmp_path: Path) -> None:
    program = write_project(
        tmp_path / "app",
        stack="dev",
        program='import pulumi_aws as aws\naws.ec2.Instance("web", ami="ami-1", instance_type="t2.micro")\n',
        name="app",
    )
    report = run_policies(plan("dev", program), packs=[team_pack(tmp_path / "pack")])
    assert [(p.name, p.version) for p in report.packs] == [("team-pack", "2.0.0")]
    assert [(v.policy, v.resource, v.level, v.message) for v in report.violations] == [
        ("no-t2-instances", "aws:ec2/instance:Instance::web", "mandatory", "t2 instances are retired here; use t3 or newer.")
    ]


def test_an_unknown_environment_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as error:
        run_policies(plan("dev", BAD_PROGRAM), environment="qa")
    message = str(error.value)
    assert "unknown environment 'qa' (--environment)" in message
    assert "has config files for dev, prod, staging only" in message
    program = write_project(
        tmp_path / "team", stack="qa", program=DEFAULT_PROVIDER_PROGRAM, name="team-app",
        extra_config={"aws:region": "us-east-1", "team-app:environment": "production"},
    )
    with pytest.raises(UsageError, match=r"unknown environment 'production' \(the stack config of 'qa'\)"):
        run_policies(plan("qa", program))


def test_a_packs_missing_virtualenv_is_an_error(tmp_path: Path) -> None:
    pack = _pack(tmp_path / "pack", TEAM_PACK)
    (pack / "PulumiPolicy.yaml").write_text("runtime:\n  name: python\n  options:\n    virtualenv: ../venv-that-was-never-made\n", encoding="utf-8")
    (pack / "requirements.txt").write_text("pulumi-policy\n", encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        run_policies(plan("dev", BAD_PROGRAM), packs=[pack])
    message = str(error.value)
    assert "runtime.options.virtualenv is '../venv-that-was-never-made'" in message
    assert "python3 -m venv" in message and "pip install -r" in message


def test_report_lists_what_could_not_be_checked() -> None:
    report = PolicyReport(stack="s", environment="dev")
    report.packs.append(PackRun("llmops-cost", "1", Path("."), None, 8, 0.1))
    report.not_checked = [NotChecked("llmops-cost", "monthly-budget", "", "could not check the budget: 1 resource(s) could not be priced [p9.96xlarge]")]
    console = Console(record=True, width=300)
    report.render(console)
    text = console.export_text()
    assert "NOT CHECKED (1)" in text and "could not be priced [p9.96xlarge]" in text
    assert "policy: passed: 0 mandatory, 0 advisory violation(s), 1 not checked from llmops-cost (0)" in text
    document = report.to_document()
    assert document["summary"]["notChecked"] == 1 and document["notChecked"][0]["policy"] == "monthly-budget"
    assert "#### Not checked (1)" in report.to_markdown()


def test_budget_that_cannot_price_an_instance_type_says_so(cost_session: PackSession) -> None:
    pool = build_resources(
        [{"type": "aws:eks/nodeGroup:NodeGroup", "name": "next", "props": {"instanceTypes": ["p9.96xlarge"], "scalingConfig": {"minSize": 1, "maxSize": 1}}}],
        "prod", "us-east-1", "test",
    )
    found = cost_session.evaluate(pool, {"monthly-budget": {"monthlyBudgetUsd": 100000}})
    assert [n.policy for n in found.not_checked] == ["monthly-budget"]
    assert "unknown instance type 'p9.96xlarge'" in found.not_checked[0].reason
