"""Market data through the broker: one IB line per (gateway, instrument, type), any subscribers.

:class:`MarketDataManager` is the runtime behind WatchMarketData, GetMarketDataLines and
GetHistoricalBars:

- **Lines** (:class:`~broker_server.domain.md_lines.LineRegistry`): the first subscriber of a
  key opens the IB line (reqMktData with RT Volume for the exchange time, through the data
  session's pacer, reads lane); later ones share it; the last one leaving starts the linger,
  after which a sweeper cancels the line (also through the pacer). The per-gateway budget refuses
  a new instrument with MARKET_DATA_LINES_EXHAUSTED before IB would answer 101.
- **Fan-out** (:mod:`~broker_server.runtime.md_feed`): each tick is read once and offered to
  every subscriber's outbox (conflating); a stream takes from its outbox at its own pace, so a
  slow reader never slows the line, and one too slow for too long is ended (SUBSCRIBER_TOO_SLOW).
- **Healing**: IB status codes of the data session are watched. 1100 and 2103/2105 start an
  outage; 1101 (data lost: the supervisor re-issues every line) and the end of a farm outage
  (2104/2106: re-issued here) heal every line: GAP (from the line's last data, to now, the
  reason) then a fresh SNAPSHOT. A reconnect re-issues the lines in the session's restore and
  heals them the same way. 1102 (data kept) gives no gap.
- **Real-time bars** (:mod:`~broker_server.runtime.md_bars`): one IB reqRealTimeBars per
  (gateway, instrument, whatToShow, useRTH), shared, lingered and healed exactly like a quote
  line. IB counts each as a market-data line, so it takes a line of the budget; and IB paces
  new ones as small-bar historical requests (at most 60 in 10 minutes), so opening one first
  takes a slot of the session's historical pacer (queued within ``request_timeout``, else
  RESOURCE_EXHAUSTED PACING with RetryInfo).
- **Historical bars**: :mod:`~broker_server.runtime.md_history`.

Sessions come through the :class:`~broker_server.runtime.md_sessions.DataSessions` port.

Length: a little over 500 lines, because opening, sharing, healing and dropping a line are one
lifecycle over the same registry and feeds (quote and bar lines alike); the feeds themselves
(:mod:`~broker_server.runtime.md_feed`, :mod:`~broker_server.runtime.md_bars`) and historical
requests (:mod:`~broker_server.runtime.md_history`) live apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

from opentelemetry import metrics

from broker_server.aio import within
from broker_server.config import MarketDataConfig
from broker_server.domain.clock import Clock
from broker_server.domain.contracts import ContractMatch, resolve
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.hist_pacing import HistoricalPacer, HistPacingRules, HistRequest
from broker_server.domain.md_events import MdEvent, MdKind, QuoteField
from broker_server.domain.md_lines import DataType, Line, LineKey, LineRegistry, bar_key
from broker_server.domain.md_outbox import Outbox
from broker_server.domain.orders import ContractRef
from broker_server.domain.reasons import FailureReason
from broker_server.ib.market_data import RT_VOLUME, contract_matches, library_contract
from broker_server.ib.session import IBSession, MarketDataSubscription
from broker_server.logs import log_event
from broker_server.runtime.md_bars import BarFeed
from broker_server.runtime.md_feed import LineFeed, Subscription
from broker_server.runtime.md_sessions import DataSessions

log = logging.getLogger("ibbroker.market_data")
_meter = metrics.get_meter("ibbroker")
_lines_gauge = _meter.create_up_down_counter(
    "ibbroker.market_data.lines", description="IB market-data lines held"
)
_subs_gauge = _meter.create_up_down_counter(
    "ibbroker.market_data.subscribers", description="WatchMarketData streams"
)
_heals = _meter.create_counter("ibbroker.market_data.heals", description="Lines re-issued")
_ended = _meter.create_counter(
    "ibbroker.market_data.subscribers_ended", description="Streams ended by the broker"
)

OUTAGE_START = {
    1100: "1100 IB link lost",
    2103: "2103 market data farm broken",
    2105: "2105 historical data farm broken",
}
OUTAGE_END = {2104, 2106}
DATA_LOST = 1101
DATA_KEPT = 1102
LINE_ERRORS: dict[int, tuple[ErrorKind, FailureReason]] = {
    101: (ErrorKind.RESOURCE_EXHAUSTED, FailureReason.MARKET_DATA_LINES_EXHAUSTED),
    354: (ErrorKind.FAILED_PRECONDITION, FailureReason.MARKET_DATA_NOT_PERMITTED),
    10186: (ErrorKind.FAILED_PRECONDITION, FailureReason.MARKET_DATA_NOT_PERMITTED),
    10197: (ErrorKind.FAILED_PRECONDITION, FailureReason.MARKET_DATA_NOT_PERMITTED),
    200: (ErrorKind.NOT_FOUND, FailureReason.CONTRACT_NOT_FOUND),
    162: (ErrorKind.RESOURCE_EXHAUSTED, FailureReason.PACING),
    420: (ErrorKind.INVALID_ARGUMENT, FailureReason.INVALID_ARGUMENT),
}
"""IB errors of one reqMktData or reqRealTimeBars that end the line and its subscribers (162:
real-time bar pacing, which the broker's own pacer should prevent; 420: invalid real-time
query)."""
Feed = LineFeed | BarFeed


@dataclass(frozen=True)
class LineView:
    """One line for GetMarketDataLines."""

    line: Line
    contract: ContractRef
    owners: tuple[str, ...]


def _shutting_down() -> DomainError:
    return DomainError(
        ErrorKind.UNAVAILABLE, FailureReason.SHUTTING_DOWN, "the broker is shutting down"
    )


class MarketDataManager:
    """Lines, subscribers, healing (see the module docstring)."""

    def __init__(self, sessions: DataSessions, config: MarketDataConfig, clock: Clock) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        self.registry = LineRegistry(config.line_budget, config.linger)
        self.feeds: dict[LineKey, Feed] = {}
        self.subscriptions: dict[int, Subscription] = {}
        """Every live subscription by id."""
        self._ids = itertools.count(1)
        self._contracts: OrderedDict[tuple[str, ContractRef], ContractMatch] = OrderedDict()
        self._watched: dict[int, tuple[str, IBSession]] = {}
        self._outage: dict[str, tuple[float, str]] = {}
        self.ib_errors: Counter[int] = Counter()
        """IB error codes seen on the data sessions' requests (162 should stay 0)."""
        self.req_errors: OrderedDict[tuple[str, int], tuple[int, str]] = OrderedDict()
        """IB errors of single requests, by (gateway, req_id); read by historical requests."""
        self.hist_rules = HistPacingRules(margin=config.pacing_margin)
        """IB's historical pacing rules (historical requests and real-time bar opens)."""
        self._hist_pacers: dict[str, HistoricalPacer] = {}
        self._bar_requests = itertools.count(1)
        self._sweeper: asyncio.Task[None] | None = None
        self._sweep_now = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._conflated_left: Counter[str] = Counter()
        """Updates merged away for subscriptions already gone, per gateway (for metrics)."""

    # -- contracts ------------------------------------------------------------------------------

    async def resolve(self, gateway: str, query: ContractRef) -> ContractMatch:
        """The one contract ``query`` names (cached); NOT_FOUND / INVALID_ARGUMENT otherwise."""
        cache_key = (gateway, query)
        hit = self._contracts.get(cache_key)
        if hit is not None:
            self._contracts.move_to_end(cache_key)
            return hit
        # The token first, then the handle: a handle taken before a wait may be stale after it.
        await self.sessions.pace(gateway, self.config.request_timeout)
        handle = await self.sessions.handle(gateway)
        session = handle.session
        try:
            matches = await within(
                contract_matches(handle.ib, session.lib, query), self.config.request_timeout
            )
        except TimeoutError:
            raise DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.RECONNECTING,
                f"IB did not answer the contract query within {self.config.request_timeout:g} s",
                retry_after=1.0,
            ) from None
        match = resolve(query, matches, field="contract")[0]
        self._contracts[cache_key] = match
        if len(self._contracts) > self.config.contract_cache_size:
            self._contracts.popitem(last=False)
        return match

    # -- subscribing ----------------------------------------------------------------------------

    def hist_pacer(self, gateway: str) -> HistoricalPacer:
        """The historical pacer of a gateway's data session (historical requests and new
        real-time bar lines share IB's small-bar window)."""
        pacer = self._hist_pacers.get(gateway)
        if pacer is None:
            pacer = self._hist_pacers[gateway] = HistoricalPacer(self.hist_rules)
        return pacer

    async def subscribe(
        self,
        gateway: str,
        query: ContractRef,
        fields: frozenset[QuoteField],
        data_type: DataType,
        owner: str,
        resume_after: int = 0,
        *,
        bars: tuple[str, bool] | None = None,
        bars_only: bool = False,
    ) -> Subscription:
        """Join (or open) the line(s) and return the subscription; iterate it with :meth:`events`.

        ``bars`` = (whatToShow, useRTH) also follows that real-time bar line; with
        ``bars_only`` no quote line is held. Raises MARKET_DATA_LINES_EXHAUSTED (checked for
        every line before any is joined), contract errors, the session's UNAVAILABLE reasons,
        PACING for a bar line IB's pacing does not allow in time, or IB's refusal of a line.
        """
        if self._closed:
            raise _shutting_down()
        gw = self.sessions.gateway_name(gateway)
        match = await self.resolve(gw, query)
        con_id = match.contract.con_id
        quote_key = LineKey(gw, con_id, data_type)
        bars_key = bar_key(gw, con_id, *bars) if bars is not None else None
        key = bars_key if bars_only and bars_key is not None else quote_key
        now, wall = self.clock.monotonic(), self.clock.wall()
        first = max(int(wall * 1000), resume_after + 1)
        outbox = Outbox(
            frozenset() if key.bars else fields,
            first_sequence=first,
            too_slow_after=self.config.too_slow_after,
        )
        sub = Subscription(next(self._ids), key, owner, outbox, match, bar_key=bars_key)
        self.registry.check_room(gw, list(sub.keys))
        if resume_after:
            outbox.gap(
                None,
                wall,
                f"resumed after sequence {resume_after}: market data events are not "
                "retained; a fresh snapshot follows",
                now,
            )
        self.subscriptions[sub.id] = sub
        _subs_gauge.add(1, {"gateway": gw})
        feeds = [self._join(k, sub, match, now, wall) for k in sub.keys]
        try:
            for feed in feeds:
                await within(feed.opened.wait(), self.config.request_timeout)
        except TimeoutError:
            self.unsubscribe(sub)
            raise DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.RECONNECTING,
                f"the market data line {key} did not open within {self.config.request_timeout:g} s",
                retry_after=1.0,
            ) from None
        except BaseException:
            self.unsubscribe(sub)
            raise
        for feed in feeds:
            if feed.error is not None:
                self.unsubscribe(sub)
                raise feed.error
        self._ensure_sweeper()
        return sub

    def _join(
        self, key: LineKey, sub: Subscription, match: ContractMatch, now: float, wall: float
    ) -> Feed:
        """Add ``sub`` to the line of ``key``, opening it at IB when it is new."""
        joined = self.registry.join(key, sub.id, sub.owner, now, wall)
        if joined.evicted is not None:
            self._drop_line(joined.evicted, "evicted for a new instrument")
        if joined.opened:
            feed: Feed = (
                BarFeed(key, match, self.clock)
                if key.bars
                else LineFeed(key, match, self.clock, self.config.snapshot_timeout)
            )
            self.feeds[key] = feed
            _lines_gauge.add(1, {"gateway": key.gateway})
            self._spawn(self._open(feed))
        feed = self.feeds[key]
        feed.add(sub)
        return feed

    async def events(self, sub: Subscription) -> AsyncIterator[MdEvent]:
        """The events of ``sub`` until FINAL or the broker ends it; leaves the line at the end."""
        try:
            while True:
                if sub.error is not None:
                    raise sub.error
                feed = self.feeds.get(sub.key)
                event = (
                    feed.take(sub)
                    if feed is not None
                    else sub.outbox.take({}, None, sub.key.data_type, self.clock.wall())
                )
                if event is None:
                    sub.wake.clear()
                    await sub.wake.wait()
                    continue
                yield event
                if event.kind is MdKind.FINAL:
                    return
        finally:
            self.unsubscribe(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        """Leave the line (idempotent); the line lingers, then is cancelled by the sweeper."""
        if self.subscriptions.pop(sub.id, None) is None:
            return
        _subs_gauge.add(-1, {"gateway": sub.key.gateway})
        self._conflated_left[sub.key.gateway] += sub.outbox.conflated_total
        if sub.error is not None:
            _ended.add(1, {"reason": sub.error.reason.value})
            log_event(
                log,
                logging.INFO,
                "market_data_subscriber_ended",
                line=str(sub.key),
                owner=sub.owner,
                reason=sub.error.reason.value,
                error=sub.error.message,
            )
        now, wall = self.clock.monotonic(), self.clock.wall()
        for key in sub.keys:
            feed = self.feeds.get(key)
            if feed is None or feed.subscribers.pop(sub.id, None) is None:
                continue  # the line is already gone (dropped, or the broker is closing)
            if self.registry.leave(key, sub.id, now, wall):
                self._sweep_now.set()
                self._ensure_sweeper()

    # -- lines at IB ----------------------------------------------------------------------------

    async def _open(self, feed: Feed) -> None:
        gw = feed.key.gateway
        try:
            if isinstance(feed, BarFeed):
                await self._pace_bar_line(feed.key)
            await self.sessions.pace(gw, self.config.request_timeout)
            handle = await self.sessions.handle(gw)
            session = handle.session
            self.watch(gw, session)
            contract = library_contract(session.lib, feed.match.contract)
            feed.session = session
            if isinstance(feed, BarFeed):
                feed.sub = await handle.subscribe_market_data(
                    contract,
                    on_issued=partial(self._issued, feed),
                    bars=(feed.key.what_to_show, feed.key.use_rth),
                )
            else:
                feed.sub = await handle.subscribe_market_data(
                    contract,
                    RT_VOLUME,
                    on_issued=partial(self._issued, feed),
                    data_type=int(feed.key.data_type),
                )
            if feed.closed:  # every subscriber left while it was opening
                feed.close()
        except DomainError as err:
            feed.error = err
        except (ConnectionError, ValueError, TimeoutError) as err:
            feed.error = DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.RECONNECTING,
                f"could not open the market data line {feed.key}: {err}",
                retry_after=1.0,
            )
        finally:
            feed.opened.set()
        if feed.error is not None:
            self._drop_line(feed.key, f"open failed: {feed.error.message}", registry=True)
        else:
            log_event(log, logging.INFO, "market_data_line_opened", line=str(feed.key))

    async def _pace_bar_line(self, key: LineKey) -> None:
        """Take a slot of IB's small-bar pacing window (60 new requests in 10 minutes) for a
        new real-time bar line: at once, after a wait within ``request_timeout``, or PACING."""
        now = self.clock.monotonic()
        # A unique request: IB's identical-request rule is about historical queries, not bars.
        req = HistRequest(
            key.con_id, "", f"REALTIME {key.what_to_show}", 5, "", str(next(self._bar_requests)),
            key.use_rth,
        )  # fmt: skip
        pacer = self.hist_pacer(key.gateway)
        when = pacer.admit(req, now, now + self.config.request_timeout)
        if when > now:
            log_event(log, logging.INFO, "realtime_bars_queued", wait=when - now, line=str(key))
            try:
                await asyncio.sleep(when - now)
            except asyncio.CancelledError:
                pacer.release(req, when)
                raise

    def _drop_line(self, key: LineKey, why: str, *, registry: bool = False) -> None:
        """Forget a line and cancel it at IB (through the pacer, in the background)."""
        if registry:
            self.registry.abandon(key)
        feed = self.feeds.pop(key, None)
        if feed is None:
            return
        _lines_gauge.add(-1, {"gateway": key.gateway})
        feed.closed = True
        if feed.error is not None:
            for s in list(feed.subscribers.values()):
                s.end(feed.error)
        self._spawn(self._cancel(feed))
        log_event(log, logging.INFO, "market_data_line_closed", line=str(key), why=why)

    async def _cancel(self, feed: Feed) -> None:
        if feed.sub is not None and not self._closed:
            with contextlib.suppress(DomainError):
                await self.sessions.pace(feed.key.gateway, 5.0)
        feed.close()

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- healing --------------------------------------------------------------------------------

    def watch(self, gateway: str, session: IBSession) -> None:
        """Follow the IB errors and status codes of ``session`` (idempotent)."""
        if id(session) in self._watched:
            return
        self._watched[id(session)] = (gateway, session)
        session.add_error_listener(partial(self._on_ib_error, gateway, session))

    def _issued(self, feed: Feed, sub: MarketDataSubscription) -> None:
        """A line was (re-)issued. A re-issue no IB code announced is the session's restore
        after a reconnect: its GAP names the outage the gateway is still in, if any. The outage
        itself stays open until IB says the farm is back (a 2103 sent during the connect is
        not seen here, so a new socket is not assumed clean): a possibly extra GAP is
        harmless, a missing one is not."""
        if sub.issued > 1 and not feed.pending_reason:
            start, why = self._outage.get(feed.key.gateway, (None, ""))
            feed.pending_reason = f"{why}; reconnect" if why else "reconnect"
            feed.pending_start = start
        feed.issued(sub)

    def _on_ib_error(
        self, gateway: str, session: IBSession, req_id: int, code: int, msg: str
    ) -> None:
        if req_id > 0:
            self._on_request_error(gateway, session, req_id, code, msg)
            return
        wall = self.clock.wall()
        if code in OUTAGE_START:
            self._outage.setdefault(gateway, (wall, OUTAGE_START[code]))
            return
        if code == DATA_KEPT:
            self._outage.pop(gateway, None)
            return
        if code == DATA_LOST or (code in OUTAGE_END and gateway in self._outage):
            start, why = self._outage.pop(gateway, (wall, ""))
            reason = f"{code} {'data lost' if code == DATA_LOST else 'data farm back'}"
            reason = f"{why}; {reason}" if why else reason
            for feed in self.feeds.values():
                if feed.session is session:
                    feed.pending_reason, feed.pending_start = reason, start
            _heals.add(len(self.feeds), {"gateway": gateway, "code": str(code)})
            if code in OUTAGE_END:
                # TWS resumes some data by itself; the broker requests every line again so
                # that none stays silent. (After 1101 the supervisor does this.)
                session.resubscribe()

    def _on_request_error(
        self, gateway: str, session: IBSession, req_id: int, code: int, msg: str
    ) -> None:
        self.ib_errors[code] += 1
        self.req_errors[(gateway, req_id)] = (code, msg)
        if len(self.req_errors) > 256:
            self.req_errors.popitem(last=False)
        if code not in LINE_ERRORS:
            return
        for feed in list(self.feeds.values()):
            if not feed.owns_request(session, req_id):
                continue
            kind, reason = LINE_ERRORS[code]
            feed.error = DomainError(
                kind,
                reason,
                f"IB refused the market data line {feed.key}: {code} {msg}",
                ib_error_code=code,
                retry_after=15.0 if reason is FailureReason.PACING else None,
            )
            self._drop_line(feed.key, f"IB error {code}", registry=True)

    # -- the sweeper: linger expiry and too-slow subscribers ------------------------------------

    def _ensure_sweeper(self) -> None:
        if self._closed or (self._sweeper is not None and not self._sweeper.done()):
            return
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="md-sweeper")

    async def _sweep(self) -> None:
        interval = max(0.02, min(self.config.too_slow_after, self.config.linger or 1.0) / 4)
        while len(self.registry) and not self._closed:
            now = self.clock.monotonic()
            for key in self.registry.expire(now):
                self._drop_line(key, "linger over")
            for feed in self.feeds.values():
                feed.check_slow(now)
            nxt = self.registry.next_expiry()
            delay = interval if nxt is None else max(0.0, min(interval, nxt - now))
            self._sweep_now.clear()
            with contextlib.suppress(TimeoutError):
                await within(self._sweep_now.wait(), delay)

    # -- views and shutdown ---------------------------------------------------------------------

    def lines(self, gateway: str) -> list[LineView]:
        """The gateway's lines (lingering ones included), ordered by key."""
        gw = self.sessions.gateway_name(gateway)
        views = []
        for line in self.registry.lines(gw):
            feed = self.feeds.get(line.key)
            contract = (
                feed.match.contract if feed is not None else ContractRef(con_id=line.key.con_id)
            )
            views.append(LineView(line, contract, tuple(sorted(set(line.subscribers.values())))))
        return views

    def conflated(self) -> dict[str, int]:
        """Updates merged away (conflated) so far per gateway, live and ended subscriptions
        together: only grows (read-only; the /metrics counter reads it on the event loop)."""
        total = Counter(self._conflated_left)
        for sub in self.subscriptions.values():
            total[sub.key.gateway] += sub.outbox.conflated_total
        return dict(total)

    def tasks(self) -> int:
        """Background tasks alive (opens, cancels, the sweeper), for leak tests."""
        alive = sum(1 for t in self._tasks if not t.done())
        return alive + (1 if self._sweeper is not None and not self._sweeper.done() else 0)

    def end_streams(self, reason: str = "broker shutting down") -> None:
        """FINAL to every subscriber (their streams end after it)."""
        now = self.clock.monotonic()
        for feed in self.feeds.values():
            for s in feed.subscribers.values():
                s.outbox.final(reason, now)
                s.wake.set()

    async def close(self) -> None:
        """FINAL to everyone, cancel every line at IB, stop the background tasks."""
        self.end_streams()
        self._closed = True
        for key in list(self.feeds):
            self.registry.abandon(key)
            self._drop_line(key, "broker shutting down")
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
