"""The cross-thread snapshot of the pool: one immutable :class:`ManagerSnapshot`, swapped whole.

Everything mutates on the event loop. After every change the :class:`SnapshotStore` builds a
new snapshot and swaps one reference, so any thread reads a consistent picture without a lock.
It also notices when a gateway's usability (:func:`serving`) flips and reports the flip once
(the gRPC health service listens to it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from broker_server.domain.breaker import BreakerState
from broker_server.domain.clock import Clock
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import GatewaySnapshot, SessionSnapshot
from broker_server.domain.health import HealthStatus
from broker_server.runtime.session_pool import GatewayEntry, SessionPool

S = ConnectionState


@dataclass(frozen=True)
class ManagerSnapshot:
    """Every gateway at one instant; immutable, safe to read from any thread."""

    gateways: tuple[GatewaySnapshot, ...] = ()
    """All gateways, in configuration order."""
    taken_at: float = 0.0
    """Wall time of the snapshot, epoch seconds."""
    default_gateway: str = ""
    """Name of the default gateway."""

    def gateway(self, name: str | None = None) -> GatewaySnapshot:
        """The gateway called ``name`` (default gateway when None or empty); KeyError if none."""
        wanted = name or self.default_gateway
        for g in self.gateways:
            if g.gateway == wanted:
                return g
        raise KeyError(wanted)

    @property
    def state(self) -> ConnectionState:
        """The default gateway's monitor state."""
        return self.gateway().state

    @property
    def sessions(self) -> tuple[SessionSnapshot, ...]:
        """Every session of every gateway."""
        return tuple(s for g in self.gateways for s in g.sessions)


def serving(g: GatewaySnapshot) -> bool:
    """A gateway is usable: its monitor CONNECTED, not UNHEALTHY, its breaker not OPEN."""
    return (
        g.state is S.CONNECTED
        and g.health is not HealthStatus.UNHEALTHY
        and g.breaker is not BreakerState.OPEN
    )


def gateway_snapshot(g: GatewayEntry) -> GatewaySnapshot:
    """A fresh picture of one gateway and its sessions.

    The gateway's state and health are its monitor session's: the monitor is the broker's own
    always-on view of the gateway. A PROXIED session has its own health (listed with it); one
    that is still connecting, or failing, says nothing about the gateway.
    """
    sessions = tuple(sup.snapshot() for sup in g.sessions.values())
    mon = next(s for s in sessions if s.client_id == g.monitor_id)
    health = mon.health
    reason = ""
    if mon.state is not S.CONNECTED:
        reason = mon.reason
    elif health is not HealthStatus.HEALTHY:
        reason = "; ".join(r.message for r in mon.reasons)
    return GatewaySnapshot(
        gateway=g.name,
        state=mon.state,
        health=health,
        breaker=g.breaker.state,
        reason=reason,
        address=g.config.address,
        paper_trading=g.config.paper_trading,
        sessions=sessions,
    )


class SnapshotStore:
    """Holds the latest :class:`ManagerSnapshot`; ``on_serving(gateway, serving)`` on flips."""

    def __init__(
        self, pool: SessionPool, clock: Clock, on_serving: Callable[[str, bool], None]
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._on_serving = on_serving
        self._serving: dict[str, bool] = {}
        self._refresher: asyncio.Task[None] | None = None
        self.current = ManagerSnapshot()
        """The latest snapshot (swapped whole; read it from any thread)."""
        self.current = self._build()

    def refresh(self) -> ManagerSnapshot:
        """Rebuild the snapshot now and report usability flips; returns it."""
        snap = self.current = self._build()
        for g in snap.gateways:
            now = serving(g)
            if self._serving.get(g.gateway) != now:
                self._serving[g.gateway] = now
                self._on_serving(g.gateway, now)
        return snap

    def start(self) -> None:
        """Keep the snapshot current while nothing happens (uptime and rates move anyway)."""
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def stop(self) -> None:
        """Stop the periodic refresh."""
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _refresh_loop(self) -> None:
        period = min(g.config.heartbeat_interval for g in self._pool.gateways.values())
        while True:
            await asyncio.sleep(max(period, 0.1))
            self.refresh()

    def _build(self) -> ManagerSnapshot:
        return ManagerSnapshot(
            gateways=tuple(gateway_snapshot(g) for g in self._pool.gateways.values()),
            taken_at=self._clock.wall(),
            default_gateway=self._pool.default,
        )
