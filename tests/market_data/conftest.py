"""Fixtures: simulator, connection manager, market-data runtime and a real grpc.aio server."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_pb2 as tpb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_server.config import MarketDataConfig, TradingConfig
from broker_server.domain.clock import SystemClock
from broker_server.domain.hist_pacing import HistPacingRules
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.market_data import MarketDataManager
from broker_server.runtime.md_sessions import PooledDataSessions
from broker_server.runtime.session_pacing import SessionPacers
from broker_server.services.market_data_service import market_data_servicer
from broker_server.sim.server import SimConfig, SimServer
from tests.connection.conftest import fast_config

for _name in ("ib_insync", "ib_async"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

AAPL = 265598
MSFT = 272093
K = md_pb.MarketDataEventKind
SNAPSHOT = K.Value("MARKET_DATA_EVENT_KIND_SNAPSHOT")
UPDATE = K.Value("MARKET_DATA_EVENT_KIND_UPDATE")
GAP = K.Value("MARKET_DATA_EVENT_KIND_GAP")
FINAL = K.Value("MARKET_DATA_EVENT_KIND_FINAL")


def watch_request(con_id: int = AAPL, **kwargs: Any) -> spb.WatchMarketDataRequest:
    return spb.WatchMarketDataRequest(contract=tpb.Contract(con_id=con_id), **kwargs)


@dataclass
class Broker:
    sim: SimServer
    manager: ConnectionManager
    md: MarketDataManager
    stub: spb_grpc.TradingServiceStub
    channel: grpc.aio.Channel
    port: int

    def sim_lines(self) -> int:
        """Market-data lines held at the simulator, all clients together."""
        return sum(self.sim.market_data_lines().values())


def md_config(**overrides: Any) -> MarketDataConfig:
    base = MarketDataConfig(
        linger=0.2, too_slow_after=2.0, snapshot_timeout=0.5, request_timeout=5.0
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
async def make_broker() -> AsyncIterator[Callable[..., Any]]:
    made: list[tuple[SimServer, ConnectionManager, MarketDataManager, grpc.aio.Server, Any]] = []

    async def make(
        sim_config: SimConfig | None = None,
        md: MarketDataConfig | None = None,
        history_rules: HistPacingRules | None = None,
        **gw: Any,
    ) -> Broker:
        sim = SimServer(
            sim_config or SimConfig(port=0, current_time_min_interval=0, tick_interval=0.05)
        )
        await sim.start()
        manager = ConnectionManager([fast_config(sim.port, breaker_failures=20, **gw)])
        await manager.connect(timeout=5)
        cfg = md or md_config()
        clock = SystemClock()
        # The order runtime's pacers, as in the app: market data shares its data session.
        sessions = SessionPacers(TradingConfig(), clock)
        runtime_sessions = PooledDataSessions(manager, sessions.pace)
        runtime = MarketDataManager(runtime_sessions, cfg, clock)
        server = grpc.aio.server()
        spb_grpc.add_TradingServiceServicer_to_server(
            market_data_servicer(runtime, history_rules=history_rules), server
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        made.append((sim, manager, runtime, server, (channel, sessions)))
        return Broker(sim, manager, runtime, spb_grpc.TradingServiceStub(channel), channel, port)

    yield make
    for sim, manager, runtime, server, (channel, sessions) in reversed(made):
        await runtime.close()
        await channel.close()
        await server.stop(0.5)
        await sessions.close()
        await manager.close()
        sim.faults.clear()
        await sim.stop()


async def next_kind(stream: Any, kind: int, within: float = 5.0) -> md_pb.MarketDataEvent:
    """The next event of ``kind`` (others are skipped)."""
    async with asyncio.timeout(within):
        async for response in stream:
            if response.event.kind == kind:
                return response.event
    raise AssertionError("stream ended")
