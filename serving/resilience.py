"""Retries with jittered exponential backoff and a circuit breaker, for calls to upstream
model APIs. Clocks and random sources are injectable so behaviour is testable exactly."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with "full jitter": the delay before retry ``n`` (0-based) is
    uniform in ``[0, min(max_s, base_s * 2**n)]`` (the AWS Architecture Blog scheme, which
    spreads retries of many clients so they do not hit a recovering upstream together)."""

    base_s: float = 0.2
    max_s: float = 5.0

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay before retry ``attempt``."""
        return min(self.max_s, self.base_s * float(2**attempt))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A jittered delay before retry ``attempt``."""
        r = rng if rng is not None else random
        return r.uniform(0.0, self.ceiling(attempt))


class BreakerState(StrEnum):
    """States of :class:`CircuitBreaker`."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(RuntimeError):
    """Raised instead of calling an upstream whose circuit is open."""


@dataclass
class CircuitBreaker:
    """Classic three-state breaker. ``failure_threshold`` consecutive failures open it; after
    ``reset_s`` it lets one trial call through (half-open); a success closes it, a failure
    opens it again for another ``reset_s``. Thread-safe."""

    failure_threshold: int = 5
    reset_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _failures: int = field(default=0, init=False)
    _opened_at: float | None = field(default=None, init=False)
    _trial_in_flight: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker turns half-open once ``reset_s`` has passed)."""
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self._opened_at >= self.reset_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may proceed now. In half-open state only one trial call at a time."""
        with self._lock:
            state = self._state_locked()
            if state is BreakerState.CLOSED:
                return True
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        """A call succeeded: close the breaker."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """A call failed: count it; open (or re-open) the breaker at the threshold."""
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = self.clock()
            self._trial_in_flight = False

    def retry_after_s(self) -> float:
        """Seconds until the breaker lets a trial call through (0 when closed)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.reset_s - (self.clock() - self._opened_at))
