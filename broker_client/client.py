"""``BrokerClient``: one channel to the broker with its stubs and helpers.

Example::

    async with BrokerClient("127.0.0.1:50051") as broker:
        state = await broker.get_connection_state()
        async with broker.lease(owner="momentum", ttl=30) as held:
            await ib.connectAsync("127.0.0.1", 4002, clientId=held.client_id)  # DIRECT lease
        async for event in broker.watch_connection_state():
            ...
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc

from broker_client import leases, watch
from broker_client.channel import aio_channel
from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc

T = TypeVar("T")


class BrokerClient:
    """An async client of the broker; every failed call raises :class:`BrokerError`."""

    def __init__(self, target: str, *, timeout: float = 10.0) -> None:
        self.target = target
        self.timeout = timeout
        """Deadline in seconds of each unary call."""
        self.channel = aio_channel(target)
        self.leases = lease_grpc.LeaseServiceStub(self.channel)
        """The generated LeaseService stub, for calls the helpers do not cover."""
        self.connections = svc_grpc.ConnectionServiceStub(self.channel)
        """The generated ConnectionService stub."""

    async def __aenter__(self) -> BrokerClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel."""
        await self.channel.close()

    async def _call(self, rpc: Callable[..., Awaitable[T]], request: Any) -> T:
        try:
            return await rpc(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as err:
            raise BrokerError.from_rpc_error(err) from err

    async def get_connection_state(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """State of every gateway (or one)."""
        reply = await self._call(
            self.connections.GetConnectionState, svc.GetConnectionStateRequest(gateway=gateway)
        )
        return list(reply.gateways)

    async def get_health(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """Health and metrics of every gateway (or one), per session."""
        reply = await self._call(self.connections.GetHealth, svc.GetHealthRequest(gateway=gateway))
        return list(reply.gateways)

    async def list_sessions(self, gateway: str = "") -> list[pb.SessionInfo]:
        """The broker's IB sessions."""
        reply = await self._call(
            self.connections.ListSessions, svc.ListSessionsRequest(gateway=gateway)
        )
        return list(reply.sessions)

    def watch_connection_state(
        self, gateway: str = "", **kwargs: Any
    ) -> AsyncIterator[pb.ConnectionEvent]:
        """State events, resuming across broker restarts (see :mod:`broker_client.watch`)."""
        return watch.watch_connection_state(self.channel, gateway, **kwargs)

    def watch_health(self, gateway: str = "", **kwargs: Any) -> AsyncIterator[pb.HealthEvent]:
        """Health events, resuming across broker restarts."""
        return watch.watch_health(self.channel, gateway, **kwargs)

    def watch_leases(
        self, gateway: str = "", owner: str = "", **kwargs: Any
    ) -> AsyncIterator[lease_pb2.LeaseEvent]:
        """Lease events, resuming across broker restarts (see :func:`leases.watch_leases`)."""
        return leases.watch_leases(self.leases, gateway, owner, **kwargs)

    def lease(self, **kwargs: Any) -> contextlib.AbstractAsyncContextManager[leases.HeldLease]:
        """``async with client.lease(owner=..., ttl=...) as held:`` (see :mod:`broker_client.leases`)."""
        return leases.lease(self.leases, **kwargs)
