"""The line registry: one line per key, reference counted, linger, budget (unit + property)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.md_lines import DataType, LineKey, LineRegistry
from broker_server.domain.reasons import FailureReason

K1 = LineKey("paper", 1)
K2 = LineKey("paper", 2)


def test_one_line_for_many_subscribers_and_linger_before_cancel() -> None:
    reg = LineRegistry(budget=2, linger=5)
    assert reg.join(K1, 1, "a", 0, 100).opened
    assert not reg.join(K1, 2, "b", 0, 100).opened
    assert reg.in_use("paper") == 1
    assert not reg.leave(K1, 1, 1, 101)
    assert reg.leave(K1, 2, 2, 102)
    line = reg.get(K1)
    assert line is not None and line.linger_until == 7 and line.linger_until_wall == 107
    assert reg.expire(6.9) == []
    # A resubscriber within the linger revives the line without touching IB.
    assert not reg.join(K1, 3, "c", 6, 106).opened
    assert reg.get(K1).linger_until is None  # type: ignore[union-attr]
    assert reg.leave(K1, 3, 7, 107)
    assert reg.next_expiry() == 12
    assert reg.expire(12) == [K1]
    assert len(reg) == 0 and reg.in_use("paper") == 0


def test_budget_refuses_before_ib_and_gives_up_a_lingering_line_first() -> None:
    reg = LineRegistry(budget=2, linger=5)
    reg.join(K1, 1, "a", 0, 0)
    reg.join(K2, 2, "a", 0, 0)
    k3 = LineKey("paper", 3)
    with pytest.raises(DomainError) as err:
        reg.join(k3, 3, "a", 0, 0)
    assert err.value.kind is ErrorKind.RESOURCE_EXHAUSTED
    assert err.value.reason is FailureReason.MARKET_DATA_LINES_EXHAUSTED
    assert err.value.metadata["budget"] == "2"
    # Another type of the same instrument is another line.
    with pytest.raises(DomainError):
        reg.join(LineKey("paper", 1, DataType.DELAYED), 3, "a", 0, 0)
    # Another gateway has its own budget.
    assert reg.join(LineKey("live", 3), 3, "a", 0, 0).opened
    reg.leave(K2, 2, 1, 1)
    joined = reg.join(k3, 4, "a", 2, 2)
    assert joined.opened and joined.evicted == K2
    assert reg.in_use("paper") == 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["join", "leave", "tick"]), st.integers(0, 4), st.integers(0, 6)),
        max_size=80,
    )
)
def test_property_lines_never_exceed_budget_and_match_subscribers(
    ops: list[tuple[str, int, int]],
) -> None:
    """Whatever the sequence: at most ``budget`` lines per gateway; a line with subscribers
    never lingers; a line without any always lingers; counts agree with the lines held."""
    reg = LineRegistry(budget=3, linger=2)
    now = 0.0
    members: dict[int, LineKey] = {}
    for op, inst, sub in ops:
        key = LineKey("g", inst)
        if op == "join" and sub not in members:
            try:
                reg.join(key, sub, "o", now, now)
                members[sub] = key
            except DomainError as err:
                assert err.reason is FailureReason.MARKET_DATA_LINES_EXHAUSTED
                assert reg.in_use("g") == 3
                assert all(ln.linger_until is None for ln in reg.lines())
        elif op == "leave" and sub in members:
            reg.leave(members.pop(sub), sub, now, now)
        else:
            now += 1.0
            reg.expire(now)
        assert reg.in_use("g") == len(reg.lines("g")) <= 3
        for ln in reg.lines():
            assert (ln.linger_until is None) == bool(ln.subscribers)
            assert all(members[s] == ln.key for s in ln.subscribers)
        assert reg.subscribers() == len(members)
