"""PlaceOrder retried with one key across faults finds exactly one order at the simulator
(counted simulator-side, by orderRef), and the final ledger says what IB did.

(a) a broker process SIGKILLed right after the journal write (a real subprocess; its fault
point kills it between the durable intent and the send), then a fresh broker on the same store
and the same simulator; (b) the gateway dropping the connection right after the order reached
the simulator; (c) a client deadline that expires before IB's answer. Then a gateway drop, a
1100, an open breaker and a stale lease, each with orders placed through them.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import grpc

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lgrpc
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as sgrpc
from broker_server.aio import within
from broker_server.domain.order_identity import derive_order_ref
from tests.support.proxy import Proxy
from tests.trading.served import limit_order, rpc_error, served, simulator

ROOT = Path(__file__).resolve().parents[2]


async def test_a_retry_after_a_sigkill_right_after_the_journal_write(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    ref = derive_order_ref("alice", "crash-1")
    async with simulator() as sim:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.trading.crash_broker", str(store), str(sim.port),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.stdout is not None
        address = json.loads(await within(proc.stdout.readline(), 30))["address"]
        async with grpc.aio.insecure_channel(address) as channel:
            leases, trading = lgrpc.LeaseServiceStub(channel), sgrpc.TradingServiceStub(channel)
            lease = (
                await leases.AcquireLease(
                    lpb.AcquireLeaseRequest(owner="alice", mode=lease_pb2.LEASE_MODE_PROXIED)
                )
            ).lease
            request = spb.PlaceOrderRequest(
                lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                idempotency_key="crash-1", single=limit_order("1.00"),
            )  # fmt: skip
            err = await rpc_error(trading.PlaceOrder(request, timeout=10))
            assert err.code is grpc.StatusCode.UNAVAILABLE
        assert await within(proc.wait(), 15) == -signal.SIGKILL
        assert sim.book.find_orders(order_ref=ref) == []  # the intent never reached IB
        async with served(store, sim) as s:
            first = await s.trading.PlaceOrder(request, timeout=15)
            assert first.order.order_ref == ref
            assert first.order.state == pb.ORDER_STATE_ACKNOWLEDGED, first.order
            again = await s.trading.PlaceOrder(request, timeout=15)
            assert again.replayed and again.order.order_id == first.order.order_id
            assert len(sim.book.find_orders(order_ref=ref)) == 1
            entry = s.broker.orders.ledger.by_ref(ref)
            assert entry is not None and entry.attempts == 2 and entry.seen_by_ib


async def test_b_retry_after_a_gateway_drop_right_after_the_order_reached_it(
    tmp_path: Path,
) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        await s.trading.GetCurrentTime(spb.GetCurrentTimeRequest())  # the data session is up
        sim.faults.drop_after_order(1, lease.client_id)
        first = await s.place(lease, limit_order("1.00"), key="drop-1")
        ref = first.order.order_ref
        again = await s.place(lease, limit_order("1.00"), key="drop-1", deadline=15)
        assert again.replayed
        assert again.order.state == pb.ORDER_STATE_ACKNOWLEDGED, again.order
        assert len(sim.book.find_orders(order_ref=ref)) == 1
        entry = s.broker.orders.ledger.by_ref(ref)
        assert entry is not None and entry.attempts == 1 and entry.perm_id > 0


async def test_c_retry_after_a_client_timeout(tmp_path: Path) -> None:
    async with simulator() as sim, served(tmp_path / "s.db", sim) as s:
        lease = await s.lease()
        await s.place(lease, limit_order("1.00"), key="warm")  # contract resolved once
        orders = s.broker.orders
        async with Proxy(s.broker.address) as proxy, grpc.aio.insecure_channel(proxy.address) as ch:
            trading = sgrpc.TradingServiceStub(ch)
            request = spb.PlaceOrderRequest(
                lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                idempotency_key="slow", single=limit_order("1.00"),
            )  # fmt: skip
            sim.faults.set_delay(0.3)  # IB answers late ...
            # ... and once the intent is journaled the network loses the answer.
            orders.after_journal = lambda entries: proxy.stall()
            try:
                err = await rpc_error(trading.PlaceOrder(request, timeout=0.8))
                assert err.code is grpc.StatusCode.DEADLINE_EXCEEDED
            finally:
                orders.after_journal = None
                sim.faults.set_delay(0)
                proxy.resume()
        again = await s.trading.PlaceOrder(request, timeout=15)
        assert again.replayed and again.order.state == pb.ORDER_STATE_ACKNOWLEDGED
        assert len(sim.book.find_orders(order_ref=again.order.order_ref)) == 1
