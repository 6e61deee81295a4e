"""``llmops render``: the Kubernetes objects a stack would apply, as YAML, for review.

Runs the stack's program offline (the same plan ``llmops plan`` makes) and prints every
Kubernetes object it renders (RayServices, NodePools, Jobs, namespaces ...), with the
``serveConfigV2`` and other multi-line strings as readable blocks, and each Helm release as
its chart, version and values. Secret values are masked. ``--region`` and ``--kind`` narrow
it down::

    llmops render --stack dev --kind RayService
    llmops render --stack prod --region eu-west-1
    llmops render --stack dev --serve-config > serve.yaml && llmops serve --config serve.yaml
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.errors import UsageError
from llmops.commands.plan import ProgramOption, StackOption, default_program_dir

if TYPE_CHECKING:
    from llmops.engine import PlanResult, ResourceRecord

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
MASK = "[secret]"


def _masked(value: Any) -> Any:
    """Plan inputs as the object holds them: secrets masked, keys sorted, whole numbers as
    integers (the engine's inputs carry every number as a float)."""
    from pulumi.runtime import rpc

    if isinstance(value, Mapping):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return MASK
        return {k: _masked(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def manifest(record: ResourceRecord) -> dict[str, Any]:
    """The object a Kubernetes resource of the plan applies (a Helm release: its chart and
    values, as ``helm.sh/v3`` ``Release``)."""
    inputs = _masked(record.inputs)
    if record.type == HELM_RELEASE:
        return {
            "apiVersion": "helm.sh/v3",
            "kind": "Release",
            "metadata": {"name": inputs.get("name") or record.name, "namespace": inputs.get("namespace", "default")},
            "chart": {
                "name": inputs.get("chart"),
                "version": inputs.get("version"),
                "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
            },
            "values": inputs.get("values") or {},
        }
    _, _, kind = record.type.rpartition(":")
    group_version = record.type.split(":")[1]
    api_version = group_version.removeprefix("core/")
    first = {"apiVersion": inputs.get("apiVersion") or api_version, "kind": inputs.get("kind") or kind}
    if "metadata" in inputs:
        first["metadata"] = inputs["metadata"]
    return {**first, **{k: v for k, v in inputs.items() if k not in first}}


def regions_by_component(result: PlanResult) -> dict[str, str | None]:
    """Each resource's region: its own, else that of the AWS resources under the same
    top-level component (a cluster's Kubernetes objects belong to the cluster's region)."""
    records = result.by_urn()

    def top(urn: str) -> str:
        chain = urn
        parent = records[urn].parent
        while parent is not None and parent in records and records[parent].type != "pulumi:pulumi:Stack":
            chain, parent = parent, records[parent].parent
        return chain

    found: dict[str, set[str]] = {}
    for record in result.resources:
        if record.region:
            found.setdefault(top(record.urn), set()).add(record.region)
    out: dict[str, str | None] = {}
    for record in result.resources:
        regions = found.get(top(record.urn), set())
        out[record.urn] = record.region or (next(iter(regions)) if len(regions) == 1 else None)
    return out


def kubernetes_objects(result: PlanResult, region: str | None = None, kind: str | None = None) -> list[tuple[ResourceRecord, str | None, dict[str, Any]]]:
    """(resource, region, object) for every Kubernetes object of the plan, in plan order."""
    regions = regions_by_component(result)
    out = []
    for record in result.resources:
        if not record.custom or not record.type.startswith("kubernetes:") or record.type.startswith("pulumi:providers:"):
            continue
        obj = manifest(record)
        if region is not None and regions[record.urn] != region:
            continue
        if kind is not None and str(obj.get("kind", "")).lower() != kind.lower():
            continue
        out.append((record, regions[record.urn], obj))
    return out


def render_yaml(objects: Iterable[tuple[ResourceRecord, str | None, dict[str, Any]]]) -> str:
    """The objects as one YAML stream, each after a comment naming its resource and region."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _string)
    documents = []
    for record, region, obj in objects:
        header = f"# {record.name} ({record.type}{', ' + region if region else ''})"
        documents.append(header + "\n" + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120))
    return "---\n".join(documents)


def serve_config_yaml(program_dir: Path, stack: str, region: str | None) -> str:
    """The region's serve config (default: the home region's) as the document ``llmops serve
    --config`` reads: the object the RayService's ``serveConfigV2`` is rendered from."""
    import yaml

    from llmops.engine import load_project, load_stack_config
    from stacks import serve_config
    from stacks.config import namespace_values, parse

    stack_config = load_stack_config(load_project(program_dir), stack)
    config = parse(namespace_values(stack_config.values), source=stack_config.source.name)
    if config.serving is None:
        raise UsageError(f"stack {stack} has no llmops:serving section, so no serve config")
    name = region or config.home_region
    if name not in [r.name for r in config.regions]:
        raise UsageError(f"--region {name}: stack {stack} has regions {', '.join(r.name for r in config.regions)}")
    base, _ = serve_config.base_serve_config(config.serving)
    assert base is not None  # parse() refused the stack config otherwise
    rendered = serve_config.region_serve_config(base, serve_config.placements(config, base, config.region(name)))
    return yaml.safe_dump(rendered.model_dump(mode="json"), sort_keys=False)


def render_command(
    stack: StackOption = "dev",
    program: ProgramOption = None,
    region: Annotated[str | None, typer.Option("--region", "-r", help="Only the objects of this region's cluster.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="Only objects of this kind (RayService, NodePool, Release ...).")] = None,
    serve_config: Annotated[
        bool,
        typer.Option("--serve-config", help="Print the region's serve config instead (what `llmops serve --config` runs locally)."),
    ] = False,
) -> None:
    """Print the Kubernetes objects the stack would apply, as YAML (offline; secrets masked)."""
    if serve_config:
        typer.echo(serve_config_yaml(program or default_program_dir(), stack, region), nl=False)
        return
    from llmops.engine import plan

    result = plan(stack, program or default_program_dir())
    if region is not None and region not in result.regions:
        raise UsageError(f"--region {region}: stack {stack} has regions {', '.join(result.regions)}")
    objects = kubernetes_objects(result, region, kind)
    if not objects:
        known = sorted({str(o.get("kind")) for _, _, o in kubernetes_objects(result, region)})
        raise UsageError(f"no Kubernetes object{f' of kind {kind}' if kind else ''} in stack {stack}; kinds: {', '.join(known) or 'none'}")
    typer.echo(render_yaml(objects), nl=False)


def register(app: typer.Typer) -> None:
    app.command("render")(render_command)

