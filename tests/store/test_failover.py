"""Failover with real processes on one PostgreSQL: a standby broker waits without listening, the
leader is SIGKILLed, the standby takes over after the leadership TTL with the next epoch and
serves the leader's lease as it was; while it waits it answers NOT_LEADER with the leader's
address and NOT_SERVING health; a SIGTERM ends a waiting standby cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker_client.errors import BrokerError, NotLeaderError
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as pb_grpc
from tests.conftest import free_port
from tests.server.helpers import LogTail, broker_process

TTL = 1.0


def _config(tmp_path: Path, standby: bool) -> Path:
    path = tmp_path / f"broker-{'standby' if standby else 'leader'}.toml"
    path.write_text(
        f'[store]\nbackend = "postgres"\nleadership_ttl = {TTL}\n'
        f"standby = {'true' if standby else 'false'}\n"
    )
    return path


def _standby(tmp_path: Path, dsn: str, port: int) -> tuple[subprocess.Popen[str], LogTail]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker_server", "serve", "--config", str(_config(tmp_path, True)),
         "--sim", "--listen", f"127.0.0.1:{port}", "--store", str(tmp_path / "b.sqlite3")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "IBBROKER_STORE_DSN": dsn},
    )  # fmt: skip
    assert proc.stderr is not None
    return proc, LogTail(proc.stderr)


async def test_a_standby_takes_over_a_sigkilled_leader_with_its_leases(
    tmp_path: Path, pg_dsn: str
) -> None:
    leader_args = ["serve", "--config", str(_config(tmp_path, False)), "--sim"]
    leader_args += ["--listen", f"127.0.0.1:{free_port()}", "--store", str(tmp_path / "a.sqlite3")]
    standby_port = free_port()
    with broker_process(leader_args, env={"IBBROKER_STORE_DSN": pg_dsn}) as (leader, address, _):
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.LeaseServiceStub(channel)
            held = stub.AcquireLease(pb.AcquireLeaseRequest(owner="a"), timeout=10).lease
        standby, tail = _standby(tmp_path, pg_dsn, standby_port)
        try:
            waiting = tail.wait_for("store_standby", 30)
            assert waiting["leader_address"] == address
            assert not any(r.get("event") == "grpc_listening" for r in tail.records)
            # While it waits, the standby tells callers and probes where the leader is.
            tail.wait_for("standby_listening", 5, address=f"127.0.0.1:{standby_port}")
            with grpc.insecure_channel(f"127.0.0.1:{standby_port}") as channel:
                stub = pb_grpc.LeaseServiceStub(channel)
                with pytest.raises(grpc.RpcError) as caught:
                    stub.AcquireLease(pb.AcquireLeaseRequest(owner="b"), timeout=10)
                error = BrokerError.from_rpc_error(caught.value)
                assert isinstance(error, NotLeaderError) and error.leader_address == address
                assert (
                    error.code == grpc.StatusCode.UNAVAILABLE
                    and error.retry_after == pytest.approx(TTL / 3, abs=1e-3)
                )
                with pytest.raises(grpc.RpcError) as caught:
                    list(stub.WatchLeases(pb.WatchLeasesRequest(), timeout=10))
                assert isinstance(BrokerError.from_rpc_error(caught.value), NotLeaderError)
                health = health_pb2_grpc.HealthStub(channel)
                check = health_pb2.HealthCheckRequest
                assert health.Check(
                    check(service="ibbroker.v1.LeaseService"), timeout=5
                ).status == (health_pb2.HealthCheckResponse.NOT_SERVING)
                assert health.Check(check(), timeout=5).status == (
                    health_pb2.HealthCheckResponse.SERVING
                )
            leader.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            listening = tail.wait_for("grpc_listening", 30)
            took = time.monotonic() - killed
            print(f"failover: SIGKILL -> standby listening in {took:.2f} s (TTL {TTL} s)")
            assert listening["address"] == f"127.0.0.1:{standby_port}"
            # Within the TTL plus a check interval and the start-up (simulator, gateway, server).
            assert took < TTL + 10, took
            with grpc.insecure_channel(f"127.0.0.1:{standby_port}") as channel:
                stub = pb_grpc.LeaseServiceStub(channel)
                got = stub.GetLease(pb.GetLeaseRequest(lease_id=held.lease_id), timeout=10).lease
                assert (got.client_id, got.epoch, got.owner) == (held.client_id, held.epoch, "a")
                assert got.state == lease_pb2.LEASE_STATE_ACTIVE
                other = stub.AcquireLease(pb.AcquireLeaseRequest(owner="b"), timeout=10).lease
                assert other.client_id != held.client_id
            conn = await asyncpg.connect(pg_dsn)
            try:
                row = await conn.fetchrow("SELECT epoch, address FROM leadership")
            finally:
                await conn.close()
            assert (row["epoch"], row["address"]) == (2, f"127.0.0.1:{standby_port}")
            standby.send_signal(signal.SIGTERM)
            assert standby.wait(15) == 0
        finally:
            if standby.poll() is None:
                standby.kill()
                standby.wait(10)


def test_a_waiting_standby_stops_on_sigterm(tmp_path: Path, pg_dsn: str) -> None:
    leader_args = ["serve", "--config", str(_config(tmp_path, False)), "--sim"]
    leader_args += ["--listen", f"127.0.0.1:{free_port()}", "--store", str(tmp_path / "a.sqlite3")]
    with broker_process(leader_args, env={"IBBROKER_STORE_DSN": pg_dsn}) as (leader, _addr, _):
        standby, tail = _standby(tmp_path, pg_dsn, free_port())
        try:
            tail.wait_for("store_standby", 30)
            standby.send_signal(signal.SIGTERM)
            assert standby.wait(15) == 0
            tail.wait_for("shutdown_complete", 5, started=False)
        finally:
            if standby.poll() is None:
                standby.kill()
                standby.wait(10)
        assert leader.poll() is None
