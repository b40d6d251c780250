"""One IB market-data line on the event loop, fanned out to its subscribers' outboxes.

A :class:`LineFeed` owns the library subscription of one :class:`~broker_server.domain.md_lines.
LineKey`. Every ticker update of IB is read once into the line's quote (field -> text), the
changed fields are offered to every subscriber's :class:`~broker_server.domain.md_outbox.Outbox`
(which conflates on its own; nothing here waits for a subscriber), and each subscriber whose
outbox got something is woken.

Healing: the session re-issues the line after a reconnect (restore) or a 1101 (the supervisor),
and the market-data manager re-issues it after a data-farm outage ends (2104/2106). Each re-issue
calls :meth:`LineFeed.reissued`: every subscriber gets a GAP (from the last data the line had,
to now, with the reason), and the line waits for IB's first values on the new request; those
(or, after ``snapshot_timeout``, what the line has) go out as a fresh SNAPSHOT to everyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from broker_server.domain.clock import Clock
from broker_server.domain.contracts import ContractMatch
from broker_server.domain.errors import DomainError
from broker_server.domain.md_events import MdEvent, QuoteField
from broker_server.domain.md_lines import DataType, LineKey
from broker_server.domain.md_outbox import Outbox
from broker_server.ib.market_data import delivered_type, last_trade_time, read_quote
from broker_server.ib.session import IBSession, MarketDataSubscription
from broker_server.logs import log_event

log = logging.getLogger("ibbroker.market_data")


@dataclass(eq=False)
class Subscription:
    """One subscriber of one line (one WatchMarketData stream)."""

    id: int
    key: LineKey
    owner: str
    outbox: Outbox
    contract: ContractMatch
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    error: DomainError | None = None
    """Set when the broker ends the subscription (too slow, line refused by IB)."""
    delivered: int = 0
    """Events taken so far."""
    on_end: Callable[[], None] | None = None
    """Called once when the broker ends the subscription (the edge cancels its stream, which
    may be blocked writing to a client that stopped reading)."""
    bar_key: LineKey | None = None
    """The real-time bar line it also follows (``key`` itself when it wants bars only)."""

    @property
    def keys(self) -> tuple[LineKey, ...]:
        """Every line it follows: ``key`` (taken from), then the bar line if another."""
        if self.bar_key is None or self.bar_key == self.key:
            return (self.key,)
        return (self.key, self.bar_key)

    def end(self, error: DomainError) -> None:
        """End the subscription with ``error`` (its stream raises it at the next take)."""
        if self.error is not None:
            return
        self.error = error
        self.wake.set()
        if self.on_end is not None:
            self.on_end()


class HealingLine(Protocol):
    """What :func:`announce_gap` reads and resets of a line (a quote or a bar line)."""

    key: LineKey
    subscribers: dict[int, Subscription]
    last_data_wall: float | None
    pending_reason: str
    pending_start: float | None
    heals: int


def announce_gap(line: HealingLine, now: float, wall: float) -> None:
    """``line`` was requested again at IB: every subscriber gets a GAP from the line's last data
    (or the start of what caused it, if earlier) to ``wall``, and the heal is logged."""
    start = line.pending_start
    if line.last_data_wall is not None and (start is None or line.last_data_wall < start):
        start = line.last_data_wall
    reason = line.pending_reason or "reconnect: the line was requested again"
    line.pending_reason, line.pending_start = "", None
    line.heals += 1
    for s in line.subscribers.values():
        s.outbox.gap(start, wall, reason, now)
        s.wake.set()
    log_event(
        log,
        logging.INFO,
        "market_data_line_healed",
        line=str(line.key),
        reason=reason,
        gap_start=start,
        gap_end=wall,
        subscribers=len(line.subscribers),
    )


class LineFeed:
    """One IB line and its subscribers (see the module docstring)."""

    def __init__(
        self, key: LineKey, match: ContractMatch, clock: Clock, snapshot_timeout: float
    ) -> None:
        self.key = key
        self.match = match
        self.subscribers: dict[int, Subscription] = {}
        self.quote: dict[QuoteField, str] = {}
        self.last_trade_time: float | None = None
        self.delivered_type = key.data_type
        self.session: IBSession | None = None
        self.sub: MarketDataSubscription | None = None
        self.opened = asyncio.Event()
        """Set once opening finished (``error`` tells how)."""
        self.error: DomainError | None = None
        self.primed = False
        """IB sent values since the last issue (a snapshot can go out)."""
        self.last_data_wall: float | None = None
        self.updates = 0
        """Ticker updates received (for metrics and tests)."""
        self.heals = 0
        """Re-issues after the first (reconnect, 1101, farm outage)."""
        self.closed = False
        self._clock = clock
        self._snapshot_timeout = snapshot_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._ticker: Any = None
        self.pending_reason = ""
        """Why the next re-issue happens (set by the manager from IB's codes)."""
        self.pending_start: float | None = None

    # -- subscribers --------------------------------------------------------------------------

    def add(self, sub: Subscription) -> None:
        """A new subscriber: a snapshot now when the line has values, else when they come."""
        self.subscribers[sub.id] = sub
        if self.primed:
            sub.outbox.request_snapshot(self._clock.monotonic())
            sub.wake.set()

    def take(self, sub: Subscription) -> MdEvent | None:
        """The next event of ``sub`` with this line's current quote."""
        event = sub.outbox.take(
            self.quote,
            self.last_trade_time,
            self.delivered_type,
            self._clock.wall(),
            self.updates,
            self.last_data_wall,
        )
        if event is not None:
            sub.delivered += 1
        return event

    def owns_request(self, session: IBSession, req_id: int) -> bool:
        """True when IB's request ``req_id`` on ``session`` is this line's current one."""
        ticker = self.sub.ticker if self.sub is not None else None
        if ticker is None or self.session is not session or session.ib is None:
            return False
        return bool(session.ib.wrapper.reqId2Ticker.get(req_id) is ticker)

    # -- IB side --------------------------------------------------------------------------------

    def issued(self, sub: MarketDataSubscription) -> None:
        """The session (re-)issued the request: follow the new ticker; heal after the first."""
        self._follow(sub.ticker)
        if sub.issued > 1:
            self.reissued()
        else:
            self._arm_snapshot_timer()

    def reissued(self) -> None:
        """The line was requested again at IB: GAP to everyone, then a fresh snapshot."""
        self.primed = False
        announce_gap(self, self._clock.monotonic(), self._clock.wall())
        self._arm_snapshot_timer()

    def _follow(self, ticker: Any) -> None:
        if self._ticker is not None:
            self._ticker.updateEvent -= self._on_update
        self._ticker = ticker
        if ticker is not None:
            ticker.updateEvent += self._on_update

    def _arm_snapshot_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._snapshot_timeout, self._prime)

    def _prime(self) -> None:
        """Send the snapshot to everyone: IB's first values came (or the wait is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.primed or self.closed:
            return
        self.primed = True
        now = self._clock.monotonic()
        for s in self.subscribers.values():
            s.outbox.request_snapshot(now)
            s.wake.set()

    def _on_update(self, ticker: Any) -> None:
        quote = read_quote(ticker)
        changed = {f: v for f, v in quote.items() if self.quote.get(f) != v}
        self.quote = quote
        self.last_trade_time = last_trade_time(ticker) or self.last_trade_time
        kind = delivered_type(ticker)
        self.delivered_type = (
            DataType(kind) if kind in DataType._value2member_map_ else self.key.data_type
        )
        self.last_data_wall = self._clock.wall()
        self.updates += 1
        if not self.primed:
            self._prime()
            return
        if not changed:
            return
        now = self._clock.monotonic()
        # Per tick and subscriber only the offer and the wake-up: this loop runs for every
        # subscriber on every tick. Whether one waited too long is the sweeper's (check_slow).
        for s in self.subscribers.values():
            if s.outbox.update(changed, now):
                s.wake.set()

    def check_slow(self, now: float) -> None:
        """End subscribers whose data waited too long unread (the sweeper calls this)."""
        for s in self.subscribers.values():
            try:
                s.outbox.check(now)
            except DomainError as err:
                s.end(err)

    def close(self) -> None:
        """Stop following the ticker and cancel the line at IB (when still held)."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._follow(None)
        if self.session is not None and self.sub is not None:
            self.session.cancel_market_data(self.sub)
            self.sub = None

    def __repr__(self) -> str:
        return f"<LineFeed {self.key} subscribers={len(self.subscribers)} primed={self.primed}>"
