import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.domain.backoff import BackoffPolicy


def test_defaults_follow_the_design() -> None:
    policy = BackoffPolicy()
    assert (policy.initial, policy.factor, policy.cap, policy.max_retries) == (0.5, 2.0, 30.0, 0)
    assert [policy.ceiling(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_huge_attempts_stay_at_the_cap() -> None:
    assert BackoffPolicy().ceiling(100_000) == 30.0
    assert 0 <= BackoffPolicy().delay(100_000, random.Random(1)) <= 30.0


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        BackoffPolicy().delay(0, random.Random(1))


@pytest.mark.parametrize(
    "kwargs", [{"initial": -1}, {"cap": -1}, {"factor": 0.5}, {"max_retries": -1}]
)
def test_invalid_policies(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]


def test_seeded_rng_is_reproducible() -> None:
    policy = BackoffPolicy()
    first = [policy.delay(n, random.Random(7)) for n in range(1, 6)]
    again = [policy.delay(n, random.Random(7)) for n in range(1, 6)]
    assert first == again


@settings(deadline=None, max_examples=300)
@given(
    initial=st.floats(0.0, 10.0),
    factor=st.floats(1.0, 4.0),
    cap=st.floats(0.0, 100.0),
    attempt=st.integers(1, 2000),
    seed=st.integers(0, 2**32 - 1),
)
def test_delay_is_within_full_jitter_bounds(
    initial: float, factor: float, cap: float, attempt: int, seed: int
) -> None:
    policy = BackoffPolicy(initial=initial, factor=factor, cap=cap)
    delay = policy.delay(attempt, random.Random(seed))
    try:
        ceiling = min(cap, initial * factor ** (attempt - 1))
    except OverflowError:
        ceiling = cap
    assert 0.0 <= delay <= ceiling


@settings(deadline=None, max_examples=200)
@given(max_retries=st.integers(1, 50), attempt=st.integers(0, 100))
def test_exhausted_exactly_at_max_retries(max_retries: int, attempt: int) -> None:
    policy = BackoffPolicy(max_retries=max_retries)
    assert policy.exhausted(attempt) == (attempt >= max_retries)


@settings(deadline=None, max_examples=100)
@given(attempt=st.integers(0, 10**9))
def test_zero_max_retries_never_exhausts(attempt: int) -> None:
    assert not BackoffPolicy(max_retries=0).exhausted(attempt)


def test_client_id_rotation_tries_each_reserved_id_once_per_round() -> None:
    from broker_server.domain.pool import ClientIdRotation

    ids = ClientIdRotation([99, 98, 99, 97])
    assert ids.candidates == (99, 98, 97) and ids.primary == 99
    assert ids.after_clash(99) == 98
    assert ids.after_clash(98) == 97
    assert ids.after_clash(97) is None  # every ID refused: the round starts over
    assert ids.after_clash(99) == 98
    ids.reset()
    assert ids.after_clash(98) == 99
