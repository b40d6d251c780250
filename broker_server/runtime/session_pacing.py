"""Every IB message a session sends counts against IB's 50 msg/s, not only the broker's own.

One :class:`~broker_server.runtime.pacing.SessionPacer` per session (gateway, client ID), plus a
meter of what the client library sent by itself in between (the start-up sync of a fresh
socket, heartbeats, re-subscriptions): before each request is paced, those messages are charged
to the session's budget, so a burst of orders right after a connect, or next to heartbeats,
stays under the limit that IB (and the simulator) enforces with error 100 and a disconnect.
"""

from __future__ import annotations

from dataclasses import dataclass

from broker_server.config import TradingConfig
from broker_server.domain.clock import Clock
from broker_server.domain.pacing import Lane, PacingGovernor
from broker_server.ib import orders as ib_orders
from broker_server.runtime.handles import SessionHandle
from broker_server.runtime.pacing import SessionPacer

FIRST_CHARGE_SHARE = 4
"""On a session's first paced request, at most limit / this of the messages its socket already
sent are charged (the start-up sync of a fresh socket; an old socket's history is long past)."""


@dataclass
class _Meter:
    generation: int
    sent: int
    """The socket's sent-message count at the last look."""
    paced: int = 0
    """Messages admitted by the pacer since the last look (not the library's own)."""


class SessionPacers:
    """The pacers of every session and the meters of what their library sent unpaced."""

    def __init__(self, config: TradingConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._pacers: dict[tuple[str, int], SessionPacer] = {}
        self._meters: dict[tuple[str, int], _Meter] = {}

    def pacer(self, handle: SessionHandle) -> SessionPacer:
        """The session's pacer (created on first use)."""
        key = (handle.gateway, handle.client_id)
        pacer = self._pacers.get(key)
        if pacer is None:
            slices = max(1, self._config.pacing_slices)
            governor = PacingGovernor(
                max(1, self._config.pacing_limit // slices), self._config.pacing_window / slices
            )
            pacer = SessionPacer(governor, self._clock, name=handle.name)
            self._pacers[key] = pacer
        return pacer

    def all(self) -> list[SessionPacer]:
        """Every session's pacer (read-only; the /metrics gauges read their queues)."""
        return list(self._pacers.values())

    async def pace(self, handle: SessionHandle, lane: Lane, max_wait: float, cost: int = 1) -> None:
        """Wait until ``cost`` messages of ``lane`` may go on the handle's session (PACING when
        not within ``max_wait``), after charging what the library sent unpaced."""
        pacer = self.pacer(handle)
        key = (handle.gateway, handle.client_id)
        sent = ib_orders.messages_sent(handle.session)
        meter = self._meters.get(key)
        if meter is None or meter.generation != handle.generation:
            unpaced = min(sent, pacer.governor.limit // FIRST_CHARGE_SHARE)
            meter = self._meters[key] = _Meter(handle.generation, sent)
        else:
            unpaced = sent - meter.sent - meter.paced
            meter.sent, meter.paced = sent, 0
        if unpaced > 0:
            pacer.governor.charge(self._clock.monotonic(), unpaced)
            pacer.wake()
        await pacer.acquire(lane, max(max_wait, 0.0), cost=cost)
        meter.paced += cost

    async def close(self) -> None:
        """Close every pacer (waiters get SHUTTING_DOWN)."""
        for pacer in self._pacers.values():
            await pacer.close()
