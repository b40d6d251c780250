"""Orders belong to the authenticated identity: B cannot cancel A's order, by any route."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from broker_client import BrokerError
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_client.ibbroker.v1 import trading_pb2 as tpb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as trading_grpc
from broker_server.app import running_broker
from broker_server.services.tokens import TokenFile, load_key
from tests.security.helpers import bearer, secure_config
from tests.trading.served import limit_order

TRADER = frozenset({"read", "lease", "trade"})


async def refused(call: object) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return BrokerError.from_rpc_error(info.value)


async def test_b_cannot_cancel_a_order(tmp_path: Path) -> None:
    cfg = secure_config(tmp_path)
    table = TokenFile(
        cfg.auth.tokens_file, load_key(cfg.auth.token_key, cfg.auth.token_key_file, create=True)
    )
    as_a = bearer(table.create("trader-a", TRADER))
    as_b = bearer(table.create("trader-b", TRADER))
    async with running_broker(cfg, with_sim=True) as broker, aio_channel(broker.address) as ch:
        await broker.connections.connect(timeout=10)
        leases = lease_grpc.LeaseServiceStub(ch)
        trading = trading_grpc.TradingServiceStub(ch)
        proxied = lpb.AcquireLeaseRequest(mode=lease_pb2.LEASE_MODE_PROXIED)
        lease_a = (await leases.AcquireLease(proxied, metadata=as_a)).lease
        lease_b = (await leases.AcquireLease(proxied, metadata=as_b)).lease
        placed = await trading.PlaceOrder(
            spb.PlaceOrderRequest(
                lease_id=lease_a.lease_id,
                epoch=lease_a.epoch,
                idempotency_key="a-1",
                single=limit_order("1.00"),
            ),
            metadata=as_a,
            timeout=10,
        )
        assert placed.order.owner == "trader-a"
        key = spb.OrderSelector(idempotency_key="a-1")

        # Naming A as the owner: refused before the order runtime is asked.
        err = await refused(
            trading.CancelOrder(
                spb.CancelOrderRequest(
                    lease_id=lease_b.lease_id, epoch=lease_b.epoch, owner="trader-a", order=key
                ),
                metadata=as_b,
            )
        )
        assert (err.code, err.reason) == (grpc.StatusCode.PERMISSION_DENIED, "OWNER_NOT_CALLER")
        # Through A's lease: the lease is not B's.
        err = await refused(
            trading.CancelOrder(
                spb.CancelOrderRequest(lease_id=lease_a.lease_id, epoch=lease_a.epoch, order=key),
                metadata=as_b,
            )
        )
        assert err.reason == "LEASE_NOT_OWNER"
        # Through B's own lease: B has no order under that key.
        err = await refused(
            trading.CancelOrder(
                spb.CancelOrderRequest(lease_id=lease_b.lease_id, epoch=lease_b.epoch, order=key),
                metadata=as_b,
            )
        )
        assert err.reason == "ORDER_NOT_FOUND"
        # A's order still works at the simulator, and A can cancel it.
        listed = await trading.ListOpenOrders(spb.ListOpenOrdersRequest(), metadata=as_a)
        assert [o.idempotency_key for o in listed.orders] == ["a-1"]
        cancelled = await trading.CancelOrder(
            spb.CancelOrderRequest(lease_id=lease_a.lease_id, epoch=lease_a.epoch, order=key),
            metadata=as_a,
            timeout=10,
        )
        assert cancelled.order.state == tpb.ORDER_STATE_CANCELLED
