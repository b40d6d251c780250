"""The gRPC edge: builds the ``grpc.aio`` server with health, reflection, keepalive and limits.

The server refuses new work while draining (an interceptor answers UNAVAILABLE with reason
SHUTTING_DOWN), so the shutdown sequence in :mod:`broker_server.app` can end watch streams
with a final event before ``stop(grace)`` cancels whatever is left.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import metrics as otel

from broker_server.config import ServerConfig
from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation, invalid_argument
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.observability.rpc import RpcTelemetryInterceptor
from broker_server.server_limits import PeerStreamLimit, connection_cap
from broker_server.services.errors import to_status
from broker_server.services.handler_cache import HandlerCache
from broker_server.services.transport import EdgeSecurity

log = logging.getLogger("ibbroker.server")
_health_changes = otel.get_meter("ibbroker").create_counter(
    "ibbroker.grpc.health_changes", description="Standard health service status changes"
)

HEALTH_SERVICE = "grpc.health.v1.Health"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def server_options(cfg: ServerConfig) -> list[tuple[str, int]]:
    """Channel arguments of the server; the client's keepalive (broker_client) must fit them."""
    return [
        ("grpc.max_receive_message_length", cfg.max_message_bytes),
        ("grpc.max_send_message_length", cfg.max_message_bytes),
        ("grpc.keepalive_time_ms", int(cfg.keepalive_time * 1000)),
        ("grpc.keepalive_timeout_ms", int(cfg.keepalive_timeout * 1000)),
        ("grpc.keepalive_permit_without_calls", 1),
        # Without this the server answers client pings more frequent than 5 minutes with
        # GOAWAY "too many pings"; clients ping every 20 s (broker_client.channel_options).
        ("grpc.http2.min_ping_interval_without_data_ms", int(cfg.min_client_ping_interval * 1000)),
        ("grpc.http2.max_ping_strikes", 0),
        ("grpc.http2.max_pings_without_data", 0),
        # gRPC binds with SO_REUSEPORT by default: a second broker on the same port would
        # silently share it (and half the calls). Fail instead.
        ("grpc.so_reuseport", 0),
        # Bounds (server_limits.py): streams per connection, connections, idle and
        # half-open connections.
        ("grpc.max_concurrent_streams", cfg.max_concurrent_streams),
        ("grpc.max_allowed_incoming_connections", connection_cap(cfg.max_connections)),
        ("grpc.max_connection_idle_ms", int(cfg.idle_timeout * 1000)),
        ("grpc.server_handshake_timeout_ms", int(cfg.handshake_timeout * 1000)),
    ]


class HealthServicer(health.aio.HealthServicer):
    """The standard health service with ``List``, which grpcio-health-checking 1.85 leaves to
    its generated base (UNIMPLEMENTED) although reflection advertises it."""

    MAX_LIST = 100
    """More services than this and List answers RESOURCE_EXHAUSTED (as health.proto says)."""

    async def List(
        self, request: health_pb2.HealthListRequest, context: grpc.aio.ServicerContext
    ) -> health_pb2.HealthListResponse:
        """Every service with a status (``""`` is the whole process), as Check answers them."""
        # _server_status is where the aio servicer keeps what set() and shutdown wrote.
        statuses = dict(self._server_status)
        if len(statuses) > self.MAX_LIST:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{len(statuses)} services exceed the List limit of {self.MAX_LIST}",
            )
        return health_pb2.HealthListResponse(
            statuses={
                name: health_pb2.HealthCheckResponse(status=status)
                for name, status in statuses.items()
            }
        )


class DrainInterceptor(grpc.aio.ServerInterceptor):
    """Refuses every call but health checks once :meth:`start_draining` was called."""

    def __init__(self) -> None:
        self.draining = False

    def start_draining(self) -> None:
        """From now on, new calls get UNAVAILABLE / SHUTTING_DOWN."""
        self.draining = True

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method or ""
        if not self.draining or handler is None or method.startswith(f"/{HEALTH_SERVICE}/"):
            return handler
        status = to_status(
            DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.SHUTTING_DOWN,
                "the broker is shutting down",
                retry_after=1.0,
            )
        )

        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort_with_status(status)

        async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort_with_status(status)
            yield  # pragma: no cover - makes this an async generator

        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                refuse, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                refuse_stream, handler.request_deserializer, handler.response_serializer
            )
        return handler


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):
    """Answers a request that does not parse (corrupt bytes, bad UTF-8 in a string field) with
    INVALID_ARGUMENT instead of the UNKNOWN that gRPC gives when a deserializer raises: the
    handler receives the raw bytes and parses them itself. Every handler shape is covered, so
    grpc's own services (health, and reflection's bidi stream) sit behind the same guard.

    The guarded handler of a method is built once and cached (grpc.aio resolves the interceptor
    chain on every call; the handlers below it are the same objects each time)."""

    def __init__(self) -> None:
        self._wrapped = HandlerCache()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method = handler_call_details.method or ""
        cached = self._wrapped.get(method, handler)
        if cached is not None:
            return cached
        wrapped = _guarded(handler, method)
        return self._wrapped.put(method, handler, wrapped)


def _guarded(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    """``handler`` taking the raw request bytes and parsing them itself (see above)."""
    deserialize = handler.request_deserializer

    async def parse(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        try:
            return deserialize(raw)
        except DecodeError as err:
            violation = FieldViolation("request", f"is not a valid message: {err}"[:200])
            log_event(log, logging.INFO, "rpc_error", rpc=method, reason="INVALID_ARGUMENT")
            await context.abort_with_status(to_status(invalid_argument(violation)))

    if handler.unary_unary:
        unary = handler.unary_unary

        async def parsed_unary(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            # parse() inlined: this is the path of every unary call.
            try:
                request = deserialize(raw)
            except DecodeError:
                return await parse(raw, context)  # answers INVALID_ARGUMENT (abort raises)
            return await unary(request, context)

        return grpc.unary_unary_rpc_method_handler(parsed_unary, None, handler.response_serializer)
    if handler.unary_stream:
        stream = handler.unary_stream
        if not inspect.isasyncgenfunction(stream):
            # A coroutine that writes with context.write (grpc's Health/Watch is one).
            async def parsed_writer(raw: bytes, context: grpc.aio.ServicerContext) -> None:
                await stream(await parse(raw, context), context)

            return grpc.unary_stream_rpc_method_handler(
                parsed_writer, None, handler.response_serializer
            )

        async def parsed_stream(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            async for item in stream(await parse(raw, context), context):
                yield item

        return grpc.unary_stream_rpc_method_handler(
            parsed_stream, None, handler.response_serializer
        )
    if handler.stream_stream or handler.stream_unary:
        # Client streams (grpc's reflection is one): parse each message as it is read.
        async def parsed_requests(
            raws: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            async for raw in raws:
                yield await parse(raw, context)

        if handler.stream_unary:
            stream_unary = handler.stream_unary

            async def parsed_stream_unary(
                raws: AsyncIterator[bytes], context: grpc.aio.ServicerContext
            ) -> Any:
                return await stream_unary(parsed_requests(raws, context), context)

            return grpc.stream_unary_rpc_method_handler(
                parsed_stream_unary, None, handler.response_serializer
            )
        bidi = handler.stream_stream
        if not inspect.isasyncgenfunction(bidi):

            async def parsed_bidi_writer(
                raws: AsyncIterator[bytes], context: grpc.aio.ServicerContext
            ) -> None:
                await bidi(parsed_requests(raws, context), context)

            return grpc.stream_stream_rpc_method_handler(
                parsed_bidi_writer, None, handler.response_serializer
            )

        async def parsed_bidi(
            raws: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            async for item in bidi(parsed_requests(raws, context), context):
                yield item

        return grpc.stream_stream_rpc_method_handler(parsed_bidi, None, handler.response_serializer)
    return handler


class GrpcServer:
    """The ``grpc.aio`` server plus the standard health service and reflection."""

    def __init__(
        self,
        cfg: ServerConfig,
        service_names: Sequence[str],
        security: EdgeSecurity | None = None,
    ) -> None:
        """``security`` (services/transport.py): the auth interceptor runs first, the owner
        check last (on the parsed request), and the listener speaks TLS when it has credentials."""
        self.cfg = cfg
        self.security = security
        self.service_names = tuple(service_names)
        self.drain = DrainInterceptor()
        self._serving: dict[str, bool] = {}
        self.health = HealthServicer()
        self.peer_streams = PeerStreamLimit(cfg.max_streams_per_peer)
        # The owner check and the identity limits act on authenticated callers only: with auth
        # off no call has one (the anonymous principal, or the admin-token one, is not), so
        # they are not installed and cost nothing.
        authenticating = security is not None and security.auth.auth.enabled
        self.interceptors: tuple[grpc.aio.ServerInterceptor, ...] = (
            # Telemetry first: it times and traces every call, refusals included.
            RpcTelemetryInterceptor(),
            *([security.auth] if security else []),
            self.drain,
            self.peer_streams,
            MalformedRequestInterceptor(),
            *([security.owner] if security and authenticating else []),
            *([security.limits] if security and security.limits and authenticating else []),
        )
        """The chain, outermost first (grpc.aio resolves it on every call)."""
        self.server = grpc.aio.server(
            interceptors=list(self.interceptors), options=server_options(cfg)
        )
        self.port = 0

    def add(self, register: Callable[[Any, grpc.aio.Server], None], servicer: Any) -> None:
        """Register a servicer with its generated ``add_XServicer_to_server`` function."""
        register(servicer, self.server)

    async def start(self, listen: str) -> str:
        """Bind ``listen`` (port 0 picks one), start serving and return the bound host:port."""
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*self.service_names, HEALTH_SERVICE, reflection.SERVICE_NAME), self.server
        )
        host = listen.rpartition(":")[0]
        credentials = self.security.credentials() if self.security else None
        try:
            if credentials is not None:
                self.port = self.server.add_secure_port(listen, credentials)
            else:
                self.port = self.server.add_insecure_port(listen)
        except RuntimeError as err:  # grpc's way of saying the bind failed
            raise OSError(f"cannot listen on {listen}: address in use or not available") from err
        if self.port == 0:
            raise OSError(f"cannot listen on {listen}: address in use or not available")
        await self.server.start()
        address = f"{host}:{self.port}"
        log_event(log, logging.INFO, "grpc_listening", address=address)
        return address

    async def set_health(self, statuses: Iterable[tuple[str, bool]]) -> None:
        """Set SERVING / NOT_SERVING per service name (``""`` is the whole process).

        Each change is one JSON log line and one count; Health/Watch streams it."""
        for name, serving in statuses:
            await _maybe_await(self.health.set(name, SERVING if serving else NOT_SERVING))
            if self._serving.get(name) != serving:
                self._serving[name] = serving
                status = "SERVING" if serving else "NOT_SERVING"
                log_event(log, logging.INFO, "grpc_health_changed", service=name, status=status)
                _health_changes.add(1, {"service": name, "status": status})

    async def enter_shutdown(self) -> None:
        """Health NOT_SERVING for every service, then refuse new work."""
        await _maybe_await(self.health.enter_graceful_shutdown())
        for name in [n for n, serving in self._serving.items() if serving]:
            self._serving[name] = False
            log_event(log, logging.INFO, "grpc_health_changed", service=name, status="NOT_SERVING")
            _health_changes.add(1, {"service": name, "status": "NOT_SERVING"})
        self.drain.start_draining()

    async def stop(self, grace: float) -> None:
        """Stop accepting connections; cancel calls still running after ``grace`` seconds."""
        await self.server.stop(grace)


async def _maybe_await(result: Any) -> None:
    if isinstance(result, Awaitable):
        await result
