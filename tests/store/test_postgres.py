"""The PostgreSQL store beyond the shared contract: two stores racing for one client ID, the
schema and ownership checks that refuse a database untouched, leadership fencing of a paused old
leader, and recovery from lost connections. A real PostgreSQL (tests/support/postgres.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from broker_server.store.base import NotLeaderError, StoreError, StoreOwnedError
from broker_server.store.postgres import PostgresStore
from broker_server.store.postgres_rows import redact
from broker_server.store.postgres_schema import SCHEMA_VERSION
from tests.store.helpers import ended, lease

WAIT = 10.0


def wait(future: Future[Any]) -> Awaitable[Any]:
    return asyncio.wrap_future(future)


@pytest.fixture
async def stores() -> AsyncIterator[list[PostgresStore]]:
    """Stores a test opened; closed after it (closing twice is harmless)."""
    opened: list[PostgresStore] = []
    yield opened
    for store in opened:
        await store.close()


def make(stores: list[PostgresStore], dsn: str, **kwargs: Any) -> PostgresStore:
    store = PostgresStore(dsn, **kwargs)
    stores.append(store)
    return store


async def fetch(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def test_two_stores_racing_for_one_client_id_never_both_hold_it(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    # Two leadership scopes on one database: two brokers, two pools, the same lease tables.
    # Nothing above the store coordinates them, so only the row lock and the unique index decide.
    a = make(stores, pg_dsn, scope="a", pool_size=8)
    b = make(stores, pg_dsn, scope="b", pool_size=8)
    await a.open()
    await b.open()
    rounds = 40
    wins = {"a": 0, "b": 0}
    for client_id in range(rounds):
        # Same ID, both with the next epoch or b one ahead: every interleaving must end with one.
        mine = lease(client_id, owner="a", epoch=1)
        theirs = lease(client_id, owner="b", epoch=1 + client_id % 2)
        results = await asyncio.gather(
            wait(a.save_acquire(mine)), wait(b.save_acquire(theirs)), return_exceptions=True
        )
        ok = [r is None for r in results]
        assert ok.count(True) == 1, (client_id, results)
        assert all(isinstance(r, StoreError) for r in results if r is not None)
        wins["a" if ok[0] else "b"] += 1
    live = await fetch(
        pg_dsn, "SELECT client_id, count(*) FROM leases WHERE state = 'ACTIVE' GROUP BY 1"
    )
    assert sorted(live) == [(n, 1) for n in range(rounds)]
    # The stored high-water mark is the winner's epoch, never a loser's.
    marks = {
        r[0]: r[1]
        for r in await fetch(pg_dsn, "SELECT client_id, epoch_high_water FROM client_ids")
    }
    holders = {
        r[0]: r[1]
        for r in await fetch(pg_dsn, "SELECT client_id, epoch FROM leases WHERE state = 'ACTIVE'")
    }
    assert marks == holders
    assert sum(wins.values()) == rounds


async def test_a_store_led_by_a_live_broker_is_refused_untouched(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    first = make(stores, pg_dsn, address="127.0.0.1:5001")
    await first.open()
    await wait(first.save_acquire(lease(7)))
    before = await fetch(pg_dsn, "SELECT * FROM leadership")
    leases_before = await fetch(pg_dsn, "SELECT * FROM leases")
    second = make(stores, pg_dsn, address="127.0.0.1:5002")
    with pytest.raises(StoreOwnedError, match=r"owned by another live broker") as caught:
        await second.open()
    assert caught.value.address == "127.0.0.1:5001"
    assert caught.value.holder == first.holder
    assert await fetch(pg_dsn, "SELECT * FROM leadership") == before
    assert await fetch(pg_dsn, "SELECT * FROM leases") == leases_before
    # A clean close steps down: the next broker takes over at once, with the next epoch.
    await first.close()
    third = make(stores, pg_dsn)
    await third.open()
    assert third.leadership is not None and third.leadership.epoch == 2


async def test_a_schema_newer_than_the_broker_is_refused_untouched(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    store = make(stores, pg_dsn)
    await store.open()
    await wait(store.save_acquire(lease(3)))
    await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("UPDATE ibbroker_schema SET version = 99")
    finally:
        await conn.close()
    tables = ("ibbroker_schema", "leadership", "leases", "client_ids")
    before = [await fetch(pg_dsn, f"SELECT * FROM {t}") for t in tables]
    newer = make(stores, pg_dsn)
    with pytest.raises(
        StoreError, match=rf"schema version 99 is newer than this broker.s {SCHEMA_VERSION}"
    ):
        await newer.open()
    assert [await fetch(pg_dsn, f"SELECT * FROM {t}") for t in tables] == before


async def test_a_database_of_another_application_is_refused_untouched(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("CREATE TABLE leases (id integer)")
    finally:
        await conn.close()
    with pytest.raises(StoreError, match="another application"):
        await make(stores, pg_dsn).open()
    names = await fetch(
        pg_dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    assert names == [("leases",)]


async def _until_expired(dsn: str) -> None:
    """Wait (bounded) until the server's clock says the leadership row has expired."""
    deadline = time.monotonic() + WAIT
    while not (await fetch(dsn, "SELECT expires_at < clock_timestamp() FROM leadership"))[0][0]:
        assert time.monotonic() < deadline, "the leadership never expired"
        await asyncio.sleep(0.05)


async def test_a_paused_old_leader_never_writes_after_a_new_one_took_over(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    # The old leader stops renewing (paused: renew=False and nobody calls renew_leadership).
    old = make(stores, pg_dsn, leadership_ttl=0.5, renew=False)
    await old.open()
    held = lease(9, epoch=1)
    await wait(old.save_acquire(held))
    await _until_expired(pg_dsn)
    new = make(stores, pg_dsn, leadership_ttl=30.0)
    await new.open()
    assert new.leadership is not None and new.leadership.epoch == 2
    # The old leader wakes up and carries on where it stopped: every write is refused.
    writes = [
        old.save_renew(held),
        old.save_end(*ended(held, 1010.0)),
        old.save_acquire(lease(10)),
        old.save_free("paper", 9),
    ]
    results = await asyncio.gather(*(wait(w) for w in writes), return_exceptions=True)
    assert all(isinstance(r, NotLeaderError) for r in results), results
    assert "epoch 1" in str(results[0]) and "epoch 2" in str(results[0])
    assert await old.renew_leadership() is False
    assert old.leadership is None
    assert await fetch(pg_dsn, "SELECT lease_id, state, expire_time FROM leases") == [
        (held.lease_id, "ACTIVE", held.expire_time)
    ]
    # The new leader writes; the old one, closing, does not step the new one down.
    await wait(new.save_end(*ended(held, 1020.0)))
    await old.close()
    assert await fetch(pg_dsn, "SELECT holder, epoch FROM leadership") == [(new.holder, 2)]
    assert await new.renew_leadership() is True


async def test_a_leader_renews_and_keeps_its_epoch_past_many_ttls(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    store = make(stores, pg_dsn, leadership_ttl=0.3)  # renews every 0.1 s by itself
    await store.open()
    rival = make(stores, pg_dsn)
    deadline = time.monotonic() + 1.5  # five TTLs: the rival is refused throughout
    while time.monotonic() < deadline:
        with pytest.raises(StoreOwnedError):
            await rival.open()
        await asyncio.sleep(0.1)
    await wait(store.save_acquire(lease(1)))
    assert store.leadership is not None and store.leadership.epoch == 1


async def test_lost_connections_fail_calls_and_the_store_recovers_without_reopening(
    pg_dsn: str, pg_server: str, stores: list[PostgresStore]
) -> None:
    store = make(stores, pg_dsn, pool_size=2)
    await store.open()
    await wait(store.save_acquire(lease(1)))
    name = urlsplit(pg_dsn).path.lstrip("/")
    killed = await fetch(
        pg_server,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )
    assert killed and all(row[0] for row in killed)
    outcomes: list[object] = []
    deadline = time.monotonic() + WAIT
    while True:  # the pool replaces dead connections: calls fail as StoreError, then succeed
        try:
            outcomes.append(await wait(store.epoch_high_water("paper", 1)))
        except StoreError as err:
            outcomes.append(err)
        if outcomes[-1] == 1:
            break
        assert time.monotonic() < deadline, outcomes
    assert all(o == 1 or isinstance(o, StoreError) for o in outcomes)
    await wait(store.save_acquire(lease(2)))


async def test_calls_from_another_thread_run_on_the_stores_loop(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    store = make(stores, pg_dsn)
    await store.open()
    results: list[object] = []

    def worker() -> None:
        held = lease(5)
        store.save_acquire(held).result(WAIT)
        results.append(store.epoch_high_water("paper", 5).result(WAIT))

    thread = threading.Thread(target=worker)
    thread.start()
    await asyncio.get_running_loop().run_in_executor(None, thread.join, WAIT)
    assert results == [1]


def test_the_dsn_password_never_shows() -> None:
    assert redact("postgresql://u:hunter2@db:5432/ib?sslmode=require&password=x2") == (
        "postgresql://u@db:5432/ib?sslmode=require&password=***"
    )
    assert redact("postgresql:///ib?host=/tmp/s") == "postgresql:///ib?host=/tmp/s"


async def test_an_unreachable_server_is_a_store_error_without_the_password(
    stores: list[PostgresStore],
) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = make(stores, f"postgresql://u:hunter2@127.0.0.1:{port}/ib")
    with pytest.raises(StoreError, match="cannot connect") as caught:
        await store.open()
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(store)


async def _until_waiting_on_a_lock(dsn: str, count: int) -> None:
    """Wait (bounded) until ``count`` sessions of the database wait on a lock."""
    name = urlsplit(dsn).path.lstrip("/")
    deadline = time.monotonic() + WAIT
    while True:
        rows = await fetch(
            dsn,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
            name,
        )
        if int(str(rows[0][0])) >= count:
            return
        assert time.monotonic() < deadline, f"never {count} sessions waiting on a lock"
        await asyncio.sleep(0.02)


async def test_a_takeover_waits_for_the_old_leaders_write_in_flight_and_fences_the_next(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    old = make(stores, pg_dsn, leadership_ttl=0.5, renew=False)
    await old.open()
    await wait(old.save_acquire(lease(1)))
    # Another session holds ID 2's row: the old leader's next acquire passes its fence (the
    # leadership row FOR SHARE) and then waits inside its transaction.
    blocker = await asyncpg.connect(pg_dsn)
    try:
        await blocker.execute("INSERT INTO client_ids VALUES ('paper', 2, 0, NULL, NULL, NULL)")
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("SELECT 1 FROM client_ids WHERE client_id = 2 FOR UPDATE")
        in_flight = old.save_acquire(lease(2))
        await _until_waiting_on_a_lock(pg_dsn, 1)
        await _until_expired(pg_dsn)
        new = make(stores, pg_dsn)
        taking = asyncio.create_task(new.open())
        await _until_waiting_on_a_lock(pg_dsn, 2)  # the takeover waits for the write in flight
        assert not taking.done() and not in_flight.done()
        await tx.rollback()
    finally:
        await blocker.close()
    await wait(in_flight)  # fenced under epoch 1 before the takeover: it commits
    await taking
    assert new.leadership is not None and new.leadership.epoch == 2
    with pytest.raises(NotLeaderError):  # and every write after the takeover is refused
        await wait(old.save_acquire(lease(3)))
    assert sorted(int(str(r[0])) for r in await fetch(pg_dsn, "SELECT client_id FROM leases")) == [
        1,
        2,
    ]


async def test_a_version_1_database_gains_the_order_journal_and_keeps_its_leases(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    # A database as a broker before the journal moved to PostgreSQL left it: schema version 1.
    first = make(stores, pg_dsn)
    await first.open()
    held = lease(4)
    await wait(first.save_acquire(held))
    await first.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("DROP TABLE orders, order_ids, order_events, order_fills")
        await conn.execute("ALTER TABLE leadership DROP COLUMN alive_at, DROP COLUMN alive_slack")
        await conn.execute("UPDATE ibbroker_schema SET version = 1")
    finally:
        await conn.close()
    upgraded = make(stores, pg_dsn)
    await upgraded.open()
    assert await fetch(pg_dsn, "SELECT version FROM ibbroker_schema") == [(SCHEMA_VERSION,)]
    assert await wait(upgraded.load_live_leases()) == (held,)
    assert await fetch(pg_dsn, "SELECT count(*) FROM orders") == [(0,)]


async def test_an_orders_table_of_another_application_is_refused_untouched(
    pg_dsn: str, stores: list[PostgresStore]
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("CREATE TABLE orders (id integer)")
    finally:
        await conn.close()
    with pytest.raises(StoreError, match="another application"):
        await make(stores, pg_dsn).open()
    names = await fetch(
        pg_dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    assert names == [("orders",)]
