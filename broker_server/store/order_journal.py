"""The order journal in the SQLite store: intents, order-ID high-water, events, fill dedup.

It shares the :class:`~broker_server.store.sqlite.SqliteStore`'s single writer thread, so it has
the same discipline (WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``, group commit: concurrent
intents share one fsync) and the same contract: every method queues its work at call time and
returns a :class:`concurrent.futures.Future` that resolves only after the COMMIT holding it;
calls take effect in call order; each call is all or nothing. It implements
:class:`~broker_server.store.journal_base.OrderJournal` (the runtime depends on that protocol;
:mod:`broker_server.store.postgres_journal` is the same journal on PostgreSQL).

Tables (schema migration 2 in ``sqlite.py``):

- ``orders``: one row per order (a bracket has three), keyed by orderRef, unique per
  (owner, idempotency key, role); the whole :class:`JournalEntry` as JSON plus the columns it is
  looked up by. Rows are never pruned while not terminal; terminal ones beyond
  ``max_finished`` (oldest first) are, so a retry of a long-finished key is a new order.
- ``order_ids``: the order-ID high-water per (gateway, client ID), raised in the same call as
  the intents that reserve IDs, never lowered.
- ``order_events``: the published order events by sequence (bounded to ``max_events``).
- ``order_fills``: exec IDs already published: a fill reaches WatchOrderEvents once, also
  across restarts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from concurrent.futures import Future

from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_ids import OrderIdScope
from broker_server.store.base import StoreError
from broker_server.store.journal_base import (
    TERMINAL_STATES,
    JournalSnapshot,
    StoredOrderEvent,
)
from broker_server.store.order_codec import entry_from_json, entry_row
from broker_server.store.sqlite import SqliteStore

__all__ = ["JournalSnapshot", "SqliteOrderJournal", "StoredOrderEvent"]

_TERMINAL = TERMINAL_STATES

_UPSERT = (
    "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (order_ref) DO UPDATE SET "
    "client_id = excluded.client_id, order_id = excluded.order_id, state = excluded.state, "
    "updated_at = excluded.updated_at, entry = excluded.entry"
)
# An intent replaces a stored row only as its next attempt (a RESEND): of two calls journaling
# one order (one orderRef), exactly one is stored; the other changes 0 rows and fails.
_INTENT = (
    _UPSERT + " WHERE json_extract(orders.entry, '$.attempts') = "
    "json_extract(excluded.entry, '$.attempts') - 1"
)
_HIGH_WATER = (
    "INSERT INTO order_ids VALUES (?, ?, ?) ON CONFLICT (gateway, client_id) DO UPDATE SET "
    "high_water = max(high_water, excluded.high_water)"
)


class SqliteOrderJournal:
    """The order journal on an open :class:`SqliteStore` (see the module docstring)."""

    def __init__(
        self, store: SqliteStore, *, max_events: int = 10_000, max_finished: int = 100_000
    ) -> None:
        self._store = store
        self.max_events = max_events
        """Order events kept for resuming watchers after a restart (oldest pruned first)."""
        self.max_finished = max_finished
        """Terminal orders kept for idempotent replays (oldest pruned first)."""

    def load(self) -> Future[JournalSnapshot]:
        """Every journaled order, the high-water marks, reported exec IDs, last event sequence."""

        def run(conn: sqlite3.Connection) -> JournalSnapshot:
            entries = tuple(
                entry_from_json(row[0])
                for row in conn.execute("SELECT entry FROM orders ORDER BY created_at, order_id")
            )
            marks = tuple(
                (OrderIdScope(row[0], int(row[1])), int(row[2]))
                for row in conn.execute("SELECT gateway, client_id, high_water FROM order_ids")
            )
            fills = frozenset(row[0] for row in conn.execute("SELECT exec_id FROM order_fills"))
            last = conn.execute("SELECT max(sequence) FROM order_events").fetchone()[0]
            return JournalSnapshot(entries, marks, fills, int(last or 0))

        return self._store.submit(run)

    def save_intents(self, entries: Sequence[JournalEntry]) -> Future[None]:
        """Journal new (or resent) entries and raise their client ID's high-water, in one call.

        A new entry whose (owner, key, role) exists under another orderRef, or whose orderRef is
        stored and the entry is not its next attempt, fails the call: the caller decided on
        stale information.
        """
        marks: dict[tuple[str, int], int] = {}
        for e in entries:
            key = (e.gateway, e.client_id)
            marks[key] = max(marks.get(key, 0), e.order_id)
        rows = [entry_row(e) for e in entries]

        def run(conn: sqlite3.Connection) -> None:
            for row in rows:
                if conn.execute(_INTENT, row).rowcount != 1:
                    raise StoreError(f"order {row[0]} is already journaled: intent refused")
            conn.executemany(_HIGH_WATER, [(g, c, h) for (g, c), h in marks.items()])

        return self._store.submit(run)

    def save_entries(self, entries: Sequence[JournalEntry]) -> Future[None]:
        """Store entries' new states and figures (one call: all or nothing)."""
        rows = [entry_row(e) for e in entries]
        prune = any(e.state.terminal for e in entries)

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(_UPSERT, rows)
            if prune:
                self._prune_finished(conn)

        return self._store.submit(run)

    def save_batch(
        self,
        entries: Sequence[JournalEntry],
        events: Sequence[StoredOrderEvent],
        fills: Sequence[tuple[str, str, float]],
    ) -> Future[None]:
        """Entries' new states, appended events and published fills, as one call (the runtime
        gathers what one turn of its event loop changed: one store call instead of many)."""
        rows = [entry_row(e) for e in entries]
        prune = any(e.state.terminal for e in entries)
        event_rows = [
            (e.sequence, e.time, e.order_ref, e.kind, json.dumps(e.body, separators=(",", ":")))
            for e in events
        ]

        def run(conn: sqlite3.Connection) -> None:
            if rows:
                conn.executemany(_UPSERT, rows)
                if prune:
                    self._prune_finished(conn)
            if fills:
                conn.executemany("INSERT OR IGNORE INTO order_fills VALUES (?, ?, ?)", fills)
            if event_rows:
                conn.executemany(
                    "INSERT OR REPLACE INTO order_events VALUES (?,?,?,?,?)", event_rows
                )
                conn.execute(
                    "DELETE FROM order_events WHERE sequence <= "
                    "(SELECT max(sequence) FROM order_events) - ?",
                    (self.max_events,),
                )

        return self._store.submit(run)

    def raise_high_water(self, scope: OrderIdScope, order_id: int) -> Future[None]:
        """Raise a high-water mark (an ID seen at IB that the broker did not reserve)."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute(_HIGH_WATER, (scope.gateway, scope.client_id, order_id))

        return self._store.submit(run)

    def append_events(self, events: Iterable[StoredOrderEvent]) -> Future[None]:
        """Append published events; the log keeps the newest :attr:`max_events`."""
        rows = [
            (e.sequence, e.time, e.order_ref, e.kind, json.dumps(e.body, separators=(",", ":")))
            for e in events
        ]

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT OR REPLACE INTO order_events VALUES (?,?,?,?,?)", rows)
            conn.execute(
                "DELETE FROM order_events WHERE sequence <= "
                "(SELECT max(sequence) FROM order_events) - ?",
                (self.max_events,),
            )

        return self._store.submit(run)

    def load_events(self, after_sequence: int = 0) -> Future[tuple[StoredOrderEvent, ...]]:
        """The kept events after ``after_sequence``, in order."""

        def run(conn: sqlite3.Connection) -> tuple[StoredOrderEvent, ...]:
            rows = conn.execute(
                "SELECT sequence, time, order_ref, kind, body FROM order_events "
                "WHERE sequence > ? ORDER BY sequence",
                (after_sequence,),
            )
            return tuple(
                StoredOrderEvent(int(r[0]), float(r[1]), r[2], r[3], json.loads(r[4])) for r in rows
            )

        return self._store.submit(run)

    def record_fills(self, fills: Sequence[tuple[str, str, float]]) -> Future[tuple[str, ...]]:
        """Mark (exec_id, order_ref, time) as published; returns the exec IDs that were new.

        Durable dedup: an exec ID recorded once is reported as not new forever after.
        """

        def run(conn: sqlite3.Connection) -> tuple[str, ...]:
            new: list[str] = []
            for exec_id, order_ref, time in fills:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO order_fills VALUES (?, ?, ?)", (exec_id, order_ref, time)
                )
                if cur.rowcount:
                    new.append(exec_id)
            return tuple(new)

        return self._store.submit(run)

    def _prune_finished(self, conn: sqlite3.Connection) -> None:
        placeholders = ",".join("?" * len(_TERMINAL))
        count = conn.execute(
            f"SELECT count(*) FROM orders WHERE state IN ({placeholders})", _TERMINAL
        ).fetchone()[0]
        excess = int(count) - self.max_finished
        if excess > 0:
            conn.execute(
                f"DELETE FROM orders WHERE order_ref IN (SELECT order_ref FROM orders WHERE "
                f"state IN ({placeholders}) ORDER BY updated_at LIMIT ?)",
                (*_TERMINAL, excess),
            )

    def __repr__(self) -> str:
        return f"<SqliteOrderJournal on {self._store!r}>"
