import pytest

from broker_server.domain.clock import Clock, ManualClock, SystemClock


def test_manual_clock_advances_both_readings() -> None:
    clock = ManualClock(monotonic=10.0, wall=1000.0)
    clock.advance(2.5)
    assert clock.monotonic() == 12.5
    assert clock.wall() == 1002.5


def test_manual_clock_refuses_to_go_back() -> None:
    clock = ManualClock(monotonic=10.0)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(monotonic=9.0)
    clock.set(wall=5.0)  # the wall clock may be set backwards, like the real one
    assert clock.wall() == 5.0


def test_system_clock_is_a_clock() -> None:
    clock: Clock = SystemClock()
    first = clock.monotonic()
    assert clock.monotonic() >= first
    assert clock.wall() > 1_600_000_000
