"""The session pool: per gateway, the sessions the broker wants and the supervisors it holds.

Reconciliation follows httpcore's connection pool: under the pool lock the pure
:func:`broker_server.domain.pool.plan` decides what to close and open and the bookkeeping is
updated at once (a session to close leaves ``sessions`` and enters ``closing``; a new
supervisor is registered); the I/O (closing sockets, starting supervisors) then runs outside
the lock in its own task, shielded, so a cancelled caller never leaves a session half-closed
and a slow close never holds up the next decision. A session opened on a client ID that is
still closing starts only once that close has finished (TWS would answer 326 otherwise).

The pool knows nothing of events: supervisors report to the ``observer`` given to it (the
connection manager), breakers to ``on_breaker_change``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from broker_server.config import GatewayConfig
from broker_server.domain.breaker import BreakerChange, BreakerPolicy, CircuitBreaker
from broker_server.domain.clock import Clock
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.events import SessionRole
from broker_server.domain.pool import DesiredSession, HeldSession, plan
from broker_server.domain.reasons import FailureReason
from broker_server.logs import log_event
from broker_server.runtime.observer import SessionObserver
from broker_server.runtime.supervisor import SessionSupervisor
from broker_server.runtime.usability import check_usable, unavailable

log = logging.getLogger("ibbroker.connection")

S = ConnectionState


@dataclass
class GatewayEntry:
    """One gateway's part of the pool."""

    config: GatewayConfig
    """The gateway's configuration."""
    breaker: CircuitBreaker
    """The gateway's circuit breaker, shared by all its sessions."""
    monitor_id: int
    """Client ID of the gateway's monitor session."""
    sessions: dict[int, SessionSupervisor] = field(default_factory=dict)
    """Held sessions by client ID (any state)."""
    desired: dict[int, DesiredSession] = field(default_factory=dict)
    """Wanted sessions by client ID."""
    closing: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    """Sessions decided closed whose socket is still being closed, by client ID."""

    @property
    def name(self) -> str:
        """The gateway's name."""
        return self.config.name

    @property
    def monitor(self) -> SessionSupervisor:
        """The gateway's monitor session."""
        return self.sessions[self.monitor_id]


class SessionPool:
    """Every gateway's sessions; reconciles desired against held (see the module docstring)."""

    def __init__(
        self,
        gateways: Sequence[GatewayConfig],
        default: str,
        *,
        clock: Clock,
        rng: random.Random,
        observer: SessionObserver,
        on_breaker_change: Callable[[str, BreakerChange], None],
        on_change: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._observer = observer
        self._on_change = on_change
        self.default = default
        """Name of the default gateway."""
        self._lock = asyncio.Lock()
        self._io: set[asyncio.Task[None]] = set()
        self.gateways: dict[str, GatewayEntry] = {}
        """Every gateway, in configuration order."""
        for gw in gateways:
            breaker = CircuitBreaker(
                BreakerPolicy(
                    failure_threshold=gw.breaker_failures,
                    open_initial=min(gw.breaker_open, gw.breaker_open_max),
                    open_max=gw.breaker_open_max,
                    min_failure_span=gw.breaker_failure_span,
                ),
                clock,
                rng,
                on_change=_bind(on_breaker_change, gw.name),
            )
            g = GatewayEntry(gw, breaker, gw.monitor_client_id)
            self.gateways[gw.name] = g
            monitor = DesiredSession(gw.name, g.monitor_id, SessionRole.MONITOR)
            g.desired[g.monitor_id] = monitor
            g.sessions[g.monitor_id] = self._supervisor(g, monitor)

    # --- lookup ----------------------------------------------------------------------------

    def gateway(self, name: str | None) -> GatewayEntry:
        """The gateway called ``name`` (the default when empty); NOT_FOUND when unknown."""
        key = name or self.default
        try:
            return self.gateways[key]
        except KeyError:
            raise DomainError(
                ErrorKind.NOT_FOUND,
                FailureReason.GATEWAY_UNKNOWN,
                # Cut: a caller can send any length, and the status travels in the trailers.
                f"no gateway named {key[:64]!r}; configured: {', '.join(self.gateways)}",
                metadata={"gateway": key[:64]},
            ) from None

    def supervisor(self, gateway: str | None, client_id: int | None = None) -> SessionSupervisor:
        """The supervisor of a session (the gateway's monitor by default); NOT_FOUND if none."""
        g = self.gateway(gateway)
        cid = g.monitor_id if client_id is None else client_id
        try:
            return g.sessions[cid]
        except KeyError:
            raise DomainError(
                ErrorKind.NOT_FOUND,
                FailureReason.NOT_CONNECTED,
                f"gateway {g.name} has no session with client ID {cid}",
            ) from None

    def all_sessions(self) -> Iterable[SessionSupervisor]:
        """Every held session of every gateway."""
        for g in self.gateways.values():
            yield from g.sessions.values()

    # --- PROXIED sessions ------------------------------------------------------------------

    async def open_session(self, gateway: str, client_id: int, lease_id: str) -> None:
        """Open a PROXIED session for a lease and wait until it is CONNECTED (see manager)."""
        g = self.gateway(gateway)
        # A gateway whose monitor lost it (breaker open, reconnecting, error) will not take a
        # new session either: fail fast. A monitor still on its first connect is no verdict.
        if g.monitor.state is not S.CONNECTING:
            check_usable(g.config, g.breaker, g.monitor)
        g.desired[client_id] = DesiredSession(gateway, client_id, SessionRole.PROXIED, lease_id)
        await self.reconcile(g)
        sup = g.sessions[client_id]
        try:
            # The first failed attempt decides: a lease must not wait out a backoff.
            state = await sup.wait_for(
                S.CONNECTED, S.ERROR, S.RECONNECTING, timeout=3 * g.config.timeout + 1
            )
        except TimeoutError:
            state = sup.state
        if state is not S.CONNECTED:
            error = unavailable(g.config, g.breaker, sup)
            g.desired.pop(client_id, None)
            await self.reconcile(g)
            raise error

    async def close_session(self, gateway: str, client_id: int) -> None:
        """Close a PROXIED session (no-op when there is none)."""
        g = self.gateway(gateway)
        desired = g.desired.get(client_id)
        if desired is None or desired.role is SessionRole.MONITOR:
            return
        del g.desired[client_id]
        await self.reconcile(g)

    # --- reconciliation --------------------------------------------------------------------

    async def reconcile(self, g: GatewayEntry) -> None:
        """Make the held sessions the desired ones: decide under the lock, I/O outside it."""
        async with self._lock:
            held = [
                HeldSession(g.name, s.client_id, s.role, s.lease_id) for s in g.sessions.values()
            ]
            decision = plan(g.desired.values(), held)
            closes: list[SessionSupervisor] = [g.sessions.pop(h.client_id) for h in decision.close]
            for d in decision.rejected:
                log_event(
                    log,
                    logging.WARNING,
                    "session_rejected",
                    gateway=d.gateway,
                    client_id=d.client_id,
                    reason="gateway at its 32-client capacity",
                )
            opens: list[SessionSupervisor] = []
            for d in decision.open:
                sup = self._supervisor(g, d)
                g.sessions[d.client_id] = sup
                opens.append(sup)
            if not (closes or opens):
                return
            loop = asyncio.get_running_loop()
            for sup in closes:
                task = loop.create_task(sup.close("session no longer wanted"))
                g.closing[sup.client_id] = task
                task.add_done_callback(_forget(g.closing, sup.client_id))
            io = loop.create_task(self._apply(g, closes, opens), name=f"pool io {g.name}")
            self._io.add(io)
            io.add_done_callback(self._io.discard)
            self._on_change()
        # Shielded: the caller may be cancelled, the I/O still finishes (no half-closed socket).
        await asyncio.shield(io)

    async def _apply(
        self, g: GatewayEntry, closes: list[SessionSupervisor], opens: list[SessionSupervisor]
    ) -> None:
        closing = [g.closing[s.client_id] for s in closes if s.client_id in g.closing]
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)
        for sup in opens:
            earlier = g.closing.get(sup.client_id)
            if earlier is not None:  # closed by an earlier reconcile, still going
                await asyncio.gather(earlier, return_exceptions=True)
            if g.sessions.get(sup.client_id) is sup:  # still wanted
                sup.start()
        self._on_change()

    async def drain(self) -> None:
        """Wait for every pool I/O in flight (closes and starts)."""
        while self._io:
            await asyncio.gather(*list(self._io), return_exceptions=True)

    def start_all(self) -> None:
        """Start every held session's supervisor (idempotent)."""
        for sup in self.all_sessions():
            sup.start()

    async def close_all(self, reason: str) -> None:
        """Close every session of every gateway (waits for pool I/O in flight first)."""
        await self.drain()
        for g in self.gateways.values():
            await asyncio.gather(*(sup.close(reason) for sup in g.sessions.values()))

    def _supervisor(self, g: GatewayEntry, d: DesiredSession) -> SessionSupervisor:
        return SessionSupervisor(
            g.config,
            d.client_id,
            d.role,
            clock=self._clock,
            rng=self._rng,
            breaker=g.breaker,
            observer=self._observer,
            lease_id=d.lease_id,
            fallback_ids=g.config.monitor_client_ids if d.role is SessionRole.MONITOR else (),
        )

    def rekey(self, sup: SessionSupervisor, previous: int) -> None:
        """A monitor moved from client ID ``previous`` to ``sup.client_id``: file it anew."""
        g = self.gateways[sup.gateway]
        if g.sessions.get(previous) is not sup:
            return
        # Rebuilt in order: the monitor stays first in listings and snapshots.
        g.sessions = {(sup.client_id if k == previous else k): v for k, v in g.sessions.items()}
        wanted = g.desired.pop(previous, None)
        if wanted is not None:
            g.desired[sup.client_id] = DesiredSession(
                wanted.gateway, sup.client_id, wanted.role, wanted.lease_id
            )
        if g.monitor_id == previous:
            g.monitor_id = sup.client_id

    def __repr__(self) -> str:
        parts = [
            f"{g.name}: held={sorted(g.sessions)} closing={sorted(g.closing)}"
            for g in self.gateways.values()
        ]
        return f"<SessionPool [{'; '.join(parts)}]>"


def _bind(
    callback: Callable[[str, BreakerChange], None], gateway: str
) -> Callable[[BreakerChange], None]:
    def on_change(change: BreakerChange) -> None:
        callback(gateway, change)

    return on_change


def _forget(
    closing: dict[int, asyncio.Task[None]], client_id: int
) -> Callable[[asyncio.Task[None]], None]:
    def done(task: asyncio.Task[None]) -> None:
        if closing.get(client_id) is task:
            del closing[client_id]

    return done
