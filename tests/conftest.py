"""Shared fixtures: offline plans of the shipped stacks (each planned once per session)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (imported before any engine run; see below)
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# hypothesis' pytest plugin imports (and pytest rewrites) the hypothesis package lazily at
# the end of the session; on CPython 3.11 that compile can hit "AST constructor recursion
# depth mismatch" after the Pulumi runtime has run in-process, so import it up front.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class ShippedPlans:
    """Offline plans of the shipped stacks, each run once, with the aliases every resource
    declared (new URN -> the URNs its aliases stand for)."""

    def __init__(self) -> None:
        self._plans: dict[str, tuple[Any, dict[str, list[str]]]] = {}

    def _run(self, stack: str) -> tuple[Any, dict[str, list[str]]]:
        if stack not in self._plans:
            from llmops.engine import plan
            from tests.harness import capture_aliases

            with capture_aliases() as aliases:
                result = plan(stack, ROOT)
            self._plans[stack] = (result, aliases)
        return self._plans[stack]

    def plan(self, stack: str) -> Any:
        return self._run(stack)[0]

    def aliases(self, stack: str) -> dict[str, list[str]]:
        return self._run(stack)[1]


@pytest.fixture(scope="session")
def shipped() -> ShippedPlans:
    return ShippedPlans()


@pytest.fixture(scope="session")
def dev_plan(shipped: ShippedPlans) -> Any:
    return shipped.plan("dev")


@pytest.fixture(scope="session")
def staging_plan(shipped: ShippedPlans) -> Any:
    return shipped.plan("staging")


@pytest.fixture(scope="session")
def prod_plan(shipped: ShippedPlans) -> Any:
    return shipped.plan("prod")


@pytest.fixture(scope="session")
def dev_document(dev_plan: Any) -> dict[str, Any]:
    from llmops.engine.report import plan_document

    return plan_document(dev_plan)


@pytest.fixture(scope="session")
def prod_document(prod_plan: Any) -> dict[str, Any]:
    from llmops.engine.report import plan_document

    return plan_document(prod_plan)
