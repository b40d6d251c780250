"""ConnectionService end to end: in-process grpc.aio server, generated stub, real sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.watch import watch_connection_state, watch_health
from broker_server.config import Secret
from broker_server.runtime.connections import ConnectionManager
from broker_server.services.connection_service import ConnectionServicer
from broker_server.sim.server import SimServer
from tests.connection.conftest import fast_config

CONNECTED = pb.ConnectionState.Value("CONNECTION_STATE_CONNECTED")
RECONNECTING = pb.ConnectionState.Value("CONNECTION_STATE_RECONNECTING")
SNAPSHOT = pb.EventKind.Value("EVENT_KIND_SNAPSHOT")
RESTORED = pb.EventKind.Value("EVENT_KIND_RESTORED")
GAP = pb.EventKind.Value("EVENT_KIND_GAP")
FINAL = pb.EventKind.Value("EVENT_KIND_FINAL")
HEALTHY = pb.HealthStatus.Value("HEALTH_STATUS_HEALTHY")


async def _serve(
    manager: ConnectionManager, port: int = 0, admin_token: str = ""
) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    servicer = ConnectionServicer(manager, Secret(admin_token))
    svc_grpc.add_ConnectionServiceServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, bound


@pytest.fixture
async def served(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> AsyncIterator[tuple[ConnectionManager, svc_grpc.ConnectionServiceStub]]:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    server, port = await _serve(manager)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield manager, svc_grpc.ConnectionServiceStub(channel)
    manager.end_streams("test over")
    await server.stop(0.5)


async def _next(
    stream: AsyncIterator[svc.WatchConnectionStateResponse], kind: int, state: int = 0
) -> pb.ConnectionEvent:
    async with asyncio.timeout(5):
        async for response in stream:
            event = response.event
            if event.kind == kind and (not state or event.state == state):
                return event
    raise AssertionError("stream ended")


async def test_state_health_sessions_watch_and_reconnect(
    sim: SimServer, served: tuple[ConnectionManager, svc_grpc.ConnectionServiceStub]
) -> None:
    _manager, stub = served
    state = await stub.GetConnectionState(svc.GetConnectionStateRequest())
    [gateway] = state.gateways
    assert gateway.gateway == "paper" and gateway.state == CONNECTED
    assert gateway.address == f"127.0.0.1:{sim.port}" and gateway.paper_trading

    call = stub.WatchConnectionState(svc.WatchConnectionStateRequest(gateway="paper"))
    stream = call.__aiter__()
    first = (await stream.__anext__()).event
    assert first.kind == SNAPSHOT and first.state == CONNECTED and first.client_id == 99

    await sim.faults.drop()
    lost = await _next(stream, pb.EventKind.Value("EVENT_KIND_TRANSITION"), RECONNECTING)
    assert lost.previous_state == CONNECTED and lost.sequence > first.sequence
    back = await _next(stream, pb.EventKind.Value("EVENT_KIND_TRANSITION"), CONNECTED)
    restored = await _next(stream, RESTORED)
    gap = await _next(stream, GAP)
    assert back.sequence < restored.sequence < gap.sequence
    assert gap.gap_start.ToNanoseconds() <= gap.gap_end.ToNanoseconds()

    health = await stub.GetHealth(svc.GetHealthRequest(gateway="paper"))
    [session] = health.gateways[0].sessions
    assert session.health == HEALTHY
    assert session.metrics.reconnect_count == 1
    assert session.metrics.messages_in_per_second > 0

    listed = await stub.ListSessions(svc.ListSessionsRequest())
    [info] = listed.sessions
    assert info.client_id == 99 and info.generation == 2 and info.server_version == 176
    assert info.role == pb.SessionRole.Value("SESSION_ROLE_MONITOR")
    assert info.breaker == pb.BreakerState.Value("BREAKER_STATE_CLOSED")
    assert list(info.accounts) == ["DU1234567"]

    answer = await stub.Reconnect(svc.ReconnectRequest(gateway="paper", reason="e2e"))
    assert list(answer.sessions) == ["paper/monitor"]
    assert answer.expected_within.ToNanoseconds() > 0
    admin = await _next(stream, pb.EventKind.Value("EVENT_KIND_TRANSITION"), RECONNECTING)
    assert admin.reason.startswith("ADMIN_RECONNECT: e2e")
    await _next(stream, pb.EventKind.Value("EVENT_KIND_TRANSITION"), CONNECTED)
    call.cancel()

    with pytest.raises(grpc.aio.AioRpcError) as info_err:
        await stub.GetConnectionState(svc.GetConnectionStateRequest(gateway="nope"))
    error = BrokerError.from_rpc_error(info_err.value)
    assert error.code == grpc.StatusCode.NOT_FOUND and error.reason == "GATEWAY_UNKNOWN"


async def test_watch_helpers_resume_after_a_broker_restart(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    first = make_manager(fast_config(sim.port))
    await first.connect(timeout=5)
    server, port = await _serve(first)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        states = watch_connection_state(channel, "paper", initial_backoff=0.05, max_backoff=0.2)
        health = watch_health(channel, "paper", initial_backoff=0.05, max_backoff=0.2)
        snap = await asyncio.wait_for(states.__anext__(), 5)
        assert snap.kind == SNAPSHOT and snap.state == CONNECTED
        hsnap = await asyncio.wait_for(health.__anext__(), 5)
        assert hsnap.kind == SNAPSHOT and hsnap.status == HEALTHY

        # Broker restart: streams end with FINAL, the server goes away, a new broker comes up.
        await first.close("restarting")
        await server.stop(0.2)
        final = await asyncio.wait_for(states.__anext__(), 5)
        assert final.kind == FINAL and final.reason == "restarting"
        second = make_manager(fast_config(sim.port))
        await second.connect(timeout=5)
        server, _ = await _serve(second, port)
        try:
            resumed = await asyncio.wait_for(states.__anext__(), 10)
            # The new broker no longer holds the old events: a fresh snapshot, later sequence.
            assert resumed.kind == SNAPSHOT and resumed.state == CONNECTED
            assert resumed.sequence > final.sequence
            # The health watcher skips its own FINAL and resumes too.
            hfinal = await asyncio.wait_for(health.__anext__(), 10)
            assert hfinal.kind == FINAL
            hresumed = await asyncio.wait_for(health.__anext__(), 10)
            assert hresumed.kind == SNAPSHOT and hresumed.sequence > hfinal.sequence
        finally:
            await states.aclose()
            await health.aclose()
            second.end_streams()
            await server.stop(0.2)


async def _error(call: Awaitable[object]) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return BrokerError.from_rpc_error(info.value)


async def _stream_error(call: AsyncIterable[object]) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async with asyncio.timeout(5):
            async for _ in call:
                raise AssertionError("the stream yielded for a bad request")
    return BrokerError.from_rpc_error(info.value)


@pytest.mark.parametrize("name", ["nope", "g" * 1_000_000])
async def test_unknown_gateway_is_not_found_on_every_rpc(
    served: tuple[ConnectionManager, svc_grpc.ConnectionServiceStub], name: str
) -> None:
    _manager, stub = served
    errors = [
        await _error(stub.GetConnectionState(svc.GetConnectionStateRequest(gateway=name))),
        await _error(stub.GetHealth(svc.GetHealthRequest(gateway=name))),
        await _error(stub.ListSessions(svc.ListSessionsRequest(gateway=name))),
        await _error(stub.Reconnect(svc.ReconnectRequest(gateway=name))),
        await _stream_error(
            stub.WatchConnectionState(svc.WatchConnectionStateRequest(gateway=name))
        ),
        await _stream_error(stub.WatchHealth(svc.WatchHealthRequest(gateway=name))),
    ]
    for error in errors:
        # Also for a 1 MB name: the status (in the trailers) must not outgrow the metadata limit.
        assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "GATEWAY_UNKNOWN")
        assert "configured: paper" in error.message and len(error.message) < 200


async def test_bad_reconnect_is_invalid_argument_and_reconnects_nothing(
    served: tuple[ConnectionManager, svc_grpc.ConnectionServiceStub],
) -> None:
    manager, stub = served
    generation = manager.supervisor().generation
    for session in ("nope", "s" * 1_000_000):
        error = await _error(stub.Reconnect(svc.ReconnectRequest(session=session)))
        assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
        assert [field for field, _ in error.field_violations] == ["session"]
        assert "known: paper/monitor" in error.field_violations[0][1]
    error = await _error(stub.Reconnect(svc.ReconnectRequest(reason="r" * 257)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in error.field_violations] == ["reason"]
    state = await stub.GetConnectionState(svc.GetConnectionStateRequest())
    assert state.gateways[0].state == CONNECTED
    assert manager.supervisor().generation == generation


async def test_reconnect_needs_the_admin_token_when_one_is_set(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    await manager.connect(timeout=5)
    server, port = await _serve(manager, admin_token="s3cret")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = svc_grpc.ConnectionServiceStub(channel)
            request = svc.ReconnectRequest(reason="ops")
            for metadata in ((), (("authorization", "Bearer wrong"),)):
                error = await _error(stub.Reconnect(request, metadata=metadata))
                assert (error.code, error.reason) == (
                    grpc.StatusCode.UNAUTHENTICATED,
                    "ADMIN_TOKEN_REQUIRED",
                )
                assert "s3cret" not in error.message
            answer = await stub.Reconnect(request, metadata=(("authorization", "Bearer s3cret"),))
            assert list(answer.sessions) == ["paper/monitor"]
    finally:
        manager.end_streams("test over")
        await server.stop(0.5)
