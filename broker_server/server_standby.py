"""What a standby broker serves while another broker leads its PostgreSQL store.

A standby (``store.standby = true``) waits for the leadership before it builds anything. So that
clients and load balancers are told where to go rather than finding a closed port, it listens
on its address meanwhile with a bare gRPC server: ``grpc.health.v1`` answers SERVING for the
process and NOT_SERVING for every broker service (a Kubernetes readiness probe or a load
balancer routes to the leader), and every call of a broker service fails with UNAVAILABLE,
reason NOT_LEADER, metadata ``leader_address`` (the leader as the store last saw it) and
RetryInfo. Once the store is led, the gate stops and the broker proper starts on the same port.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.services.errors import to_status

log = logging.getLogger("ibbroker.app")

STOP_GRACE = 0.5
"""Seconds the stand-in waits for its calls in flight when it stops (each is one refusal)."""


class _NotLeader(grpc.GenericRpcHandler):
    """Answers every method of ``services`` with NOT_LEADER."""

    def __init__(
        self, services: Sequence[str], leader: Callable[[], str], retry_after: float
    ) -> None:
        pool = descriptor_pool.Default()
        self._streams: dict[str, tuple[bool, bool]] = {}
        for name in services:
            for method in pool.FindServiceByName(name).methods:
                key = f"/{name}/{method.name}"
                self._streams[key] = (method.client_streaming, method.server_streaming)
        self._leader = leader
        self._retry_after = retry_after

    def _status(self) -> grpc.Status:
        address = self._leader()
        return to_status(
            DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.NOT_LEADER,
                f"this broker is a standby; the leader is {address or 'unknown'}",
                retry_after=self._retry_after,
                metadata={"leader_address": address},
            )
        )

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        streams = self._streams.get(handler_call_details.method or "")
        if streams is None:
            return None  # UNIMPLEMENTED, as on the broker proper

        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort_with_status(self._status())

        async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort_with_status(self._status())
            yield  # pragma: no cover - makes this an async generator

        client_streaming, server_streaming = streams
        if client_streaming and server_streaming:
            return grpc.stream_stream_rpc_method_handler(refuse_stream)
        if client_streaming:
            return grpc.stream_unary_rpc_method_handler(refuse)
        if server_streaming:
            return grpc.unary_stream_rpc_method_handler(refuse_stream)
        return grpc.unary_unary_rpc_method_handler(refuse)


class StandbyGate:
    """The standby's stand-in server (see the module docstring).

    ``retry_after``: the RetryInfo of its NOT_LEADER answers, in seconds. A client that gets
    NOT_LEADER naming a leader that does not answer (it died; the standby takes over once its
    TTL runs out) retries here after this delay, so a third of the leadership TTL (how often the
    standby checks) suits it; 1 s by default.

    ``credentials``: the broker's own TLS credentials (None: plaintext), so a TLS client can read
    the gate's NOT_LEADER answer and follow ``leader_address`` instead of failing its handshake."""

    def __init__(
        self,
        services: Sequence[str],
        leader: Callable[[], str],
        *,
        retry_after: float = 1.0,
        credentials: grpc.ServerCredentials | None = None,
    ) -> None:
        self.services = tuple(services)
        self._credentials = credentials
        self.health = health.aio.HealthServicer()
        self.server = grpc.aio.server()
        self.server.add_generic_rpc_handlers((_NotLeader(self.services, leader, retry_after),))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.port = 0

    async def start(self, listen: str) -> str:
        """Listen on ``listen`` (port 0 picks one); returns host:port. OSError when taken."""
        try:
            if self._credentials is not None:
                self.port = self.server.add_secure_port(listen, self._credentials)
            else:
                self.port = self.server.add_insecure_port(listen)
        except RuntimeError as err:
            raise OSError(f"cannot listen on {listen}: address in use or not available") from err
        if self.port == 0:
            raise OSError(f"cannot listen on {listen}: address in use or not available")
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        for name in self.services:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.start()
        address = f"{listen.rpartition(':')[0]}:{self.port}"
        log_event(log, logging.INFO, "standby_listening", address=address)
        return address

    async def stop(self) -> None:
        """Stop: the broker proper takes the port over. Calls in flight get their refusal (it
        takes no time) instead of CANCELLED, which an older client took for a final refusal of a
        lease renewal; the grace bounds the wait."""
        await self.server.stop(STOP_GRACE)
