"""Order events, the pure part of WatchOrderEvents: what is published, and who sees it.

The runtime publishes :class:`OrderEventRecord` values on an
:class:`~broker_server.runtime.events.EventHub` (which stamps sequence numbers, keeps a window
for resuming watchers, and ends streams with FINAL); this module builds them and filters them:

- :func:`snapshot_events`: one SNAPSHOT per open order then SNAPSHOT_END, what a new watcher
  (or one resuming past the retained window) gets first;
- :func:`transition_event`, :func:`fill_event`: live changes;
- :func:`recovery_events`: after a reconnect or restart, a GAP covering the outage, then the
  fills reconciliation found (each exec ID once, in time order), then the state changes it
  decided, so a watcher sees FILL, FILL, then STATE_CHANGED to FILLED;
- :func:`visible`: a watcher sees its own orders, or all with ``all_owners`` (admin); GAP,
  SNAPSHOT_END and FINAL concern everyone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from broker_server.domain.journal import JournalEntry
from broker_server.domain.order_state import OrderState, OrderTransition
from broker_server.domain.reconcile import IbExecution, ReconcileResult, apply_decision


class OrderEventKind(enum.Enum):
    """What an order event reports (mirrors ``ibbroker.v1.OrderEventKind``)."""

    SNAPSHOT = "SNAPSHOT"
    SNAPSHOT_END = "SNAPSHOT_END"
    STATE_CHANGED = "STATE_CHANGED"
    MODIFIED = "MODIFIED"
    FILL = "FILL"
    COMMISSION = "COMMISSION"
    GAP = "GAP"
    FINAL = "FINAL"


_FOR_EVERYONE = frozenset({OrderEventKind.GAP, OrderEventKind.SNAPSHOT_END, OrderEventKind.FINAL})


@dataclass(frozen=True)
class OrderEventRecord:
    """One order event before the hub stamps its sequence number."""

    kind: OrderEventKind
    time: float
    """Epoch seconds."""
    gateway: str
    entry: JournalEntry | None = None
    """The order after the event (unset for GAP, SNAPSHOT_END, FINAL)."""
    fill: IbExecution | None = None
    previous_state: OrderState | None = None
    gap_start: float | None = None
    gap_end: float | None = None
    reason: str = ""

    @property
    def owner(self) -> str:
        """Whose order it is; empty for events that concern everyone."""
        return self.entry.owner if self.entry is not None else ""


def visible(event: OrderEventRecord, owner: str, all_owners: bool, gateway: str = "") -> bool:
    """Whether a watcher (``owner``, optionally of all owners, of one gateway or all) sees it."""
    if gateway and event.gateway and event.gateway != gateway:
        return False
    if event.kind in _FOR_EVERYONE or all_owners:
        return True
    return event.owner == owner


def snapshot_events(
    entries: Iterable[JournalEntry], gateway: str, now: float
) -> list[OrderEventRecord]:
    """SNAPSHOT for each non-terminal order (oldest first), then SNAPSHOT_END."""
    live = sorted(
        (e for e in entries if not e.state.terminal), key=lambda e: (e.created_at, e.order_id)
    )
    events = [OrderEventRecord(OrderEventKind.SNAPSHOT, now, e.gateway, entry=e) for e in live]
    events.append(OrderEventRecord(OrderEventKind.SNAPSHOT_END, now, gateway))
    return events


def transition_event(entry: JournalEntry, change: OrderTransition, now: float) -> OrderEventRecord:
    """STATE_CHANGED for ``entry`` (already in ``change.to_state``)."""
    if entry.state is not change.to_state:
        raise ValueError(f"entry is {entry.state.value}, the change says {change.to_state.value}")
    return OrderEventRecord(
        OrderEventKind.STATE_CHANGED,
        now,
        entry.gateway,
        entry=entry,
        previous_state=change.from_state,
        reason=change.reason,
    )


def fill_event(entry: JournalEntry, fill: IbExecution) -> OrderEventRecord:
    """FILL of ``entry``, timed by the execution."""
    return OrderEventRecord(OrderEventKind.FILL, fill.time, entry.gateway, entry=entry, fill=fill)


def recovery_events(
    result: ReconcileResult,
    *,
    gateway: str,
    gap_start: float,
    now: float,
    reason: str,
) -> tuple[list[JournalEntry], list[OrderEventRecord]]:
    """The entries to persist and the events to publish after reconciliation.

    GAP first (from ``gap_start``, when the broker lost sight, to ``now``), then each new fill
    in time order (with its order as reconciled), then each state change.
    """
    updated: list[JournalEntry] = []
    changes: list[OrderEventRecord] = []
    by_ref: dict[str, JournalEntry] = {}
    for decision in result.decisions:
        entry, change = apply_decision(decision, now)
        by_ref[entry.order_ref] = entry
        if entry.perm_id:
            by_ref.setdefault(f"perm:{entry.perm_id}", entry)
        if entry != decision.entry:
            updated.append(entry)
        if change is not None:
            changes.append(transition_event(entry, change, now))
    events = [
        OrderEventRecord(
            OrderEventKind.GAP, now, gateway, gap_start=gap_start, gap_end=now, reason=reason
        )
    ]
    for fill in result.new_fills:
        owner_entry = by_ref.get(fill.order_ref) or by_ref.get(f"perm:{fill.perm_id}")
        if owner_entry is not None:
            events.append(fill_event(owner_entry, fill))
    events.extend(changes)
    return updated, events
