"""A leader cut off from PostgreSQL steps down on its own deadline: every PostgreSQL process is
SIGSTOPped (a partition: renewals hang), and before any standby could take over (the server's
expiry is later) the broker drops its IB sockets, logs ``leadership_step_down``, counts it,
ends its connection streams, turns NOT_SERVING and refuses orders with NOT_LEADER."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_client.ibbroker.v1 import connection_pb2, lease_pb2
from broker_client.ibbroker.v1 import connection_service_pb2 as cpb
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as cgrpc
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lgrpc
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as sgrpc
from broker_server.aio import within
from broker_server.app import running_broker
from broker_server.config import Secret
from broker_server.telemetry import metric_points
from tests.support.postgres import PrivateServer
from tests.trading.served import fast_trading_config, limit_order, rpc_error, simulator

TTL = 2.0


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    server = PrivateServer()
    try:
        yield server
    finally:
        server.stop()


def _server_pids(server: PrivateServer) -> list[int]:
    """The postmaster and every process it started (one backend per connection)."""
    postmaster = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
            pids.append(int(entry))
    return pids


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _step_downs(cause: str) -> float:
    return sum(
        v
        for a, v in metric_points().get("ibbroker.leadership.step_downs", [])
        if a.get("cause") == cause
    )


async def test_a_leader_cut_off_from_postgres_drops_its_ib_sessions_and_steps_down(
    tmp_path: Path, private_pg: PrivateServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with simulator() as sim:
        base = fast_trading_config(tmp_path / "alive.sqlite3", sim.port)
        store = dataclasses.replace(
            base.store, backend="postgres", dsn=Secret(private_pg.dsn), leadership_ttl=TTL
        )
        async with running_broker(dataclasses.replace(base, store=store)) as broker:
            await broker.connections.connect(timeout=10)
            before = _step_downs("local_expiry")
            async with grpc.aio.insecure_channel(broker.address) as channel:
                proxied = lpb.AcquireLeaseRequest(owner="alice", mode=lease_pb2.LEASE_MODE_PROXIED)
                lease = (await lgrpc.LeaseServiceStub(channel).AcquireLease(proxied)).lease
                assert lease.client_id in sim.connected_client_ids()
                watch = cgrpc.ConnectionServiceStub(channel).WatchConnectionState(
                    cpb.WatchConnectionStateRequest()
                )
                await within(watch.read(), 10)  # the snapshot: the stream is live

                frozen = _server_pids(private_pg)
                _signal_all(frozen, signal.SIGSTOP)
                try:
                    loop = asyncio.get_running_loop()
                    end = loop.time() + 4 * TTL
                    while sim.connected_client_ids():  # every IB socket of the broker dropped
                        assert loop.time() < end, sim.connected_client_ids()
                        await asyncio.sleep(0.05)
                    step_down = [r for r in caplog.records if r.msg == "leadership_step_down"]
                    assert len(step_down) == 1
                    fields = step_down[0].__dict__["fields"]
                    assert fields["cause"] == "local_expiry"
                    assert fields["sockets_dropped"] >= 2  # the monitor and the lease's session
                    assert _step_downs("local_expiry") == before + 1
                    # The stream ends with a final event naming the step-down.
                    final = None
                    while final is None or final.kind != connection_pb2.EVENT_KIND_FINAL:
                        read = await within(watch.read(), 10)
                        assert read is not grpc.aio.EOF
                        final = read.event
                    assert "leadership lost (local_expiry)" in final.reason, final
                    health = health_pb2_grpc.HealthStub(channel)
                    asked = health_pb2.HealthCheckRequest(service="ibbroker.v1.TradingService")
                    while (
                        await health.Check(asked)
                    ).status != health_pb2.HealthCheckResponse.NOT_SERVING:
                        assert loop.time() < end
                        await asyncio.sleep(0.05)
                    request = spb.PlaceOrderRequest(
                        lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                        idempotency_key="cut-off-1", single=limit_order("1.00"),
                    )  # fmt: skip
                    err = await rpc_error(sgrpc.TradingServiceStub(channel).PlaceOrder(request))
                    assert err.code is grpc.StatusCode.UNAVAILABLE
                    assert err.reason == "NOT_LEADER", err
                    assert len(sim.book.orders) == 0
                finally:
                    _signal_all(frozen, signal.SIGCONT)
