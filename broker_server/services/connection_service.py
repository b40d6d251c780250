"""ConnectionService: the gRPC face of the connection manager (state, health, sessions).

The pure reads (GetConnectionState, GetHealth, ListSessions) answer from the snapshot the
manager publishes, and their reply is built once per published snapshot and gateway filter
(:class:`ReplyCache`), not per call: the snapshot objects are immutable and replaced whole on
every change, so "the same objects as last time" means "the same reply".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Generic, Protocol, TypeVar

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


T = TypeVar("T")
M = TypeVar("M")


class ReplyCache(Generic[T, M]):
    """One read's reply per gateway filter, rebuilt only when the view hands out other
    snapshot objects than the reply was built from.

    Staleness is impossible by construction: an entry keeps the very objects it was built
    from and is reused only while the view returns those same objects (``is``, never ``==`` or
    ``id``: the entry holds them, so they cannot be freed and their identity reused), and the
    manager replaces its snapshot objects on every change. Filter values reach here only after
    the view validated them (an unknown gateway is NOT_FOUND first), and the entries are
    bounded anyway. A cached reply is handed to grpc for every call that matches and serialized
    after the handler returns: nothing may mutate it.
    """

    MAX_ENTRIES = 64
    """Filter values kept (one per configured gateway plus "all" in practice)."""

    def __init__(self, build: Callable[[Sequence[T]], M]) -> None:
        self._build = build
        self._entries: dict[str, tuple[tuple[T, ...], M]] = {}
        self.builds = 0
        """Replies built (the rest were served from the cache); for tests and benchmarks."""

    def reply(self, key: str, items: Sequence[T]) -> M:
        """The reply for filter ``key`` over ``items`` (what the view gave for that filter)."""
        entry = self._entries.get(key)
        if entry is not None:
            held = entry[0]
            if len(held) == len(items) and all(a is b for a, b in zip(held, items, strict=True)):
                return entry[1]
        built = self._build(items)
        self.builds += 1
        if entry is not None or len(self._entries) < self.MAX_ENTRIES:
            self._entries[key] = (tuple(items), built)
        return built


def _state_reply(gateways: Sequence[GatewaySnapshot]) -> svc.GetConnectionStateResponse:
    return svc.GetConnectionStateResponse(gateways=[convert.gateway(g) for g in gateways])


def _health_reply(gateways: Sequence[GatewaySnapshot]) -> svc.GetHealthResponse:
    return svc.GetHealthResponse(gateways=[convert.gateway(g) for g in gateways])


def _sessions_reply(sessions: Sequence[SessionSnapshot]) -> svc.ListSessionsResponse:
    return svc.ListSessionsResponse(sessions=[convert.session(s) for s in sessions])


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
        self.state_replies = ReplyCache(_state_reply)
        self.health_replies = ReplyCache(_health_reply)
        self.session_replies = ReplyCache(_sessions_reply)

    @unary_errors
    async def GetConnectionState(
        self, request: svc.GetConnectionStateRequest, context: grpc.aio.ServicerContext
    ) -> svc.GetConnectionStateResponse:
        return self.state_replies.reply(request.gateway, self._view.gateways(request.gateway))

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
        return self.health_replies.reply(request.gateway, self._view.gateways(request.gateway))

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
        return self.session_replies.reply(request.gateway, self._view.sessions(request.gateway))

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
