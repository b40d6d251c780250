"""The order journal interface: what the order runtime needs of a durable journal.

Two implementations keep it: :class:`~broker_server.store.order_journal.SqliteOrderJournal`
(on the SQLite store's writer thread) and
:class:`~broker_server.store.postgres_journal.PostgresOrderJournal` (on the PostgreSQL store's
pool, every write fenced by the leadership epoch). The runtime (``runtime/orders.py``,
``runtime/order_ledger.py``) depends on this protocol only.

The contract is the :class:`~broker_server.store.base.Store`'s:

- **Futures, queued at call time.** Every method queues its work when called (on the event loop)
  and returns a :class:`concurrent.futures.Future` at once. The runtime changes its in-memory
  ledger and queues the write in one step, with no await between.
- **Durable on resolve.** A write's future resolves only after the transaction holding it
  committed durably: an intent whose ``save_intents`` resolved survives ``kill -9`` and, on
  PostgreSQL, a failover to another broker.
- **All or nothing per call**; a failing call fails alone with
  :class:`~broker_server.store.base.StoreError` (on PostgreSQL
  :class:`~broker_server.store.base.NotLeaderError` once a newer leader took the store over:
  nothing of the call was written).
- **Call order per key.** Calls on one order (its orderRef, its (owner, idempotency key)), one
  order-ID scope (gateway, client ID), one exec ID or one event sequence take effect in call
  order; a read sees every write called before it.
- **Monotonic order-ID high-water marks.** A mark is only ever raised, never lowered, whatever
  order concurrent raises commit in.
- **Bounded.** Terminal orders beyond ``max_finished`` (oldest first) and events beyond
  ``max_events`` are pruned; orders that are not terminal never are.

The runtime calls :meth:`~OrderJournal.load`, :meth:`~OrderJournal.save_intents` and
:meth:`~OrderJournal.save_batch` today; the other methods are the same writes one at a time
(tools, tests, and a runtime that would not batch).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_ids import OrderIdScope

TERMINAL_STATES = ("FILLED", "CANCELLED", "REJECTED")
"""Order states (their stored values) that are final: only such rows are pruned."""

Fill = tuple[str, str, float]
"""A published fill: (exec ID, orderRef, time)."""


@dataclass(frozen=True)
class StoredOrderEvent:
    """One row of the order-event log."""

    sequence: int
    time: float
    order_ref: str
    kind: str
    body: dict[str, Any]


@dataclass(frozen=True)
class JournalSnapshot:
    """What the journal holds on start-up."""

    entries: tuple[JournalEntry, ...]
    """Every journaled order (a bracket: three), oldest first (created_at, order ID)."""
    high_water: tuple[tuple[OrderIdScope, int], ...]
    """The order-ID high-water mark per (gateway, client ID)."""
    reported_exec_ids: frozenset[str]
    """Exec IDs already published (each fill is published once, across restarts too)."""
    last_sequence: int
    """The newest event sequence stored, 0 when none."""


class OrderJournal(Protocol):
    """The durable order journal; see the module docstring for the contract."""

    def load(self) -> Future[JournalSnapshot]:
        """Every journaled order, the high-water marks, reported exec IDs, last event sequence
        (after every write called before it)."""
        ...

    def save_intents(self, entries: Sequence[JournalEntry]) -> Future[None]:
        """Journal new (or resent) entries and raise their client ID's order-ID high-water, in
        one call. An entry is stored only as a new orderRef or as the next attempt of the stored
        one (a RESEND: ``attempts`` one more); any other (a second intent for one order, one key
        under another orderRef) fails the call, nothing of it written: of two callers (two
        brokers) journaling one order, exactly one succeeds."""
        ...

    def save_entries(self, entries: Sequence[JournalEntry]) -> Future[None]:
        """Store entries' new states and figures (one call: all or nothing)."""
        ...

    def save_batch(
        self,
        entries: Sequence[JournalEntry],
        events: Sequence[StoredOrderEvent],
        fills: Sequence[Fill],
    ) -> Future[None]:
        """Entries' new states, appended events and published fills, as one call."""
        ...

    def raise_high_water(self, scope: OrderIdScope, order_id: int) -> Future[None]:
        """Raise a high-water mark to ``order_id`` (never lowers it)."""
        ...

    def append_events(self, events: Iterable[StoredOrderEvent]) -> Future[None]:
        """Append published events; the log keeps the newest ``max_events``."""
        ...

    def load_events(self, after_sequence: int = 0) -> Future[tuple[StoredOrderEvent, ...]]:
        """The kept events after ``after_sequence``, in order."""
        ...

    def record_fills(self, fills: Sequence[Fill]) -> Future[tuple[str, ...]]:
        """Mark fills as published; returns the exec IDs that were new, in call order. An exec
        ID recorded once (by any call, concurrent ones included) is never new again."""
        ...
