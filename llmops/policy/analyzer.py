"""A policy pack's analyzer, started the way the Pulumi engine starts it.

The engine runs a Python pack with its language host's plugin runner:
``<virtualenv>/bin/python -u -m pulumi.policy <engine-address> <pack-dir>`` in the pack's
directory. The pack's ``__main__.py`` builds a ``PolicyPack``, which serves the
``pulumirpc.Analyzer`` gRPC service on a free local port and prints that port on stdout.
:class:`Analyzer` does exactly that, then speaks the same protocol: ``GetAnalyzerInfo``,
``Configure``, ``ConfigureStack``, ``Analyze`` for each resource and ``AnalyzeStack``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from core.errors import LlmopsError

LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory", analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
LEVEL_VALUES = {v: k for k, v in LEVELS.items()}
SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024), ("grpc.max_send_message_length", 400 * 1024 * 1024)]
_START_TIMEOUT_S = 120.0
_PIPELINE = 64  # Analyze calls in flight at once


class PolicyError(LlmopsError):
    """A policy pack could not be started, or failed while analyzing."""


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as the pack describes itself (``GetAnalyzerInfo``)."""

    name: str
    description: str
    level: str
    kind: str
    """``resource`` or ``stack``."""
    severity: str
    config_schema: Mapping[str, Any]
    """JSON-schema ``properties`` of the policy's config."""
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackInfo:
    """What a pack's analyzer says about itself."""

    name: str
    version: str
    description: str
    policies: tuple[PolicyInfo, ...]
    initial_config: Mapping[str, Any] = field(default_factory=dict)

    def policy(self, name: str) -> PolicyInfo | None:
        return next((p for p in self.policies if p.name == name), None)


@dataclass(frozen=True)
class Diagnostic:
    """One violation reported by the analyzer."""

    policy: str
    pack: str
    version: str
    description: str
    message: str
    level: str
    severity: str
    urn: str


@dataclass(frozen=True)
class Skipped:
    """A policy that says it could not check (``args.not_applicable(reason)``)."""

    policy: str
    urn: str
    """The resource it skipped; empty for a stack policy."""
    reason: str


@dataclass
class Findings:
    """What one ``Analyze``/``AnalyzeStack`` pass returned."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def __add__(self, other: Findings) -> Findings:
        return Findings(self.diagnostics + other.diagnostics, self.skipped + other.skipped)


def _manifest(pack_dir: Path) -> dict[str, Any]:
    manifest = pack_dir / "PulumiPolicy.yaml"
    try:
        doc = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{manifest}: cannot read the pack manifest ({exc}); a policy pack needs a PulumiPolicy.yaml") from None
    return doc if isinstance(doc, dict) else {}


def pack_python(pack_dir: Path) -> str:
    """The interpreter the engine would use: ``runtime.options.virtualenv`` of
    ``PulumiPolicy.yaml`` (relative to the pack), else this interpreter."""
    doc = _manifest(pack_dir)
    runtime = doc.get("runtime")
    name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if name != "python":
        raise PolicyError(f"{pack_dir / 'PulumiPolicy.yaml'}: runtime is {name!r}; the offline runner starts Python policy packs only")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    if venv:
        base = (pack_dir / str(venv)).resolve()
        for candidate in (base / "bin" / "python", base / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
        requirements = pack_dir / "requirements.txt"
        install = f" && {base}/bin/pip install -r {requirements}" if requirements.is_file() else ""
        raise PolicyError(
            f"{pack_dir / 'PulumiPolicy.yaml'}: runtime.options.virtualenv is {venv!r}, but {base} is not a virtualenv "
            f"(no bin/python); create it (python3 -m venv {base}{install}; in this project: bash scripts/setup.sh), "
            "or remove the option to run the pack with the current interpreter"
        )
    return sys.executable


def whole_numbers(value: Any) -> Any:
    """Protobuf ``Struct`` numbers are doubles: turn whole ones back into ints (schemas,
    defaults and limits read as written)."""
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _diagnostic(d: Any) -> Diagnostic:
    message = d.message
    if d.description and message.startswith(d.description):
        message = message[len(d.description):].lstrip("\n")  # the analyzer prefixes the description
    return Diagnostic(
        policy=d.policyName,
        pack=d.policyPackName,
        version=d.policyPackVersion,
        description=d.description,
        message=message or d.description,
        level=LEVELS.get(d.enforcementLevel, "advisory"),
        severity=SEVERITIES.get(d.severity, ""),
        urn=d.urn,
    )


class Analyzer:
    """A running policy pack. Use as a context manager; :meth:`close` stops the process."""

    def __init__(self, pack_dir: Path | str, *, env: Mapping[str, str] | None = None) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise PolicyError(f"{self.pack_dir} is not a policy pack (no PulumiPolicy.yaml); pass the directory of a pack")
        self._output: deque[str] = deque(maxlen=200)
        command = [pack_python(self.pack_dir), "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(self.pack_dir)]
        process_env = {**os.environ, "PULUMI_DRY_RUN": "true", **(env or {})}
        self._process = subprocess.Popen(
            command,
            cwd=self.pack_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=process_env,
            text=True,
        )
        port = self._read_port()
        threading.Thread(target=self._drain, args=(self._process.stdout,), daemon=True).start()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=_START_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            self.close()
            raise PolicyError(f"policy pack {self.pack_dir} printed port {port} but does not answer on it") from None
        self.info = self._info()

    # ------------------------------------------------------------------ process
    def _drain(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            self._output.append(line.rstrip("\n"))

    def _read_port(self) -> int:
        assert self._process.stdout is not None and self._process.stderr is not None
        threading.Thread(target=self._drain, args=(self._process.stderr,), daemon=True).start()
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self._process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(_START_TIMEOUT_S)
        line = result[0].strip() if result else ""
        if not line.isdigit():
            self._process.kill()
            self._process.wait()
            output = "\n".join([line, *self._output]).strip()
            raise PolicyError(
                f"policy pack {self.pack_dir} did not start (its program must build a PolicyPack, which prints the "
                f"analyzer's port):\n{output[-4000:] or '(no output)'}"
            )
        return int(line)

    def output(self) -> str:
        """The last lines the pack wrote (stdout after the port, and stderr)."""
        return "\n".join(self._output)

    def close(self) -> None:
        """Stops the pack's process."""
        channel = getattr(self, "_channel", None)
        if channel is not None:
            channel.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ protocol
    def _call(self, what: str, method: Any, request: Any) -> Any:
        try:
            return method(request)
        except grpc.RpcError as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: grpc.RpcError) -> PolicyError:
        detail = exc.details() if hasattr(exc, "details") else str(exc)
        tail = self.output()[-3000:]
        return PolicyError(f"policy pack {self.info.name if hasattr(self, 'info') else self.pack_dir} failed {what}: {detail}" + (f"\n{tail}" if tail else ""))

    def _info(self) -> PackInfo:
        info = self._call("to describe itself", self._stub.GetAnalyzerInfo, empty_pb2.Empty())
        policies = tuple(
            PolicyInfo(
                name=p.name,
                description=p.description,
                level=LEVELS.get(p.enforcementLevel, "advisory"),
                kind="stack" if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
                severity=SEVERITIES.get(p.severity, ""),
                config_schema=whole_numbers(json_format.MessageToDict(p.configSchema.properties)) if p.HasField("configSchema") else {},
                required=tuple(p.configSchema.required) if p.HasField("configSchema") else (),
            )
            for p in info.policies
        )
        initial: dict[str, Any] = {}
        for key, value in info.initialConfig.items():
            entry: dict[str, Any] = whole_numbers(json_format.MessageToDict(value.properties))
            if value.enforcementLevel in LEVELS and value.enforcementLevel != analyzer_pb2.ADVISORY:
                entry["enforcementLevel"] = LEVELS[value.enforcementLevel]  # ADVISORY (0) is also "unset"
            initial[key] = entry
        # As the Pulumi CLI does, the manifest's version wins (Python packs always report 0.0.1).
        version = str(_manifest(self.pack_dir).get("version") or info.version)
        return PackInfo(info.name, version, info.description, policies, initial)

    def configure(self, config: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """``Configure``: policy name -> (enforcement level, properties)."""
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, properties) in config.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = LEVEL_VALUES[level]
            entry.properties.update(dict(properties))
        self._call("to accept its config", self._stub.Configure, request)

    def configure_stack(self, stack: str, project: str, config: Mapping[str, str], secret_keys: Iterable[str] = ()) -> None:
        """``ConfigureStack``: the stack being previewed (Python packs keep its tags)."""
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack, project=project, organization="organization", dry_run=True, config=dict(config), config_secret_keys=list(secret_keys)
        )
        try:
            self._stub.ConfigureStack(request)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:  # older packs do not implement it
                raise self._error("to accept the stack", exc) from None

    def analyze(self, requests: Sequence[analyzer_pb2.AnalyzeRequest]) -> Findings:
        """``Analyze`` for each resource (pipelined, results in request order)."""
        found = Findings()
        for start in range(0, len(requests), _PIPELINE):
            window = requests[start : start + _PIPELINE]
            futures = [self._stub.Analyze.future(r) for r in window]
            for request, future in zip(window, futures, strict=True):
                try:
                    response = future.result()
                except grpc.RpcError as exc:
                    raise self._error(f"on {request.urn}", exc) from None
                for d in response.diagnostics:
                    diagnostic = _diagnostic(d)
                    found.diagnostics.append(diagnostic if diagnostic.urn else _with_urn(diagnostic, request.urn))
                found.skipped += [Skipped(n.policy_name, request.urn, n.reason) for n in response.not_applicable]
        return found

    def analyze_stack(self, resources: Sequence[analyzer_pb2.AnalyzerResource]) -> Findings:
        """``AnalyzeStack`` over every resource."""
        response = self._call("analyzing the stack", self._stub.AnalyzeStack, analyzer_pb2.AnalyzeStackRequest(resources=list(resources)))
        return Findings([_diagnostic(d) for d in response.diagnostics], [Skipped(n.policy_name, "", n.reason) for n in response.not_applicable])


def _with_urn(d: Diagnostic, urn: str) -> Diagnostic:
    from dataclasses import replace

    return replace(d, urn=urn)
