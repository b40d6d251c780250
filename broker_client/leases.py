"""Hold a client-ID lease for the length of a ``with`` block.

Async::

    async with lease(channel, owner="strategy-a", ttl=30) as held:
        await ib.connectAsync("127.0.0.1", 4002, clientId=held.client_id)
        ...
        held.check()  # raises LeaseLostError once the lease is gone

Plain scripts::

    with lease_sync("127.0.0.1:50051", owner="script") as held:
        ...

Watching every lease of a gateway (or one owner's), across broker restarts::

    async for event in watch_leases(channel, gateway="paper", owner="strategy-a"):
        print(event.sequence, event.kind, event.client_id, event.lease.epoch)

The lease is acquired with a generated ``request_id``, so a retried acquire never takes a second
ID; it is renewed in the background at a third of its TTL, each renew call with a deadline of a
third of the TTL. It is lost locally at (the monotonic time the last successful renewal was
sent) + TTL, whatever the network does, which is always before the broker can give the ID to
anyone else; a refused renew, or an answer whose lease is not ACTIVE or whose expire_time has
passed, loses it at once. Once lost, ``held.lost`` is set and ``held.check()``,
``held.client_id`` and ``held.epoch`` raise :class:`LeaseLostError`. The lease is released on
exit. The logic is written once (:mod:`broker_client.fencing`); the async and the blocking
holder only run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any, TypeVar, cast

from google.protobuf import duration_pb2

from broker_client.channel import FAILOVER_RECONNECT_OPTIONS, ChannelSpec
from broker_client.failover import Routed, Router, Targets, addresses_of
from broker_client.fencing import (
    Keeper,
    LeaseLostError,
    LeasePolicy,
    acquire_plan,
    release_plan,
    renew_plan,
)
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2, lease_service_pb2_grpc
from broker_client.plans import run_async, run_sync
from broker_client.watch import WatchOptions, stream_method, watch_rpc

DIRECT = lease_pb2.LEASE_MODE_DIRECT
"""The strategy connects to TWS itself with the leased client ID."""
PROXIED = lease_pb2.LEASE_MODE_PROXIED
"""The broker opens a session with the leased client ID in its pool."""

DEFAULT_POLICY = LeasePolicy()
R = TypeVar("R")


def _duration(seconds: float) -> duration_pb2.Duration:
    whole, nanos = divmod(round(seconds * 1e9), 1_000_000_000)
    return duration_pb2.Duration(seconds=whole, nanos=nanos)


def _acquire_request(
    owner: str,
    ttl: float | None,
    gateway: str,
    mode: lease_pb2.LeaseMode.ValueType,
    client_id: int | None,
    request_id: str | None,
) -> lease_service_pb2.AcquireLeaseRequest:
    request = lease_service_pb2.AcquireLeaseRequest(
        owner=owner, gateway=gateway, mode=mode, request_id=request_id or str(uuid.uuid4())
    )
    if ttl is not None:
        request.ttl.CopyFrom(_duration(ttl))
    if client_id is not None:
        request.client_id = client_id
    return request


def _stub(target: Any) -> Any:
    if isinstance(target, Routed) or hasattr(target, "AcquireLease"):
        return target
    if isinstance(target, Targets):
        return Routed(target, lease_service_pb2_grpc.LeaseServiceStub)
    return lease_service_pb2_grpc.LeaseServiceStub(target)


def _addresses(target: Any) -> tuple[str, ...] | None:
    """The addresses when ``target`` names brokers (``"host:port"``, ``"a,b"``, a list)."""
    if isinstance(target, str):
        return addresses_of(target)
    if isinstance(target, (list, tuple)) and target and all(isinstance(t, str) for t in target):
        return addresses_of(target)
    return None


def _open_spec(addresses: tuple[str, ...], spec: ChannelSpec | None) -> ChannelSpec:
    if spec is not None:
        return spec
    return ChannelSpec(options=FAILOVER_RECONNECT_OPTIONS if len(addresses) > 1 else ())


# --- holders ----------------------------------------------------------------------------------


class _Holder:
    """What both holders share: the :class:`~broker_client.fencing.Keeper` of one lease."""

    keeper: Keeper

    @property
    def lease(self) -> lease_pb2.Lease:
        """The lease as last acquired or renewed (readable after it is lost)."""
        return self.keeper.lease

    @property
    def deadline(self) -> float:
        """Local ``time.monotonic()`` at which the lease is lost unless renewed: when the last
        successful acquire or renew was sent, plus the TTL."""
        return self.keeper.deadline

    @property
    def error(self) -> LeaseLostError | None:
        """Why the lease is no longer held, once it is not."""
        return self.keeper.error

    @property
    def acquired_at(self) -> float:
        """Monotonic time this holder started to hold the lease."""
        return self.keeper.acquired_at

    @property
    def ended_at(self) -> float | None:
        """Monotonic time this holder stopped holding it (lost or released), None while held."""
        return self.keeper.ended_at

    @property
    def client_id(self) -> int:
        """The leased IB API client ID; raises :class:`LeaseLostError` once lost."""
        self.check()
        return self.keeper.lease.client_id

    @property
    def lease_id(self) -> str:
        """The lease's ID."""
        return self.keeper.lease.lease_id

    @property
    def epoch(self) -> int:
        """The lease's fencing epoch; raises :class:`LeaseLostError` once lost."""
        self.check()
        return self.keeper.lease.epoch

    def check(self) -> None:
        """Raise :class:`LeaseLostError` unless the lease is held now (not lost, not released,
        and its local deadline not reached)."""
        self.keeper.check()

    def fence(self, request: R) -> R:
        """Stamp this lease's ``lease_id`` and ``epoch`` (and ``owner`` when the request has
        one) on a request that acts under the lease, such as ``PlaceOrderRequest``,
        ``ModifyOrderRequest`` or ``CancelOrderRequest``, after :meth:`check`: a lost lease
        raises :class:`LeaseLostError` instead of sending. The broker checks the epoch again."""
        self.check()
        lease, message = self.keeper.lease, cast(Any, request)
        message.lease_id, message.epoch = lease.lease_id, lease.epoch
        if "owner" in message.DESCRIPTOR.fields_by_name and not message.owner:
            message.owner = lease.owner
        return request

    def __repr__(self) -> str:
        lease = self.keeper.lease
        error = self.keeper.error
        state = "held" if error is None else error.why if error.why == "released" else "lost"
        return f"<{type(self).__name__} {lease.gateway}/{lease.client_id} e{lease.epoch} {state}>"


class HeldLease(_Holder):
    """A lease held by :func:`lease`, renewed by a task on the running event loop."""

    def __init__(self, keeper: Keeper, lost: asyncio.Event) -> None:
        self.keeper = keeper
        self.lost = lost
        """Set when the lease is lost."""


class SyncLease(_Holder):
    """A lease held by :func:`lease_sync`, renewed by a background thread."""

    def __init__(self, keeper: Keeper, lost: threading.Event) -> None:
        self.keeper = keeper
        self.lost = lost
        """Set when the lease is lost."""


@contextlib.asynccontextmanager
async def lease(
    target: Any,
    *,
    owner: str,
    ttl: float | None = None,
    gateway: str = "",
    mode: lease_pb2.LeaseMode.ValueType = DIRECT,
    client_id: int | None = None,
    request_id: str | None = None,
    policy: LeasePolicy = DEFAULT_POLICY,
    channel_spec: ChannelSpec | None = None,
) -> AsyncIterator[HeldLease]:
    """Acquire a lease, keep it renewed, release it on exit.

    ``target`` is ``"host:port"`` or several brokers sharing one store (a list, or
    ``"a:1,b:2"``: every call follows the leader; channels with ``channel_spec`` are opened and
    closed here), a ``grpc.aio.Channel``, a ``LeaseServiceStub`` on one, or what
    ``BrokerClient.lease`` passes. ``ttl`` in seconds (None: the broker's default);
    ``gateway`` empty means the default gateway; ``mode`` is :data:`DIRECT` or
    :data:`PROXIED`; ``client_id`` a preference; ``policy`` the renew timing. Raises
    :class:`BrokerError` when the acquire fails.
    """
    async with contextlib.AsyncExitStack() as stack:
        addresses = _addresses(target)
        if addresses is not None:
            spec = _open_spec(addresses, channel_spec)
            target = await stack.enter_async_context(Targets(Router(addresses), spec.aio))
        stub = _stub(target)
        request = _acquire_request(owner, ttl, gateway, mode, client_id, request_id)
        acquired, sent = await run_async(acquire_plan(request, policy), stub)
        lost = asyncio.Event()
        held = HeldLease(Keeper(acquired, sent, on_end=lost.set), lost)
        renewer = asyncio.create_task(
            run_async(renew_plan(held.keeper, owner, policy), stub),
            name=f"lease-renew:{held.lease_id}",
        )
        try:
            yield held
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await run_async(release_plan(held.keeper, owner, policy), stub)


@contextlib.contextmanager
def lease_sync(
    target: Any,
    *,
    owner: str,
    ttl: float | None = None,
    gateway: str = "",
    mode: lease_pb2.LeaseMode.ValueType = DIRECT,
    client_id: int | None = None,
    request_id: str | None = None,
    policy: LeasePolicy = DEFAULT_POLICY,
    channel_spec: ChannelSpec | None = None,
) -> Iterator[SyncLease]:
    """The blocking form of :func:`lease` for plain scripts: the same plans, run by a thread.

    ``target`` is ``"host:port"`` or several addresses (as for :func:`lease`), a
    ``grpc.Channel`` or a ``LeaseServiceStub`` on one.
    """
    with contextlib.ExitStack() as stack:
        addresses = _addresses(target)
        if addresses is not None:
            spec = _open_spec(addresses, channel_spec)
            targets = Targets(Router(addresses), spec.sync)
            stack.callback(targets.close)
            target = targets
        stub = _stub(target)
        request = _acquire_request(owner, ttl, gateway, mode, client_id, request_id)
        acquired, sent = run_sync(acquire_plan(request, policy), stub)
        lost = threading.Event()
        held = SyncLease(Keeper(acquired, sent, on_end=lost.set), lost)
        stop = threading.Event()
        renewer = threading.Thread(
            target=run_sync,
            args=(renew_plan(held.keeper, owner, policy), stub, stop),
            name=f"lease-renew:{held.lease_id}",
            daemon=True,
        )
        renewer.start()
        try:
            yield held
        finally:
            stop.set()
            renewer.join()
            run_sync(release_plan(held.keeper, owner, policy), stub)


def watch_leases(
    target: Any,
    gateway: str = "",
    owner: str = "",
    *,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[lease_pb2.LeaseEvent, None]:
    """Lease events of ``gateway`` and ``owner`` (empty: all), across broker restarts.

    ``target`` is a ``grpc.aio.Channel``, a ``LeaseServiceStub`` on one, or a client's
    :class:`~broker_client.failover.Targets` (reopened on the leader). First one SNAPSHOT
    event per active lease and a SNAPSHOT_END marker, then every event. When the stream breaks
    (UNAVAILABLE) or ends after the broker's FINAL event, it reconnects with exponential backoff
    and full jitter and resumes after the last sequence seen: the broker replays what was
    missed, or sends a fresh snapshot (always after a restart). A new run of SNAPSHOT events up
    to SNAPSHOT_END replaces what you knew. Errors a retry cannot fix (unknown gateway,
    over-long owner) raise :class:`BrokerError`.

    ``options`` (or its field names as keywords: ``resume_after_sequence``, ``metadata``,
    ``initial_backoff``, ``max_backoff``, ``max_attempts``, ``stop_on_final``, ``rng``) say how
    it resumes; see :class:`~broker_client.watch.WatchOptions`.
    """
    return watch_rpc(
        stream_method(target, lease_service_pb2_grpc.LeaseServiceStub, "WatchLeases"),
        lambda after: lease_service_pb2.WatchLeasesRequest(
            gateway=gateway, owner=owner, resume_after_sequence=after
        ),
        lease_pb2.LEASE_EVENT_KIND_FINAL,
        (options or WatchOptions()).with_overrides(**overrides),
    )
