"""The vendored schemas: every file accounted for in SOURCES.md, and found by scanning (a
new version is added by adding files)."""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path

import pytest
import yaml

from components.versions import CLUSTER_AUTOSCALER_VERSION, KARPENTER_VERSION
from llmops.validation import helm, validate_helm_values
from llmops.validation.catalog import SCHEMA_ROOT, catalog, choose_crd, scan

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
    plural: widgets
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size:
                type: integer
                maximum: {maximum}
"""


def test_every_vendored_file_is_listed_with_its_checksum() -> None:
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \| `([0-9a-f]{40})` \| `([^`]+)` \| `([0-9a-f]{64})` \|$", (SCHEMA_ROOT / "SOURCES.md").read_text(), re.M)
    listed = {path: sha for path, _, _, _, _, sha in rows}
    files = {p.relative_to(SCHEMA_ROOT).as_posix() for p in SCHEMA_ROOT.rglob("*") if p.is_file() and p.name != "SOURCES.md"}
    assert set(listed) == files
    for path, sha in listed.items():
        assert hashlib.sha256((SCHEMA_ROOT / path).read_bytes()).hexdigest() == sha, path


def test_the_packaged_catalogue() -> None:
    found = catalog()
    kinds = {kind for (_, kind) in found.crds}
    assert {"NodePool", "EC2NodeClass", "NodeClaim", "RayService", "RayCluster", "RayJob", "RayCronJob"} <= kinds
    assert {"ServiceMonitor", "PodMonitor", "PrometheusRule", "AlertmanagerConfig", "TargetGroupBinding", "IngressClassParams"} <= kinds
    assert found.chart("karpenter", "v" + KARPENTER_VERSION) is not None
    assert {CLUSTER_AUTOSCALER_VERSION, "9.59.0"} <= set(found.chart_versions("cluster-autoscaler"))
    plugin = found.chart("nvidia-device-plugin", "0.17.4")
    assert plugin is not None
    assert [(d.name, d.key, d.conditions) for d in plugin.dependencies] == [("node-feature-discovery", "nfd", ("nfd.enabled", "gfd.enabled"))]


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_schemas_are_found_by_what_they_define(tmp_path: Path) -> None:
    # two versions of one project, the CRD in a multi-document file under any name
    _write(tmp_path, "widgets-1.0.0/all.yaml", "---\n" + CRD.format(maximum=5) + "---\nkind: ConfigMap\napiVersion: v1\n")
    _write(tmp_path, "widgets-2.0.0/crds/w.yaml", CRD.format(maximum=50))
    _write(tmp_path, "widgets-2.0.0/values.yaml", "replicas: 1\n")
    _write(tmp_path, "notes/readme.yaml", "x: 1\n")
    found = scan(tmp_path)
    assert [s.label for s in found.crd_sources("example.com", "Widget")] == ["widgets-1.0.0/all.yaml", "widgets-2.0.0/crds/w.yaml"]
    assert [(s.project, s.version) for s in found.crds[("example.com", "Widget")]] == [("widgets", "1.0.0"), ("widgets", "2.0.0")]
    assert found.chart("widgets", "2.0.0") is not None and found.chart("widgets", "1.0.0") is None
    pinned = choose_crd("example.com", "Widget", {"widgets": "1.0.0"}, within=found)
    assert pinned is not None and pinned.note is None
    assert pinned.crd.schemas["v1"]["properties"]["spec"]["properties"]["size"]["maximum"] == 5
    newest = choose_crd("example.com", "Widget", {}, within=found)
    assert newest is not None and newest.crd.source.version == "2.0.0"
    assert newest.note is not None and "checked against the newest, widgets 2.0.0" in newest.note
    assert choose_crd("example.com", "Gadget", within=found) is None


def test_a_subchart_the_parent_has_no_defaults_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chart = {"apiVersion": "v2", "name": "app", "version": "1.0.0", "dependencies": [
        {"name": "db", "version": "2.0.0", "condition": "db.enabled"},
        {"name": "cache", "version": "3.0.0", "alias": "redis", "tags": ["storage"]},
        {"name": "queue", "version": "4.0.0"},
    ]}  # fmt: skip
    _write(tmp_path, "app-1.0.0/Chart.yaml", yaml.safe_dump(chart))
    _write(tmp_path, "app-1.0.0/values.yaml", textwrap.dedent("""\
        replicas: 1
        # priorityClassName: ""
        """))
    _write(tmp_path, "app-1.0.0/charts/cache/values.yaml", "maxmemory: 64mb\n")
    found = scan(tmp_path)
    monkeypatch.setattr(helm, "catalog", lambda: found)
    problems = validate_helm_values(
        "app",
        "1.0.0",
        {
            "db": {"enabled": True, "size": 1},
            "redis": {"maxmemory": "1gb", "maxmemroy": 1},
            "queue": {"workers": 2},
            "tags": {"storage": True},
            "priorityClassName": "high",
        },
    )
    assert [(p.path, p.severity) for p in problems] == [
        ("values.db.size", "unvalidated"),  # its condition key is known, the rest is not vendored
        ("values.redis.maxmemroy", "error"),  # under the alias, against the subchart's values
        ("values.queue", "unvalidated"),  # nothing known about it at all
    ]
