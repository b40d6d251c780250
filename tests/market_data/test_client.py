"""broker_client market data: the async iterator resumes across a broker restart (GAP, then a
fresh SNAPSHOT, sequences still rising), the blocking facade, lines and bars helpers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_client.market_data import (
    GAP,
    SNAPSHOT,
    UPDATE,
    get_historical_bars,
    get_market_data_lines,
    watch_market_data,
    watch_market_data_sync,
)
from broker_server.services.market_data_service import market_data_servicer
from tests.conftest import free_port
from tests.market_data.conftest import AAPL


async def _serve(md: Any, port: int) -> grpc.aio.Server:
    server = grpc.aio.server()
    spb_grpc.add_TradingServiceServicer_to_server(market_data_servicer(md), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


async def test_async_watch_resumes_across_a_broker_restart(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker()
    port = free_port()
    server = await _serve(broker.md, port)
    events: list[md_pb.MarketDataEvent] = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stream = watch_market_data(channel, AAPL, owner="resumer", initial_backoff=0.05)
        async with asyncio.timeout(20):
            async for event in stream:
                events.append(event)
                if len(events) == 3:
                    await server.stop(0)  # the broker goes away mid-stream ...
                    server = await _serve(broker.md, port)  # ... and comes back
                if len(events) > 3 and event.kind == SNAPSHOT:
                    break
            await stream.aclose()
    await server.stop(0)
    kinds = [e.kind for e in events]
    assert kinds[0] == SNAPSHOT and kinds[1:3] == [UPDATE, UPDATE]
    gap = events[kinds.index(GAP)]
    assert "resumed after sequence" in gap.reason
    seqs = [e.sequence for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_sync_watch_resumes_across_a_broker_restart(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker()
    port = free_port()
    server = await _serve(broker.md, port)
    loop = asyncio.get_running_loop()
    restarted = asyncio.Event()

    async def restart() -> None:
        nonlocal server
        await server.stop(0)
        server = await _serve(broker.md, port)
        restarted.set()

    def read() -> list[md_pb.MarketDataEvent]:
        events = []
        with watch_market_data_sync(f"127.0.0.1:{port}", AAPL, initial_backoff=0.05) as stream:
            for event in stream:
                events.append(event)
                if len(events) == 2:
                    asyncio.run_coroutine_threadsafe(restart(), loop).result(10)
                if len(events) > 2 and event.kind == SNAPSHOT:
                    return events
        raise AssertionError("the stream ended")

    events = await asyncio.wait_for(asyncio.to_thread(read), 20)
    assert restarted.is_set()
    await server.stop(0)
    kinds = [e.kind for e in events]
    assert GAP in kinds and kinds.index(GAP) < len(kinds) - 1
    seqs = [e.sequence for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_sync_watch_and_helpers(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker()
    target = f"127.0.0.1:{broker.port}"

    def read_three() -> tuple[list[int], bool]:
        with watch_market_data_sync(target, AAPL, owner="sync") as events:
            kinds = [int(e.kind) for e in itertools.islice(events, 3)]
            thread = events._thread
        return kinds, thread.is_alive()  # closed by the with block: its thread has ended

    kinds, alive = await asyncio.to_thread(read_three)
    assert kinds == [SNAPSHOT, UPDATE, UPDATE] and not alive

    def not_found() -> BrokerError:
        with pytest.raises(BrokerError) as err, watch_market_data_sync(target, 424242) as events:
            next(events)
        return err.value

    err = await asyncio.to_thread(not_found)
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "CONTRACT_NOT_FOUND")
    with pytest.raises(TypeError, match="address"):
        watch_market_data_sync(grpc.insecure_channel(target), AAPL)
    with pytest.raises(TypeError):
        watch_market_data_sync(target, AAPL, initial_bakoff=1)
    lines = await get_market_data_lines(broker.channel)
    assert lines.budget == broker.md.registry.budget
    bars = await get_historical_bars(
        broker.channel, AAPL, duration="1 D", bar_size=md_pb.BAR_SIZE_1_HOUR
    )
    assert bars.bars
