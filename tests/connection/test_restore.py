"""A gateway restart window: positions, open orders and a market-data line survive it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from ib_insync import IB, LimitOrder, MarketOrder, Stock

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import EventKind
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimServer
from tests.connection.conftest import LIBRARIES, Recorder, fast_config

S = ConnectionState


async def _trade_elsewhere(port: int) -> None:
    """Another API client makes a position (filled market order) and a resting limit order."""
    trader = IB()
    await trader.connectAsync("127.0.0.1", port, clientId=7, timeout=2)
    try:
        contract = Stock("AAPL", "SMART", "USD")
        await trader.qualifyContractsAsync(contract)
        filled = trader.placeOrder(contract, MarketOrder("BUY", 10))
        resting = trader.placeOrder(contract, LimitOrder("BUY", 5, 1.00))
        async with asyncio.timeout(5):
            while not filled.isDone() or resting.orderStatus.status not in (
                "Submitted",
                "PreSubmitted",
            ):
                await trader.updateEvent
    finally:
        trader.disconnect()


@pytest.mark.parametrize("lib", LIBRARIES)
async def test_restart_window_restores_positions_orders_and_market_data(
    sim: SimServer, make_manager: Callable[..., ConnectionManager], lib: str
) -> None:
    await _trade_elsewhere(sim.port)
    manager = make_manager(fast_config(sim.port, ib_library=lib, breaker_failures=10))
    events = Recorder(manager)
    await manager.connect(timeout=5)
    async with manager.session() as session:
        line = await session.subscribe_market_data(session.stock("AAPL"))
    mark = events.mark()

    await sim.faults.restart(0.6)
    await events.state(S.RECONNECTING, after=mark, within=1)
    back = await events.state(S.CONNECTED, after=mark, within=8)
    restored_event = await events.kind(EventKind.RESTORED, after=mark)
    gap = await events.kind(EventKind.GAP, after=mark)

    restored = restored_event.restored
    assert restored is not None
    assert restored.positions >= 1
    assert restored.open_orders >= 1
    assert restored.market_data_subscriptions == 1
    assert gap.gap_start is not None and gap.gap_end is not None
    assert gap.gap_end - gap.gap_start >= 0.5  # the refuse window lies inside the gap
    assert back.sequence < restored_event.sequence < gap.sequence

    async with manager.session() as session:
        ib = session.ib
        assert any(p.contract.symbol == "AAPL" and p.position == 10 for p in ib.positions())
        assert any(t.order.lmtPrice == 1.0 for t in ib.openTrades())
        assert line.issued == 2
        await asyncio.wait_for(line.ticker.updateEvent, 5)  # the line streams again
