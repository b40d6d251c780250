"""Ended leases are pruned from the SQLite table: a bounded history by age and by count,
applied while writing and at open, configured by ``store.history_*``; active leases, epochs and
quarantines are never pruned."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import pytest

from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc
from broker_server.app import running_broker
from broker_server.config import ConfigError, config_from_mapping
from broker_server.store.sqlite import History, SqliteStore
from tests.server.helpers import fast_config
from tests.store.helpers import ended, lease, rows


def _end_leases(store: SqliteStore, ends: list[float], first_id: int = 101) -> list[str]:
    ids = []
    for n, at in enumerate(ends):
        held = lease(first_id + n, at=at - 1.0)
        store.save_acquire(held).result()
        store.save_end(*ended(held, at)).result()
        ids.append(held.lease_id)
    return ids


def _ended_ids(path: Path) -> set[str]:
    return {str(r[0]) for r in rows(path, "SELECT lease_id FROM leases WHERE state != 'ACTIVE'")}


def test_leases_that_ended_before_the_history_are_pruned(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3", history=History(seconds=10.0, max_rows=1000))
    store.open_blocking()
    try:
        old_active = lease(100, at=0.0)  # acquired long ago, still held: never pruned
        store.save_acquire(old_active).result()
        ids = _end_leases(store, [1000.0, 1005.0, 1012.0, 1020.0])
        # The newest end is 1020: what ended before 1010 is gone, the rest is kept.
        assert _ended_ids(store.path) == set(ids[2:])
        assert store.load_live_leases().result() == (old_active,)
        # Epochs and quarantines outlive the pruned rows: epochs never go back.
        assert store.epoch_high_water("paper", 101).result() == 1
        snapshot = store.load(since=0).result()
        assert {x.lease_id for x in snapshot.leases} == {old_active.lease_id, *ids[2:]}
        assert {row.client_id for row in snapshot.client_ids} == {100, 101, 102, 103, 104}
        assert store.stats.pruned == 2
    finally:
        store.close_blocking()


def test_at_most_max_rows_ended_leases_are_kept(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3", history=History(seconds=1e9, max_rows=3))
    store.open_blocking()
    try:
        ids = _end_leases(store, [1000.0 + n for n in range(10)])
        assert _ended_ids(store.path) == set(ids[-3:])  # the newest three
        assert store.stats.pruned == 7
    finally:
        store.close_blocking()


def test_zero_keeps_no_ended_lease(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3", history=History(seconds=1e9, max_rows=0))
    store.open_blocking()
    try:
        _end_leases(store, [1000.0, 1001.0])
        assert _ended_ids(store.path) == set()
        assert rows(store.path, "SELECT count(*) FROM client_ids") == [(2,)]
    finally:
        store.close_blocking()


def test_the_history_a_previous_run_left_is_bounded_at_open(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)  # the defaults keep all 20
    store.open_blocking()
    ids = _end_leases(store, [1000.0 + n for n in range(20)])
    store.close_blocking()
    assert _ended_ids(path) == set(ids)

    store = SqliteStore(path, history=History(seconds=12.0, max_rows=5))
    store.open_blocking()
    store.close_blocking()
    assert _ended_ids(path) == set(ids[-5:])
    store = SqliteStore(path, history=History(seconds=2.5, max_rows=5))
    store.open_blocking()
    store.close_blocking()
    assert _ended_ids(path) == set(ids[-3:])  # ended at 1017..1019, the newest at 1019


def test_the_bound_is_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping({"store": {"history_seconds": -1, "history_max_rows": -2}}, {})
    assert err.value.problems == [
        "store.history_seconds: must be >= 0",
        "store.history_max_rows: must be >= 0",
    ]
    cfg = config_from_mapping({"store": {"history_max_rows": 7}}, {})
    assert (cfg.store.history_seconds, cfg.store.history_max_rows) == (600.0, 7)


async def test_the_served_broker_keeps_the_configured_history(tmp_path: Path) -> None:
    base = fast_config(tmp_path / "store.sqlite3")
    config = dataclasses.replace(base, store=dataclasses.replace(base.store, history_max_rows=2))
    async with running_broker(config, with_sim=True) as broker:
        async with grpc.aio.insecure_channel(broker.address) as channel:
            stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
            for n in range(5):
                owner = f"o{n}"
                got = (
                    await stub.AcquireLease(pb.AcquireLeaseRequest(owner=owner), timeout=5)
                ).lease
                await stub.ReleaseLease(
                    pb.ReleaseLeaseRequest(lease_id=got.lease_id, epoch=got.epoch, owner=owner),
                    timeout=5,
                )
            assert len(_ended_ids(tmp_path / "store.sqlite3")) == 2
