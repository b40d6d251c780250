"""Durable acquire+release pairs and journaled orders per second through the store, PostgreSQL
next to SQLite, with a raw PostgreSQL commit loop measured in the same run.

    python benchmarks/bench_store_pg.py [--seconds 3] [--callers 16] [--dsn URI]

Each of ``--callers`` concurrent callers does acquire -> end (release + quarantine) -> free on
its own client ID, awaiting each call's future (acknowledged = committed). PostgreSQL: the
``PostgresStore`` (asyncpg pool of 8, one transaction per call, leadership fence in each write)
on the ``pgserver`` wheel's server (``fsync = on``, ``synchronous_commit = on``) started in a
temporary folder, or ``--dsn``. SQLite: the ``SqliteStore`` (WAL, ``synchronous=FULL``, group
commit) in a temporary folder. The reference is one-row ``INSERT`` commits, one after the other
on a bare asyncpg connection to the same server: what one durable commit costs there.

Journaled orders: each caller, on a client ID of its own, journals one limit order's intent
(``save_intents``, awaited: what PlaceOrder waits for before sending) and then the batch the
runtime writes when IB answers (``save_batch``: the entry SUBMITTED then ACKNOWLEDGED, and its
two order events). PostgreSQL: ``PostgresOrderJournal`` (each call its own fenced transaction;
intents of different client IDs run concurrently, batches with events in call order); SQLite:
``SqliteOrderJournal`` on the store's writer (group commit).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from benchmarks.figures import save
from broker_server.domain.journal import advance
from broker_server.domain.order_ids import OrderIdAllocator
from broker_server.domain.order_state import OrderState
from broker_server.store.base import Store
from broker_server.store.journal_base import OrderJournal, StoredOrderEvent
from broker_server.store.order_journal import SqliteOrderJournal
from broker_server.store.postgres import PostgresStore
from broker_server.store.postgres_journal import PostgresOrderJournal
from broker_server.store.sqlite import SqliteStore
from tests.store.helpers import ended, lease
from tests.support.postgres import fresh_database, start_server
from tests.trading.helpers import journal, limit_order

MAX_OPS = 50_000
"""Upper bound of pairs / commits per measurement, whatever the time limit."""


async def raw_commits_per_second(dsn: str, seconds: float) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS raw (id TEXT PRIMARY KEY)")
        done, start = 0, time.perf_counter()
        while done < MAX_OPS and time.perf_counter() - start < seconds:
            await conn.execute("INSERT INTO raw VALUES ($1)", uuid.uuid4().hex)  # autocommit
            done += 1
        return done / (time.perf_counter() - start)
    finally:
        await conn.close()


async def pairs_per_second(store: Store, seconds: float, callers: int) -> float:
    await store.open()
    deadline = time.perf_counter() + seconds
    counts = [0] * callers

    async def caller(n: int) -> None:
        epoch = 0
        while time.perf_counter() < deadline and sum(counts) < MAX_OPS:
            epoch += 1
            held = lease(1000 + n, epoch=epoch, at=float(epoch))
            await asyncio.wrap_future(store.save_acquire(held))
            await asyncio.wrap_future(store.save_end(*ended(held, epoch + 0.5)))
            await asyncio.wrap_future(store.save_free(held.gateway, held.client_id))
            counts[n] += 1

    start = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    elapsed = time.perf_counter() - start
    await store.close()
    return sum(counts) / elapsed


async def orders_per_second(
    store: Store, journal_of: Callable[[Store], OrderJournal], seconds: float, callers: int
) -> float:
    await store.open()
    orders = journal_of(store)
    deadline = time.perf_counter() + seconds
    counts = [0] * callers
    sequence = 0

    async def caller(n: int) -> None:
        nonlocal sequence
        ids = OrderIdAllocator()
        while time.perf_counter() < deadline and sum(counts) < MAX_OPS:
            (entry,) = journal(
                limit_order(), key=f"c{n}-{counts[n]}", client_id=1000 + n, ids=ids, now=1.0
            )
            await asyncio.wrap_future(orders.save_intents([entry]))
            sent, _ = advance(entry, OrderState.SUBMITTED, "sent", now=2.0)
            acked, _ = advance(sent, OrderState.ACKNOWLEDGED, "Submitted", now=3.0, perm_id=n + 1)
            events = []
            for state in ("SUBMITTED", "ACKNOWLEDGED"):
                sequence += 1
                events.append(StoredOrderEvent(sequence, 3.0, entry.order_ref, state, {}))
            await asyncio.wrap_future(orders.save_batch([acked], events, []))
            counts[n] += 1

    start = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(callers)))
    elapsed = time.perf_counter() - start
    await store.close()
    return sum(counts) / elapsed


def _pg_journal(store: Store) -> OrderJournal:
    assert isinstance(store, PostgresStore)
    return PostgresOrderJournal(store)


def _sqlite_journal(store: Store) -> OrderJournal:
    assert isinstance(store, SqliteStore)
    return SqliteOrderJournal(store)


async def run(dsn: str, seconds: float, callers: int) -> None:
    measured: dict[str, float] = {}
    steps: list[tuple[str, Callable[[], Awaitable[float]]]] = []

    async def pg() -> float:
        return await pairs_per_second(PostgresStore(await fresh_database(dsn)), seconds, callers)

    async def sqlite() -> float:
        with tempfile.TemporaryDirectory() as folder:
            return await pairs_per_second(
                SqliteStore(Path(folder) / "bench.sqlite3"), seconds, callers
            )

    async def raw() -> float:
        return await raw_commits_per_second(await fresh_database(dsn), seconds)

    async def pg_orders() -> float:
        store = PostgresStore(await fresh_database(dsn))
        return await orders_per_second(store, _pg_journal, seconds, callers)

    async def sqlite_orders() -> float:
        with tempfile.TemporaryDirectory() as folder:
            store = SqliteStore(Path(folder) / "bench.sqlite3")
            return await orders_per_second(store, _sqlite_journal, seconds, callers)

    steps = [("raw_pg_commits_per_s", raw), ("postgres_pairs_per_s", pg)]
    steps += [("sqlite_pairs_per_s", sqlite), ("postgres_orders_per_s", pg_orders)]
    steps += [("sqlite_orders_per_s", sqlite_orders), ("raw_pg_commits_per_s_after", raw)]
    for name, step in steps:
        measured[name] = await step()
        print(f"{name}: {measured[name]:,.0f}", flush=True)
    reference = (measured["raw_pg_commits_per_s"] + measured["raw_pg_commits_per_s_after"]) / 2
    # A pair is three commits (acquire, end, free).
    print(
        f"postgres pairs/s per raw PostgreSQL commit/s: "
        f"{measured['postgres_pairs_per_s'] / reference:.2f} "
        f"({callers} callers; a pair is 3 store calls, each its own transaction)"
    )
    print(
        "postgres / sqlite pairs: "
        f"{measured['postgres_pairs_per_s'] / measured['sqlite_pairs_per_s']:.2f}"
    )
    # An order is two commits (the intent, then its acknowledgement batch).
    print(
        f"postgres journaled orders/s per raw PostgreSQL commit/s: "
        f"{measured['postgres_orders_per_s'] / reference:.2f} "
        f"({callers} callers; an order is 2 journal calls, each its own transaction)"
    )
    print(
        "postgres / sqlite journaled orders: "
        f"{measured['postgres_orders_per_s'] / measured['sqlite_orders_per_s']:.2f}"
    )
    save("store_pg", callers=callers, seconds=seconds, **measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--dsn", default="", help="a PostgreSQL server of your own")
    args = parser.parse_args()
    servers: Iterator[str] = iter([args.dsn]) if args.dsn else start_server()
    dsn = next(servers)
    try:
        asyncio.run(run(dsn, args.seconds, args.callers))
    finally:
        for _ in servers:  # stops the server started here
            pass


if __name__ == "__main__":
    main()
