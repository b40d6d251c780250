"""ConnectionService: the gRPC face of the connection manager (state, health, sessions)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import grpc

from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_server.config import Secret
from broker_server.domain.errors import FieldViolation, invalid_argument
from broker_server.domain.events import (
    ConnectionEvent,
    EventKind,
    GatewaySnapshot,
    HealthEvent,
    SessionSnapshot,
)
from broker_server.runtime.events import EventHub
from broker_server.services import convert
from broker_server.services.errors import stream_errors, unary_errors
from broker_server.services.identity import Identity

MAX_REASON_LENGTH = 256
"""Longest ``reason`` a Reconnect may carry (it goes into every watcher's event and the log)."""


class ConnectionView(Protocol):
    """What the service needs from the connection manager."""

    state_events: EventHub[ConnectionEvent]
    health_events: EventHub[HealthEvent]

    def gateways(self, name: str = "") -> list[GatewaySnapshot]:
        """Snapshots of every gateway, or the one named (DomainError when unknown)."""
        ...

    def sessions(self, gateway: str = "") -> list[SessionSnapshot]:
        """Snapshots of every session, or those of one gateway."""
        ...

    async def reconnect(self, gateway: str, session: str, reason: str) -> tuple[list[str], float]:
        """Reconnect sessions; returns their names and the time they are expected back within."""
        ...


def _matches(event: ConnectionEvent | HealthEvent, gateway: str) -> bool:
    # The FINAL event ends every stream, whatever gateway the watcher filters on.
    return not gateway or event.gateway == gateway or event.kind is EventKind.FINAL


class ConnectionServicer(svc_grpc.ConnectionServiceServicer):
    """Implements ``ibbroker.v1.ConnectionService`` over a :class:`ConnectionView`."""

    def __init__(
        self,
        view: ConnectionView,
        admin_token: Secret | None = None,
        *,
        identity: Identity | None = None,
    ) -> None:
        """``identity`` decides who may call admin RPCs; without one, an :class:`Identity`
        with ``admin_token`` is built."""
        self._view = view
        self._identity = identity or Identity(admin_token)

    @unary_errors
    async def GetConnectionState(
        self, request: svc.GetConnectionStateRequest, context: grpc.aio.ServicerContext
    ) -> svc.GetConnectionStateResponse:
        return svc.GetConnectionStateResponse(
            gateways=[convert.gateway(g) for g in self._view.gateways(request.gateway)]
        )

    @stream_errors
    async def WatchConnectionState(
        self, request: svc.WatchConnectionStateRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[svc.WatchConnectionStateResponse]:
        self._view.gateways(request.gateway)  # validates the name before streaming
        async for event in self._view.state_events.subscribe(request.resume_after_sequence):
            if _matches(event, request.gateway):
                yield svc.WatchConnectionStateResponse(event=convert.connection_event(event))

    @unary_errors
    async def GetHealth(
        self, request: svc.GetHealthRequest, context: grpc.aio.ServicerContext
    ) -> svc.GetHealthResponse:
        return svc.GetHealthResponse(
            gateways=[convert.gateway(g) for g in self._view.gateways(request.gateway)]
        )

    @stream_errors
    async def WatchHealth(
        self, request: svc.WatchHealthRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[svc.WatchHealthResponse]:
        self._view.gateways(request.gateway)
        async for event in self._view.health_events.subscribe(request.resume_after_sequence):
            if _matches(event, request.gateway):
                yield svc.WatchHealthResponse(event=convert.health_event(event))

    @unary_errors
    async def ListSessions(
        self, request: svc.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> svc.ListSessionsResponse:
        self._view.gateways(request.gateway)
        return svc.ListSessionsResponse(
            sessions=[convert.session(s) for s in self._view.sessions(request.gateway)]
        )

    @unary_errors
    async def Reconnect(
        self, request: svc.ReconnectRequest, context: grpc.aio.ServicerContext
    ) -> svc.ReconnectResponse:
        self._identity.require_admin(self._identity.resolve(request, context), "Reconnect")
        if len(request.reason) > MAX_REASON_LENGTH:
            raise invalid_argument(
                FieldViolation("reason", f"must be at most {MAX_REASON_LENGTH} characters")
            )
        names, within = await self._view.reconnect(
            request.gateway, request.session, request.reason or "admin request"
        )
        return svc.ReconnectResponse(sessions=names, expected_within=convert.duration(within))
