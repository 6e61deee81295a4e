"""The data plane's stack config (``llmops:data``: every problem with its path and a fix) and
the composition's mapping of it, with the environment's choices, to the components' args."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.data import AuroraArgs, GlobalPrimary, OpenSearchArgs, Placement
from stacks.config import ConfigError, Environment, parse
from stacks.platform import DATA_PROFILES, PROFILES, cache_args, vector_store_args
from tests.support import valid_config


def _with_data(data: dict[str, Any], *, byo_home: bool = False) -> dict[str, Any]:
    doc = valid_config()
    doc["data"] = copy.deepcopy(data)
    if byo_home:
        doc["regions"][0]["cluster"] = {"existing": {"clusterName": "shared"}}
        del doc["regions"][0]["gpuPools"]
    return doc


def test_defaults_keep_the_existing_keys_and_add_the_new_sections() -> None:
    data = parse(valid_config()).data
    assert (data.enabled, data.vector_store_engine, data.min_acu, data.max_acu, data.cache_engine) == (True, "aurora-pgvector", 0.5, 4, "valkey")
    assert (data.global_database, data.auto_pause_minutes) == (False, 60)
    assert (data.cache.mode, data.cache.max_data_gb, data.cache.max_ecpu_per_second, data.cache.node_type) == ("serverless", 5, 5000, "cache.t4g.small")
    assert (data.gcs_fault_tolerance.enabled, data.documents.replicate_to_home, data.documents.noncurrent_version_days) == (False, False, 30)
    old = parse(_with_data({"vectorStoreEngine": "opensearch-serverless", "minAcu": 1, "maxAcu": 8, "cacheEngine": "redis"})).data
    assert (old.vector_store_engine, old.min_acu, old.max_acu, old.cache_engine) == ("opensearch-serverless", 1, 8, "redis")


CASES: list[tuple[str, dict[str, Any], bool, str, str]] = [
    ("global database on OpenSearch", {"vectorStoreEngine": "opensearch-serverless", "globalDatabase": True}, False, "llmops:data.globalDatabase", "set vectorStoreEngine: aurora-pgvector"),
    ("global database that pauses", {"minAcu": 0, "globalDatabase": True}, False, "llmops:data.globalDatabase", "set minAcu: 0.5"),
    ("ACUs off the half steps", {"minAcu": 0.75}, False, "llmops:data.minAcu", "steps of 0.5 ACU; use e.g. 1"),
    ("max ACUs below one", {"minAcu": 0, "maxAcu": 0.5}, False, "llmops:data.maxAcu", "must be >= 1.0 (got 0.5)"),
    ("max ACUs below min", {"minAcu": 8, "maxAcu": 4}, False, "llmops:data.maxAcu", "must be >= minAcu (8)"),
    ("auto-pause too soon", {"autoPauseMinutes": 1}, False, "llmops:data.autoPauseMinutes", "must be >= 5 (got 1)"),
    ("unknown cache mode", {"cache": {"mode": "cluster"}}, False, "llmops:data.cache.mode", "'serverless' or 'replicationGroup'"),
    ("cache node type", {"cache": {"nodeType": "t4g.small"}}, False, "llmops:data.cache.nodeType", "use e.g. cache.t4g.small"),
    ("cache data limit", {"cache": {"maxDataGb": 0}}, False, "llmops:data.cache.maxDataGb", "must be >= 1"),
    ("cache ECPU limit", {"cache": {"maxEcpuPerSecond": 10}}, False, "llmops:data.cache.maxEcpuPerSecond", "must be >= 1000 (got 10)"),
    ("GCS token version", {"gcsFaultTolerance": {"enabled": True, "authTokenVersion": 0}}, False, "llmops:data.gcsFaultTolerance.authTokenVersion", "must be >= 1"),
    ("noncurrent versions", {"documents": {"noncurrentVersionDays": 0}}, False, "llmops:data.documents.noncurrentVersionDays", "must be >= 1"),
    ("misspelt key", {"globalDatabse": True}, False, "llmops:data.globalDatabse", "globalDatabase"),
    ("global database without a home data plane", {"globalDatabase": True}, True, "llmops:data.globalDatabase", "the home region us-east-1 brings its own cluster"),
    ("replication without a home data plane", {"documents": {"replicateToHome": True}}, True, "llmops:data.documents.replicateToHome", "set replicateToHome: false"),
]


@pytest.mark.parametrize(("label", "data", "byo_home", "path", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_data_problem_names_its_path_and_fix(label: str, data: dict[str, Any], byo_home: bool, path: str, text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(_with_data(data, byo_home=byo_home))
    problems = {p.path: p.message for p in caught.value.problems}
    assert path in problems, f"{label}: expected a problem at {path}, got {problems}"
    assert text in problems[path], f"{label}: {problems[path]!r} lacks {text!r}"


def test_every_data_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse(_with_data({"globalDatabase": True, "minAcu": 0.3, "cache": {"mode": "x", "nodeType": "y"}, "documents": {"replicateToHome": True}}, byo_home=True))
    paths = {p.path for p in caught.value.problems}
    assert {"llmops:data.minAcu", "llmops:data.cache.mode", "llmops:data.cache.nodeType", "llmops:data.documents.replicateToHome", "llmops:data.globalDatabase"} <= paths


def test_a_byo_region_without_global_features_needs_no_data_settings() -> None:
    assert parse(_with_data({}, byo_home=True)).data.enabled
    assert not parse(_with_data({"enabled": False, "globalDatabase": True}, byo_home=True)).data.enabled


def _choices(env: Environment) -> tuple[Any, ...]:
    data = DATA_PROFILES[env]
    return (
        PROFILES[env].deletion_protection, data.backup_retention_days, data.final_snapshot, data.vector_store_readers,
        data.cache_replicas, data.cache_snapshot_retention_days, data.force_destroy_documents, data.search_standby_replicas,
        data.document_access_log_days,
    )


def test_environments_decide_backups_protection_readers_replicas_and_cleanup() -> None:
    assert _choices("dev") == (False, 1, False, 0, 0, 0, True, False, 0)
    assert _choices("staging") == (False, 7, False, 0, 1, 1, False, False, 30)
    assert _choices("prod") == (True, 14, True, 1, 1, 14, False, True, 90)


def test_the_vector_store_gets_the_config_and_the_environments_choices() -> None:
    data = parse(_with_data({"minAcu": 0, "maxAcu": 8, "autoPauseMinutes": 30})).data
    dev = vector_store_args(data, PROFILES["dev"], DATA_PROFILES["dev"], None)
    assert dev == AuroraArgs(
        min_acu=0, max_acu=8, auto_pause_seconds=1800, readers=0, backup_retention_days=1,
        deletion_protection=False, final_snapshot=False, log_retention_days=14,
    )
    primary = GlobalPrimary("llmops-prod-vectors")
    prod = vector_store_args(parse(_with_data({"minAcu": 2, "globalDatabase": True})).data, PROFILES["prod"], DATA_PROFILES["prod"], primary)
    assert isinstance(prod, AuroraArgs)
    assert (prod.readers, prod.backup_retention_days, prod.deletion_protection, prod.final_snapshot, prod.global_database) == (1, 14, True, True, primary)
    search = vector_store_args(parse(_with_data({"vectorStoreEngine": "opensearch-serverless"})).data, PROFILES["prod"], DATA_PROFILES["prod"], None)
    assert search == OpenSearchArgs(standby_replicas=True)


def test_the_cache_gets_its_mode_limits_and_the_gcs_store_when_it_is_on() -> None:
    placement = Placement(vpc_id="vpc-1", subnet_ids=["s"])
    config = parse(_with_data({"cacheEngine": "redis", "cache": {"mode": "replicationGroup", "nodeType": "cache.r7g.large"}, "gcsFaultTolerance": {"enabled": True, "authTokenVersion": 3}})).data
    args = cache_args(config, DATA_PROFILES["prod"], "us-west-2", "llmops-prod-us-west-2", placement)
    assert (args.engine, args.mode, args.node_type, args.replicas, args.snapshot_retention_days) == ("redis", "replicationGroup", "cache.r7g.large", 1, 14)
    assert args.gcs is not None and (args.gcs.replicas, args.gcs.auth_token_version, args.gcs.snapshot_retention_days) == (1, 3, 14)
    assert cache_args(parse(valid_config()).data, DATA_PROFILES["dev"], "us-east-1", "x-y", placement).gcs is None
