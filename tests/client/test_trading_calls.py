"""Typed TradingService calls of both clients against a scripted in-process TradingService:
reads and idempotent writes are retried on UNAVAILABLE (an order under one idempotency key),
a modification never is, failures raise the typed error of their reason, and a lease stamps
the orders it guards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from broker_client import (
    BrokerClient,
    BrokerClientSync,
    ContractNotFoundError,
    LeaseLostError,
    ReconnectingError,
    RetryPolicy,
)
from broker_client.ibbroker.v1 import lease_pb2, trading_pb2
from broker_client.ibbroker.v1 import trading_service_pb2 as tsvc
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as tsvc_grpc
from broker_client.trading_calls import READS
from tests.client.test_errors import rich

FAST = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05)
UNAVAILABLE = rich(grpc.StatusCode.UNAVAILABLE, "RECONNECTING", retry=0.01)


@dataclass
class Scripted(tsvc_grpc.TradingServiceServicer):
    """Answers each call with the next scripted status (None: the default response)."""

    script: list[Any] = field(default_factory=list)
    requests: list[tuple[str, Any]] = field(default_factory=list)

    async def _answer(self, name: str, request: Any, context: Any, reply: Any) -> Any:
        self.requests.append((name, request))
        status = self.script.pop(0) if self.script else None
        if status is not None:
            await context.abort_with_status(status)
        return reply

    def __getattribute__(self, name: str) -> Any:
        # Every RPC of the service answers through _answer with its empty response.
        if name[:1].isupper() and hasattr(tsvc, f"{name}Response"):
            response = getattr(tsvc, f"{name}Response")

            async def handler(request: Any, context: Any) -> Any:
                return await self._answer(name, request, context, response())

            return handler
        return super().__getattribute__(name)


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[Scripted, str]]:
    servicer = Scripted()  # type: ignore[abstract]
    server = grpc.aio.server()
    tsvc_grpc.add_TradingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def test_every_read_is_typed_and_retried_on_unavailable(
    scripted: tuple[Scripted, str],
) -> None:
    servicer, address = scripted
    async with BrokerClient(address, retry=FAST) as broker:
        for name, (rpc, request_type) in READS.items():
            servicer.script = [UNAVAILABLE]
            servicer.requests.clear()
            response = await getattr(broker, name)(gateway="paper")
            assert type(response).__name__ == f"{rpc}Response"
            assert [r for r, _ in servicer.requests] == [rpc, rpc]
            assert all(type(req) is request_type for _, req in servicer.requests)
            assert servicer.requests[-1][1].gateway == "paper"


async def test_an_order_is_retried_under_one_generated_idempotency_key(
    scripted: tuple[Scripted, str],
) -> None:
    servicer, address = scripted
    servicer.script = [UNAVAILABLE, UNAVAILABLE]
    order = trading_pb2.OrderSpec(quantity="1")
    async with BrokerClient(address, retry=FAST) as broker:
        await broker.place_order(single=order)
    keys = [req.idempotency_key for name, req in servicer.requests if name == "PlaceOrder"]
    assert len(keys) == 3 and len(set(keys)) == 1 and len(keys[0]) == 32
    # A key of the caller's own is kept.
    servicer.requests.clear()
    async with BrokerClient(address, retry=FAST) as broker:
        await broker.place_order(tsvc.PlaceOrderRequest(idempotency_key="mine", single=order))
    assert servicer.requests[0][1].idempotency_key == "mine"


async def test_a_modification_is_never_repeated_and_a_cancel_is(
    scripted: tuple[Scripted, str],
) -> None:
    servicer, address = scripted
    async with BrokerClient(address, retry=FAST) as broker:
        servicer.script = [UNAVAILABLE]
        with pytest.raises(ReconnectingError):  # UNAVAILABLE with its reason
            await broker.modify_order(quantity="2")
        assert [name for name, _ in servicer.requests] == ["ModifyOrder"]
        servicer.script = [UNAVAILABLE]
        await broker.cancel_order()
        assert [name for name, _ in servicer.requests][1:] == ["CancelOrder", "CancelOrder"]


async def test_failures_raise_the_error_of_their_reason(scripted: tuple[Scripted, str]) -> None:
    servicer, address = scripted
    servicer.script = [rich(grpc.StatusCode.NOT_FOUND, "CONTRACT_NOT_FOUND")]
    async with BrokerClient(address, retry=FAST) as broker:
        with pytest.raises(ContractNotFoundError):
            await broker.get_contract_details(gateway="paper")
        with pytest.raises(TypeError, match="not both"):
            await broker.get_positions(tsvc.GetPositionsRequest(), account="DU1")


class Fence:
    """What ``held.fence`` does for a held lease (and raises once it is lost)."""

    def __init__(self, lost: bool = False) -> None:
        self.lost = lost

    def fence(self, message: Any) -> None:
        if self.lost:
            raise LeaseLostError(lease_pb2.Lease(lease_id="L1", client_id=100), None)
        message.lease_id, message.epoch, message.owner = "L1", 7, "momentum"


async def test_the_blocking_client_has_the_same_calls_and_a_lease_fences_orders(
    scripted: tuple[Scripted, str],
) -> None:
    servicer, address = scripted
    servicer.script = [UNAVAILABLE]

    def blocking() -> None:
        with BrokerClientSync(address, retry=FAST) as broker:
            broker.get_positions(account="DU1")
            request = tsvc.PlaceOrderRequest(single=trading_pb2.OrderSpec(quantity="1"))
            broker.place_order(request, lease=Fence())
            assert not request.lease_id  # the caller's message is left as it was
            with pytest.raises(LeaseLostError):
                broker.cancel_order(lease=Fence(lost=True))

    await asyncio.to_thread(blocking)
    names = [name for name, _ in servicer.requests]
    assert names == ["GetPositions", "GetPositions", "PlaceOrder"]  # nothing sent once lost
    placed = servicer.requests[-1][1]
    assert (placed.lease_id, placed.epoch, placed.owner) == ("L1", 7, "momentum")
