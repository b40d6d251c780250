"""Market data and the order runtime's reads share one data session per gateway (never the
monitor): one client ID at the simulator holds every line, and both opening it at once works."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.market_data.conftest import SNAPSHOT, next_kind, watch_request


async def test_one_data_session_for_market_data_and_reads(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker()
    monitor_id = broker.manager.supervisor().client_id
    # The order runtime's reads and a market-data subscriber ask for the session together.
    stream = broker.stub.WatchMarketData(watch_request(owner="t"))
    handle, snap = await asyncio.gather(broker.manager.data_handle(), next_kind(stream, SNAPSHOT))
    assert snap.quote.bid
    data_id = handle.client_id
    assert data_id != monitor_id
    # Every line is held on that session, and the gateway has no other session.
    assert broker.sim.market_data_lines() == {data_id: 1}
    assert sorted(broker.sim.connected_client_ids()) == sorted({data_id, monitor_id})
    assert [s.client_id for s in broker.manager.sessions() if s.client_id != monitor_id] == [
        data_id
    ]
    stream.cancel()
