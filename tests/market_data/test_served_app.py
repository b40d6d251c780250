"""Market data as `ibbroker serve` runs it: TradingService of the whole app serves the three
market-data RPCs (mounted from MarketDataEndpoints), and a shutdown ends the stream with FINAL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.app import stop_broker
from tests.market_data.conftest import AAPL, FINAL, SNAPSHOT, next_kind, watch_request
from tests.trading.served import served, simulator


async def test_the_served_app_streams_market_data_and_ends_it_with_final(tmp_path: Path) -> None:
    async with simulator(tick_interval=0.01) as sim, served(tmp_path / "s.db", sim) as s:
        stream = s.trading.WatchMarketData(watch_request(owner="t"))
        snapshot = await next_kind(stream, SNAPSHOT)
        assert snapshot.quote.bid and snapshot.quote.ask
        lines = await s.trading.GetMarketDataLines(spb.GetMarketDataLinesRequest(), timeout=5)
        assert [line.contract.con_id for line in lines.lines] == [AAPL]
        assert sum(sim.market_data_lines().values()) == 1  # counted at the simulator
        stopping = asyncio.ensure_future(stop_broker(s.broker))
        await next_kind(stream, FINAL)
        await stopping
