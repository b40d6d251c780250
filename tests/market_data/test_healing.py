"""Healing: after a gateway drop, a 1101 or a farm outage every subscriber gets GAP then a
fresh SNAPSHOT without doing anything, and the line count at the simulator returns; 1102 gives
no gap. Also: many subscribers share one line, counted at the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from tests.market_data.conftest import (
    GAP,
    SNAPSHOT,
    UPDATE,
    Broker,
    next_kind,
    watch_request,
)


class Reader:
    """Reads one stream in the background, keeping every event."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.events: list[md_pb.MarketDataEvent] = []
        self.changed = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for response in self.stream:
            self.events.append(response.event)
            self.changed.set()

    async def wait_for(self, pred: Callable[[list[md_pb.MarketDataEvent]], bool]) -> None:
        async with asyncio.timeout(10):
            while not pred(self.events):
                self.changed.clear()
                await self.changed.wait()

    def kinds_after(self, mark: int) -> list[int]:
        return [e.kind for e in self.events[mark:]]


def gap_then_snapshot(mark: int) -> Callable[[list[md_pb.MarketDataEvent]], bool]:
    def pred(events: list[md_pb.MarketDataEvent]) -> bool:
        kinds = [e.kind for e in events[mark:]]
        return GAP in kinds and SNAPSHOT in kinds[kinds.index(GAP) :]

    return pred


async def _readers(broker: Broker, n: int) -> list[Reader]:
    readers = [Reader(broker.stub.WatchMarketData(watch_request(owner=f"r{i}"))) for i in range(n)]
    for r in readers:
        await r.wait_for(lambda ev: any(e.kind == SNAPSHOT for e in ev))
    return readers


def _check_gap(reader: Reader, mark: int, reason_part: str) -> None:
    after = reader.events[mark:]
    kinds = [e.kind for e in after]
    gap = after[kinds.index(GAP)]
    snap = after[kinds.index(SNAPSHOT, kinds.index(GAP))]
    assert reason_part in gap.reason
    assert gap.gap_start.ToNanoseconds() <= gap.gap_end.ToNanoseconds()
    assert snap.quote.bid and snap.sequence > gap.sequence
    seqs = [e.sequence for e in reader.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_500_subscribers_share_one_line_counted_at_the_simulator(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker()
    streams = [broker.stub.WatchMarketData(watch_request(owner=f"s{i % 7}")) for i in range(500)]
    snaps = await asyncio.gather(*(next_kind(s, SNAPSHOT, within=30) for s in streams))
    assert len(snaps) == 500
    assert broker.sim_lines() == 1
    lines = await broker.stub.GetMarketDataLines(spb.GetMarketDataLinesRequest())
    assert lines.in_use == 1 and lines.lines[0].subscribers == 500
    assert len(lines.lines[0].owners) == 7
    # Every subscriber gets the same tick: one UPDATE each after the next market step.
    updates = await asyncio.gather(*(next_kind(s, UPDATE, within=30) for s in streams))
    assert all(u.quote.bid for u in updates)
    for s in streams:
        s.cancel()


async def test_1101_then_gateway_drop_heal_every_subscriber(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker()
    readers = await _readers(broker, 20)
    assert broker.sim_lines() == 1

    mark = [len(r.events) for r in readers]
    await broker.sim.faults.broadcast_error(1101)
    for r, m in zip(readers, mark, strict=True):
        await r.wait_for(gap_then_snapshot(m))
        _check_gap(r, m, "1101")
    assert broker.sim_lines() == 1
    feed = next(iter(broker.md.feeds.values()))
    assert feed.heals == 1

    mark = [len(r.events) for r in readers]
    await broker.sim.faults.drop(mode="rst")
    for r, m in zip(readers, mark, strict=True):
        await r.wait_for(gap_then_snapshot(m))
        _check_gap(r, m, "reconnect")
    assert broker.sim_lines() == 1
    assert feed.heals == 2
    for r in readers:
        await r.wait_for(lambda ev: ev[-1].kind == UPDATE)  # streaming again
        r.task.cancel()


async def test_farm_outage_heals_and_1102_gives_no_gap(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker()
    (reader,) = await _readers(broker, 1)
    mark = len(reader.events)
    await broker.sim.faults.broadcast_error(2103)
    await broker.sim.faults.broadcast_error(2104)
    await reader.wait_for(gap_then_snapshot(mark))
    _check_gap(reader, mark, "2103")
    assert broker.sim_lines() == 1

    mark = len(reader.events)
    await broker.sim.faults.broadcast_error(1100)
    await broker.sim.faults.broadcast_error(1102)
    # Ticks resume on the same line; a few updates later there was still no GAP.
    await reader.wait_for(lambda ev: sum(1 for e in ev[mark:] if e.kind == UPDATE) >= 5)
    assert GAP not in reader.kinds_after(mark)
    reader.task.cancel()


async def test_outage_spanning_a_reconnect_heals_on_both(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker()
    (reader,) = await _readers(broker, 1)
    mark = len(reader.events)
    await broker.sim.faults.broadcast_error(2103)
    await broker.sim.faults.drop(mode="rst")
    await reader.wait_for(gap_then_snapshot(mark))
    _check_gap(reader, mark, "2103")
    assert "reconnect" in reader.events[reader.kinds_after(mark).index(GAP) + mark].reason
    # The farm is still down on the new socket: no ticks until it is back, then a second
    # GAP (the outage went on after the reconnect) and a fresh snapshot.
    mark = len(reader.events)
    await broker.sim.faults.broadcast_error(2104)
    await reader.wait_for(gap_then_snapshot(mark))
    _check_gap(reader, mark, "2104")
    await reader.wait_for(lambda ev: sum(1 for e in ev[mark:] if e.kind == UPDATE) >= 5)
    assert broker.sim_lines() == 1
    reader.task.cancel()
