"""The lease runtime's sense of time: a wall clock that does not jump while the process runs,
how long the broker was down before this start, and whether it was just paused.

Lease time is broker uptime (docs/leases.md, "Restarts and pauses"): the alive mark tells the
downtime on start, pause detection tells when the process could not serve renewals. The mark is
a local file (SQLite) unless the store keeps it itself (PostgreSQL: the leadership row, measured
on the server's clock, so a standby on another host counts the old leader's downtime):
:meth:`LeaseTime.kept_by_store`.
"""

from __future__ import annotations

from broker_server.domain.clock import Clock
from broker_server.runtime.alive import AliveMark


class LeaseTime:
    """Time readings for the lease manager; ``tick`` is the sweep interval, the period at which
    the alive mark is written and pauses are looked for."""

    def __init__(
        self, clock: Clock, alive: AliveMark, *, tick: float, pause_threshold: float
    ) -> None:
        self._clock = clock
        self._alive = alive
        self.tick = tick
        self.pause_threshold = pause_threshold
        self._wall0 = clock.wall()
        self._mono0 = clock.monotonic()
        self._last_tick = clock.monotonic()
        self._watching = False
        self._store_downtime: float | None = None

    def now(self) -> float:
        """Wall-clock seconds that never jump while the process runs: the wall reading at
        construction advanced by the monotonic clock. A system clock set forward or back
        neither expires leases early nor keeps them past their TTL; the times stay wall-clock
        for clients and the store, re-anchored at each start."""
        return self._wall0 + (self._clock.monotonic() - self._mono0)

    def kept_by_store(self, downtime: float) -> None:
        """The store keeps the alive mark and measured ``downtime`` (its slack already taken
        off): :meth:`downtime` says it, and no local file is read or written."""
        self._store_downtime = max(0.0, downtime)

    def downtime(self, now: float) -> float:
        """Seconds the broker was down before this start, by the alive mark: the gap since the
        mark, less one tick (the broker may have lived up to a tick after its last mark, and that
        time counts as uptime, so downtime is never over-counted). 0 without a mark. With a
        store that keeps the mark, the store's figure."""
        if self._store_downtime is not None:
            return self._store_downtime
        alive = self._alive.read()
        if alive is None:
            return 0.0
        return max(0.0, now - alive - self.tick)

    def mark_alive(self, now: float) -> None:
        """Write the alive mark (each tick, at start and at stop); nothing when the store keeps
        it (it is renewed with the leadership there)."""
        if self._store_downtime is None:
            self._alive.write(now)

    def close(self) -> None:
        """Release the alive mark's descriptor (at stop, after the last mark)."""
        self._alive.close()

    def watch_pauses(self, on: bool) -> None:
        """Start (or stop) looking for pauses: only while something ticks every ``tick``."""
        self._watching = on
        self._last_tick = self._clock.monotonic()

    def pause(self) -> float | None:
        """The seconds since the previous call when they exceed ``pause_threshold`` (the
        process was paused: SIGSTOP, a stalled host or loop), else None. Always None unless
        watching."""
        mono = self._clock.monotonic()
        gap, self._last_tick = mono - self._last_tick, mono
        if not self._watching or gap <= self.pause_threshold:
            return None
        return gap
