"""journal.py: intent records, the idempotency decision, state changes, amend checks."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.journal import (
    IdempotencyOutcome,
    advance,
    check_amendable,
    decide,
    find_entry,
    plan_entries,
    plan_resend,
)
from broker_server.domain.order_identity import derive_order_ref, parameter_hash
from broker_server.domain.order_ids import OrderIdAllocator, OrderIdScope
from broker_server.domain.order_state import IllegalOrderTransition, OrderState
from broker_server.domain.orders import BracketRole
from broker_server.domain.reasons import FailureReason
from tests.trading.helpers import NOW, bracket_order, journal, limit_order

S = OrderState


def test_a_new_order_is_journaled_pending_with_its_reserved_id() -> None:
    (entry,) = journal(limit_order())
    assert entry.state is S.PENDING
    assert entry.order_id == 1 and entry.client_id == 101
    assert entry.order_ref == derive_order_ref("alice", "k1")
    assert entry.role is BracketRole.NONE
    assert entry.remaining_quantity == Decimal(100)
    assert not entry.seen_by_ib


def test_a_bracket_is_three_entries_children_pointing_at_the_parent() -> None:
    parent, take, stop = journal(bracket_order())
    assert [e.role for e in (parent, take, stop)] == [
        BracketRole.PARENT,
        BracketRole.TAKE_PROFIT,
        BracketRole.STOP_LOSS,
    ]
    assert [e.order_id for e in (parent, take, stop)] == [1, 2, 3]
    assert (parent.parent_order_id, take.parent_order_id, stop.parent_order_id) == (0, 1, 1)
    assert len({e.order_ref for e in (parent, take, stop)}) == 3
    assert len({e.param_hash for e in (parent, take, stop)}) == 1


def test_plan_entries_checks_its_reservations() -> None:
    spec = limit_order()
    ids = OrderIdAllocator()
    with pytest.raises(ValueError, match="1 order IDs needed, 2 given"):
        plan_entries(
            owner="a",
            key="k",
            request=spec,
            param_hash="h",
            gateway="paper",
            client_id=101,
            reservations=ids.reserve(OrderIdScope("paper", 101), 2),
            now=NOW,
        )
    with pytest.raises(ValueError, match="reserved on"):
        plan_entries(
            owner="a",
            key="k",
            request=spec,
            param_hash="h",
            gateway="paper",
            client_id=101,
            reservations=ids.reserve(OrderIdScope("paper", 102)),
            now=NOW,
        )


def test_idempotency_decision() -> None:
    spec = limit_order()
    assert decide(parameter_hash(spec), ()).outcome is IdempotencyOutcome.NEW
    stored = journal(spec)
    same = decide(parameter_hash(limit_order(price="150.00")), stored)
    assert same.outcome is IdempotencyOutcome.REPLAY and same.entries == stored
    with pytest.raises(DomainError) as caught:
        decide(parameter_hash(limit_order(price="151")), stored)
    err = caught.value
    assert (err.kind, err.reason) == (
        ErrorKind.INVALID_ARGUMENT,
        FailureReason.IDEMPOTENCY_CONFLICT,
    )
    assert [v.field for v in err.violations] == ["idempotency_key"]


def test_only_a_wholly_not_sent_request_is_resent() -> None:
    entries = journal(bracket_order())
    h = entries[0].param_hash
    not_sent = tuple(advance(e, S.NOT_SENT, "no trace", now=NOW)[0] for e in entries)
    assert decide(h, not_sent).outcome is IdempotencyOutcome.RESEND
    mixed = (not_sent[0], not_sent[1], advance(entries[2], S.UNKNOWN, "drop", now=NOW)[0])
    assert decide(h, mixed).outcome is IdempotencyOutcome.REPLAY


def test_resend_takes_fresh_ids_keeps_the_order_ref() -> None:
    ids = OrderIdAllocator()
    entries = journal(bracket_order(), ids=ids)
    not_sent = [advance(e, S.NOT_SENT, "no trace", now=NOW)[0] for e in entries]
    scope = OrderIdScope("paper", 105)
    ids.observe_next_valid(scope, 40)
    resent = plan_resend(not_sent, client_id=105, reservations=ids.reserve(scope, 3), now=NOW + 5)
    fresh = [e for e, _ in resent]
    assert [e.order_id for e in fresh] == [40, 41, 42]
    assert [e.parent_order_id for e in fresh] == [0, 40, 40]
    assert [e.order_ref for e in fresh] == [e.order_ref for e in entries]
    assert all(e.state is S.PENDING and e.attempts == 2 and e.client_id == 105 for e in fresh)
    assert all(change.to_state is S.PENDING for _, change in resent)
    with pytest.raises(IllegalOrderTransition):
        plan_resend(entries, client_id=105, reservations=ids.reserve(scope, 3), now=NOW)


def test_advance_keeps_figures_monotonic_and_marks_seen() -> None:
    (entry,) = journal(limit_order())
    entry, change = advance(entry, S.SUBMITTED, "sent", now=NOW + 1)
    assert change is not None and not entry.seen_by_ib
    entry, _ = advance(entry, S.ACKNOWLEDGED, "ack", now=NOW + 2, perm_id=77)
    assert entry.seen_by_ib and entry.perm_id == 77
    entry, change = advance(
        entry,
        S.PARTIALLY_FILLED,
        "fill",
        now=NOW + 3,
        filled_quantity=Decimal(60),
        average_fill_price=Decimal("149.9"),
    )
    entry, change = advance(
        entry, S.PARTIALLY_FILLED, "stale", now=NOW + 4, filled_quantity=Decimal(40)
    )
    assert change is None and entry.filled_quantity == Decimal(60)
    assert entry.remaining_quantity == Decimal(40)
    entry, _ = advance(entry, S.UNKNOWN, "drop", now=NOW + 5)
    assert entry.seen_by_ib and entry.perm_id == 77 and entry.updated_at == NOW + 5


def test_find_entry() -> None:
    entries = journal(bracket_order()) + journal(limit_order(), key="k2")
    assert find_entry(entries, "alice", "k1").role is BracketRole.PARENT
    assert find_entry(entries, "alice", "k1", BracketRole.STOP_LOSS).role is BracketRole.STOP_LOSS
    assert find_entry(entries, "alice", "k2").key == "k2"
    for owner, key, role in (
        ("bob", "k1", BracketRole.NONE),
        ("alice", "k2", BracketRole.STOP_LOSS),
    ):
        with pytest.raises(DomainError) as caught:
            find_entry(entries, owner, key, role)
        assert (caught.value.kind, caught.value.reason) == (
            ErrorKind.NOT_FOUND,
            FailureReason.ORDER_NOT_FOUND,
        )


@pytest.mark.parametrize(
    ("state", "client_id", "action", "expected"),
    [
        (S.ACKNOWLEDGED, 101, "modify", None),
        (S.PARTIALLY_FILLED, 101, "cancel", None),
        (
            S.ACKNOWLEDGED,
            102,
            "cancel",
            (ErrorKind.FAILED_PRECONDITION, FailureReason.ORDER_OWNED_BY_OTHER_CLIENT_ID),
        ),
        (S.FILLED, 101, "cancel", (ErrorKind.FAILED_PRECONDITION, FailureReason.ORDER_FINISHED)),
        (S.REJECTED, 101, "modify", (ErrorKind.FAILED_PRECONDITION, FailureReason.ORDER_FINISHED)),
        (S.UNKNOWN, 101, "cancel", (ErrorKind.UNAVAILABLE, FailureReason.OUTCOME_UNKNOWN)),
        (S.SUBMITTED, 101, "modify", (ErrorKind.UNAVAILABLE, FailureReason.OUTCOME_UNKNOWN)),
        (S.NOT_SENT, 101, "modify", (ErrorKind.NOT_FOUND, FailureReason.ORDER_NOT_FOUND)),
        (S.NOT_SENT, 102, "cancel", None),
    ],
)
def test_check_amendable(
    state: OrderState, client_id: int, action: str, expected: tuple | None
) -> None:
    (entry,) = journal(limit_order())
    entry = replace(entry, state=state)
    if expected is None:
        check_amendable(entry, client_id, action)
        return
    with pytest.raises(DomainError) as caught:
        check_amendable(entry, client_id, action)
    assert (caught.value.kind, caught.value.reason) == expected
    if expected[1] is FailureReason.ORDER_OWNED_BY_OTHER_CLIENT_ID:
        assert caught.value.metadata["owning_client_id"] == "101"
    if expected[1] is FailureReason.OUTCOME_UNKNOWN:
        assert caught.value.retry_after is not None and caught.value.retry_after > 0


prices = st.integers(1, 10_000).map(lambda n: f"{n / 100:.2f}")


@given(first=prices, second=prices, zeros=st.booleans())
def test_property_same_request_replays_other_request_conflicts(
    first: str, second: str, zeros: bool
) -> None:
    stored = journal(limit_order(price=first))
    again = limit_order(price=second + ("000" if zeros else ""))
    if Decimal(first) == Decimal(second):
        assert decide(parameter_hash(again), stored).outcome is IdempotencyOutcome.REPLAY
    else:
        with pytest.raises(DomainError):
            decide(parameter_hash(again), stored)
