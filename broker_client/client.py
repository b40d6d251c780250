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
from broker_client.auth import TLSConfig
from broker_client.channel import FAILOVER_RECONNECT_OPTIONS, ChannelSpec
from broker_client.failover import Routed, Router, Targets, addresses_of
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import (
    lease_pb2,
    lease_service_pb2,
    market_data_pb2,
    trading_service_pb2,
)
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as trading_grpc
from broker_client.plans import Plan, RetryPolicy, run_async, run_sync, unary_plan
from broker_client.sync_watch import WatchCallsSync
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


STUB_CLASSES = (
    lease_grpc.LeaseServiceStub,
    svc_grpc.ConnectionServiceStub,
    trading_grpc.TradingServiceStub,
)


class _Base:
    """Settings shared by both clients."""

    def __init__(
        self,
        target: str | Sequence[str],
        targets: Targets[Any],
        *,
        timeout: float,
        retry: RetryPolicy | None,
        metadata: Sequence[tuple[str, str]] | None,
    ) -> None:
        self.addresses = addresses_of(target)
        """The broker addresses given, in order."""
        self.router = targets.router
        """Which address calls go to now, and when it moves (:mod:`broker_client.failover`)."""
        self.timeout = timeout
        """Deadline in seconds of each unary call (each attempt)."""
        self.retry = retry or RetryPolicy()
        """How calls that are safe to repeat are retried on UNAVAILABLE."""
        self.metadata = tuple(metadata or ())
        """Metadata sent with every call, e.g. ``(("authorization", "Bearer ..."),)``."""
        self._targets = targets
        self._stubs = Routed(targets, *STUB_CLASSES)

    @property
    def target(self) -> str:
        """The address calls go to now (the first given, until a failover moves it)."""
        return self.router.current

    @property
    def channel(self) -> Any:
        """The channel to :attr:`target`."""
        return self._targets.channel()

    @property
    def leases(self) -> lease_grpc.LeaseServiceStub:
        """The generated LeaseService stub on :attr:`target`, for calls the helpers do not
        cover (a call on it is not moved to another address when it fails)."""
        stub: lease_grpc.LeaseServiceStub = self._targets.stub(lease_grpc.LeaseServiceStub)
        return stub

    @property
    def connections(self) -> svc_grpc.ConnectionServiceStub:
        """The generated ConnectionService stub on :attr:`target`."""
        stub: svc_grpc.ConnectionServiceStub = self._targets.stub(svc_grpc.ConnectionServiceStub)
        return stub

    @property
    def trading(self) -> trading_grpc.TradingServiceStub:
        """The generated TradingService stub on :attr:`target` (typed calls:
        :mod:`broker_client.trading`)."""
        stub: trading_grpc.TradingServiceStub = self._targets.stub(trading_grpc.TradingServiceStub)
        return stub

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


def _spec(addresses: tuple[str, ...], tls: TLSConfig | None, token: str | None) -> ChannelSpec:
    return ChannelSpec(tls, token, FAILOVER_RECONNECT_OPTIONS if len(addresses) > 1 else ())


class BrokerClient(_Base, TradingMethods):
    """An async client of the broker; every failed call raises a :class:`BrokerError`."""

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
        tls: TLSConfig | None = None,
        token: str | None = None,
        follow_unlisted: bool = False,
    ) -> None:
        """``target``: ``"host:port"``, or several brokers sharing one store (a sequence, or
        ``"a:1,b:2"``): calls follow the leader (:mod:`broker_client.failover`), also to a
        ``leader_address`` not among them with ``follow_unlisted``. ``tls`` and ``token``: the
        broker's credentials (:mod:`broker_client.auth`), for every channel the client opens."""
        addresses = addresses_of(target)
        self.channel_spec = _spec(addresses, tls, token)
        """How this client opens channels (credentials and arguments)."""
        router = Router(addresses, follow_unlisted=follow_unlisted)
        super().__init__(
            addresses,
            Targets(router, self.channel_spec.aio),
            timeout=timeout,
            retry=retry,
            metadata=metadata,
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
        """Close the channels."""
        await self._targets.aclose()

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
        return watch.watch_connection_state(self._targets, gateway, **self._watch_kwargs(kwargs))

    def watch_health(
        self, gateway: str = "", **kwargs: Any
    ) -> AsyncGenerator[pb.HealthEvent, None]:
        """Health events, resuming across broker restarts."""
        return watch.watch_health(self._targets, gateway, **self._watch_kwargs(kwargs))

    def watch_leases(
        self, gateway: str = "", owner: str = "", **kwargs: Any
    ) -> AsyncGenerator[lease_pb2.LeaseEvent, None]:
        """Lease events, resuming across broker restarts (see :func:`leases.watch_leases`)."""
        return leases.watch_leases(self._targets, gateway, owner, **self._watch_kwargs(kwargs))

    def watch_market_data(
        self, request: trading_service_pb2.WatchMarketDataRequest, **kwargs: Any
    ) -> AsyncGenerator[market_data_pb2.MarketDataEvent, None]:
        """Market-data events, resuming across broker restarts."""
        return trading.watch_market_data(self._targets, request, **self._watch_kwargs(kwargs))

    def lease(self, **kwargs: Any) -> contextlib.AbstractAsyncContextManager[leases.HeldLease]:
        """``async with client.lease(owner=..., ttl=...) as held:`` (see :mod:`broker_client.leases`);
        its calls follow the leader like the client's."""
        return leases.lease(self._stubs, **kwargs)


class BrokerClientSync(WatchCallsSync, _Base, SyncTradingMethods):
    """The blocking twin of :class:`BrokerClient` for scripts and notebooks: the same calls,
    deadlines, retries and errors; its watches are blocking iterators that run the async ones
    on a thread (:mod:`broker_client.sync_watch`)."""

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
        channel: grpc.Channel | None = None,
        tls: TLSConfig | None = None,
        token: str | None = None,
        follow_unlisted: bool = False,
    ) -> None:
        """As :class:`BrokerClient`; ``channel``: a blocking channel of your own to the one
        address ``target`` (its watches still open their own, with ``tls`` and ``token``)."""
        addresses = addresses_of(target)
        if channel is not None and len(addresses) > 1:
            raise ValueError("channel= goes with one address, not a list")
        self.channel_spec = _spec(addresses, tls, token)
        """How this client opens channels, also on its watch threads."""
        router = Router(addresses, follow_unlisted=follow_unlisted)
        given = channel
        super().__init__(
            addresses,
            Targets(router, (lambda _a: given) if given is not None else self.channel_spec.sync),
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
        """Close the channels."""
        self._targets.close()

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
        """``with client.lease(owner=..., ttl=...) as held:`` (see :func:`leases.lease_sync`);
        its calls follow the leader like the client's."""
        return leases.lease_sync(self._stubs, **kwargs)
