"""The whole broker in-process on 127.0.0.1:0 with the embedded simulator and the real client."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_client import BrokerError
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_server.app import SERVICE_NAMES, Broker, running_broker, start_broker, stop_broker
from tests.server.helpers import fast_config

BIN = Path(sys.executable).parent


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[Broker]:
    async with running_broker(fast_config(tmp_path / "store.sqlite3"), with_sim=True) as b:
        yield b


async def wait_connected(stub: svc_grpc.ConnectionServiceStub, within: float = 10.0) -> None:
    async def watch() -> None:
        async for reply in stub.WatchConnectionState(svc.WatchConnectionStateRequest()):
            if reply.event.state == pb.CONNECTION_STATE_CONNECTED:
                return

    await asyncio.wait_for(watch(), within)


async def test_health_and_state_through_real_calls(broker: Broker) -> None:
    async with aio_channel(broker.address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)
        await wait_connected(stub)
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", *SERVICE_NAMES):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
        state = await stub.GetConnectionState(svc.GetConnectionStateRequest(), timeout=5)
        [gateway] = state.gateways
        assert gateway.gateway == "paper"
        assert gateway.state == pb.CONNECTION_STATE_CONNECTED
        assert gateway.paper_trading
        assert gateway.address == f"127.0.0.1:{broker.sim.port}"  # type: ignore[union-attr]


async def test_reflection_lists_every_service_with_grpcurl(broker: Broker) -> None:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "grpcurl"),
        "-plaintext",
        broker.address,
        "list",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    listed = set(out.decode().split())
    assert {
        "ibbroker.v1.LeaseService",
        "ibbroker.v1.ConnectionService",
        "grpc.health.v1.Health",
    } <= listed


async def test_unknown_gateway_is_a_clear_error(broker: Broker) -> None:
    async with aio_channel(broker.address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetConnectionState(svc.GetConnectionStateRequest(gateway="nope"), timeout=5)
        err = BrokerError.from_rpc_error(info.value)
        assert err.code == grpc.StatusCode.NOT_FOUND
        assert err.reason == "GATEWAY_UNKNOWN"


MALFORMED = [
    ("/ibbroker.v1.ConnectionService/GetConnectionState", b"\x0a\x02\xff\xfe"),  # bad UTF-8
    ("/ibbroker.v1.ConnectionService/WatchConnectionState", b"\xff\xff\xff"),  # corrupt
    ("/ibbroker.v1.LeaseService/AcquireLease", b"\x0a\x03a\xc3\x28"),  # owner: bad UTF-8
    ("/ibbroker.v1.LeaseService/RenewLease", b"\x12"),  # truncated field
]


@pytest.mark.parametrize(("method", "raw"), MALFORMED)
async def test_a_request_that_does_not_parse_is_invalid_argument(
    broker: Broker, method: str, raw: bytes
) -> None:
    async with aio_channel(broker.address) as channel:
        if "Watch" in method:
            stream = channel.unary_stream(method)(raw, timeout=5)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                async for _ in stream:
                    raise AssertionError("the stream yielded for a malformed request")
        else:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channel.unary_unary(method)(raw, timeout=5)
        err = BrokerError.from_rpc_error(info.value)
        assert (err.code, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
        assert [field for field, _ in err.field_violations] == ["request"]
        # The same call with a well-formed request still works.
        if method.endswith("GetConnectionState"):
            stub = svc_grpc.ConnectionServiceStub(channel)
            await stub.GetConnectionState(svc.GetConnectionStateRequest(), timeout=5)


async def test_shutdown_ends_watchers_with_a_final_event_and_refuses_new_work(
    tmp_path: Path,
) -> None:
    broker = await start_broker(fast_config(tmp_path / "store.sqlite3"), with_sim=True)
    stopped = False
    try:
        async with aio_channel(broker.address) as channel:
            stub = svc_grpc.ConnectionServiceStub(channel)
            await wait_connected(stub)
            stream = stub.WatchConnectionState(svc.WatchConnectionStateRequest())
            first = await asyncio.wait_for(stream.read(), 5)
            assert first.event.kind == pb.EVENT_KIND_SNAPSHOT

            await broker.grpc.enter_shutdown()
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.GetConnectionState(svc.GetConnectionStateRequest(), timeout=5)
            err = BrokerError.from_rpc_error(info.value)
            assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
            assert err.retry_after is not None

            loop = asyncio.get_running_loop()
            started = loop.time()
            stopping = asyncio.create_task(stop_broker(broker))
            events = []
            while True:
                reply = await asyncio.wait_for(stream.read(), 5)
                if reply is grpc.aio.EOF:
                    break
                events.append(reply.event)
            assert events[-1].kind == pb.EVENT_KIND_FINAL
            assert await stream.code() == grpc.StatusCode.OK
            await asyncio.wait_for(stopping, broker.config.server.grace_period + 5)
            stopped = True
            assert loop.time() - started < broker.config.server.grace_period + 5
    finally:
        if not stopped:
            await stop_broker(broker)


async def test_broker_client_against_the_whole_broker(broker: Broker) -> None:
    from broker_client import BrokerClient

    async with BrokerClient(broker.address) as client:
        first = await asyncio.wait_for(anext(client.watch_connection_state()), 5)
        assert first.kind == pb.EVENT_KIND_SNAPSHOT
        await wait_connected(client.connections)
        [gateway] = await client.get_connection_state()
        assert gateway.state == pb.CONNECTION_STATE_CONNECTED
        sessions = await client.list_sessions()
        assert [s.client_id for s in sessions] == [broker.gateway.monitor_client_id]
        [health] = await client.get_health()
        assert health.sessions[0].metrics.HasField("uptime")
        async with client.lease(owner="strategy-a", ttl=30) as held:
            gw = broker.gateway
            assert gw.client_id_min <= held.client_id <= gw.client_id_max
            assert held.epoch >= 1
        with pytest.raises(BrokerError) as info:
            await client.list_sessions(gateway="nope")
        assert (info.value.code, info.value.reason) == (
            grpc.StatusCode.NOT_FOUND,
            "GATEWAY_UNKNOWN",
        )


async def test_a_drop_is_logged_counted_and_streamed(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    from broker_server.telemetry import metric_points

    def count(name: str, **attrs: str) -> float:
        return sum(
            v
            for a, v in metric_points().get(name, [])
            if all(a.get(k) == want for k, want in attrs.items())
        )

    async with aio_channel(broker.address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)
        await wait_connected(stub)
        before = count("ibbroker.connection.transitions", to="RECONNECTING")
        reconnects = count("ibbroker.connection.reconnects")
        stream = stub.WatchConnectionState(svc.WatchConnectionStateRequest())
        assert (await stream.read()).event.kind == pb.EVENT_KIND_SNAPSHOT
        caplog.set_level("INFO", logger="ibbroker")
        assert broker.sim is not None
        await broker.sim.faults.drop(mode="rst")
        seen: list[pb.ConnectionEvent] = []
        async with asyncio.timeout(20):
            while not any(e.kind == pb.EVENT_KIND_RESTORED for e in seen):
                seen.append((await asyncio.wait_for(stream.read(), 10)).event)
        states = [e.state for e in seen if e.kind == pb.EVENT_KIND_TRANSITION]
        assert states[:1] == [pb.CONNECTION_STATE_RECONNECTING]
        assert pb.CONNECTION_STATE_CONNECTED in states
        stream.cancel()
    assert count("ibbroker.connection.transitions", to="RECONNECTING") == before + 1
    assert count("ibbroker.connection.reconnects") == reconnects + 1
    logged = [r for r in caplog.records if r.getMessage() == "connection_transition"]
    assert any(getattr(r, "fields", {}).get("to") == "RECONNECTING" for r in logged)


async def test_a_health_service_flip_is_logged_counted_and_watched(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    from broker_server.telemetry import metric_points

    def count(status: str) -> float:
        return sum(
            v
            for a, v in metric_points().get("ibbroker.grpc.health_changes", [])
            if a.get("service") == "ibbroker.v1.LeaseService" and a.get("status") == status
        )

    statuses = health_pb2.HealthCheckResponse
    async with aio_channel(broker.address) as channel:
        await wait_connected(svc_grpc.ConnectionServiceStub(channel))
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service="ibbroker.v1.LeaseService"))
        assert (await asyncio.wait_for(watch.read(), 5)).status == statuses.SERVING
        down, up = count("NOT_SERVING"), count("SERVING")
        caplog.set_level("INFO", logger="ibbroker")
        assert broker.sim is not None
        await broker.sim.faults.refuse()  # the gateway goes away and stays away
        await broker.sim.faults.drop(mode="rst")
        assert (await asyncio.wait_for(watch.read(), 10)).status == statuses.NOT_SERVING
        await broker.sim.faults.accept()
        assert (await asyncio.wait_for(watch.read(), 10)).status == statuses.SERVING
        watch.cancel()
    assert (count("NOT_SERVING"), count("SERVING")) == (down + 1, up + 1)
    logged = [
        getattr(r, "fields", {})
        for r in caplog.records
        if r.getMessage() == "grpc_health_changed"
        and getattr(r, "fields", {}).get("service") == "ibbroker.v1.LeaseService"
    ]
    assert [f["status"] for f in logged] == ["NOT_SERVING", "SERVING"]
