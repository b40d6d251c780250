"""The error edge: a domain error becomes its rich status; a bug becomes a bare INTERNAL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from broker_client import BrokerError
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason
from broker_server.runtime.events import EventHub
from broker_server.services.connection_service import ConnectionServicer


class FaultyView:
    """A connection view with an injected fault: a bug (RuntimeError) or a domain error."""

    def __init__(self, fault: Exception) -> None:
        self.fault = fault
        self.state_events: EventHub[Any] = EventHub(lambda seq: [])
        self.health_events: EventHub[Any] = EventHub(lambda seq: [])

    def gateways(self, name: str = "") -> list[Any]:
        raise self.fault

    def sessions(self, gateway: str = "") -> list[Any]:
        raise self.fault

    async def reconnect(self, gateway: str, session: str, reason: str) -> tuple[list[str], float]:
        raise self.fault


@pytest.fixture
async def serve() -> AsyncIterator[Any]:
    servers: list[grpc.aio.Server] = []
    channels: list[grpc.aio.Channel] = []

    async def start(view: FaultyView) -> svc_grpc.ConnectionServiceStub:
        server = grpc.aio.server()
        svc_grpc.add_ConnectionServiceServicer_to_server(ConnectionServicer(view), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        channels.append(channel)
        return svc_grpc.ConnectionServiceStub(channel)

    yield start
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(None)


async def test_a_bug_is_internal_without_leaking_its_text(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    stub = await serve(FaultyView(RuntimeError("secret internals")))
    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await stub.GetConnectionState(svc.GetConnectionStateRequest(), timeout=5)
    assert unary.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (unary.value.details() or "")
    stream = stub.WatchConnectionState(svc.WatchConnectionStateRequest(), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as streamed:
        await stream.read()
    assert streamed.value.code() == grpc.StatusCode.INTERNAL
    failures = [r for r in caplog.records if r.getMessage() == "rpc_failed"]
    assert len(failures) == 2 and all(r.exc_info for r in failures)


async def test_a_domain_error_carries_reason_retry_and_ib_code(serve: Any) -> None:
    fault = DomainError(
        ErrorKind.UNAVAILABLE,
        FailureReason.BREAKER_OPEN,
        "breaker open",
        retry_after=2.5,
        ib_error_code=1100,
    )
    stub = await serve(FaultyView(fault))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.ListSessions(svc.ListSessionsRequest(), timeout=5)
    err = BrokerError.from_rpc_error(info.value)
    assert (err.code, err.reason, err.retry_after) == (
        grpc.StatusCode.UNAVAILABLE,
        "BREAKER_OPEN",
        2.5,
    )
    assert err.metadata == {"ib_error_code": "1100"}
    assert err.retryable
