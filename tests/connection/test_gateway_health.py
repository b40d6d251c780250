"""Gateway health and ``grpc.health.v1`` follow the monitor session (issue 9, finding 11).

A PROXIED session starts UNHEALTHY while it connects; gateway health used to fold every
session, so each PROXIED acquire flipped the health service to NOT_SERVING for a few ms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import connection_pb2 as conn_pb
from broker_client.ibbroker.v1 import connection_service_pb2 as conn_svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as conn_grpc
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as lease_svc
from broker_server.app import running_broker
from broker_server.domain.health import HealthStatus
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimServer
from tests.connection.conftest import fast_config
from tests.server.helpers import fast_config as broker_config
from tests.sim.conftest import wait_for


async def test_proxied_sessions_opening_and_closing_never_flip_gateway_health(
    sim: SimServer, make_manager: Callable[..., ConnectionManager]
) -> None:
    manager = make_manager(fast_config(sim.port))
    flips: list[bool] = []
    manager.on_gateway_health(lambda _gateway, serving: flips.append(serving))
    await manager.connect(timeout=5)
    assert flips[-1] is True
    mark = len(flips)
    for i in range(5):
        await manager.open_session("paper", 101 + i, f"lease-{i}")
    await manager.close_session("paper", 101)
    assert flips[mark:] == []
    assert manager.gateways()[0].health is HealthStatus.HEALTHY
    # A PROXIED session's trouble is its own: the gateway (and gRPC health) stay as they are.
    await sim.faults.refuse()
    await sim.faults.drop(102)
    sup = manager.supervisor("paper", 102)
    await wait_for(lambda: sup.health is HealthStatus.UNHEALTHY)
    gateway = manager.gateways()[0]
    assert gateway.health is HealthStatus.HEALTHY and manager.is_healthy()
    assert {s.client_id: s.health for s in gateway.sessions}[102] is HealthStatus.UNHEALTHY
    assert flips[mark:] == []


async def test_the_health_service_stays_serving_through_proxied_acquires(tmp_path: Path) -> None:
    statuses = health_pb2.HealthCheckResponse
    async with running_broker(broker_config(tmp_path / "store.sqlite3"), with_sim=True) as broker:
        assert broker.sim is not None
        async with aio_channel(broker.address) as channel:
            conn = conn_grpc.ConnectionServiceStub(channel)

            async def connected() -> None:
                async for reply in conn.WatchConnectionState(
                    conn_svc.WatchConnectionStateRequest()
                ):
                    if reply.event.state == conn_pb.CONNECTION_STATE_CONNECTED:
                        return

            await asyncio.wait_for(connected(), 10)
            health = health_pb2_grpc.HealthStub(channel)
            watch = health.Watch(health_pb2.HealthCheckRequest(service="ibbroker.v1.LeaseService"))
            assert (await asyncio.wait_for(watch.read(), 5)).status == statuses.SERVING
            seen: list[int] = []
            barrier = asyncio.Event()

            async def record() -> None:
                while True:
                    reply = await watch.read()
                    seen.append(reply.status)
                    if reply.status == statuses.NOT_SERVING:
                        barrier.set()
                        return

            recorder = asyncio.create_task(record())
            leases = lease_service_pb2_grpc.LeaseServiceStub(channel)
            for i in range(6):
                acquired = await leases.AcquireLease(
                    lease_svc.AcquireLeaseRequest(
                        owner="p", mode=lease_pb2.LEASE_MODE_PROXIED, request_id=f"r{i}"
                    ),
                    timeout=10,
                )
                await leases.ReleaseLease(
                    lease_svc.ReleaseLeaseRequest(
                        lease_id=acquired.lease.lease_id, owner="p", epoch=acquired.lease.epoch
                    ),
                    timeout=10,
                )
            # A real outage as the barrier: its NOT_SERVING must be the first change seen.
            await broker.sim.faults.refuse()
            await broker.sim.faults.drop(mode="rst")
            await asyncio.wait_for(barrier.wait(), 10)
            await recorder
            watch.cancel()
            await broker.sim.faults.accept()
    assert seen == [statuses.NOT_SERVING]
