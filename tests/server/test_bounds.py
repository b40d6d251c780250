"""Bounds of the gRPC edge, each exceeded on loopback (issue 9 finding 6): streams per connection,
streams per client address, connections, idle connections, the open-file limit and repeated log
lines. Every loop is bounded in count and time."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import resource
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_client import BrokerError
from broker_server.aio import within
from broker_server.app import SERVICE_NAMES
from broker_server.config import ServerConfig
from broker_server.logs import JsonFormatter, RepeatLimiter, log_event
from broker_server.server import GrpcServer
from broker_server.telemetry import metric_points, setup_metrics
from tests.server.helpers import LogTail

ROOT = Path(__file__).resolve().parents[2]
Serve = Callable[..., Awaitable[GrpcServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    setup_metrics()
    servers: list[GrpcServer] = []

    async def start(**limits: object) -> GrpcServer:
        cfg = dataclasses.replace(ServerConfig(listen="127.0.0.1:0"), **limits)  # type: ignore[arg-type]
        server = GrpcServer(cfg, SERVICE_NAMES)
        server.address = await server.start(cfg.listen)  # type: ignore[attr-defined]
        await server.set_health([("", True)])
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop(0)


def _channel(server: GrpcServer) -> grpc.aio.Channel:
    # A channel of its own (no shared subchannel): one client connection each.
    address = server.address  # type: ignore[attr-defined]
    return grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])


class Watches:
    """Health/Watch streams on a channel; ``started`` counts those that got their first answer."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = health_pb2_grpc.HealthStub(channel)
        self.calls: list[grpc.aio.UnaryStreamCall] = []
        self.started = 0
        self.running: list[grpc.aio.UnaryStreamCall] = []
        self.errors: list[BrokerError] = []
        self.changed = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def open(self, n: int) -> None:
        for _ in range(n):
            call = self.stub.Watch(health_pb2.HealthCheckRequest())
            self.calls.append(call)
            self.tasks.append(asyncio.create_task(self._read(call)))

    async def _read(self, call: grpc.aio.UnaryStreamCall) -> None:
        try:
            async for _ in call:
                self.started += 1
                self.running.append(call)
                self.changed.set()
                await asyncio.Event().wait()  # hold the stream open until cancelled
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(BrokerError.from_rpc_error(err))
                self.changed.set()
        except asyncio.CancelledError:
            pass

    async def until(self, predicate: Callable[[], bool], seconds: float = 5.0) -> None:
        async def wait() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await within(wait(), seconds)

    async def close(self) -> None:
        for call in self.calls:
            call.cancel()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _refused(limit: str) -> int:
    points = metric_points().get("ibbroker.grpc.refused", [])
    return sum(int(v) for attrs, v in points if attrs.get("limit") == limit)


async def test_streams_per_connection_wait_beyond_the_limit(serve: Serve) -> None:
    server = await serve(max_concurrent_streams=4)
    async with _channel(server) as channel:
        watches = Watches(channel)
        watches.open(8)
        await watches.until(lambda: watches.started >= 4)
        # The other four wait in the client (HTTP/2 MAX_CONCURRENT_STREAMS): a bounded look.
        await asyncio.sleep(0.3)
        assert (watches.started, server.peer_streams.peak) == (4, 4)
        watches.running[0].cancel()  # one open stream ends: one waiting stream starts
        await watches.until(lambda: watches.started >= 5)
        assert server.peer_streams.peak == 4
        await watches.close()


async def test_streams_per_peer_beyond_the_limit_are_resource_exhausted(serve: Serve) -> None:
    server = await serve(max_streams_per_peer=3)
    before = _refused("max_streams_per_peer")
    async with _channel(server) as a, _channel(server) as b:
        first, second = Watches(a), Watches(b)
        first.open(2)
        await first.until(lambda: first.started == 2)
        second.open(3)  # another connection, the same address: only one more fits
        await second.until(lambda: second.started == 1 and len(second.errors) == 2)
        assert {(e.code, e.reason) for e in second.errors} == {
            (grpc.StatusCode.RESOURCE_EXHAUSTED, "PEER_STREAM_LIMIT")
        }
        assert _refused("max_streams_per_peer") - before == 2
        # Unary calls are not counted against the streams.
        health = health_pb2_grpc.HealthStub(b)
        await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        await first.close()
        await second.close()
    # The server sees the cancellations a moment later.
    await within(server.peer_streams.wait_none_open(), 5.0)
    assert not server.peer_streams.open


async def test_connections_beyond_the_limit_are_closed(serve: Serve) -> None:
    server = await serve(max_connections=2)
    channels = [_channel(server) for _ in range(4)]
    try:
        codes = []
        for channel in channels:
            try:
                stub = health_pb2_grpc.HealthStub(channel)
                await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
                codes.append(grpc.StatusCode.OK)
            except grpc.aio.AioRpcError as err:
                codes.append(err.code())
        assert codes == [grpc.StatusCode.OK] * 2 + [grpc.StatusCode.UNAVAILABLE] * 2
    finally:
        for channel in channels:
            await channel.close()


async def test_an_idle_connection_is_closed(serve: Serve) -> None:
    server = await serve(idle_timeout=0.3)
    async with _channel(server) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert channel.get_state() == grpc.ChannelConnectivity.READY

        async def goes_idle() -> None:
            while channel.get_state() == grpc.ChannelConnectivity.READY:
                await channel.wait_for_state_change(grpc.ChannelConnectivity.READY)

        await within(goes_idle(), 5.0)
        # The client reconnects on its next call.
        await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)


def test_repeated_log_lines_are_rate_limited_with_a_suppressed_count() -> None:
    now = [0.0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RepeatLimiter(burst=3, interval=10.0, clock=lambda: now[0]))
    logger = logging.getLogger("ibbroker.test.flood")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    setup_metrics()
    before = sum(
        int(v)
        for attrs, v in metric_points().get("ibbroker.log.suppressed", [])
        if attrs.get("event") == "rpc_error"
    )
    try:
        for _ in range(1_000):
            log_event(logger, logging.INFO, "rpc_error", rpc="/x", reason="INVALID_ARGUMENT")
        for i in range(5):  # distinct lines (each its own lease) are all written
            log_event(logger, logging.INFO, "lease_acquired", lease_id=str(i))
        now[0] = 10.5
        log_event(logger, logging.INFO, "rpc_error", rpc="/x", reason="INVALID_ARGUMENT")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    floods = [line for line in lines if line["event"] == "rpc_error"]
    assert len(floods) == 4 and floods[-1]["suppressed"] == 997
    assert "suppressed" not in floods[0]
    assert len([line for line in lines if line["event"] == "lease_acquired"]) == 5
    after = sum(
        int(v)
        for attrs, v in metric_points().get("ibbroker.log.suppressed", [])
        if attrs.get("event") == "rpc_error"
    )
    assert after - before == 997


def _lower_soft_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


def test_the_broker_raises_its_soft_open_file_limit_to_the_hard_one(tmp_path: Path) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 256:
        pytest.skip(f"the hard open-file limit is {hard}: nothing to raise")
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker_server", "serve", "--sim", "--listen", "127.0.0.1:0",
         "--store", str(tmp_path / "s.sqlite3")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_lower_soft_limit,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        tail = LogTail(proc.stderr)
        raised = tail.wait_for("nofile_raised", 30)
        assert (raised["soft_before"], raised["soft"]) == (256, hard)
        tail.wait_for("grpc_listening", 30)
        limits = Path(f"/proc/{proc.pid}/limits").read_text().splitlines()
        row = next(line for line in limits if line.startswith("Max open files"))
        assert row.split()[3] == str(hard)
    finally:
        proc.terminate()
        proc.wait(15)


async def test_a_connection_that_never_speaks_http2_is_closed(serve: Serve) -> None:
    server = await serve(handshake_timeout=0.3)
    host, _, port = server.address.rpartition(":")  # type: ignore[attr-defined]
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        # The server closes the silent socket (after a GOAWAY saying why): the read reaches the
        # end of the stream instead of waiting forever.
        data = await within(reader.read(), 5.0)
        assert b"handshake timeout" in data and reader.at_eof()
    finally:
        writer.close()
