"""``llmops deploy``: the real engine, driven through the Pulumi Automation API.

:class:`StackDriver` owns one stack of the project: it selects it, refreshes it, previews
it with the project's policy packs (each with its ``config/<environment>.json``), then
updates it, streaming the engine's progress lines as they come. Engine failures become
:class:`~llmops.release.errors.DeployError` with what went wrong and the fix (a missing
stack, a concurrent update, credentials, a policy violation); with no Pulumi CLI on the
machine :class:`~llmops.release.errors.PulumiNotInstalled` says how to install it, before
anything runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.release.errors import DeployError, PulumiNotInstalled

OnOutput = Callable[[str], None]

INSTALL_HINT = (
    "install it with `curl -fsSL https://get.pulumi.com | sh` (Linux, macOS) or "
    "`brew install pulumi/tap/pulumi`, then log in to the state backend (`pulumi login`, or "
    "PULUMI_BACKEND_URL=s3://... in CI). `llmops plan --stack S` needs no CLI."
)
MAX_ERROR_LINES = 12
_ERROR_LINE = re.compile(r"^\s*(error|Error):|mandatory|failed", re.MULTILINE)


def find_pulumi() -> Path | None:
    """The Pulumi CLI: on ``PATH``, else in ``$PULUMI_HOME/bin`` or ``~/.pulumi/bin`` (where
    the installer puts it)."""
    found = shutil.which("pulumi")
    if found:
        return Path(found)
    for home in (os.environ.get("PULUMI_HOME"), "~/.pulumi"):
        if home:
            candidate = Path(home).expanduser() / "bin" / "pulumi"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


@dataclass(frozen=True)
class PolicyPack:
    """A policy pack the engine runs on preview and update, with its config file."""

    path: Path
    config: Path | None


def project_packs(environment: str) -> list[PolicyPack]:
    """The project's packs (``policies/security``, ``policies/cost``) with the config of
    ``environment``."""
    from llmops.policy import default_packs
    from llmops.policy.runner import config_file_for

    return [PolicyPack(pack.resolve(), config_file_for(pack, environment)) for pack in default_packs()]


def pack_arguments(packs: Sequence[PolicyPack]) -> tuple[list[str], list[str]]:
    """``--policy-pack`` and ``--policy-pack-config`` values. The engine pairs them by
    position, so either every pack has a config or none is passed."""
    paths = [str(p.path) for p in packs]
    configs = [str(p.config) for p in packs if p.config is not None]
    if configs and len(configs) != len(packs):
        missing = ", ".join(str(p.path) for p in packs if p.config is None)
        raise DeployError(
            f"policy pack(s) {missing} have no config for this environment while others do; add "
            "config/<environment>.json to each pack (the engine pairs configs with packs by position)"
        )
    return paths, configs


@dataclass
class DeploySummary:
    """What a deploy did."""

    stack: str
    refreshed: bool = False
    preview: Mapping[str, int] = field(default_factory=dict)
    """Planned operations (``create``, ``update``, ``same``, ...) and their counts."""
    update: Mapping[str, int] | None = None
    """Operations the update performed (``None`` for a preview only)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """Stack outputs; secret ones are masked."""


def _counts(changes: Mapping[Any, Any] | None) -> dict[str, int]:
    return {str(getattr(op, "value", op)): int(n) for op, n in sorted((changes or {}).items(), key=lambda kv: str(kv[0]))}


def describe_failure(exc: Exception, stack: str, step: str) -> DeployError:
    """A :class:`DeployError` with what went wrong during ``step`` and the fix."""
    from pulumi.automation import errors

    text = str(exc)
    if isinstance(exc, errors.StackNotFoundError):
        return DeployError(
            f"stack '{stack}' does not exist in the Pulumi backend this machine is logged in to; create it "
            f"with `pulumi stack init {stack}` (its config is stacks/Pulumi.{stack}.yaml), or log in to the "
            "backend that holds it (`pulumi login`, PULUMI_BACKEND_URL)"
        )
    if isinstance(exc, errors.ConcurrentUpdateError):
        return DeployError(
            f"another update of stack '{stack}' is in progress (or an interrupted one left it locked); wait "
            f"for it to finish, or when none is running, `pulumi cancel --stack {stack}`"
        )
    if isinstance(exc, errors.InvalidVersionError):
        return DeployError(f"the Pulumi CLI cannot be used: {exc}; update it: {INSTALL_HINT}")
    lowered = text.lower()
    if "mandatory policy violation" in lowered or ("policy" in lowered and "mandatory" in lowered):
        hint = f"the policy packs refused the {step} of '{stack}'; `llmops policy check --stack {stack}` shows the violations offline"
    elif any(s in lowered for s in ("no valid credential", "nocredentialproviders", "expiredtoken", "could not find any aws credentials", "unable to locate credentials")):
        hint = "AWS credentials are missing or expired; in CI assume the deploy role through OIDC (aws-actions/configure-aws-credentials), locally `aws sso login`"
    elif "pulumi login" in lowered or "pulumi_access_token" in lowered or "not logged in" in lowered:
        hint = "this machine is not logged in to a Pulumi state backend; run `pulumi login` (CI: set PULUMI_BACKEND_URL)"
    elif "passphrase" in lowered:
        hint = "the stack's secrets need PULUMI_CONFIG_PASSPHRASE (or its configured secrets provider)"
    else:
        hint = f"pulumi {step} of '{stack}' failed"
    return DeployError(f"{hint}:\n{_error_lines(text)}")


def _error_lines(text: str) -> str:
    """The lines of the engine's output that say what failed (else its last lines)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    picked = [line for line in lines if _ERROR_LINE.search(line)] or lines
    return "\n".join(f"  {line.strip()}" for line in picked[-MAX_ERROR_LINES:])


class StackDriver:
    """One stack of a Pulumi project, driven through the Automation API."""

    def __init__(
        self,
        project_root: Path,
        stack: str,
        *,
        on_output: OnOutput,
        pulumi: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        binary = pulumi or find_pulumi()
        if binary is None:
            raise PulumiNotInstalled(
                "the Pulumi CLI is not installed (no `pulumi` on PATH or in ~/.pulumi/bin); "
                f"`llmops deploy` drives the engine through it. To deploy, {INSTALL_HINT}"
            )
        self.binary = binary
        self.project_root = project_root
        self.stack_name = stack
        self.on_output = on_output
        self.env = dict(env or {})

    def _stack(self) -> Any:
        from pulumi import automation as auto

        try:
            command = auto.PulumiCommand(root=str(self.binary.parent.parent))
        except (OSError, subprocess.CalledProcessError) as exc:
            raise PulumiNotInstalled(
                f"the Pulumi CLI at {self.binary} cannot be run ({exc}); reinstall it: {INSTALL_HINT}"
            ) from None
        except auto.InvalidVersionError as exc:
            raise describe_failure(exc, self.stack_name, "version check") from None
        workspace = auto.LocalWorkspace(
            work_dir=str(self.project_root), pulumi_command=command, env_vars=self.env
        )
        return self._step("select", lambda: auto.Stack.select(self.stack_name, workspace))

    def _step(self, step: str, action: Callable[[], Any]) -> Any:
        from pulumi.automation import errors

        self.on_output(f"--- pulumi {step} ({self.stack_name})")
        try:
            return action()
        except (errors.CommandError, errors.InvalidVersionError) as exc:
            raise describe_failure(exc, self.stack_name, step) from None

    def deploy(
        self,
        packs: Sequence[PolicyPack],
        *,
        refresh: bool = True,
        preview_only: bool = False,
        message: str | None = None,
    ) -> DeploySummary:
        """Select, refresh, preview with ``packs``, then update (unless ``preview_only``)."""
        paths, configs = pack_arguments(packs)
        stack = self._stack()
        summary = DeploySummary(self.stack_name)
        options: dict[str, Any] = {"on_output": self.on_output, "color": "never"}
        if refresh:
            self._step("refresh", lambda: stack.refresh(**options))
            summary.refreshed = True
        policy: dict[str, Any] = {"policy_packs": paths, "policy_pack_configs": configs or None}
        preview = self._step("preview", lambda: stack.preview(**options, **policy, message=message))
        summary.preview = _counts(preview.change_summary)
        if preview_only:
            return summary
        result = self._step("up", lambda: stack.up(**options, **policy, message=message))
        summary.update = _counts(result.summary.resource_changes)
        summary.outputs = {k: ("[secret]" if v.secret else v.value) for k, v in sorted(result.outputs.items())}
        return summary
