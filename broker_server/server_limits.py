"""Bounds of the gRPC edge: streams per client address, the process's open-file limit, and the
connection cap that must fit under it.

The other bounds are gRPC core channel arguments set in :func:`broker_server.server.server_options`
(``grpc.max_concurrent_streams`` per connection, ``grpc.max_allowed_incoming_connections``,
``grpc.max_connection_idle_ms``, ``grpc.server_handshake_timeout_ms``); gRPC core enforces them
before a call reaches Python, so they cannot be counted here. The refusals the broker makes
itself are counted in ``ibbroker.grpc.refused`` (attribute ``limit``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import resource
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from opentelemetry import metrics as otel

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.services.errors import to_status

log = logging.getLogger("ibbroker.server")

_refused = otel.get_meter("ibbroker").create_counter(
    "ibbroker.grpc.refused",
    unit="{call}",
    description="Calls refused by a bound of the gRPC edge, by limit.",
)

RESERVED_FDS = 128
"""File descriptors kept for everything but client connections (store, IB sockets, simulator)."""


def peer_host(peer: str) -> str:
    """The address part of a gRPC peer string: ``ipv4:127.0.0.1:5555`` -> ``ipv4:127.0.0.1``,
    ``ipv6:[::1]:5555`` -> ``ipv6:[::1]``; other forms (``unix:...``) as they are."""
    if peer.startswith(("ipv4:", "ipv6:")):
        host, sep, port = peer.rpartition(":")
        if sep and port.isdigit():
            return host
    return peer


class PeerStreamLimit(grpc.aio.ServerInterceptor):
    """Counts the streaming calls (server streams and bidi streams) open per client address and
    refuses one beyond ``limit`` with RESOURCE_EXHAUSTED PEER_STREAM_LIMIT: one client cannot
    hold thousands of watch streams (and the broker's memory). Unary calls are not counted:
    they end on their own, and ``max_concurrent_streams`` bounds them per connection."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()
        """Open streaming calls per client address."""
        self.peak = 0
        """The largest number of streaming calls one address had open at once."""
        self._none_open = asyncio.Event()
        self._none_open.set()

    async def wait_none_open(self) -> None:
        """Return once no streaming call is open (tests, shutdown diagnostics)."""
        await self._none_open.wait()

    def _enter(self, context: grpc.aio.ServicerContext, method: str) -> str | None:
        host = peer_host(context.peer() or "")
        if self.open[host] >= self.limit:
            _refused.add(1, {"limit": "max_streams_per_peer"})
            log_event(
                log,
                logging.WARNING,
                "grpc_stream_refused",
                peer=host,
                method=method,
                limit=self.limit,
            )
            return None
        self.open[host] += 1
        self._none_open.clear()
        self.peak = max(self.peak, self.open[host])
        return host

    def _leave(self, host: str) -> None:
        self.open[host] -= 1
        if self.open[host] <= 0:
            del self.open[host]
        if not self.open:
            self._none_open.set()

    def _refusal(self) -> grpc.Status:
        return to_status(
            DomainError(
                ErrorKind.RESOURCE_EXHAUSTED,
                FailureReason.PEER_STREAM_LIMIT,
                f"this address has {self.limit} streaming calls open (server.max_streams_per_peer):"
                " close some first",
            )
        )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or not (handler.unary_stream or handler.stream_stream):
            return handler
        method = handler_call_details.method or ""
        streaming = handler.unary_stream or handler.stream_stream
        make = (
            grpc.unary_stream_rpc_method_handler
            if handler.unary_stream
            else grpc.stream_stream_rpc_method_handler
        )
        if not inspect.isasyncgenfunction(streaming):
            # A coroutine that writes with context.write (grpc's Health/Watch is one).
            async def counted_writer(request: Any, context: grpc.aio.ServicerContext) -> None:
                host = self._enter(context, method)
                if host is None:
                    await context.abort_with_status(self._refusal())
                    return
                try:
                    await streaming(request, context)
                finally:
                    self._leave(host)

            return make(counted_writer, handler.request_deserializer, handler.response_serializer)

        async def counted(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            host = self._enter(context, method)
            if host is None:
                await context.abort_with_status(self._refusal())
                return
            try:
                async for item in streaming(request, context):
                    yield item
            finally:
                self._leave(host)

        return make(counted, handler.request_deserializer, handler.response_serializer)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit (every connection is a descriptor: a low
    soft limit lets a few hundred idle sockets lock clients out). Returns (before, after) and
    logs the change."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as err:
            log_event(
                log, logging.WARNING, "nofile_not_raised", soft=soft, hard=hard, error=str(err)
            )
            return soft, soft
        log_event(log, logging.INFO, "nofile_raised", soft_before=soft, soft=target, hard=hard)
        return soft, target
    return soft, soft


def connection_cap(configured: int) -> int:
    """``configured`` connections, or fewer so that they fit under the open-file limit with
    :data:`RESERVED_FDS` to spare (logged when it had to be lowered)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or configured <= soft - RESERVED_FDS:
        return configured
    cap = max(1, soft - RESERVED_FDS)
    log_event(
        log, logging.WARNING, "max_connections_lowered", configured=configured, cap=cap, nofile=soft
    )
    return cap
