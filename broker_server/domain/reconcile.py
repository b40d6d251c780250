"""Reconciliation: what became of the orders whose outcome the broker did not see.

After a reconnect (or a broker restart) the runtime reads, on a session of the order's client ID,
IB's open orders (reqOpenOrders), the day's completed orders (reqCompletedOrders, apiOnly) and the
executions since the disconnect (reqExecutions), and passes them with the journal entries that
are not terminal to :func:`reconcile`. It decides, per entry, the state IB's records prove, and
lists the fills not yet reported, each exec ID once, in time order.

Matching is by orderRef (the broker derives it from the idempotency key, so it survives
everything) and, as a fallback, by permId once known. The one rule that makes it safe:
**NOT_SENT only for an order IB shows no trace of and never acknowledged** (no open order, no
completed order, no execution, no permId, never ACKNOWLEDGED). Anything IB has seen is never
resent; if it has vanished from every list the entry stays UNKNOWN for another round (or an
operator). The inputs must be complete snapshots taken on a session opened after the one that
carried the order, so nothing sent on the old socket can still be in flight, and must cover the
client IDs of every entry passed: reqOpenOrders shows only the asking client ID's orders, so
entries of other client IDs need reqAllOpenOrders (or a session on their client ID).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from broker_server.domain.journal import JournalEntry, advance
from broker_server.domain.order_state import OrderState, OrderTransition, can_transition

S = OrderState
_Order = TypeVar("_Order", "IbOpenOrder", "IbCompletedOrder")
_T = TypeVar("_T")


@dataclass(frozen=True)
class IbOpenOrder:
    """A working order as IB reports it (openOrder + orderStatus)."""

    order_ref: str
    perm_id: int
    client_id: int
    order_id: int
    status: str
    """IB's status text: PendingSubmit, PreSubmitted, Submitted, PendingCancel, Filled, ..."""
    filled: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None


@dataclass(frozen=True)
class IbCompletedOrder:
    """A finished order as IB reports it (completedOrder)."""

    order_ref: str
    perm_id: int
    client_id: int
    order_id: int
    status: str
    """IB's status text: Filled, Cancelled, ApiCancelled, Inactive, ..."""
    filled: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    reason: str = ""
    """IB's completedStatus text, for example why it was cancelled or rejected."""


@dataclass(frozen=True)
class IbExecution:
    """A fill as IB reports it (execDetails)."""

    exec_id: str
    time: float
    """Epoch seconds."""
    order_ref: str
    perm_id: int
    client_id: int
    order_id: int
    shares: Decimal
    price: Decimal


@dataclass(frozen=True)
class ReconcileDecision:
    """The state one journal entry should take, and what proved it."""

    entry: JournalEntry
    state: OrderState
    evidence: str
    """"open order", "completed order", "executions", "no trace", or why nothing changed."""
    perm_id: int = 0
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    message: str = ""

    @property
    def changed(self) -> bool:
        """Whether the entry's state changes."""
        return self.state is not self.entry.state


@dataclass(frozen=True)
class ReconcileResult:
    """Decisions in the entries' order and the fills to report, in time order."""

    decisions: tuple[ReconcileDecision, ...]
    new_fills: tuple[IbExecution, ...]


_OPEN_STATUS = {
    "pendingcancel": S.PENDING_CANCEL,
    "filled": S.FILLED,
    "cancelled": S.CANCELLED,
    "apicancelled": S.CANCELLED,
    "inactive": S.REJECTED,
}
_DONE_STATUS = {
    "filled": S.FILLED,
    "cancelled": S.CANCELLED,
    "apicancelled": S.CANCELLED,
    "inactive": S.REJECTED,
    "rejected": S.REJECTED,
}


def _index(items: Iterable[_Order]) -> tuple[dict[str, _Order], dict[int, _Order]]:
    by_ref: dict[str, _Order] = {}
    by_perm: dict[int, _Order] = {}
    for item in items:
        if item.order_ref:
            by_ref[item.order_ref] = item
        if item.perm_id:
            by_perm[item.perm_id] = item
    return by_ref, by_perm


def _lookup(entry: JournalEntry, by_ref: dict[str, _T], by_perm: dict[int, _T]) -> _T | None:
    found = by_ref.get(entry.order_ref)
    if found is None and entry.perm_id:
        found = by_perm.get(entry.perm_id)
    return found


def _fills_of(entry: JournalEntry, executions: Sequence[IbExecution]) -> list[IbExecution]:
    return [
        e
        for e in executions
        if e.order_ref == entry.order_ref or (entry.perm_id and e.perm_id == entry.perm_id)
    ]


def _average(fills: Sequence[IbExecution]) -> Decimal | None:
    total = sum((f.shares for f in fills), Decimal(0))
    if total <= 0:
        return None
    return sum((f.shares * f.price for f in fills), Decimal(0)) / total


def _unique(executions: Iterable[IbExecution]) -> list[IbExecution]:
    seen: dict[str, IbExecution] = {}
    for e in executions:
        seen.setdefault(e.exec_id, e)
    return list(seen.values())


def _ever_seen_by_ib(entry: JournalEntry) -> bool:
    return (
        entry.seen_by_ib
        or bool(entry.perm_id)
        or entry.state
        in (
            S.ACKNOWLEDGED,
            S.PARTIALLY_FILLED,
            S.PENDING_CANCEL,
        )
    )


def _decide(
    entry: JournalEntry,
    open_order: IbOpenOrder | None,
    completed: IbCompletedOrder | None,
    fills: Sequence[IbExecution],
) -> ReconcileDecision:
    executed = sum((f.shares for f in fills), Decimal(0))
    average = _average(fills)
    perm_id = entry.perm_id
    message = ""
    if completed is not None:
        evidence = "completed order"
        filled = max(entry.filled_quantity, completed.filled, executed)
        state = _DONE_STATUS.get(completed.status.replace(" ", "").lower())
        if state is None:
            state = S.FILLED if filled >= entry.spec.quantity else S.CANCELLED
        perm_id = completed.perm_id or perm_id
        average = completed.average_fill_price or average
        message = completed.reason
    elif open_order is not None:
        evidence = "open order"
        filled = max(entry.filled_quantity, open_order.filled, executed)
        state = _OPEN_STATUS.get(open_order.status.replace(" ", "").lower(), S.ACKNOWLEDGED)
        if filled >= entry.spec.quantity:
            state = S.FILLED
        elif state is S.ACKNOWLEDGED and filled > 0:
            state = S.PARTIALLY_FILLED
        perm_id = open_order.perm_id or perm_id
        average = open_order.average_fill_price or average
    elif fills:
        evidence = "executions"
        filled = max(entry.filled_quantity, executed)
        perm_id = perm_id or next((f.perm_id for f in fills if f.perm_id), 0)
        if filled >= entry.spec.quantity:
            state = S.FILLED
        else:
            # Partly filled but neither open nor completed: IB's lists disagree; do not guess.
            state = S.UNKNOWN
            message = "partly filled, but neither open nor completed at IB"
    elif _ever_seen_by_ib(entry):
        return ReconcileDecision(
            entry,
            S.UNKNOWN,
            "seen by IB before, now neither open nor completed: not resent",
            perm_id=entry.perm_id,
            filled_quantity=entry.filled_quantity,
            average_fill_price=entry.average_fill_price,
        )
    else:
        return ReconcileDecision(entry, S.NOT_SENT, "no trace", filled_quantity=Decimal(0))
    if state is not entry.state and not can_transition(entry.state, state):
        # IB reports something the broker's record cannot reach (for example a rejection of an
        # order already pending cancel): keep the state, carry the figures and the note.
        message = message or f"IB reports {state.value}"
        state = entry.state
        evidence = f"{evidence} (conflicting; state kept)"
    return ReconcileDecision(
        entry,
        state,
        evidence,
        perm_id=perm_id,
        filled_quantity=filled,
        average_fill_price=average if filled > 0 else entry.average_fill_price,
        message=message,
    )


def reconcile(
    entries: Sequence[JournalEntry],
    open_orders: Iterable[IbOpenOrder],
    completed_orders: Iterable[IbCompletedOrder],
    executions: Iterable[IbExecution],
    already_reported: Collection[str] = frozenset(),
) -> ReconcileResult:
    """Decide each non-terminal entry's state from IB's records; list the unreported fills.

    Terminal entries are passed through unchanged. ``already_reported`` holds the exec IDs
    already published (WatchOrderEvents reports each once). A completed order outranks an
    open one with the same orderRef (the open snapshot may be older), which outranks the
    executions alone.
    """
    open_by_ref, open_by_perm = _index(open_orders)
    done_by_ref, done_by_perm = _index(completed_orders)
    unique = _unique(executions)
    decisions: list[ReconcileDecision] = []
    reported: dict[str, IbExecution] = {}
    for entry in entries:
        fills = _fills_of(entry, unique)
        for fill in fills:
            if fill.exec_id not in already_reported:
                reported.setdefault(fill.exec_id, fill)
        if entry.state.terminal:
            decisions.append(
                ReconcileDecision(
                    entry,
                    entry.state,
                    "terminal",
                    perm_id=entry.perm_id,
                    filled_quantity=entry.filled_quantity,
                    average_fill_price=entry.average_fill_price,
                )
            )
            continue
        open_order = _lookup(entry, open_by_ref, open_by_perm)
        completed = _lookup(entry, done_by_ref, done_by_perm)
        decisions.append(_decide(entry, open_order, completed, fills))
    new_fills = tuple(sorted(reported.values(), key=lambda f: (f.time, f.exec_id)))
    return ReconcileResult(tuple(decisions), new_fills)


def apply_decision(
    decision: ReconcileDecision, now: float
) -> tuple[JournalEntry, OrderTransition | None]:
    """The journal entry after ``decision`` (to persist), and the transition (to publish)."""
    return advance(
        decision.entry,
        decision.state,
        f"reconciled: {decision.evidence}",
        now=now,
        perm_id=decision.perm_id or None,
        filled_quantity=decision.filled_quantity,
        average_fill_price=decision.average_fill_price,
        message=decision.message or None,
    )
