"""Exactly once across a failover, with real processes: two broker processes on one PostgreSQL
and one simulator (in this test's process, so the test counts the orders IB holds). Broker A
leads, acknowledges an idempotent PlaceOrder, and is SIGKILLed; standby B takes over, reloads
the journal from PostgreSQL and reconciles it with the simulator; the client's retry of the same
key on B gets the same order back, and the simulator holds exactly one order. A leader killed
between the durable intent and the send (``pg_crash_broker.py``): B reconciles the intent to
NOT_SENT and sends it once on the retry. And a broker whose wall clock is behind the previous
one's numbers its order events after the stored ones."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import grpc

from broker_client.ibbroker.v1 import connection_pb2, lease_pb2
from broker_client.ibbroker.v1 import connection_service_pb2 as cpb
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as cgrpc
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lgrpc
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as sgrpc
from broker_server.aio import within
from broker_server.app import running_broker
from broker_server.domain.clock import SystemClock
from broker_server.domain.order_identity import derive_order_ref
from broker_server.sim.server import SimServer
from broker_server.store.order_journal import SqliteOrderJournal
from broker_server.store.sqlite import SqliteStore
from tests.conftest import free_port
from tests.server.helpers import LogTail
from tests.trading.served import config_for, limit_order, rpc_error, simulator

TTL = 1.0
ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, name: str, sim: SimServer, *, standby: bool) -> Path:
    """A broker on the shared PostgreSQL (DSN from the environment) and the shared simulator,
    with the fast timings of the served trading tests."""
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f"""
[server]
grace_period = 2.0
metrics_log_interval = 0

[store]
backend = "postgres"
leadership_ttl = {TTL}
standby = {"true" if standby else "false"}
path = "{tmp_path / name}.sqlite3"

[leases]
quarantine_cooldown = 0.2
sweep_interval = 0.05

[trading]
ack_timeout = 3.0
request_timeout = 3.0
reconcile_retry = 0.1
orphan_poll_interval = 0.1

[gateways.paper]
host = "127.0.0.1"
port = {sim.port}
heartbeat_interval = 0.3
heartbeat_timeout = 0.6
retry_delay = 0.05
backoff_cap = 0.5
timeout = 3.0
breaker_open = 0.5
breaker_open_max = 1.0
"""
    )
    return path


def _broker(config: Path, port: int, dsn: str) -> tuple[subprocess.Popen[str], LogTail]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker_server", "serve", "--config", str(config),
         "--listen", f"127.0.0.1:{port}"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "IBBROKER_STORE_DSN": dsn},
    )  # fmt: skip
    assert proc.stderr is not None
    return proc, LogTail(proc.stderr)


async def _log(tail: LogTail, event: str, seconds: float, **fields: object) -> dict[str, object]:
    # The simulator runs on this loop: wait for the log line on a thread, never blocking it.
    return await asyncio.to_thread(tail.wait_for, event, seconds, **fields)


async def _until_connected(address: str, seconds: float = 30.0) -> None:
    """Poll the broker's gateway state until CONNECTED (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with grpc.aio.insecure_channel(address) as channel:
        stub = cgrpc.ConnectionServiceStub(channel)
        while True:
            state = await stub.GetConnectionState(cpb.GetConnectionStateRequest(), timeout=5)
            if all(g.state == connection_pb2.CONNECTION_STATE_CONNECTED for g in state.gateways):
                return
            assert loop.time() < deadline, state
            await asyncio.sleep(0.05)


async def test_a_retried_order_after_a_failover_is_the_same_order_once_at_ib(
    tmp_path: Path, pg_dsn: str
) -> None:
    procs: list[subprocess.Popen[str]] = []
    try:
        async with simulator() as sim:
            a_port, b_port = free_port(), free_port()
            leader, a_log = _broker(_config(tmp_path, "a", sim, standby=False), a_port, pg_dsn)
            procs.append(leader)
            await _log(a_log, "grpc_listening", 30)
            await _until_connected(f"127.0.0.1:{a_port}")
            standby, b_log = _broker(_config(tmp_path, "b", sim, standby=True), b_port, pg_dsn)
            procs.append(standby)
            await _log(b_log, "store_standby", 30)

            async with grpc.aio.insecure_channel(f"127.0.0.1:{a_port}") as channel:
                leases, trading = lgrpc.LeaseServiceStub(channel), sgrpc.TradingServiceStub(channel)
                lease = (
                    await leases.AcquireLease(
                        lpb.AcquireLeaseRequest(owner="alice", mode=lease_pb2.LEASE_MODE_PROXIED),
                        timeout=15,
                    )
                ).lease
                request = spb.PlaceOrderRequest(
                    lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                    idempotency_key="failover-1", single=limit_order("1.00"),
                )  # fmt: skip
                first = (await trading.PlaceOrder(request, timeout=15)).order
            assert first.state == pb.ORDER_STATE_ACKNOWLEDGED, first
            assert len(sim.book.find_orders(order_ref=first.order_ref)) == 1

            leader.send_signal(signal.SIGKILL)
            assert await within(asyncio.to_thread(leader.wait, 10), 15) == -signal.SIGKILL
            await _log(b_log, "grpc_listening", 30, address=f"127.0.0.1:{b_port}")

            async with grpc.aio.insecure_channel(f"127.0.0.1:{b_port}") as channel:
                trading = sgrpc.TradingServiceStub(channel)
                again = await trading.PlaceOrder(request, timeout=20)
                listed = await trading.ListOpenOrders(
                    spb.ListOpenOrdersRequest(owner="alice"), timeout=10
                )
            assert again.replayed
            assert (again.order.order_ref, again.order.order_id, again.order.client_id) == (
                first.order_ref, first.order_id, first.client_id,
            )  # fmt: skip
            assert again.order.state == pb.ORDER_STATE_ACKNOWLEDGED, again.order
            assert [o.order_ref for o in listed.orders] == [first.order_ref]
            # Exactly one order reached IB, across both brokers.
            assert len(sim.book.orders) == 1
            assert len(sim.book.find_orders(order_ref=first.order_ref)) == 1
            conn = await asyncpg.connect(pg_dsn)
            try:
                epoch = await conn.fetchval("SELECT epoch FROM leadership")
                journaled = await conn.fetch("SELECT order_ref, order_id FROM orders")
            finally:
                await conn.close()
            assert epoch == 2
            assert [(r["order_ref"], r["order_id"]) for r in journaled] == [
                (first.order_ref, first.order_id)
            ]
            standby.send_signal(signal.SIGTERM)
            assert await within(asyncio.to_thread(standby.wait, 15), 20) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


class _SteppedClock(SystemClock):
    """The process's clocks with the wall clock set ``offset`` seconds away (a clock step, or
    another host's clock)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def wall(self) -> float:
        return time.time() + self.offset


async def test_order_event_numbers_continue_after_the_stored_ones_when_the_clock_is_behind(
    tmp_path: Path,
) -> None:
    # Event sequences start from the wall clock; a broker whose clock is behind the last one's
    # (a clock stepped back, a standby on another host) continues after the stored numbers.
    store = tmp_path / "s.sqlite3"
    refs: dict[str, str] = {}
    async with simulator() as sim:
        for name, offset in (("before", 0.0), ("behind", -3600.0)):
            async with running_broker(config_for(store, sim), clock=_SteppedClock(offset)) as b:
                await b.connections.connect(timeout=10)
                async with grpc.aio.insecure_channel(b.address) as channel:
                    proxied = lpb.AcquireLeaseRequest(
                        owner="alice", mode=lease_pb2.LEASE_MODE_PROXIED
                    )
                    leases = lgrpc.LeaseServiceStub(channel)
                    lease = (await leases.AcquireLease(proxied, timeout=15)).lease
                    request = spb.PlaceOrderRequest(
                        lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                        idempotency_key=name, single=limit_order("1.00"),
                    )  # fmt: skip
                    trading = sgrpc.TradingServiceStub(channel)
                    refs[name] = (await trading.PlaceOrder(request, timeout=15)).order.order_ref
    sqlite = SqliteStore(store)
    sqlite.open_blocking()
    try:
        events = SqliteOrderJournal(sqlite).load_events().result(10)
    finally:
        sqlite.close_blocking()
    before = [e.sequence for e in events if e.order_ref == refs["before"]]
    behind = [e.sequence for e in events if e.order_ref == refs["behind"]]
    assert before, events
    # Without continuing after the stored numbers, the second broker's events were numbered an
    # hour below the first's, and the log's bound deleted them as soon as they were written.
    assert behind and min(behind) > max(before), (before, behind)


async def test_an_intent_of_a_leader_killed_before_sending_is_sent_once_by_the_new_leader(
    tmp_path: Path, pg_dsn: str
) -> None:
    # The leader dies between the durable intent and the socket write (its fault point), so only
    # the journal in PostgreSQL knows the order: the new leader must reconcile it (no trace at
    # IB: NOT_SENT) and send it once, under the same orderRef, when the client retries.
    ref = derive_order_ref("alice", "killed-1")
    procs: list[subprocess.Popen[str]] = []
    async with simulator() as sim:
        leader = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.store.pg_crash_broker", pg_dsn, str(sim.port), str(TTL),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert leader.stdout is not None
            address = json.loads(await within(leader.stdout.readline(), 30))["address"]
            b_port = free_port()
            standby, b_log = _broker(_config(tmp_path, "b", sim, standby=True), b_port, pg_dsn)
            procs.append(standby)
            await _log(b_log, "store_standby", 30)
            async with grpc.aio.insecure_channel(address) as channel:
                proxied = lpb.AcquireLeaseRequest(owner="alice", mode=lease_pb2.LEASE_MODE_PROXIED)
                lease = (await lgrpc.LeaseServiceStub(channel).AcquireLease(proxied)).lease
                request = spb.PlaceOrderRequest(
                    lease_id=lease.lease_id, epoch=lease.epoch, owner="alice",
                    idempotency_key="killed-1", single=limit_order("1.00"),
                )  # fmt: skip
                err = await rpc_error(sgrpc.TradingServiceStub(channel).PlaceOrder(request))
                assert err.code is grpc.StatusCode.UNAVAILABLE
            assert await within(leader.wait(), 15) == -signal.SIGKILL
            assert sim.book.find_orders(order_ref=ref) == []  # the intent never reached IB

            await _log(b_log, "grpc_listening", 30, address=f"127.0.0.1:{b_port}")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{b_port}") as channel:
                trading = sgrpc.TradingServiceStub(channel)
                sent = await trading.PlaceOrder(request, timeout=20)
                again = await trading.PlaceOrder(request, timeout=20)
            assert sent.order.order_ref == ref
            assert sent.order.state == pb.ORDER_STATE_ACKNOWLEDGED, sent.order
            assert again.replayed and again.order.order_id == sent.order.order_id
            assert len(sim.book.find_orders(order_ref=ref)) == 1
            assert len(sim.book.orders) == 1
            conn = await asyncpg.connect(pg_dsn)
            try:
                entry = await conn.fetchval("SELECT entry FROM orders WHERE order_ref = $1", ref)
            finally:
                await conn.close()
            assert json.loads(entry)["attempts"] == 2  # journaled by A, resent once by B
            standby.send_signal(signal.SIGTERM)
            assert await within(asyncio.to_thread(standby.wait, 15), 20) == 0
        finally:
            if leader.returncode is None:
                leader.kill()
                await leader.wait()
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
