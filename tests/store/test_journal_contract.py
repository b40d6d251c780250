"""The order journal contract (``broker_server/store/journal_base.py``), written against the
:class:`OrderJournal` protocol only: every test runs once per journal in ``JOURNALS`` (SQLite on
a real file, PostgreSQL on the real server of ``tests/support/postgres.py``).

Durable across a reopen, all or nothing per call, call order per key, high-water marks that
never go backwards (also under concurrent raises), fill dedup that reports each exec ID new
exactly once (also under concurrent calls), bounded events and finished orders, and a store
owned by another live broker refused before a journal write. PostgreSQL only, further down:
high-water raises racing from two pools, and the fence: a deposed leader's journal writes refused
after a real second leader took over, which the runtime turns into UNAVAILABLE NOT_LEADER.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.journal import advance, plan_resend
from broker_server.domain.order_ids import OrderIdAllocator, OrderIdScope
from broker_server.domain.order_state import OrderState
from broker_server.domain.reasons import FailureReason
from broker_server.runtime.order_ledger import OrderLedger
from broker_server.store.base import NotLeaderError, Store, StoreError, StoreOwnedError
from broker_server.store.journal_base import OrderJournal, StoredOrderEvent
from broker_server.store.order_journal import SqliteOrderJournal
from broker_server.store.postgres import PostgresStore
from broker_server.store.postgres_journal import PostgresOrderJournal
from broker_server.store.sqlite import SqliteStore
from tests.support.postgres import fresh_database
from tests.trading.helpers import NOW, bracket_order, journal, limit_order

WAIT = 10.0
SCOPE = OrderIdScope("paper", 101)


def wait(future: Future[Any]) -> Awaitable[Any]:
    return asyncio.wrap_future(future)


@dataclass
class Opened:
    store: Store
    journal: OrderJournal


async def _sqlite_place(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "journal.sqlite3")


def _sqlite(place: str, max_events: int, max_finished: int) -> Opened:
    store = SqliteStore(place)
    return Opened(
        store, SqliteOrderJournal(store, max_events=max_events, max_finished=max_finished)
    )


async def _postgres_place(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await fresh_database(request.getfixturevalue("pg_server"))


def _postgres(place: str, max_events: int, max_finished: int) -> Opened:
    store = PostgresStore(place)
    journal = PostgresOrderJournal(store, max_events=max_events, max_finished=max_finished)
    return Opened(store, journal)


JOURNALS: dict[
    str,
    tuple[
        Callable[[pytest.FixtureRequest, Path], Awaitable[str]],
        Callable[[str, int, int], Opened],
    ],
] = {"sqlite": (_sqlite_place, _sqlite), "postgres": (_postgres_place, _postgres)}
"""Per journal: where a test's store lives, and how to make a store and its journal there."""

Open = Callable[..., Awaitable[Opened]]


@pytest.fixture(params=sorted(JOURNALS))
async def open_journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Open]:
    """``await open_journal(max_events=..., max_finished=...)``: an opened store and journal;
    every one is closed after the test (closing twice is harmless)."""
    place_of, factory = JOURNALS[request.param]
    place = await place_of(request, tmp_path)
    opened: list[Opened] = []

    async def make(max_events: int = 10_000, max_finished: int = 100_000) -> Opened:
        made = factory(place, max_events, max_finished)
        opened.append(made)
        await made.store.open()
        return made

    yield make
    for made in opened:
        await made.store.close()


async def test_acknowledged_intents_and_states_are_there_after_a_reopen(open_journal: Open) -> None:
    first = await open_journal()
    j = first.journal
    ids = OrderIdAllocator()
    single = journal(limit_order("150.50"), key="a", ids=ids)
    bracket = journal(bracket_order(), key="b", client_id=102, now=NOW + 0.5)
    await wait(j.save_intents(single))
    await wait(j.save_intents(bracket))
    sent, _ = advance(single[0], OrderState.SUBMITTED, "sent", now=NOW + 1)
    filled, _ = advance(sent, OrderState.FILLED, "fill", now=NOW + 2, perm_id=7,
                        filled_quantity=Decimal(100), average_fill_price=Decimal("150.25"))  # fmt: skip
    await wait(j.save_entries([filled]))
    await first.store.close()

    snap = await wait((await open_journal()).journal.load())
    by_ref = {e.order_ref: e for e in snap.entries}
    assert by_ref == {filled.order_ref: filled, **{e.order_ref: e for e in bracket}}
    assert snap.entries[0].order_ref == filled.order_ref  # oldest first
    marks = dict(snap.high_water)
    assert marks[SCOPE] == single[0].order_id
    assert marks[OrderIdScope("paper", 102)] == max(e.order_id for e in bracket)


async def test_a_second_intent_for_one_key_fails_whole(open_journal: Open) -> None:
    j = (await open_journal()).journal
    (entry,) = journal(limit_order(), key="k")
    await wait(j.save_intents([entry]))
    # Same (owner, key, role) under another orderRef, with a higher order ID and an unrelated
    # new intent in the same call: the call fails and writes none of it.
    clash = replace(entry, order_ref="ibb1-other-n", order_id=50)
    (other,) = journal(limit_order(), key="other", client_id=103)
    with pytest.raises(StoreError):
        await wait(j.save_intents([other, clash]))
    snap = await wait(j.load())
    assert [e.order_ref for e in snap.entries] == [entry.order_ref]
    assert dict(snap.high_water) == {SCOPE: entry.order_id}
    # A batch that fails takes its events and fills with it.
    event = StoredOrderEvent(1, NOW, entry.order_ref, "FILL", {"n": 1})
    with pytest.raises(StoreError):
        await wait(j.save_batch([clash], [event], [("e1", entry.order_ref, NOW)]))
    snap = await wait(j.load())
    assert snap.last_sequence == 0 and snap.reported_exec_ids == frozenset()
    assert await wait(j.record_fills([("e1", entry.order_ref, NOW)])) == ("e1",)


async def test_an_order_is_journaled_once_and_resent_only_as_its_next_attempt(
    open_journal: Open,
) -> None:
    j = (await open_journal()).journal
    ids = OrderIdAllocator()
    (entry,) = journal(limit_order(), key="k", ids=ids)
    await wait(j.save_intents([entry]))
    with pytest.raises(StoreError):  # a second first attempt (another caller, another broker)
        await wait(j.save_intents([replace(entry, order_id=9, client_id=109)]))
    not_sent = replace(entry, state=OrderState.NOT_SENT, updated_at=NOW + 1)
    await wait(j.save_entries([not_sent]))
    ((resent, _change),) = plan_resend(
        [not_sent], client_id=101, reservations=ids.reserve(SCOPE, 1), now=NOW + 2
    )
    assert resent.attempts == 2
    await wait(j.save_intents([resent]))
    with pytest.raises(StoreError):  # the same resend twice
        await wait(j.save_intents([replace(resent, order_id=resent.order_id + 1)]))
    snap = await wait(j.load())
    assert snap.entries == (resent,)
    assert dict(snap.high_water) == {SCOPE: resent.order_id}
    # Many callers journaling one new order at once: exactly one is stored.
    (racing,) = journal(limit_order(), key="race", client_id=102)
    tries = [replace(racing, order_id=n + 1) for n in range(8)]
    results = await asyncio.gather(
        *(wait(j.save_intents([t])) for t in tries), return_exceptions=True
    )
    won = [t for t, r in zip(tries, results, strict=True) if r is None]
    assert len(won) == 1, results
    assert all(isinstance(r, StoreError) for r in results if r is not None)
    stored = {e.order_ref: e for e in (await wait(j.load())).entries}
    assert stored[racing.order_ref] == won[0]


async def test_calls_on_one_order_apply_in_call_order(open_journal: Open) -> None:
    j = (await open_journal()).journal
    (entry,) = journal(limit_order(), key="k")
    futures = [j.save_intents([entry])]
    states = [OrderState.SUBMITTED, OrderState.ACKNOWLEDGED, OrderState.PARTIALLY_FILLED]
    current = entry
    for n, state in enumerate(states, 1):  # queued without awaiting: the store keeps the order
        current, _ = advance(current, state, "ib", now=NOW + n, filled_quantity=Decimal(n))
        events = [StoredOrderEvent(n, NOW + n, entry.order_ref, state.value, {"n": n})]
        futures.append(j.save_batch([current], events, []))
    loaded = j.load()  # called after the writes: sees them all
    await asyncio.gather(*(wait(f) for f in futures))
    snap = await wait(loaded)
    assert snap.entries == (current,) and snap.last_sequence == 3
    assert [e.kind for e in await wait(j.load_events())] == [s.value for s in states]


async def test_high_water_marks_never_go_backwards_under_concurrent_raises(
    open_journal: Open,
) -> None:
    j = (await open_journal()).journal
    rng = random.Random(15)
    values = [rng.randrange(1, 10_000) for _ in range(200)]
    seen: list[int] = []

    async def reader() -> None:
        for _ in range(20):
            marks = dict((await wait(j.load())).high_water)
            seen.append(marks.get(SCOPE, 0))

    raises = [j.raise_high_water(SCOPE, v) for v in values]  # all in flight at once
    await asyncio.gather(reader(), *(wait(f) for f in raises))
    final = dict((await wait(j.load())).high_water)[SCOPE]
    assert final == max(values)
    assert seen == sorted(seen)  # a reader never saw the mark go down
    await wait(j.raise_high_water(SCOPE, 1))
    (low,) = journal(limit_order(), key="low")  # an intent with order ID 1 lowers nothing
    await wait(j.save_intents([low]))
    assert dict((await wait(j.load())).high_water)[SCOPE] == max(values)


async def test_record_fills_reports_each_exec_id_new_exactly_once(open_journal: Open) -> None:
    opened = await open_journal()
    j = opened.journal
    assert await wait(j.record_fills([("e1", "r", 1.0), ("e2", "r", 2.0)])) == ("e1", "e2")
    assert await wait(j.record_fills([("e2", "r", 2.0), ("e3", "r", 3.0), ("e3", "r", 3.0)])) == (
        "e3",
    )
    assert await wait(j.record_fills([("e1", "r", 1.0)])) == ()
    # Concurrent calls with overlapping exec IDs: each ID is new in exactly one of them.
    batches = [[(f"c{(n + k) % 30}", "r", float(k)) for k in range(6)] for n in range(30)]
    results = await asyncio.gather(*(wait(j.record_fills(b)) for b in batches))
    reported = [exec_id for result in results for exec_id in result]
    assert sorted(reported) == sorted(f"c{n}" for n in range(30))
    await opened.store.close()
    again = (await open_journal()).journal
    snap = await wait(again.load())
    assert snap.reported_exec_ids == {"e1", "e2", "e3", *(f"c{n}" for n in range(30))}
    assert await wait(again.record_fills([("e3", "r", 3.0), ("c7", "r", 0.0)])) == ()


async def test_events_are_bounded_and_read_after_a_sequence(open_journal: Open) -> None:
    opened = await open_journal(max_events=5)
    events = [StoredOrderEvent(i, float(i), "r", "FILL", {"n": i}) for i in range(1, 13)]
    await wait(opened.journal.append_events(events))
    await opened.store.close()
    j = (await open_journal(max_events=5)).journal
    assert (await wait(j.load())).last_sequence == 12
    kept = await wait(j.load_events())
    assert [e.sequence for e in kept] == [8, 9, 10, 11, 12]
    assert kept[-1] == events[-1]
    assert [e.sequence for e in await wait(j.load_events(10))] == [11, 12]


async def test_finished_orders_are_bounded_and_live_ones_kept(open_journal: Open) -> None:
    j = (await open_journal(max_finished=3)).journal
    (live,) = journal(limit_order(), key="live", now=NOW - 100)  # the oldest of all
    await wait(j.save_intents([live]))
    for i in range(6):
        (entry,) = journal(limit_order(), key=f"k{i}", now=NOW + i)
        await wait(j.save_intents([entry]))
        done, _ = advance(entry, OrderState.REJECTED, "201", now=NOW + i)
        await wait(j.save_entries([done]))
    keys = sorted(e.key for e in (await wait(j.load())).entries)
    assert keys == ["k3", "k4", "k5", "live"]


async def test_a_store_owned_by_a_live_broker_is_refused_before_a_journal_write(
    open_journal: Open,
) -> None:
    owner = await open_journal()
    (entry,) = journal(limit_order(), key="mine")
    await wait(owner.journal.save_intents([entry]))
    with pytest.raises(StoreOwnedError):
        await open_journal()
    assert [e.key for e in (await wait(owner.journal.load())).entries] == ["mine"]


async def test_a_write_to_a_closed_store_fails_and_placeorder_answers_unavailable(
    open_journal: Open,
) -> None:
    opened = await open_journal()
    await opened.store.close()
    (entry,) = journal(limit_order(), key="late")
    with pytest.raises(StoreError):
        await wait(opened.journal.save_intents([entry]))
    # What PlaceOrder answers: UNAVAILABLE STORE_UNAVAILABLE with RetryInfo, never INTERNAL.
    with pytest.raises(DomainError) as caught:
        await OrderLedger(opened.journal).journal_intents([entry])
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.reason is FailureReason.STORE_UNAVAILABLE
    assert caught.value.retry_after is not None


# --- PostgreSQL only: two pools, and the fence ---------------------------------------------


async def _fetch(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(row) for row in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


@pytest.fixture
async def pg_stores() -> AsyncIterator[list[PostgresStore]]:
    opened: list[PostgresStore] = []
    yield opened
    for store in opened:
        await store.close()


async def test_postgres_high_water_raises_racing_from_two_pools_keep_the_maximum(
    pg_dsn: str, pg_stores: list[PostgresStore]
) -> None:
    # Two leadership scopes on one database: two brokers' pools writing the same mark rows,
    # so only the row lock of INSERT ... ON CONFLICT and GREATEST keep the mark monotonic.
    a = PostgresStore(pg_dsn, scope="a", pool_size=8)
    b = PostgresStore(pg_dsn, scope="b", pool_size=8)
    pg_stores += [a, b]
    await a.open()
    await b.open()
    ja, jb = PostgresOrderJournal(a), PostgresOrderJournal(b)
    rng = random.Random(7)
    for client_id in range(101, 109):
        scope = OrderIdScope("paper", client_id)
        values = [rng.randrange(1, 1_000_000) for _ in range(40)]
        writes = [(ja if n % 2 else jb).raise_high_water(scope, v) for n, v in enumerate(values)]
        await asyncio.gather(*(wait(w) for w in writes))
        stored = await _fetch(
            pg_dsn, "SELECT high_water FROM order_ids WHERE client_id = $1", client_id
        )
        assert stored == [(max(values),)]


async def test_postgres_two_pools_journaling_one_order_store_it_once(
    pg_dsn: str, pg_stores: list[PostgresStore]
) -> None:
    # Two scopes (two brokers the fence does not order): only the row lock and the attempt check
    # of the intent's upsert decide. Every round, both journal the same order's first attempt.
    a = PostgresStore(pg_dsn, scope="a")
    b = PostgresStore(pg_dsn, scope="b")
    pg_stores += [a, b]
    await a.open()
    await b.open()
    ja, jb = PostgresOrderJournal(a), PostgresOrderJournal(b)
    for n in range(30):
        (entry,) = journal(limit_order(), key=f"k{n}", client_id=101)
        mine, theirs = replace(entry, order_id=2 * n + 1), replace(entry, order_id=2 * n + 2)
        results = await asyncio.gather(
            wait(ja.save_intents([mine])), wait(jb.save_intents([theirs])), return_exceptions=True
        )
        assert [r is None for r in results].count(True) == 1, (n, results)
    rows = await _fetch(pg_dsn, "SELECT count(*), count(DISTINCT idem_key) FROM orders")
    assert rows == [(30, 30)]


async def _until_expired(dsn: str) -> None:
    deadline = time.monotonic() + WAIT
    while not (await _fetch(dsn, "SELECT expires_at < clock_timestamp() FROM leadership"))[0][0]:
        assert time.monotonic() < deadline, "the leadership never expired"
        await asyncio.sleep(0.05)


async def test_postgres_a_deposed_leaders_journal_writes_are_refused_after_a_takeover(
    pg_dsn: str, pg_stores: list[PostgresStore]
) -> None:
    old = PostgresStore(pg_dsn, leadership_ttl=0.5, renew=False, address="127.0.0.1:5001")
    pg_stores.append(old)
    await old.open()
    old_journal = PostgresOrderJournal(old)
    ids = OrderIdAllocator()
    (acked,) = journal(limit_order(), key="acked", ids=ids)
    await wait(old_journal.save_intents([acked]))
    await _until_expired(pg_dsn)  # the old leader is paused: it stopped renewing
    new = PostgresStore(pg_dsn, leadership_ttl=30.0, address="127.0.0.1:5002")
    pg_stores.append(new)
    await new.open()
    assert new.leadership is not None and new.leadership.epoch == 2
    tables = ("orders", "order_ids", "order_events", "order_fills")
    before = [await _fetch(pg_dsn, f"SELECT * FROM {t}") for t in tables]

    # The old leader wakes up and carries on: a retry of the same key, a new order with the
    # next order ID, a state change, a fill, an event, a raised mark. Every one is refused.
    (late,) = journal(limit_order(), key="late", ids=ids)
    sent, _ = advance(acked, OrderState.SUBMITTED, "sent", now=NOW + 1)
    writes: list[Future[Any]] = [
        old_journal.save_intents([acked]),
        old_journal.save_intents([late]),
        old_journal.save_batch([sent], [StoredOrderEvent(1, NOW, acked.order_ref, "X", {})], []),
        old_journal.record_fills([("e1", acked.order_ref, NOW)]),
        old_journal.append_events([StoredOrderEvent(2, NOW, acked.order_ref, "X", {})]),
        old_journal.raise_high_water(SCOPE, 999),
    ]
    results = await asyncio.gather(*(wait(w) for w in writes), return_exceptions=True)
    refused = [r for r in results if isinstance(r, NotLeaderError)]
    assert len(refused) == len(writes), results
    assert {r.leader_address for r in refused} == {"127.0.0.1:5002"}
    assert [await _fetch(pg_dsn, f"SELECT * FROM {t}") for t in tables] == before
    # The runtime answers such a write UNAVAILABLE NOT_LEADER with the leader's address.
    with pytest.raises(DomainError) as caught:
        await OrderLedger(old_journal).journal_intents([late])
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.reason is FailureReason.NOT_LEADER
    assert caught.value.metadata == {"leader_address": "127.0.0.1:5002"}

    # The new leader sees what the old one acknowledged, and writes on.
    new_journal = PostgresOrderJournal(new)
    snap = await wait(new_journal.load())
    assert snap.entries == (acked,) and dict(snap.high_water) == {SCOPE: acked.order_id}
    await wait(new_journal.save_batch([sent], [], [("e1", acked.order_ref, NOW)]))
    assert (await wait(new_journal.load())).entries == (sent,)
