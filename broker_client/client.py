"""``BrokerClient`` (async) and ``BrokerClientSync`` (blocking): one channel to the broker with
its stubs and helpers, the same methods in both.

Example::

    async with BrokerClient("127.0.0.1:50051") as broker:
        state = await broker.get_connection_state()
        async with broker.lease(owner="momentum", ttl=30) as held:
            await ib.connectAsync("127.0.0.1", 4002, clientId=held.client_id)  # DIRECT lease
        async for event in broker.watch_connection_state():
            ...

    with BrokerClientSync("127.0.0.1:50051") as broker:
        leases = broker.list_leases(owner="momentum")

Every unary call has a deadline (``timeout``, 10 s by default). Calls that are safe to repeat
(the reads: state, health, sessions, leases) are retried on UNAVAILABLE with exponential backoff
and full jitter (:class:`~broker_client.plans.RetryPolicy`), honouring the broker's
``retry_delay``; a write is never repeated here (a lease acquire carries its own idempotency key
and is retried by the lease helper). Failures raise the typed
:class:`~broker_client.errors.BrokerError` of their reason.

Each call is described once (:class:`Op`: method, request, whether it is safe to repeat, how
to read the answer) and run by the retry plan of :mod:`broker_client.plans`; the two clients
only differ in the driver that runs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc

from broker_client import leases, trading, watch
from broker_client.channel import aio_channel, sync_channel
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2, market_data_pb2, trading_pb2
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_client.ibbroker.v1 import trading_service_pb2 as tsvc
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as tsvc_grpc
from broker_client.plans import Plan, RetryPolicy, run_async, run_sync, unary_plan
from broker_client.trading import SyncTradingMethods, TradingMethods

T = TypeVar("T")


@dataclass(frozen=True)
class Op(Generic[T]):
    """One unary call of the broker, independent of sync or async."""

    method: str
    """The stub method (names are unique across the broker's services)."""
    request: Any
    safe_to_repeat: bool
    """A read, or a write carrying an idempotency key: retried on UNAVAILABLE."""
    result: Callable[[Any], T]
    """What the caller gets from the response."""


def get_connection_state(gateway: str = "") -> Op[list[pb.GatewayStatus]]:
    return Op(
        "GetConnectionState",
        svc.GetConnectionStateRequest(gateway=gateway),
        True,
        lambda r: list(r.gateways),
    )


def get_health(gateway: str = "") -> Op[list[pb.GatewayStatus]]:
    return Op("GetHealth", svc.GetHealthRequest(gateway=gateway), True, lambda r: list(r.gateways))


def list_sessions(gateway: str = "") -> Op[list[pb.SessionInfo]]:
    return Op(
        "ListSessions", svc.ListSessionsRequest(gateway=gateway), True, lambda r: list(r.sessions)
    )


def reconnect(gateway: str = "", session: str = "", reason: str = "") -> Op[Any]:
    request = svc.ReconnectRequest(gateway=gateway, session=session, reason=reason)
    return Op("Reconnect", request, False, lambda r: r)


def get_lease(lease_id: str) -> Op[lease_pb2.Lease]:
    request = lease_service_pb2.GetLeaseRequest(lease_id=lease_id)
    return Op("GetLease", request, True, lambda r: r.lease)


def list_leases(gateway: str = "", owner: str = "") -> Op[list[lease_pb2.Lease]]:
    request = lease_service_pb2.ListLeasesRequest(gateway=gateway, owner=owner)
    return Op("ListLeases", request, True, lambda r: list(r.leases))


class _Stubs:
    """Both generated stubs behind one object, for the plan drivers."""

    def __init__(self, *stubs: Any) -> None:
        self._stubs = stubs

    def __getattr__(self, name: str) -> Any:
        for stub in self._stubs:
            if hasattr(stub, name):
                return getattr(stub, name)
        raise AttributeError(name)


class _Base:
    """Settings shared by both clients."""

    def __init__(
        self,
        target: str,
        channel: Any,
        *,
        timeout: float,
        retry: RetryPolicy | None,
        metadata: Sequence[tuple[str, str]] | None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        """Deadline in seconds of each unary call (each attempt)."""
        self.retry = retry or RetryPolicy()
        """How calls that are safe to repeat are retried on UNAVAILABLE."""
        self.metadata = tuple(metadata or ())
        """Metadata sent with every call, e.g. ``(("authorization", "Bearer ..."),)``."""
        self.channel = channel
        self.leases = lease_grpc.LeaseServiceStub(channel)
        """The generated LeaseService stub, for calls the helpers do not cover."""
        self.connections = svc_grpc.ConnectionServiceStub(channel)
        """The generated ConnectionService stub."""
        self.trading = tsvc_grpc.TradingServiceStub(channel)
        """The generated TradingService stub (typed calls: :mod:`broker_client.trading`)."""
        self._stubs = _Stubs(self.leases, self.connections, self.trading)

    def _plan(self, op: Op[Any]) -> Plan:
        return unary_plan(
            op.method,
            op.request,
            timeout=self.timeout,
            retry=self.retry,
            safe_to_repeat=op.safe_to_repeat,
            metadata=self.metadata,
        )

    def _watch_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The client's metadata for a watch, unless the caller gave some."""
        options = kwargs.get("options")
        if self.metadata and "metadata" not in kwargs:
            if options is None or options.metadata is None:
                kwargs["metadata"] = self.metadata
        return kwargs


class BrokerClient(_Base, TradingMethods):
    """An async client of the broker; every failed call raises a :class:`BrokerError`."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(
            target, aio_channel(target), timeout=timeout, retry=retry, metadata=metadata
        )

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

    async def call(self, op: Op[T]) -> T:
        """Run one :class:`Op` with the client's deadline and retry policy."""
        return op.result(await run_async(self._plan(op), self._stubs))

    async def get_connection_state(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """State of every gateway (or one)."""
        return await self.call(get_connection_state(gateway))

    async def get_health(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """Health and metrics of every gateway (or one), per session."""
        return await self.call(get_health(gateway))

    async def list_sessions(self, gateway: str = "") -> list[pb.SessionInfo]:
        """The broker's IB sessions."""
        return await self.call(list_sessions(gateway))

    async def reconnect(
        self, gateway: str = "", session: str = "", reason: str = ""
    ) -> svc.ReconnectResponse:
        """Ask the broker to reconnect a gateway (or one session); an admin call, never
        repeated by the client (pass the token in ``metadata``)."""
        return await self.call(reconnect(gateway, session, reason))

    async def get_lease(self, lease_id: str) -> lease_pb2.Lease:
        """One lease by ID (active or ended)."""
        return await self.call(get_lease(lease_id))

    async def list_leases(self, gateway: str = "", owner: str = "") -> list[lease_pb2.Lease]:
        """The active leases of a gateway and owner (empty: all)."""
        return await self.call(list_leases(gateway, owner))

    def watch_connection_state(
        self, gateway: str = "", **kwargs: Any
    ) -> AsyncGenerator[pb.ConnectionEvent, None]:
        """State events, resuming across broker restarts (see :mod:`broker_client.watch`)."""
        return watch.watch_connection_state(self.channel, gateway, **self._watch_kwargs(kwargs))

    def watch_health(
        self, gateway: str = "", **kwargs: Any
    ) -> AsyncGenerator[pb.HealthEvent, None]:
        """Health events, resuming across broker restarts."""
        return watch.watch_health(self.channel, gateway, **self._watch_kwargs(kwargs))

    def watch_leases(
        self, gateway: str = "", owner: str = "", **kwargs: Any
    ) -> AsyncGenerator[lease_pb2.LeaseEvent, None]:
        """Lease events, resuming across broker restarts (see :func:`leases.watch_leases`)."""
        return leases.watch_leases(self.leases, gateway, owner, **self._watch_kwargs(kwargs))

    def watch_order_events(
        self, gateway: str = "", owner: str = "", **kwargs: Any
    ) -> AsyncGenerator[trading_pb2.OrderEvent, None]:
        """Order events, resuming across broker restarts (see :mod:`broker_client.trading`)."""
        return trading.watch_order_events(
            self.trading, gateway, owner, **self._watch_kwargs(kwargs)
        )

    def watch_market_data(
        self, request: tsvc.WatchMarketDataRequest, **kwargs: Any
    ) -> AsyncGenerator[market_data_pb2.MarketDataEvent, None]:
        """Market-data events, resuming across broker restarts."""
        return trading.watch_market_data(self.trading, request, **self._watch_kwargs(kwargs))

    def lease(self, **kwargs: Any) -> contextlib.AbstractAsyncContextManager[leases.HeldLease]:
        """``async with client.lease(owner=..., ttl=...) as held:`` (see :mod:`broker_client.leases`)."""
        return leases.lease(self.leases, **kwargs)


class BrokerClientSync(_Base, SyncTradingMethods):
    """The blocking twin of :class:`BrokerClient` for scripts and notebooks: the same calls,
    deadlines, retries and errors. Watches are async only (use :class:`BrokerClient`)."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        super().__init__(
            target,
            channel if channel is not None else sync_channel(target),
            timeout=timeout,
            retry=retry,
            metadata=metadata,
        )

    def __enter__(self) -> BrokerClientSync:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def call(self, op: Op[T]) -> T:
        """Run one :class:`Op` with the client's deadline and retry policy."""
        return op.result(run_sync(self._plan(op), self._stubs))

    def get_connection_state(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """State of every gateway (or one)."""
        return self.call(get_connection_state(gateway))

    def get_health(self, gateway: str = "") -> list[pb.GatewayStatus]:
        """Health and metrics of every gateway (or one), per session."""
        return self.call(get_health(gateway))

    def list_sessions(self, gateway: str = "") -> list[pb.SessionInfo]:
        """The broker's IB sessions."""
        return self.call(list_sessions(gateway))

    def reconnect(
        self, gateway: str = "", session: str = "", reason: str = ""
    ) -> svc.ReconnectResponse:
        """Ask the broker to reconnect a gateway (or one session); never repeated."""
        return self.call(reconnect(gateway, session, reason))

    def get_lease(self, lease_id: str) -> lease_pb2.Lease:
        """One lease by ID (active or ended)."""
        return self.call(get_lease(lease_id))

    def list_leases(self, gateway: str = "", owner: str = "") -> list[lease_pb2.Lease]:
        """The active leases of a gateway and owner (empty: all)."""
        return self.call(list_leases(gateway, owner))

    def lease(self, **kwargs: Any) -> contextlib.AbstractContextManager[leases.SyncLease]:
        """``with client.lease(owner=..., ttl=...) as held:`` (see :func:`leases.lease_sync`)."""
        return leases.lease_sync(self.leases, **kwargs)
