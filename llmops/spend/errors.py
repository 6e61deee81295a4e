"""Errors of ``llmops spend``; all are :class:`~core.errors.LlmopsError` so the CLI prints
them as one clean message."""

from __future__ import annotations

from core.errors import LlmopsError


class SpendError(LlmopsError):
    """Cost Explorer could not be asked (credentials, permissions, endpoint, throttling)."""
