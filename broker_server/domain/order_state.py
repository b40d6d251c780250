"""The life cycle of an order as the broker knows it: states, legal transitions, typed changes.

One table (:data:`TRANSITIONS`); an illegal transition is a bug and raises
:class:`IllegalOrderTransition`. The states mirror ``ibbroker.v1.OrderState``::

    PENDING ──send──► SUBMITTED ──ack──► ACKNOWLEDGED ──fill──► PARTIALLY_FILLED ──► FILLED
       │                  │                    │  └──cancel──► PENDING_CANCEL ──► CANCELLED
       │                  └──drop/timeout──► UNKNOWN ──reconcile──► (any of the above, or NOT_SENT)
       └──crash before send──► UNKNOWN                                      NOT_SENT ──► PENDING

FILLED, CANCELLED and REJECTED are terminal. NOT_SENT is the only state from which an order may
be sent again (back to PENDING, under the same idempotency key): reconciliation found no trace
of it at IB. UNKNOWN is never resent; it waits for reconciliation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OrderState(enum.Enum):
    """Where an order stands (mirrors ``ibbroker.v1.OrderState``)."""

    PENDING = "PENDING"
    """Journaled durably; not yet known to have reached IB."""
    SUBMITTED = "SUBMITTED"
    """Written to IB's socket; no acknowledgement yet."""
    ACKNOWLEDGED = "ACKNOWLEDGED"
    """IB acknowledged it (PreSubmitted, Submitted): working."""
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    """Working, part of the quantity filled."""
    PENDING_CANCEL = "PENDING_CANCEL"
    """A cancel was sent and not yet confirmed."""
    FILLED = "FILLED"
    """Terminal: the whole quantity filled."""
    CANCELLED = "CANCELLED"
    """Terminal: cancelled (possibly after partial fills)."""
    REJECTED = "REJECTED"
    """Terminal: IB refused it."""
    NOT_SENT = "NOT_SENT"
    """Reconciled as never having reached IB: may be sent again under the same key."""
    UNKNOWN = "UNKNOWN"
    """Sent (or maybe sent) and the outcome is not known: wait for reconciliation."""

    @property
    def terminal(self) -> bool:
        """Nothing more can happen to the order."""
        return self in TERMINAL

    @property
    def working(self) -> bool:
        """IB has the order and it may still fill: it can be modified and cancelled."""
        return self in WORKING

    @property
    def needs_reconcile(self) -> bool:
        """The broker cannot tell from its own records what IB did with the order."""
        return self in (OrderState.PENDING, OrderState.SUBMITTED, OrderState.UNKNOWN)


S = OrderState

TERMINAL = frozenset({S.FILLED, S.CANCELLED, S.REJECTED})
"""States nothing leaves."""
WORKING = frozenset({S.ACKNOWLEDGED, S.PARTIALLY_FILLED, S.PENDING_CANCEL})
"""States in which IB holds the order and it may still fill."""

# What reconciliation can find when the broker did not see the outcome itself.
_FOUND_AT_IB = frozenset(
    {S.ACKNOWLEDGED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.FILLED, S.CANCELLED, S.REJECTED}
)

TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    # Journaled: sent next, or found (after a crash) by reconciliation in any state, or not at
    # all (NOT_SENT); marked UNKNOWN when the broker restarts before knowing whether it sent it.
    S.PENDING: frozenset({S.SUBMITTED, S.UNKNOWN, S.NOT_SENT}) | _FOUND_AT_IB,
    S.SUBMITTED: frozenset({S.UNKNOWN, S.NOT_SENT}) | _FOUND_AT_IB,
    S.ACKNOWLEDGED: frozenset(
        {S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.FILLED, S.CANCELLED, S.REJECTED, S.UNKNOWN}
    ),
    S.PARTIALLY_FILLED: frozenset({S.PENDING_CANCEL, S.FILLED, S.CANCELLED, S.UNKNOWN}),
    # A cancel may lose the race against a fill, or be refused (still working).
    S.PENDING_CANCEL: frozenset(
        {S.ACKNOWLEDGED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.UNKNOWN}
    ),
    # Reconciliation ends UNKNOWN, and nothing else does.
    S.UNKNOWN: frozenset({S.NOT_SENT}) | _FOUND_AT_IB,
    # The only way back to IB: a PlaceOrder retry with the same key sends it again; or the
    # owner cancels it before that, and it never goes.
    S.NOT_SENT: frozenset({S.PENDING, S.CANCELLED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}


class IllegalOrderTransition(RuntimeError):
    """A transition that the table does not allow: a bug in the caller, never user input."""


@dataclass(frozen=True)
class OrderTransition:
    """One legal change of state, with why it happened."""

    from_state: OrderState
    to_state: OrderState
    reason: str
    """Short text for logs and events, for example "ack" or "reconciled: open at IB"."""


def can_transition(from_state: OrderState, to_state: OrderState) -> bool:
    """Whether the table allows ``from_state`` -> ``to_state``."""
    return to_state in TRANSITIONS[from_state]


def transition(from_state: OrderState, to_state: OrderState, reason: str) -> OrderTransition | None:
    """The typed change ``from_state`` -> ``to_state``; None when the state does not change.

    Raises :class:`IllegalOrderTransition` for a change the table forbids.
    """
    if from_state is to_state:
        return None
    if not can_transition(from_state, to_state):
        raise IllegalOrderTransition(
            f"order state {from_state.value} -> {to_state.value} ({reason})"
        )
    return OrderTransition(from_state, to_state, reason)


def may_send(state: OrderState) -> bool:
    """Whether an order in ``state`` may be (re)sent under its key: only PENDING and NOT_SENT.

    PENDING is the first send of a fresh journal entry (in the same process that journaled it;
    after a restart, a PENDING entry is first marked UNKNOWN and reconciled).
    """
    return state in (S.PENDING, S.NOT_SENT)
