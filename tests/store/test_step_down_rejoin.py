"""After a step-down a broker comes back without a process restart (``store.standby = true``)
or exits with EXIT_STEPPED_DOWN for its supervisor (``store.standby = false``).

Real ``python -m broker_server serve`` processes on a private PostgreSQL whose every process
is SIGSTOPped past the leadership's local deadline (PostgreSQL unreachable), then SIGCONTed
(it is back, as after a restart)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from broker_client import BrokerClient, LeasePolicy, RetryPolicy
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lgrpc
from broker_server.aio import within
from broker_server.app import EXIT_STEPPED_DOWN
from tests.store.test_leader_fence import _server_pids, _signal_all
from tests.support.brokers import BrokerProc, write_config
from tests.support.postgres import PrivateServer

TTL = 2.0
WAIT = 30.0


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    server = PrivateServer()
    try:
        yield server
    finally:
        server.stop()


def _broker(tmp_path: Path, pg: PrivateServer, *, standby: bool) -> BrokerProc:
    config = write_config(tmp_path / "broker.toml", ttl=TTL)
    if not standby:
        config.write_text(config.read_text().replace("standby = true", "standby = false"))
    return BrokerProc("solo", tmp_path, pg.dsn, config)


def _epochs(broker: BrokerProc) -> list[int]:
    return [
        int(r["epoch"])  # type: ignore[call-overload]
        for r in list(broker.tail.records)
        if r.get("event") == "store_opened"
    ]


def _count(broker: BrokerProc, event: str) -> int:
    return sum(1 for r in list(broker.tail.records) if r.get("event") == event)


def _cut_off_until_step_down(broker: BrokerProc, pg: PrivateServer) -> dict[str, object]:
    """SIGSTOP PostgreSQL until the broker steps down on its local deadline, then SIGCONT."""
    frozen = _server_pids(pg)
    _signal_all(frozen, signal.SIGSTOP)
    try:
        return broker.tail.wait_for("leadership_step_down", 4 * TTL)
    finally:
        _signal_all(frozen, signal.SIGCONT)


async def test_a_standby_broker_leads_again_after_postgres_comes_back_without_a_restart(
    tmp_path: Path, private_pg: PrivateServer
) -> None:
    broker = _broker(tmp_path, private_pg, standby=True)
    try:
        broker.serving(WAIT)
        first = _epochs(broker)
        assert len(first) == 1
        retry = RetryPolicy(attempts=20, max_backoff=0.5)
        async with (
            BrokerClient(broker.address, retry=retry, timeout=2) as client,
            grpc.aio.insecure_channel(broker.address) as channel,
        ):
            watch = lgrpc.LeaseServiceStub(channel).WatchLeases(lpb.WatchLeasesRequest())
            async with client.lease(owner="before", policy=LeasePolicy()) as held:
                assert held.lease.state == lease_pb2.LEASE_STATE_ACTIVE
                await within(watch.read(), 10)  # the stream is live
                step_down = await asyncio.to_thread(_cut_off_until_step_down, broker, private_pg)
                assert step_down["cause"] == "local_expiry"
                kinds = []  # the deposed broker's stop ends the stream with a FINAL event
                while (read := await within(watch.read(), WAIT)) is not grpc.aio.EOF:
                    kinds.append(read.event.kind)
                assert kinds[-1] == lease_pb2.LEASE_EVENT_KIND_FINAL, kinds
                rejoin = await asyncio.to_thread(
                    broker.tail.wait_for, "leadership_rejoin_standby", WAIT
                )
                assert rejoin["cause"] == "local_expiry"
                assert rejoin["address"] == broker.address
                end = time.monotonic() + WAIT
                # The same process opened the store again and listens as the broker proper (the
                # port is closed while it builds: docs/store.md, not built yet).
                while len(_epochs(broker)) < 2 or _count(broker, "grpc_listening") < 2:
                    assert time.monotonic() < end, broker.tail.lines[-20:]
                    await asyncio.sleep(0.05)
                assert broker.proc.poll() is None
                assert _epochs(broker)[1] > first[0]
                # The same address serves again: a new lease through the retrying client.
                policy = LeasePolicy(acquire_attempts=20)
                async with client.lease(owner="after", policy=policy) as again:
                    assert again.lease.state == lease_pb2.LEASE_STATE_ACTIVE
                    assert again.lease.client_id > 0
                    got = await client.get_lease(again.lease_id)
                    assert got.state == lease_pb2.LEASE_STATE_ACTIVE
        # The step-down's stop ended the watch streams with the step-down as their reason.
        stopping = broker.tail.wait_for("shutdown_started", 1)
        assert stopping["reason"] == "leadership lost (local_expiry): standby"
    finally:
        broker.stop()


def test_a_broker_without_standby_exits_with_ex_tempfail_after_a_step_down(
    tmp_path: Path, private_pg: PrivateServer
) -> None:
    broker = _broker(tmp_path, private_pg, standby=False)
    try:
        broker.serving(WAIT)
        _cut_off_until_step_down(broker, private_pg)
        assert broker.proc.wait(WAIT) == EXIT_STEPPED_DOWN == 75
        gone = broker.tail.wait_for("leadership_step_down_exit", 1)
        assert gone["exit_code"] == 75 and gone["cause"] == "local_expiry"
    finally:
        broker.stop()
