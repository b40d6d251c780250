"""``BrokerClient``: one channel to the broker with its stubs and helpers.

Example::

    async with BrokerClient("127.0.0.1:50051") as broker:
        state = await broker.get_connection_state()
        async with broker.lease(owner="momentum", ttl=30) as held:
            await ib.connectAsync("127.0.0.1", 4002, clientId=held.client_id)  # DIRECT lease
        async for event in broker.watch_connection_state():
            ...

Every unary call has a deadline (``timeout``, 10 s by default). Calls that are safe to repeat
(the reads: state, health, sessions, leases) are retried on UNAVAILABLE with exponential backoff
and full jitter (``RetryPolicy``), honouring the broker's ``retry_delay``; a write is never
repeated here (a lease acquire carries its own idempotency key and is retried by the lease
helper). Failures raise the typed :class:`~broker_client.errors.BrokerError` of their reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import grpc

from broker_client import leases, watch
from broker_client.channel import aio_channel
from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as trading_grpc
from broker_client.trading import TradingMethods

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How calls that are safe to repeat are retried on UNAVAILABLE."""

    attempts: int = 4
    """Calls at most, the first included (1: never retry)."""
    initial_backoff: float = 0.1
    """Ceiling of the first delay in seconds (full jitter); doubles per retry."""
    max_backoff: float = 2.0
    """Largest delay in seconds, also for a longer ``retry_delay`` from the broker."""
    rng: random.Random = field(default_factory=random.Random, compare=False)
    """The jitter's random source."""


class BrokerClient(TradingMethods):
    """An async client of the broker; every failed call raises a :class:`BrokerError`."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        """Deadline in seconds of each unary call (each attempt)."""
        self.retry = retry or RetryPolicy()
        """How reads are retried on UNAVAILABLE."""
        self.metadata = tuple(metadata or ())
        """Metadata sent with every call, e.g. ``(("authorization", "Bearer ..."),)``."""
        self.channel = aio_channel(target)
        self.leases = lease_grpc.LeaseServiceStub(self.channel)
        """The generated LeaseService stub, for calls the helpers do not cover."""
        self.connections = svc_grpc.ConnectionServiceStub(self.channel)
        """The generated ConnectionService stub."""
        self.trading = trading_grpc.TradingServiceStub(self.channel)
        """The generated TradingService stub (typed methods: :mod:`broker_client.trading`)."""

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

    async def _call(
        self, rpc: Callable[..., Awaitable[T]], request: Any, *, safe_to_repeat: bool
    ) -> T:
        """One unary call with the client's deadline; repeated on UNAVAILABLE only when
        ``safe_to_repeat`` (a read, or a write carrying an idempotency key)."""
        attempts = self.retry.attempts if safe_to_repeat else 1
        ceiling = self.retry.initial_backoff
        for attempt in range(1, attempts + 1):
            try:
                return await rpc(request, timeout=self.timeout, metadata=self.metadata)
            except grpc.aio.AioRpcError as err:
                error = BrokerError.from_rpc_error(err)
                if error.code != grpc.StatusCode.UNAVAILABLE or attempt == attempts:
                    raise error from err
            delay = error.retry_delay
            if delay is None:
                delay = self.retry.rng.uniform(0, ceiling)
            await asyncio.sleep(min(delay, self.retry.max_backoff))
            ceiling = min(ceiling * 2, self.retry.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    def _watch_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The client's metadata for a watch, unless the caller gave some."""
        options = kwargs.get("options")
        if self.metadata and "metadata" not in kwargs:
            if options is None or options.metadata is None:
                kwargs["metadata"] = self.metadata
        return kwargs

    # --- connections --------------------------------------------------------------------------

    async def get_connection_state(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """State of every gateway (or one)."""
        reply = await self._call(
            self.connections.GetConnectionState,
            svc.GetConnectionStateRequest(gateway=gateway),
            safe_to_repeat=True,
        )
        return list(reply.gateways)

    async def get_health(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """Health and metrics of every gateway (or one), per session."""
        reply = await self._call(
            self.connections.GetHealth, svc.GetHealthRequest(gateway=gateway), safe_to_repeat=True
        )
        return list(reply.gateways)

    async def list_sessions(self, gateway: str = "") -> list[pb.SessionInfo]:
        """The broker's IB sessions."""
        reply = await self._call(
            self.connections.ListSessions,
            svc.ListSessionsRequest(gateway=gateway),
            safe_to_repeat=True,
        )
        return list(reply.sessions)

    async def reconnect(
        self, gateway: str = "", session: str = "", reason: str = ""
    ) -> svc.ReconnectResponse:
        """Ask the broker to reconnect a gateway (or one session); an admin call, never
        repeated by the client (pass the token in ``metadata``)."""
        return await self._call(
            self.connections.Reconnect,
            svc.ReconnectRequest(gateway=gateway, session=session, reason=reason),
            safe_to_repeat=False,
        )

    def watch_connection_state(
        self, gateway: str = "", **kwargs: Any
    ) -> AsyncIterator[pb.ConnectionEvent]:
        """State events, resuming across broker restarts (see :mod:`broker_client.watch`)."""
        return watch.watch_connection_state(self.channel, gateway, **self._watch_kwargs(kwargs))

    def watch_health(self, gateway: str = "", **kwargs: Any) -> AsyncIterator[pb.HealthEvent]:
        """Health events, resuming across broker restarts."""
        return watch.watch_health(self.channel, gateway, **self._watch_kwargs(kwargs))

    # --- leases -------------------------------------------------------------------------------

    async def get_lease(self, lease_id: str) -> lease_pb2.Lease:
        """One lease by ID (active or ended)."""
        reply = await self._call(
            self.leases.GetLease,
            lease_service_pb2.GetLeaseRequest(lease_id=lease_id),
            safe_to_repeat=True,
        )
        return reply.lease

    async def list_leases(self, gateway: str = "", owner: str = "") -> list[lease_pb2.Lease]:
        """The active leases of a gateway and owner (empty: all)."""
        reply = await self._call(
            self.leases.ListLeases,
            lease_service_pb2.ListLeasesRequest(gateway=gateway, owner=owner),
            safe_to_repeat=True,
        )
        return list(reply.leases)

    def watch_leases(
        self, gateway: str = "", owner: str = "", **kwargs: Any
    ) -> AsyncIterator[lease_pb2.LeaseEvent]:
        """Lease events, resuming across broker restarts (see :func:`leases.watch_leases`)."""
        return leases.watch_leases(self.leases, gateway, owner, **self._watch_kwargs(kwargs))

    def lease(self, **kwargs: Any) -> contextlib.AbstractAsyncContextManager[leases.HeldLease]:
        """``async with client.lease(owner=..., ttl=...) as held:`` (see :mod:`broker_client.leases`)."""
        return leases.lease(self.leases, **kwargs)
