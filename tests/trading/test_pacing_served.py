"""Pacing on the served broker: a burst is spread under IB's 50 msg/s (the simulator, which
disconnects a client past it with error 100, keeps the session), and an order that cannot be
paced within its deadline is refused RESOURCE_EXHAUSTED PACING with a retry hint, never sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from tests.trading.served import limit_order, rpc_error, served, simulator


async def test_a_burst_of_orders_never_trips_ibs_50_per_second(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        await s.place(lease, limit_order("1.00"), key="warm")
        generation = s.broker.connections.supervisor("paper", lease.client_id).generation
        placed = await asyncio.gather(
            *(s.place(lease, limit_order("1.00"), key=f"burst-{i}", deadline=10) for i in range(60))
        )
        assert len({p.order.order_ref for p in placed}) == 60
        assert len(sim.book.find_orders(client_id=lease.client_id)) == 61
        # No error 100, no disconnect: the same socket carried the whole burst.
        assert s.broker.connections.supervisor("paper", lease.client_id).generation == generation


async def test_an_order_that_cannot_be_paced_in_time_is_refused(tmp_path: Path) -> None:
    async with (
        simulator() as sim,
        served(tmp_path / "s.db", sim, pacing_limit=2, pacing_slices=1) as s,
    ):
        lease = await s.lease()
        await s.place(lease, limit_order("1.00"), key="p-1")
        await s.place(lease, limit_order("1.00"), key="p-2")
        err = await rpc_error(s.place(lease, limit_order("1.00"), key="p-3", deadline=0.3))
        assert err.code is grpc.StatusCode.RESOURCE_EXHAUSTED and err.reason == "PACING"
        assert err.retry_after is not None and err.retry_after > 0
        assert s.broker.orders.ledger.by_key("alice", "p-3") == []
        assert len(sim.book.find_orders(client_id=lease.client_id)) == 2
