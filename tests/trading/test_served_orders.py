"""TradingService served for real: gRPC on 127.0.0.1:0, ib_insync sessions, the simulator."""

from __future__ import annotations

from pathlib import Path

from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from tests.trading.served import AAPL, limit_order, served, simulator


async def test_limit_order_listed_watched_cancelled(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        now = await s.trading.GetCurrentTime(spb.GetCurrentTimeRequest())
        assert now.server_time.seconds > 0
        details = await s.trading.GetContractDetails(spb.GetContractDetailsRequest(contract=AAPL))
        assert len(details.details) == 1
        lease = await s.lease()
        placed = await s.place(lease, limit_order("1.00"), key="lmt-1")
        order = placed.order
        assert order.state == pb.ORDER_STATE_ACKNOWLEDGED, order
        assert not placed.replayed
        listed = await s.trading.ListOpenOrders(spb.ListOpenOrdersRequest(owner="alice"))
        assert [o.order_ref for o in listed.orders] == [order.order_ref]
        cancelled = await s.trading.CancelOrder(
            spb.CancelOrderRequest(
                lease_id=lease.lease_id,
                epoch=lease.epoch,
                owner="alice",
                order=spb.OrderSelector(idempotency_key="lmt-1"),
            )
        )
        assert cancelled.order.state == pb.ORDER_STATE_CANCELLED
        assert len(sim.book.find_orders(order_ref=order.order_ref)) == 1
