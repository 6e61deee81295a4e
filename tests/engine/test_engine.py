"""The offline engine: deterministic plans, the public JSON shape, foreign programs,
secrets, default providers and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.errors import UsageError
from llmops.engine import ProgramError, load_project, plan
from llmops.engine.report import dumps, plan_document
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
    assert dev_document["regions"] == ["us-east-1", "us-west-2"]  # us-west-2: the image repository's replica
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
    monkeypatch.setattr(runner, "_without_stack_traces", contextlib.nullcontext)
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


# --------------------------------------------------------------------------- previews, reads, isolation
def _project(root: Path, program: str, *, modules: dict[str, str] | None = None, virtualenv: str | None = None) -> Path:
    import yaml

    write_project(root, program=program, name=root.name, extra_config={"aws:region": "us-east-1"})
    for name, text in (modules or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    if virtualenv is not None:
        (root / "Pulumi.yaml").write_text(
            yaml.safe_dump({"name": root.name, "runtime": {"name": "python", "options": {"virtualenv": virtualenv}}}), encoding="utf-8"
        )
    return root


def test_a_second_plan_in_the_same_process_imports_the_program_afresh(tmp_path: Path) -> None:
    main = "import pulumi\nimport infra\npulumi.export('count', infra.COUNT)\n"
    queues = _project(tmp_path / "queues", main, modules={"infra.py": "import pulumi_aws as aws\nCOUNT = 3\nfor i in range(COUNT):\n    aws.sqs.Queue(f'q{i}')\n"})
    topics = _project(tmp_path / "topics", main, modules={"infra.py": "import pulumi_aws as aws\nCOUNT = 5\nfor i in range(COUNT):\n    aws.sns.Topic(f't{i}')\n"})
    first, again, other = plan("test", queues), plan("test", queues), plan("test", topics)
    assert [len(r.resources) for r in (first, again, other)] == [4, 4, 6]  # resources plus the stack
    assert dumps(plan_document(first)) == dumps(plan_document(again))
    assert other.outputs == {"count": 5} and {r.type for r in other.resources} == {"pulumi:pulumi:Stack", "aws:sns/topic:Topic"}
    import sys

    assert "infra" not in sys.modules


def test_programs_run_as_a_preview(tmp_path: Path) -> None:
    program = "import pulumi\npulumi.export('preview', pulumi.runtime.is_dry_run())\n"
    assert plan("test", _project(tmp_path / "p", program)).outputs == {"preview": True}


def test_outputs_the_provider_computes_are_filled_and_optional_ones_left_unset(tmp_path: Path) -> None:
    program = (
        "import pulumi_aws as aws\n"
        "aws.lb.LoadBalancer('web', subnet_mappings=[{'subnet_id': 'subnet-1'}, {'subnet_id': 'subnet-2'}])\n"
        "aws.ec2.Vpc('main', cidr_block='10.4.0.0/16')\n"
    )
    result = plan("test", _project(tmp_path / "p", program))
    lb = next(r for r in result.resources if r.name == "web")
    assert lb.outputs["dnsName"].endswith(".us-east-1.elb.amazonaws.com")
    assert lb.outputs["subnets"] == ["subnet-1", "subnet-2"]  # follows the mappings
    assert lb.outputs["loadBalancerType"] == "application"
    assert "accessLogs" not in lb.outputs  # an optional block the program did not set
    assert "dnsName" in lb.defaulted and "subnetMappings" not in lb.defaulted
    vpc = next(r for r in result.resources if r.name == "main")
    assert vpc.outputs["cidrBlock"] == "10.4.0.0/16"
    assert vpc.outputs["defaultSecurityGroupId"].startswith("sg-") and vpc.outputs["mainRouteTableId"].startswith("rtb-")
    assert vpc.outputs["ipv6CidrBlock"] == ""  # no IPv6 asked for


def test_answers_come_from_the_providers_account(tmp_path: Path) -> None:
    """A provider limited to one account (``allowedAccountIds``) plans in that account: the
    caller identity, ARNs and owner ids; a provider without one answers the engine's."""
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "prod = aws.Provider('prod', region='eu-west-1', allowed_account_ids=['444455556666'])\n"
        "me = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=prod))\n"
        "topic = aws.sns.Topic('alerts', opts=pulumi.ResourceOptions(provider=prod))\n"
        "other = aws.sns.Topic('other')\n"
        "pulumi.export('account', me.account_id)\n"
    )
    result = plan("test", _project(tmp_path / "p", program))
    assert result.outputs["account"] == "444455556666"
    topics = {r.name: r.outputs["arn"] for r in result.resources if r.type == "aws:sns/topic:Topic"}
    assert topics["alerts"].startswith("arn:aws:sns:eu-west-1:444455556666:")
    assert topics["other"].startswith("arn:aws:sns:us-east-1:123456789012:")


def test_opensearch_endpoints_follow_the_service(tmp_path: Path) -> None:
    """A serverless collection reports URLs on ``aoss`` (its id is the host's first label); a
    domain reports a bare ``search-...es`` host."""
    program = (
        "import pulumi_aws as aws\n"
        "aws.opensearch.ServerlessCollection('vectors', name='vectors', type='VECTORSEARCH')\n"
        "aws.opensearch.Domain('logs', domain_name='logs')\n"
    )
    result = plan("test", _project(tmp_path / "p", program))
    record = next(r for r in result.resources if r.name == "vectors")
    collection = record.outputs
    assert collection["collectionEndpoint"] == f"https://{record.id}.us-east-1.aoss.amazonaws.com"
    assert collection["dashboardEndpoint"] == f"https://{record.id}.us-east-1.aoss.amazonaws.com/_dashboards"
    assert collection["arn"].endswith(f":collection/{record.id}")
    domain = next(r for r in result.resources if r.name == "logs").outputs
    assert domain["endpoint"].startswith("search-logs-") and domain["endpoint"].endswith(".us-east-1.es.amazonaws.com")


def test_data_sources_no_rule_knows_answer_their_declared_type_and_are_listed(tmp_path: Path) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "t = aws.ec2.get_instance_type(instance_type='m7i.large')\n"
        "pulumi.export('type', t.instance_type)\n"
        "pulumi.export('vcpus', t.default_vcpus)\n"
        "pulumi.export('arch', t.supported_architectures)\n"
    )
    result = plan("test", _project(tmp_path / "p", program))
    assert result.outputs["type"] == "m7i.large"  # the argument, echoed
    assert isinstance(result.outputs["vcpus"], float | int) and isinstance(result.outputs["arch"], list)
    document = plan_document(result)
    assert document["dataSources"] == {"calls": {"aws:ec2/getInstanceType:getInstanceType": 1}, "defaulted": ["aws:ec2/getInstanceType:getInstanceType"]}


def test_resource_get_is_a_read_with_realistic_state(tmp_path: Path) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "lb = aws.lb.LoadBalancer.get('shared', 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared/0123456789abcdef')\n"
        "pulumi.export('dns', lb.dns_name)\n"
        "pulumi.export('name', lb.name)\n"
    )
    result = plan("test", _project(tmp_path / "p", program))
    (read,) = result.reads
    assert read.mode == "read" and read.type == "aws:lb/loadBalancer:LoadBalancer"
    assert result.outputs["name"] == "shared"
    assert result.outputs["dns"].startswith("shared-") and result.outputs["dns"].endswith(".us-east-1.elb.amazonaws.com")
    assert [r.type for r in result.resources] == ["pulumi:pulumi:Stack"]


def test_a_stack_reference_without_outputs_names_the_reference_and_the_flag(tmp_path: Path) -> None:
    program = "import pulumi\nnet = pulumi.StackReference('acme/network/prod')\npulumi.export('vpc', net.get_output('vpcId'))\n"
    project = _project(tmp_path / "p", program)
    with pytest.raises(ProgramError, match=r"stack reference 'acme/network/prod'.*--stack-reference acme/network/prod=outputs.json"):
        plan("test", project)
    assert plan("test", project, {"acme/network/prod": {"vpcId": "vpc-123"}}).outputs == {"vpc": "vpc-123"}


def test_a_short_stack_reference_name_matches_the_full_one(tmp_path: Path) -> None:
    program = "import pulumi\nnet = pulumi.StackReference('network/prod')\npulumi.export('vpc', net.require_output('vpcId'))\n"
    project = _project(tmp_path / "p", program)
    assert plan("test", project, {"acme/network/prod": {"vpcId": "vpc-9"}}).outputs == {"vpc": "vpc-9"}
    with pytest.raises(ProgramError, match="matches several --stack-reference values"):
        plan("test", project, {"acme/network/prod": {}, "other/network/prod": {}})


def test_multi_language_components_are_named(tmp_path: Path) -> None:
    program = "import pulumi_kubernetes as k8s\nk8s.helm.v4.Chart('nginx', chart='oci://registry-1.docker.io/bitnamicharts/nginx')\n"
    with pytest.raises(ProgramError, match=r"'nginx' \(kubernetes:helm.sh/v4:Chart\) is a multi-language component.*kubernetes.helm.v3.Release"):
        plan("test", _project(tmp_path / "p", program))


def test_a_missing_provider_sdk_names_the_package_and_the_virtualenv(tmp_path: Path) -> None:
    program = "import pulumi\nimport pulumi_gcp as gcp\n"
    project = _project(tmp_path / "p", program, virtualenv="venv")
    with pytest.raises(ProgramError) as caught:
        plan("test", project)
    message = str(caught.value)
    assert "imports the provider SDK 'pulumi_gcp' (PyPI package pulumi-gcp)" in message
    assert f"virtualenv {project / 'venv'} (runtime.options.virtualenv in Pulumi.yaml) does not exist" in message
    assert "at __main__.py:2: import pulumi_gcp as gcp" in message
    bare = _project(tmp_path / "bare", program)
    with pytest.raises(ProgramError, match=r"environment that runs the offline engine .* -m pip install pulumi-gcp"):
        plan("test", bare)


def test_the_program_virtualenv_provides_packages(tmp_path: Path) -> None:
    import sys

    project = _project(tmp_path / "p", "import pulumi, extra_sdk\npulumi.export('v', extra_sdk.VALUE)\n", virtualenv="venv")
    site = project / "venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    site.mkdir(parents=True)
    (site / "extra_sdk.py").write_text("VALUE = 'from the venv'\n", encoding="utf-8")
    assert plan("test", project).outputs == {"v": "from the venv"}
    assert str(site) not in sys.path and "extra_sdk" in sys.modules  # a library: kept, not the program's own


def test_a_failure_names_the_program_line_and_the_value_the_engine_made_up(tmp_path: Path) -> None:
    program = (
        "import pulumi_aws as aws\n"
        "vpc = aws.ec2.get_vpc(default=True)\n"
        "if vpc.cidr_block != '10.0.0.0/16':\n"
        "    raise ValueError(f'expected our VPC, got {vpc.id}')\n"
    )
    with pytest.raises(ProgramError) as caught:
        plan("test", _project(tmp_path / "p", program))
    message = str(caught.value)
    assert "ValueError: expected our VPC, got vpc-" in message
    assert "at __main__.py:4: raise ValueError(f'expected our VPC, got {vpc.id}')" in message
    assert "is not from a real account: the offline engine made it up as id of data source aws:ec2/getVpc:getVpc" in message
    assert caught.value.details is not None and 'File "' in caught.value.details and "__main__.py" in caught.value.details


def test_a_failed_plan_leaves_no_noise_behind(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    import gc

    program = "import pulumi\nref = pulumi.StackReference('acme/network/prod')\npulumi.export('v', ref.get_output('vpcId'))\n"
    with pytest.raises(ProgramError):
        plan("test", _project(tmp_path / "p", program))
    gc.collect()
    captured = capfd.readouterr()
    assert "never retrieved" not in captured.err and "never awaited" not in captured.err


def test_the_fast_serialization_matches_the_sdk() -> None:
    from pulumi.runtime import rpc
    from pulumi.runtime.sync_await import _sync_await

    from llmops.engine.runner import _struct

    state = {"a": 1, "b": 2.5, "c": "x", "d": None, "e": [1, None, {"f": True}], "g": {"h": None, "i": []}, "j": False}
    assert _struct(state) == _sync_await(rpc.serialize_properties(state, {}))


def test_stack_reference_files_are_checked(tmp_path: Path) -> None:
    from llmops.engine import load_stack_references

    good = tmp_path / "out.json"
    good.write_text('{"vpcId": "vpc-1"}', encoding="utf-8")
    assert load_stack_references([f"acme/net/prod={good}"]) == {"acme/net/prod": {"vpcId": "vpc-1"}}
    (tmp_path / "list.json").write_text("[1]", encoding="utf-8")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    for spec, problem in (
        (f"net/prod={good}", "expected ORG/PROJECT/STACK=outputs.json"),
        ("acme/net/prod", "expected ORG/PROJECT/STACK=outputs.json"),
        (f"acme/net/prod={tmp_path / 'missing.json'}", "cannot read"),
        (f"acme/net/prod={tmp_path / 'bad.json'}", "is not valid JSON"),
        (f"acme/net/prod={tmp_path / 'list.json'}", "must hold a JSON object"),
    ):
        with pytest.raises(UsageError, match=problem):
            load_stack_references([spec])


def test_a_resource_can_name_its_own_region(tmp_path: Path) -> None:
    program = "import pulumi, pulumi_aws as aws\nq = aws.sqs.Queue('jobs', region='ap-southeast-2')\npulumi.export('url', q.url)\n"
    result = plan("test", _project(tmp_path / "p", program))
    (queue,) = [r for r in result.resources if r.name == "jobs"]
    assert queue.region == "ap-southeast-2"
    assert result.outputs["url"].startswith("https://sqs.ap-southeast-2.amazonaws.com/123456789012/jobs-")


def test_arguments_echoed_in_a_result_take_the_declared_types(tmp_path: Path) -> None:
    """``most_recent="true"``: the provider reads it into a bool, and the SDK's result class
    insists on one."""
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "ami = aws.ec2.get_ami(most_recent='true', owners=['amazon'], filters=[{'name': 'name', 'values': ['al2023-*']}])\n"
        "pulumi.export('recent', ami.most_recent)\n"
        "pulumi.export('owners', ami.owners)\n"
    )
    assert plan("test", _project(tmp_path / "p", program)).outputs == {"recent": True, "owners": ["amazon"]}


def _failure(tmp_path: Path, program: str) -> str:
    """The message of the error planning ``program`` fails with."""
    with pytest.raises(ProgramError) as caught:
        plan("test", _project(tmp_path / "p", program))
    return str(caught.value)


def test_a_failing_data_source_result_names_the_call(tmp_path: Path) -> None:
    message = _failure(tmp_path, "import pulumi_aws as aws\n\nami = aws.ec2.get_ami(most_recent='yes', owners=['amazon'])\n")
    assert "TypeError: Expected argument 'most_recent' to be a bool" in message
    assert "in the result of data source get_ami, called at __main__.py:3: ami = aws.ec2.get_ami(most_recent='yes', owners=['amazon'])" in message
    assert "'amazon' is not from a real account" not in message  # the program's own argument, echoed


def test_website_endpoints_follow_the_regions_naming(tmp_path: Path) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "for region in ('us-east-1', 'eu-central-1'):\n"
        "    site = aws.s3.BucketWebsiteConfiguration(f'site-{region}', bucket=f'docs-{region}', index_document={'suffix': 'index.html'}, region=region)\n"
        "    pulumi.export(region, site.website_endpoint)\n"
    )
    assert plan("test", _project(tmp_path / "p", program)).outputs == {
        "us-east-1": "docs-us-east-1.s3-website-us-east-1.amazonaws.com",
        "eu-central-1": "docs-eu-central-1.s3-website.eu-central-1.amazonaws.com",
    }


def test_ec2_names_follow_the_region(tmp_path: Path) -> None:
    program = (
        "import pulumi, pulumi_aws as aws\n"
        "for region in ('us-east-1', 'us-west-2'):\n"
        "    vm = aws.ec2.Instance(f'web-{region}', ami='ami-0abcdef1234567890', instance_type='t3.micro', region=region)\n"
        "    pulumi.export(region, [vm.public_dns, vm.private_dns])\n"
    )
    outputs = plan("test", _project(tmp_path / "p", program)).outputs
    assert outputs["us-east-1"][0].endswith(".compute-1.amazonaws.com") and outputs["us-east-1"][1].endswith(".ec2.internal")
    assert outputs["us-west-2"][0].endswith(".us-west-2.compute.amazonaws.com") and outputs["us-west-2"][1].endswith(".us-west-2.compute.internal")


def test_a_missing_config_value_names_the_key_the_line_and_the_stack_file(tmp_path: Path) -> None:
    message = _failure(tmp_path, "import pulumi\n\ncfg = pulumi.Config('cfg')\nsize = int(cfg.require('autoscalingGroupSize'))\n")
    assert "requires the config value 'cfg:autoscalingGroupSize', which stack 'test' does not set" in message
    assert "at __main__.py:4: size = int(cfg.require('autoscalingGroupSize'))" in message
    assert "Add `cfg:autoscalingGroupSize: <value>` under `config:` in Pulumi.test.yaml" in message
