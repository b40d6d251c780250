"""Time as an injected dependency, so every timing rule of the domain can be tested exactly.

Two readings: ``monotonic`` for intervals (never jumps) and ``wall`` for what is shown to people
and written into events (epoch seconds; may jump when the system clock is set).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards; only differences mean anything."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """The real clocks of the process."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to; both readings advance together."""

    def __init__(self, monotonic: float = 0.0, wall: float = 1_700_000_000.0) -> None:
        self._monotonic = monotonic
        self._wall = wall

    def monotonic(self) -> float:
        return self._monotonic

    def wall(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        """Move both readings forward by ``seconds`` (>= 0)."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds} s)")
        self._monotonic += seconds
        self._wall += seconds

    def set(self, *, monotonic: float | None = None, wall: float | None = None) -> None:
        """Set either reading; the monotonic one may not go backwards, the wall one may."""
        if monotonic is not None:
            if monotonic < self._monotonic:
                raise ValueError("a monotonic clock cannot go back")
            self._monotonic = monotonic
        if wall is not None:
            self._wall = wall

    def __repr__(self) -> str:
        return f"ManualClock(monotonic={self._monotonic}, wall={self._wall})"
