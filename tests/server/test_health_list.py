"""grpc.health.v1.Health/List answers (reflection advertises it) with what Check answers."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_server.aio import within
from broker_server.config import ServerConfig
from broker_server.server import GrpcServer, HealthServicer

SERVICES = ("ibbroker.v1.LeaseService", "ibbroker.v1.ConnectionService")
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
async def server() -> AsyncIterator[tuple[GrpcServer, str]]:
    srv = GrpcServer(ServerConfig(listen="127.0.0.1:0"), SERVICES)
    address = await srv.start("127.0.0.1:0")
    try:
        yield srv, address
    finally:
        await srv.stop(0)


async def _list(address: str) -> dict[str, int]:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).List(
            health_pb2.HealthListRequest(), timeout=5
        )
        return {name: response.status for name, response in reply.statuses.items()}


async def test_list_reports_every_service_as_check_does(server: tuple[GrpcServer, str]) -> None:
    srv, address = server
    await srv.set_health([(SERVICES[0], True), (SERVICES[1], False)])
    listed = await _list(address)
    assert listed == {"": SERVING, SERVICES[0]: SERVING, SERVICES[1]: NOT_SERVING}
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name, status in listed.items():
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == status, name


async def test_list_follows_changes_and_shutdown(server: tuple[GrpcServer, str]) -> None:
    srv, address = server
    await srv.set_health([(name, True) for name in SERVICES])
    assert set((await _list(address)).values()) == {SERVING}
    await srv.enter_shutdown()
    # Health calls still answer while draining; every service is NOT_SERVING.
    assert set((await _list(address)).values()) == {NOT_SERVING}


async def test_list_refuses_more_services_than_its_limit(
    server: tuple[GrpcServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, address = server
    monkeypatch.setattr(HealthServicer, "MAX_LIST", 2)
    await srv.set_health([(name, True) for name in SERVICES])  # 3 with the process ("")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _list(address)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_grpcurl_lists_health_through_reflection(server: tuple[GrpcServer, str]) -> None:
    srv, address = server
    await srv.set_health([(SERVICES[0], True)])
    grpcurl = Path(sys.executable).parent / "grpcurl"
    proc = await asyncio.create_subprocess_exec(
        str(grpcurl),
        "-plaintext",
        address,
        "grpc.health.v1.Health/List",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await within(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert '"ibbroker.v1.LeaseService"' in out.decode()
    assert '"status": "SERVING"' in out.decode()
