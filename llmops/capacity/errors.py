"""Errors of the capacity planner; all are :class:`~core.errors.LlmopsError` so the CLI
prints them as one clean message."""

from __future__ import annotations

from core.errors import LlmopsError, UsageError


class CapacityError(LlmopsError):
    """AWS could not be asked (credentials, endpoint), or no region can supply the capacity."""


class CapacityUsageError(UsageError):
    """Bad input: an unknown instance type, accelerator, GPU count or region."""


class CredentialsError(CapacityError):
    """No AWS credentials, or AWS rejected them everywhere."""


class StackWriteError(LlmopsError):
    """``--write-stack`` refused to change the stack file (it would be invalid, or it cannot be
    edited safely); the file is left as it was."""
