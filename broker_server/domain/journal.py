"""The order journal's domain records: the durable intent, and the idempotency decision.

Exactly once rests on writing an intent before anything reaches IB (DESIGN.md, "Orders"):

1. PlaceOrder(owner, key, request): :func:`decide` looks at what the journal holds for
   (owner, key): nothing -> NEW (reserve order IDs, write :func:`plan_entries`' PENDING entries
   in one commit, then send); the same parameter hash -> REPLAY (return the stored orders in
   their current state, send nothing) or, when reconciliation found the order never reached IB,
   RESEND; another hash -> INVALID_ARGUMENT (IDEMPOTENCY_CONFLICT).
2. Each state change is a new immutable entry from :func:`advance`, persisted by the runtime.
3. ModifyOrder / CancelOrder find the entry with :func:`find_entry` and ask
   :func:`check_amendable` whether the caller's client ID may touch it now.

Keys are scoped per owner: two strategies may pick the same key without seeing each other's
orders. Times are wall-clock epoch seconds (they are shown to people and survive restarts).
This module holds no store and does no I/O; the table and its group commit live in ``store/``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation
from broker_server.domain.order_identity import derive_order_ref
from broker_server.domain.order_ids import Reservation
from broker_server.domain.order_state import (
    IllegalOrderTransition,
    OrderState,
    OrderTransition,
    transition,
)
from broker_server.domain.orders import BracketRole, BracketSpec, OrderSpec
from broker_server.domain.reasons import FailureReason

OUTCOME_RETRY_AFTER = 1.0
"""Seconds a caller is told to wait before retrying a call on an order being reconciled."""


@dataclass(frozen=True)
class JournalEntry:
    """The durable record of one order placed through the broker (one row of the journal)."""

    owner: str
    key: str
    """The PlaceOrder idempotency key (shared by the three orders of a bracket)."""
    role: BracketRole
    param_hash: str
    """:func:`~broker_server.domain.orders.parameter_hash` of the whole request."""
    order_ref: str
    """The orderRef sent to IB, derived from (owner, key, role): the reconciliation key."""
    gateway: str
    client_id: int
    """The IB client ID the order is (to be) placed with; only it may modify or cancel it."""
    order_id: int
    """The IB order ID reserved for it before sending."""
    spec: OrderSpec
    state: OrderState
    created_at: float
    updated_at: float
    parent_order_id: int = 0
    """For a bracket child: the parent's order ID."""
    perm_id: int = 0
    """IB's permanent ID, once IB has assigned it (proof that IB has seen the order)."""
    filled_quantity: Decimal = Decimal(0)
    average_fill_price: Decimal | None = None
    message: str = ""
    """The latest IB text (a rejection reason) or reconciliation note."""
    ib_error_code: int = 0
    attempts: int = 1
    """How many times the order was journaled for sending (a RESEND adds one)."""
    seen_by_ib: bool = False
    """IB has acknowledged the order at some point (a permId, a working or final status): it
    must never be resent, whatever state it is in later (UNKNOWN after a drop)."""

    @property
    def remaining_quantity(self) -> Decimal:
        """What is still to fill (0 once terminal)."""
        if self.state.terminal or self.state is OrderState.NOT_SENT:
            return Decimal(0)
        return max(self.spec.quantity - self.filled_quantity, Decimal(0))


class IdempotencyOutcome(enum.Enum):
    """What a PlaceOrder must do, given the journal."""

    NEW = "NEW"
    """The key is new: reserve IDs, journal PENDING entries, then send."""
    REPLAY = "REPLAY"
    """The same request was made before: return the stored orders, send nothing."""
    RESEND = "RESEND"
    """The same request was made before and reconciled as never having reached IB: send it
    again, under the same key and orderRef, with freshly reserved order IDs."""


@dataclass(frozen=True)
class IdempotencyDecision:
    """The outcome and the stored entries it concerns (empty for NEW)."""

    outcome: IdempotencyOutcome
    entries: tuple[JournalEntry, ...] = ()


def decide(param_hash: str, stored: Sequence[JournalEntry]) -> IdempotencyDecision:
    """Decide a PlaceOrder given the entries already journaled for its (owner, key).

    Raises INVALID_ARGUMENT (IDEMPOTENCY_CONFLICT) when they were journaled for other
    parameters. A bracket is resent only when all three of its orders are NOT_SENT; a bracket
    of which part reached IB is replayed as it is (its parts keep being reconciled).
    """
    if not stored:
        return IdempotencyDecision(IdempotencyOutcome.NEW)
    entries = tuple(sorted(stored, key=lambda e: _ROLE_ORDER[e.role]))
    if any(e.param_hash != param_hash for e in entries):
        raise DomainError(
            ErrorKind.INVALID_ARGUMENT,
            FailureReason.IDEMPOTENCY_CONFLICT,
            f"idempotency key {entries[0].key!r} was used for an order with other parameters; "
            "use a new key for a new order",
            violations=(
                FieldViolation(
                    "idempotency_key", "already used for an order with other parameters"
                ),
            ),
            metadata={"order_ref": entries[0].order_ref},
        )
    if all(e.state is OrderState.NOT_SENT for e in entries):
        return IdempotencyDecision(IdempotencyOutcome.RESEND, entries)
    return IdempotencyDecision(IdempotencyOutcome.REPLAY, entries)


# States only IB can put an order in (REJECTED too: IB answered). NOT_SENT and UNKNOWN are the
# broker's own verdicts.
_SEEN_STATES = frozenset(
    {
        OrderState.ACKNOWLEDGED,
        OrderState.PARTIALLY_FILLED,
        OrderState.PENDING_CANCEL,
        OrderState.FILLED,
        OrderState.REJECTED,
    }
)

_ROLE_ORDER = {
    BracketRole.NONE: 0,
    BracketRole.PARENT: 0,
    BracketRole.TAKE_PROFIT: 1,
    BracketRole.STOP_LOSS: 2,
}


def plan_entries(
    *,
    owner: str,
    key: str,
    request: OrderSpec | BracketSpec,
    param_hash: str,
    gateway: str,
    client_id: int,
    reservations: Sequence[Reservation],
    now: float,
) -> tuple[JournalEntry, ...]:
    """The PENDING entries of a new request, one per order, in send order.

    ``reservations`` must hold one order ID per order (three for a bracket), reserved on
    (gateway, client_id); the children of a bracket point at the parent's order ID.
    """
    if isinstance(request, BracketSpec):
        orders = request.orders()
    else:
        orders = ((BracketRole.NONE, request),)
    if len(reservations) != len(orders):
        raise ValueError(f"{len(orders)} order IDs needed, {len(reservations)} given")
    for reservation in reservations:
        if (reservation.scope.gateway, reservation.scope.client_id) != (gateway, client_id):
            raise ValueError(f"order ID reserved on {reservation.scope}, not {gateway}/{client_id}")
    parent_id = reservations[0].order_id if isinstance(request, BracketSpec) else 0
    return tuple(
        JournalEntry(
            owner=owner,
            key=key,
            role=role,
            param_hash=param_hash,
            order_ref=derive_order_ref(owner, key, role),
            gateway=gateway,
            client_id=client_id,
            order_id=reservation.order_id,
            spec=spec,
            state=OrderState.PENDING,
            created_at=now,
            updated_at=now,
            parent_order_id=parent_id
            if role in (BracketRole.TAKE_PROFIT, BracketRole.STOP_LOSS)
            else 0,
        )
        for (role, spec), reservation in zip(orders, reservations, strict=True)
    )


def plan_resend(
    entries: Sequence[JournalEntry],
    *,
    client_id: int,
    reservations: Sequence[Reservation],
    now: float,
) -> tuple[tuple[JournalEntry, OrderTransition], ...]:
    """NOT_SENT entries back to PENDING with new order IDs (on the caller's current client ID).

    Fresh IDs, not the old ones: the old ID may have been passed by later orders of the client
    ID (IB refuses an ID below one it has seen used), and NOT_SENT is the verdict that IB holds
    no trace of the order, so a new ID cannot duplicate it. The orderRef stays, so a late trace
    of the first attempt would still be matched to this entry.
    """
    if len(reservations) != len(entries):
        raise ValueError(f"{len(entries)} order IDs needed, {len(reservations)} given")
    ordered = sorted(entries, key=lambda e: _ROLE_ORDER[e.role])
    parent_id = reservations[0].order_id if ordered[0].role is BracketRole.PARENT else 0
    out = []
    for entry, reservation in zip(ordered, reservations, strict=True):
        if entry.state is not OrderState.NOT_SENT:
            raise IllegalOrderTransition(
                f"resend of {entry.order_ref} in state {entry.state.value}"
            )
        change = transition(entry.state, OrderState.PENDING, "resend: never reached IB")
        assert change is not None
        child = entry.role in (BracketRole.TAKE_PROFIT, BracketRole.STOP_LOSS)
        fresh = replace(
            entry,
            state=OrderState.PENDING,
            client_id=client_id,
            order_id=reservation.order_id,
            parent_order_id=parent_id if child else 0,
            perm_id=0,
            updated_at=now,
            message="",
            ib_error_code=0,
            attempts=entry.attempts + 1,
        )
        out.append((fresh, change))
    return tuple(out)


def advance(
    entry: JournalEntry,
    to_state: OrderState,
    reason: str,
    *,
    now: float,
    perm_id: int | None = None,
    filled_quantity: Decimal | None = None,
    average_fill_price: Decimal | None = None,
    message: str | None = None,
    ib_error_code: int | None = None,
) -> tuple[JournalEntry, OrderTransition | None]:
    """The entry after an event: the new state (checked against the table) and new figures.

    Returns the transition, or None when only figures changed (another partial fill). The
    filled quantity never decreases: IB's reports can arrive out of order.
    """
    change = transition(entry.state, to_state, reason)
    seen = entry.seen_by_ib or bool(perm_id) or to_state in _SEEN_STATES
    filled = entry.filled_quantity
    if filled_quantity is not None and filled_quantity > filled:
        filled = filled_quantity
    updated = replace(
        entry,
        state=to_state,
        updated_at=now,
        perm_id=perm_id if perm_id else entry.perm_id,
        filled_quantity=filled,
        average_fill_price=(
            average_fill_price if average_fill_price is not None else entry.average_fill_price
        ),
        message=message if message is not None else entry.message,
        ib_error_code=ib_error_code if ib_error_code is not None else entry.ib_error_code,
        seen_by_ib=seen,
    )
    return updated, change


def find_entry(
    entries: Sequence[JournalEntry], owner: str, key: str, role: BracketRole = BracketRole.NONE
) -> JournalEntry:
    """The entry of (owner, key, role); NOT_FOUND (ORDER_NOT_FOUND) when there is none.

    ``role`` NONE also selects a bracket's parent. Another owner's entry is reported as not
    found: the existence of other strategies' orders is not revealed.
    """
    wanted = (BracketRole.NONE, BracketRole.PARENT) if role is BracketRole.NONE else (role,)
    for entry in entries:
        if entry.owner == owner and entry.key == key and entry.role in wanted:
            return entry
    raise DomainError(
        ErrorKind.NOT_FOUND,
        FailureReason.ORDER_NOT_FOUND,
        f"no order with idempotency key {key!r}"
        + ("" if role is BracketRole.NONE else f" and bracket role {role.name}")
        + " for this owner",
    )


def check_amendable(entry: JournalEntry, client_id: int, action: str) -> None:
    """Raise unless the caller, holding ``client_id``, may ``action`` ("modify"/"cancel") it now.

    - terminal -> FAILED_PRECONDITION (ORDER_FINISHED);
    - never sent -> NOT_FOUND (ORDER_NOT_FOUND), except a cancel, which the runtime applies to
      the journal alone (NOT_SENT -> CANCELLED, so a retry of the PlaceOrder cannot send it);
    - outcome not known yet -> UNAVAILABLE (OUTCOME_UNKNOWN) with a retry delay;
    - placed with another client ID -> FAILED_PRECONDITION (ORDER_OWNED_BY_OTHER_CLIENT_ID), the
      owning client ID in the metadata: TWS lets only that client ID touch the order.
    """
    state = entry.state
    if state.terminal:
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION,
            FailureReason.ORDER_FINISHED,
            f"cannot {action} order {entry.order_ref}: it is {state.value}",
            metadata={"order_ref": entry.order_ref, "state": state.value},
        )
    if state is OrderState.NOT_SENT:
        if action == "cancel":
            return
        raise DomainError(
            ErrorKind.NOT_FOUND,
            FailureReason.ORDER_NOT_FOUND,
            f"cannot {action} order {entry.order_ref}: it never reached IB; "
            "retry its PlaceOrder (same key) to send it",
            metadata={"order_ref": entry.order_ref, "state": state.value},
        )
    if state.needs_reconcile:
        raise DomainError(
            ErrorKind.UNAVAILABLE,
            FailureReason.OUTCOME_UNKNOWN,
            f"cannot {action} order {entry.order_ref} yet: its outcome at IB is being reconciled",
            retry_after=OUTCOME_RETRY_AFTER,
            metadata={"order_ref": entry.order_ref, "state": state.value},
        )
    if entry.client_id != client_id:
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION,
            FailureReason.ORDER_OWNED_BY_OTHER_CLIENT_ID,
            f"order {entry.order_ref} was placed with client ID {entry.client_id}; only that "
            f"client ID may {action} it (lease it, for example with it as the preferred ID)",
            metadata={
                "order_ref": entry.order_ref,
                "owning_client_id": str(entry.client_id),
                "client_id": str(client_id),
            },
        )


def check_order_lease(lease_id: str, proxied: bool) -> None:
    """Orders go through the caller's PROXIED lease: the broker holds that client ID's session.

    A DIRECT lease means the strategy holds the socket itself; the broker cannot place orders
    on it -> FAILED_PRECONDITION (LEASE_NOT_PROXIED).
    """
    if not proxied:
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION,
            FailureReason.LEASE_NOT_PROXIED,
            f"lease {lease_id} is DIRECT: orders through the broker need a PROXIED lease",
            violations=(FieldViolation("lease_id", "not a PROXIED lease"),),
        )
