"""A moto server on loopback (real HTTP, session-scoped) and the :mod:`fakeaws` stub in
front of it, with fake credentials and no host AWS config in the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.capacity.fakeaws import FakeAws
from tests.support import moto_server

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    # moto builds each region's EC2 backend on first use; skipping its default AMIs makes
    # that several times faster (offerings and prices do not need them)
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_SERVICE_QUOTAS")


@pytest.fixture(scope="session")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Fake credentials; the host's ~/.aws is hidden so nothing real is used."""
    home = tmp_path_factory.mktemp("aws")
    env = {
        **FAKE_ENV,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for key in UNSET:
            mp.delenv(key, raising=False)
        for key, value in env.items():
            mp.setenv(key, value)
        yield env


@pytest.fixture(scope="session")
def moto_url(aws_env: dict[str, str]) -> Iterator[str]:
    """moto in server mode on 127.0.0.1 (a free port)."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def _fake_server(moto_url: str) -> Iterator[FakeAws]:
    fake = FakeAws(upstream=moto_url)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_aws(_fake_server: FakeAws) -> Iterator[FakeAws]:
    """The stub in front of moto, emptied for each test."""
    _fake_server.reset()
    yield _fake_server
    _fake_server.reset()


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where the credential chain finds nothing."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    os.environ.pop("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", None)
