"""Where market data gets its IB session: a data session of the gateway's pool, never the monitor.

:class:`DataSessions` is the port the market-data runtime needs ("a fenced handle on a data
session of gateway G, and that session's pacer"). :class:`PooledDataSessions` implements it over
the :class:`~broker_server.runtime.connections.ConnectionManager`: when the gateway has no data
session yet it opens one, the way a PROXIED lease's session is opened (``open_session``), on the
reserved client ID ``market_data.client_id`` (outside the lease range and the monitor IDs), and
keeps it for the life of the broker. The session pool supervises it like any other: reconnects
with backoff, restores (and re-issues its market-data lines), reports state and health.

When the order runtime's shared DATA session lands, an adapter over it replaces this one; the
market-data runtime only sees the port.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from broker_server.domain.clock import Clock
from broker_server.domain.errors import DomainError
from broker_server.domain.pacing import PacingGovernor
from broker_server.domain.reasons import FailureReason
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.handles import SessionHandle
from broker_server.runtime.pacing import SessionPacer

DATA_LEASE_ID = "market-data"
"""The lease ID the data session is filed under in the pool (no lease record exists)."""
PACING_LIMIT = 30
"""Messages per second for the data session's pacer, under IB's 50: the heartbeat and the
library's own requests are not paced here, and a receiver that reads in bursts (a busy
gateway) sees messages bunched that were sent evenly."""


class DataSessions(Protocol):
    """The port: data sessions and their pacers, per gateway."""

    def gateway_name(self, gateway: str) -> str:
        """The canonical name of ``gateway`` ("" is the default one); NOT_FOUND when unknown."""
        ...

    async def handle(self, gateway: str) -> SessionHandle:
        """A fenced handle on the gateway's data session (opened on first use)."""
        ...

    def pacer(self, gateway: str) -> SessionPacer:
        """The pacer of that data session (reads lane for market data)."""
        ...

    def session_name(self, gateway: str) -> str:
        """The name of the data session in connection events (``paper/proxied-90``...)."""
        ...


class PooledDataSessions:
    """:class:`DataSessions` over the connection manager's pool (see the module docstring)."""

    def __init__(self, manager: ConnectionManager, client_id: int, clock: Clock) -> None:
        self._manager = manager
        self._client_id = client_id
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._pacers: dict[str, SessionPacer] = {}
        self._names: dict[str, str] = {}

    def gateway_name(self, gateway: str) -> str:
        return self._manager.supervisor(gateway or None).gateway

    def session_name(self, gateway: str) -> str:
        return self._names.get(self.gateway_name(gateway), "")

    async def handle(self, gateway: str) -> SessionHandle:
        name = self.gateway_name(gateway)
        try:
            handle = self._manager.acquire_handle(name, self._client_id)
        except DomainError:
            # Not open yet, or being opened by a concurrent caller: decide under the lock.
            lock = self._locks.setdefault(name, asyncio.Lock())
            async with lock:
                try:
                    handle = self._manager.acquire_handle(name, self._client_id)
                except DomainError as again:
                    if again.reason is not FailureReason.NOT_CONNECTED:
                        raise
                    await self._manager.open_session(name, self._client_id, DATA_LEASE_ID)
                    handle = self._manager.acquire_handle(name, self._client_id)
        self._names[name] = handle.name
        return handle

    def pacer(self, gateway: str) -> SessionPacer:
        name = self.gateway_name(gateway)
        pacer = self._pacers.get(name)
        if pacer is None:
            pacer = SessionPacer(
                PacingGovernor(limit=PACING_LIMIT), self._clock, name=f"{name}/market-data"
            )
            self._pacers[name] = pacer
        return pacer

    def pacers(self) -> list[SessionPacer]:
        """Every data session's pacer (read-only; the /metrics gauges read their queues)."""
        return list(self._pacers.values())

    async def close(self) -> None:
        """Stop the pacers (the manager closes the sessions)."""
        for pacer in self._pacers.values():
            await pacer.close()
        self._pacers.clear()
