"""Reading a Pulumi project the way the Pulumi CLI does: ``Pulumi.yaml`` (name, runtime,
``main``, ``stackConfigDir``, project-level config) and ``Pulumi.<stack>.yaml``.

Produces the flat ``namespace:key -> string`` config map and the list of secret keys that
the Pulumi language host hands to a Python program.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import UsageError

SECRET_PLACEHOLDER = "[secret]"


@dataclass(frozen=True)
class Project:
    """A Pulumi project on disk."""

    root: Path
    """Directory holding ``Pulumi.yaml``."""
    name: str
    runtime: str
    main_dir: Path
    """Directory of the program (``main`` in ``Pulumi.yaml``, else the root)."""
    stack_config_dir: Path
    """Where ``Pulumi.<stack>.yaml`` files live (``stackConfigDir``, else the root)."""
    config_defaults: dict[str, Any] = field(default_factory=dict)
    """Project-level config values (``config:`` in ``Pulumi.yaml``), by full key."""
    virtualenv: Path | None = None
    """The program's virtualenv (``runtime.options.virtualenv``), where its provider SDKs live."""

    def stacks(self) -> list[str]:
        """Names of the stacks that have a config file."""
        return sorted(
            p.name[len("Pulumi.") : -len(p.suffix)]
            for p in self.stack_config_dir.glob("Pulumi.*.y*ml")
            if p.suffix in (".yaml", ".yml")
        )

    def stack_file(self, stack: str) -> Path:
        """The config file of ``stack``; a clear error listing the stacks that exist otherwise."""
        for suffix in (".yaml", ".yml"):
            candidate = self.stack_config_dir / f"Pulumi.{stack}{suffix}"
            if candidate.is_file():
                return candidate
        existing = self.stacks()
        where = self.stack_config_dir.relative_to(self.root) if self.stack_config_dir != self.root else Path(".")
        listing = ", ".join(existing) if existing else "none"
        raise UsageError(
            f"unknown stack '{stack}': no Pulumi.{stack}.yaml in {where}/ of project '{self.name}'. "
            f"Stacks that exist: {listing}. Pick one with --stack, or create {where}/Pulumi.{stack}.yaml."
        )


def load_project(program_dir: Path | str) -> Project:
    """Reads ``Pulumi.yaml`` in ``program_dir``."""
    root = Path(program_dir).resolve()
    project_file = next((root / n for n in ("Pulumi.yaml", "Pulumi.yml") if (root / n).is_file()), None)
    if project_file is None:
        raise UsageError(f"no Pulumi.yaml in {root}; pass --program with the directory of a Pulumi project")
    try:
        doc = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{project_file}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict) or not doc.get("name"):
        raise UsageError(f"{project_file}: 'name' is required (the project name)")
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise UsageError(
            f"{project_file}: runtime is {runtime_name!r}; the offline engine runs Python programs only"
        )
    name = str(doc["name"])
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    main_dir = (root / str(doc.get("main", "."))).resolve()
    if main_dir.suffix == ".py":
        main_dir = main_dir.parent
    if not (main_dir / "__main__.py").is_file():
        raise UsageError(f"{project_file}: program entry {main_dir / '__main__.py'} does not exist")
    config_dir = (root / str(doc.get("stackConfigDir", "."))).resolve()
    defaults: dict[str, Any] = {}
    for key, spec in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict) and ("default" in spec or "value" in spec):
            defaults[full] = spec.get("value", spec.get("default"))
        elif not isinstance(spec, dict):
            defaults[full] = spec
    return Project(
        root=root,
        name=name,
        runtime=str(runtime_name),
        main_dir=main_dir,
        stack_config_dir=config_dir,
        config_defaults=defaults,
        virtualenv=(root / str(venv)).resolve() if venv else None,
    )


def _to_config_string(value: Any) -> str:
    """Pulumi hands config to programs as strings; structured values as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def _strip_secure(value: Any, path: str, secret_paths: list[str]) -> Any:
    """Replaces ``{secure: ...}`` ciphertexts (which need the stack's secrets provider) by a
    placeholder and remembers where they were."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            secret_paths.append(path)
            return SECRET_PLACEHOLDER
        return {k: _strip_secure(v, f"{path}.{k}", secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v, f"{path}[{i}]", secret_paths) for i, v in enumerate(value)]
    return value


@dataclass(frozen=True)
class StackConfig:
    """A stack's config as the program sees it."""

    stack: str
    source: Path
    values: dict[str, str]
    """Flat map ``namespace:key`` -> string (JSON for structured values)."""
    secret_keys: list[str]
    """Keys whose value is (or contains) a secret."""


def load_stack_config(project: Project, stack: str) -> StackConfig:
    """Reads ``Pulumi.<stack>.yaml`` merged over the project-level defaults."""
    path = project.stack_file(stack)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a mapping with a 'config:' section")
    raw_config = doc.get("config") or {}
    if not isinstance(raw_config, dict):
        raise UsageError(f"{path}: 'config' must be a mapping of keys to values")
    merged: dict[str, Any] = dict(project.config_defaults)
    secret_keys: list[str] = []
    for key, value in raw_config.items():
        full = key if ":" in str(key) else f"{project.name}:{key}"
        secret_paths: list[str] = []
        merged[full] = _strip_secure(value, full, secret_paths)
        if secret_paths:
            secret_keys.append(full)
    return StackConfig(
        stack=stack,
        source=path,
        values={k: _to_config_string(v) for k, v in merged.items()},
        secret_keys=sorted(secret_keys),
    )


def load_stack_references(specs: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``ORG/PROJECT/STACK=outputs.json`` values of ``--stack-reference`` -> outputs by
    stack name. ``outputs.json`` is what ``pulumi stack output --json`` prints: an object
    of output names to values."""
    references: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, sep, file = spec.partition("=")
        if not sep or not name or not file or name.count("/") != 2 or not all(name.split("/")):
            raise UsageError(
                f"--stack-reference {spec!r}: expected ORG/PROJECT/STACK=outputs.json "
                "(the referenced stack's full name, then a JSON file of its outputs)"
            )
        path = Path(file)
        try:
            outputs = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"--stack-reference {name}: cannot read {path} ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise UsageError(f"--stack-reference {name}: {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not isinstance(outputs, dict):
            raise UsageError(
                f"--stack-reference {name}: {path} must hold a JSON object of output names to values "
                "(as `pulumi stack output --json` prints)"
            )
        references[name] = outputs
    return references
