"""The ``ibbroker.v1.LeaseService`` gRPC edge: proto <-> domain, input checks, error mapping.

Every method is wrapped in :func:`unary_errors` (the stream ``WatchLeases`` in
:func:`stream_errors`), so a :class:`DomainError` becomes its rich status. The caller is
resolved once per call by :class:`~broker_server.services.identity.Identity`; every field a
caller can get wrong is checked once, by :mod:`broker_server.domain.lease_input` (fed with what
decoding found here), and answered with INVALID_ARGUMENT and field violations, never UNKNOWN or
INTERNAL.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator

import grpc
from google.protobuf import duration_pb2

from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2, lease_service_pb2_grpc
from broker_server.domain.errors import FieldViolation
from broker_server.domain.lease_input import validate_acquire, validate_fenced
from broker_server.domain.leases import LeaseEvent, LeaseEventKind, LeaseMode
from broker_server.runtime.leases import LeaseManager
from broker_server.services import convert
from broker_server.services.errors import stream_errors, unary_errors
from broker_server.services.identity import Identity

_CONVERTED = 1024
"""Live lease events kept converted (a watcher further behind converts its own)."""

_MODES = {
    lease_pb2.LEASE_MODE_UNSPECIFIED: LeaseMode.DIRECT,
    lease_pb2.LEASE_MODE_DIRECT: LeaseMode.DIRECT,
    lease_pb2.LEASE_MODE_PROXIED: LeaseMode.PROXIED,
}


def _ttl(message: object, violations: list[FieldViolation]) -> float | None:
    """The optional ``ttl`` Duration in seconds; a malformed one is a violation."""
    if not message.HasField("ttl"):  # type: ignore[attr-defined]
        return None
    ttl: duration_pb2.Duration = message.ttl  # type: ignore[attr-defined]
    if (
        not -999_999_999 <= ttl.nanos <= 999_999_999
        or (ttl.seconds > 0 > ttl.nanos)
        or (ttl.seconds < 0 < ttl.nanos)
    ):
        violations.append(
            FieldViolation("ttl", "is not a valid Duration (nanos out of range or of another sign)")
        )
        return None
    return ttl.seconds + ttl.nanos / 1e9


class LeaseServicer(lease_service_pb2_grpc.LeaseServiceServicer):
    """Serves ``ibbroker.v1.LeaseService`` from a :class:`LeaseManager`."""

    def __init__(self, manager: LeaseManager, identity: Identity | None = None) -> None:
        self._manager = manager
        self._identity = identity or Identity()
        # Live events converted once for all watchers (by sequence, unique for live events);
        # snapshots are built per watcher and converted per watcher.
        self._converted: OrderedDict[int, lease_service_pb2.WatchLeasesResponse] = OrderedDict()

    def _response(self, event: LeaseEvent) -> lease_service_pb2.WatchLeasesResponse:
        if event.kind in (LeaseEventKind.SNAPSHOT, LeaseEventKind.SNAPSHOT_END):
            return lease_service_pb2.WatchLeasesResponse(event=convert.lease_event(event))
        response = self._converted.get(event.sequence)
        if response is None:
            response = lease_service_pb2.WatchLeasesResponse(event=convert.lease_event(event))
            self._converted[event.sequence] = response
            if len(self._converted) > _CONVERTED:
                self._converted.popitem(last=False)
        return response

    @unary_errors
    async def AcquireLease(
        self, request: lease_service_pb2.AcquireLeaseRequest, context: grpc.aio.ServicerContext
    ) -> lease_service_pb2.AcquireLeaseResponse:
        violations: list[FieldViolation] = []
        ttl = _ttl(request, violations)
        mode = _MODES.get(request.mode)
        if mode is None:
            violations.append(
                FieldViolation(
                    "mode",
                    f"unknown LeaseMode {request.mode}; use LEASE_MODE_DIRECT or LEASE_MODE_PROXIED",
                )
            )
        acquire = validate_acquire(
            self._manager.policy,
            owner=self._identity.resolve(request, context).name,
            gateway=request.gateway,
            ttl=ttl,
            mode=mode or LeaseMode.DIRECT,
            client_id=request.client_id if request.HasField("client_id") else None,
            request_id=request.request_id,
            extra=violations,
        )
        lease = await self._manager.acquire(acquire)
        return lease_service_pb2.AcquireLeaseResponse(lease=convert.lease(lease))

    @unary_errors
    async def RenewLease(
        self, request: lease_service_pb2.RenewLeaseRequest, context: grpc.aio.ServicerContext
    ) -> lease_service_pb2.RenewLeaseResponse:
        violations: list[FieldViolation] = []
        ttl = _ttl(request, violations)
        renew = validate_fenced(
            self._manager.policy,
            lease_id=request.lease_id,
            epoch=request.epoch,
            owner=self._identity.resolve(request, context).name,
            ttl=ttl,
            extra=violations,
        )
        lease = await self._manager.renew(renew)
        return lease_service_pb2.RenewLeaseResponse(lease=convert.lease(lease))

    @unary_errors
    async def ReleaseLease(
        self, request: lease_service_pb2.ReleaseLeaseRequest, context: grpc.aio.ServicerContext
    ) -> lease_service_pb2.ReleaseLeaseResponse:
        release = validate_fenced(
            self._manager.policy,
            lease_id=request.lease_id,
            epoch=request.epoch,
            owner=self._identity.resolve(request, context).name,
        )
        await self._manager.release(release)
        return lease_service_pb2.ReleaseLeaseResponse()

    @unary_errors
    async def GetLease(
        self, request: lease_service_pb2.GetLeaseRequest, context: grpc.aio.ServicerContext
    ) -> lease_service_pb2.GetLeaseResponse:
        lease = await self._manager.get(request.lease_id)
        return lease_service_pb2.GetLeaseResponse(lease=convert.lease(lease))

    @unary_errors
    async def ListLeases(
        self, request: lease_service_pb2.ListLeasesRequest, context: grpc.aio.ServicerContext
    ) -> lease_service_pb2.ListLeasesResponse:
        leases = await self._manager.list(gateway=request.gateway, owner=request.owner)
        return lease_service_pb2.ListLeasesResponse(
            leases=[convert.lease(lease) for lease in leases]
        )

    @stream_errors
    async def WatchLeases(
        self, request: lease_service_pb2.WatchLeasesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[lease_service_pb2.WatchLeasesResponse]:
        gateway, owner = request.gateway, request.owner
        # Validates like ListLeases before streaming, and expires due leases so the snapshot
        # holds only live ones.
        self._manager.check_filter(gateway=gateway, owner=owner)
        async for event in self._manager.events.subscribe(request.resume_after_sequence):
            if event.passes(gateway=gateway, owner=owner):
                yield self._response(event)
