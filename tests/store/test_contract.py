"""The Store contract (``broker_server/store/base.py``), written against the protocol only, so
every store passes the same suite: each test runs once per factory in ``STORES`` (SQLite, and
PostgreSQL on the real server of ``tests/support/postgres.py``).

Durable on resolve, all or nothing per call, a failing call fails alone, call order per key, a
read sees the writes called before it, a bounded history that never prunes live leases or
epochs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from broker_server.store.base import Store, StoreError
from broker_server.store.postgres import PostgresStore
from broker_server.store.sqlite import History, SqliteStore
from tests.store.helpers import ended, lease
from tests.support.postgres import fresh_database

MakeStore = Callable[..., Store]


async def _sqlite_place(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "contract.sqlite3")


def _sqlite(place: str, history: History | None = None) -> Store:
    return SqliteStore(place, history=history)


async def _postgres_place(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # The session's server starts only when a PostgreSQL case runs.
    return await fresh_database(request.getfixturevalue("pg_server"))


def _postgres(place: str, history: History | None = None) -> Store:
    return PostgresStore(place, history=history)


STORES: dict[
    str,
    tuple[
        Callable[[pytest.FixtureRequest, Path], Awaitable[str]],
        Callable[[str, History | None], Store],
    ],
] = {"sqlite": (_sqlite_place, _sqlite), "postgres": (_postgres_place, _postgres)}
"""Per store: where a test's store lives (a file, a database), and how to open one there."""


@pytest.fixture(params=sorted(STORES))
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeStore]:
    opened: list[Store] = []
    place_of, factory = STORES[request.param]
    place = await place_of(request, tmp_path)

    def make(history: History | None = None) -> Store:
        store = factory(place, history)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


def wait(future: Future[Any]) -> Awaitable[Any]:
    return asyncio.wrap_future(future)


async def test_a_resolved_write_is_there_after_a_reopen(make_store: MakeStore) -> None:
    store = make_store()
    await store.open()
    held = lease(100, request_id="r")
    await wait(store.save_acquire(held))
    await store.close()
    again = make_store()
    await again.open()
    assert await wait(again.load_live_leases()) == (held,)
    assert await wait(again.epoch_high_water("paper", 100)) == 1


async def test_a_failing_call_fails_alone_and_whole(make_store: MakeStore) -> None:
    store = make_store()
    await store.open()
    old = lease(100, owner="b", request_id="r")
    await wait(store.save_acquire(old))
    old_end = ended(old, 1010.0)
    await wait(store.save_end(*old_end))
    holder = lease(100, epoch=2, at=1020.0)
    await wait(store.save_acquire(holder))
    # Queued together, not awaited one by one: a store may put them in one transaction.
    twin = lease(100, owner="b", epoch=3, request_id="r")  # a second live holder of ID 100
    results = await asyncio.gather(
        wait(store.save_acquire(lease(101))),
        wait(store.save_acquire(twin)),
        wait(store.save_renew(holder)),
        wait(store.save_acquire(lease(102))),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None and results[3] is None
    assert isinstance(results[1], StoreError)
    snapshot = await wait(store.load(since=0))
    by_id = {x.lease_id: x for x in snapshot.leases}
    assert twin.lease_id not in by_id
    assert by_id[old.lease_id] == old_end[0]  # the failed call's first statement undone too
    assert sorted(x.client_id for x in await wait(store.load_live_leases())) == [100, 101, 102]


async def test_calls_on_one_key_apply_in_call_order(make_store: MakeStore) -> None:
    store = make_store()
    await store.open()
    futures: list[Future[None]] = []
    current = None
    for epoch in range(1, 8):
        if current is not None:
            futures.append(store.save_end(*ended(current, 1000.0 + epoch)))
        current = lease(100, epoch=epoch, at=1000.0 + epoch)
        futures.append(store.save_acquire(current))
    live = store.load_live_leases()  # called after the writes, so it sees them
    await asyncio.gather(*(wait(f) for f in futures))
    assert await wait(live) == (current,)
    assert await wait(store.epoch_high_water("paper", 100)) == 7


async def test_many_concurrent_callers_lose_nothing(make_store: MakeStore) -> None:
    store = make_store()
    await store.open()

    async def caller(client_id: int) -> None:
        for epoch in range(1, 6):
            held = lease(client_id, epoch=epoch, at=1000.0 + epoch)
            await wait(store.save_acquire(held))
            await wait(store.save_end(*ended(held, 1000.5 + epoch)))
            await wait(store.save_free("paper", client_id))

    await asyncio.gather(*(caller(100 + n) for n in range(24)))
    snapshot = await wait(store.load(since=0))
    assert len(snapshot.leases) == 24 * 5
    assert {row.client_id: row.epoch_high_water for row in snapshot.client_ids} == {
        100 + n: 5 for n in range(24)
    }
    assert all(row.quarantine is None for row in snapshot.client_ids)


async def test_the_history_is_bounded_and_spares_live_leases_and_epochs(
    make_store: MakeStore,
) -> None:
    store = make_store(History(seconds=5.0, max_rows=2))
    await store.open()
    live = lease(100, at=0.0)
    await wait(store.save_acquire(live))
    ends = []
    for n in range(6):
        held = lease(101 + n, at=1000.0 + n)
        await wait(store.save_acquire(held))
        ends.append(ended(held, 1000.0 + n)[0])
        await wait(store.save_end(*ended(held, 1000.0 + n)))
    snapshot = await wait(store.load(since=0))
    assert set(snapshot.leases) == {live, ends[-2], ends[-1]}
    assert {row.client_id for row in snapshot.client_ids} == set(range(100, 107))
