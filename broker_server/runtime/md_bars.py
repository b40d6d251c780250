"""One IB real-time bar line (reqRealTimeBars) on the event loop, fanned out to its subscribers.

A :class:`BarFeed` owns the library subscription of one bar :class:`~broker_server.domain.
md_lines.LineKey` (gateway, instrument, whatToShow, useRTH). Every 5-second bar IB sends is read
once and offered to every subscriber's :class:`~broker_server.domain.md_outbox.Outbox` (which
holds at most ``max_bars`` unread bars per subscriber, oldest dropped and counted); nothing here
waits for a subscriber. It has the same surface as :class:`~broker_server.runtime.md_feed.
LineFeed`, so the market-data manager drives both alike (open, refcount, linger, heal).

The latest bar is the line's state: a subscriber that joins an open line gets it at once (its
first BAR), so nobody waits up to 5 s for data the line already has. Healing: when the session
re-issues the line (reconnect, 1101, end of a farm outage) every subscriber gets a GAP and the
latest bar is forgotten (it is from before the gap); the next bar IB sends is the fresh state.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from broker_server.domain.clock import Clock
from broker_server.domain.contracts import ContractMatch
from broker_server.domain.errors import DomainError
from broker_server.domain.md_events import BarValue, MdEvent
from broker_server.domain.md_lines import DataType, LineKey
from broker_server.ib.market_data import bar_value
from broker_server.ib.session import IBSession, MarketDataSubscription
from broker_server.runtime.md_feed import Subscription, announce_gap

log = logging.getLogger("ibbroker.market_data")


class BarFeed:
    """One real-time bar line and its subscribers (see the module docstring)."""

    def __init__(self, key: LineKey, match: ContractMatch, clock: Clock) -> None:
        self.key = key
        self.match = match
        self.subscribers: dict[int, Subscription] = {}
        self.session: IBSession | None = None
        self.sub: MarketDataSubscription | None = None
        self.opened = asyncio.Event()
        """Set once opening finished (``error`` tells how)."""
        self.error: DomainError | None = None
        self.last_bar: BarValue | None = None
        """The latest bar since the line was (re-)issued."""
        self.last_data_wall: float | None = None
        self.updates = 0
        """Bars received (for metrics and tests)."""
        self.heals = 0
        """Re-issues after the first (reconnect, 1101, farm outage)."""
        self.closed = False
        self.pending_reason = ""
        """Why the next re-issue happens (set by the manager from IB's codes)."""
        self.pending_start: float | None = None
        self._clock = clock
        self._bars: Any = None

    # -- subscribers --------------------------------------------------------------------------

    def add(self, sub: Subscription) -> None:
        """A new subscriber: the latest bar at once, when the line has one."""
        self.subscribers[sub.id] = sub
        if self.last_bar is not None:
            sub.outbox.bar(self.last_bar, self._clock.monotonic())
            sub.wake.set()

    def take(self, sub: Subscription) -> MdEvent | None:
        """The next event of a subscriber that has no quote line (bars only)."""
        event = sub.outbox.take({}, None, DataType.LIVE, self._clock.wall())
        if event is not None:
            sub.delivered += 1
        return event

    def owns_request(self, session: IBSession, req_id: int) -> bool:
        """True when IB's request ``req_id`` on ``session`` is this line's current one."""
        bars = self.sub.ticker if self.sub is not None else None
        return bars is not None and self.session is session and bars.reqId == req_id

    # -- IB side --------------------------------------------------------------------------------

    def issued(self, sub: MarketDataSubscription) -> None:
        """The session (re-)issued the request: follow the new bar list; heal after the first."""
        self._follow(sub.ticker)
        if sub.issued > 1:
            self.reissued()

    def reissued(self) -> None:
        """The line was requested again at IB: GAP to everyone; the next bar is fresh state."""
        self.last_bar = None
        announce_gap(self, self._clock.monotonic(), self._clock.wall())

    def _follow(self, bars: Any) -> None:
        if self._bars is not None:
            self._bars.updateEvent -= self._on_bars
        self._bars = bars
        if bars is not None:
            bars.updateEvent += self._on_bars

    def _on_bars(self, bars: Any, has_new_bar: bool) -> None:
        if not has_new_bar or not bars:
            return
        bar = bar_value(bars[-1])
        # The library appends every bar to its list for ever: keep only the latest.
        del bars[:-1]
        self.last_bar = bar
        self.last_data_wall = self._clock.wall()
        self.updates += 1
        now = self._clock.monotonic()
        for s in self.subscribers.values():
            s.outbox.bar(bar, now)
            s.wake.set()
            try:
                s.outbox.check(now)
            except DomainError as err:
                s.end(err)

    def check_slow(self, now: float) -> None:
        """End subscribers whose data waited too long unread (the sweeper calls this)."""
        for s in self.subscribers.values():
            try:
                s.outbox.check(now)
            except DomainError as err:
                s.end(err)

    def close(self) -> None:
        """Stop following the bars and cancel the line at IB (when still held)."""
        self.closed = True
        self._follow(None)
        if self.session is not None and self.sub is not None:
            self.session.cancel_market_data(self.sub)
            self.sub = None

    def __repr__(self) -> str:
        return f"<BarFeed {self.key} subscribers={len(self.subscribers)}>"
