"""Golden suite: unmodified ib_insync and ib_async against the simulator, at 157 and 176.

Every test runs for both libraries and both ends of the version range; the conftest guard
fails a test on any unexpected ERROR the libraries log (a misplaced field shows up only
there).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from types import ModuleType

import pytest

from broker_server.sim.server import SimServer
from tests.sim.conftest import ClientErrorGuard, Connect, wait_for

AAPL = 265598
ACCOUNT = "DU1234567"


async def test_connect_negotiates_version_and_accounts(
    sim: SimServer, connect: Connect, server_version: int
) -> None:
    ib = await connect(sim, client_id=5)
    assert ib.isConnected()
    assert ib.client.serverVersion() == server_version
    assert ib.managedAccounts() == [ACCOUNT]
    assert sim.connected_client_ids() == [5]


async def test_current_time(sim: SimServer, connect: Connect) -> None:
    ib = await connect(sim)
    t = await asyncio.wait_for(ib.reqCurrentTimeAsync(), 2)
    assert abs((t - dt.datetime.now(dt.UTC)).total_seconds()) < 5


async def test_contract_details_for_every_instrument(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    contracts = [
        lib.Stock("AAPL", "SMART", "USD"),
        lib.Stock("MSFT", "SMART", "USD"),
        lib.Stock("SPY", "SMART", "USD"),
        lib.Forex("EURUSD"),
        lib.Future("ES", exchange="CME"),
    ]
    qualified = await asyncio.wait_for(ib.qualifyContractsAsync(*contracts), 2)
    assert [c.conId for c in qualified] == [AAPL, 272093, 756733, 12087792, 495512563]
    es = qualified[-1]
    assert es.multiplier == "50" and len(es.lastTradeDateOrContractMonth) == 8
    details = await asyncio.wait_for(ib.reqContractDetailsAsync(contracts[0]), 2)
    assert len(details) == 1
    assert details[0].longName == "APPLE INC" and details[0].minTick == 0.01


async def test_unknown_contract_gets_error_200(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 200, reqId \d+: No security definition")
    ib = await connect(sim)
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, *args: codes.append(code)
    details = await asyncio.wait_for(
        ib.reqContractDetailsAsync(lib.Stock("NOPE", "SMART", "USD")), 2
    )
    assert details == []
    assert codes == [200]


async def _market_buy(ib: object, lib: ModuleType, qty: float = 10) -> object:
    contract = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    trade = ib.placeOrder(contract, lib.MarketOrder("BUY", qty))  # type: ignore[attr-defined]
    await wait_for(lambda: trade.isDone() and bool(trade.fills))
    await wait_for(lambda: trade.fills[0].commissionReport.execId != "")
    return trade


async def test_market_order_fills_with_execution_commission_and_position(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim, client_id=3)
    trade = await _market_buy(ib, lib)
    assert trade.orderStatus.status == "Filled"  # type: ignore[attr-defined]
    assert trade.orderStatus.filled == 10  # type: ignore[attr-defined]
    fill = trade.fills[0]  # type: ignore[attr-defined]
    quote = sim.market.quotes[AAPL]
    assert fill.execution.price == quote.ask
    assert fill.execution.side == "BOT" and fill.execution.clientId == 3
    assert fill.commissionReport.commission == pytest.approx(1.0)
    await wait_for(lambda: any(p.position == 10 for p in ib.positions()))
    await wait_for(lambda: any(p.position == 10 for p in ib.portfolio()))
    execs = await asyncio.wait_for(ib.reqExecutionsAsync(), 2)
    assert [f.execution.execId for f in execs] == [fill.execution.execId]
    cash = [v for v in ib.accountValues() if v.tag == "TotalCashValue"]
    assert cash and float(cash[0].value) < 1_000_000


async def test_limit_order_rests_then_cancels(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    # ib_async logs the gateway's 202 "Order Canceled" at ERROR, as it does against TWS.
    client_errors.allow(r"Error 202, reqId \d+: Order Canceled")
    ib = await connect(sim, client_id=4)
    contract = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    trade = ib.placeOrder(contract, lib.LimitOrder("BUY", 5, 100.0))
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    sim.market.step(3)
    assert trade.orderStatus.status == "Submitted"
    assert len(await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), 2)) == 1
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, *args: codes.append(code)
    ib.cancelOrder(trade.order)
    await wait_for(lambda: trade.orderStatus.status == "Cancelled" and 202 in codes)
    completed = await asyncio.wait_for(ib.reqCompletedOrdersAsync(False), 2)
    assert [t.orderStatus.status for t in completed] == ["Cancelled"]


async def test_limit_order_fills_when_walk_crosses(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    contract = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    trade = ib.placeOrder(contract, lib.LimitOrder("SELL", 5, 195.0))
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    sim.market.set_price(AAPL, 196.0)
    await wait_for(lambda: trade.isDone() and bool(trade.fills))
    assert trade.fills[0].execution.price >= 195.0
    await wait_for(lambda: any(p.position == -5 for p in ib.positions()))


async def test_modify_order_with_same_id(sim: SimServer, connect: Connect, lib: ModuleType) -> None:
    ib = await connect(sim)
    contract = lib.Stock("MSFT", "SMART", "USD", conId=272093)
    order = lib.LimitOrder("BUY", 5, 100.0)
    trade = ib.placeOrder(contract, order)
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    order.lmtPrice = 101.0
    ib.placeOrder(contract, order)
    key = (trade.order.clientId, trade.order.orderId)
    await wait_for(lambda: sim.book.orders[key].lmt_price == 101.0)
    assert len(sim.book.orders) == 1


async def test_positions_and_account(sim: SimServer, connect: Connect, lib: ModuleType) -> None:
    ib = await connect(sim)
    await _market_buy(ib, lib, qty=20)
    positions = await asyncio.wait_for(ib.reqPositionsAsync(), 2)
    assert [(p.account, p.contract.conId, p.position) for p in positions] == [(ACCOUNT, AAPL, 20)]
    summary = {v.tag: v for v in await asyncio.wait_for(ib.accountSummaryAsync(), 2)}
    assert summary["AccountType"].value == "INDIVIDUAL"
    net_liq = float(summary["NetLiquidation"].value)
    assert 990_000 < net_liq < 1_010_000
    values = {v.tag for v in ib.accountValues()}
    assert {"NetLiquidation", "TotalCashValue", "BuyingPower"} <= values


async def test_snapshot_ticks(sim: SimServer, connect: Connect, lib: ModuleType) -> None:
    ib = await connect(sim)
    contract = lib.Stock("SPY", "SMART", "USD", conId=756733)
    [ticker] = await asyncio.wait_for(ib.reqTickersAsync(contract), 2)
    quote = sim.market.quotes[756733]
    assert (ticker.bid, ticker.ask, ticker.last) == (quote.bid, quote.ask, quote.last)
    assert ticker.bid < ticker.ask


async def test_streaming_ticks_follow_the_walk(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    ticker = ib.reqMktData(lib.Forex("EURUSD", conId=12087792))
    await wait_for(lambda: ticker.bid == sim.market.quotes[12087792].bid)
    for _ in range(3):
        sim.market.step(5)
        expected = (sim.market.quotes[12087792].bid, sim.market.quotes[12087792].ask)

        def caught_up(e: tuple[float, float] = expected) -> bool:
            return (ticker.bid, ticker.ask) == e

        await wait_for(caught_up)
    ib.cancelMktData(ticker.contract)


async def test_delayed_market_data_type(sim: SimServer, connect: Connect, lib: ModuleType) -> None:
    ib = await connect(sim)
    ib.reqMarketDataType(3)
    ticker = ib.reqMktData(lib.Stock("MSFT", "SMART", "USD", conId=272093))
    await wait_for(lambda: ticker.marketDataType == 3 and ticker.last > 0)
    assert ticker.last == sim.market.quotes[272093].last


async def test_historical_bars_are_valid_and_end_at_the_walk(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim)
    sim.market.step(10)
    contract = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    bars = await asyncio.wait_for(
        ib.reqHistoricalDataAsync(contract, "", "1 D", "5 mins", "TRADES", True), 2
    )
    assert len(bars) == 288
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.low <= bar.average <= bar.high and bar.volume > 0
    for prev, cur in itertools.pairwise(bars):
        assert cur.open == prev.close and cur.date > prev.date
    assert bars[-1].close == sim.market.quotes[AAPL].last
    daily = await asyncio.wait_for(
        ib.reqHistoricalDataAsync(contract, "", "5 D", "1 day", "MIDPOINT", True), 2
    )
    assert len(daily) == 5 and isinstance(daily[0].date, dt.date)


async def test_reconnect_sees_same_orders_and_positions(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim, client_id=9)
    await _market_buy(ib, lib)
    contract = lib.Stock("AAPL", "SMART", "USD", conId=AAPL)
    resting = ib.placeOrder(contract, lib.LimitOrder("BUY", 1, 50.0))
    await wait_for(lambda: resting.orderStatus.status == "Submitted")
    ib.disconnect()
    await wait_for(lambda: sim.connected_client_ids() == [])
    again = await connect(sim, client_id=9)
    assert [t.order.orderId for t in again.openTrades()] == [resting.order.orderId]
    assert [(p.contract.conId, p.position) for p in again.positions()] == [(AAPL, 10)]
    assert len(again.fills()) == 1
    ids = [t.order.permId for t in again.trades()]
    assert resting.order.permId in ids
