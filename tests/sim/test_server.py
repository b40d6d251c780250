"""Server-level behaviour: ownership of orders across clients, ticker, lifecycle, config."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from types import ModuleType

import pytest

from broker_server.sim.parsing import parse_ib_datetime
from broker_server.sim.server import SimConfig, SimServer
from tests.sim.conftest import ClientErrorGuard, Connect, make_config, wait_for

AAPL = 265598


@pytest.fixture
def server_version() -> int:
    """Version-independent behaviour: 176 only."""
    return 176


async def test_orders_belong_to_the_placing_client(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    owner = await connect(sim, client_id=21)
    other = await connect(sim, client_id=22)
    trade = owner.placeOrder(
        lib.Stock("AAPL", "SMART", "USD", conId=AAPL), lib.LimitOrder("BUY", 1, 10.0)
    )
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    assert await asyncio.wait_for(other.reqOpenOrdersAsync(), 1) == []
    seen = await asyncio.wait_for(other.reqAllOpenOrdersAsync(), 1)
    assert [(t.order.clientId, t.order.orderId) for t in seen] == [(21, trade.order.orderId)]


async def test_stop_order_triggers_on_the_walk(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    trade = ib.placeOrder(
        lib.Stock("AAPL", "SMART", "USD", conId=AAPL), lib.StopOrder("SELL", 3, 180.0)
    )
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    sim.market.set_price(AAPL, 185.0)
    assert trade.orderStatus.status == "Submitted"
    sim.market.set_price(AAPL, 179.0)
    await wait_for(lambda: trade.isDone() and bool(trade.fills))
    assert trade.fills[0].execution.side == "SLD"


async def test_global_cancel_cancels_every_client(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 202")
    a = await connect(sim, client_id=1)
    b = await connect(sim, client_id=2)
    contract = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    ta = a.placeOrder(contract, lib.LimitOrder("BUY", 1, 10.0))
    tb = b.placeOrder(contract, lib.LimitOrder("BUY", 1, 11.0))
    await wait_for(lambda: "Submitted" == ta.orderStatus.status == tb.orderStatus.status)
    a.reqGlobalCancel()
    await wait_for(lambda: "Cancelled" == ta.orderStatus.status == tb.orderStatus.status)


async def test_historical_keep_up_to_date_streams_the_walk(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    bars = await asyncio.wait_for(
        ib.reqHistoricalDataAsync(
            lib.Stock("AAPL", "SMART", "USD", conId=AAPL),
            "",
            "1800 S",
            "1 min",
            "TRADES",
            True,
            keepUpToDate=True,
        ),
        2,
    )
    sim.market.set_price(AAPL, 200.0)
    await wait_for(lambda: bars[-1].close == 200.0)
    assert bars[-1].high >= 200.0
    n = len(bars)
    later = sim.now() + dt.timedelta(minutes=2)
    sim.now = lambda: later  # type: ignore[method-assign]
    sim.market.set_price(AAPL, 201.0)
    await wait_for(lambda: len(bars) == n + 1)
    assert (bars[-1].open, bars[-1].close) == (200.0, 201.0)
    ib.cancelHistoricalData(bars)


async def test_client_zero_and_several_accounts(lib: ModuleType) -> None:
    config = make_config(accounts=("DU111", "DU222"))
    async with SimServer(config) as sim:
        ib = lib.IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=0, timeout=2)
        assert ib.managedAccounts() == ["DU111", "DU222"]
        summary = await asyncio.wait_for(ib.accountSummaryAsync(), 2)
        assert {v.account for v in summary} == {"DU111", "DU222"}
        ib.disconnect()


@pytest.mark.parametrize("version", [163, 164, 166, 170])
async def test_contract_details_across_version_gates(
    version: int, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    async with SimServer(make_config(max_server_version=version)) as sim:
        ib = lib.IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=2)
        [details] = await asyncio.wait_for(
            ib.reqContractDetailsAsync(lib.Future("ES", exchange="CME")), 2
        )
        assert details.contract.multiplier == "50"
        assert details.marketRuleIds == "67" and details.timeZoneId == "US/Central"
        if version >= 164:
            assert details.minSize == 1 and details.sizeIncrement == 1
        trade = ib.placeOrder(details.contract, lib.MarketOrder("BUY", 1))
        await wait_for(lambda: trade.isDone() and bool(trade.fills))
        done = await asyncio.wait_for(ib.reqCompletedOrdersAsync(False), 2)
        assert [t.orderStatus.status for t in done] == ["Filled"]
        ib.disconnect()


async def test_ticker_moves_the_market_on_its_own() -> None:
    async with SimServer(make_config(tick_interval=0.01)) as sim:
        await wait_for(lambda: sim.market.steps >= 3, 2)


async def test_stop_and_start_keep_book_and_port(connect: Connect, lib: ModuleType) -> None:
    sim = SimServer(make_config())
    await sim.start()
    ib = await connect(sim, client_id=5)
    trade = ib.placeOrder(lib.Stock("AAPL", "SMART", "USD", conId=AAPL), lib.MarketOrder("BUY", 2))
    await wait_for(lambda: trade.isDone())
    ib.disconnect()
    port = sim.port
    await sim.stop()
    await sim.start()
    assert sim.port == port
    again = await connect(sim, client_id=5)
    assert [p.position for p in again.positions()] == [2]
    again.disconnect()
    await sim.stop()
    assert "SimServer" in repr(sim)


def test_config_is_frozen_and_validated() -> None:
    config = SimConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]
    assert config.accounts[0].startswith("DU")
    with pytest.raises(ValueError):
        SimConfig(max_server_version=156)
    with pytest.raises(ValueError):
        SimConfig(max_server_version=177)
    with pytest.raises(ValueError):
        SimConfig(accounts=())
    with pytest.raises(RuntimeError):
        _ = SimServer().port


async def test_execution_filter(sim: SimServer, connect: Connect, lib: ModuleType) -> None:
    a = await connect(sim, client_id=1)
    b = await connect(sim, client_id=2)
    aapl = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    spy = lib.Stock("SPY", "SMART", "USD", conId=756733)
    ta = a.placeOrder(aapl, lib.MarketOrder("BUY", 1))
    tb = b.placeOrder(spy, lib.MarketOrder("SELL", 2))
    await wait_for(lambda: ta.isDone() and tb.isDone())

    async def execs(**kw: object) -> list[tuple[int, str, str]]:
        fills = await asyncio.wait_for(a.reqExecutionsAsync(lib.ExecutionFilter(**kw)), 1)
        return sorted((f.execution.clientId, f.contract.symbol, f.execution.side) for f in fills)

    assert await execs() == [(1, "AAPL", "BOT"), (2, "SPY", "SLD")]
    assert await execs(clientId=2) == [(2, "SPY", "SLD")]
    assert await execs(symbol="AAPL") == [(1, "AAPL", "BOT")]
    assert await execs(side="SELL") == [(2, "SPY", "SLD")]
    assert await execs(acctCode="DU999") == []
    assert await execs(time="20990101 00:00:00") == []
    assert len(await execs(time="20000101-00:00:00")) == 2


def test_parse_ib_datetime() -> None:
    assert parse_ib_datetime("") is None
    assert parse_ib_datetime("20261125") == dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    assert parse_ib_datetime("20261125-10:00:00") == dt.datetime(2026, 11, 25, 10, tzinfo=dt.UTC)
    eastern = parse_ib_datetime("20261125 10:00:00 US/Eastern")
    assert eastern is not None and eastern.utcoffset() == dt.timedelta(hours=-5)
    with pytest.raises(ValueError):
        parse_ib_datetime("yesterday")
