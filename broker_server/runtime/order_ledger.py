"""The order ledger: the journal in memory, its persistence, and every order event.

One :class:`OrderLedger` per broker. It holds every journal entry by orderRef and by
(owner, idempotency key), applies state changes through the domain's table
(:func:`~broker_server.domain.journal.advance`), queues each change to the store in the same
step (no await between the in-memory change and the queued write, so the store sees the
ledger's history in order), and makes each change observable: a JSON log line
(``order_state``), a count (``ibbroker.orders.transitions``) and a sequenced event on
:attr:`events` (the WatchOrderEvents stream, also appended to the store's bounded event log).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opentelemetry import metrics

from broker_server.domain.journal import JournalEntry, advance
from broker_server.domain.order_events import (
    OrderEventKind,
    OrderEventRecord,
    fill_event,
    snapshot_events,
    transition_event,
)
from broker_server.domain.order_state import OrderState, can_transition
from broker_server.domain.trading_views import ExecutionView
from broker_server.logs import log_event
from broker_server.runtime.events import EventHub
from broker_server.runtime.lease_writes import store_failed
from broker_server.store.base import StoreError
from broker_server.store.journal_base import OrderJournal, StoredOrderEvent

log = logging.getLogger("ibbroker.orders")

_meter = metrics.get_meter("ibbroker")
_transitions = _meter.create_counter(
    "ibbroker.orders.transitions", unit="{transition}", description="Order state changes, by state."
)
_fills = _meter.create_counter(
    "ibbroker.orders.fills", unit="{fill}", description="Fills published."
)


@dataclass(frozen=True)
class OrderEvent:
    """An order event with its sequence number (what WatchOrderEvents streams)."""

    sequence: int
    record: OrderEventRecord
    execution: ExecutionView | None = None
    """The full fill (account, contract, commission) for FILL and COMMISSION events."""


class OrderLedger:
    """Journal entries in memory, persisted through ``journal`` (see the module docstring)."""

    def __init__(
        self, journal: OrderJournal, *, queue_size: int = 256, first_sequence: int = 0
    ) -> None:
        self._journal = journal
        self._by_ref: dict[str, JournalEntry] = {}
        self._by_key: dict[tuple[str, str], list[str]] = {}
        self._writes: set[asyncio.Future[Any]] = set()
        self._dirty: dict[str, JournalEntry] = {}
        self._events_out: list[StoredOrderEvent] = []
        self._fills_out: list[tuple[str, str, float]] = []
        self._flush_pending = False
        self.events: EventHub[OrderEvent] = EventHub(
            self._snapshot, queue_size=queue_size, first_sequence=first_sequence
        )
        """Order events: SNAPSHOT per live order, SNAPSHOT_END, then changes; FINAL on close."""
        self.reported: set[str] = set()
        """Exec IDs already published (loaded from the store: once across restarts too)."""
        self.commissions: set[str] = set()
        """Exec IDs whose commission was published."""
        self.clock_wall: Any = None
        self._listeners: list[Callable[[OrderEventRecord], None]] = []

    def on_publish(self, listener: Callable[[OrderEventRecord], None]) -> Callable[[], None]:
        """Call ``listener`` with every event published from now on (on the event loop, as it
        is queued to the watchers; it must neither raise nor block: the /metrics counters use
        it). Returns the function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    # --- reading ---------------------------------------------------------------------------

    def entries(self) -> list[JournalEntry]:
        """Every entry, oldest first."""
        return sorted(self._by_ref.values(), key=lambda e: (e.created_at, e.order_id))

    def by_ref(self, order_ref: str) -> JournalEntry | None:
        """The entry of an orderRef."""
        return self._by_ref.get(order_ref)

    def by_key(self, owner: str, key: str) -> list[JournalEntry]:
        """The entries of one PlaceOrder (one, or three for a bracket)."""
        return [self._by_ref[r] for r in self._by_key.get((owner, key), ())]

    def by_order_id(self, gateway: str, client_id: int, order_id: int) -> JournalEntry | None:
        """The entry IB knows as (client ID, order ID) on ``gateway``."""
        for e in self._by_ref.values():
            if (e.gateway, e.client_id, e.order_id) == (gateway, client_id, order_id):
                return e
        return None

    def count_by_state(self) -> dict[OrderState, int]:
        """How many entries are in each state (read-only, unsorted: the /metrics gauge reads it
        on the event loop)."""
        counts = dict.fromkeys(OrderState, 0)
        for entry in self._by_ref.values():
            counts[entry.state] += 1
        return counts

    def unsettled(self) -> list[JournalEntry]:
        """Entries that are not terminal (reconciliation's input)."""
        return [e for e in self.entries() if not e.state.terminal]

    # --- loading and writing ---------------------------------------------------------------

    def load(self, entries: Iterable[JournalEntry], reported: Iterable[str]) -> None:
        """Fill the ledger from the store (start-up)."""
        for e in entries:
            self._put(e)
        self.reported.update(reported)

    def _put(self, entry: JournalEntry) -> None:
        refs = self._by_key.setdefault((entry.owner, entry.key), [])
        if entry.order_ref not in refs:
            refs.append(entry.order_ref)
        self._by_ref[entry.order_ref] = entry

    def _track(self, future: Future[None]) -> asyncio.Future[None]:
        wrapped = asyncio.wrap_future(future)
        self._writes.add(wrapped)
        wrapped.add_done_callback(self._written)
        return wrapped

    def _written(self, future: asyncio.Future[Any]) -> None:
        self._writes.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log_event(
                log, logging.ERROR, "order_journal_write_failed", error=str(future.exception())
            )

    async def journal_intents(self, entries: Sequence[JournalEntry]) -> None:
        """Write new (or resent) PENDING entries durably; returns once committed. A refused or
        failed write raises the caller's UNAVAILABLE error (nothing was sent)."""
        self._flush_now()  # what was changed before goes to the store first (call order)
        try:
            await asyncio.wrap_future(self._journal.save_intents(entries))
        except StoreError as err:  # UNAVAILABLE: NOT_LEADER (a newer leader) or STORE_UNAVAILABLE
            raise store_failed(err, "the order journal failed") from err
        # Only once durable: a failed write leaves no entry behind that was never journaled.
        for e in entries:
            self._put(e)
            log_event(log, logging.INFO, "order_journaled", **_fields(e))

    def save(self, entries: Sequence[JournalEntry]) -> None:
        """Store entries' new states: gathered with everything else changed in this turn of the
        event loop and written as one store call at its end (not awaited: state changes after
        the intent are IB's news, which reconciliation can always read again)."""
        for e in entries:
            self._put(e)
            self._dirty[e.order_ref] = e
        self._schedule()

    def _schedule(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_pending = False
        if not (self._dirty or self._events_out or self._fills_out):
            return
        entries, events, fills = list(self._dirty.values()), self._events_out, self._fills_out
        self._dirty, self._events_out, self._fills_out = {}, [], []
        self._track(self._journal.save_batch(entries, events, fills))

    async def flush(self) -> None:
        """Write what is gathered and wait for every queued write."""
        self._flush_now()
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    # --- changing --------------------------------------------------------------------------

    def change(
        self,
        entry: JournalEntry,
        to_state: OrderState,
        reason: str,
        now: float,
        **figures: Any,
    ) -> JournalEntry:
        """Move ``entry`` (as the ledger holds it now) to ``to_state`` when the table allows it,
        with new figures; persist, log, count and publish. A change the table forbids (a late
        report) keeps the state and only takes the figures that never go back."""
        current = self._by_ref.get(entry.order_ref, entry)
        if to_state is not current.state and not can_transition(current.state, to_state):
            to_state = current.state
        updated, change = advance(current, to_state, reason, now=now, **figures)
        if updated == current:
            return current
        self.save([updated])
        if change is not None:
            _transitions.add(1, {"state": to_state.value, "gateway": updated.gateway})
            log_event(
                log,
                logging.INFO,
                "order_state",
                previous_state=change.from_state.value,
                reason=reason,
                **_fields(updated),
            )
            self.publish(transition_event(updated, change, now))
        return updated

    def publish(self, record: OrderEventRecord, execution: ExecutionView | None = None) -> None:
        """Sequence and deliver one event; append it to the store's event log."""
        event = self.events.publish(lambda seq: OrderEvent(seq, record, execution))
        for listener in self._listeners:
            listener(record)
        body: dict[str, Any] = {"gateway": record.gateway, "reason": record.reason}
        if record.entry is not None:
            body.update(
                state=record.entry.state.value, owner=record.entry.owner, key=record.entry.key
            )
        if record.fill is not None:
            body.update(
                exec_id=record.fill.exec_id,
                shares=str(record.fill.shares),
                price=str(record.fill.price),
            )
        ref = record.entry.order_ref if record.entry is not None else ""
        self._events_out.append(
            StoredOrderEvent(event.sequence, record.time, ref, record.kind.value, body)
        )
        self._schedule()

    def publish_fill(self, entry: JournalEntry, view: ExecutionView) -> bool:
        """FILL once per exec ID (durable dedup); False when it was published before."""
        fill = view.execution
        if fill.exec_id in self.reported:
            return False
        self.reported.add(fill.exec_id)
        self._track_fill(fill.exec_id, entry.order_ref, fill.time)
        _fills.add(1, {"gateway": entry.gateway})
        log_event(
            log, logging.INFO, "order_fill", exec_id=fill.exec_id, shares=str(fill.shares),
            price=str(fill.price), **_fields(entry),
        )  # fmt: skip
        self.publish(fill_event(entry, fill), view)
        return True

    def publish_commission(self, entry: JournalEntry, view: ExecutionView) -> None:
        """COMMISSION once per exec ID."""
        exec_id = view.execution.exec_id
        if exec_id in self.commissions or view.commission is None:
            return
        self.commissions.add(exec_id)
        record = OrderEventRecord(
            OrderEventKind.COMMISSION,
            view.execution.time,
            entry.gateway,
            entry=entry,
            fill=view.execution,
        )
        self.publish(record, view)

    def _track_fill(self, exec_id: str, order_ref: str, time: float) -> None:
        self._fills_out.append((exec_id, order_ref, time))
        self._schedule()

    def _snapshot(self, sequence: int) -> list[OrderEvent]:
        now = self.clock_wall() if self.clock_wall is not None else 0.0
        return [OrderEvent(sequence, r) for r in snapshot_events(self._by_ref.values(), "", now)]

    def close(self, now: float, reason: str) -> None:
        """End every stream with FINAL."""
        self.events.close(
            lambda seq: OrderEvent(
                seq, OrderEventRecord(OrderEventKind.FINAL, now, "", reason=reason)
            )
        )


def _fields(e: JournalEntry) -> dict[str, Any]:
    return {
        "gateway": e.gateway,
        "client_id": e.client_id,
        "order_id": e.order_id,
        "order_ref": e.order_ref,
        "owner": e.owner,
        "state": e.state.value,
        "role": e.role.name,
        "filled": str(e.filled_quantity),
    }


def figures(filled: Decimal | None = None, **kw: Any) -> dict[str, Any]:
    """Keyword figures for :meth:`OrderLedger.change` without the Nones."""
    out = {k: v for k, v in kw.items() if v is not None}
    if filled is not None:
        out["filled_quantity"] = filled
    return out
