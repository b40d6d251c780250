"""Where market data gets its IB session: the gateway's one shared data session, never the monitor.

:class:`DataSessions` is the port the market-data runtime needs ("a fenced handle on gateway
G's data session, after a token of that session's pacer"). :class:`PooledDataSessions`
implements it over the :class:`~broker_server.runtime.connections.ConnectionManager`'s
``data_handle``: the same data session the order runtime reads through (client ID
``gateways.NAME.data_client_id``, default 96, opened on first use by whichever asks first and
kept), so a gateway spends one client ID and one socket on data, not two. The session pool
supervises it like any other: reconnects with backoff, restores (and re-issues its market-data
lines), reports state and health.

Pacing: one pacer per session, shared with the order runtime's reads (``SessionPacers``): every
market-data request (contract details, reqMktData, reqRealTimeBars, cancels, historical data)
waits for a token in the READ lane, the lowest, behind nothing the order runtime sends on that
session, and the library's own unpaced messages on it (the start-up sync, re-subscriptions)
are charged to the same budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError
from broker_server.domain.pacing import Lane
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.handles import SessionHandle
from broker_server.runtime.pacing import SessionPacer

Pace = Callable[[SessionHandle, Lane, float], Awaitable[None]]
"""``pace(handle, lane, max_wait)``: wait for a token of the handle's session pacer (PACING
when not within ``max_wait``): the order runtime's ``SessionPacers.pace``."""


class DataSessions(Protocol):
    """The port: the data session of each gateway, and its pacer."""

    def gateway_name(self, gateway: str) -> str:
        """The canonical name of ``gateway`` ("" is the default one); NOT_FOUND when unknown."""
        ...

    async def handle(self, gateway: str) -> SessionHandle:
        """A fenced handle on the gateway's data session (opened on first use)."""
        ...

    async def pace(self, gateway: str, max_wait: float) -> None:
        """Wait for a READ token of the data session's pacer (PACING beyond ``max_wait``).
        Take the handle after this: one taken before a wait may be stale after it."""
        ...


class PooledDataSessions:
    """:class:`DataSessions` over the connection manager's shared data sessions (module
    docstring)."""

    def __init__(self, manager: ConnectionManager, pace: Pace) -> None:
        self._manager = manager
        self._pace = pace
        self._locks: dict[str, asyncio.Lock] = {}

    def gateway_name(self, gateway: str) -> str:
        return self._manager.supervisor(gateway or None).gateway

    async def handle(self, gateway: str) -> SessionHandle:
        # Market data is not order traffic: a line is held through a 1100 (TWS lost IB), as IB
        # keeps it; the handle refuses only what every session refuses (breaker, reconnect).
        name = self.gateway_name(gateway)
        # One opener at a time: 500 subscribers arriving together wait for the first to open
        # the session instead of finding it CONNECTING and failing.
        async with self._locks.setdefault(name, asyncio.Lock()):
            try:
                return await self._manager.data_handle(name)
            except DomainError:
                # Being opened by the order runtime (its first connect): wait for it, bounded.
                monitor = self._manager.supervisor(name)
                cfg = monitor.config
                try:
                    sup = self._manager.supervisor(name, cfg.data_client_id)
                except DomainError:
                    sup = monitor
                if sup is monitor or sup.state is not ConnectionState.CONNECTING:
                    raise
                S = ConnectionState
                await sup.wait_for(
                    S.CONNECTED, S.ERROR, S.RECONNECTING, timeout=3 * cfg.timeout + 1
                )
                return await self._manager.data_handle(name)

    async def pace(self, gateway: str, max_wait: float) -> None:
        await self._pace(await self.handle(gateway), Lane.READ, max_wait)

    def pacers(self) -> list[SessionPacer]:
        """The data sessions' own pacers: none. Market data paces through the order runtime's
        pacer of the shared data session, which ``SessionPacers.all()`` already lists (the
        /metrics gauges read both lists: nothing is counted twice)."""
        return []
