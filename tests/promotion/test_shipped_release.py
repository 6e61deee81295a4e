"""The shipped stacks' releases, as a user moves one on: ``llmops release set`` pins a new
serving image in dev, ``llmops smoke --stack dev`` records its result, and ``llmops promote
dev staging`` carries it into staging's stack file once staging plans with it. A release that
names a chart version the project has no schemas for is refused by the plan gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_api import FakeApi
from promotion_support import (
    REPO,
    invoke,
    pinned,
    record_results,
    stack_path,
    write_promotion_project,
)

from core.serving_pins import RAY_VERSION

NEW_IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray{RAY_VERSION}-0f1e2d3c4b5a@sha256:{'c' * 64}"


@pytest.fixture
def shipped_project(tmp_path: Path) -> Path:
    """A project running this repository's program with the shipped dev, staging and prod
    stack files."""
    texts = {s: (REPO / "stacks" / f"Pulumi.{s}.yaml").read_text(encoding="utf-8") for s in ("dev", "staging", "prod")}
    return write_promotion_project(tmp_path / "project", **texts)


def test_every_shipped_stack_pins_a_release() -> None:
    from llmops.release.stackfile import read_stack_file

    for stack in ("dev", "staging", "prod"):
        release = read_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml").release
        assert release is not None, f"{stack} pins no llmops:serving.release"
        assert "@sha256:" in str(release["image"]) and len(str(release["modelRevision"])) == 40


@pytest.mark.slow
def test_a_new_image_is_smoked_in_dev_and_promoted_to_staging(shipped_project: Path, fake_api: FakeApi) -> None:
    program = ("--program", str(shipped_project))
    code, out = invoke("release", "set", f"image={NEW_IMAGE}", "--stack", "dev", *program)
    assert code == 0, out
    code, out = invoke("smoke", "-e", fake_api.url, "--api-key", "test-key", "--stack", "dev", *program)
    assert code == 0, out
    release = record_results(shipped_project, "dev", smoke=None)
    before = stack_path(shipped_project, "staging").read_text(encoding="utf-8")
    code, out = invoke("promote", "dev", "staging", *program)
    assert code == 0, out
    for gate in ("order", "results", "plan", "policy", "budget"):
        assert f"✓ {gate}" in out, out
    staging = pinned(shipped_project, "staging")
    assert staging.fingerprint == release.fingerprint and staging.values["image"] == NEW_IMAGE
    after = stack_path(shipped_project, "staging").read_text(encoding="utf-8")
    kept = [line for line in before.splitlines() if "release:" not in line and "image:" not in line]
    assert [line for line in after.splitlines() if line in kept] == kept  # the rest of the file is untouched


@pytest.mark.slow
def test_a_release_naming_a_chart_without_schemas_is_refused(shipped_project: Path) -> None:
    program = ("--program", str(shipped_project))
    code, out = invoke("release", "set", "chartVersions.kuberay-operator=1.8.0", "--stack", "dev", *program)
    assert code == 0, out
    record_results(shipped_project, "dev")
    before = stack_path(shipped_project, "staging").read_bytes()
    code, out = invoke("promote", "dev", "staging", *program)
    assert code == 1
    assert "✗ plan" in out and "llmops:serving.release.chartVersions: kuberay-operator 1.8.0 has no schemas in the project; use 1.7.0" in out
    assert stack_path(shipped_project, "staging").read_bytes() == before
