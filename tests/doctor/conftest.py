"""``llmops doctor`` against moto in server mode on 127.0.0.1, behind a loopback stub for
what moto cannot answer: EC2 quotas (the capacity tests' stub), EKS add-on builds
(``DescribeAddonVersions``) and the what-is-my-address service."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.capacity.conftest import aws_env, moto_url  # noqa: F401  (the moto server fixtures, shared)
from tests.capacity.fakeaws import FakeAws


@dataclass
class DoctorAws(FakeAws):
    """The capacity stub, plus EKS add-on builds by (region, version, add-on) and the address
    ``/checkip`` answers with."""

    addon_builds: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    address: str = "198.51.100.7"

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.addon_builds.clear()
            self.address = "198.51.100.7"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        if url.path == "/checkip":
            self._send(handler, 200, "text/plain", f"{self.address}\n".encode())
            return
        if url.path == "/addons/supported-versions":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            region = self._region(handler)
            builds = self.addon_builds.get((region, query.get("kubernetesVersion", ""), query.get("addonName", "")), [])
            addons = [
                {
                    "addonName": query.get("addonName"),
                    "type": "networking",
                    "addonVersions": [
                        {"addonVersion": b, "compatibilities": [{"clusterVersion": query.get("kubernetesVersion"), "defaultVersion": i == 0}]}
                        for i, b in enumerate(builds)
                    ],
                }
            ] if builds else []
            self._record("eks", region, "DescribeAddonVersions", "stub")
            self._send(handler, 200, "application/json", json.dumps({"addons": addons}).encode())
            return
        super()._handle(handler)

    @staticmethod
    def _region(handler: BaseHTTPRequestHandler) -> str:
        from tests.capacity.fakeaws import _CREDENTIAL

        match = _CREDENTIAL.search(handler.headers.get("Authorization", ""))
        return match.group("region") if match else "us-east-1"

    def seed_pinned_builds(self, region: str, version: str = "1.35") -> None:
        from components import versions

        pins = versions.KUBERNETES_PINS[version]
        for addon, build in pins.addons.items():
            self.addon_builds[(region, version, addon)] = [build]


@pytest.fixture(scope="session")
def _doctor_server(moto_url: str) -> Iterator[DoctorAws]:  # noqa: F811
    fake = DoctorAws(upstream=moto_url)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def doctor_aws(_doctor_server: DoctorAws, moto_url: str) -> Iterator[DoctorAws]:  # noqa: F811
    """The stub, emptied, in front of a moto server reset to an empty account."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    _doctor_server.reset()
    yield _doctor_server
    _doctor_server.reset()
