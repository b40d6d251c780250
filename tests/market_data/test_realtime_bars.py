"""5-second real-time bars through the broker, end to end: grpc.aio server on 127.0.0.1:0, the
broker's ib_insync session, the simulator building bars from its ticks (bar interval scaled
down). One IB reqRealTimeBars per (gateway, instrument, whatToShow, useRTH) whatever the number
of subscribers (counted at the simulator), lingered, healed with GAP then fresh bars, counted
in the line budget and paced as IB's small-bar requests; bad input is INVALID_ARGUMENT."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.domain.hist_pacing import HistPacingRules
from broker_server.runtime.md_bars import BarFeed
from broker_server.sim.server import SimConfig
from tests.market_data.conftest import (
    AAPL,
    GAP,
    SNAPSHOT,
    Broker,
    md_config,
    next_kind,
    watch_request,
)
from tests.market_data.test_healing import Reader

BAR = md_pb.MARKET_DATA_EVENT_KIND_BAR
MIDPOINT = md_pb.WHAT_TO_SHOW_MIDPOINT


def bar_sim() -> SimConfig:
    return SimConfig(
        port=0, current_time_min_interval=0, tick_interval=0.02, realtime_bar_interval=0.1
    )


async def _error_of(stream: Any) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await next_kind(stream, BAR)
    return BrokerError.from_rpc_error(err.value)


async def _until(pred: Callable[[], bool], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not pred():  # noqa: ASYNC110 (state of the simulator and the broker)
            await asyncio.sleep(0.01)


def _bars_lines(broker: Broker) -> int:
    return sum(len(s.subs.rt_bars) for s in broker.sim.sessions.values())


async def test_one_bar_line_fanned_out_then_lingered_and_cancelled(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker(bar_sim())
    quotes_and_bars = [
        Reader(broker.stub.WatchMarketData(watch_request(owner=f"q{i}", realtime_bars=True)))
        for i in range(3)
    ]
    bars_only = Reader(
        broker.stub.WatchMarketData(
            watch_request(owner="b", realtime_bars=True, realtime_bars_only=True)
        )
    )
    for r in quotes_and_bars:
        await r.wait_for(
            lambda ev: SNAPSHOT in [e.kind for e in ev] and BAR in [e.kind for e in ev]
        )
    await bars_only.wait_for(lambda ev: sum(e.kind == BAR for e in ev) >= 2)
    # One quote line and one bar line at the simulator for four subscribers.
    assert broker.sim_lines() == 2 and _bars_lines(broker) == 1
    assert all(e.kind in (BAR,) for e in bars_only.events)
    bar = next(e.bar for e in bars_only.events if e.kind == BAR)
    assert bar.open and bar.high and bar.low and bar.close and bar.volume and bar.wap
    assert float(bar.low) <= float(bar.close) <= float(bar.high)
    assert bar.time.seconds > 0
    seqs = [e.sequence for e in bars_only.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    lines = await broker.stub.GetMarketDataLines(spb.GetMarketDataLinesRequest())
    assert lines.in_use == 2
    (bar_line,) = [ln for ln in lines.lines if ln.realtime_bars]
    assert bar_line.subscribers == 4 and bar_line.contract.con_id == AAPL
    assert bar_line.what_to_show == md_pb.WHAT_TO_SHOW_TRADES and not bar_line.use_rth
    # Another whatToShow is another line; a late joiner gets the line's latest bar first.
    mid = broker.stub.WatchMarketData(
        watch_request(
            realtime_bars=True, realtime_bars_what_to_show=MIDPOINT, realtime_bars_only=True
        )
    )
    first = await next_kind(mid, BAR)
    assert not first.bar.volume and first.bar.trade_count == 0  # IB gives none for MIDPOINT
    # The held bar, not the next one: checked when no new bar reached the line in between
    # (retried otherwise, a bar comes every 0.1 s).
    feed = next(f for k, f in broker.md.feeds.items() if k.what_to_show == "TRADES")
    assert isinstance(feed, BarFeed)
    lates = []
    for _ in range(10):
        held, count = feed.last_bar, feed.updates
        late = broker.stub.WatchMarketData(
            watch_request(realtime_bars=True, realtime_bars_only=True)
        )
        lates.append(late)
        got = (await next_kind(late, BAR)).bar
        if feed.updates == count and held is not None:
            assert (got.time.seconds, got.close) == (int(held.time), held.close)
            break
    else:
        raise AssertionError("a new bar came before every late joiner's first one")
    assert _bars_lines(broker) == 2
    for r in [*quotes_and_bars, bars_only]:
        r.task.cancel()
    mid.cancel()
    for late in lates:
        late.cancel()
    # Linger (0.2 s), then every line is cancelled at the simulator.
    await _until(lambda: broker.sim_lines() == 0)
    await _until(lambda: len(broker.md.feeds) == 0 and broker.md.tasks() <= 1)


async def test_1101_and_a_gateway_drop_heal_with_gap_then_bars(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker(bar_sim())
    both = Reader(broker.stub.WatchMarketData(watch_request(realtime_bars=True)))
    only = Reader(
        broker.stub.WatchMarketData(watch_request(realtime_bars=True, realtime_bars_only=True))
    )
    await both.wait_for(lambda ev: BAR in [e.kind for e in ev])
    await only.wait_for(lambda ev: BAR in [e.kind for e in ev])
    for fault in ("1101", "drop"):
        marks = (len(both.events), len(only.events))
        if fault == "1101":
            await broker.sim.faults.broadcast_error(1100)
            await broker.sim.faults.broadcast_error(1101)
        else:
            await broker.sim.faults.drop()
        await both.wait_for(_healed(marks[0], SNAPSHOT, BAR))
        await only.wait_for(_healed(marks[1], BAR))
        gap = next(e for e in only.events[marks[1] :] if e.kind == GAP)
        assert gap.reason and gap.gap_start.ToNanoseconds() <= gap.gap_end.ToNanoseconds()
        await _until(lambda: broker.sim_lines() == 2)
    assert [e.kind for e in only.events if e.kind not in (BAR, GAP)] == []
    both.task.cancel()
    only.task.cancel()


def _healed(mark: int, *wanted: int) -> Callable[[list[md_pb.MarketDataEvent]], bool]:
    """A GAP after ``mark``, then each of ``wanted``."""

    def pred(events: list[md_pb.MarketDataEvent]) -> bool:
        kinds = [e.kind for e in events[mark:]]
        return GAP in kinds and all(k in kinds[kinds.index(GAP) :] for k in wanted)

    return pred


async def test_bad_input_gets_field_violations(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker(bar_sim())
    bad = [
        (
            watch_request(
                realtime_bars=True, realtime_bars_what_to_show=md_pb.WHAT_TO_SHOW_ADJUSTED_LAST
            ),
            {"realtime_bars_what_to_show"},
        ),
        (
            watch_request(realtime_bars=True, realtime_bars_what_to_show=99),
            {"realtime_bars_what_to_show"},
        ),
        (
            watch_request(realtime_bars_only=True, realtime_bars_use_rth=True),
            {"realtime_bars_only", "realtime_bars_use_rth"},
        ),
        (
            watch_request(realtime_bars=True, realtime_bars_only=True, fields=[1]),
            {"fields"},
        ),
    ]
    for request, fields in bad:
        err = await _error_of(broker.stub.WatchMarketData(request))
        assert err.code is grpc.StatusCode.INVALID_ARGUMENT, err
        assert {f for f, _ in err.field_violations} == fields
    assert broker.sim_lines() == 0


async def test_bar_lines_count_in_the_budget_and_are_paced(
    make_broker: Callable[..., Any],
) -> None:
    rules = HistPacingRules(small_bar_window=60.0, small_bar_limit=2, margin=0.0)
    broker = await make_broker(
        bar_sim(), md=md_config(line_budget=2, request_timeout=0.5), history_rules=rules
    )
    # A quote line and a bar line: 2 of 2. A third line (another whatToShow) is refused before
    # IB sees it, and so is a quote + bars subscription that needs two new lines.
    a = broker.stub.WatchMarketData(watch_request(realtime_bars=True))
    await next_kind(a, BAR)
    err = await _error_of(
        broker.stub.WatchMarketData(
            watch_request(realtime_bars=True, realtime_bars_what_to_show=MIDPOINT)
        )
    )
    assert (err.code, err.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "MARKET_DATA_LINES_EXHAUSTED",
    )
    assert broker.sim_lines() == 2
    a.cancel()
    await _until(lambda: broker.sim_lines() == 0)
    # New bar lines take slots of the small-bar window (2 here; IB: 60 in 10 minutes): the
    # first line above took one, this one the second, the next cannot go within its deadline.
    b = broker.stub.WatchMarketData(watch_request(realtime_bars=True, realtime_bars_only=True))
    await next_kind(b, BAR)
    err = await _error_of(
        broker.stub.WatchMarketData(
            watch_request(
                realtime_bars=True, realtime_bars_what_to_show=MIDPOINT, realtime_bars_only=True
            )
        )
    )
    assert (err.code, err.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "PACING")
    assert err.retry_after is not None and err.retry_after > 0
    assert _bars_lines(broker) == 1 and broker.md.ib_errors[162] == 0
    b.cancel()
