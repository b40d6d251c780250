"""The broker on the PostgreSQL store (``store.backend = "postgres"``): leases survive a restart,
and a second broker on a database another live broker leads refuses to start, in process and as
a process with one line on stderr."""

from __future__ import annotations

import asyncio
import dataclasses
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

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as pb_grpc
from broker_server.app import EXIT_STEPPED_DOWN, running_broker, start_broker
from broker_server.config import BrokerConfig, Secret, config_from_mapping
from broker_server.store.base import StoreOwnedError
from broker_server.store.postgres import PostgresStore
from tests.conftest import free_port
from tests.server.helpers import broker_process, fast_config

ROOT = Path(__file__).resolve().parents[2]


def on_postgres(tmp_path: Path, dsn: str) -> BrokerConfig:
    base = fast_config(tmp_path / "unused.sqlite3")
    store = dataclasses.replace(base.store, backend="postgres", dsn=Secret(dsn))
    return dataclasses.replace(base, store=store)


def test_the_backend_is_checked_and_the_dsn_is_a_secret() -> None:
    with pytest.raises(Exception, match=r"store.dsn: required when store.backend is 'postgres'"):
        config_from_mapping({"store": {"backend": "postgres"}}, {})
    with pytest.raises(Exception, match=r"store.backend: must be 'sqlite' or 'postgres'"):
        config_from_mapping({"store": {"backend": "mysql"}}, {})
    cfg = config_from_mapping(
        {"store": {"backend": "postgres"}},
        {"IBBROKER_STORE_DSN": "postgresql://u:hunter2@db/ib"},
    )
    assert cfg.store.dsn.reveal() == "postgresql://u:hunter2@db/ib"
    assert "hunter2" not in repr(cfg)
    # store.path is SQLite's file: PostgreSQL needs none (not even for the alive mark).
    with pytest.raises(Exception, match=r"store.path: must not be empty"):
        config_from_mapping({"store": {"path": ""}}, {})
    cfg = config_from_mapping(
        {"store": {"backend": "postgres", "path": ""}},
        {"IBBROKER_STORE_DSN": "postgresql://u:p@db/ib"},
    )
    assert cfg.store.path == ""


async def test_leases_survive_a_broker_restart_on_postgres(tmp_path: Path, pg_dsn: str) -> None:
    config = on_postgres(tmp_path, pg_dsn)
    async with running_broker(config, with_sim=True) as broker:
        async with grpc.aio.insecure_channel(broker.address) as channel:
            stub = pb_grpc.LeaseServiceStub(channel)
            held = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner="a"), timeout=10)).lease
    async with running_broker(config, with_sim=True) as broker:
        async with grpc.aio.insecure_channel(broker.address) as channel:
            stub = pb_grpc.LeaseServiceStub(channel)
            got = await stub.GetLease(pb.GetLeaseRequest(lease_id=held.lease_id), timeout=10)
            assert got.lease.client_id == held.client_id and got.lease.epoch == held.epoch
            assert got.lease.state == lease_pb2.LEASE_STATE_ACTIVE
            again = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner="b"), timeout=10)).lease
            assert again.client_id != held.client_id
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await conn.fetchval("SELECT epoch FROM leadership") == 2  # one per broker start
    finally:
        await conn.close()


async def test_a_second_broker_on_a_led_database_refuses_to_start(
    tmp_path: Path, pg_dsn: str
) -> None:
    config = on_postgres(tmp_path, pg_dsn)
    async with running_broker(config, with_sim=True) as first:
        with pytest.raises(StoreOwnedError, match="owned by another live broker") as caught:
            await start_broker(on_postgres(tmp_path / "other", pg_dsn), with_sim=True)
        # The refusal names the address the first broker really bound (it was asked for port 0).
        assert caught.value.address == first.address and not first.address.endswith(":0")


def test_a_second_broker_process_exits_with_one_line(tmp_path: Path, pg_dsn: str) -> None:
    env = {"IBBROKER_STORE_DSN": pg_dsn}
    config = tmp_path / "broker.toml"
    config.write_text('[store]\nbackend = "postgres"\n')
    args = ["serve", "--config", str(config), "--sim", "--listen", f"127.0.0.1:{free_port()}"]
    args += ["--store", str(tmp_path / "a.sqlite3")]
    with broker_process(args, env=env) as (proc, _address, _tail):
        second = subprocess.run(
            [sys.executable, "-m", "broker_server", "serve", "--config", str(config), "--sim",
             "--listen", f"127.0.0.1:{free_port()}", "--store", str(tmp_path / "b.sqlite3")],
            capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, **env},
        )  # fmt: skip
        assert second.returncode == 1
        lines = [line for line in second.stderr.splitlines() if line.startswith("ibbroker:")]
        assert len(lines) == 1 and "owned by another live broker" in lines[0], second.stderr
        assert "this broker touched nothing" in lines[0]
        assert proc.poll() is None


async def _until_leadership_expired(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + 15.0
        while not await conn.fetchval("SELECT expires_at < clock_timestamp() FROM leadership"):
            assert time.monotonic() < deadline, "the paused leader's leadership never expired"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_a_sigstopped_leader_woken_after_a_takeover_writes_nothing_and_exits_75(
    tmp_path: Path, pg_dsn: str
) -> None:
    """Without ``store.standby`` the woken leader steps down (its renewal finds epoch 2) and
    exits with EXIT_STEPPED_DOWN for its supervisor; nothing it did reached the store. (Its
    NOT_LEADER answers while deposed: tests/store/test_leader_fence.py, in process.)"""
    env = {"IBBROKER_STORE_DSN": pg_dsn}
    config = tmp_path / "broker.toml"
    config.write_text('[store]\nbackend = "postgres"\nleadership_ttl = 1.0\n')
    args = ["serve", "--config", str(config), "--sim", "--listen", f"127.0.0.1:{free_port()}"]
    args += ["--store", str(tmp_path / "a.sqlite3")]
    with broker_process(args, env=env) as (proc, address, tail):
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.LeaseServiceStub(channel)
            stub.AcquireLease(pb.AcquireLeaseRequest(owner="a"), timeout=10)
            before = await _rows(pg_dsn, "SELECT * FROM leases")
            await _until_health(channel, health_pb2.HealthCheckResponse.SERVING)
            proc.send_signal(signal.SIGSTOP)
            try:
                await _until_leadership_expired(pg_dsn)
                # The new leader: a store of another broker, which takes over with epoch 2.
                new = PostgresStore(pg_dsn, address="127.0.0.1:7002", renew=False)
                await new.open()
            finally:
                proc.send_signal(signal.SIGCONT)
            try:
                assert new.leadership is not None and new.leadership.epoch == 2
                tail.wait_for("store_leadership_lost", 10)  # its deadline, or epoch 2 found
                assert await asyncio.to_thread(proc.wait, 30) == EXIT_STEPPED_DOWN
                gone = tail.wait_for("leadership_step_down_exit", 5)
                assert gone["cause"] in {"local_expiry", "newer_leader"}  # whichever came first
                # Nothing the woken broker did reached the store.
                assert await _rows(pg_dsn, "SELECT * FROM leases") == before
            finally:
                await new.close()


async def _until_health(channel: grpc.Channel, status: int) -> None:
    """Wait (bounded) until the broker's LeaseService health is ``status``."""
    health = health_pb2_grpc.HealthStub(channel)
    request = health_pb2.HealthCheckRequest(service="ibbroker.v1.LeaseService")
    deadline = time.monotonic() + 10
    while health.Check(request, timeout=5).status != status:
        assert time.monotonic() < deadline, f"LeaseService health never became {status}"
        await asyncio.sleep(0.05)


async def _rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return sorted(tuple(row) for row in await conn.fetch(sql))
    finally:
        await conn.close()
