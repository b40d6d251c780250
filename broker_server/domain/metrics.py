"""Measured figures of a session: heartbeat round trips and message rates. Pure, clock injected.

Both structures are bounded, so a session that runs for months keeps constant memory.
"""

from __future__ import annotations

import collections
import math

from broker_server.domain.clock import Clock


class RttWindow:
    """The last ``size`` heartbeat round trips, with last / p50 / p99."""

    def __init__(self, size: int = 300) -> None:
        if size < 1:
            raise ValueError("size must be >= 1")
        self._samples: collections.deque[float] = collections.deque(maxlen=size)

    def add(self, rtt: float) -> None:
        """Record one round trip in seconds."""
        if rtt < 0 or math.isnan(rtt):
            raise ValueError(f"a round trip cannot be {rtt}")
        self._samples.append(rtt)

    def clear(self) -> None:
        """Forget every sample (a new socket has its own latency)."""
        self._samples.clear()

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def last(self) -> float | None:
        """The latest round trip, None before the first."""
        return self._samples[-1] if self._samples else None

    @property
    def p50(self) -> float | None:
        """Median round trip over the window."""
        return self.percentile(50)

    @property
    def p99(self) -> float | None:
        """99th percentile round trip over the window."""
        return self.percentile(99)

    def percentile(self, q: float) -> float | None:
        """The nearest-rank ``q``-th percentile (0 < q <= 100), None when empty."""
        if not 0 < q <= 100:
            raise ValueError("q must be within (0, 100]")
        if not self._samples:
            return None
        # A sorted copy of at most a few hundred floats per read is cheaper than keeping an
        # order statistic tree, and reads happen once per snapshot, not per sample.
        ordered = sorted(self._samples)
        rank = math.ceil(q / 100 * len(ordered))
        return ordered[max(rank, 1) - 1]

    def __repr__(self) -> str:
        return f"<RttWindow [n={len(self)}, last={self.last}, p50={self.p50}, p99={self.p99}]>"


class RateCounter:
    """Events per second over a sliding window of whole seconds."""

    def __init__(self, clock: Clock, window: float = 10.0) -> None:
        if window < 1:
            raise ValueError("window must be >= 1 s")
        self._clock = clock
        self._window = window
        self._started = clock.monotonic()
        # One bucket per second keeps memory at most ``window`` buckets at any event rate.
        self._buckets: collections.deque[list[int]] = collections.deque()
        self._total = 0

    @property
    def total(self) -> int:
        """Every event counted since creation."""
        return self._total

    def mark(self, count: int = 1) -> None:
        """Count ``count`` events now."""
        if count < 0:
            raise ValueError("count must be >= 0")
        second = math.floor(self._clock.monotonic())
        self._expire(second)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        self._total += count

    def rate(self) -> float:
        """Events per second over the window (or over the counter's age while younger)."""
        now = self._clock.monotonic()
        self._expire(math.floor(now))
        span = min(self._window, max(1.0, now - self._started))
        return sum(count for _, count in self._buckets) / span

    def _expire(self, second: int) -> None:
        oldest = second - math.ceil(self._window) + 1
        while self._buckets and self._buckets[0][0] < oldest:
            self._buckets.popleft()

    def __repr__(self) -> str:
        return f"<RateCounter [{self.rate():.2f}/s over {self._window:g}s, total={self._total}]>"
