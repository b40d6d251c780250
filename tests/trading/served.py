"""A served broker for the TradingService tests: a real simulator, a real broker (gRPC on
127.0.0.1:0, ib_insync sessions, a SQLite file), and gRPC stubs. The simulator lives apart from
the broker so a test can restart (or kill) the broker against the same simulator."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lgrpc
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as sgrpc
from broker_server.app import Broker, running_broker
from broker_server.config import BrokerConfig, LeaseConfig, TradingConfig
from broker_server.sim.config import SimConfig
from broker_server.sim.server import SimServer
from tests.server.helpers import fast_config

AAPL = pb.Contract(
    symbol="AAPL", security_type=pb.SECURITY_TYPE_STOCK, exchange="SMART", currency="USD"
)


def config_for(store: Path, sim: SimServer, **trading: Any) -> BrokerConfig:
    """A fast config aimed at ``sim``."""
    return fast_trading_config(store, sim.port, **trading)


def fast_trading_config(store: Path, port: int, **trading: Any) -> BrokerConfig:
    """A fast config aimed at a simulator on ``port``."""
    cfg = fast_config(store, host="127.0.0.1", port=port)
    return dataclasses.replace(
        cfg,
        trading=TradingConfig(
            **{
                "ack_timeout": 3.0,
                "request_timeout": 3.0,
                "reconcile_retry": 0.1,
                "orphan_poll_interval": 0.1,
                **trading,
            }
        ),
    )


@contextlib.asynccontextmanager
async def simulator(**kw: Any) -> AsyncIterator[SimServer]:
    sim = SimServer(SimConfig(host="127.0.0.1", port=0, current_time_min_interval=0.0, **kw))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@dataclass
class Served:
    broker: Broker
    channel: grpc.aio.Channel
    leases: lgrpc.LeaseServiceStub
    trading: sgrpc.TradingServiceStub

    async def lease(self, owner: str = "alice", client_id: int | None = None) -> lease_pb2.Lease:
        request = lpb.AcquireLeaseRequest(owner=owner, mode=lease_pb2.LEASE_MODE_PROXIED)
        if client_id is not None:
            request.client_id = client_id
        return (await self.leases.AcquireLease(request)).lease

    async def place(
        self, lease: lease_pb2.Lease, spec: pb.OrderSpec | None = None, *, key: str = "",
        owner: str = "alice", bracket: pb.BracketOrder | None = None, deadline: float = 10.0,
    ) -> spb.PlaceOrderResponse:  # fmt: skip
        request = spb.PlaceOrderRequest(
            lease_id=lease.lease_id, epoch=lease.epoch, owner=owner,
            idempotency_key=key or uuid.uuid4().hex,
        )  # fmt: skip
        if bracket is not None:
            request.bracket.CopyFrom(bracket)
        else:
            request.single.CopyFrom(spec or limit_order())
        return await self.trading.PlaceOrder(request, timeout=deadline)


def limit_order(
    price: str = "100", quantity: str = "10", side: pb.OrderSide.ValueType = pb.ORDER_SIDE_BUY
) -> pb.OrderSpec:
    return pb.OrderSpec(
        contract=AAPL, side=side, quantity=quantity, order_type=pb.ORDER_TYPE_LIMIT,
        limit_price=price,
    )  # fmt: skip


def market(quantity: str = "10", side: pb.OrderSide.ValueType = pb.ORDER_SIDE_BUY) -> pb.OrderSpec:
    return pb.OrderSpec(
        contract=AAPL, side=side, quantity=quantity, order_type=pb.ORDER_TYPE_MARKET
    )


@contextlib.asynccontextmanager
async def served(
    store: Path, sim: SimServer, *, leases: LeaseConfig | None = None, **trading: Any
) -> AsyncIterator[Served]:
    cfg = config_for(store, sim, **trading)
    if leases is not None:
        cfg = dataclasses.replace(cfg, leases=leases)
    async with running_broker(cfg) as broker:
        await broker.connections.connect(timeout=10)
        async with grpc.aio.insecure_channel(broker.address) as channel:
            yield Served(
                broker, channel, lgrpc.LeaseServiceStub(channel), sgrpc.TradingServiceStub(channel)
            )


async def rpc_error(call: Any) -> BrokerError:
    """Await a call that must fail; its decoded error."""
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return BrokerError.from_rpc_error(err)
    raise AssertionError("the call succeeded")


async def watch_until(
    stream: Any, done: Callable[[list[pb.OrderEvent]], bool], seconds: float = 10.0
) -> list[pb.OrderEvent]:
    """Read order events until ``done(events)``, at most ``seconds``."""
    events: list[pb.OrderEvent] = []
    async with asyncio.timeout(seconds):
        while not done(events):
            events.append((await stream.read()).event)
    return events
