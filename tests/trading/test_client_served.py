"""The Python client's trading methods against the served broker: typed calls, place_order's
retry with one key across a dropped connection, the order-event watch with resume, the
blocking client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker_client import (
    BrokerClient,
    BrokerClientSync,
    LeaseNotProxiedError,
    OrderOwnedByOtherClientIdError,
    limit,
    market,
)
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.leases import lease as hold_lease
from tests.support.proxy import Proxy
from tests.trading.served import served, simulator

PROXIED = lease_pb2.LEASE_MODE_PROXIED
K = pb.OrderEventKind


async def test_place_order_retries_with_the_same_key_across_a_dropped_connection(
    tmp_path: Path,
) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        async with Proxy(s.broker.address) as proxy, BrokerClient(proxy.address) as broker:
            async with hold_lease(broker.leases, owner="alice", mode=PROXIED, ttl=30) as held:
                loop = asyncio.get_running_loop()
                dropped: list[asyncio.Task[None]] = []

                def drop_answer(entries: object) -> None:
                    # The intent is durable; the connection carrying the answer is reset.
                    s.broker.orders.after_journal = None
                    dropped.append(loop.create_task(proxy.drop()))

                s.broker.orders.after_journal = drop_answer
                placed = await broker.place_order(
                    held, limit("AAPL", "BUY", "3", "1.00"), owner="alice"
                )
                assert dropped, "the fault was not injected"
                assert placed.replayed  # the second attempt found the journaled order
                ref = placed.order.order_ref
                assert len(sim.book.find_orders(order_ref=ref)) == 1
                listed = await broker.list_open_orders("alice")
                assert [o.order_ref for o in listed] == [ref]
                cancelled = await broker.cancel_order(
                    held, placed.order.idempotency_key, owner="alice"
                )
                assert cancelled.state == pb.ORDER_STATE_CANCELLED


async def test_typed_errors_and_reads(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        async with BrokerClient(s.broker.address) as broker:
            assert (await broker.get_current_time()).year >= 2024
            details = await broker.get_contract_details(
                pb.Contract(symbol="AAPL", security_type=pb.SECURITY_TYPE_STOCK)
            )
            assert details[0].contract.con_id > 0
            assert await broker.get_account_summary(tags=["NetLiquidation"])
            async with hold_lease(broker.leases, owner="alice", ttl=30) as direct:
                with pytest.raises(LeaseNotProxiedError):
                    await broker.place_order(direct, market("AAPL", "BUY", "1"), owner="alice")
            async with (
                hold_lease(broker.leases, owner="alice", mode=PROXIED, ttl=30) as one,
                hold_lease(broker.leases, owner="alice", mode=PROXIED, ttl=30) as two,
            ):
                placed = await broker.place_order(
                    one, limit("AAPL", "BUY", "1", "1.00"), owner="alice", idempotency_key="k1"
                )
                with pytest.raises(OrderOwnedByOtherClientIdError) as info:
                    await broker.cancel_order(two, "k1", owner="alice")
                assert info.value.metadata["owning_client_id"] == str(placed.order.client_id)
                modified = await broker.modify_order(one, "k1", owner="alice", quantity="2")
                assert modified.spec.quantity == "2"


async def test_watch_order_events_resumes_after_a_broken_stream(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        async with Proxy(s.broker.address) as proxy, BrokerClient(proxy.address) as broker:
            async with hold_lease(broker.leases, owner="alice", mode=PROXIED, ttl=30) as held:
                events = broker.watch_order_events(
                    owner="alice", initial_backoff=0.01, max_backoff=0.05
                )
                first = await anext(events)
                assert first.kind == K.ORDER_EVENT_KIND_SNAPSHOT_END
                await broker.place_order(
                    held, market("AAPL", "BUY", "2"), owner="alice", idempotency_key="w1"
                )
                seen: list[pb.OrderEvent] = []
                async with asyncio.timeout(10):
                    while not any(e.kind == K.ORDER_EVENT_KIND_FILL for e in seen):
                        seen.append(await anext(events))
                await proxy.drop()  # the stream breaks; the helper resumes after the last sequence
                await broker.place_order(
                    held, market("AAPL", "SELL", "2"), owner="alice", idempotency_key="w2"
                )
                async with asyncio.timeout(10):
                    while sum(e.kind == K.ORDER_EVENT_KIND_FILL for e in seen) < 2:
                        seen.append(await anext(events))
                seqs = [e.sequence for e in seen]
                assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
                keys = [e.order.idempotency_key for e in seen if e.kind == K.ORDER_EVENT_KIND_FILL]
                assert keys == ["w1", "w2"]
                await events.aclose()


async def test_sync_facade(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()

        def run() -> tuple[pb.Order, list[pb.Order], pb.Order]:
            with BrokerClientSync(s.broker.address) as client:
                assert client.get_current_time().year >= 2024
                placed = client.place_order(
                    lease,
                    limit("AAPL", "BUY", "1", "1.00"),
                    owner="alice",
                    idempotency_key="sync-1",
                )
                listed = client.list_open_orders("alice")
                cancelled = client.cancel_order(lease, "sync-1", owner="alice")
                return placed.order, listed, cancelled

        order, listed, cancelled = await asyncio.to_thread(run)
        assert [o.order_ref for o in listed] == [order.order_ref]
        assert cancelled.state == pb.ORDER_STATE_CANCELLED
        assert len(sim.book.find_orders(order_ref=order.order_ref)) == 1
