"""The connection state of one IB session and the one table of transitions allowed between states.

An illegal transition is a bug in the caller, so :meth:`StateMachine.transition` raises
:class:`IllegalTransition` and leaves the state as it was.

A failed reconnect attempt while RECONNECTING is *not* a transition: the state stays
RECONNECTING and the caller only bumps its attempt counter (and logs the attempt itself).
RECONNECTING -> RECONNECTING is therefore absent from the table, which keeps "every transition
is a change of state" true for the log and for watchers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from broker_server.domain.clock import Clock


class ConnectionState(enum.Enum):
    """Where a session's socket to TWS / IB Gateway stands (mirrors ``ibbroker.v1``)."""

    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"
    ERROR = "ERROR"


_S = ConnectionState

TRANSITIONS: frozenset[tuple[ConnectionState, ConnectionState]] = frozenset(
    {
        # A session starts only by being asked to connect.
        (_S.DISCONNECTED, _S.CONNECTING),
        (_S.CONNECTING, _S.CONNECTED),
        # The first connect failed but retries remain.
        (_S.CONNECTING, _S.RECONNECTING),
        # The first connect failed and no retry is allowed (or the breaker is open).
        (_S.CONNECTING, _S.ERROR),
        # Closed while connecting (shutdown, lease released).
        (_S.CONNECTING, _S.DISCONNECTED),
        # Socket dropped or heartbeat stale.
        (_S.CONNECTED, _S.RECONNECTING),
        (_S.CONNECTED, _S.DISCONNECTED),
        # A failure that must not be retried (account mismatch, version too old).
        (_S.CONNECTED, _S.ERROR),
        (_S.RECONNECTING, _S.CONNECTED),
        # Retries exhausted or the breaker opened.
        (_S.RECONNECTING, _S.ERROR),
        (_S.RECONNECTING, _S.DISCONNECTED),
        # An operator (admin Reconnect) or the half-open breaker trial starts afresh.
        (_S.ERROR, _S.CONNECTING),
        (_S.ERROR, _S.DISCONNECTED),
    }
)
"""Every allowed (from, to) pair; anything else is a bug."""


def is_allowed(from_state: ConnectionState, to_state: ConnectionState) -> bool:
    """True when the table allows ``from_state -> to_state``."""
    return (from_state, to_state) in TRANSITIONS


class IllegalTransition(Exception):
    """A transition the table does not allow was attempted (a bug, not a runtime condition)."""

    def __init__(self, from_state: ConnectionState, to_state: ConnectionState, reason: str) -> None:
        super().__init__(f"illegal transition {from_state.value} -> {to_state.value} ({reason})")
        self.from_state = from_state
        self.to_state = to_state
        self.reason = reason


@dataclass(frozen=True)
class Transition:
    """One applied change of state, ready to be logged and published."""

    from_state: ConnectionState
    """The state before."""
    to_state: ConnectionState
    """The state after."""
    reason: str
    """Why, for example ``socket closed by peer`` or ``HEARTBEAT_TIMEOUT``."""
    attempt: int
    """Reconnect attempt number, 0 outside reconnects."""
    at: float
    """Monotonic time of the change (for durations such as uptime)."""
    wall_time: float
    """Wall time of the change, epoch seconds (for events and logs)."""


class StateMachine:
    """The current state of one session, changed only through the table."""

    def __init__(
        self, clock: Clock, initial: ConnectionState = ConnectionState.DISCONNECTED
    ) -> None:
        self._clock = clock
        self._state = initial
        self._last: Transition | None = None

    @property
    def state(self) -> ConnectionState:
        """The current state."""
        return self._state

    @property
    def last(self) -> Transition | None:
        """The last applied transition, None before the first."""
        return self._last

    def can(self, to: ConnectionState) -> bool:
        """True when ``transition(to, ...)`` would succeed now."""
        return is_allowed(self._state, to)

    def transition(self, to: ConnectionState, reason: str, attempt: int = 0) -> Transition:
        """Move to ``to``; raises :class:`IllegalTransition` (state unchanged) if not allowed."""
        if not is_allowed(self._state, to):
            raise IllegalTransition(self._state, to, reason)
        change = Transition(
            from_state=self._state,
            to_state=to,
            reason=reason,
            attempt=attempt,
            at=self._clock.monotonic(),
            wall_time=self._clock.wall(),
        )
        self._state = to
        self._last = change
        return change

    def __repr__(self) -> str:
        reason = f", reason={self._last.reason!r}" if self._last else ""
        return f"<StateMachine [{self._state.value}{reason}]>"
