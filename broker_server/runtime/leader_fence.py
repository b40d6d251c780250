"""The broker's side of the leader's self-fence: step down the moment the leadership's local
deadline passes (or the store finds a newer leader), IB sockets first.

:class:`~broker_server.domain.leader_deadline.LeaderDeadline` is checked right before every
write to IB on a client's behalf; this module adds the timer that notices an expiry while
nothing is being sent, and the step-down itself:

1. synchronously, in the deadline's step-down listener, before anything else runs: every IB
   socket of the broker is aborted (unsent bytes discarded, :meth:`ConnectionManager.drop_sockets`);
2. the JSON log line ``leadership_step_down`` (cause ``local_expiry`` or ``newer_leader``,
   sockets dropped, seconds past the deadline) and the counter ``ibbroker.leadership.step_downs``
   (attribute ``cause``);
3. ``then()`` (the app: the store refuses every write, health NOT_SERVING, the sessions closed
   so they do not reconnect; every WatchConnectionState stream gets the sessions' DISCONNECTED
   transitions and a FINAL event whose reason names the step-down).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from opentelemetry import metrics

from broker_server.domain.clock import Clock
from broker_server.domain.leader_deadline import LOCAL_EXPIRY, LeaderDeadline
from broker_server.logs import log_event
from broker_server.runtime.connections import ConnectionManager

log = logging.getLogger("ibbroker.leadership")

_step_downs = metrics.get_meter("ibbroker").create_counter(
    "ibbroker.leadership.step_downs",
    unit="{step_down}",
    description="Times this broker stopped leading its store, by cause (local_expiry, newer_leader).",
)


class LeaderFence:
    """Watches ``deadline``; on a step-down drops ``connections``' sockets, then calls ``then``."""

    def __init__(
        self,
        deadline: LeaderDeadline,
        connections: ConnectionManager,
        clock: Clock,
        then: Callable[[str, str], None],
    ) -> None:
        self._deadline = deadline
        self._connections = connections
        self._clock = clock
        self._then = then
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False
        self.tasks: list[asyncio.Task[None]] = []
        """What ``then`` started (the app's session close), for the shutdown to await."""
        self.stepped_down = asyncio.Event()
        """Set once the broker stepped down (after ``then``): :func:`broker_server.app.serve`
        then stops it and starts again as a standby, or exits (``store.standby`` false)."""
        self.cause = ""
        """Why it stepped down (``local_expiry``, ``newer_leader``); "" while it leads."""

    def start(self) -> None:
        """Listen for the step-down and arm the timer at the deadline (on the loop)."""
        self._deadline.on_step_down(self._stepped_down)
        if self._deadline.cause:  # stepped down before this started (a write refused at start)
            self._stepped_down(self._deadline.cause, self._deadline.leader_address)
        self._arm()

    def stop(self) -> None:
        """Stop watching (a clean shutdown is not a step-down)."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        left = self._deadline.remaining()
        if self._stopped or self._deadline.cause or left == float("inf"):
            return
        self._timer = asyncio.get_running_loop().call_later(max(left, 0.0), self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self._stopped or self._deadline.cause:
            return
        if self._deadline.remaining() > 0:  # renewed meanwhile: wait for the new deadline
            self._arm()
            return
        self._deadline.step_down(LOCAL_EXPIRY)

    def _stepped_down(self, cause: str, leader_address: str) -> None:
        if self._stopped:
            return
        dropped = self._connections.drop_sockets()  # first: nothing may reach IB any more
        overdue = self._clock.monotonic() - self._deadline.deadline
        _step_downs.add(1, {"cause": cause})
        log_event(
            log, logging.ERROR, "leadership_step_down", cause=cause,
            leader_address=leader_address, sockets_dropped=dropped,
            past_deadline=round(overdue, 3),
        )  # fmt: skip
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._then(cause, leader_address)
        self.cause = cause
        self.stepped_down.set()
