import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from broker_server.domain.breaker import BreakerChange, BreakerPolicy, BreakerState, CircuitBreaker
from broker_server.domain.clock import ManualClock
from broker_server.domain.errors import DomainError, ErrorKind

B = BreakerState


def make(
    policy: BreakerPolicy | None = None, seed: int = 1
) -> tuple[CircuitBreaker, ManualClock, list[BreakerChange]]:
    clock = ManualClock()
    changes: list[BreakerChange] = []
    breaker = CircuitBreaker(policy or BreakerPolicy(), clock, random.Random(seed), changes.append)
    return breaker, clock, changes


def test_closed_until_the_threshold() -> None:
    breaker, _, changes = make()
    for _ in range(4):
        assert breaker.record_failure() is None
        assert breaker.allow()
    assert repr(breaker) == "<CircuitBreaker [CLOSED, failures=4/5]>"
    change = breaker.record_failure("refused")
    assert change is not None
    assert (change.from_state, change.to_state) == (B.CLOSED, B.OPEN)
    assert change.reason == "5 consecutive failures: refused"
    assert 5.0 <= change.open_for <= 5.5
    assert changes == [change]
    assert not breaker.allow()
    assert breaker.state is B.OPEN


def test_a_success_resets_the_count() -> None:
    breaker, _, _ = make()
    for _ in range(4):
        breaker.record_failure()
    assert breaker.record_success() is None
    assert breaker.consecutive_failures == 0
    for _ in range(4):
        breaker.record_failure()
    assert breaker.state is B.CLOSED


def test_half_open_admits_exactly_one_trial() -> None:
    breaker, clock, changes = make(BreakerPolicy(failure_threshold=1, jitter=0.0))
    breaker.record_failure()
    assert breaker.retry_after() == 5.0
    clock.advance(4.999)
    assert not breaker.allow()
    clock.advance(0.001)
    # Reading the state shows HALF_OPEN but does not take the trial.
    assert breaker.state is B.HALF_OPEN
    assert breaker.state is B.HALF_OPEN
    assert breaker.retry_after() == 0.0
    assert repr(breaker) == "<CircuitBreaker [HALF_OPEN, trial available, interval=5s]>"
    assert breaker.allow()
    assert not breaker.allow()
    assert not breaker.allow()
    assert breaker.retry_after() == breaker.policy.trial_retry_after
    assert repr(breaker) == "<CircuitBreaker [HALF_OPEN, trial in flight, interval=5s]>"
    assert [(c.from_state, c.to_state) for c in changes] == [
        (B.CLOSED, B.OPEN),
        (B.OPEN, B.HALF_OPEN),
    ]


def test_failed_trial_doubles_the_interval_up_to_the_max() -> None:
    breaker, clock, _ = make(BreakerPolicy(failure_threshold=1, jitter=0.0))
    breaker.record_failure()
    seen = []
    for _ in range(6):
        clock.advance(breaker.retry_after())
        assert breaker.allow()
        change = breaker.record_failure("still down")
        assert change is not None
        assert change.reason == "trial failed: still down"
        seen.append(change.open_for)
    assert seen == [10.0, 20.0, 40.0, 60.0, 60.0, 60.0]
    assert repr(breaker) == "<CircuitBreaker [OPEN, retry_in=60.000s, interval=60s]>"


def test_successful_trial_closes_and_resets_the_interval() -> None:
    breaker, clock, _ = make(BreakerPolicy(failure_threshold=1, jitter=0.0))
    breaker.record_failure()
    clock.advance(5)
    breaker.allow()
    breaker.record_failure()
    clock.advance(10)
    assert breaker.allow()
    change = breaker.record_success()
    assert change is not None
    assert (change.from_state, change.to_state) == (B.HALF_OPEN, B.CLOSED)
    assert breaker.state is B.CLOSED
    assert breaker.open_interval == 5.0
    assert breaker.retry_after() == 0.0


def test_failure_while_open_is_ignored() -> None:
    breaker, _, changes = make(BreakerPolicy(failure_threshold=1))
    breaker.record_failure()
    assert breaker.record_failure() is None
    assert len(changes) == 1


def test_admit_raises_unavailable_with_retry_hint() -> None:
    breaker, _, _ = make(BreakerPolicy(failure_threshold=1, jitter=0.0))
    breaker.admit("paper")
    breaker.record_failure()
    with pytest.raises(DomainError) as info:
        breaker.admit("paper")
    assert info.value.kind is ErrorKind.UNAVAILABLE
    assert info.value.reason == "BREAKER_OPEN"
    assert info.value.retry_after == 5.0
    assert info.value.metadata == {"gateway": "paper"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"open_initial": 0},
        {"open_initial": 10, "open_max": 5},
        {"factor": 0.5},
        {"jitter": 1.5},
    ],
)
def test_invalid_policies(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(**kwargs)  # type: ignore[arg-type]


class BreakerModel(RuleBasedStateMachine):
    """Drives a breaker at random and checks it against a small model of the rules."""

    policy: BreakerPolicy
    clock: ManualClock
    breaker: CircuitBreaker
    changes: list[BreakerChange]

    @initialize(
        threshold=st.integers(1, 4),
        initial=st.floats(0.5, 4.0),
        ratio=st.floats(1.0, 8.0),
        jitter=st.floats(0.0, 0.5),
        seed=st.integers(0, 2**16),
    )
    def setup(self, threshold: int, initial: float, ratio: float, jitter: float, seed: int) -> None:
        self.policy = BreakerPolicy(
            failure_threshold=threshold,
            open_initial=initial,
            open_max=initial * ratio,
            jitter=jitter,
        )
        self.clock = ManualClock()
        self.changes = []
        self.breaker = CircuitBreaker(
            self.policy, self.clock, random.Random(seed), self.changes.append
        )
        self.state = B.CLOSED
        self.failures = 0
        self.interval = initial
        self.open_until = 0.0
        self.trials_admitted = 0

    def _tick(self) -> None:
        if self.state is B.OPEN and self.clock.monotonic() >= self.open_until:
            self.state = B.HALF_OPEN
            self.trials_admitted = 0

    def _expect_open(self, change: BreakerChange | None) -> None:
        assert change is not None
        assert change.to_state is B.OPEN
        low = self.interval
        high = min(self.policy.open_max, self.interval * (1 + self.policy.jitter))
        assert low <= change.open_for <= high
        assert self.policy.open_initial <= change.open_for <= self.policy.open_max
        self.state = B.OPEN
        self.open_until = self.clock.monotonic() + change.open_for

    @rule(seconds=st.floats(0.0, 30.0))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self._tick()

    @precondition(lambda self: self.state is B.OPEN)
    @rule()
    def advance_to_trial(self) -> None:
        self.clock.set(monotonic=self.open_until)
        self._tick()

    @rule()
    def allow(self) -> None:
        admitted = self.breaker.allow()
        if self.state is B.CLOSED:
            assert admitted
        elif self.state is B.OPEN:
            assert not admitted
        else:
            assert admitted == (self.trials_admitted == 0)
            self.trials_admitted += admitted

    @rule()
    def success(self) -> None:
        self.breaker.record_success()
        self.state = B.CLOSED
        self.failures = 0
        self.interval = self.policy.open_initial

    @rule()
    def failure(self) -> None:
        change = self.breaker.record_failure()
        if self.state is B.CLOSED:
            self.failures += 1
            if self.failures == self.policy.failure_threshold:
                self._expect_open(change)
            else:
                assert change is None
        elif self.state is B.HALF_OPEN:
            self.interval = min(self.policy.open_max, self.interval * self.policy.factor)
            self._expect_open(change)
        else:
            assert change is None

    @invariant()
    def matches_the_model(self) -> None:
        assert self.breaker.state is self.state
        assert self.trials_admitted <= 1
        assert self.policy.open_initial <= self.breaker.open_interval <= self.policy.open_max
        assert self.breaker.open_interval == pytest.approx(self.interval)
        retry = self.breaker.retry_after()
        if self.state is B.CLOSED:
            assert retry == 0.0
        elif self.state is B.OPEN:
            assert 0 < retry <= self.policy.open_max + 1e-9
            assert retry == pytest.approx(self.open_until - self.clock.monotonic())
        assert str(self.state.value) in repr(self.breaker)

    @invariant()
    def changes_are_real_and_chained(self) -> None:
        for before, after in zip(self.changes, self.changes[1:], strict=False):
            assert before.to_state is after.from_state
        assert all(c.from_state is not c.to_state for c in self.changes)


BreakerModel.TestCase.settings = settings(deadline=None, max_examples=150, stateful_step_count=40)
TestBreakerModel = BreakerModel.TestCase


def test_a_burst_of_fast_failures_does_not_open_a_breaker_that_counts_over_time() -> None:
    # Issue 9, finding 10: refused connects fail in ~1 ms; five within a 1.6 s outage opened it.
    clock = ManualClock()
    policy = BreakerPolicy(failure_threshold=5, min_failure_span=5.0, open_initial=5.0)
    breaker = CircuitBreaker(policy, clock, random.Random(1))
    for _ in range(8):
        assert breaker.record_failure("refused") is None
        clock.advance(0.2)  # eight failures over 1.6 s
    assert breaker.state is BreakerState.CLOSED
    breaker.record_success()
    for _ in range(5):
        breaker.record_failure("refused")
        clock.advance(1.3)
    assert breaker.state is BreakerState.OPEN  # five spanning >= 5 s do open it


def test_an_early_trial_ends_the_open_interval_and_a_failed_trial_doubles_it() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        BreakerPolicy(failure_threshold=1, open_initial=5.0, open_max=60.0, jitter=0.0),
        clock,
        random.Random(1),
    )
    breaker.record_failure("refused")
    assert breaker.state is BreakerState.OPEN and breaker.retry_after() == 5.0
    assert breaker.early_trial("port accepts again") is not None
    assert breaker.state is BreakerState.HALF_OPEN and breaker.allow()
    assert not breaker.allow()  # still exactly one trial
    breaker.record_failure("handshake timeout")
    assert breaker.state is BreakerState.OPEN and breaker.retry_after() == 10.0
    assert breaker.early_trial("again") is not None
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.early_trial("closed: nothing to do") is None
