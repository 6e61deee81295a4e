"""The project's exceptions. Every error a user can cause derives from :class:`LlmopsError`
and carries a message that names what is wrong and how to fix it; the CLI prints it
without a traceback and exits non-zero."""

from __future__ import annotations

# Exit code of `llmops plan` and `llmops policy check` when a mandatory policy is violated
# (1 is a failed run, 2 bad command-line input).
POLICY_VIOLATION_EXIT_CODE = 3


class LlmopsError(Exception):
    """Base class for errors the CLI reports as a clean message (exit code 1 by default)."""

    exit_code: int = 1


class UsageError(LlmopsError):
    """Bad command-line input: an unknown stack, a missing file, a wrong flag value."""

    exit_code = 2
