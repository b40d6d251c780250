"""TradingService served for real: gRPC on 127.0.0.1:0, ib_insync sessions, the simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as sgrpc
from broker_server.app import start_broker, stop_broker
from broker_server.sim.rules import RejectRule
from tests.trading.served import (
    AAPL,
    config_for,
    limit_order,
    market,
    rpc_error,
    served,
    simulator,
    watch_until,
)

K = pb.OrderEventKind


def _kinds(events: list[pb.OrderEvent]) -> list[str]:
    return [K.Name(e.kind) for e in events]


async def test_limit_order_listed_watched_cancelled(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        now = await s.trading.GetCurrentTime(spb.GetCurrentTimeRequest())
        assert now.server_time.seconds > 0
        details = await s.trading.GetContractDetails(spb.GetContractDetailsRequest(contract=AAPL))
        assert len(details.details) == 1 and details.details[0].min_tick
        lease = await s.lease()
        watch = s.trading.WatchOrderEvents(spb.WatchOrderEventsRequest(owner="alice"))
        await watch_until(
            watch, lambda ev: bool(ev) and ev[-1].kind == K.ORDER_EVENT_KIND_SNAPSHOT_END
        )
        placed = await s.place(lease, limit_order("1.00"), key="lmt-1")
        order = placed.order
        assert order.state == pb.ORDER_STATE_ACKNOWLEDGED, order
        assert not placed.replayed and order.perm_id > 0 and order.client_id == lease.client_id
        listed = await s.trading.ListOpenOrders(spb.ListOpenOrdersRequest(owner="alice"))
        assert [o.order_ref for o in listed.orders] == [order.order_ref]
        other = await s.trading.ListOpenOrders(spb.ListOpenOrdersRequest(owner="bob"))
        assert list(other.orders) == []
        cancelled = await s.trading.CancelOrder(
            spb.CancelOrderRequest(
                lease_id=lease.lease_id,
                epoch=lease.epoch,
                owner="alice",
                order=spb.OrderSelector(idempotency_key="lmt-1"),
            )
        )
        assert cancelled.order.state == pb.ORDER_STATE_CANCELLED
        events = await watch_until(
            watch,
            lambda ev: any(e.order.state == pb.ORDER_STATE_CANCELLED for e in ev),
        )
        states = [
            pb.OrderState.Name(e.order.state)
            for e in events
            if e.kind == K.ORDER_EVENT_KIND_STATE_CHANGED
        ]
        assert states[0] == "ORDER_STATE_SUBMITTED" and states[-1] == "ORDER_STATE_CANCELLED"
        assert "ORDER_STATE_ACKNOWLEDGED" in states
        seqs = [e.sequence for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        # Cancelling a cancelled order returns it.
        again = await s.trading.CancelOrder(
            spb.CancelOrderRequest(
                lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                order=spb.OrderSelector(idempotency_key="lmt-1"),
            )
        )  # fmt: skip
        assert again.order.state == pb.ORDER_STATE_CANCELLED
        assert len(sim.book.find_orders(order_ref=order.order_ref)) == 1
        done = await s.trading.ListCompletedOrders(spb.ListCompletedOrdersRequest(owner="alice"))
        assert order.order_ref in [o.order_ref for o in done.orders]
        watch.cancel()


async def test_market_order_fills_and_moves_the_position(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:

        def aapl(resp: spb.GetPositionsResponse) -> str:
            return next((p.quantity for p in resp.positions if p.contract.symbol == "AAPL"), "0")

        before = aapl(await s.trading.GetPositions(spb.GetPositionsRequest()))
        lease = await s.lease()
        watch = s.trading.WatchOrderEvents(spb.WatchOrderEventsRequest(owner="alice"))
        await watch_until(
            watch, lambda ev: bool(ev) and ev[-1].kind == K.ORDER_EVENT_KIND_SNAPSHOT_END
        )
        placed = await s.place(lease, market("7"), key="mkt-1")
        events = await watch_until(
            watch,
            lambda ev: (
                any(e.kind == K.ORDER_EVENT_KIND_FILL for e in ev)
                and any(e.order.state == pb.ORDER_STATE_FILLED for e in ev)
            ),
        )
        fill = next(e for e in events if e.kind == K.ORDER_EVENT_KIND_FILL)
        assert fill.execution.quantity == "7" and fill.execution.idempotency_key == "mkt-1"
        assert fill.execution.order_ref == placed.order.order_ref
        after = aapl(await s.trading.GetPositions(spb.GetPositionsRequest()))
        assert float(after) == float(before) + 7
        execs = await s.trading.ListExecutions(spb.ListExecutionsRequest(owner="alice"))
        assert [e.exec_id for e in execs.executions] == [fill.execution.exec_id]
        summary = await s.trading.GetAccountSummary(
            spb.GetAccountSummaryRequest(tags=["NetLiquidation"])
        )
        assert summary.values and {v.tag for v in summary.values} == {"NetLiquidation"}
        watch.cancel()


async def test_bracket_is_placed_as_one_request(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        bracket = pb.BracketOrder(
            parent=limit_order("1.00", "5"),
            take_profit_limit_price="2.00",
            stop_loss_stop_price="0.50",
        )
        placed = await s.place(lease, bracket=bracket, key="br-1")
        roles = [placed.order.bracket_role, *(c.bracket_role for c in placed.children)]
        assert roles == [
            pb.BRACKET_ROLE_PARENT,
            pb.BRACKET_ROLE_TAKE_PROFIT,
            pb.BRACKET_ROLE_STOP_LOSS,
        ]
        parent_id = placed.order.order_id
        assert [c.parent_order_id for c in placed.children] == [parent_id, parent_id]
        at_sim = sim.book.find_orders(client_id=lease.client_id)
        assert len(at_sim) == 3 and {o.parent_id for o in at_sim} == {0, parent_id}
        assert placed.order.state == pb.ORDER_STATE_ACKNOWLEDGED


async def test_idempotent_retry_and_conflict(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        first = await s.place(lease, limit_order("1.50"), key="idem")
        again = await s.place(lease, limit_order("1.5"), key="idem")  # same price, spelled apart
        assert again.replayed and again.order.order_ref == first.order.order_ref
        assert again.order.order_id == first.order.order_id
        err = await rpc_error(s.place(lease, limit_order("1.60"), key="idem"))
        assert err.code is grpc.StatusCode.INVALID_ARGUMENT and err.reason == "IDEMPOTENCY_CONFLICT"
        assert (
            "idempotency_key",
            "already used for an order with other parameters",
        ) in err.field_violations
        assert len(sim.book.find_orders(order_ref=first.order.order_ref)) == 1


async def test_rejection_is_an_order_state_with_the_reason(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        sim.rules.add_reject(RejectRule(reason="insufficient margin", symbol="AAPL"))
        lease = await s.lease()
        placed = await s.place(lease, limit_order("1.00"), key="rej")
        assert placed.order.state == pb.ORDER_STATE_REJECTED
        assert placed.order.ib_error_code == 201 and "margin" in placed.order.message
        again = await s.place(lease, limit_order("1.00"), key="rej")
        assert again.replayed and again.order.state == pb.ORDER_STATE_REJECTED


async def test_leases_fence_orders_and_ownership_is_kept(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        stale = lease_pb2.Lease()
        stale.CopyFrom(lease)
        stale.epoch = lease.epoch + 1
        err = await rpc_error(s.place(stale, limit_order("1.00"), key="fence"))
        assert err.code is grpc.StatusCode.ABORTED and err.reason == "LEASE_STALE_EPOCH"
        direct = (await s.leases.AcquireLease(lpb.AcquireLeaseRequest(owner="alice"))).lease
        err = await rpc_error(s.place(direct, limit_order("1.00"), key="fence"))
        assert err.code is grpc.StatusCode.FAILED_PRECONDITION and err.reason == "LEASE_NOT_PROXIED"
        placed = await s.place(lease, limit_order("1.00"), key="own")
        # A second PROXIED lease of the same owner holds another client ID: TWS would refuse
        # its cancel (10147), the broker says who owns the order.
        other = await s.lease()
        assert other.client_id != lease.client_id
        err = await rpc_error(
            s.trading.CancelOrder(
                spb.CancelOrderRequest(
                    lease_id=other.lease_id, epoch=other.epoch, owner="alice",
                    order=spb.OrderSelector(idempotency_key="own"),
                )
            )
        )  # fmt: skip
        assert err.code is grpc.StatusCode.FAILED_PRECONDITION
        assert err.reason == "ORDER_OWNED_BY_OTHER_CLIENT_ID"
        assert err.metadata["owning_client_id"] == str(lease.client_id)
        modified = await s.trading.ModifyOrder(
            spb.ModifyOrderRequest(
                lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                order=spb.OrderSelector(idempotency_key="own"), limit_price="1.10",
            )
        )  # fmt: skip
        assert modified.order.spec.limit_price == "1.1"
        at_sim = sim.book.find_orders(order_ref=placed.order.order_ref)
        assert len(at_sim) == 1 and at_sim[0].lmt_price == 1.1
        # Released lease: its orders cannot be touched through it any more.
        await s.leases.ReleaseLease(
            lpb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner="alice")
        )
        err = await rpc_error(s.place(lease, limit_order("1.00"), key="after-release"))
        assert err.code is grpc.StatusCode.FAILED_PRECONDITION and err.reason == "LEASE_RELEASED"


async def test_every_bad_field_is_a_violation(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        bad = pb.OrderSpec(
            contract=pb.Contract(), side=pb.ORDER_SIDE_UNSPECIFIED, quantity="-1",
            order_type=pb.ORDER_TYPE_MARKET, limit_price="1.0",
        )  # fmt: skip
        err = await rpc_error(
            s.trading.PlaceOrder(
                spb.PlaceOrderRequest(owner="", idempotency_key="x" * 129, single=bad)
            )
        )
        fields = {f for f, _d in err.field_violations}
        assert err.code is grpc.StatusCode.INVALID_ARGUMENT and err.reason == "INVALID_ARGUMENT"
        assert {"lease_id", "epoch", "owner", "idempotency_key", "single.contract", "single.side",
                "single.quantity", "single.limit_price"} <= fields, fields  # fmt: skip
        err = await rpc_error(
            s.trading.PlaceOrder(
                spb.PlaceOrderRequest(
                    lease_id=lease.lease_id, epoch=lease.epoch, owner="alice", idempotency_key="k"
                )
            )
        )
        assert ("order", "set `single` or `bracket`") in err.field_violations
        err = await rpc_error(s.place(lease, limit_order("1.001"), key="tick"))
        assert err.code is grpc.StatusCode.INVALID_ARGUMENT
        assert [f for f, _d in err.field_violations] == ["single.limit_price"]
        unknown = pb.OrderSpec(
            contract=pb.Contract(symbol="NOPE", security_type=pb.SECURITY_TYPE_STOCK),
            side=pb.ORDER_SIDE_BUY, quantity="1", order_type=pb.ORDER_TYPE_MARKET,
        )  # fmt: skip
        err = await rpc_error(s.place(lease, unknown, key="nope"))
        assert err.code is grpc.StatusCode.NOT_FOUND and err.reason == "CONTRACT_NOT_FOUND"
        err = await rpc_error(s.trading.ListOpenOrders(spb.ListOpenOrdersRequest()))
        assert ("owner", "required") in err.field_violations
        err = await rpc_error(
            s.trading.ModifyOrder(
                spb.ModifyOrderRequest(
                    lease_id=lease.lease_id,
                    epoch=lease.epoch,
                    owner="alice",
                    order=spb.OrderSelector(idempotency_key="none"),
                )
            )
        )
        assert err.code is grpc.StatusCode.INVALID_ARGUMENT
        err = await rpc_error(
            s.trading.CancelOrder(
                spb.CancelOrderRequest(
                    lease_id=lease.lease_id,
                    epoch=lease.epoch,
                    owner="alice",
                    order=spb.OrderSelector(idempotency_key="none"),
                )
            )
        )
        assert err.code is grpc.StatusCode.NOT_FOUND and err.reason == "ORDER_NOT_FOUND"
        assert sim.book.find_orders(client_id=lease.client_id) == []


async def test_watch_ends_with_final_on_shutdown(tmp_path: Path) -> None:
    async with simulator() as sim:
        broker = await start_broker(config_for(tmp_path / "s.db", sim))
        async with grpc.aio.insecure_channel(broker.address) as channel:
            watch = sgrpc.TradingServiceStub(channel).WatchOrderEvents(
                spb.WatchOrderEventsRequest(owner="alice")
            )
            await watch_until(
                watch, lambda ev: bool(ev) and ev[-1].kind == K.ORDER_EVENT_KIND_SNAPSHOT_END
            )
            stopping = asyncio.create_task(stop_broker(broker))
            events = await watch_until(
                watch, lambda ev: bool(ev) and ev[-1].kind == K.ORDER_EVENT_KIND_FINAL
            )
            assert events[-1].reason == "broker shutting down"
            await stopping
