"""The GitHub workflows: valid against GitHub's workflow schema (offline), and holding to the
pipeline's rules: OIDC roles and no stored cloud keys, deploys on the self-hosted runners
that reach the cluster API, prod behind its environment, fork-safe planning that installs
only what planning needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from promotion_support import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
CHECK = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    assert isinstance(document, dict)
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


@pytest.mark.skipif(CHECK is None, reason="check-jsonschema is not installed (pip install -e '.[dev]')")
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_validates_against_the_github_workflow_schema(path: Path) -> None:
    assert CHECK is not None
    proc = subprocess.run(
        [CHECK, "--builtin-schema", "vendor.github-workflows", str(path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_release_path_has_its_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {
        "plan.yml", "plan-comment.yml", "deploy.yml", "promote.yml", "deploy-dev.yml", "deploy-staging.yml", "deploy-prod.yml"
    }


def test_cloud_credentials_come_from_oidc_roles_never_stored_keys() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        for stored in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PULUMI_ACCESS_TOKEN"):
            assert stored not in text, f"{path.name} uses {stored}"
        for name, job in load(path.name)["jobs"].items():
            for step in uses(job, "aws-actions/configure-aws-credentials"):
                assert step["with"]["role-to-assume"].startswith("${{ vars."), f"{path.name}:{name}"
                assert job["permissions"]["id-token"] == "write", f"{path.name}:{name} needs id-token: write for OIDC"


def test_deploys_run_on_self_hosted_runners_in_the_vpc_behind_their_environment() -> None:
    deploy = load("deploy.yml")["jobs"]["deploy"]
    default = load("deploy.yml")["on"]["workflow_call"]["inputs"]["runner-labels"]["default"]
    assert deploy["runs-on"] == "${{ fromJSON(inputs.runner-labels) }}" and yaml.safe_load(default)[0] == "self-hosted"
    assert deploy["environment"]["name"] == "${{ inputs.environment }}"
    order = [s.get("name") or s.get("uses") for s in steps(deploy)]
    for earlier, later in [("Assume the deploy role (OIDC)", "Deploy (refresh, preview with the policy packs, update)"),
                           ("Deploy (refresh, preview with the policy packs, update)", "Smoke test"), ("Smoke test", "Evaluate")]:
        assert order.index(earlier) < order.index(later)
    commands = runs(deploy)
    assert 'llmops deploy --stack "$STACK"' in commands
    assert 'llmops smoke --stack "$STACK" --endpoint "$ENDPOINT"' in commands
    assert 'llmops eval --stack "$STACK" --endpoint "$ENDPOINT"' in commands
    prod = load("deploy-prod.yml")["jobs"]["prod"]
    assert prod["with"]["environment"] == "prod" and "promote" not in load("deploy-prod.yml")["jobs"]
    assert load("deploy-staging.yml")["jobs"]["staging"]["with"]["environment"] == "staging"


def test_deploys_open_the_declared_tunnels_first_and_close_them_after() -> None:
    job = load("deploy.yml")["jobs"]["deploy"]
    names = [str(s.get("run", "")) for s in steps(job)]
    opening = next(i for i, run in enumerate(names) if run.strip() == '.venv/bin/llmops tunnel --stack "$STACK"')
    deploying = next(i for i, run in enumerate(names) if "llmops deploy" in run)
    closing = next(i for i, run in enumerate(names) if "llmops tunnel" in run and "--close" in run)
    assert opening < deploying < closing
    assert steps(job)[closing]["if"] == "always()"  # a failed deploy still ends its tunnels
    assert any("session-manager-plugin" in run for run in names[:opening])


def test_merges_to_main_build_the_image_deploy_dev_and_open_the_promotion() -> None:
    dev = load("deploy-dev.yml")
    assert dev["on"]["push"]["branches"] == ["main"]
    build = uses(dev["jobs"]["image"], "docker/build-push-action")[0]
    assert build["with"]["file"] == "serving/Dockerfile" and build["with"]["push"] is True
    assert dev["jobs"]["dev"]["uses"] == "./.github/workflows/deploy.yml"
    assert dev["jobs"]["promote"]["with"] == {"stack": "dev", "next-stack": "staging", "pinned": "${{ needs.image.outputs.image != '' }}"}
    staging = load("deploy-staging.yml")
    assert staging["on"]["push"]["paths"] == ["stacks/Pulumi.staging.yaml"]
    assert staging["jobs"]["promote"]["with"] == {"stack": "staging", "next-stack": "prod"}
    promote = load("promote.yml")["jobs"]["promote"]
    assert 'llmops promote "$STACK" "$NEXT" --markdown promotion.md' in runs(promote)
    assert uses(promote, "peter-evans/create-pull-request")[0]["with"]["body-path"] == "promotion.md"
    assert not uses(promote, "aws-actions/configure-aws-credentials")  # the gates need no cloud


def test_pull_requests_from_forks_get_the_plan_comment_without_credentials() -> None:
    plan = load("plan.yml")
    assert set(plan["on"]) == {"pull_request"}  # never pull_request_target: fork code runs without secrets
    assert plan["permissions"] == {"contents": "read"}
    text = (REPO / ".github" / "workflows" / "plan.yml").read_text()
    assert "secrets." not in text and "vars.AWS" not in text
    job = plan["jobs"]["plan"]
    commands = runs(job)
    assert "pip install --quiet -e .\n" in commands + "\n"
    assert "[serving" not in commands and "scripts/setup.sh" not in commands
    assert "python -m llmops.report.mermaid head.json --base base.json" in commands
    assert uses(job, "actions/upload-artifact")[0]["with"]["name"] == "plan-comment-${{ matrix.stack }}"
    comment = load("plan-comment.yml")
    assert comment["on"] == {"workflow_run": {"workflows": ["plan"], "types": ["completed"]}}
    assert comment["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert not uses(comment["jobs"]["comment"], "actions/checkout")  # the pull request's code never runs here


def test_deploy_and_promotion_jobs_install_without_the_serving_runtime() -> None:
    for name, job in (("deploy.yml", "deploy"), ("promote.yml", "promote")):
        commands = runs(load(name)["jobs"][job])
        assert "pip install --quiet -e .\n" in commands + "\n" and "[serving" not in commands, name
