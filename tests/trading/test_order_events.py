"""order_events.py: snapshots, recovery after an outage (GAP, fills once, changes), visibility."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from broker_server.domain.journal import advance
from broker_server.domain.order_events import (
    OrderEventKind,
    recovery_events,
    snapshot_events,
    transition_event,
    visible,
)
from broker_server.domain.order_state import OrderState
from broker_server.domain.reconcile import IbExecution, IbOpenOrder, reconcile
from tests.trading.helpers import NOW, journal, limit_order

K = OrderEventKind
S = OrderState


def test_snapshot_lists_live_orders_oldest_first_then_end() -> None:
    (a,) = journal(limit_order(), key="a", now=NOW + 2)
    (b,) = journal(limit_order(), key="b", now=NOW + 1)
    (done,) = journal(limit_order(), key="c")
    done = replace(done, state=S.FILLED)
    events = snapshot_events([a, b, done], "paper", NOW + 5)
    assert [(e.kind, e.entry.key if e.entry else None) for e in events] == [
        (K.SNAPSHOT, "b"),
        (K.SNAPSHOT, "a"),
        (K.SNAPSHOT_END, None),
    ]


def test_recovery_gap_then_fills_in_order_then_state_changes() -> None:
    (filled,) = journal(limit_order(), key="f")
    filled, _ = advance(filled, S.SUBMITTED, "sent", now=NOW)
    (working,) = journal(limit_order(), key="w", owner="bob", client_id=102)
    working, _ = advance(working, S.SUBMITTED, "sent", now=NOW)

    def fill(exec_id: str, shares: str, t: float) -> IbExecution:
        return IbExecution(
            exec_id, t, filled.order_ref, 5, 101, filled.order_id, Decimal(shares), Decimal("150")
        )

    result = reconcile(
        [filled, working],
        [IbOpenOrder(working.order_ref, 6, 102, working.order_id, "Submitted")],
        [],
        [fill("e2", "40", NOW + 20), fill("e1", "60", NOW + 10)],
        already_reported=frozenset(),
    )
    updated, events = recovery_events(
        result, gateway="paper", gap_start=NOW + 1, now=NOW + 30, reason="gateway reconnected"
    )
    assert [e.kind for e in events] == [K.GAP, K.FILL, K.FILL, K.STATE_CHANGED, K.STATE_CHANGED]
    gap = events[0]
    assert (gap.gap_start, gap.gap_end, gap.reason) == (NOW + 1, NOW + 30, "gateway reconnected")
    assert [e.fill.exec_id for e in events[1:3] if e.fill] == ["e1", "e2"]
    assert [(e.entry.key, e.previous_state, e.entry.state) for e in events[3:] if e.entry] == [
        ("f", S.SUBMITTED, S.FILLED),
        ("w", S.SUBMITTED, S.ACKNOWLEDGED),
    ]
    assert {e.key for e in updated} == {"f", "w"}
    # Alice sees the gap, her fills and her order; not Bob's.
    seen = [e.kind for e in events if visible(e, "alice", all_owners=False)]
    assert seen == [K.GAP, K.FILL, K.FILL, K.STATE_CHANGED]
    assert len([e for e in events if visible(e, "carol", all_owners=True)]) == 5
    assert not any(visible(e, "alice", all_owners=True, gateway="live") for e in events)


def test_transition_event_checks_its_entry() -> None:
    (entry,) = journal(limit_order())
    moved, change = advance(entry, S.SUBMITTED, "sent", now=NOW)
    assert change is not None
    event = transition_event(moved, change, NOW)
    assert (event.kind, event.previous_state, event.reason) == (K.STATE_CHANGED, S.PENDING, "sent")
    with pytest.raises(ValueError):
        transition_event(entry, change, NOW)
