"""domain/pacing.py: at most N messages in any window, lanes by priority, deadlines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.pacing import Lane, PacingGovernor
from broker_server.domain.reasons import FailureReason


def test_a_burst_of_limit_then_one_window_later() -> None:
    g = PacingGovernor(limit=3, window=1.0)
    for _ in range(3):
        _, admitted = g.submit(Lane.READ, 0.0, 10.0)
        assert admitted
    ticket, admitted = g.submit(Lane.READ, 0.2, 10.0)
    assert not admitted
    assert g.next_wakeup(0.2) == 1.0
    assert g.poll(0.99).admitted == ()
    assert g.poll(1.0).admitted == (ticket,)
    assert repr(g) == "<PacingGovernor 1/3 per 1s, waiting CANCEL=0, ORDER=0, READ=0>"


def test_refused_at_once_when_the_deadline_cannot_be_met() -> None:
    g = PacingGovernor(limit=2, window=1.0)
    g.submit(Lane.ORDER, 0.0, 5.0)
    g.submit(Lane.ORDER, 0.0, 5.0)
    with pytest.raises(DomainError) as caught:
        g.submit(Lane.ORDER, 0.25, 0.5)
    err = caught.value
    assert (err.kind, err.reason) == (ErrorKind.RESOURCE_EXHAUSTED, FailureReason.PACING)
    assert err.retry_after == pytest.approx(0.75)
    assert err.metadata["lane"] == "ORDER"
    assert g.waiting() == 0


def test_cancels_jump_ahead_of_orders_and_reads() -> None:
    g = PacingGovernor(limit=1, window=1.0)
    g.submit(Lane.READ, 0.0, 10.0)  # spends the only token
    read, _ = g.submit(Lane.READ, 0.0, 10.0)
    order, _ = g.submit(Lane.ORDER, 0.1, 10.0)
    cancel, _ = g.submit(Lane.CANCEL, 0.2, 10.0)
    assert g.poll(1.0).admitted == (cancel,)
    assert g.poll(2.0).admitted == (order,)
    assert g.poll(3.0).admitted == (read,)


def test_a_waiter_pushed_past_its_deadline_expires() -> None:
    g = PacingGovernor(limit=1, window=1.0)
    g.submit(Lane.READ, 0.0, 10.0)
    read, _ = g.submit(Lane.READ, 0.0, 1.5)  # planned for t=1.0
    cancel, _ = g.submit(Lane.CANCEL, 0.5, 10.0)  # takes t=1.0 instead
    assert g.poll(1.0).admitted == (cancel,)
    assert g.next_wakeup(1.0) == 1.5
    result = g.poll(1.5)
    assert result.admitted == () and result.expired == (read,)
    assert g.next_wakeup(1.5) is None


def test_a_bracket_costs_three_and_is_not_starved() -> None:
    g = PacingGovernor(limit=3, window=1.0)
    g.submit(Lane.READ, 0.0, 10.0)
    bracket, admitted = g.submit(Lane.ORDER, 0.0, 10.0, cost=3)
    assert not admitted
    read, _ = g.submit(Lane.READ, 0.1, 10.0)
    assert g.poll(0.5).admitted == ()  # two tokens free, the bracket needs three: reads wait
    assert g.poll(1.0).admitted == (bracket,)
    assert g.poll(2.0).admitted == (read,)
    with pytest.raises(ValueError):
        g.submit(Lane.ORDER, 0.0, 10.0, cost=4)


def test_withdrawn_tickets() -> None:
    g = PacingGovernor(limit=1, window=1.0)
    g.submit(Lane.READ, 0.0, 10.0)
    ticket, _ = g.submit(Lane.READ, 0.0, 10.0)
    assert g.cancel(ticket) and not g.cancel(ticket)
    assert g.poll(1.0).admitted == ()


def test_bad_configuration() -> None:
    with pytest.raises(ValueError):
        PacingGovernor(limit=0)
    with pytest.raises(ValueError):
        PacingGovernor(window=0)


steps = st.lists(
    st.tuples(
        st.integers(0, 40),  # clock step in 1/64 s (exact in binary)
        st.sampled_from(list(Lane)),
        st.integers(0, 200),  # time limit in 1/64 s
        st.integers(1, 3),  # cost
        st.integers(0, 3),  # submissions at this instant
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(limit=st.integers(1, 8), window_64ths=st.integers(8, 128), plan=steps)
def test_property_never_more_than_limit_in_any_window(
    limit: int, window_64ths: int, plan: list
) -> None:
    window = window_64ths / 64
    g = PacingGovernor(limit=limit, window=window)
    now = 0.0
    sent: list[float] = []  # one entry per message
    waiting: dict[int, tuple[Lane, float]] = {}
    for step, lane, limit_64ths, cost, count in plan:
        # Drive the governor as the runtime does: poll at every moment it names.
        target = now + step / 64
        while (wake := g.next_wakeup(now)) is not None and wake <= target:
            now = max(now, wake)
            result = g.poll(now)
            for ticket in result.admitted:
                assert ticket.deadline >= now
                sent.extend([now] * ticket.cost)
                waiting.pop(ticket.id)
            for ticket in result.expired:
                assert ticket.deadline <= now
                waiting.pop(ticket.id)
            # Strict priority: nothing of a lower lane went while a higher lane still waits.
            if result.admitted and waiting:
                top = min(lane for lane, _ in waiting.values())
                assert all(t.lane <= top for t in result.admitted)
        now = target
        for _ in range(count):
            if cost > limit:
                continue
            try:
                ticket, admitted = g.submit(lane, now, now + limit_64ths / 64, cost)
            except DomainError as err:
                assert err.reason is FailureReason.PACING and err.retry_after is not None
                continue
            if admitted:
                sent.extend([now] * cost)
            else:
                waiting[ticket.id] = (lane, ticket.deadline)
    sent.sort()
    for i in range(len(sent) - limit):
        # The (i+limit)-th message goes no earlier than one window after the i-th.
        assert sent[i] + window <= sent[i + limit], (sent[i], sent[i + limit])


def test_messages_sent_outside_the_governor_are_charged() -> None:
    g = PacingGovernor(limit=3, window=1.0)
    g.charge(0.0, 2)  # the library's own (a connect's sync, a heartbeat)
    _, admitted = g.submit(Lane.ORDER, 0.1, 10.0)
    assert admitted
    _, admitted = g.submit(Lane.ORDER, 0.2, 10.0)
    assert not admitted  # only 3 in any window, whoever sent them
    assert g.next_wakeup(0.2) == 1.0
    g.charge(5.0, 10)  # capped at the window's worth
    assert g.available(5.0) == 0 and g.available(6.0) == 3
