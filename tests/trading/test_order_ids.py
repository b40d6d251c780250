"""order_ids.py: IDs never go backwards, per (gateway, client ID), across restarts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.order_ids import (
    MAX_ORDER_ID,
    OrderIdAllocator,
    OrderIdScope,
    next_order_id,
)
from broker_server.domain.reasons import FailureReason

A = OrderIdScope("paper", 101)
B = OrderIdScope("paper", 102)


def test_next_is_the_max_of_next_valid_and_high_water() -> None:
    assert next_order_id(10, 0) == 10
    assert next_order_id(10, 20) == 21
    assert next_order_id(0, 0) == 1


def test_reserve_per_scope() -> None:
    ids = OrderIdAllocator()
    ids.observe_next_valid(A, 5)
    assert [r.order_id for r in ids.reserve(A)] == [5]
    assert [r.order_id for r in ids.reserve(A, 3)] == [6, 7, 8]
    assert ids.high_water(A) == 8
    ids.observe_next_valid(B, 1)
    assert ids.reserve(B)[0].order_id == 1
    assert repr(ids) == "<OrderIdAllocator paper/101=8, paper/102=1>"


def test_a_reset_sequence_in_tws_does_not_reuse_ids() -> None:
    # The broker restarts with its stored high-water; TWS's sequence was reset to 1.
    ids = OrderIdAllocator({A: 500})
    ids.observe_next_valid(A, 1)
    assert ids.reserve(A)[0].order_id == 501
    ids.observe_used(A, 900)  # an order seen at IB
    assert ids.reserve(A)[0].order_id == 901
    ids.load([(A, 100)])  # a stale mark never lowers
    assert ids.peek(A) == 902


def test_exhausted() -> None:
    ids = OrderIdAllocator({A: MAX_ORDER_ID - 1})
    with pytest.raises(DomainError) as caught:
        ids.reserve(A, 2)
    assert caught.value.kind is ErrorKind.RESOURCE_EXHAUSTED
    assert caught.value.reason is FailureReason.ORDER_IDS_EXHAUSTED
    assert ids.high_water(A) == MAX_ORDER_ID - 1
    assert ids.reserve(A)[0].order_id == MAX_ORDER_ID
    with pytest.raises(ValueError):
        ids.reserve(A, 0)


ops = st.lists(
    st.tuples(
        st.sampled_from(["valid", "used", "reserve", "restart"]),
        st.sampled_from([A, B]),
        st.integers(0, 10_000),
    ),
    max_size=60,
)


@given(ops)
def test_property_ids_strictly_increase_per_scope_across_restarts(steps: list) -> None:
    ids = OrderIdAllocator()
    stored: dict[OrderIdScope, int] = {}
    issued: dict[OrderIdScope, list[int]] = {A: [], B: []}
    seen: dict[OrderIdScope, int] = {A: 0, B: 0}
    for op, scope, n in steps:
        if op == "valid":
            ids.observe_next_valid(scope, n)
        elif op == "used":
            ids.observe_used(scope, n)
            seen[scope] = max(seen[scope], n)
        elif op == "reserve":
            for r in ids.reserve(scope, 1 + n % 3):
                # Above every ID seen used at IB since the broker (re)started.
                assert r.order_id > seen[scope]
                issued[scope].append(r.order_id)
            stored[scope] = ids.high_water(scope)  # persisted with the journal entry
        else:  # the broker restarts: only the store survives
            ids = OrderIdAllocator()
            ids.load(stored.items())
            seen = {A: 0, B: 0}
    for scope, got in issued.items():
        assert got == sorted(set(got)), f"{scope}: IDs went backwards or repeated"
        assert all(i > 0 for i in got)
    for scope in (A, B):
        if issued[scope]:
            assert ids.peek(scope) > issued[scope][-1]
