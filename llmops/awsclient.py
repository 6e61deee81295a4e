"""What the tools that call AWS share: the error codes AWS uses for "slow down" and for
transient trouble, and :class:`RetryPolicy`, bounded retries with exponential backoff and
full jitter. Clients are made with :func:`client_config`, which switches botocore's own
retries off so the two never multiply. Used by the capacity planner and ``llmops spend``.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "EC2ThrottledException",
        "LimitExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
"""Error codes AWS uses for "slow down"; retried with backoff (Cost Explorer answers
``LimitExceededException`` when called too often)."""

TRANSIENT_CODES = frozenset({"InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable"})
"""Server-side hiccups; retried like throttling."""


class ThrottledError(Exception):
    """AWS kept throttling a call after every attempt of the retry policy."""

    def __init__(self, code: str, attempts: int) -> None:
        super().__init__(f"{code} after {attempts} attempts")
        self.code = code
        self.attempts = attempts


def error_code(exc: ClientError) -> str:
    """The AWS error code of a botocore ClientError."""
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def error_message(exc: ClientError) -> str:
    """The AWS error message of a botocore ClientError ('' when there is none)."""
    return str(exc.response.get("Error", {}).get("Message", "")).strip()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter for throttled calls.

    Attempt ``n`` (0-based) that is throttled sleeps ``random() * min(max_delay_s,
    base_delay_s * 2**n)`` seconds before the next; after ``max_attempts`` attempts the call
    fails with :class:`ThrottledError`.
    """

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        return self.random() * min(self.max_delay_s, self.base_delay_s * float(2**attempt))

    def call(self, fn: Callable[[], T]) -> T:
        """Runs ``fn``, retrying throttling and transient server errors."""
        attempt = 0
        while True:
            try:
                return fn()
            except ClientError as exc:
                code = error_code(exc)
                if code not in THROTTLING_CODES and code not in TRANSIENT_CODES:
                    raise
                attempt += 1
                if attempt >= self.max_attempts:
                    raise ThrottledError(code, attempt) from exc
                self.sleep(self.delay(attempt - 1))


def client_config(user_agent: str) -> Config:
    """botocore settings: no built-in retries (:class:`RetryPolicy` does them), short timeouts."""
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        user_agent_extra=user_agent,
    )
