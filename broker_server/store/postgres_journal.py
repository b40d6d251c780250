"""The order journal on PostgreSQL: the :class:`~broker_server.store.journal_base.OrderJournal`
on the :class:`~broker_server.store.postgres.PostgresStore`'s pool, shared by every broker of
the store, so a standby that takes over finds every order the old leader acknowledged.

Tables (migration 2 in :mod:`.postgres_schema`): the SQLite journal's, with its columns and
meaning (``orders``, ``order_ids``, ``order_events``, ``order_fills``); entries are stored as
the JSON of :mod:`.order_codec`, next to the columns they are looked up by.

**Calls.** Each method is one call of the store (:meth:`PostgresStore.submit`): its own
transaction at ``READ COMMITTED`` on a pool connection, resolved after its ``COMMIT``
(``synchronous_commit = on``: durable on resolve). Every write first passes the store's
leadership fence (the leadership row read ``FOR SHARE`` and its epoch compared with this
broker's) and is refused with :class:`~broker_server.store.base.NotLeaderError`, nothing written,
once a newer leader took over. Call order per key: a call names its keys (each orderRef, each
(owner, idempotency key), each (gateway, client ID) whose high-water it raises, each exec ID,
each event sequence) and starts after the calls made earlier on any of them, so within one
broker no two of its writes touch the same row at once (pruning aside, below): calls on
different orders and client IDs run concurrently on the pool, with no lock waits and no
deadlocks between them; :meth:`load` and :meth:`load_events` start after every call made
before them.

**Where a race could double-send, and what prevents it.** An order is sent to IB only after
its intent (``save_intents``) committed, and it is sent under its reserved order ID and the
orderRef derived from (owner, idempotency key, role). A second send of one PlaceOrder needs
either a second intent for its key or a reuse of its order ID:

1. *Two brokers journaling one key*: a paused old leader wakes up and journals a retry that the
   new leader journals too. The fence decides: the takeover is an ``UPDATE`` of the leadership
   row, which waits for every write holding the row ``FOR SHARE``; a write that fenced before it
   commits under the old epoch and is visible to the new leader's :meth:`load` (run after the
   takeover); every write after it is refused. Behind the fence, the storage itself: one key
   is one orderRef (derived from it), and an intent is stored only as a new row or as the next
   attempt of the stored one (``INSERT ... ON CONFLICT (order_ref) DO UPDATE ... WHERE`` stored
   attempts = new attempts - 1). The conflict path locks the row and re-checks its newest
   committed version at ``READ COMMITTED``, so of two transactions journaling one order the
   second waits for the first's commit, updates nothing and is refused; the unique index
   ``orders_key (owner, idem_key, role)`` refuses one key under two orderRefs.
2. *An order ID handed out twice* for one (gateway, client ID): the high-water is raised in the
   same transaction as the intent, by ``INSERT ... ON CONFLICT DO UPDATE SET high_water =
   GREATEST(stored, new)``. The conflict path takes the row's lock and, at ``READ COMMITTED``,
   re-reads its newest committed version, so concurrent raises serialize on that row lock and
   the mark never goes backwards, whatever order they commit in. A new leader reserves above
   the mark it loaded after the takeover, which includes every intent the old leader committed.
3. *One broker, two concurrent retries of one key*: the runtime's per-(owner, key) lock; the
   call keys above keep them in call order here too.

What the store cannot close: an intent the old leader committed just before the takeover and
wrote to its IB socket after it (paused between the two). The new leader marks that entry UNKNOWN
and reconciles it by orderRef before a retry may resend it (``domain/reconcile.py``: NOT_SENT
only with no trace at IB); a late send that reaches IB after that verdict and a retry's resend
would be two orders. The late send can only go out on the old process's own IB session of that
client ID (IB refuses a second connection of one client ID, 326), so closing this window belongs
to the failover side: a deposed broker drops its IB sessions before writing to them.

**Pruning** (the SQLite rules): terminal orders beyond ``max_finished`` (oldest ``updated_at``
first, never a live one) in the call that finished one, in a savepoint under a try-advisory lock
(another call may hold a terminal row: a failed or skipped prune never fails the call); events
beyond ``max_events`` below the call's newest sequence, in one ``DELETE`` that takes a
try-advisory lock once (one pruner at a time; no other call ever locks an old event row, so it
cannot deadlock).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable, Iterable, Sequence
from concurrent.futures import Future

import asyncpg

from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_ids import OrderIdScope
from broker_server.logs import log_event
from broker_server.store.base import StoreError
from broker_server.store.journal_base import (
    TERMINAL_STATES,
    Fill,
    JournalSnapshot,
    StoredOrderEvent,
)
from broker_server.store.order_codec import entry_from_json, entry_row
from broker_server.store.postgres import PostgresStore

log = logging.getLogger("ibbroker.store")

PRUNE_LOCK = 0x49424B4A
"""Advisory lock key ("IBKJ") of pruning finished orders (the next key: events); one
transaction prunes each at a time, the others skip."""

_UPSERT = (
    "INSERT INTO orders VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
    "ON CONFLICT (order_ref) DO UPDATE SET "
    "client_id = excluded.client_id, order_id = excluded.order_id, state = excluded.state, "
    "updated_at = excluded.updated_at, entry = excluded.entry"
)
# An intent replaces a stored row only as its next attempt (a RESEND). The conflict path locks
# the row and, at READ COMMITTED, checks the newest committed version: of two transactions
# journaling one orderRef, the second waits for the first, then updates nothing and is refused.
_INTENT = (
    _UPSERT + " WHERE (orders.entry::jsonb ->> 'attempts')::int = "
    "(excluded.entry::jsonb ->> 'attempts')::int - 1 RETURNING order_ref"
)
_HIGH_WATER = (
    "INSERT INTO order_ids VALUES ($1, $2, $3) ON CONFLICT (gateway, client_id) DO UPDATE SET "
    "high_water = GREATEST(order_ids.high_water, excluded.high_water)"
)
_EVENT = (
    "INSERT INTO order_events VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sequence) DO UPDATE SET "
    "time = excluded.time, order_ref = excluded.order_ref, kind = excluded.kind, "
    "body = excluded.body"
)
_FILLS = (
    "INSERT INTO order_fills SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) "
    "ON CONFLICT (exec_id) DO NOTHING RETURNING exec_id"
)
_TERMINAL_SQL = ", ".join(f"'{state}'" for state in TERMINAL_STATES)
# The literal list (not a parameter) lets the planner use the partial index orders_finished.
_PRUNE_FINISHED = (
    "DELETE FROM orders WHERE order_ref IN (SELECT order_ref FROM orders "
    f"WHERE state IN ({_TERMINAL_SQL}) ORDER BY updated_at DESC, order_ref DESC OFFSET $1)"
)
# One statement, no savepoint: the InitPlan takes the try-lock once, so one transaction prunes
# events at a time (the others skip), and no other call ever locks an old event row, so this
# DELETE cannot deadlock. The cutoff is this call's newest sequence minus the bound.
_PRUNE_EVENTS = (
    "DELETE FROM order_events WHERE sequence <= $1 AND (SELECT pg_try_advisory_xact_lock($2))"
)


def _order_keys(entries: Sequence[JournalEntry]) -> list[Hashable]:
    keys: list[Hashable] = []
    for e in entries:
        keys += [("order", e.order_ref), ("order_key", e.owner, e.key)]
    return keys


def _fill_keys(fills: Sequence[Fill]) -> list[Hashable]:
    return [("fill", exec_id) for exec_id, _ref, _time in fills]


def _event_rows(events: Iterable[StoredOrderEvent]) -> list[tuple[object, ...]]:
    return [
        (e.sequence, e.time, e.order_ref, e.kind, json.dumps(e.body, separators=(",", ":")))
        for e in events
    ]


def _event_from_row(r: asyncpg.Record) -> StoredOrderEvent:
    body = json.loads(r["body"])
    return StoredOrderEvent(int(r["sequence"]), float(r["time"]), r["order_ref"], r["kind"], body)


async def _insert_fills(conn: asyncpg.Connection, fills: Sequence[Fill]) -> set[str]:
    """Insert the fills not stored yet; the exec IDs this call inserted."""
    rows = await conn.fetch(
        _FILLS, [f[0] for f in fills], [f[1] for f in fills], [float(f[2]) for f in fills]
    )
    return {r["exec_id"] for r in rows}


class PostgresOrderJournal:
    """The order journal on an open :class:`PostgresStore` (see the module docstring)."""

    def __init__(
        self, store: PostgresStore, *, max_events: int = 10_000, max_finished: int = 100_000
    ) -> None:
        self._store = store
        self.max_events = max_events
        """Order events kept for resuming watchers after a restart (oldest pruned first)."""
        self.max_finished = max_finished
        """Terminal orders kept for idempotent replays (oldest pruned first)."""

    def __repr__(self) -> str:
        return f"<PostgresOrderJournal on {self._store!r}>"

    def load(self) -> Future[JournalSnapshot]:
        """Every journaled order, the high-water marks, reported exec IDs, last event sequence:
        one consistent snapshot (``REPEATABLE READ``), after every call made before it."""

        async def work(conn: asyncpg.Connection) -> JournalSnapshot:
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            entries = tuple(
                entry_from_json(r["entry"])
                for r in await conn.fetch("SELECT entry FROM orders ORDER BY created_at, order_id")
            )
            marks = tuple(
                (OrderIdScope(r["gateway"], int(r["client_id"])), int(r["high_water"]))
                for r in await conn.fetch("SELECT gateway, client_id, high_water FROM order_ids")
            )
            fills = frozenset(
                r["exec_id"] for r in await conn.fetch("SELECT exec_id FROM order_fills")
            )
            last = await conn.fetchval("SELECT max(sequence) FROM order_events")
            return JournalSnapshot(entries, marks, fills, int(last or 0))

        return self._store.submit(None, work, write=False)

    def save_intents(self, entries: Sequence[JournalEntry]) -> Future[None]:
        """Journal new (or resent) entries and raise their client ID's high-water, in one fenced
        transaction. A new entry whose (owner, key, role) exists under another orderRef (the
        unique index ``orders_key``), or whose orderRef is stored and the entry is not its next
        attempt, fails the call: nothing of it is written."""
        marks: dict[tuple[str, int], int] = {}
        for e in entries:
            key = (e.gateway, e.client_id)
            marks[key] = max(marks.get(key, 0), e.order_id)
        rows = [entry_row(e) for e in entries]
        high = [(g, c, h) for (g, c), h in sorted(marks.items())]  # one lock order

        async def work(conn: asyncpg.Connection) -> None:
            for row in rows:
                if await conn.fetchval(_INTENT, *row) is None:
                    raise StoreError(f"order {row[0]} is already journaled: intent refused")
            await conn.executemany(_HIGH_WATER, high)

        keys = _order_keys(entries) + [("order_ids", g, c) for g, c, _h in high]
        return self._store.submit(keys, work)

    def save_entries(self, entries: Sequence[JournalEntry]) -> Future[None]:
        """Store entries' new states and figures (one call: all or nothing)."""
        return self.save_batch(entries, (), ())

    def save_batch(
        self,
        entries: Sequence[JournalEntry],
        events: Sequence[StoredOrderEvent],
        fills: Sequence[Fill],
    ) -> Future[None]:
        """Entries' new states, appended events and published fills, as one fenced call."""
        rows = [entry_row(e) for e in entries]
        prune = any(e.state.terminal for e in entries)
        event_rows = _event_rows(events)
        newest = max((e.sequence for e in events), default=0)

        async def work(conn: asyncpg.Connection) -> None:
            if rows:
                await conn.executemany(_UPSERT, rows)
                if prune:
                    await self._prune_finished(conn)
            if fills:
                await _insert_fills(conn, fills)
            if event_rows:
                await conn.executemany(_EVENT, event_rows)
                await conn.execute(_PRUNE_EVENTS, newest - self.max_events, PRUNE_LOCK + 1)

        keys = _order_keys(entries) + _fill_keys(fills) + [("event", e.sequence) for e in events]
        return self._store.submit(keys, work)

    def raise_high_water(self, scope: OrderIdScope, order_id: int) -> Future[None]:
        """Raise a high-water mark (an ID seen at IB that the broker did not reserve); never
        lowers it (``GREATEST`` under the row's lock)."""

        async def work(conn: asyncpg.Connection) -> None:
            await conn.execute(_HIGH_WATER, scope.gateway, scope.client_id, order_id)

        return self._store.submit([("order_ids", scope.gateway, scope.client_id)], work)

    def append_events(self, events: Iterable[StoredOrderEvent]) -> Future[None]:
        """Append published events; the log keeps the newest :attr:`max_events`."""
        return self.save_batch((), list(events), ())

    def load_events(self, after_sequence: int = 0) -> Future[tuple[StoredOrderEvent, ...]]:
        """The kept events after ``after_sequence``, in order."""

        async def work(conn: asyncpg.Connection) -> tuple[StoredOrderEvent, ...]:
            rows = await conn.fetch(
                "SELECT sequence, time, order_ref, kind, body FROM order_events "
                "WHERE sequence > $1 ORDER BY sequence",
                after_sequence,
            )
            return tuple(_event_from_row(r) for r in rows)

        return self._store.submit(None, work, write=False)

    def record_fills(self, fills: Sequence[Fill]) -> Future[tuple[str, ...]]:
        """Mark (exec_id, order_ref, time) as published; returns the exec IDs that were new, in
        call order. Durable dedup: the primary key decides, so of two brokers or calls racing
        with one exec ID exactly one is told it is new (the other waits for its commit)."""

        async def work(conn: asyncpg.Connection) -> tuple[str, ...]:
            inserted = await _insert_fills(conn, fills)
            new: list[str] = []
            for exec_id, _ref, _time in fills:
                if exec_id in inserted and exec_id not in new:
                    new.append(exec_id)
            return tuple(new)

        return self._store.submit(_fill_keys(fills), work)

    async def _prune_finished(self, conn: asyncpg.Connection) -> None:
        """Bound the finished orders, in a savepoint (a terminal row may be locked by another
        call: a failure or another pruner skips, never fails the call)."""
        try:
            async with conn.transaction():
                if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", PRUNE_LOCK):
                    return
                await conn.execute(_PRUNE_FINISHED, self.max_finished)
        except asyncpg.PostgresError as err:
            log_event(log, logging.WARNING, "order_journal_prune_failed", error=str(err))
