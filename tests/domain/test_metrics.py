import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.clock import ManualClock
from broker_server.domain.metrics import RateCounter, RttWindow


def test_empty_window() -> None:
    window = RttWindow()
    assert (window.last, window.p50, window.p99, len(window)) == (None, None, None, 0)


def test_percentiles_nearest_rank() -> None:
    window = RttWindow(size=100)
    for ms in range(1, 101):
        window.add(ms / 1000)
    assert window.last == 0.1
    assert window.p50 == 0.05
    assert window.p99 == 0.099
    assert window.percentile(100) == 0.1


def test_window_is_bounded() -> None:
    window = RttWindow(size=3)
    for rtt in (9.0, 9.0, 9.0, 0.1, 0.2, 0.3):
        window.add(rtt)
    assert len(window) == 3
    assert window.p99 == 0.3
    window.clear()
    assert window.last is None


def test_rejects_bad_samples() -> None:
    with pytest.raises(ValueError):
        RttWindow().add(-0.1)
    with pytest.raises(ValueError):
        RttWindow(size=0)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=50), st.integers(1, 20))
def test_percentiles_are_samples_in_order(samples: list[float], size: int) -> None:
    window = RttWindow(size=size)
    for rtt in samples:
        window.add(rtt)
    kept = samples[-size:]
    assert window.last == samples[-1]
    assert window.p50 in kept
    assert window.p99 in kept
    p50, p99 = window.p50, window.p99
    assert p50 is not None and p99 is not None
    assert min(kept) <= p50 <= p99 <= max(kept)


def test_rate_over_the_window() -> None:
    clock = ManualClock(monotonic=100.0)
    counter = RateCounter(clock, window=10.0)
    assert counter.rate() == 0.0
    for _ in range(20):
        counter.mark(5)
        clock.advance(1.0)
    # 5 per second, steady.
    assert counter.rate() == pytest.approx(5.0, rel=0.11)
    assert counter.total == 100
    clock.advance(30.0)
    assert counter.rate() == 0.0
    assert counter.total == 100


def test_young_counter_divides_by_its_age() -> None:
    clock = ManualClock()
    counter = RateCounter(clock, window=10.0)
    counter.mark(10)
    clock.advance(0.5)
    assert counter.rate() == 10.0  # at least one second of age
    clock.advance(1.5)
    assert counter.rate() == 5.0


@settings(deadline=None, max_examples=100)
@given(st.lists(st.tuples(st.floats(0.0, 3.0), st.integers(0, 100)), max_size=60))
def test_rate_never_counts_beyond_the_window(steps: list[tuple[float, int]]) -> None:
    clock = ManualClock()
    counter = RateCounter(clock, window=5.0)
    history: list[tuple[float, int]] = []
    for delay, count in steps:
        clock.advance(delay)
        counter.mark(count)
        history.append((clock.monotonic(), count))
    now = clock.monotonic()
    recent = sum(c for t, c in history if t > now - 6.0)
    assert 0.0 <= counter.rate() * min(5.0, max(1.0, now)) <= recent + 1e-9
    assert counter.total == sum(c for _, c in history)
