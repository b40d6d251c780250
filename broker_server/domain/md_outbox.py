"""One subscriber's outbox: conflation, bounded memory, and the too-slow verdict.

The line pushes every change to every subscriber's outbox without waiting; the subscriber's
stream takes from it at its own pace. A change that arrives while an earlier one is still
waiting is merged into it (the latest value per field wins) and counted: the message finally
taken carries ``conflated`` = how many updates were merged into it. So a slow reader costs the
line nothing and holds at most one pending update (one value per field), one pending GAP, one
pending SNAPSHOT request, ``max_bars`` bars (older ones dropped, and counted) and the FINAL flag.

A subscriber is *too slow* when something has waited in its outbox for longer than
``too_slow_after`` seconds without it taking anything: the runtime then ends it with
RESOURCE_EXHAUSTED (SUBSCRIBER_TOO_SLOW) instead of holding it forever. A reader that keeps
taking, however slowly, is never ended: each take empties the outbox.

Order of what is taken: FINAL (alone, last); a GAP, then the SNAPSHOT that follows it (an update
waiting behind a requested snapshot is absorbed by the snapshot, which carries the latest quote);
then bars, oldest first; then the merged update.

Pure: times are passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.md_events import BarValue, MdEvent, MdKind, QuoteField
from broker_server.domain.md_lines import DataType
from broker_server.domain.reasons import FailureReason

DEFAULT_MAX_BARS = 16
"""Real-time bars held for a subscriber that does not read (one per 5 s: over a minute)."""
DEFAULT_TOO_SLOW_AFTER = 10.0
"""Seconds something may wait unread before the subscriber is ended."""


def too_slow(waited: float, limit: float) -> DomainError:
    """RESOURCE_EXHAUSTED (SUBSCRIBER_TOO_SLOW)."""
    return DomainError(
        ErrorKind.RESOURCE_EXHAUSTED,
        FailureReason.SUBSCRIBER_TOO_SLOW,
        f"the subscriber read nothing for {waited:.1f} s while data waited (limit "
        f"{limit:g} s); the stream is ended, not buffered. Read faster or resubscribe",
        metadata={"waited_seconds": f"{waited:.3f}", "limit_seconds": f"{limit:g}"},
    )


class Outbox:
    """What one subscriber has not taken yet (see the module docstring)."""

    def __init__(
        self,
        fields: frozenset[QuoteField],
        *,
        first_sequence: int = 1,
        max_bars: int = DEFAULT_MAX_BARS,
        too_slow_after: float = DEFAULT_TOO_SLOW_AFTER,
    ) -> None:
        if max_bars < 1:
            raise ValueError("max_bars must be >= 1")
        self.fields = fields
        self.too_slow_after = too_slow_after
        self._next_sequence = first_sequence
        self._changed: dict[QuoteField, str] = {}
        self._updates = 0
        self._absorbed = 0
        self._snapshot = False
        self._gap: tuple[float | None, float | None, str] | None = None
        self._bars: deque[BarValue] = deque(maxlen=max_bars)
        self._final: str | None = None
        self._finished = False
        self._pending_since: float | None = None
        self.conflated_total = 0
        """Updates merged away over the outbox's life (for metrics)."""

    # -- producer side ----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when :meth:`take` would return an event."""
        return bool(
            self._final is not None
            or self._gap is not None
            or self._snapshot
            or self._bars
            or self._changed
        )

    def _touch(self, now: float) -> None:
        if self._pending_since is None:
            self._pending_since = now

    def request_snapshot(self, now: float) -> None:
        """The next event is a SNAPSHOT (first one, or after a GAP); a waiting update joins it."""
        if self._final is not None or self._finished:
            return
        if self._changed:
            self._absorbed += self._updates
            self._changed.clear()
            self._updates = 0
        self._snapshot = True
        self._touch(now)

    def update(self, changed: Mapping[QuoteField, str], now: float) -> bool:
        """Offer a change; True when the subscriber has something new to take."""
        if self._final is not None or self._finished:
            return False
        # Keep every changed field (at most one value each; bounded): filtering happens once,
        # at take time, not on every tick.
        if self.fields.isdisjoint(changed):
            return False
        if self._snapshot:
            self._absorbed += 1  # the snapshot will carry it
            return True
        self._changed.update(changed)
        self._updates += 1
        self._touch(now)
        return True

    def bar(self, bar: BarValue, now: float) -> None:
        """Offer a real-time bar; beyond ``max_bars`` waiting, the oldest is dropped."""
        if self._final is not None or self._finished:
            return
        if len(self._bars) == self._bars.maxlen:
            self._absorbed += 1
        self._bars.append(bar)
        self._touch(now)

    def gap(self, start: float | None, end: float | None, reason: str, now: float) -> None:
        """Offer a GAP; a waiting update is dropped (a fresh snapshot will follow)."""
        if self._final is not None or self._finished:
            return
        if self._gap is not None:
            old_start, old_end, old_reason = self._gap
            starts = [t for t in (old_start, start) if t is not None]
            ends = [t for t in (old_end, end) if t is not None]
            start = min(starts) if starts else None
            end = max(ends) if ends else None
            reason = old_reason if reason == old_reason else f"{old_reason}; {reason}"
        self._gap = (start, end, reason)
        if self._changed:
            self._absorbed += self._updates
            self._changed.clear()
            self._updates = 0
        self._touch(now)

    def final(self, reason: str, now: float) -> None:
        """Offer FINAL: everything else waiting is dropped; it is the last event."""
        if self._finished:
            return
        self._final = reason
        self._changed.clear()
        self._bars.clear()
        self._gap = None
        self._snapshot = False
        self._touch(now)

    def check(self, now: float) -> None:
        """Raise SUBSCRIBER_TOO_SLOW when something waited longer than ``too_slow_after``."""
        if self._pending_since is None or self._final is not None:
            return
        waited = now - self._pending_since
        if waited > self.too_slow_after:
            raise too_slow(waited, self.too_slow_after)

    @property
    def finished(self) -> bool:
        """True once FINAL was taken."""
        return self._finished

    # -- consumer side ----------------------------------------------------------------------

    def take(
        self,
        quote: Mapping[QuoteField, str],
        last_trade_time: float | None,
        data_type: DataType,
        wall: float,
        version: int = 0,
        data_wall: float | None = None,
    ) -> MdEvent | None:
        """The next event, or None; ``quote`` is the line's current quote (for SNAPSHOT and
        the full picture on UPDATE; shared, not copied: the event's ``fields`` say which of
        its values are the subscriber's), ``version`` the line's update count and ``data_wall``
        when the broker received that quote (the event time of SNAPSHOT and UPDATE; ``wall``,
        now, for the others)."""
        event = self._next(quote, last_trade_time, data_type, wall, version, data_wall)
        if event is not None:
            self._next_sequence += 1
        if not self.ready:
            self._pending_since = None
        return event

    def _next(
        self,
        quote: Mapping[QuoteField, str],
        last_trade_time: float | None,
        data_type: DataType,
        wall: float,
        version: int,
        data_wall: float | None,
    ) -> MdEvent | None:
        seq = self._next_sequence
        received = wall if data_wall is None else data_wall
        if self._final is not None:
            reason, self._final = self._final, None
            self._finished = True
            return MdEvent(seq, MdKind.FINAL, wall, reason=reason, data_type=data_type)
        if self._gap is not None:
            start, end, reason = self._gap
            self._gap = None
            return MdEvent(
                seq,
                MdKind.GAP,
                wall,
                gap_start=start,
                gap_end=end,
                reason=reason,
                data_type=data_type,
            )
        if self._snapshot:
            self._snapshot = False
            conflated, self._absorbed = self._absorbed, 0
            self.conflated_total += conflated
            return MdEvent(
                seq,
                MdKind.SNAPSHOT,
                received,
                quote=quote,
                fields=self.fields,
                last_trade_time=last_trade_time,
                conflated=conflated,
                data_type=data_type,
                version=version,
            )
        if self._bars:
            bar = self._bars.popleft()
            return MdEvent(seq, MdKind.BAR, wall, bar=bar, data_type=data_type)
        if self._changed:
            changed = tuple(sorted(f for f in self._changed if f in self.fields))
            conflated = self._updates - 1 + self._absorbed
            self._absorbed = 0
            self._updates = 0
            self._changed.clear()
            self.conflated_total += conflated
            return MdEvent(
                seq,
                MdKind.UPDATE,
                received,
                quote=quote,
                fields=self.fields,
                last_trade_time=last_trade_time,
                changed=changed,
                conflated=conflated,
                data_type=data_type,
                version=version,
            )
        return None
