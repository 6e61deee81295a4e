"""The vendored schemas, found by scanning ``llmops/validation/schemas/``.

Each directory is one upstream project or chart at one version, named ``<name>-<version>``
(``karpenter-1.14.1``). In it:

- any ``*.yaml`` holding ``CustomResourceDefinition`` documents: each CRD says its own group,
  kind and served versions, so a CRD is found by what it defines, not by its file name;
- ``values.yaml`` (and ``Chart.yaml``, when present): the chart's default values, which
  Helm values are checked against; ``Chart.yaml`` also names the chart's dependencies
  (alias, condition, tags);
- ``charts/<dependency>/values.yaml``: a subchart's default values (the project sets keys
  under its alias).

Adding a schema is adding files: nothing here lists them. Only the head of each CRD file
(group and kind) is read up front; a CRD is parsed in full the first time an object of its
kind is validated, and kept for the rest of the process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_ROOT = Path(__file__).resolve().parent / "schemas"

_DIRECTORY = re.compile(r"^(?P<name>.+?)-v?(?P<version>\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]*)?)$")
_NOT_CRD_FILES = frozenset({"values.yaml", "Chart.yaml"})


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML, plus the ``=`` scalar (``tag:yaml.org,2002:value``) that upstream CRDs use
    in enums and that PyYAML would otherwise refuse."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def load_yaml_documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.load_all(stream, Loader=_Loader) if doc is not None]


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """A sort key for versions like ``1.6.3``, ``v0.93.0`` or ``1.0.0-rc.1``."""
    parts = re.split(r"[.+-]", version.lstrip("v"))
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in parts)


@dataclass(frozen=True)
class CrdSource:
    """Where a CRD lives: the vendored directory (project and version) and the file."""

    project: str
    version: str
    path: Path
    group: str
    kind: str
    label: str
    """The file relative to the schema root: ``karpenter-1.14.1/karpenter.sh_nodepools.yaml``."""


@dataclass(frozen=True)
class Crd:
    """A CRD as the API server serves it: its scope and each served version's schema."""

    source: CrdSource
    scope: str
    schemas: Mapping[str, Mapping[str, Any]]
    """Served version (``v1``) -> its ``openAPIV3Schema``."""


@dataclass(frozen=True)
class Dependency:
    """A subchart as the parent chart declares it."""

    name: str
    key: str
    """The key its values live under in the parent's values (its alias, else its name)."""
    conditions: tuple[str, ...] = ()
    """Values paths that enable it (``nfd.enabled``)."""
    tags: tuple[str, ...] = ()
    directory: Path | None = None
    """``charts/<name>/`` when its default values are vendored."""


@dataclass(frozen=True)
class ChartSource:
    """A chart at one version whose default values are vendored."""

    name: str
    version: str
    directory: Path
    label: str
    """Its values file relative to the schema root: ``karpenter-1.14.1/values.yaml``."""
    dependencies: tuple[Dependency, ...] = ()


@dataclass
class Catalog:
    """Every vendored CRD (by group and kind) and chart (by name and version)."""

    crds: dict[tuple[str, str], list[CrdSource]] = field(default_factory=dict)
    charts: dict[tuple[str, str], ChartSource] = field(default_factory=dict)

    def crd_sources(self, group: str, kind: str) -> list[CrdSource]:
        return self.crds.get((group, kind), [])

    def chart(self, name: str, version: str) -> ChartSource | None:
        return self.charts.get((name, version.lstrip("v")))

    def chart_versions(self, name: str) -> list[str]:
        return sorted((v for n, v in self.charts if n == name), key=version_key)


def _crd_head(document: str) -> tuple[str, str] | None:
    """(group, kind) of a CRD document, read from YAML events only as far as needed."""
    frames: list[list[Any]] = []  # [is_mapping, current key, expecting a key]
    top_kind = group = kind = None
    for event in yaml.parse(document, Loader=_Loader):
        if isinstance(event, yaml.ScalarEvent):
            if not frames or not frames[-1][0]:
                continue
            frame = frames[-1]
            if frame[2]:
                frame[1], frame[2] = event.value, False
                continue
            frame[2] = True
            path = tuple(f[1] if f[0] else None for f in frames)
            if path == ("kind",):
                top_kind = event.value
                if top_kind != "CustomResourceDefinition":
                    return None
            elif path == ("spec", "group"):
                group = event.value
            elif path == ("spec", "names", "kind"):
                kind = event.value
            if top_kind and group and kind:
                return group, kind
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            frames.append([isinstance(event, yaml.MappingStartEvent), None, True])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            frames.pop()
            if frames and frames[-1][0]:
                frames[-1][2] = True
    return None


def _documents(text: str) -> list[str]:
    """The YAML documents of a stream, split at ``---`` lines (plain string search: CRD
    files run to megabytes)."""
    documents: list[str] = []
    current: list[str] = []
    chunks = ("\n" + text).split("\n---")
    for i, chunk in enumerate(chunks):
        if i == 0:
            current.append(chunk)
        elif chunk[:1] in ("", " ", "\t", "\n", "\r"):
            documents.append("\n".join(current))
            current = [chunk]
        else:  # "---" inside a line that only starts like a marker (e.g. "----")
            current.append("---" + chunk)
    documents.append("\n".join(current))
    return documents


def _crd_files(directory: Path) -> Iterator[Path]:
    for path in sorted(directory.rglob("*.yaml")):
        if path.name not in _NOT_CRD_FILES:
            yield path


def _dependencies(directory: Path, chart_yaml: Mapping[str, Any]) -> tuple[Dependency, ...]:
    declared = chart_yaml.get("dependencies") or []
    found: list[Dependency] = []
    for dep in declared:
        name = str(dep.get("name", ""))
        conditions = tuple(c.strip() for c in str(dep.get("condition") or "").split(",") if c.strip())
        sub = directory / "charts" / name
        found.append(
            Dependency(
                name=name,
                key=str(dep.get("alias") or name),
                conditions=conditions,
                tags=tuple(str(t) for t in dep.get("tags") or ()),
                directory=sub if (sub / "values.yaml").is_file() else None,
            )
        )
    names = {d.name for d in found}
    charts_dir = directory / "charts"
    if charts_dir.is_dir():
        for sub in sorted(charts_dir.iterdir()):
            if (sub / "values.yaml").is_file() and sub.name not in names:
                found.append(Dependency(name=sub.name, key=sub.name, directory=sub))
    return tuple(found)


def scan(root: Path = SCHEMA_ROOT) -> Catalog:
    """The catalogue of everything vendored under ``root``."""
    catalog = Catalog()
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        match = _DIRECTORY.match(directory.name)
        if match is None:
            continue
        project, version = match["name"], match["version"]
        for path in _crd_files(directory):
            text = path.read_text(encoding="utf-8")
            for document in _documents(text):
                head = _crd_head(document)
                if head is not None:
                    group, kind = head
                    label = path.relative_to(root).as_posix()
                    catalog.crds.setdefault(head, []).append(CrdSource(project, version, path, group, kind, label))
        if (directory / "values.yaml").is_file():
            chart_yaml: Mapping[str, Any] = {}
            if (directory / "Chart.yaml").is_file():
                chart_yaml = load_yaml_documents(directory / "Chart.yaml")[0]
            name = str(chart_yaml.get("name") or project)
            chart_version = str(chart_yaml.get("version") or version).lstrip("v")
            label = (directory / "values.yaml").relative_to(root).as_posix()
            catalog.charts[(name, chart_version)] = ChartSource(
                name, chart_version, directory, label, _dependencies(directory, chart_yaml)
            )
    return catalog


@cache
def catalog() -> Catalog:
    """The packaged catalogue, scanned once per process."""
    return scan(SCHEMA_ROOT)


@cache
def load_crd(source: CrdSource) -> Crd:
    """The full CRD of ``source`` (parsed once per process)."""
    for document in load_yaml_documents(source.path):
        spec = document.get("spec") or {}
        if (
            document.get("kind") == "CustomResourceDefinition"
            and spec.get("group") == source.group
            and (spec.get("names") or {}).get("kind") == source.kind
        ):
            schemas = {
                str(v["name"]): (v.get("schema") or {}).get("openAPIV3Schema") or {}
                for v in spec.get("versions") or []
                if v.get("served", True)
            }
            return Crd(source=source, scope=str(spec.get("scope", "Namespaced")), schemas=schemas)
    raise LookupError(f"{source.label} no longer defines {source.kind} ({source.group})")


@cache
def load_values(directory: Path) -> Mapping[str, Any]:
    """A chart's default values (parsed once per process)."""
    documents = load_yaml_documents(directory / "values.yaml")
    return documents[0] if documents and isinstance(documents[0], dict) else {}


@dataclass(frozen=True)
class CrdChoice:
    """The CRD an object is checked against, and why that version."""

    crd: Crd
    note: str | None = None


def choose_crd(
    group: str, kind: str, charts: Mapping[str, str] | None = None, *, within: Catalog | None = None
) -> CrdChoice | None:
    """The vendored CRD for ``group``/``kind`` (in ``within``, default the packaged
    catalogue): the version of the chart installed in the same cluster (``charts``: chart
    name -> version) when several are vendored, else the only one, else the newest (with a
    note saying so)."""
    sources = (within or catalog()).crd_sources(group, kind)
    if not sources:
        return None
    if len(sources) == 1:
        return CrdChoice(load_crd(sources[0]))
    pinned = {name: version.lstrip("v") for name, version in (charts or {}).items()}
    for source in sources:
        if pinned.get(source.project) == source.version:
            return CrdChoice(load_crd(source))
    newest = max(sources, key=lambda s: version_key(s.version))
    versions = ", ".join(f"{s.project} {s.version}" for s in sorted(sources, key=lambda s: version_key(s.version)))
    return CrdChoice(
        load_crd(newest),
        note=f"{kind} ({group}): {versions} vendored and no matching chart installed in the cluster; "
        f"checked against the newest, {newest.project} {newest.version}",
    )
