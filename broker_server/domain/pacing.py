"""The pacing governor of one IB session: at most N messages in any window, by priority lane.

IB disconnects (or answers error 100 to) a client that sends more than 50 messages per second.
The governor is a token bucket whose tokens come back exactly one window after they were spent:
``limit`` tokens, each spent token returns ``window`` seconds later. Unlike a bucket refilled at
a steady rate (which admits ``capacity + rate`` messages in a window), this guarantees at most
``limit`` admissions in ANY interval of length ``window``, and still allows a burst of
``limit`` at once.

Requests wait in three lanes: CANCEL before ORDER (place, modify) before READ (queries, data).
A waiting request is admitted as soon as a token is free and no request of a higher lane (or
an older one of its lane) waits. At :meth:`PacingGovernor.submit` the governor computes the
earliest time the request could be admitted given who is ahead of it; if that is after its
deadline it is refused at once: RESOURCE_EXHAUSTED (PACING) with ``retry_after``. A request
admitted later than planned (a cancel jumped ahead) and past its deadline is expired by
:meth:`PacingGovernor.poll` instead.

Pure and clock-free: every method takes ``now`` (monotonic seconds); the asyncio wrapper is
:mod:`broker_server.runtime.pacing`.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from dataclasses import dataclass, field

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason

DEFAULT_LIMIT = 50
"""IB's documented limit: 50 messages per second per client."""
DEFAULT_WINDOW = 1.0
"""Seconds."""


class Lane(enum.IntEnum):
    """Priority lanes; a lower value is served first."""

    CANCEL = 0
    ORDER = 1
    READ = 2


@dataclass(frozen=True)
class Ticket:
    """A request's place in the governor."""

    id: int
    lane: Lane
    submitted: float
    deadline: float
    cost: int = 1


@dataclass(frozen=True)
class PollResult:
    """What :meth:`PacingGovernor.poll` decided."""

    admitted: tuple[Ticket, ...] = ()
    expired: tuple[Ticket, ...] = ()


def pacing_error(retry_after: float, lane: Lane, limit: int, window: float) -> DomainError:
    """RESOURCE_EXHAUSTED (PACING): the request cannot be sent within its deadline."""
    return DomainError(
        ErrorKind.RESOURCE_EXHAUSTED,
        FailureReason.PACING,
        f"IB pacing: at most {limit} messages per {window:g} s per session; this "
        f"{lane.name.lower()} request could not be sent within its deadline",
        retry_after=max(retry_after, 0.0),
        metadata={"lane": lane.name, "limit": str(limit), "window_seconds": f"{window:g}"},
    )


@dataclass
class PacingGovernor:
    """Admission control for one IB session. See the module docstring."""

    limit: int = DEFAULT_LIMIT
    window: float = DEFAULT_WINDOW
    _spent: deque[float] = field(default_factory=deque, init=False, repr=False)
    _lanes: dict[Lane, deque[Ticket]] = field(init=False, repr=False)
    _ids: itertools.count[int] = field(default_factory=itertools.count, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        if self.window <= 0:
            raise ValueError(f"window must be positive, got {self.window}")
        self._lanes = {lane: deque() for lane in Lane}

    # -- the token bucket -------------------------------------------------------------------

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0] + self.window <= now:
            self._spent.popleft()

    def _slot(self, now: float, index: int) -> float:
        """When the ``index``-th (0-based) next token can be spent, if all are spent in order.

        Tokens return one window after they were spent: the free ones now, the spent ones at
        spend time + window, and each later round one window after the previous.
        """
        free = self.limit - len(self._spent)
        rounds, position = divmod(index, self.limit)
        if position < free:
            base = now
        else:
            base = self._spent[position - free] + self.window
        return max(now, base + rounds * self.window)

    def available(self, now: float) -> int:
        """Tokens free at ``now``."""
        self._expire(now)
        return self.limit - len(self._spent)

    def _spend(self, now: float, cost: int) -> None:
        for _ in range(cost):
            self._spent.append(now)

    def charge(self, now: float, cost: int) -> None:
        """Count ``cost`` messages sent outside the governor (the client library's own: a
        connect's sync, heartbeats) as spent now, at most a full window's worth."""
        self._expire(now)
        self._spend(now, min(max(cost, 0), self.limit - len(self._spent)))

    # -- the lanes --------------------------------------------------------------------------

    def _ahead(self, lane: Lane) -> int:
        return sum(t.cost for level in Lane if level <= lane for t in self._lanes[level])

    def waiting(self) -> int:
        """Requests waiting in all lanes."""
        return sum(len(q) for q in self._lanes.values())

    def estimate(self, lane: Lane, now: float, cost: int = 1) -> float:
        """The earliest time a request of ``lane`` submitted now could be admitted."""
        self._expire(now)
        return self._slot(now, self._ahead(lane) + cost - 1)

    def submit(self, lane: Lane, now: float, deadline: float, cost: int = 1) -> tuple[Ticket, bool]:
        """Queue a request; returns its ticket and whether it is admitted at once.

        ``cost`` is the number of IB messages the request sends (a bracket sends three).
        Raises PACING when even with no newcomer ahead it could not go by ``deadline``.
        """
        if not 1 <= cost <= self.limit:
            raise ValueError(f"cost must be 1..{self.limit}, got {cost}")
        when = self.estimate(lane, now, cost)
        if when > deadline:
            raise pacing_error(when - now, lane, self.limit, self.window)
        ticket = Ticket(next(self._ids), lane, now, deadline, cost)
        if when <= now and self._ahead(lane) == 0:
            self._spend(now, cost)
            return ticket, True
        self._lanes[lane].append(ticket)
        return ticket, False

    def cancel(self, ticket: Ticket) -> bool:
        """Withdraw a waiting ticket (its caller gave up); False if it is not waiting."""
        queue = self._lanes[ticket.lane]
        try:
            queue.remove(ticket)
        except ValueError:
            return False
        return True

    def poll(self, now: float) -> PollResult:
        """Admit what can go at ``now`` in priority order; expire what can no longer go in time.

        Strict priority: a head that cannot go yet (not enough tokens) holds back the lanes
        below it, so a bracket's three messages are not starved by a stream of reads. A ticket
        still waiting at its deadline is expired.
        """
        self._expire(now)
        admitted: list[Ticket] = []
        blocked = False
        for lane in Lane:
            queue = self._lanes[lane]
            while queue and not blocked:
                head = queue[0]
                if self.limit - len(self._spent) < head.cost:
                    blocked = True
                    break
                queue.popleft()
                self._spend(now, head.cost)
                admitted.append(head)
        expired: list[Ticket] = []
        for lane in Lane:
            queue = self._lanes[lane]
            late = [t for t in queue if t.deadline <= now]
            for ticket in late:
                queue.remove(ticket)
            expired.extend(late)
        return PollResult(tuple(admitted), tuple(expired))

    def next_wakeup(self, now: float) -> float | None:
        """When :meth:`poll` should run next: the head can go, or a deadline comes."""
        if not self.waiting():
            return None
        self._expire(now)
        head = min((q[0] for q in self._lanes.values() if q), key=lambda t: (t.lane, t.id))
        when = self._slot(now, head.cost - 1)
        first_deadline = min(t.deadline for q in self._lanes.values() for t in q)
        return min(when, first_deadline)

    def __repr__(self) -> str:
        lanes = ", ".join(f"{lane.name}={len(q)}" for lane, q in self._lanes.items())
        return f"<PacingGovernor {len(self._spent)}/{self.limit} per {self.window:g}s, waiting {lanes}>"
