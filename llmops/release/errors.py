"""Errors of the release tooling; all are :class:`~core.errors.LlmopsError` so the CLI
prints them as one clean message and exits non-zero."""

from __future__ import annotations

from core.errors import LlmopsError, UsageError


class ReleaseError(LlmopsError):
    """A release cannot be read, copied or recorded (the message says why and what to do)."""


class StackFileError(ReleaseError):
    """A stack file cannot be read or edited safely; it is left as it was."""


class PromotionRefused(ReleaseError):
    """A promotion gate failed; the target stack file is left byte-identical."""


class ReleaseUsageError(UsageError):
    """Bad input to a release command (unknown eval set, malformed ``KEY=VALUE``, ...)."""


class ChecksFailed(LlmopsError):
    """``llmops smoke`` or ``llmops eval`` ran and at least one check or threshold failed."""


class DeployError(LlmopsError):
    """The Pulumi engine failed or could not be driven (the message says why and the fix)."""


class PulumiNotInstalled(DeployError):
    """No Pulumi CLI on this machine: the Automation API drives the CLI, so nothing ran."""
