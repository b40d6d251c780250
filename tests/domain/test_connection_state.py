import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.clock import ManualClock
from broker_server.domain.connection_state import (
    TRANSITIONS,
    ConnectionState,
    IllegalTransition,
    StateMachine,
    is_allowed,
)

S = ConnectionState


def test_the_table_is_what_the_design_says() -> None:
    expected = {
        (S.DISCONNECTED, S.CONNECTING),
        (S.CONNECTING, S.CONNECTED),
        (S.CONNECTING, S.RECONNECTING),
        (S.CONNECTING, S.ERROR),
        (S.CONNECTING, S.DISCONNECTED),
        (S.CONNECTED, S.RECONNECTING),
        (S.CONNECTED, S.DISCONNECTED),
        (S.CONNECTED, S.ERROR),
        (S.RECONNECTING, S.CONNECTED),
        (S.RECONNECTING, S.ERROR),
        (S.RECONNECTING, S.DISCONNECTED),
        (S.ERROR, S.CONNECTING),
        (S.ERROR, S.DISCONNECTED),
    }
    assert expected == TRANSITIONS


def test_no_self_transitions() -> None:
    # A failed attempt while RECONNECTING is counted, not a transition.
    assert all(not is_allowed(s, s) for s in S)


def test_transition_records_time_reason_and_attempt() -> None:
    clock = ManualClock(monotonic=5.0, wall=100.0)
    machine = StateMachine(clock)
    machine.transition(S.CONNECTING, "start")
    clock.advance(1.0)
    change = machine.transition(S.RECONNECTING, "refused", attempt=1)
    assert change.from_state is S.CONNECTING
    assert change.to_state is S.RECONNECTING
    assert (change.reason, change.attempt, change.at, change.wall_time) == (
        "refused",
        1,
        6.0,
        101.0,
    )
    assert machine.state is S.RECONNECTING
    assert machine.last == change
    assert repr(machine) == "<StateMachine [RECONNECTING, reason='refused']>"


def test_illegal_transition_raises_and_keeps_state() -> None:
    machine = StateMachine(ManualClock())
    with pytest.raises(IllegalTransition) as info:
        machine.transition(S.CONNECTED, "skipping connect")
    assert info.value.from_state is S.DISCONNECTED
    assert info.value.to_state is S.CONNECTED
    assert machine.state is S.DISCONNECTED
    assert machine.last is None


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from(list(S)), max_size=40))
def test_random_sequences_follow_the_table(targets: list[ConnectionState]) -> None:
    clock = ManualClock()
    machine = StateMachine(clock)
    for attempt, target in enumerate(targets):
        before = machine.state
        clock.advance(0.1)
        if (before, target) in TRANSITIONS:
            assert machine.can(target)
            change = machine.transition(target, "test", attempt)
            assert (change.from_state, change.to_state) in TRANSITIONS
            assert machine.state is target
        else:
            assert not machine.can(target)
            with pytest.raises(IllegalTransition):
                machine.transition(target, "test", attempt)
            assert machine.state is before


def test_every_state_is_reachable_and_can_leave() -> None:
    sources = {a for a, _ in TRANSITIONS}
    targets = {b for _, b in TRANSITIONS}
    assert sources == set(S)
    assert targets == set(S)
