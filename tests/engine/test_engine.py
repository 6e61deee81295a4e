"""The offline engine: deterministic plans, the public JSON shape, foreign programs,
secrets, default providers and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmops.engine import ProgramError, load_project, plan
from llmops.engine.report import dumps, plan_document
from core.errors import UsageError
from tests.support import REPO, valid_config, write_project

FOREIGN_PROGRAM = '''
import pulumi
import pulumi_aws as aws

config = pulumi.Config()
eu = aws.Provider("eu", region="eu-west-1", default_tags={"tags": {"Team": "search"}})
bucket = aws.s3.Bucket("docs", opts=pulumi.ResourceOptions(provider=eu))
aws.s3.BucketVersioning(
    "docs-versioning",
    bucket=bucket.id,
    versioning_configuration={"status": "Enabled"},
    opts=pulumi.ResourceOptions(provider=eu),
)
queue = aws.sqs.Queue("jobs", message_retention_seconds=3600)  # default provider: aws:region
secret = aws.ssm.Parameter("token", type="SecureString", value=config.require_secret("apiToken"))
pulumi.export("bucket", bucket.bucket)
pulumi.export("queueUrl", queue.url)
'''


def test_plan_is_byte_identical_across_runs() -> None:
    first = dumps(plan_document(plan("staging", REPO)))
    second = dumps(plan_document(plan("staging", REPO)))
    assert first == second


def test_document_has_the_public_shape(dev_document: dict[str, Any]) -> None:
    assert dev_document["stack"] == "dev" and dev_document["project"] == "llmops-platform"
    assert dev_document["regions"] == ["us-east-1"]
    urns = [r["urn"] for r in dev_document["resources"]]
    assert urns == sorted(urns) and len(urns) == len(set(urns))
    known = set(urns)
    for resource in dev_document["resources"]:
        assert {"urn", "type", "name", "parent", "region", "provider", "dependencies", "inputs"} <= set(resource)
        if resource["type"] == "pulumi:pulumi:Stack":
            assert resource["parent"] is None
            continue
        assert resource["parent"] in known, resource["urn"]
        assert set(resource["dependencies"]) <= known, resource["urn"]
        if resource["custom"] and not resource["type"].startswith("pulumi:providers:"):
            assert resource["provider"] in known
            provider_type = resource["provider"].split("::")[2].split("$")[-1]
            assert provider_type == f"pulumi:providers:{resource['type'].split(':')[0]}", resource["urn"]
    assert dev_document["summary"]["resources"] == len(urns) - 1
    assert dev_document["outputs"]["regions"]["us-east-1"]["clusterName"] == "llmops-dev-us-east-1"


def test_children_of_the_network_component_are_parented_to_it(dev_document: dict[str, Any]) -> None:
    (network,) = [r for r in dev_document["resources"] if r["type"] == "llmops:network:Network"]
    assert network["region"] == "us-east-1"  # a component takes its region from its provider
    children = [r for r in dev_document["resources"] if r["parent"] == network["urn"]]
    assert len(children) >= 25
    assert {c["type"] for c in children} >= {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway"}


def test_foreign_program_regions_outputs_and_secrets(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "foreign",
        program=FOREIGN_PROGRAM,
        name="search-infra",
        stack="qa",
        extra_config={"aws:region": "us-west-2", "search-infra:apiToken": {"secure": "AAABAJ0cipher"}},
    )
    result = plan("qa", project)
    document = plan_document(result)
    by_name = {r["name"]: r for r in document["resources"]}
    assert by_name["docs"]["region"] == "eu-west-1"
    assert by_name["docs"]["provider"].endswith("pulumi:providers:aws::eu")
    assert by_name["docs-versioning"]["dependencies"] == [by_name["docs"]["urn"]]
    assert by_name["jobs"]["region"] == "us-west-2" and by_name["jobs"]["provider"] is None
    assert by_name["token"]["inputs"]["value"] == "[secret]"
    assert "AAABAJ0cipher" not in dumps(document)
    assert document["outputs"]["bucket"].startswith("docs-")
    assert document["outputs"]["queueUrl"].startswith("https://sqs.us-west-2.amazonaws.com/123456789012/")
    assert document["regions"] == ["eu-west-1", "us-west-2"]
    docs = next(r for r in result.resources if r.name == "docs")
    assert docs.outputs["tagsAll"] == {"Team": "search"}


def test_disabled_default_providers_are_enforced(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        program="import pulumi_aws as aws\naws.sqs.Queue('q')\n",
        name="p",
        extra_config={"pulumi:disable-default-providers": ["aws"]},
    )
    with pytest.raises(ProgramError, match=r"Default provider for 'aws' disabled.*must use an explicit provider"):
        plan("test", project)


def test_bad_config_fails_before_any_resource_is_registered(tmp_path: Path) -> None:
    config = valid_config()
    config["regions"][1]["gpuPools"][0]["maxNodes"] = 0
    config["regions"][0]["cidr"] = "10.11.0.0/16"
    project = write_project(tmp_path / "bad", config=config)
    with pytest.raises(ProgramError) as caught:
        plan("test", project)
    message = str(caught.value)
    assert "invalid stack config in Pulumi.test.yaml (2 problem(s))" in message
    assert "llmops:regions[1].cidr: 10.11.0.0/16 overlaps regions[0].cidr" in message
    assert "llmops:regions[1].gpuPools[0].maxNodes: must be >= 1" in message
    assert caught.value.registered == 0


def test_program_exceptions_become_clear_errors(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", program="raise KeyError('missing-thing')\n", name="p")
    with pytest.raises(ProgramError, match="program of project 'p' failed for stack 'test': KeyError: 'missing-thing'"):
        plan("test", project)


def test_unknown_stack_lists_the_stacks_that_exist() -> None:
    with pytest.raises(UsageError, match=r"unknown stack 'qa'.*Stacks that exist: byo, dev, prod, staging"):
        plan("qa", REPO)


def test_directory_without_a_project_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no Pulumi\.yaml"):
        load_project(tmp_path)


def test_project_file_is_read_like_the_cli_does() -> None:
    project = load_project(REPO)
    assert project.name == "llmops-platform"
    assert project.main_dir == REPO / "stacks"
    assert project.stack_config_dir == REPO / "stacks"
    assert project.stacks() == ["byo", "dev", "prod", "staging"]


def test_batched_output_waits_give_the_same_plan_as_the_sdk_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from llmops.engine import runner

    batched = dumps(plan_document(plan("staging", REPO)))
    monkeypatch.setattr(runner, "_batched_output_waits", contextlib.nullcontext)
    sdk_loop = dumps(plan_document(plan("staging", REPO)))
    assert batched == sdk_loop


def test_failures_inside_outputs_still_surface_with_batched_waits(tmp_path: Path) -> None:
    program = "import pulumi_aws as aws\nq = aws.sqs.Queue('q')\nq.arn.apply(lambda arn: 1 / 0)\n"
    project = write_project(tmp_path / "p", program=program, name="p", extra_config={"aws:region": "us-east-1"})
    with pytest.raises(ProgramError, match="ZeroDivisionError"):
        plan("test", project)


def test_the_pulumi_program_never_imports_ray_or_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from llmops.engine import plan\n"
        "plan('prod', sys.argv[1])\n"
        "heavy = sorted(m for m in ('ray', 'torch', 'transformers', 'sentence_transformers') if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "none"
