"""IB's historical pacing rules, decided before IB sees a request (unit + property)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.hist_pacing import HistoricalPacer, HistPacingRules, HistRequest
from broker_server.domain.reasons import FailureReason

RULES = HistPacingRules(margin=0.0)


def req(con_id: int = 1, end: str = "", bar: int = 60, what: str = "TRADES") -> HistRequest:
    return HistRequest(con_id, "SMART", what, bar, "1 D", end, True)


def test_identical_request_waits_15_s_or_is_refused_with_retry_after() -> None:
    pacer = HistoricalPacer(RULES)
    assert pacer.admit(req(), 0, 0) == 0
    with pytest.raises(DomainError) as err:
        pacer.admit(req(), 1, 5)
    assert err.value.kind is ErrorKind.RESOURCE_EXHAUSTED
    assert err.value.reason is FailureReason.PACING
    assert err.value.retry_after == pytest.approx(14)
    assert len(pacer) == 1  # a refusal reserves nothing
    assert pacer.admit(req(), 1, 20) == 15  # queued within the deadline
    assert pacer.admit(req(end="x"), 1, 1) == 1  # not identical


def test_seventh_request_for_one_contract_within_2_s_waits() -> None:
    pacer = HistoricalPacer(RULES)
    for i in range(6):
        assert pacer.admit(req(end=str(i)), 0.1 * i, 0.1 * i) == pytest.approx(0.1 * i)
    assert pacer.admit(req(end="7"), 0.6, 10) == pytest.approx(2.0)
    assert pacer.admit(req(con_id=2), 0.6, 0.6) == 0.6  # another contract is free


def test_sixty_first_small_bar_request_in_10_minutes_waits() -> None:
    pacer = HistoricalPacer(RULES)
    for i in range(60):
        pacer.admit(req(con_id=i, bar=5), 3.0 * i, 3.0 * i)
    assert pacer.admit(req(con_id=99, bar=60), 180, 180) == 180  # big bars are not limited
    with pytest.raises(DomainError) as err:
        pacer.admit(req(con_id=99, bar=30), 180, 181)
    assert err.value.retry_after == pytest.approx(420)


def test_released_reservation_frees_its_slot() -> None:
    pacer = HistoricalPacer(RULES)
    when = pacer.admit(req(), 0, 0)
    pacer.release(req(), when)
    assert pacer.admit(req(), 1, 1) == 1


reqs = st.builds(
    HistRequest,
    st.integers(1, 3),
    st.just("SMART"),
    st.sampled_from(["TRADES", "MIDPOINT"]),
    st.sampled_from([1, 30, 60]),
    st.just("1 D"),
    st.sampled_from(["", "a", "b"]),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(reqs, st.floats(0, 3), st.floats(0, 30)), max_size=40))
def test_property_admitted_schedule_never_breaks_a_rule(
    calls: list[tuple[HistRequest, float, float]],
) -> None:
    """Whatever arrives, the admitted send times satisfy all three rules (checked from the
    schedule itself, independently of the pacer), and each is within its caller's deadline."""
    rules = HistPacingRules(small_bar_window=20, small_bar_limit=5, margin=0.0)
    pacer = HistoricalPacer(rules)
    now = 0.0
    sent: list[tuple[float, HistRequest]] = []
    for r, step, wait in calls:
        now += step
        try:
            when = pacer.admit(r, now, now + wait)
        except DomainError as err:
            assert err.retry_after is not None and err.retry_after > wait
            continue
        assert now <= when <= now + wait
        sent.append((when, r))
    eps = 1e-6  # the pacer honours windows up to float rounding (_EPS); margin covers it live
    for i, (t, r) in enumerate(sent):
        for j, (u, other) in enumerate(sent):
            if i != j and other == r:
                assert abs(t - u) >= rules.identical_window - eps
        same = sorted(u for u, o in sent if o.burst_key == r.burst_key)
        for k in range(len(same) - rules.burst_limit):
            assert same[k + rules.burst_limit] - same[k] >= rules.burst_window - eps
        small = sorted(u for u, o in sent if o.small)
        for k in range(len(small) - rules.small_bar_limit):
            assert small[k + rules.small_bar_limit] - small[k] >= rules.small_bar_window - eps


@pytest.mark.parametrize("start", [0.1, 1234.567, 98765.4321, 1795695574.434895])
def test_a_window_edge_is_not_lost_to_float_rounding(start: float) -> None:
    """``(at + window) - at`` can round below ``window``: the identical request must still go at
    the end of its own window, not at the next, much later candidate (the small-bar window)."""
    rules = HistPacingRules(identical_window=1.5, burst_window=0.2, small_bar_window=60.0)
    pacer = HistoricalPacer(rules)
    assert pacer.admit(req(), start, start) == start
    when = pacer.admit(req(), start + 0.01, start + 5)
    assert when == pytest.approx(start + rules.identical_window + rules.margin)
