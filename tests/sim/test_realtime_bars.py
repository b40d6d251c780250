"""5-second real-time bars (reqRealTimeBars 50 / realtimeBar 50 / cancelRealTimeBars 51) with
real ib_insync and ib_async at every server version: bars built from the instrument's ticks
every ``realtime_bar_interval`` of simulator time, counted as market-data lines (101 beyond
the allowance), paced as small-bar requests (162), refused with 420 for a bad bar size or
whatToShow, stopped by 2103 and ended by 1101 as the real gateway does.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from broker_server.sim.pacing import HistPacing
from broker_server.sim.server import SimServer
from tests.sim.conftest import ClientErrorGuard, Connect, make_config, wait_for

AAPL, MSFT, EURUSD = 265598, 272093, 12087792
INTERVAL = 0.1


def bars_config(**overrides: Any) -> Any:
    return make_config(realtime_bar_interval=INTERVAL, **overrides)


def errors_of(ib: Any) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, *args: seen.append((req_id, code, text))
    return seen


async def settle(ib: Any) -> None:
    await asyncio.wait_for(ib.reqCurrentTimeAsync(), 2)


async def test_bars_are_built_from_the_ticks(
    server_version: int, connect: Connect, lib: ModuleType
) -> None:
    async with SimServer(bars_config(max_server_version=server_version)) as sim:
        ib = await connect(sim)
        aapl = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
        trades = ib.reqRealTimeBars(aapl, 5, "TRADES", False)
        mid = ib.reqRealTimeBars(aapl, 5, "MIDPOINT", True)
        await settle(ib)
        assert sim.market_data_lines() == {1: 2}
        await wait_for(lambda: len(trades) >= 1 and len(mid) >= 1)
        # Move the price inside one bar period: that bar's high, low and close follow the
        # trades, its volume sums their sizes.
        n = len(trades)
        quote = sim.market.quotes[AAPL]
        base = quote.last
        for price in (base + 2, base - 3, base + 1):
            sim.market.set_price(AAPL, price)
        await wait_for(lambda: any(b.high >= base + 2 - 0.01 for b in trades[n:]), within=3)
        bar = next(b for b in trades[n:] if b.high >= base + 2 - 0.01)
        assert bar.low <= base - 3 + 0.01
        assert bar.count >= 1 and bar.volume >= bar.count * 1
        assert bar.low <= bar.wap <= bar.high
        assert bar.time.timestamp() % 1 == 0
        # A period without ticks is a flat bar at the current value, time ascending.
        await wait_for(lambda: len(trades) >= n + 3, within=3)
        flat = trades[-1]
        assert flat.open_ == flat.high == flat.low == flat.close == quote.last
        times = [b.time for b in trades]
        assert times == sorted(times)
        # Not TRADES: no volume, WAP or count (IB sends -1).
        assert mid[-1].volume == -1 and mid[-1].count == -1
        assert abs(mid[-1].close - (quote.bid + quote.ask) / 2) < 0.01
        ib.cancelRealTimeBars(trades)
        ib.cancelRealTimeBars(mid)
        await settle(ib)
        assert sim.market_data_lines() == {}
        ib.disconnect()


async def test_bad_requests_get_420(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 420", r"Error 200")
    ib = await connect(sim)
    errors = errors_of(ib)
    aapl = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    ib.reqRealTimeBars(aapl, 10, "TRADES", False)
    ib.reqRealTimeBars(aapl, 5, "ADJUSTED_LAST", False)
    ib.reqRealTimeBars(lib.Stock("NOPE", "SMART", "USD"), 5, "TRADES", False)
    await settle(ib)
    assert [code for _, code, _ in errors] == [420, 420, 200]
    assert "bar size 10" in errors[0][2] and "ADJUSTED_LAST" in errors[1][2]
    assert sim.market_data_lines() == {}


async def test_bars_count_as_lines_and_are_paced(
    connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 101", r"Error 162")
    pacing = HistPacing(window=60.0, window_max=3)
    async with SimServer(bars_config(max_mkt_data_lines=2, hist_pacing=pacing)) as sim:
        ib = await connect(sim)
        errors = errors_of(ib)
        aapl = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
        ib.reqMktData(aapl)
        first = ib.reqRealTimeBars(aapl, 5, "TRADES", False)
        ib.reqRealTimeBars(aapl, 5, "BID", False)  # a third line: 101
        await settle(ib)
        assert [code for _, code, _ in errors] == [101]
        assert sim.market_data_lines() == {1: 2}
        # New requests count in the small-bar window even after a cancel: the 4th gets 162.
        ib.cancelRealTimeBars(first)
        for _ in range(2):
            bars = ib.reqRealTimeBars(aapl, 5, "ASK", False)
            await settle(ib)
            ib.cancelRealTimeBars(bars)
        ib.reqRealTimeBars(aapl, 5, "ASK", False)
        await settle(ib)
        assert [code for _, code, _ in errors] == [101, 162]
        assert "pacing violation" in errors[-1][2]
        ib.disconnect()


async def test_farm_outage_stops_bars_and_1101_ends_them(
    connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 110[01]", r"Error 210[34]")
    async with SimServer(bars_config()) as sim:
        ib = await connect(sim)
        bars = ib.reqRealTimeBars(lib.Forex("EURUSD", conId=EURUSD), 5, "MIDPOINT", False)
        await wait_for(lambda: len(bars) >= 1)
        await sim.faults.broadcast_error(2103)
        await asyncio.sleep(INTERVAL * 2)  # let a period end during the outage
        n = len(bars)
        await asyncio.sleep(INTERVAL * 3)
        assert len(bars) == n  # nothing flows while the farm is broken
        await sim.faults.broadcast_error(2104)
        await wait_for(lambda: len(bars) > n, within=2)
        await sim.faults.broadcast_error(1100)
        await sim.faults.broadcast_error(1101)
        assert sim.market_data_lines() == {}
        n = len(bars)
        await asyncio.sleep(INTERVAL * 3)
        assert len(bars) == n
        again = ib.reqRealTimeBars(lib.Forex("EURUSD", conId=EURUSD), 5, "MIDPOINT", False)
        await wait_for(lambda: len(again) >= 1, within=2)
        assert sim.market_data_lines() == {1: 1}
        ib.disconnect()
