"""Hold a client-ID lease for the length of a ``with`` block.

Async::

    async with lease(channel, owner="strategy-a", ttl=30) as held:
        ib.connect("127.0.0.1", 4002, clientId=held.client_id)
        ...
        held.check()  # raises LeaseLostError once the lease is gone

Plain scripts::

    with lease_sync("127.0.0.1:50051", owner="script") as held:
        ...

Watching every lease of a gateway (or one owner's), across broker restarts::

    async for event in watch_leases(channel, gateway="paper", owner="strategy-a"):
        print(event.sequence, event.kind, event.client_id, event.lease.epoch)

The lease is acquired with a generated ``request_id``, so a retried acquire never takes a second
ID; it is renewed in the background at a third of its TTL; a lost lease (refused renew, or its
expire_time passed without a successful renew) sets ``held.lost`` and makes ``held.check()``
raise; the lease is released on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any, Protocol

import grpc
from google.protobuf import duration_pb2

from broker_client.channel import aio_channel, sync_channel
from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2, lease_service_pb2_grpc
from broker_client.watch import WatchOptions, watch_rpc

log = logging.getLogger("ibbroker.client.leases")

DIRECT = lease_pb2.LEASE_MODE_DIRECT
"""The strategy connects to TWS itself with the leased client ID."""
PROXIED = lease_pb2.LEASE_MODE_PROXIED
"""The broker opens a session with the leased client ID in its pool."""

_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
_ACQUIRE_ATTEMPTS = 4
_CALL_TIMEOUT = 10.0


class LeaseLostError(Exception):
    """The lease is gone: the broker refused a renew, or it expired without a renew."""

    def __init__(self, lease: lease_pb2.Lease, cause: BaseException | None) -> None:
        why = f": {cause}" if cause is not None else ""
        super().__init__(f"lease {lease.lease_id} (client ID {lease.client_id}) lost{why}")
        self.lease = lease
        self.cause = cause


def _duration(seconds: float) -> duration_pb2.Duration:
    whole, nanos = divmod(round(seconds * 1e9), 1_000_000_000)
    return duration_pb2.Duration(seconds=whole, nanos=nanos)


def _acquire_request(
    owner: str,
    ttl: float | None,
    gateway: str,
    mode: lease_pb2.LeaseMode.ValueType,
    client_id: int | None,
    request_id: str,
) -> lease_service_pb2.AcquireLeaseRequest:
    request = lease_service_pb2.AcquireLeaseRequest(
        owner=owner,
        gateway=gateway,
        mode=mode,
        request_id=request_id,
    )
    if ttl is not None:
        request.ttl.CopyFrom(_duration(ttl))
    if client_id is not None:
        request.client_id = client_id
    return request


def _ttl_seconds(lease: lease_pb2.Lease) -> float:
    return lease.ttl.seconds + lease.ttl.nanos / 1e9


class _Settable(Protocol):
    def set(self) -> None: ...


class _Lease:
    """What both holders share: the current lease proto and whether it has been lost."""

    lease: lease_pb2.Lease
    error: LeaseLostError | None
    lost: _Settable

    @property
    def client_id(self) -> int:
        """The leased IB API client ID."""
        return self.lease.client_id

    @property
    def lease_id(self) -> str:
        """The lease's ID."""
        return self.lease.lease_id

    @property
    def epoch(self) -> int:
        """The lease's fencing epoch."""
        return self.lease.epoch

    def check(self) -> None:
        """Raise :class:`LeaseLostError` if the lease has been lost."""
        if self.error is not None:
            raise self.error

    def _lose(self, cause: BaseException | None) -> None:
        if self.error is None:
            self.error = LeaseLostError(self.lease, cause)
            self.lost.set()
            log.warning("lease lost: %s", self.error)


class HeldLease(_Lease):
    """A lease held by :func:`lease`: its current proto, and whether it has been lost."""

    lost: asyncio.Event

    def __init__(self, lease: lease_pb2.Lease, sent: float) -> None:
        self.lease = lease
        """The lease as last acquired or renewed."""
        self.deadline = sent + _ttl_seconds(lease)
        """Local ``time.monotonic()`` by which the lease surely ends unless renewed: counted from
        when the granting call was sent, so neither clock skew nor latency makes it late."""
        self.lost = asyncio.Event()
        """Set when the lease is lost."""
        self.error: LeaseLostError | None = None
        """Why the lease was lost, once it was."""

    def __repr__(self) -> str:
        state = "lost" if self.error is not None else "held"
        return f"<HeldLease {self.lease.gateway}/{self.client_id} e{self.epoch} {state}>"


def _stub(target: Any) -> Any:
    if hasattr(target, "AcquireLease"):
        return target
    return lease_service_pb2_grpc.LeaseServiceStub(target)


async def _acquire(
    stub: Any, request: lease_service_pb2.AcquireLeaseRequest
) -> tuple[lease_pb2.Lease, float]:
    """AcquireLease, retried with the same request_id while the broker is unavailable; returns
    the lease and the monotonic time the successful call was sent."""
    delay = 0.2
    for attempt in range(_ACQUIRE_ATTEMPTS):
        sent = time.monotonic()
        try:
            response = await stub.AcquireLease(request, timeout=_CALL_TIMEOUT)
            return response.lease, sent
        except grpc.RpcError as err:
            error = BrokerError.from_rpc_error(err)
            if error.code not in _TRANSIENT or attempt == _ACQUIRE_ATTEMPTS - 1:
                raise error from err
            await asyncio.sleep(error.retry_after or delay)
            delay *= 2
    raise AssertionError("unreachable")


async def _renew_forever(stub: Any, held: HeldLease, owner: str) -> None:
    """Renew at a third of the TTL; retry transient failures until the lease would expire."""
    while True:
        await asyncio.sleep(_ttl_seconds(held.lease) / 3)
        while True:
            request = lease_service_pb2.RenewLeaseRequest(
                lease_id=held.lease_id, epoch=held.epoch, owner=owner
            )
            sent = time.monotonic()
            try:
                response = await stub.RenewLease(request, timeout=_CALL_TIMEOUT)
                held.lease = response.lease
                held.deadline = sent + _ttl_seconds(response.lease)
                break
            except grpc.RpcError as err:
                error = BrokerError.from_rpc_error(err)
                left = held.deadline - time.monotonic()
                if error.code not in _TRANSIENT or left <= 0:
                    held._lose(error)
                    return
                await asyncio.sleep(min(error.retry_after or 1.0, max(left / 2, 0.05)))


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
) -> AsyncIterator[HeldLease]:
    """Acquire a lease, keep it renewed, release it on exit.

    ``target`` is ``"host:port"`` (a channel is opened and closed here), a ``grpc.aio.Channel``
    or a ``LeaseServiceStub`` on one. ``ttl`` in seconds (None: the broker's default);
    ``gateway`` empty means the default gateway; ``mode`` is :data:`DIRECT` or
    :data:`PROXIED`; ``client_id`` a preference. Raises :class:`BrokerError` when the acquire
    fails.
    """
    async with contextlib.AsyncExitStack() as stack:
        if isinstance(target, str):
            target = await stack.enter_async_context(aio_channel(target))
        stub = _stub(target)
        request = _acquire_request(
            owner, ttl, gateway, mode, client_id, request_id or str(uuid.uuid4())
        )
        async with _hold(stub, request, owner) as held:
            yield held


@contextlib.asynccontextmanager
async def _hold(
    stub: Any, request: lease_service_pb2.AcquireLeaseRequest, owner: str
) -> AsyncIterator[HeldLease]:
    held = HeldLease(*await _acquire(stub, request))
    renewer = asyncio.create_task(
        _renew_forever(stub, held, owner), name=f"lease-renew:{held.lease_id}"
    )
    try:
        yield held
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        if held.error is None:
            release = lease_service_pb2.ReleaseLeaseRequest(
                lease_id=held.lease_id, epoch=held.epoch, owner=owner
            )
            try:
                await stub.ReleaseLease(release, timeout=_CALL_TIMEOUT)
            except grpc.RpcError as err:
                # The lease expires on its own; failing the block for it would hide its result.
                log.warning("lease release failed: %s", BrokerError.from_rpc_error(err))


class SyncLease(_Lease):
    """A lease held by :func:`lease_sync`, renewed by a background thread."""

    lost: threading.Event

    def __init__(self, stub: Any, lease: lease_pb2.Lease, owner: str, sent: float) -> None:
        self._stub = stub
        self._owner = owner
        self.lease = lease
        """The lease as last acquired or renewed."""
        self.deadline = sent + _ttl_seconds(lease)
        """Local ``time.monotonic()`` by which the lease surely ends unless renewed."""
        self.lost = threading.Event()
        """Set when the lease is lost."""
        self.error: LeaseLostError | None = None
        """Why the lease was lost, once it was."""
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._renew, name=f"lease-renew:{lease.lease_id}", daemon=True
        )

    def _renew(self) -> None:
        while not self._stop.wait(_ttl_seconds(self.lease) / 3):
            while True:
                request = lease_service_pb2.RenewLeaseRequest(
                    lease_id=self.lease_id, epoch=self.epoch, owner=self._owner
                )
                sent = time.monotonic()
                try:
                    self.lease = self._stub.RenewLease(request, timeout=_CALL_TIMEOUT).lease
                    self.deadline = sent + _ttl_seconds(self.lease)
                    break
                except grpc.RpcError as err:
                    error = BrokerError.from_rpc_error(err)
                    left = self.deadline - time.monotonic()
                    if error.code not in _TRANSIENT or left <= 0:
                        self._lose(error)
                        return
                    if self._stop.wait(min(error.retry_after or 1.0, max(left / 2, 0.05))):
                        return

    def _start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop renewing and release the lease (once)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        if self.error is None:
            release = lease_service_pb2.ReleaseLeaseRequest(
                lease_id=self.lease_id, epoch=self.epoch, owner=self._owner
            )
            try:
                self._stub.ReleaseLease(release, timeout=_CALL_TIMEOUT)
            except grpc.RpcError as err:
                log.warning("lease release failed: %s", BrokerError.from_rpc_error(err))

    def __repr__(self) -> str:
        state = "lost" if self.error is not None else "held"
        return f"<SyncLease {self.lease.gateway}/{self.client_id} e{self.epoch} {state}>"


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
) -> Iterator[SyncLease]:
    """The blocking form of :func:`lease` for plain scripts.

    ``target`` is ``"host:port"`` (a channel with the broker's options is opened and closed
    here), a
    ``grpc.Channel`` or a ``LeaseServiceStub`` on one.
    """
    channel = sync_channel(target) if isinstance(target, str) else None
    stub = _stub(channel if channel is not None else target)
    try:
        request = _acquire_request(
            owner, ttl, gateway, mode, client_id, request_id or str(uuid.uuid4())
        )
        delay = 0.2
        for attempt in range(_ACQUIRE_ATTEMPTS):
            sent = time.monotonic()
            try:
                acquired = stub.AcquireLease(request, timeout=_CALL_TIMEOUT).lease
                break
            except grpc.RpcError as err:
                error = BrokerError.from_rpc_error(err)
                if error.code not in _TRANSIENT or attempt == _ACQUIRE_ATTEMPTS - 1:
                    raise error from err
                time.sleep(error.retry_after or delay)
                delay *= 2
        held = SyncLease(stub, acquired, owner, sent)
        held._start()
        try:
            yield held
        finally:
            held.close()
    finally:
        if channel is not None:
            channel.close()


def watch_leases(
    target: Any,
    gateway: str = "",
    owner: str = "",
    *,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[lease_pb2.LeaseEvent, None]:
    """Lease events of ``gateway`` and ``owner`` (empty: all), across broker restarts.

    ``target`` is a ``grpc.aio.Channel`` or a ``LeaseServiceStub`` on one. First one SNAPSHOT
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
    stub = _stub(target)
    return watch_rpc(
        stub.WatchLeases,
        lambda after: lease_service_pb2.WatchLeasesRequest(
            gateway=gateway, owner=owner, resume_after_sequence=after
        ),
        lease_pb2.LEASE_EVENT_KIND_FINAL,
        (options or WatchOptions()).with_overrides(**overrides),
    )
