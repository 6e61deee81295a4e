"""Policy tests: each pack's analyzer is started once per session (a real ``PolicyPack``
process, as ``pulumi preview --policy-pack`` starts it) and every case runs through it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmops.policy import PackSession

REPO = Path(__file__).resolve().parents[2]
SECURITY = REPO / "policies" / "security"
COST = REPO / "policies" / "cost"
BAD_PROGRAM = Path(__file__).resolve().parent / "programs" / "bad_platform"


@pytest.fixture(scope="session")
def security_session() -> Iterator[PackSession]:
    with PackSession(SECURITY, stack="fixture", project="fixtures") as session:
        yield session


@pytest.fixture(scope="session")
def cost_session() -> Iterator[PackSession]:
    with PackSession(COST, stack="fixture", project="fixtures") as session:
        yield session


@pytest.fixture(scope="session")
def sessions(security_session: PackSession, cost_session: PackSession) -> dict[str, PackSession]:
    return {"security": security_session, "cost": cost_session}
