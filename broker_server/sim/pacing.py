"""IB's historical-data pacing rules (error 162), per client, with an injected clock.

From IB's "Historical data limitations": no identical request within 15 s; at most 6
requests for the same contract, exchange and tick type within 2 s; at most 60 requests in
any 10 minutes for bars of 30 s or less. Every figure is configuration (tests scale them
down). A refused request is not recorded (it never reached the data farm).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HistPacing:
    """The three pacing rules of historical data requests."""

    identical_window: float = 15.0
    """Seconds within which an identical request is a violation."""
    burst_window: float = 2.0
    """Seconds of the same-contract/exchange/type burst rule."""
    burst_max: int = 6
    """Requests for one contract/exchange/type allowed within ``burst_window``."""
    window: float = 600.0
    """Seconds of the small-bar rule."""
    window_max: int = 60
    """Requests with bars of ``small_bar_s`` or less allowed within ``window``."""
    small_bar_s: int = 30
    """Bar size (seconds) up to which the ``window`` rule applies."""

    def __post_init__(self) -> None:
        if min(self.identical_window, self.burst_window, self.window) < 0:
            raise ValueError("pacing windows must be >= 0")
        if self.burst_max < 1 or self.window_max < 1:
            raise ValueError("pacing maxima must be >= 1")


@dataclass
class HistPacer:
    """Request history of one client, checked against ``HistPacing``."""

    rules: HistPacing
    clock: Callable[[], float] = time.monotonic
    _identical: dict[Hashable, float] = field(default_factory=dict)
    _bursts: dict[Hashable, deque[float]] = field(default_factory=dict)
    _small: deque[float] = field(default_factory=deque)

    def admit(self, identical_key: Hashable, burst_key: Hashable, bar_s: int) -> str | None:
        """Record a request and return None, or return the rule it violates."""
        now = self.clock()
        r = self.rules
        self._expire(now)
        last = self._identical.get(identical_key)
        if last is not None and now - last < r.identical_window:
            return f"identical request within {r.identical_window:g} seconds"
        burst = self._bursts.get(burst_key)
        if burst is not None and len(burst) >= r.burst_max:
            return (
                f"more than {r.burst_max} requests for the same contract, exchange and tick "
                f"type within {r.burst_window:g} seconds"
            )
        small = bar_s <= r.small_bar_s
        if small and len(self._small) >= r.window_max:
            return f"more than {r.window_max} small-bar requests within {r.window:g} seconds"
        self._identical[identical_key] = now
        self._bursts.setdefault(burst_key, deque()).append(now)
        if small:
            self._small.append(now)
        return None

    def _expire(self, now: float) -> None:
        r = self.rules
        for key in [k for k, t in self._identical.items() if now - t >= r.identical_window]:
            del self._identical[key]
        for key, times in list(self._bursts.items()):
            while times and now - times[0] >= r.burst_window:
                times.popleft()
            if not times:
                del self._bursts[key]
        while self._small and now - self._small[0] >= r.window:
            self._small.popleft()
