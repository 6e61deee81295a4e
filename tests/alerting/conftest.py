"""The ``promtool`` fixture: Prometheus' rule checker, skipped with the fix when it is not
installed (a failure instead under ``LLMOPS_REQUIRE_SERVICES=1``, as in CI)."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "needs promtool, which is not installed here (Debian: apt-get install prometheus; scripts/test.sh installs it)"
        if os.environ.get("LLMOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}; LLMOPS_REQUIRE_SERVICES=1 requires every service", pytrace=False)
        pytest.skip(message)
    return found
