"""Durability: restart reloads and extends leases, epochs continue, bad files stop the start."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.domain.clock import ManualClock
from broker_server.domain.leases import LeaseMode, LeaseRecord, LeaseState
from broker_server.runtime.leases import LeaseManager
from broker_server.store.base import StoreError
from broker_server.store.sqlite import SqliteStore
from broker_server.store.sqlite_schema import APPLICATION_ID, SCHEMA_VERSION
from tests.leases.conftest import Broker, make_config, rpc_error

MakeBroker = Callable[..., Awaitable[Broker]]


async def test_leases_reload_on_restart_with_epochs_and_their_remaining_uptime(
    make_broker: MakeBroker,
) -> None:
    broker = await make_broker(cooldown=2.0)
    stub = broker.stub
    kept = (
        await stub.AcquireLease(
            pb.AcquireLeaseRequest(owner="a", ttl=duration_pb2.Duration(seconds=10))
        )
    ).lease
    gone = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner="b"))).lease
    await stub.ReleaseLease(pb.ReleaseLeaseRequest(lease_id=gone.lease_id, epoch=1, owner="b"))
    broker.clock.advance(2)
    await broker.sweep()
    again = (
        await stub.AcquireLease(pb.AcquireLeaseRequest(owner="c", client_id=gone.client_id))
    ).lease
    assert (again.client_id, again.epoch) == (gone.client_id, 2)
    await stub.ReleaseLease(pb.ReleaseLeaseRequest(lease_id=again.lease_id, epoch=2, owner="c"))

    await broker.stop()
    broker.clock.advance(60)  # the broker was down longer than the TTL
    await broker.start()
    stub = broker.stub
    listed = (await stub.ListLeases(pb.ListLeasesRequest())).leases
    assert [(x.lease_id, x.client_id, x.epoch, x.owner) for x in listed] == [
        (kept.lease_id, kept.client_id, 1, "a")
    ]
    # Downtime does not count: 8 s of its TTL were left at the stop, less one sweep interval
    # (the broker may have lived that long after its last alive mark; downtime is never
    # over-counted). More than a grace left: no grace.
    expire = listed[0].expire_time.seconds + listed[0].expire_time.nanos / 1e9
    assert expire == pytest.approx(broker.clock.wall() + 8 - 0.1, abs=1e-3)
    # The owner keeps renewing with the epoch it holds.
    await stub.RenewLease(pb.RenewLeaseRequest(lease_id=kept.lease_id, epoch=1, owner="a"))
    # The released ID was still quarantined when the broker went down; it rests after a restart
    # until a sweep frees it, and its epochs continue from the stored high-water mark.
    gone_id = gone.client_id
    assert broker.manager is not None
    assert [q.client_id for q in broker.manager.table.quarantined()] == [gone_id]
    await broker.sweep()
    third = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner="d", client_id=gone_id))).lease
    assert (third.client_id, third.epoch) == (gone_id, 3)
    # Finished leases stay visible for a while, also across the restart.
    got = (await stub.GetLease(pb.GetLeaseRequest(lease_id=gone.lease_id))).lease
    assert got.state == lease_pb2.LEASE_STATE_RELEASED


async def test_idempotent_retry_across_a_restart_returns_the_same_lease(
    make_broker: MakeBroker,
) -> None:
    broker = await make_broker()
    first = (
        await broker.stub.AcquireLease(pb.AcquireLeaseRequest(owner="a", request_id="k"))
    ).lease
    await broker.restart()
    again = (
        await broker.stub.AcquireLease(pb.AcquireLeaseRequest(owner="a", request_id="k"))
    ).lease
    assert (again.lease_id, again.client_id, again.epoch) == (
        first.lease_id,
        first.client_id,
        first.epoch,
    )


def _assert_refused(path: Path, match: str) -> None:
    before = path.read_bytes()
    cfg = make_config(path)

    async def start() -> None:
        manager = LeaseManager(cfg, SqliteStore(path), ManualClock())
        await manager.start(sweeper=False)

    import asyncio

    with pytest.raises(StoreError, match=match):
        asyncio.run(start())
    assert path.read_bytes() == before


def test_a_corrupt_file_stops_the_start_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "leases.sqlite3"
    path.write_bytes(b"this is not a database\n" * 100)
    _assert_refused(path, "not an SQLite database")


def test_a_damaged_sqlite_file_stops_the_start_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "leases.sqlite3"
    store = SqliteStore(path)
    store.open_blocking()
    store.close_blocking()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page's b-tree
    path.write_bytes(bytes(data))
    _assert_refused(path, "corrupt")


def test_a_newer_schema_stops_the_start_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "leases.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    _assert_refused(path, f"schema version {SCHEMA_VERSION + 1} is newer")


def test_another_applications_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name)")
    conn.commit()
    conn.close()
    _assert_refused(path, "another application")


def test_a_new_store_is_created_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "var" / "nested" / "leases.sqlite3"
    store = SqliteStore(path)
    store.open_blocking()
    store.open_blocking()  # idempotent: the composition root and the LeaseManager both open it
    snapshot = store.load(since=0).result()
    assert snapshot.schema_version == SCHEMA_VERSION and snapshot.leases == ()
    lease = LeaseRecord(
        "6f1d0f3e-8a53-4d43-a3c5-7f6f0b9e7a11",
        "paper",
        100,
        1,
        "a",
        LeaseMode.DIRECT,
        LeaseState.ACTIVE,
        30.0,
        1.0,
        31.0,
        request_id="r",
    )
    store.save_acquire(lease).result()
    assert store.load_live_leases().result() == (lease,)
    assert store.epoch_high_water("paper", 100).result() == 1
    assert store.epoch_high_water("paper", 101).result() == 0
    # The storage guard: a second live holder of one ID is refused by the schema itself.
    twin = LeaseRecord(
        "0d1b8a70-6c35-4a5e-9d0e-2f4a8a1b7c22",
        "paper",
        100,
        2,
        "b",
        LeaseMode.DIRECT,
        LeaseState.ACTIVE,
        30.0,
        1.0,
        31.0,
    )
    with pytest.raises(StoreError, match="UNIQUE"):
        store.save_acquire(twin).result()
    store.close_blocking()
    store.close_blocking()
    with pytest.raises(StoreError, match="not open"):
        store.save_free("paper", 100).result()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


async def test_calls_on_a_stopped_manager_are_unavailable(make_broker: MakeBroker) -> None:
    broker = await make_broker()
    assert broker.manager is not None
    await broker.manager.stop()
    err = await rpc_error(broker.stub.AcquireLease(pb.AcquireLeaseRequest(owner="a")))
    assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
    broker.manager = None


async def test_a_store_that_cannot_write_is_unavailable_and_leaks_no_id(
    make_broker: MakeBroker,
) -> None:
    broker = await make_broker()
    assert broker.manager is not None
    # Inject the fault: the writer thread is gone, so every write fails as on an I/O error.
    broker.manager._store.close_blocking()  # type: ignore[attr-defined]
    err = await rpc_error(broker.stub.AcquireLease(pb.AcquireLeaseRequest(owner="a")))
    assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE")
    assert err.retry_after is not None
    listed = await broker.stub.ListLeases(pb.ListLeasesRequest())
    assert list(listed.leases) == []
