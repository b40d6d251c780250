"""The asyncio side of the pacing governor: callers await their turn to send to IB.

One :class:`SessionPacer` per IB session wraps a pure
:class:`~broker_server.domain.pacing.PacingGovernor`. :meth:`SessionPacer.acquire` returns when
the request may be written to the socket, or raises RESOURCE_EXHAUSTED (PACING) with
``retry_after`` when it cannot go within its time limit (at once when that is foreseeable, else
when the time limit passes). A single pump task polls the governor at the moments it names
(a token comes back, a deadline passes); it runs only while someone waits.

Time comes from the injected :class:`~broker_server.domain.clock.Clock`. With a manual clock a
test moves the clock and calls :meth:`SessionPacer.wake`; nothing sleeps blindly.

Each admission records how long it waited in ``ibbroker.pacing.wait`` (seconds, by lane; 0 for
one admitted at once); :meth:`SessionPacer.waiting_by_lane` is the queue depth the
``/metrics`` gauges read (docs/observability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from opentelemetry import metrics

from broker_server.aio import within
from broker_server.domain.clock import Clock
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.pacing import Lane, PacingGovernor, Ticket, pacing_error
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event

log = logging.getLogger("ibbroker.pacing")
_wait = metrics.get_meter("ibbroker").create_histogram(
    "ibbroker.pacing.wait",
    unit="s",
    description="Seconds a request waited for its turn on an IB session's pacer, by lane.",
)
_LANE_LABELS = {lane: {"lane": lane.name} for lane in Lane}  # built once: recorded per request


class SessionPacer:
    """Awaitable admission to one IB session's message budget."""

    def __init__(self, governor: PacingGovernor, clock: Clock, *, name: str = "") -> None:
        self.governor = governor
        self.name = name
        self._clock = clock
        self._waiters: dict[int, tuple[Ticket, asyncio.Future[None]]] = {}
        self._changed = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._closed = False
        self.admitted = 0
        """Requests admitted so far (for metrics)."""
        self.refused = 0
        """Requests refused or expired with PACING so far (for metrics)."""

    async def acquire(self, lane: Lane, max_wait: float, *, cost: int = 1) -> None:
        """Wait until ``cost`` messages of ``lane`` may be sent, at most ``max_wait`` seconds.

        Raises DomainError PACING (RESOURCE_EXHAUSTED, with retry_after), or SHUTTING_DOWN
        after :meth:`close`. A cancelled caller leaves the queue.
        """
        if self._closed:
            raise _shutting_down()
        now = self._clock.monotonic()
        try:
            ticket, admitted = self.governor.submit(lane, now, now + max_wait, cost)
        except DomainError as err:
            self._refused(lane, "refused", err)
            raise
        if admitted:
            self.admitted += 1
            _wait.record(0.0, _LANE_LABELS[lane])
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[ticket.id] = (ticket, future)
        self.wake()
        try:
            await future
        except asyncio.CancelledError:
            if self._waiters.pop(ticket.id, None) is not None:
                self.governor.cancel(ticket)
            raise

    def waiting_by_lane(self) -> dict[Lane, int]:
        """Requests waiting now, per lane (read-only; for the queue-depth gauge)."""
        depth = dict.fromkeys(Lane, 0)
        for ticket, _future in list(self._waiters.values()):
            depth[ticket.lane] += 1
        return depth

    def wake(self) -> None:
        """Poll the governor now (a waiter arrived, or a test moved its manual clock)."""
        self._changed.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(
                self._run(), name=f"pacer-{self.name}"
            )

    async def close(self) -> None:
        """Fail every waiter with SHUTTING_DOWN and stop the pump."""
        self._closed = True
        for ticket, future in self._waiters.values():
            self.governor.cancel(ticket)
            if not future.done():
                future.set_exception(_shutting_down())
        self._waiters.clear()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    def _refused(self, lane: Lane, how: str, err: DomainError) -> None:
        self.refused += 1
        log_event(
            log,
            logging.WARNING,
            "pacing_refused",
            session=self.name,
            lane=lane.name,
            how=how,
            retry_after=err.retry_after,
            waiting=self.governor.waiting(),
            limit=self.governor.limit,
        )

    def _settle(self) -> float | None:
        now = self._clock.monotonic()
        result = self.governor.poll(now)
        for ticket in result.admitted:
            _, future = self._waiters.pop(ticket.id, (ticket, None))
            if future is not None and not future.done():
                self.admitted += 1
                _wait.record(max(now - ticket.submitted, 0.0), _LANE_LABELS[ticket.lane])
                future.set_result(None)
        for ticket in result.expired:
            _, future = self._waiters.pop(ticket.id, (ticket, None))
            if future is not None and not future.done():
                retry = self.governor.estimate(ticket.lane, now, ticket.cost) - now
                err = pacing_error(retry, ticket.lane, self.governor.limit, self.governor.window)
                self._refused(ticket.lane, "expired", err)
                future.set_exception(err)
        wakeup = self.governor.next_wakeup(now)
        return None if wakeup is None else max(wakeup - now, 0.0)

    async def _run(self) -> None:
        while self._waiters:
            self._changed.clear()
            delay = self._settle()
            if delay is None or not self._waiters:
                return
            with contextlib.suppress(TimeoutError):
                await within(self._changed.wait(), delay)

    def __repr__(self) -> str:
        return f"<SessionPacer {self.name or '-'} {self.governor!r}>"


def _shutting_down() -> DomainError:
    return DomainError(
        ErrorKind.UNAVAILABLE, FailureReason.SHUTTING_DOWN, "the session's pacer is closed"
    )
