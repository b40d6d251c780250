"""A circuit breaker per gateway: stop hammering a gateway that keeps refusing connections.

CLOSED lets everything through and counts consecutive connection failures. It opens when there
are at least ``failure_threshold`` of them *and* they span at least ``min_failure_span`` seconds
(counted over time, not only in number: refused connects fail in about a millisecond, so a
one-second gateway restart can produce five of them and must not open the breaker). Then it
opens: OPEN refuses everything (callers fail fast with UNAVAILABLE and a retry hint) for an open
interval. When the interval has passed the breaker is HALF_OPEN and admits exactly one trial;
its success closes the breaker, its failure opens it again for twice the interval (up to
``open_max``). :meth:`CircuitBreaker.early_trial` ends an open interval early when there is
fresh evidence the gateway is back (its port accepts again). The interval is jittered upwards only, so no caller is told to retry sooner than
it may and several gateways' breakers do not retry in step.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass

from broker_server.domain.clock import Clock
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason


class BreakerState(enum.Enum):
    """The circuit breaker's state (mirrors ``ibbroker.v1.BreakerState``)."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class BreakerPolicy:
    """When the breaker opens and for how long."""

    failure_threshold: int = 5
    """Consecutive failures while CLOSED that open the breaker."""
    open_initial: float = 5.0
    """Seconds the breaker first stays open (before jitter)."""
    open_max: float = 60.0
    """Longest time in seconds the breaker stays open, jitter included."""
    factor: float = 2.0
    """Growth of the open interval after each failed trial."""
    jitter: float = 0.1
    """Fraction by which an open interval is stretched at random (0.1: up to 10 % longer)."""
    trial_retry_after: float = 1.0
    """Retry hint in seconds while the single half-open trial is still in flight."""
    min_failure_span: float = 0.0
    """Seconds from the first to the last of the consecutive failures before they may open the
    breaker; 0 opens on the count alone."""

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        if not 0 < self.open_initial <= self.open_max:
            raise ValueError("need 0 < open_initial <= open_max")
        if self.factor < 1:
            raise ValueError("factor must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be within [0, 1]")
        if self.min_failure_span < 0:
            raise ValueError("min_failure_span must be >= 0")


@dataclass(frozen=True)
class BreakerChange:
    """One change of the breaker's state, for logs and watchers."""

    from_state: BreakerState
    """The state before."""
    to_state: BreakerState
    """The state after."""
    reason: str
    """Why, for example ``5 consecutive failures`` or ``trial failed``."""
    at: float
    """Monotonic time of the change."""
    wall_time: float
    """Wall time of the change, epoch seconds."""
    open_for: float
    """For a change to OPEN: seconds until a trial may pass; 0 otherwise."""


class CircuitBreaker:
    """The breaker of one gateway. Not thread-safe: used from the event loop only."""

    def __init__(
        self,
        policy: BreakerPolicy,
        clock: Clock,
        rng: random.Random,
        on_change: Callable[[BreakerChange], None] | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._rng = rng
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._first_failure = 0.0
        self._interval = policy.open_initial
        self._open_until = 0.0
        self._trial_in_flight = False

    # --- reading ---------------------------------------------------------------------------

    @property
    def policy(self) -> BreakerPolicy:
        """The policy."""
        return self._policy

    @property
    def state(self) -> BreakerState:
        """The current state; an elapsed OPEN interval shows as HALF_OPEN (no trial consumed)."""
        self._refresh()
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures counted since the last success (only counted while CLOSED)."""
        return self._failures

    @property
    def open_interval(self) -> float:
        """The current un-jittered open interval in seconds."""
        return self._interval

    @property
    def trial_in_flight(self) -> bool:
        """True while the half-open trial has been admitted and its outcome is not recorded."""
        return self._trial_in_flight

    def retry_after(self) -> float:
        """Seconds until a call may pass: 0 when CLOSED or a half-open trial is free."""
        self._refresh()
        if self._state is BreakerState.CLOSED:
            return 0.0
        if self._state is BreakerState.OPEN:
            return max(0.0, self._open_until - self._clock.monotonic())
        return self._policy.trial_retry_after if self._trial_in_flight else 0.0

    # --- deciding --------------------------------------------------------------------------

    def allow(self) -> bool:
        """May a connection attempt go ahead now? In HALF_OPEN only the first caller gets True."""
        self._refresh()
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def admit(self, gateway: str = "") -> None:
        """Like :meth:`allow`, but raises UNAVAILABLE / ``BREAKER_OPEN`` with a retry hint."""
        if self.allow():
            return
        where = f" for gateway {gateway}" if gateway else ""
        raise DomainError(
            ErrorKind.UNAVAILABLE,
            FailureReason.BREAKER_OPEN,
            f"circuit breaker{where} is {self._state.value}; retry later",
            retry_after=self.retry_after(),
            metadata={"gateway": gateway} if gateway else None,
        )

    # --- recording -------------------------------------------------------------------------

    def record_success(self) -> BreakerChange | None:
        """A connection attempt succeeded: close and start over from the initial interval."""
        self._refresh()
        self._failures = 0
        self._interval = self._policy.open_initial
        self._trial_in_flight = False
        if self._state is BreakerState.CLOSED:
            return None
        return self._move(BreakerState.CLOSED, "connection succeeded", 0.0)

    def record_failure(self, reason: str = "connection failed") -> BreakerChange | None:
        """A connection attempt failed; returns the change if the breaker opened."""
        self._refresh()
        if self._state is BreakerState.CLOSED:
            now = self._clock.monotonic()
            self._failures += 1
            if self._failures == 1:
                self._first_failure = now
            span = now - self._first_failure
            if (
                self._failures < self._policy.failure_threshold
                or span < self._policy.min_failure_span
            ):
                return None
            return self._open(f"{self._failures} consecutive failures: {reason}")
        if self._state is BreakerState.HALF_OPEN:
            self._trial_in_flight = False
            self._interval = min(self._policy.open_max, self._interval * self._policy.factor)
            return self._open(f"trial failed: {reason}")
        # OPEN: an attempt begun before the breaker opened; the breaker already knows.
        return None

    def early_trial(self, reason: str) -> BreakerChange | None:
        """End an OPEN interval now (HALF_OPEN, one trial): the gateway shows signs of life.

        The trial is governed as usual: its failure opens the breaker again for twice the
        interval. No-op unless OPEN.
        """
        self._refresh()
        if self._state is not BreakerState.OPEN:
            return None
        self._open_until = self._clock.monotonic()
        self._trial_in_flight = False
        return self._move(BreakerState.HALF_OPEN, reason, 0.0)

    # --- internals -------------------------------------------------------------------------

    def _open(self, reason: str) -> BreakerChange:
        stretch = 1.0 + self._policy.jitter * self._rng.random()
        open_for = min(self._policy.open_max, self._interval * stretch)
        self._open_until = self._clock.monotonic() + open_for
        return self._move(BreakerState.OPEN, reason, open_for)

    def _refresh(self) -> None:
        # Time alone turns OPEN into HALF_OPEN; doing it lazily keeps the breaker free of timers.
        if self._state is BreakerState.OPEN and self._clock.monotonic() >= self._open_until:
            self._trial_in_flight = False
            self._move(BreakerState.HALF_OPEN, "open interval elapsed", 0.0)

    def _move(self, to: BreakerState, reason: str, open_for: float) -> BreakerChange:
        change = BreakerChange(
            from_state=self._state,
            to_state=to,
            reason=reason,
            at=self._clock.monotonic(),
            wall_time=self._clock.wall(),
            open_for=open_for,
        )
        self._state = to
        if self._on_change is not None:
            self._on_change(change)
        return change

    def __repr__(self) -> str:
        # Reads without refreshing, so printing a breaker never changes it.
        name = type(self).__name__
        if self._state is BreakerState.CLOSED:
            detail = f"failures={self._failures}/{self._policy.failure_threshold}"
        elif self._state is BreakerState.OPEN:
            left = max(0.0, self._open_until - self._clock.monotonic())
            detail = f"retry_in={left:.3f}s, interval={self._interval:g}s"
        else:
            trial = "in flight" if self._trial_in_flight else "available"
            detail = f"trial {trial}, interval={self._interval:g}s"
        return f"<{name} [{self._state.value}, {detail}]>"
