"""Orders through faults, with the final ledger checked: a gateway drop during which an order
fills (GAP, the fill once, then FILLED), a 1100 (refused, never queued), an open breaker
(UNAVAILABLE with RetryInfo), and a lease gone stale mid-flight."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.aio import within
from broker_server.config import LeaseConfig
from broker_server.domain.breaker import BreakerState
from broker_server.domain.lease_records import LeaseEventKind
from broker_server.domain.order_state import OrderState
from tests.trading.served import AAPL, limit_order, rpc_error, served, simulator, watch_until

K = pb.OrderEventKind


async def test_an_order_that_fills_during_a_gateway_drop_is_reported_once_after_a_gap(
    tmp_path: Path,
) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        details = await s.trading.GetContractDetails(spb.GetContractDetailsRequest(contract=AAPL))
        con_id = details.details[0].contract.con_id
        lease = await s.lease()
        watch = s.trading.WatchOrderEvents(spb.WatchOrderEventsRequest(owner="alice"))
        await watch_until(
            watch, lambda ev: bool(ev) and ev[-1].kind == K.ORDER_EVENT_KIND_SNAPSHOT_END
        )
        placed = await s.place(lease, limit_order("1.00", "5"), key="gap-1")
        assert placed.order.state == pb.ORDER_STATE_ACKNOWLEDGED
        await sim.faults.refuse()
        await sim.faults.drop(client_id=lease.client_id, mode="rst")
        err = await rpc_error(s.place(lease, limit_order("1.00"), key="during-drop"))
        assert err.code is grpc.StatusCode.UNAVAILABLE and err.retry_after is not None
        sim.market.set_price(con_id, 0.99)  # fills while the broker's session is away
        assert sim.book.find_orders(order_ref=placed.order.order_ref)[0].status == "Filled"
        await sim.faults.accept()
        events = await watch_until(
            watch,
            lambda ev: any(
                e.kind == K.ORDER_EVENT_KIND_STATE_CHANGED
                and e.order.state == pb.ORDER_STATE_FILLED
                for e in ev
            ),
            20,
        )
        kinds = [
            K.Name(e.kind)
            for e in events
            if e.kind != K.ORDER_EVENT_KIND_STATE_CHANGED or e.order.state == pb.ORDER_STATE_FILLED
        ]
        gap = kinds.index("ORDER_EVENT_KIND_GAP")
        fill = kinds.index("ORDER_EVENT_KIND_FILL")
        assert gap < fill < kinds.index("ORDER_EVENT_KIND_STATE_CHANGED")
        assert kinds.count("ORDER_EVENT_KIND_FILL") == 1
        gap_event = next(e for e in events if e.kind == K.ORDER_EVENT_KIND_GAP)
        assert gap_event.gap_end.ToNanoseconds() >= gap_event.gap_start.ToNanoseconds() > 0
        # The ledger: one order, filled, the key never placed during the drop.
        entry = s.broker.orders.ledger.by_ref(placed.order.order_ref)
        assert entry is not None and entry.state is OrderState.FILLED and entry.filled_quantity == 5
        assert s.broker.orders.ledger.by_key("alice", "during-drop") == []
        # Another reconciliation reports nothing twice.
        await s.broker.orders.reconcile_now("paper")
        assert len(s.broker.orders.ledger.reported) == 1
        watch.cancel()


async def test_1100_refuses_orders_until_the_link_is_back(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        await sim.faults.broadcast_error(1100, "Connectivity between IB and TWS has been lost.")
        err = await rpc_error(s.place(lease, limit_order("1.00"), key="link-1"))
        assert err.code is grpc.StatusCode.FAILED_PRECONDITION and err.reason == "IB_LINK_LOST"
        err = await rpc_error(s.trading.GetPositions(spb.GetPositionsRequest()))
        assert err.reason == "IB_LINK_LOST"
        assert s.broker.orders.ledger.by_key("alice", "link-1") == []  # never queued
        await sim.faults.broadcast_error(1102, "Connectivity restored - data maintained.")
        placed = await s.place(lease, limit_order("1.00"), key="link-1")
        assert placed.order.state == pb.ORDER_STATE_ACKNOWLEDGED
        assert len(sim.book.find_orders(order_ref=placed.order.order_ref)) == 1


async def test_an_open_breaker_answers_unavailable_with_a_retry_hint(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        health = s.broker.connections.health_events.subscribe()
        await sim.faults.refuse()
        await sim.faults.drop(mode="rst")
        async with asyncio.timeout(20):
            async for event in health:
                if event.breaker is BreakerState.OPEN:
                    break
        err = await rpc_error(s.place(lease, limit_order("1.00"), key="brk-1"))
        assert err.code is grpc.StatusCode.UNAVAILABLE and err.reason == "BREAKER_OPEN"
        assert err.retry_after is not None and err.retry_after > 0
        err = await rpc_error(s.trading.GetCurrentTime(spb.GetCurrentTimeRequest()))
        assert err.code is grpc.StatusCode.UNAVAILABLE
        assert s.broker.orders.ledger.by_key("alice", "brk-1") == []
        assert sim.book.find_orders(client_id=lease.client_id) == []
        await sim.faults.accept()


async def test_a_lease_reacquired_with_a_new_epoch_fences_the_old_one(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        placed = await s.place(lease, limit_order("1.00"), key="epoch-1")
        await s.leases.ReleaseLease(
            lpb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner="alice")
        )
        err = await rpc_error(s.place(lease, limit_order("1.00"), key="epoch-2"))
        assert err.code is grpc.StatusCode.FAILED_PRECONDITION and err.reason == "LEASE_RELEASED"
        stale = lease_pb2.Lease()
        stale.CopyFrom(lease)
        stale.epoch = lease.epoch - 1 if lease.epoch > 1 else lease.epoch + 5
        err = await rpc_error(s.place(stale, limit_order("1.00"), key="epoch-3"))
        assert err.code is grpc.StatusCode.ABORTED and err.reason == "LEASE_STALE_EPOCH"
        ledger = s.broker.orders.ledger
        assert [e.key for e in ledger.entries()] == ["epoch-1"]
        assert len(sim.book.find_orders(order_ref=placed.order.order_ref)) == 1
        await within(s.channel.channel_ready(), 5)


async def test_a_restarted_broker_keeps_following_working_orders(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    async with simulator() as sim:
        async with served(store, sim) as s:
            details = await s.trading.GetContractDetails(
                spb.GetContractDetailsRequest(contract=AAPL)
            )
            con_id = details.details[0].contract.con_id
            lease = await s.lease()
            placed = await s.place(lease, limit_order("1.00", "4"), key="restart-1")
            first_id = placed.order.order_id
        async with served(store, sim) as s:
            watch = s.trading.WatchOrderEvents(spb.WatchOrderEventsRequest(owner="alice"))
            snapshot = await watch_until(
                watch, lambda ev: bool(ev) and ev[-1].kind == K.ORDER_EVENT_KIND_SNAPSHOT_END
            )
            assert [e.order.order_ref for e in snapshot[:-1]] == [placed.order.order_ref]
            # The lease survived the restart; its session is back and followed again.
            again = await s.place(lease, limit_order("1.00", "4"), key="restart-1", deadline=15)
            assert again.replayed and again.order.order_id == first_id
            sim.market.set_price(con_id, 0.99)
            events = await watch_until(
                watch,
                lambda ev: any(
                    e.kind == K.ORDER_EVENT_KIND_STATE_CHANGED
                    and e.order.state == pb.ORDER_STATE_FILLED
                    for e in ev
                ),
                20,
            )
            assert sum(e.kind == K.ORDER_EVENT_KIND_FILL for e in events) == 1
            newer = await s.place(lease, limit_order("1.00"), key="restart-2", deadline=15)
            assert newer.order.order_id > first_id  # order IDs never go back across restarts
            watch.cancel()


async def test_an_expired_lease_refuses_orders(tmp_path: Path) -> None:
    leases = LeaseConfig(min_ttl=0.2, quarantine_cooldown=0.2, sweep_interval=0.05)
    async with simulator() as sim, served(tmp_path / "s.db", sim, leases=leases) as s:
        events = s.broker.leases.events.subscribe(s.broker.leases.events.sequence)
        request = lpb.AcquireLeaseRequest(owner="alice", mode=lease_pb2.LEASE_MODE_PROXIED)
        request.ttl.FromMilliseconds(300)
        lease = (await s.leases.AcquireLease(request)).lease
        placed = await s.place(lease, limit_order("1.00"), key="exp-1")
        async with asyncio.timeout(10):
            async for event in events:
                if (
                    event.kind is LeaseEventKind.EXPIRED
                    and event.lease
                    and event.lease.lease_id == lease.lease_id
                ):
                    break
        err = await rpc_error(s.place(lease, limit_order("1.00"), key="exp-2"))
        assert err.code is grpc.StatusCode.FAILED_PRECONDITION and err.reason == "LEASE_EXPIRED"
        ledger = s.broker.orders.ledger
        assert [e.key for e in ledger.entries()] == ["exp-1"]
        assert len(sim.book.find_orders(order_ref=placed.order.order_ref)) == 1


async def test_an_order_outliving_its_lease_is_followed_to_its_fill(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        details = await s.trading.GetContractDetails(spb.GetContractDetailsRequest(contract=AAPL))
        con_id = details.details[0].contract.con_id
        lease = await s.lease()
        watch = s.trading.WatchOrderEvents(spb.WatchOrderEventsRequest(owner="alice"))
        await watch_until(
            watch, lambda ev: bool(ev) and ev[-1].kind == K.ORDER_EVENT_KIND_SNAPSHOT_END
        )
        placed = await s.place(lease, limit_order("1.00", "3"), key="orphan-1")
        await s.leases.ReleaseLease(
            lpb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner="alice")
        )
        sim.market.set_price(con_id, 0.99)  # IB keeps the order working and fills it
        events = await watch_until(
            watch,
            lambda ev: any(
                e.kind == K.ORDER_EVENT_KIND_STATE_CHANGED
                and e.order.state == pb.ORDER_STATE_FILLED
                for e in ev
            ),
            20,
        )
        fills = [e for e in events if e.kind == K.ORDER_EVENT_KIND_FILL]
        assert [f.execution.order_ref for f in fills] == [placed.order.order_ref]
        entry = s.broker.orders.ledger.by_ref(placed.order.order_ref)
        assert entry is not None and entry.state is OrderState.FILLED
        watch.cancel()
