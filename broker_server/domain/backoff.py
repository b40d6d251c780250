"""Reconnect backoff: exponential growth with full jitter.

Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the reconnects of
many sessions after a gateway restart, so they do not arrive at TWS in lock step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    """How long to wait before each reconnect attempt, and how many attempts to make."""

    initial: float = 0.5
    """Ceiling of the first delay, in seconds."""
    factor: float = 2.0
    """Growth of the ceiling per attempt."""
    cap: float = 30.0
    """Largest ceiling, in seconds."""
    max_retries: int = 0
    """Attempts before giving up; 0 means never give up."""

    def __post_init__(self) -> None:
        if self.initial < 0 or self.cap < 0:
            raise ValueError("backoff delays must be >= 0")
        if self.factor < 1:
            raise ValueError("backoff factor must be >= 1")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0 (0 = unlimited)")

    def ceiling(self, attempt: int) -> float:
        """The largest delay before attempt ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError(f"attempts are numbered from 1, not {attempt}")
        try:
            ceiling = self.initial * self.factor ** (attempt - 1)
        except OverflowError:
            # A long outage with unlimited retries reaches attempts whose power no float holds.
            return self.cap
        return min(self.cap, ceiling)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt`` (1-based): uniform in [0, ceiling]."""
        return rng.uniform(0.0, self.ceiling(attempt))

    def exhausted(self, attempt: int) -> bool:
        """True when ``attempt`` attempts have been made and no further one is allowed."""
        return self.max_retries > 0 and attempt >= self.max_retries
