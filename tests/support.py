"""Helpers shared by the tests: valid configs to mutate, throwaway Pulumi projects, the
fixture price catalogue, and lookups in plan documents."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from core.catalog.prices import PriceCatalogue

REPO = Path(__file__).resolve().parents[1]
FIXTURE_PRICES = REPO / "tests" / "fixtures" / "prices.json"
"""A frozen copy of the packaged price catalogue: cost figures computed by hand in the tests
use these prices, whatever a refresh does to ``core/catalog/data/prices.json``."""


@cache
def fixture_prices() -> PriceCatalogue:
    from core.catalog.prices import load_prices

    return load_prices(FIXTURE_PRICES)


def valid_config() -> dict[str, Any]:
    """A small valid ``llmops:`` namespace (keys without the prefix)."""
    return copy.deepcopy(
        {
            "environment": "dev",
            "owner": "ml-platform",
            "costCenter": "cc-1",
            "account": {"id": "123456789012"},
            "homeRegion": "us-east-1",
            "regions": [
                {
                    "name": "us-east-1",
                    "cidr": "10.10.0.0/16",
                    "azCount": 2,
                    "natGateways": "single",
                    "cluster": {
                        "access": {"mode": "publicRestricted", "deployerCidrs": ["203.0.113.0/24"]}
                    },
                    "gpuPools": [
                        {
                            "name": "a10g",
                            "instanceTypes": ["g5.xlarge"],
                            "capacityType": "spot",
                            "minNodes": 0,
                            "maxNodes": 2,
                        }
                    ],
                },
                {
                    "name": "us-west-2",
                    "cidr": "10.11.0.0/16",
                    "azCount": 3,
                    "cluster": {"access": {"mode": "private", "deployFrom": "ssmTunnel"}},
                    "gpuPools": [
                        {
                            "name": "l4",
                            "instanceTypes": ["g6.xlarge", "g6.2xlarge"],
                            "capacityType": "on-demand",
                            "minNodes": 1,
                            "maxNodes": 3,
                        }
                    ],
                },
            ],
            "budget": {"monthlyUsd": 2000, "alertEmails": ["team@example.com"]},
        }
    )


def write_project(
    root: Path,
    *,
    stack: str = "test",
    config: dict[str, Any] | None = None,
    program: str | None = None,
    name: str = "llmops-platform",
    extra_config: dict[str, Any] | None = None,
) -> Path:
    """A Pulumi project in ``root``. Without ``program`` it runs this repository's program
    (``stacks/``) with ``config`` as its ``llmops:`` namespace."""
    root.mkdir(parents=True, exist_ok=True)
    project: dict[str, Any] = {"name": name, "runtime": {"name": "python"}}
    if program is None:
        project["main"] = str(REPO / "stacks")
    else:
        (root / "__main__.py").write_text(program, encoding="utf-8")
    (root / "Pulumi.yaml").write_text(yaml.safe_dump(project), encoding="utf-8")
    values: dict[str, Any] = (
        {"pulumi:disable-default-providers": ["aws", "kubernetes"]} if program is None else {}
    )
    values.update({f"llmops:{k}": v for k, v in (config or {}).items()})
    values.update(extra_config or {})
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": values}), encoding="utf-8")
    return root


def of_type(
    document: dict[str, Any], type_: str, region: str | None = None
) -> list[dict[str, Any]]:
    """The resources of a plan document of ``type_`` (in ``region``, when given)."""
    return [
        r
        for r in document["resources"]
        if r["type"] == type_ and (region is None or r["region"] == region)
    ]


def one(
    document: dict[str, Any], type_: str, name_suffix: str = "", region: str | None = None
) -> dict[str, Any]:
    """The one resource of ``type_`` whose name ends with ``name_suffix``."""
    found = [r for r in of_type(document, type_, region) if r["name"].endswith(name_suffix)]
    assert len(found) == 1, (
        f"expected one {type_} named *{name_suffix}, found {[r['urn'] for r in found]}"
    )
    return found[0]


def inputs_of(document: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r["inputs"] for r in of_type(document, type_)]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def component_children(recorded: Any, name: str) -> list[Any]:
    """The registrations whose parent is the ``llmops:`` component named ``name``, in a
    :func:`tests.harness.run` result."""
    (root,) = [
        r for r in recorded.resources.values() if r.type.startswith("llmops:") and r.name == name
    ]
    return [r for r in recorded.resources.values() if r.parent == root.urn]


def only(registrations: list[Any], type_: str, name_suffix: str = "") -> Any:
    """The one registration of ``type_`` whose name ends with ``name_suffix``."""
    found = [r for r in registrations if r.type == type_ and r.name.endswith(name_suffix)]
    assert len(found) == 1, (
        f"expected one {type_} named *{name_suffix}, found {[r.urn for r in found]}"
    )
    return found[0]


def provider_urn(recorded: Any, region: str) -> str:
    """The URN of the explicit AWS provider of ``region`` (``tests.harness.aws_provider``)."""
    return str(recorded.one("pulumi:providers:aws", f"aws-{region}").urn)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 (a free port), for boto3 code over real HTTP; its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


class DriverMemory:
    """How far this process's memory rose while a block ran: at its peak, for Python's own
    allocations (``tracemalloc``: every object the process keeps, in every thread) and for
    the resident set (sampled every few milliseconds: Arrow buffers and anything else
    outside Python's allocator); and what Python still holds at the end (``python_end``:
    what the block kept). Used on the ingest pipeline's driver."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.python_peak = 0
        self.python_end = 0
        self.rss_peak = 0

    def _rss(self) -> int:
        import psutil

        return int(psutil.Process().memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._rss_max = max(self._rss_max, self._rss())

    def __enter__(self) -> DriverMemory:
        import threading
        import tracemalloc

        self._started = not tracemalloc.is_tracing()
        if self._started:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._python_start = tracemalloc.get_traced_memory()[0]
        self._rss_start = self._rss_max = self._rss()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import gc
        import tracemalloc

        self._stop.set()
        self._sampler.join()
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()  # what is still held, not garbage waiting for the cycle collector
        current = tracemalloc.get_traced_memory()[0]
        self.python_peak = peak - self._python_start
        self.python_end = current - self._python_start
        self.rss_peak = max(self._rss_max, self._rss()) - self._rss_start
        if self._started:
            tracemalloc.stop()

    def __repr__(self) -> str:
        return (
            f"DriverMemory(python_peak={self.python_peak / 2**20:.2f} MiB, "
            f"python_end={self.python_end / 2**20:.2f} MiB, rss_peak={self.rss_peak / 2**20:.1f} MiB)"
        )
