"""The market-data RPCs of TradingService: WatchMarketData, GetMarketDataLines, GetHistoricalBars.

:class:`MarketDataEndpoints` implements exactly these three methods (with TradingService's
request and response types) on top of the
:class:`~broker_server.runtime.market_data.MarketDataManager`; it subclasses the generated
``TradingServiceServicer`` so that, served alone, every other method stays UNIMPLEMENTED. The
TradingService servicer mounts it by inheriting from it (or delegating the three methods).

A stream that the broker ends (SUBSCRIBER_TOO_SLOW, IB refused the line) may be blocked in a
write to a client that stopped reading: the subscription's end cancels the stream's task, and
the cancellation is turned into the RPC's error status here.
"""

from __future__ import annotations

import asyncio
import logging
import math

import grpc
from google.protobuf import timestamp_pb2

from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_server.domain.errors import DomainError, FieldViolation, invalid_argument
from broker_server.domain.hist_pacing import WHAT_TO_SHOW, HistPacingRules, parse_history_params
from broker_server.domain.md_events import BarValue, MdEvent, MdKind, parse_data_type, parse_fields
from broker_server.domain.md_lines import REALTIME_BAR_WHAT
from broker_server.runtime.market_data import MarketDataManager
from broker_server.runtime.md_history import HistoryQuery, HistoryService
from broker_server.services.errors import abort_with, unary_errors
from broker_server.services.trading_convert import contract_proto, contract_ref

_KINDS = {
    MdKind.SNAPSHOT: md_pb.MARKET_DATA_EVENT_KIND_SNAPSHOT,
    MdKind.UPDATE: md_pb.MARKET_DATA_EVENT_KIND_UPDATE,
    MdKind.BAR: md_pb.MARKET_DATA_EVENT_KIND_BAR,
    MdKind.GAP: md_pb.MARKET_DATA_EVENT_KIND_GAP,
    MdKind.FINAL: md_pb.MARKET_DATA_EVENT_KIND_FINAL,
}
_QUOTE_NAMES = {
    1: "bid",
    2: "ask",
    3: "last",
    4: "bid_size",
    5: "ask_size",
    6: "last_size",
    7: "volume",
    8: "open",
    9: "high",
    10: "low",
    11: "close",
}
MAX_OWNER = 128
MAX_SHARED = 4096
"""(line, fields) pairs whose latest UPDATE encoding is kept."""
log = logging.getLogger("ibbroker.services")


def timestamp(epoch_seconds: float) -> timestamp_pb2.Timestamp:
    """Epoch seconds as a Timestamp."""
    # Seconds and fraction apart: epoch_seconds * 1e9 would lose the nanoseconds to rounding.
    seconds = math.floor(epoch_seconds)
    nanos = round((epoch_seconds - seconds) * 1e9)
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def bar_proto(bar: BarValue) -> md_pb.Bar:
    """A domain bar as a proto Bar."""
    return md_pb.Bar(
        time=timestamp(bar.time),
        open=bar.open,
        high=bar.high,
        low=bar.low,
        close=bar.close,
        volume=bar.volume,
        wap=bar.wap,
        trade_count=bar.trade_count,
    )


def event_proto(e: MdEvent) -> md_pb.MarketDataEvent:
    """A domain event as the proto event."""
    out = md_pb.MarketDataEvent(
        sequence=e.sequence,
        event_time=timestamp(e.wall),
        kind=_KINDS[e.kind],
        conflated_updates=e.conflated,
        reason=e.reason,
        market_data_type=md_pb.MarketDataType.ValueType(int(e.data_type)),
    )
    if e.kind in (MdKind.SNAPSHOT, MdKind.UPDATE):
        quote = out.quote
        for f, v in e.quote.items():
            if f in e.fields:
                setattr(quote, _QUOTE_NAMES[int(f)], v)
        if e.last_trade_time is not None:
            quote.last_trade_time.CopyFrom(timestamp(e.last_trade_time))
        out.changed.extend(int(f) for f in e.changed)  # type: ignore[misc]
    if e.bar is not None:
        out.bar.CopyFrom(bar_proto(e.bar))
    if e.gap_start is not None:
        out.gap_start.CopyFrom(timestamp(e.gap_start))
    if e.gap_end is not None:
        out.gap_end.CopyFrom(timestamp(e.gap_end))
    return out


_WHAT_NUMBERS = {name: md_pb.WhatToShow.ValueType(n) for n, name in WHAT_TO_SHOW.items() if n}


def realtime_bars_params(
    request: spb.WatchMarketDataRequest,
) -> tuple[tuple[str, bool] | None, list[FieldViolation]]:
    """(whatToShow, useRTH) of the request's real-time bars (None without), and the
    violations of its real-time bar fields."""
    bad = []
    if not request.realtime_bars:
        for name in ("realtime_bars_what_to_show", "realtime_bars_use_rth", "realtime_bars_only"):
            if getattr(request, name):
                bad.append(FieldViolation(name, "only with realtime_bars = true"))
        return None, bad
    what = WHAT_TO_SHOW.get(request.realtime_bars_what_to_show)
    if what not in REALTIME_BAR_WHAT:
        shown = what or str(request.realtime_bars_what_to_show)
        bad.append(
            FieldViolation(
                "realtime_bars_what_to_show",
                f"real-time bars show TRADES, MIDPOINT, BID or ASK, not {shown}",
            )
        )
    if request.realtime_bars_only and request.fields:
        bad.append(FieldViolation("fields", "must be empty with realtime_bars_only"))
    return (what or "TRADES", request.realtime_bars_use_rth), bad


class SharedEncoder:
    """Encodes an UPDATE once for every subscriber of a line that wants the same fields.

    Subscribers of one line with the same fields get the same UPDATE for the same line
    version, but for the sequence, the count of conflated updates and (for a conflated one)
    the set of changed fields: the event is built and serialized once per (version, changed),
    and each stream's response is parsed from those bytes with its own sequence and count set,
    which costs a fraction of building the message field by field. At 500 subscribers of one
    line most delivered updates are conflated ones, so they share too. Snapshots, bars and
    markers are built directly. The cache holds the latest version per (line, fields) only.
    """

    def __init__(self) -> None:
        self._latest: dict[
            tuple[object, frozenset[object]], tuple[tuple[object, ...], dict[object, bytes]]
        ] = {}

    def response(self, line: object, e: MdEvent) -> spb.WatchMarketDataResponse:
        """The response carrying ``e`` for a subscriber of ``line``."""
        if e.kind is not MdKind.UPDATE:
            return spb.WatchMarketDataResponse(event=event_proto(e))
        key = (line, e.fields)
        ident = (e.version, e.data_type, e.wall)
        hit = self._latest.get(key)
        if hit is None or hit[0] != ident:
            if len(self._latest) >= MAX_SHARED and key not in self._latest:
                self._latest.clear()  # lines come and go: bound the cache simply
            hit = self._latest[key] = (ident, {})
        encoded = hit[1].get(e.changed)
        if encoded is None:
            shared = event_proto(e)
            shared.sequence = 0
            shared.conflated_updates = 0
            encoded = spb.WatchMarketDataResponse(event=shared).SerializeToString()
            if len(hit[1]) < MAX_SHARED:
                hit[1][e.changed] = encoded
        out = spb.WatchMarketDataResponse.FromString(encoded)
        event = out.event
        event.sequence = e.sequence
        if e.conflated:
            event.conflated_updates = e.conflated
        return out


class MarketDataEndpoints(spb_grpc.TradingServiceServicer):
    """WatchMarketData, GetMarketDataLines and GetHistoricalBars (module docstring)."""

    def __init__(
        self, manager: MarketDataManager, *, history_rules: HistPacingRules | None = None
    ) -> None:
        self._md = manager
        self._history = HistoryService(manager, history_rules)
        self._encoder = SharedEncoder()

    # grpc.aio serves a streaming method written as a coroutine that calls context.write; the
    # generated stub only types the generator form, hence the ignore.
    async def WatchMarketData(  # type: ignore[override]
        self, request: spb.WatchMarketDataRequest, context: grpc.aio.ServicerContext
    ) -> None:
        # Written with context.write rather than as a generator: the broker must be able to
        # end a stream that is blocked writing to a client that stopped reading, and only a
        # cancellation of the handler's own await reaches it there (module docstring).
        try:
            await self._watch(request, context)
        except (grpc.aio.AbortError, asyncio.CancelledError):
            raise
        except DomainError as err:
            log.info(
                "rpc_error",
                extra={
                    "fields": {"rpc": "WatchMarketData", "reason": err.reason, "error": err.message}
                },
            )
            await abort_with(context, err)
        except Exception:
            log.exception("rpc_failed", extra={"fields": {"rpc": "WatchMarketData"}})
            await context.abort(
                grpc.StatusCode.INTERNAL, "WatchMarketData failed inside the broker; see its log"
            )

    async def _watch(
        self, request: spb.WatchMarketDataRequest, context: grpc.aio.ServicerContext
    ) -> None:
        query = contract_ref(request.contract)
        bad = []
        if not request.HasField("contract") or not (
            query.con_id or query.symbol or query.local_symbol
        ):
            bad.append(FieldViolation("contract", "required: con_id, symbol or local_symbol"))
        if len(request.owner) > MAX_OWNER:
            bad.append(FieldViolation("owner", f"at most {MAX_OWNER} characters"))
        bars, bad_bars = realtime_bars_params(request)
        bad.extend(bad_bars)
        try:
            fields = parse_fields(list(request.fields))
        except DomainError as err:
            bad.extend(err.violations)
            fields = frozenset()
        try:
            data_type = parse_data_type(request.market_data_type)
        except DomainError as err:
            bad.extend(err.violations)
        if bad:
            raise invalid_argument(*bad)
        sub = await self._md.subscribe(
            request.gateway,
            query,
            fields,
            data_type,
            request.owner or context.peer(),
            request.resume_after_sequence,
            bars=bars,
            bars_only=request.realtime_bars_only,
        )
        task = asyncio.current_task()
        ended_by_broker = False

        def ended() -> None:
            nonlocal ended_by_broker
            if task is not None and not task.done():
                ended_by_broker = True
                task.cancel()

        sub.on_end = ended
        try:
            async for event in self._md.events(sub):
                await context.write(self._encoder.response(sub.key, event))
        except asyncio.CancelledError:
            if not ended_by_broker or sub.error is None:
                raise
            task.uncancel()  # type: ignore[union-attr]
            raise sub.error from None

    @unary_errors
    async def GetMarketDataLines(
        self, request: spb.GetMarketDataLinesRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetMarketDataLinesResponse:
        views = self._md.lines(request.gateway)
        out = spb.GetMarketDataLinesResponse(in_use=len(views), budget=self._md.registry.budget)
        for v in views:
            line = out.lines.add(
                contract=contract_proto(v.contract),
                market_data_type=md_pb.MarketDataType.ValueType(int(v.line.key.data_type)),
                subscribers=len(v.line.subscribers),
                open_time=timestamp(v.line.opened_wall),
            )
            line.owners.extend(v.owners)
            key = v.line.key
            if key.bars:
                line.realtime_bars = True
                line.what_to_show = _WHAT_NUMBERS[key.what_to_show]
                line.use_rth = key.use_rth
            if v.line.linger_until_wall is not None:
                line.linger_until.CopyFrom(timestamp(v.line.linger_until_wall))
        return out

    @unary_errors
    async def GetHistoricalBars(
        self, request: spb.GetHistoricalBarsRequest, context: grpc.aio.ServicerContext
    ) -> spb.GetHistoricalBarsResponse:
        query = contract_ref(request.contract)
        bad = []
        if not request.HasField("contract") or not (
            query.con_id or query.symbol or query.local_symbol
        ):
            bad.append(FieldViolation("contract", "required: con_id, symbol or local_symbol"))
        try:
            duration, bar_size, seconds, what = parse_history_params(
                request.duration, request.bar_size, request.what_to_show
            )
        except DomainError as err:
            bad.extend(err.violations)
        if bad:
            raise invalid_argument(*bad)
        end = request.end_time.ToNanoseconds() / 1e9 if request.HasField("end_time") else None
        remaining = context.time_remaining()
        time_left = self._md.config.request_timeout if remaining is None else remaining
        bars = await self._history.bars(
            HistoryQuery(
                request.gateway, query, end, duration, bar_size, seconds, what, request.use_rth
            ),
            time_left,
        )
        out = spb.GetHistoricalBarsResponse(bars=[bar_proto(b) for b in bars])
        if bars:
            out.start_time.CopyFrom(timestamp(bars[0].time))
            out.end_time.CopyFrom(timestamp(end if end is not None else bars[-1].time))
        return out


def market_data_servicer(
    manager: MarketDataManager, *, history_rules: HistPacingRules | None = None
) -> spb_grpc.TradingServiceServicer:
    """A TradingService servicer serving only the market-data RPCs (every other method answers
    UNIMPLEMENTED, from the generated base class), for serving or testing them alone."""
    # The generated stubs declare every method abstract; the base class implements each one as
    # UNIMPLEMENTED at run time, which is exactly what is wanted here.
    return MarketDataEndpoints(manager, history_rules=history_rules)  # type: ignore[abstract]
