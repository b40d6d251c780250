"""order_state.py: the transition table and its rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker_server.domain.order_state import (
    TERMINAL,
    TRANSITIONS,
    IllegalOrderTransition,
    OrderState,
    may_send,
    transition,
)

S = OrderState


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(OrderState)


def test_terminal_states_have_no_way_out() -> None:
    for state in TERMINAL:
        assert TRANSITIONS[state] == frozenset()
        assert state.terminal


def test_only_not_sent_leads_back_to_pending() -> None:
    assert [s for s, targets in TRANSITIONS.items() if S.PENDING in targets] == [S.NOT_SENT]
    assert may_send(S.NOT_SENT) and may_send(S.PENDING)
    assert not any(may_send(s) for s in OrderState if s not in (S.NOT_SENT, S.PENDING))


def test_not_sent_is_only_reached_from_states_ib_may_never_have_seen() -> None:
    sources = {s for s, targets in TRANSITIONS.items() if S.NOT_SENT in targets}
    assert sources == {S.PENDING, S.SUBMITTED, S.UNKNOWN}


def test_typed_transition() -> None:
    change = transition(S.SUBMITTED, S.ACKNOWLEDGED, "ack")
    assert change is not None
    assert (change.from_state, change.to_state, change.reason) == (
        S.SUBMITTED,
        S.ACKNOWLEDGED,
        "ack",
    )
    assert transition(S.ACKNOWLEDGED, S.ACKNOWLEDGED, "again") is None
    with pytest.raises(IllegalOrderTransition, match="FILLED -> ACKNOWLEDGED"):
        transition(S.FILLED, S.ACKNOWLEDGED, "late status")
    with pytest.raises(IllegalOrderTransition):
        transition(S.ACKNOWLEDGED, S.NOT_SENT, "IB had it")


@given(st.lists(st.sampled_from(list(OrderState)), max_size=30))
def test_random_walks_respect_the_table(targets: list[OrderState]) -> None:
    """Along any path of legal moves nothing leaves a terminal state, and NOT_SENT is entered
    only from a state in which the broker could not tell whether IB has the order (whether IB
    ever saw it is tracked on the journal entry; see test_journal/test_reconcile)."""
    state = S.PENDING
    for target in targets:
        try:
            change = transition(state, target, "walk")
        except IllegalOrderTransition:
            assert target not in TRANSITIONS[state]
            continue
        if change is None:
            continue
        assert not state.terminal
        if target is S.NOT_SENT:
            assert state.needs_reconcile
        state = target
