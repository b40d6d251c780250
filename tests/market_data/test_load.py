"""Bounded load tests: subscribe/unsubscribe cycles leave nothing behind; a subscriber that
stops reading is ended without slowing the others."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import grpc

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_client.market_data import market_data_channel
from broker_server.domain.md_events import DEFAULT_FIELDS, MdKind
from broker_server.domain.md_lines import DataType
from broker_server.domain.orders import ContractRef
from broker_server.sim.server import SimConfig
from tests.market_data.conftest import AAPL, SNAPSHOT, UPDATE, md_config, next_kind, watch_request

CYCLES = 10_000


async def _until(pred: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``pred`` under a deadline: it spans the simulator's and the broker's state, which
    share no single event."""
    async with asyncio.timeout(within):
        while not pred():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_10000_cycles_leave_no_line_task_or_memory(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker(md=md_config(linger=0.02))
    md = broker.md
    query = ContractRef(con_id=AAPL)
    warm = await md.subscribe("", query, DEFAULT_FIELDS, DataType.LIVE, "warm")
    md.unsubscribe(warm)
    await _until(lambda: len(md.registry) == 0 and broker.sim_lines() == 0 and md.tasks() == 0)
    tasks_before = len(asyncio.all_tasks())
    tracemalloc.start()
    baseline = 0
    snapshots = 0
    try:
        for i in range(CYCLES):
            sub = await md.subscribe("", query, DEFAULT_FIELDS, DataType.LIVE, f"c{i % 10}")
            events = md.events(sub)
            if i % 2:  # half of them read their snapshot first
                async with asyncio.timeout(5):
                    event = await anext(events)
                snapshots += event.kind is MdKind.SNAPSHOT
            await events.aclose()
            md.unsubscribe(sub)
            if i % 500 == 499:  # let the linger run out: the line is cancelled and reopened
                await _until(lambda: len(md.registry) == 0 and broker.sim_lines() == 0)
            if i == 999:
                gc.collect()
                baseline = tracemalloc.get_traced_memory()[0]
        await _until(lambda: len(md.registry) == 0 and md.tasks() == 0)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert snapshots == CYCLES // 2
    assert broker.sim_lines() == 0 and not md.feeds and not md.subscriptions
    assert len(asyncio.all_tasks()) <= tasks_before
    assert grown < 512 * 1024, f"memory grew by {grown} bytes over {CYCLES - 1000} cycles"


async def test_500_grpc_cycles_leave_no_line(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker(md=md_config(linger=0.02))
    for i in range(500):
        stream = broker.stub.WatchMarketData(watch_request(owner="cycle"))
        await next_kind(stream, SNAPSHOT)
        stream.cancel()
        if i % 50 == 0:
            await _until(lambda: broker.md.registry.subscribers() == 0)
    await _until(lambda: len(broker.md.registry) == 0 and broker.md.tasks() == 0)
    await _until(lambda: broker.sim_lines() == 0)


async def test_stopped_reader_is_ended_and_does_not_slow_the_others(
    make_broker: Callable[..., Any],
) -> None:
    sim_config = SimConfig(
        port=0, current_time_min_interval=0, tick_interval=0, tick_rates=((AAPL, 200.0),)
    )
    broker = await make_broker(sim_config, md=md_config(too_slow_after=0.5))
    # The stalled client: its own channel with the client's market data options (a small
    # per-stream window), so the broker's writes to it block soon.
    stalled_channel = market_data_channel(f"127.0.0.1:{broker.port}")
    stalled = spb_grpc.TradingServiceStub(stalled_channel).WatchMarketData(
        watch_request(owner="stalled")
    )
    await next_kind(stalled, SNAPSHOT)  # then never reads again
    stalled_since = asyncio.get_running_loop().time()
    streams = [broker.stub.WatchMarketData(watch_request(owner=f"ok{i}")) for i in range(5)]
    for s in streams:
        await next_kind(s, SNAPSHOT)

    received: list[list[Any]] = [[] for _ in streams]

    async def read(i: int) -> None:
        async for response in streams[i]:
            received[i].append(response.event)

    readers = [asyncio.create_task(read(i)) for i in range(5)]
    # The broker ends the stalled subscriber once its data waited over 0.5 s unread.
    await _until(lambda: broker.md.registry.subscribers() == 5, within=30)
    # Not before its bound: nothing it left unread can have waited longer than since then.
    assert asyncio.get_running_loop().time() - stalled_since >= 0.5
    mark = [len(r) for r in received]
    await _until(lambda: all(len(r) >= m + 200 for r, m in zip(received, mark, strict=True)))
    for task in readers:
        task.cancel()

    for events in received:
        seqs = [e.sequence for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, none lost
        updates = [e for e in events if e.kind == UPDATE]
        # The readers kept up: almost nothing had to be merged for them.
        assert sum(e.conflated_updates for e in updates) <= len(updates) // 10
    # What the stalled client finally reads: its buffered events, then the broker's verdict.
    try:
        async with asyncio.timeout(30):
            async for _ in stalled:
                pass
        raise AssertionError("the stalled stream was not ended")
    except grpc.aio.AioRpcError as err:
        error = BrokerError.from_rpc_error(err)
    assert (error.code, error.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "SUBSCRIBER_TOO_SLOW",
    )
    await stalled_channel.close()
