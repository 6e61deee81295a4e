"""Policy config: overrides (allow-lists, thresholds, enforcement levels) are honored by the
real analyzer, and bad config fails with a message naming the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops.policy import PackSession, PolicyConfigError
from llmops.policy.config import load_config_file, merge_documents, resolve_config
from llmops.policy.fixtures import build_resources
from tests.policy.conftest import COST, SECURITY

P5_POOL = build_resources(
    [{"type": "aws:eks/nodeGroup:NodeGroup", "name": "h100", "props": {"instanceTypes": ["p5.48xlarge"], "capacityType": "ON_DEMAND", "scalingConfig": {"minSize": 1, "maxSize": 2}}}],
    environment="dev",
    region="us-east-1",
    where="test",
)


def _by_policy(violations: list) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for v in violations:
        found.setdefault(v.policy, []).append(v.level)
    return found


def test_defaults_flag_the_p5_pool(cost_session: PackSession) -> None:
    found = _by_policy(cost_session.check(P5_POOL))
    # 16 GPUs (> 16 is false), so only type, spot and scale-to-zero in dev; budget needs a limit.
    assert found == {"gpu-instance-types-allowed": ["mandatory"], "gpu-spot-in-dev": ["mandatory"], "gpu-scale-to-zero-in-dev": ["mandatory"]}


def test_allow_list_threshold_and_level_overrides(cost_session: PackSession) -> None:
    found = _by_policy(
        cost_session.check(
            P5_POOL,
            {
                "gpu-instance-types-allowed": {"allowedInstanceTypes": ["p5.*"]},
                "gpu-pool-max-gpus": {"maxGpusPerPool": 8},
                "gpu-spot-in-dev": "advisory",
                "gpu-scale-to-zero-in-dev": {"enforcementLevel": "disabled"},
            },
        )
    )
    assert found == {"gpu-pool-max-gpus": ["mandatory"], "gpu-spot-in-dev": ["advisory"]}


def test_all_sets_every_level_and_a_policy_entry_wins(cost_session: PackSession) -> None:
    found = _by_policy(cost_session.check(P5_POOL, {"all": "advisory", "gpu-spot-in-dev": "mandatory"}))
    assert found == {"gpu-instance-types-allowed": ["advisory"], "gpu-spot-in-dev": ["mandatory"], "gpu-scale-to-zero-in-dev": ["advisory"]}


def test_environment_scoped_policies_follow_the_environment(cost_session: PackSession) -> None:
    prod_pool = build_resources(
        [{"type": "aws:eks/nodeGroup:NodeGroup", "name": "h100", "props": {"instanceTypes": ["g5.xlarge"], "scalingConfig": {"minSize": 1, "maxSize": 2}}}],
        environment="prod",
        region="us-east-1",
        where="test",
    )
    assert cost_session.check(prod_pool) == []
    found = _by_policy(cost_session.check(prod_pool, {"gpu-spot-in-dev": {"environments": ["dev", "prod"]}}))
    assert found == {"gpu-spot-in-dev": ["mandatory"]}


def test_config_is_replaced_between_checks(security_session: PackSession) -> None:
    sns = build_resources([{"type": "aws:sns/topic:Topic", "name": "alerts", "props": {"kmsMasterKeyId": "alias/aws/sns"}}], "dev", "us-east-1", "test")
    assert len(security_session.check(sns, {"kms-encryption-at-rest": {"requireCustomerManagedKey": True}})) == 1
    assert security_session.check(sns) == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"gpu-spot-in-devv": "advisory"}, "gpu-spot-in-devv: no such policy in pack 'llmops-cost' (did you mean 'gpu-spot-in-dev'?)"),
        ({"gpu-pool-max-gpus": {"maxGpuPerPool": 4}}, "gpu-pool-max-gpus.maxGpuPerPool: unknown setting (did you mean 'maxGpusPerPool'?); valid settings: maxGpusPerPool"),
        ({"gpu-pool-max-gpus": {"maxGpusPerPool": "eight"}}, 'gpu-pool-max-gpus.maxGpusPerPool: must be a whole number (got "eight"); e.g. 16'),
        ({"gpu-pool-max-gpus": {"maxGpusPerPool": -1}}, "gpu-pool-max-gpus.maxGpusPerPool: must be >= 0 (got -1)"),
        ({"allowed-regions": {"allowedRegions": "us-east-1"}}, 'allowed-regions.allowedRegions: must be a list (got "us-east-1")'),
        ({"allowed-regions": {"allowedRegions": [1]}}, "allowed-regions.allowedRegions[0]: must be a string (got 1)"),
        ({"gpu-spot-in-dev": "warn"}, 'gpu-spot-in-dev: enforcement level must be one of advisory, mandatory, remediate, disabled (got "warn")'),
        ({"gpu-spot-in-dev": {"environment": "qa"}}, 'gpu-spot-in-dev.environment: must be one of "dev", "staging", "prod" (got "qa")'),
        ({"monthly-budget": {"usage": {"gpuUtilisation": 0.2}}}, "monthly-budget.usage.gpuUtilisation: unknown key (did you mean 'gpuUtilization'?)"),
    ],
)
def test_bad_config_names_the_field_and_the_fix(cost_session: PackSession, document: dict, expected: str) -> None:
    with pytest.raises(PolicyConfigError) as error:
        cost_session.configure(document, "cost.json")
    assert expected in str(error.value)
    assert str(error.value).startswith("invalid policy config cost.json (1 problem(s)):")


def test_every_problem_is_reported_at_once(cost_session: PackSession) -> None:
    with pytest.raises(PolicyConfigError) as error:
        resolve_config(cost_session.info, {"nope": "advisory", "gpu-pool-max-gpus": {"maxGpusPerPool": "x"}}, "f.json")
    assert len(error.value.problems) == 2


def test_resolved_config_applies_schema_defaults(cost_session: PackSession) -> None:
    resolved = resolve_config(cost_session.info, {"gpu-pool-max-gpus": {"maxGpusPerPool": 4}}, "f.json")
    assert resolved["gpu-pool-max-gpus"] == ("mandatory", {"maxGpusPerPool": 4})
    assert resolved["allowed-regions"][1]["allowedRegions"] == ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"]
    assert resolved["gpu-spot-in-dev"][1] == {"environments": ["dev"], "environment": ""}


@pytest.mark.parametrize("pack", [SECURITY, COST])
def test_shipped_environment_configs_validate(pack: Path, sessions: dict[str, PackSession]) -> None:
    session = next(s for s in sessions.values() if s.pack_dir == pack)
    files = sorted((pack / "config").glob("*.json"))
    assert [f.stem for f in files] == ["dev", "prod", "staging"]
    for path in files:
        resolve_config(session.info, load_config_file(path), str(path))


def test_config_file_errors(tmp_path: Path) -> None:
    broken = tmp_path / "dev.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(PolicyConfigError, match="not valid JSON"):
        load_config_file(broken)
    broken.write_text(json.dumps(["a"]), encoding="utf-8")
    with pytest.raises(PolicyConfigError, match="must be an object mapping policy names"):
        load_config_file(broken)


def test_merge_documents_layers_settings() -> None:
    merged = merge_documents({"a": {"x": 1, "y": 2}, "b": "advisory"}, {"a": {"y": 3}, "b": {"z": 1}})
    assert merged == {"a": {"x": 1, "y": 3}, "b": {"enforcementLevel": "advisory", "z": 1}}
