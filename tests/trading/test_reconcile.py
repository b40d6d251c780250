"""reconcile.py: unknown outcomes resolved from IB's records, fills reported once, in order."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.journal import JournalEntry, advance
from broker_server.domain.order_state import OrderState, can_transition
from broker_server.domain.reconcile import (
    IbCompletedOrder,
    IbExecution,
    IbOpenOrder,
    apply_decision,
    reconcile,
)
from tests.trading.helpers import NOW, journal, limit_order

S = OrderState


def unknown_entry(key: str = "k1", **changes: object) -> JournalEntry:
    (entry,) = journal(limit_order(), key=key)
    entry, _ = advance(entry, S.SUBMITTED, "sent", now=NOW)
    entry, _ = advance(entry, S.UNKNOWN, "socket dropped after send", now=NOW)
    return replace(entry, **changes)  # type: ignore[arg-type]


def open_order(entry: JournalEntry, status: str = "Submitted", filled: str = "0") -> IbOpenOrder:
    return IbOpenOrder(
        entry.order_ref,
        9000 + entry.order_id,
        entry.client_id,
        entry.order_id,
        status,
        Decimal(filled),
    )


def execution(
    entry: JournalEntry, exec_id: str, shares: str, price: str, time: float
) -> IbExecution:
    return IbExecution(
        exec_id,
        time,
        entry.order_ref,
        9000 + entry.order_id,
        entry.client_id,
        entry.order_id,
        Decimal(shares),
        Decimal(price),
    )


def test_no_trace_and_never_seen_is_not_sent() -> None:
    entry = unknown_entry()
    (decision,) = reconcile([entry], [], [], []).decisions
    assert decision.state is S.NOT_SENT and decision.evidence == "no trace" and decision.changed


def test_pending_after_a_crash_is_matched_too() -> None:
    (pending,) = journal(limit_order())
    (decision,) = reconcile([pending], [open_order(pending)], [], []).decisions
    assert decision.state is S.ACKNOWLEDGED and decision.perm_id == 9001


def test_something_ib_has_seen_is_never_not_sent() -> None:
    entry = unknown_entry(seen_by_ib=True)
    (decision,) = reconcile([entry], [], [], []).decisions
    assert decision.state is S.UNKNOWN and not decision.changed
    entry = unknown_entry(perm_id=5)
    assert reconcile([entry], [], [], []).decisions[0].state is S.UNKNOWN


def test_open_orders() -> None:
    entry = unknown_entry()
    cases = [
        (open_order(entry), S.ACKNOWLEDGED),
        (open_order(entry, "PreSubmitted"), S.ACKNOWLEDGED),
        (open_order(entry, "Submitted", "40"), S.PARTIALLY_FILLED),
        (open_order(entry, "PendingCancel"), S.PENDING_CANCEL),
        (open_order(entry, "Submitted", "100"), S.FILLED),
    ]
    for ib, state in cases:
        (decision,) = reconcile([entry], [ib], [], []).decisions
        assert (decision.state, decision.evidence) == (state, "open order"), ib


def test_completed_orders_outrank_open_ones() -> None:
    entry = unknown_entry()
    done = IbCompletedOrder(
        entry.order_ref, 9001, 101, 1, "Cancelled", Decimal(30), Decimal("150"), "by user"
    )
    (decision,) = reconcile([entry], [open_order(entry)], [done], []).decisions
    assert (decision.state, decision.filled_quantity, decision.message) == (
        S.CANCELLED,
        Decimal(30),
        "by user",
    )
    rejected = replace(done, status="Inactive", filled=Decimal(0), reason="201: margin")
    assert reconcile([entry], [], [rejected], []).decisions[0].state is S.REJECTED
    odd = replace(done, status="Whatever", filled=Decimal(100))
    assert reconcile([entry], [], [odd], []).decisions[0].state is S.FILLED


def test_executions_alone() -> None:
    entry = unknown_entry()
    full = [
        execution(entry, "e1", "60", "150", NOW + 1),
        execution(entry, "e2", "40", "151", NOW + 2),
    ]
    (decision,) = reconcile([entry], [], [], full).decisions
    assert (decision.state, decision.evidence) == (S.FILLED, "executions")
    assert decision.average_fill_price == Decimal("150.4")
    (decision,) = reconcile([entry], [], [], full[:1]).decisions
    assert decision.state is S.UNKNOWN and "neither open nor completed" in decision.message


def test_matching_by_perm_id_when_the_ref_is_missing() -> None:
    entry = unknown_entry(perm_id=4242)
    ib = IbOpenOrder("", 4242, 101, 1, "Submitted")
    assert reconcile([entry], [ib], [], []).decisions[0].state is S.ACKNOWLEDGED


def test_conflicting_report_keeps_the_state() -> None:
    (entry,) = journal(limit_order())
    entry = replace(entry, state=S.PENDING_CANCEL, seen_by_ib=True)
    done = IbCompletedOrder(entry.order_ref, 9001, 101, 1, "Inactive")
    (decision,) = reconcile([entry], [], [done], []).decisions
    assert decision.state is S.PENDING_CANCEL and "conflicting" in decision.evidence


def test_fills_reported_once_in_time_order() -> None:
    a = unknown_entry("a")
    b = unknown_entry("b")
    stranger = replace(unknown_entry("c"), order_ref="manual-order")
    fills = [
        execution(b, "b2", "10", "1", NOW + 5),
        execution(a, "a1", "10", "1", NOW + 3),
        execution(a, "a1", "10", "1", NOW + 3),  # repeated by IB
        execution(b, "b1", "10", "1", NOW + 4),
        execution(stranger, "x1", "10", "1", NOW + 1),  # not one of the entries
    ]
    result = reconcile([a, b], [], [], fills, already_reported={"b1"})
    assert [f.exec_id for f in result.new_fills] == ["a1", "b2"]


def test_terminal_entries_pass_through() -> None:
    (entry,) = journal(limit_order())
    done = replace(entry, state=S.FILLED, filled_quantity=Decimal(100))
    (decision,) = reconcile([done], [open_order(done, "Cancelled")], [], []).decisions
    assert decision.state is S.FILLED and not decision.changed


# -- properties ------------------------------------------------------------------------------

statuses = st.sampled_from(
    [
        "PendingSubmit",
        "PreSubmitted",
        "Submitted",
        "PendingCancel",
        "Filled",
        "Cancelled",
        "Inactive",
    ]
)
start_states = st.sampled_from(
    [S.PENDING, S.SUBMITTED, S.UNKNOWN, S.ACKNOWLEDGED, S.PARTIALLY_FILLED]
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple:
    entries = []
    opens, dones, execs = [], [], []
    for i in range(draw(st.integers(1, 5))):
        state = draw(start_states)
        entry = unknown_entry(f"k{i}", order_id=i + 1)
        seen = state in (S.ACKNOWLEDGED, S.PARTIALLY_FILLED) or draw(st.booleans())
        entry = replace(entry, state=state, seen_by_ib=seen)
        entries.append(entry)
        where = draw(st.sampled_from(["none", "open", "done", "execs"]))
        if where == "open":
            opens.append(open_order(entry, draw(statuses), str(draw(st.integers(0, 100)))))
        elif where == "done":
            dones.append(
                IbCompletedOrder(
                    entry.order_ref,
                    9000 + entry.order_id,
                    101,
                    entry.order_id,
                    draw(statuses),
                    Decimal(draw(st.integers(0, 100))),
                )
            )
        for j in range(draw(st.integers(0, 3)) if where != "none" else 0):
            execs.append(execution(entry, f"{i}-{j}", "10", "1.5", NOW + draw(st.integers(0, 50))))
    reported = frozenset(e.exec_id for e in execs if draw(st.booleans()))
    return entries, opens, dones, draw(st.permutations(execs)), reported


@settings(max_examples=200, deadline=None)  # generous scenarios; no per-example deadline under load
@given(scenarios())
def test_property_never_resend_what_ib_has_seen(scenario: tuple) -> None:
    entries, opens, dones, execs, reported = scenario
    result = reconcile(entries, opens, dones, execs, reported)
    traced = (
        {o.order_ref for o in opens} | {o.order_ref for o in dones} | {e.order_ref for e in execs}
    )
    for decision in result.decisions:
        entry = decision.entry
        if decision.state is S.NOT_SENT:
            assert entry.order_ref not in traced
            assert not entry.seen_by_ib and not entry.perm_id
        assert decision.state is entry.state or can_transition(entry.state, decision.state)
        assert decision.filled_quantity >= entry.filled_quantity


@settings(max_examples=200, deadline=None)  # generous scenarios; no per-example deadline under load
@given(scenarios())
def test_property_fills_once_in_order_and_idempotent(scenario: tuple) -> None:
    entries, opens, dones, execs, reported = scenario
    result = reconcile(entries, opens, dones, execs, reported)
    ids = [f.exec_id for f in result.new_fills]
    assert len(ids) == len(set(ids))
    assert not set(ids) & reported
    assert [(f.time, f.exec_id) for f in result.new_fills] == sorted(
        (f.time, f.exec_id) for f in result.new_fills
    )
    assert set(ids) == {e.exec_id for e in execs} - reported
    # Applying the decisions and reconciling again with the same records changes nothing and
    # reports no fill twice.
    applied = [apply_decision(d, NOW + 60)[0] for d in result.decisions]
    again = reconcile(applied, opens, dones, execs, reported | set(ids))
    assert again.new_fills == ()
    assert [d.state for d in again.decisions] == [d.state for d in result.decisions]
