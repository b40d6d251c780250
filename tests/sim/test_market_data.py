"""Market-data features with real ib_insync and ib_async: per-instrument tick rates, the line
allowance (101), historical pacing (162), and data-farm / link status codes that stop and
resume ticks as the real gateway does.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import pytest

from broker_server.sim.pacing import HistPacing
from broker_server.sim.server import SimServer
from tests.sim.conftest import ClientErrorGuard, Connect, make_config, wait_for

AAPL, MSFT, SPY = 265598, 272093, 756733


@pytest.fixture
def server_version() -> int:
    """Version-independent behaviour: 176 only."""
    return 176


def errors_of(ib: Any) -> list[tuple[int, int, str]]:
    """(reqId, code, text) the library's errorEvent delivers from now on."""
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, *args: seen.append((req_id, code, text))
    return seen


async def settle(ib: Any) -> None:
    """A round trip on the same socket: every message sent before its answer has arrived."""
    await asyncio.wait_for(ib.reqCurrentTimeAsync(), 2)


async def test_instrument_ticks_on_its_own_clock(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    aapl = ib.reqMktData(lib.Stock("AAPL", "SMART", "USD", conId=AAPL))
    msft_before = sim.market.quotes[MSFT].last
    updates = [0]
    aapl.updateEvent += lambda *_: updates.__setitem__(0, updates[0] + 1)
    sim.set_tick_rate(AAPL, 200.0)
    await wait_for(lambda: updates[0] >= 20, within=5)
    # Only AAPL moves: the market's global clock is off in tests (tick_interval 0).
    assert sim.market.quotes[MSFT].last == msft_before and sim.market.steps == 0
    assert sim.status()["tick_rates"] == {str(AAPL): 200.0}
    sim.set_tick_rate(AAPL, 0)
    assert sim.tick_rates == {}
    with pytest.raises(ValueError):
        sim.set_tick_rate(AAPL, 5000)
    with pytest.raises(KeyError):
        sim.set_tick_rate(1, 10)


async def test_tick_rates_from_config_start_with_the_server(lib: ModuleType) -> None:
    async with SimServer(make_config(tick_rates=((SPY, 100.0),))) as sim:
        seen: list[int] = []
        sim.market.subscribe_instrument(seen.append)
        await wait_for(lambda: len(seen) >= 5)
        assert set(seen) == {SPY}
    with pytest.raises(ValueError, match="tick rates"):
        make_config(tick_rates=((SPY, 0.0),))


async def test_line_allowance_gives_101(
    connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 101, reqId \d+: Max number of tickers")
    async with SimServer(make_config(max_mkt_data_lines=2)) as sim:
        ib = await connect(sim, client_id=3)
        other = await connect(sim, client_id=4)
        errors = errors_of(ib)
        contracts = [lib.Stock(s, "SMART", "USD", conId=c) for s, c in
                     (("AAPL", AAPL), ("MSFT", MSFT), ("SPY", SPY))]  # fmt: skip
        for c in contracts:
            ib.reqMktData(c)
        await settle(ib)
        assert [code for _, code, _ in errors] == [101]
        assert sim.market_data_lines() == {3: 2}
        # Snapshots do not hold a line; the allowance is per client.
        [snap] = await asyncio.wait_for(ib.reqTickersAsync(contracts[2]), 2)
        assert snap.last > 0
        other.reqMktData(contracts[2])
        await settle(other)
        assert sim.market_data_lines() == {3: 2, 4: 1}
        ib.cancelMktData(contracts[0])
        await settle(ib)
        assert sim.market_data_lines()[3] == 1
        ticker = ib.reqMktData(contracts[2])
        await wait_for(lambda: ticker.last == sim.market.quotes[SPY].last)
        assert sim.status()["market_data_lines"] == {"3": 2, "4": 1}
        ib.disconnect()
        other.disconnect()


async def test_historical_pacing_gives_162(
    connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 162, reqId \d+: .*pacing violation")
    pacing = HistPacing(identical_window=15, burst_window=2, burst_max=3, window=600, window_max=5)
    async with SimServer(make_config(hist_pacing=pacing)) as sim:
        clock = [1000.0]
        sim.monotonic = lambda: clock[0]  # type: ignore[method-assign]
        ib = await connect(sim)
        errors = errors_of(ib)

        async def bars(symbol: str, con_id: int, duration: str, size: str = "5 secs") -> list[Any]:
            contract = lib.Stock(symbol, "SMART", "USD", conId=con_id)
            got: list[Any] = await asyncio.wait_for(
                ib.reqHistoricalDataAsync(contract, "", duration, size, "TRADES", True), 2
            )
            return got

        assert await bars("AAPL", AAPL, "60 S")
        # Identical within the window: 162; after it, fine again.
        assert not await bars("AAPL", AAPL, "60 S")
        assert "identical request" in errors[-1][2] and errors[-1][1] == 162
        clock[0] += 16
        assert await bars("AAPL", AAPL, "60 S")
        # Burst: at most 3 for one contract/exchange/type within 2 s (one used above).
        assert await bars("AAPL", AAPL, "120 S")
        assert await bars("AAPL", AAPL, "180 S")
        assert not await bars("AAPL", AAPL, "240 S")
        assert "same contract" in errors[-1][2]
        # Small bars: at most 5 in the window (4 admitted so far).
        clock[0] += 3
        assert await bars("MSFT", MSFT, "60 S")
        assert not await bars("SPY", SPY, "60 S")
        assert "small-bar" in errors[-1][2]
        assert await bars("SPY", SPY, "1 D", "1 min")  # larger bars are not counted
        assert [code for _, code, _ in errors] == [162, 162, 162]
        ib.disconnect()


async def test_farm_and_link_status_stop_and_resume_ticks(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 110[012]")
    ib = await connect(sim)
    ticker = ib.reqMktData(lib.Stock("AAPL", "SMART", "USD", conId=AAPL))
    quote = sim.market.quotes[AAPL]
    await wait_for(lambda: ticker.last == quote.last)
    for broken, ok in ((2103, 2104), (1100, 1102)):
        await sim.faults.broadcast_error(broken)
        before = ticker.last
        sim.market.set_price(AAPL, before + 1)
        await settle(ib)
        assert ticker.last == before  # nothing flows while broken
        await sim.faults.broadcast_error(ok)
        await wait_for(lambda: ticker.last == quote.last)  # a fresh quote on resume
        assert sim.market_data_lines() == {1: 1}
    # 1101: data lost, the subscription is gone until the client subscribes again.
    await sim.faults.broadcast_error(1100)
    await sim.faults.broadcast_error(1101)
    assert sim.market_data_lines() == {}
    before = ticker.last
    sim.market.set_price(AAPL, before + 1)
    await settle(ib)
    assert ticker.last == before
    again = ib.reqMktData(lib.Stock("AAPL", "SMART", "USD", conId=AAPL))
    await wait_for(lambda: again.last == quote.last)
    assert sim.market_data_lines() == {1: 1}


async def test_hmds_outage_stops_historical_data(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 162, reqId \d+: .*HMDS data farm connection is broken")
    ib = await connect(sim)
    contract = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    live = await asyncio.wait_for(
        ib.reqHistoricalDataAsync(
            contract, "", "600 S", "1 min", "TRADES", True, keepUpToDate=True
        ),
        2,
    )
    await sim.faults.broadcast_error(2105)
    errors = errors_of(ib)
    refused = await asyncio.wait_for(
        ib.reqHistoricalDataAsync(contract, "", "1 D", "1 hour", "TRADES", True), 2
    )
    assert len(refused) == 0
    assert [code for _, code, _ in errors if code != 2105] == [162]
    close = live[-1].close
    sim.market.set_price(AAPL, close + 1)
    await settle(ib)
    assert live[-1].close == close  # no live-bar updates either
    await sim.faults.broadcast_error(2106)
    sim.market.set_price(AAPL, close + 2)
    await wait_for(lambda: live[-1].close == close + 2)
    assert await asyncio.wait_for(
        ib.reqHistoricalDataAsync(contract, "", "1 D", "1 hour", "TRADES", True), 2
    )
    sim.faults.clear()
    assert not sim.faults.status()["hmds_down"]


async def test_rt_volume_carries_the_trade_time(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    ticker = ib.reqMktData(lib.Stock("AAPL", "SMART", "USD", conId=AAPL), "233")
    quote = sim.market.quotes[AAPL]
    await wait_for(lambda: ticker.rtTime is not None)
    sim.market.set_price(AAPL, quote.last + 1)
    await wait_for(lambda: ticker.last == quote.last and ticker.rtVolume == quote.volume)
    assert ticker.rtTime is not None
    assert abs((ticker.rtTime - sim.now()).total_seconds()) < 5
