"""Group commit in the SQLite store: calls queued while a commit runs share the next one, a
failing call fails alone, call order holds inside a batch, and nothing acknowledged is lost.

Batches are made deterministic by a real fault: another connection holds the file's write lock
(as a second process would), so the store's writer waits in ``BEGIN IMMEDIATE`` while the test
queues calls; releasing the lock lets them commit together.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from broker_server.domain.leases import LeaseState
from broker_server.store.base import StoreError
from broker_server.store.sqlite import SqliteStore
from tests.store.helpers import ended, lease, rows, write_lock_held


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "leases.sqlite3")
    s.open_blocking()
    yield s
    s.close_blocking()


def test_calls_queued_during_a_commit_share_one(store: SqliteStore) -> None:
    before = store.stats
    with write_lock_held(store.path):
        futures = [store.save_acquire(lease(100 + n)) for n in range(50)]
        assert not any(f.done() for f in futures)  # nothing is acknowledged before its commit
    for f in futures:
        f.result(timeout=10)
    after = store.stats
    assert after.calls - before.calls == 50
    # The writer may have taken the first call alone before the rest were queued.
    assert after.commits - before.commits <= 2
    assert rows(store.path, "SELECT count(*) FROM leases WHERE state = 'ACTIVE'") == [(50,)]


def test_a_failing_call_fails_alone_and_leaves_no_trace(store: SqliteStore) -> None:
    old = lease(100, owner="b", request_id="r")
    store.save_acquire(old).result()
    store.save_end(*ended(old, 1010.0)).result()
    holder = lease(100, owner="a", epoch=2, at=1020.0)
    store.save_acquire(holder).result()
    before = store.stats
    with write_lock_held(store.path):
        first = store.save_acquire(lease(101))
        # A second live holder of ID 100 with (owner b, request r): its first statement frees
        # the old lease's request_id, its insert then breaks the one-holder index.
        twin = lease(100, owner="b", epoch=3, request_id="r")
        bad = store.save_acquire(twin)
        renew = store.save_renew(holder)
        last = store.save_acquire(lease(102))
    assert first.result(timeout=10) is None
    assert renew.result(timeout=10) is None
    assert last.result(timeout=10) is None
    with pytest.raises(StoreError, match="UNIQUE"):
        bad.result(timeout=10)
    after = store.stats
    assert (after.calls - before.calls, after.failed_calls - before.failed_calls) == (3, 1)
    assert after.commits - before.commits <= 2
    # The failed call's earlier statement was rolled back with it.
    assert rows(
        store.path, "SELECT request_id FROM leases WHERE lease_id = ?", (old.lease_id,)
    ) == [("r",)]
    assert rows(store.path, "SELECT count(*) FROM leases WHERE lease_id = ?", (twin.lease_id,)) == [
        (0,)
    ]
    assert store.epoch_high_water("paper", 100).result() == 2
    live = store.load_live_leases().result()
    assert sorted(x.client_id for x in live) == [100, 101, 102]


def test_call_order_holds_inside_a_batch(store: SqliteStore) -> None:
    with write_lock_held(store.path):
        futures: list[Future[None]] = []
        current = None
        for epoch in range(1, 6):
            if current is not None:
                futures.append(store.save_end(*ended(current, 1000.0 + epoch)))
            current = lease(100, epoch=epoch, at=1000.0 + epoch)
            futures.append(store.save_acquire(current))
        live = store.load_live_leases()  # a read queued after the writes sees them all
    for f in futures:
        f.result(timeout=10)
    assert current is not None
    assert live.result(timeout=10) == (current,)
    assert store.epoch_high_water("paper", 100).result() == 5
    states = rows(store.path, "SELECT state, count(*) FROM leases GROUP BY state ORDER BY state")
    assert states == [("ACTIVE", 1), ("RELEASED", 4)]


def test_concurrent_threads_lose_nothing_and_share_commits(store: SqliteStore) -> None:
    threads_n, pairs, deadline = 16, 25, time.monotonic() + 60
    errors: list[BaseException] = []
    done = [0] * threads_n

    def worker(n: int) -> None:
        try:
            for i in range(pairs):
                if time.monotonic() > deadline:
                    return
                held = lease(100 + n, epoch=i + 1, at=1000.0 + i)
                store.save_acquire(held).result(timeout=30)
                store.save_end(*ended(held, 1000.5 + i)).result(timeout=30)
                done[n] += 1
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    before = store.stats
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors
    assert done == [pairs] * threads_n
    after = store.stats
    calls = after.calls - before.calls
    assert calls == 2 * threads_n * pairs and after.failed_calls == before.failed_calls
    assert after.commits - before.commits <= calls
    for n in range(threads_n):
        assert store.epoch_high_water("paper", 100 + n).result() == pairs
    assert rows(store.path, "SELECT count(*) FROM leases WHERE state = 'RELEASED'") == [
        (threads_n * pairs,)
    ]
    assert store.load_live_leases().result() == ()


async def test_the_event_loop_awaits_writes_of_many_coroutines(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "leases.sqlite3")
    await store.open()
    try:

        async def pair(n: int) -> LeaseState:
            held = lease(n)
            await asyncio.wrap_future(store.save_acquire(held))
            done, quarantine = ended(held, 1001.0)
            await asyncio.wrap_future(store.save_end(done, quarantine))
            return done.state

        states = await asyncio.gather(*(pair(n) for n in range(1, 65)))
        assert set(states) == {LeaseState.RELEASED}
        assert await asyncio.wrap_future(store.load_live_leases()) == ()
    finally:
        await store.close()
    assert rows(store.path, "SELECT count(*) FROM leases") == [(64,)]


def test_close_commits_everything_queued(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "leases.sqlite3")
    store.open_blocking()
    futures = [store.save_acquire(lease(n)) for n in range(1, 201)]
    store.close_blocking()
    assert all(f.done() and f.exception() is None for f in futures)
    assert rows(store.path, "SELECT count(*) FROM leases") == [(200,)]
