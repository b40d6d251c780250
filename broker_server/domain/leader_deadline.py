"""The leader's self-fence for IB: a local deadline on its leadership ("lease with a local
deadline", as in Chubby or etcd's leader lease).

Store writes are fenced by the leadership epoch inside PostgreSQL, but a message written to an
IB socket is not: a leader paused (SIGSTOP, a VM freeze, a long GC) between journaling an order
and writing it to IB could write it after a standby took over, reconciled the intent as never
sent and resent it on a retry: two orders at IB. So the leader also keeps a deadline on its own
monotonic clock and writes nothing to IB once it has passed.

**The deadline** is ``sent + ttl * (1 - margin)``, where ``sent`` is the local time at which the
last *successful* take or renewal was *sent* (before the connection was even acquired). The
server sets the row's expiry to its own ``clock_timestamp() + ttl`` when it *executes* that
statement, which is later than ``sent``, and a standby takes over only once the server's clock
passed that expiry. So the local deadline comes first by at least ``ttl * margin`` of real
time, less what the two clocks' rates differ by over one TTL (the drift bound: ``ttl * rho``
with rho ~ 1e-4 for ordinary oscillators, NTP-slewed clocks at most 5e-4, i.e. milliseconds);
clock *steps* do not matter, both sides measure intervals (monotonic here, the server's
``clock_timestamp`` differences there, which an operator must not step by more than the
margin while a takeover is pending).

**What remains.** :meth:`check` runs on the event loop immediately before the synchronous call
that writes to the socket (``ib_insync`` writes in ``transport.write`` at once), with no
``await`` between them, so nothing else of this process runs in between. A pause of the whole
process *between* the check and the ``send`` system call is the only window: the write goes out
late by that pause. It is still before any takeover as long as the pause is shorter than
``ttl * margin`` minus the drift bound and the time already used of the deadline, so the margin
bounds it; a longer pause exactly there (microseconds of code) is what a local deadline cannot
exclude. A pause anywhere else is caught: the check after it sees the deadline passed.

**Stepping down.** Once the deadline passed (seen by :meth:`check` or by the runtime's timer)
or the store found a newer leader, :meth:`step_down` runs its listeners once, synchronously and
in order: the broker first drops its IB sockets, then does the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from broker_server.domain.clock import Clock
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason

StepDownListener = Callable[[str, str], None]
"""Called with (cause, leader_address) once, when the leader steps down."""

LOCAL_EXPIRY = "local_expiry"
"""Cause: no renewal succeeded in time; the local deadline passed."""
NEWER_LEADER = "newer_leader"
"""Cause: the store found another broker's epoch (a takeover)."""


class LeaderDeadline:
    """The local deadline of a leadership (see the module docstring).

    ``ttl``: the leadership TTL in seconds; ``margin``: the fraction of it given up locally
    (0 < margin < 1). :meth:`unbounded` is the deadline of a store that has no leadership
    (SQLite, owned by its process): it never passes.
    """

    def __init__(self, clock: Clock, ttl: float, margin: float) -> None:
        if not 0 < margin < 1:
            raise ValueError(f"margin must lie in (0, 1), got {margin}")
        self._clock = clock
        self.ttl = ttl
        self.margin = margin
        self.deadline = -math.inf
        """Monotonic seconds after which this broker writes nothing to IB (none taken yet)."""
        self.cause = ""
        """Why it stepped down ("" while it leads)."""
        self.leader_address = ""
        """Where the newer leader is, when known."""
        self._listeners: list[StepDownListener] = []

    @classmethod
    def unbounded(cls, clock: Clock) -> LeaderDeadline:
        """A deadline that never passes (a store without leadership)."""
        lead = cls(clock, math.inf, 0.5)
        lead.deadline = math.inf
        return lead

    @property
    def window(self) -> float:
        """Seconds from a renewal's send to the local deadline: ``ttl * (1 - margin)``."""
        return self.ttl * (1 - self.margin)

    def renewed(self, sent: float) -> None:
        """A take or renewal sent at monotonic ``sent`` succeeded: move the deadline out (never
        back, never after a step-down)."""
        if not self.cause:
            self.deadline = max(self.deadline, sent + self.window)

    def remaining(self) -> float:
        """Seconds until the deadline (<= 0: passed or stepped down)."""
        if self.cause:
            return -math.inf
        return self.deadline - self._clock.monotonic()

    @property
    def leading(self) -> bool:
        """True until the deadline passed or the leader stepped down."""
        return self.remaining() > 0

    def on_step_down(self, listener: StepDownListener) -> None:
        """Call ``listener(cause, leader_address)`` once, at the step-down (in registration
        order, synchronously)."""
        self._listeners.append(listener)

    def step_down(self, cause: str, leader_address: str = "") -> bool:
        """Stop leading (once): run the listeners. False when it already stepped down."""
        if self.cause:
            if leader_address and not self.leader_address:
                self.leader_address = leader_address
            return False
        self.cause = cause
        self.leader_address = leader_address
        for listener in self._listeners:
            listener(cause, leader_address)
        return True

    def check(self, what: str) -> None:
        """Right before writing ``what`` to IB: raise UNAVAILABLE NOT_LEADER (stepping down
        first when the deadline has just been found passed) unless this broker still leads.

        Call it with no ``await`` between it and the synchronous write (module docstring)."""
        left = self.remaining()
        if left > 0:
            return
        if not self.cause:
            self.step_down(LOCAL_EXPIRY)
        raise DomainError(
            ErrorKind.UNAVAILABLE,
            FailureReason.NOT_LEADER,
            f"{what} refused: this broker is no longer the leader ({self.describe()}); "
            "nothing was sent to IB",
            retry_after=1.0,
            metadata={"leader_address": self.leader_address},
        )

    def describe(self) -> str:
        """Why it does not lead, for messages."""
        if self.cause == NEWER_LEADER:
            return "another broker took the store over"
        return "its leadership expired locally: no renewal succeeded in time"

    def __repr__(self) -> str:
        return f"LeaderDeadline(ttl={self.ttl}, margin={self.margin}, cause={self.cause!r})"
