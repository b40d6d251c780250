"""The connection manager: every IB session of the broker, their state, health and events.

Per gateway one always-on MONITOR session (``monitor_client_id``) plus one session per PROXIED
lease, all from one pool whose decisions are the pure :func:`broker_server.domain.pool.plan`.
Each session is kept alive by a :class:`~broker_server.runtime.supervisor.SessionSupervisor`;
each gateway has one :class:`~broker_server.domain.breaker.CircuitBreaker`.

Every state transition becomes exactly one JSON log line (gateway, session, client_id, from,
to, reason, attempt), one event on :attr:`ConnectionManager.state_events`, one call of each
registered state callback and one OpenTelemetry counter increment. Health changes go to
:attr:`ConnectionManager.health_events`.

Threads: everything mutates on the event loop. After every change the manager publishes an
immutable :class:`ManagerSnapshot` by swapping one reference, so any thread may call
:meth:`ConnectionManager.get_connection_state` and :meth:`ConnectionManager.is_healthy`.
Other threads call the coroutines through :class:`ThreadSafeManager` (``manager.threadsafe()``),
which marshals them onto the loop with ``asyncio.run_coroutine_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics as otel

from broker_server.config import BrokerConfig, GatewayConfig
from broker_server.domain.breaker import BreakerChange, BreakerPolicy, BreakerState, CircuitBreaker
from broker_server.domain.clock import Clock, SystemClock
from broker_server.domain.connection_state import ConnectionState, Transition
from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation, invalid_argument
from broker_server.domain.events import (
    ConnectionEvent,
    EventKind,
    GatewaySnapshot,
    HealthEvent,
    Restored,
    SessionRole,
    SessionSnapshot,
)
from broker_server.domain.health import Folded, HealthStatus
from broker_server.domain.pool import DesiredSession, HeldSession, plan
from broker_server.domain.reasons import FailureReason
from broker_server.ib.errors import ConnectFailure, ConnectFailureReason
from broker_server.ib.session import IBSession, check_accounts
from broker_server.logs import log_event
from broker_server.runtime.events import EventHub
from broker_server.runtime.health_monitor import ConnectionHealthMonitor
from broker_server.runtime.supervisor import SessionSupervisor

log = logging.getLogger("ibbroker.connection")

ConnectionConfig = GatewayConfig
"""The issue's name for one gateway's connection settings."""

S = ConnectionState

_meter = otel.get_meter("ibbroker")
_transitions = _meter.create_counter(
    "ibbroker.connection.transitions", description="Connection state transitions"
)
_reconnects = _meter.create_counter(
    "ibbroker.connection.reconnects", description="Sessions that lost their socket and reconnect"
)
_health_changes = _meter.create_counter(
    "ibbroker.health.changes", description="Session health status changes"
)
_breaker_transitions = _meter.create_counter(
    "ibbroker.breaker.transitions", description="Circuit breaker state changes"
)

_SEVERITY = {HealthStatus.HEALTHY: 0, HealthStatus.DEGRADED: 1, HealthStatus.UNHEALTHY: 2}

StateCallback = Callable[[ConnectionEvent], object]
GatewayHealthCallback = Callable[[str, bool], object]


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


@dataclass
class _Gateway:
    config: GatewayConfig
    breaker: CircuitBreaker
    sessions: dict[int, SessionSupervisor] = field(default_factory=dict)
    desired: dict[int, DesiredSession] = field(default_factory=dict)
    serving: bool | None = None

    @property
    def monitor(self) -> SessionSupervisor:
        return self.sessions[self.config.monitor_client_id]


def _gateways_of(
    config: BrokerConfig | GatewayConfig | Sequence[GatewayConfig],
) -> tuple[tuple[GatewayConfig, ...], str, int]:
    if isinstance(config, BrokerConfig):
        return config.gateways, config.default_gateway.name, config.server.watcher_queue_size
    if isinstance(config, GatewayConfig):
        return (config,), config.name, 256
    gateways = tuple(config)
    if not gateways:
        raise ValueError("at least one gateway is required")
    return gateways, gateways[0].name, 256


class ConnectionManager:
    """All IB sessions of the broker (the seed's ``IBKRConnectionManager``).

    ``config`` is the whole :class:`BrokerConfig`, or one :class:`GatewayConfig` (or several)
    for embedding and tests. Construct it anywhere; :meth:`start` (on the loop) starts the
    monitor sessions without waiting for them, :meth:`connect` waits until they are CONNECTED.
    """

    def __init__(
        self,
        config: BrokerConfig | GatewayConfig | Sequence[GatewayConfig],
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        queue_size: int | None = None,
    ) -> None:
        gateways, default, default_queue = _gateways_of(config)
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._default = default
        self._gateways: dict[str, _Gateway] = {}
        for gw in gateways:
            breaker = CircuitBreaker(
                BreakerPolicy(
                    failure_threshold=gw.breaker_failures,
                    open_initial=min(gw.breaker_open, gw.breaker_open_max),
                    open_max=gw.breaker_open_max,
                ),
                self._clock,
                self._rng,
                on_change=self._breaker_logger(gw.name),
            )
            g = _Gateway(gw, breaker)
            self._gateways[gw.name] = g
            g.desired[gw.monitor_client_id] = DesiredSession(
                gw.name, gw.monitor_client_id, SessionRole.MONITOR
            )
            g.sessions[gw.monitor_client_id] = self._supervisor(g, g.desired[gw.monitor_client_id])
        # Sequences start at wall-clock milliseconds so they keep rising across broker restarts.
        first = int(self._clock.wall() * 1000)
        size = queue_size or default_queue
        self.state_events: EventHub[ConnectionEvent] = EventHub(
            self._state_snapshot, queue_size=size, first_sequence=first
        )
        """Connection-state events (snapshot first, then transitions, RESTORED, GAP)."""
        self.health_events: EventHub[HealthEvent] = EventHub(
            self._health_snapshot, queue_size=size, first_sequence=first
        )
        """Health events (snapshot first, then changes)."""
        self._callbacks: list[StateCallback] = []
        self._health_hooks: list[GatewayHealthCallback] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool_lock = asyncio.Lock()
        self._closed = False
        self._refresher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._snapshot = ManagerSnapshot()
        self._snapshot = self._build_snapshot()

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every gateway's monitor session (returns at once; see :meth:`connect`)."""
        self._bind_loop()
        for g in self._gateways.values():
            for sup in g.sessions.values():
                sup.start()
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def connect(self, gateway: str | None = None, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Start and wait until the monitor session(s) are CONNECTED.

        Raises UNAVAILABLE when a session ends in ERROR (with its reason) or ``timeout`` passes.
        """
        await self.start()
        targets = [self._gateway(gateway)] if gateway else list(self._gateways.values())
        for g in targets:
            sup = g.monitor
            sup.start()
            try:
                state = await sup.wait_for(S.CONNECTED, S.ERROR, timeout=timeout)
            except TimeoutError:
                raise self._unavailable(g, sup) from None
            if state is S.ERROR:
                raise self._unavailable(g, sup)

    async def disconnect(self, gateway: str | None = None) -> None:
        """Close the monitor session(s); they stay DISCONNECTED until :meth:`connect`."""
        targets = [self._gateway(gateway)] if gateway else list(self._gateways.values())
        for g in targets:
            await g.monitor.close("disconnect requested")

    async def reconnect(
        self, gateway: str = "", session: str = "", reason: str = "reconnect requested"
    ) -> tuple[list[str], float]:
        """Replace the sockets of a gateway's sessions (or one named session) now.

        ``gateway`` empty means the default gateway; ``session`` empty means all its sessions.

        Returns the session names and the seconds they are expected back within.
        """
        self._bind_loop()
        targets = [self._gateway(gateway)]  # empty: the default gateway (as the proto says)
        names: list[str] = []
        within = 0.0
        for g in targets:
            for sup in list(g.sessions.values()):
                if session and sup.name != session:
                    continue
                sup.request_reconnect(reason)
                names.append(sup.name)
                cfg = g.config
                within = max(within, g.breaker.retry_after() + cfg.retry_delay + 3 * cfg.timeout)
        if session and not names:
            known = ", ".join(s.name for g in targets for s in g.sessions.values())
            raise invalid_argument(
                FieldViolation("session", f"no session named {session[:64]!r}; known: {known}")
            )
        return names, within

    async def close(self, reason: str = "broker shutting down") -> None:
        """Graceful shutdown: end the streams with a final event, close every session."""
        if self._closed:
            return
        self._closed = True
        self.end_streams(reason)
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for g in self._gateways.values():
            await asyncio.gather(*(sup.close(reason) for sup in g.sessions.values()))
        for task in list(self._background):
            task.cancel()

    def end_streams(self, reason: str = "broker shutting down") -> None:
        """End every watch stream after one FINAL event (idempotent)."""
        g = self._gateway(None)
        mon = g.monitor
        wall = self._clock.wall()
        self.state_events.close(
            lambda seq: ConnectionEvent(
                sequence=seq,
                event_time=wall,
                gateway=g.config.name,
                session=mon.name,
                client_id=mon.client_id,
                state=mon.state,
                previous_state=mon.state,
                reason=reason,
                attempt=0,
                kind=EventKind.FINAL,
            )
        )
        self.health_events.close(self._current_health(mon, EventKind.FINAL, wall, g.breaker.state))

    async def wait_streams_drained(self, timeout: float = 1.0) -> bool:  # noqa: ASYNC109
        """Wait until every watcher has left the hubs; False when ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.state_events.watcher_count or self.health_events.watcher_count:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # --- reading (any thread for the first two) ------------------------------------------

    def get_connection_state(self) -> ManagerSnapshot:
        """The latest immutable snapshot of every gateway (safe from any thread)."""
        return self._snapshot

    def is_healthy(self, gateway: str | None = None) -> bool:
        """True when the gateway's monitor is CONNECTED, not UNHEALTHY and its breaker not OPEN."""
        try:
            g = self._snapshot.gateway(gateway)
        except KeyError:
            return False
        return _serving(g)

    def gateways(self, name: str = "") -> list[GatewaySnapshot]:
        """Fresh snapshots of every gateway, or the one named (NOT_FOUND when unknown)."""
        if name:
            return [self._gateway_snapshot(self._gateway(name))]
        return [self._gateway_snapshot(g) for g in self._gateways.values()]

    def sessions(self, gateway: str = "") -> list[SessionSnapshot]:
        """Fresh snapshots of every session, or those of one gateway."""
        return [s for g in self.gateways(gateway) for s in g.sessions]

    def supervisor(
        self, gateway: str | None = None, client_id: int | None = None
    ) -> SessionSupervisor:
        """The supervisor of a session (the gateway's monitor by default)."""
        g = self._gateway(gateway)
        cid = g.config.monitor_client_id if client_id is None else client_id
        try:
            return g.sessions[cid]
        except KeyError:
            raise DomainError(
                ErrorKind.NOT_FOUND,
                FailureReason.NOT_CONNECTED,
                f"gateway {g.config.name} has no session with client ID {cid}",
            ) from None

    # --- callbacks and hooks -------------------------------------------------------------

    def register_state_callback(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(event)`` on the loop for every state event; returns an unregister."""
        self._callbacks.append(callback)

        def unregister() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unregister

    def on_gateway_health(self, callback: GatewayHealthCallback) -> None:
        """Call ``callback(gateway, serving)`` whenever a gateway's usability flips.

        ``serving`` is :meth:`is_healthy`. The callback may return an awaitable; it is run as a
        task. Wire it to the standard gRPC health service.
        """
        self._health_hooks.append(callback)

    # --- using a session -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def session(
        self, gateway: str | None = None, *, for_orders: bool = False
    ) -> AsyncIterator[IBSession]:
        """``async with manager.session() as ib_session``: the gateway's monitor session.

        Fails fast: BREAKER_OPEN / RECONNECTING (UNAVAILABLE with retry_after), NOT_CONNECTED,
        and IB_LINK_LOST (FAILED_PRECONDITION) for order traffic between 1100 and 1101/1102.
        """
        g = self._gateway(gateway)
        sup = g.monitor
        self.check_usable(g.config.name, sup.client_id, for_orders=for_orders)
        yield sup.session

    def check_usable(self, gateway: str, client_id: int, *, for_orders: bool = False) -> None:
        """Raise the DomainError a request to this session would get now, if any."""
        g = self._gateway(gateway)
        sup = self.supervisor(gateway, client_id)
        if g.breaker.state is BreakerState.OPEN:
            raise DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.BREAKER_OPEN,
                f"circuit breaker of gateway {gateway} is OPEN: {sup.reason}",
                retry_after=g.breaker.retry_after(),
                metadata={"gateway": gateway},
            )
        if sup.state in (S.RECONNECTING, S.CONNECTING):
            raise DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.RECONNECTING,
                f"session {sup.name} is {sup.state.value}: {sup.reason}",
                retry_after=max(g.config.retry_delay, g.breaker.retry_after()),
                metadata={"gateway": gateway, "session": sup.name},
            )
        if sup.state is not S.CONNECTED:
            raise self._unavailable(g, sup)
        if for_orders and sup.orders_blocked:
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.IB_LINK_LOST,
                f"TWS at {g.config.address} lost its link to IB (1100): orders are held",
                ib_error_code=1100,
                metadata={"gateway": gateway},
            )

    def health_monitor(self, gateway: str | None = None) -> ConnectionHealthMonitor:
        """The heartbeat monitor of a gateway's monitor session (``check_health``,
        ``get_metrics``, ``start_monitoring``, ``stop_monitoring``)."""
        return self.supervisor(gateway).monitor

    def connect_threadsafe(self, gateway: str | None = None, timeout: float | None = 30.0) -> None:
        """Blocking :meth:`connect` for other threads (see :class:`ThreadSafeManager`)."""
        self.threadsafe().connect(gateway, timeout)

    def disconnect_threadsafe(self, gateway: str | None = None) -> None:
        """Blocking :meth:`disconnect` for other threads."""
        self.threadsafe().disconnect(gateway)

    def reconnect_threadsafe(
        self, gateway: str = "", session: str = "", reason: str = "reconnect requested"
    ) -> tuple[list[str], float]:
        """Blocking :meth:`reconnect` for other threads."""
        return self.threadsafe().reconnect(gateway, session, reason)

    def threadsafe(self) -> ThreadSafeManager:
        """A facade for other threads (after :meth:`start` bound the loop)."""
        if self._loop is None:
            raise RuntimeError("start() the manager on its event loop first")
        return ThreadSafeManager(self, self._loop)

    # --- the pool (ProxiedSessionPool, ClientIdProber) ------------------------------------

    async def open_session(self, gateway: str, client_id: int, lease_id: str) -> None:
        """Open a PROXIED session for a lease and wait until it is CONNECTED.

        Raises the reason of the first failed attempt (CLIENT_ID_IN_USE, CONNECTION_REFUSED,
        ...) as a DomainError, and fails fast while the gateway's monitor is not CONNECTED.
        """
        self._bind_loop()
        g = self._gateway(gateway)
        # A gateway whose monitor lost it (breaker open, reconnecting, error) will not take a
        # new session either: fail fast. A monitor still on its first connect is no verdict.
        if g.monitor.state is not S.CONNECTING:
            self.check_usable(gateway, g.config.monitor_client_id)
        g.desired[client_id] = DesiredSession(gateway, client_id, SessionRole.PROXIED, lease_id)
        await self._reconcile(g)
        sup = g.sessions[client_id]
        try:
            # The first failed attempt decides: a lease must not wait out a backoff.
            state = await sup.wait_for(
                S.CONNECTED, S.ERROR, S.RECONNECTING, timeout=3 * g.config.timeout + 1
            )
        except TimeoutError:
            state = sup.state
        if state is not S.CONNECTED:
            error = self._unavailable(g, sup)
            g.desired.pop(client_id, None)
            await self._reconcile(g)
            raise error

    async def close_session(self, gateway: str, client_id: int) -> None:
        """Close a PROXIED session (no-op when there is none)."""
        g = self._gateway(gateway)
        desired = g.desired.get(client_id)
        if desired is None or desired.role is SessionRole.MONITOR:
            return
        del g.desired[client_id]
        await self._reconcile(g)

    def account_mismatch(self, gateway: str) -> str | None:
        """Why ``gateway``'s managed accounts do not fit its config, as its monitor session last
        saw them; None when they fit or are not known yet (lease manager's paper/live guard,
        :class:`~broker_server.runtime.lease_ports.GatewayAccounts`)."""
        g = self._gateways.get(gateway)
        if g is None or g.config.monitor_client_id not in g.sessions:
            return None
        monitor = g.monitor
        if monitor.reason.startswith(FailureReason.ACCOUNT_MISMATCH.value):
            return monitor.reason
        accounts = list(monitor.session.accounts)
        return check_accounts(g.config, accounts) if accounts else None

    async def probe(self, gateway: str, client_id: int) -> bool:
        """Connect with ``client_id`` and disconnect at once: True when IB did not answer 326."""
        g = self._gateway(gateway)
        if client_id in g.sessions:
            return False  # the broker itself holds it
        probe = IBSession(g.config, client_id)
        try:
            await probe.connect(sync=False)
        except ConnectFailure as failure:
            if failure.reason is ConnectFailureReason.CLIENT_ID_IN_USE:
                return False
            raise DomainError(
                ErrorKind.UNAVAILABLE,
                failure.reason.value,
                f"cannot probe client ID {client_id} on {gateway}: {failure.message}",
                retry_after=max(g.config.retry_delay, g.breaker.retry_after()),
            ) from failure
        finally:
            await probe.disconnect()
        return True

    async def _reconcile(self, g: _Gateway) -> None:
        async with self._pool_lock:
            held = [
                HeldSession(g.config.name, s.client_id, s.role, s.lease_id)
                for s in g.sessions.values()
            ]
            decision = plan(g.desired.values(), held)
            for h in decision.close:
                sup = g.sessions.pop(h.client_id)
                await sup.close("session no longer wanted")
            for d in decision.rejected:
                log_event(
                    log,
                    logging.WARNING,
                    "session_rejected",
                    gateway=d.gateway,
                    client_id=d.client_id,
                    reason="gateway at its 32-client capacity",
                )
            for d in decision.open:
                sup = self._supervisor(g, d)
                g.sessions[d.client_id] = sup
                sup.start()
            self._refresh()

    def _supervisor(self, g: _Gateway, d: DesiredSession) -> SessionSupervisor:
        return SessionSupervisor(
            g.config,
            d.client_id,
            d.role,
            clock=self._clock,
            rng=self._rng,
            breaker=g.breaker,
            observer=self,
            lease_id=d.lease_id,
        )

    # --- SessionObserver -----------------------------------------------------------------

    def on_transition(self, session: SessionSupervisor, change: Transition) -> None:
        """One log line, one event, the callbacks, the counters."""
        log_event(
            log,
            logging.INFO,
            "connection_transition",
            gateway=session.gateway,
            session=session.name,
            client_id=session.client_id,
            **{"from": change.from_state.value, "to": change.to_state.value},
            reason=change.reason,
            attempt=change.attempt,
            generation=session.generation,
        )
        _transitions.add(1, {"gateway": session.gateway, "to": change.to_state.value})
        if change.to_state is S.RECONNECTING and change.from_state is S.CONNECTED:
            _reconnects.add(1, {"gateway": session.gateway})
        event = self.state_events.publish(
            lambda seq: ConnectionEvent(
                sequence=seq,
                event_time=change.wall_time,
                gateway=session.gateway,
                session=session.name,
                client_id=session.client_id,
                state=change.to_state,
                previous_state=change.from_state,
                reason=change.reason,
                attempt=change.attempt,
                kind=EventKind.TRANSITION,
            )
        )
        self._notify(event)
        self._refresh()

    def on_health(self, session: SessionSupervisor, folded: Folded) -> None:
        """Publish a health change."""
        view, before = folded.view, folded.previous
        log_event(
            log,
            logging.INFO,
            "health_changed",
            gateway=session.gateway,
            session=session.name,
            client_id=session.client_id,
            **{"from": before.status.value},
            to=view.status.value,
            reasons=[r.code for r in view.reasons],
            orders_blocked=view.orders_blocked,
        )
        _health_changes.add(1, {"gateway": session.gateway, "to": view.status.value})
        metrics = session.metrics()
        self.health_events.publish(
            lambda seq: HealthEvent(
                sequence=seq,
                event_time=self._clock.wall(),
                gateway=session.gateway,
                session=session.name,
                client_id=session.client_id,
                status=view.status,
                previous_status=before.status,
                reasons=view.reasons,
                metrics=metrics,
                kind=EventKind.TRANSITION,
                breaker=self._gateways[session.gateway].breaker.state,
            )
        )
        self._refresh()

    def on_restored(
        self, session: SessionSupervisor, restored: Restored, gap_start: float, gap_end: float
    ) -> None:
        """Publish RESTORED, then GAP."""
        log_event(
            log,
            logging.INFO,
            "session_restored",
            gateway=session.gateway,
            session=session.name,
            client_id=session.client_id,
            positions=restored.positions,
            open_orders=restored.open_orders,
            executions=restored.executions,
            market_data_subscriptions=restored.market_data_subscriptions,
            gap_seconds=round(gap_end - gap_start, 3),
            generation=session.generation,
        )
        common: dict[str, Any] = dict(
            gateway=session.gateway,
            session=session.name,
            client_id=session.client_id,
            state=S.CONNECTED,
            previous_state=S.CONNECTED,
            attempt=0,
        )
        restored_event = self.state_events.publish(
            lambda seq: ConnectionEvent(
                sequence=seq,
                event_time=gap_end,
                reason="RESTORED",
                kind=EventKind.RESTORED,
                restored=restored,
                **common,
            )
        )
        self._notify(restored_event)
        gap_event = self.state_events.publish(
            lambda seq: ConnectionEvent(
                sequence=seq,
                event_time=gap_end,
                reason="GAP",
                kind=EventKind.GAP,
                gap_start=gap_start,
                gap_end=gap_end,
                **common,
            )
        )
        self._notify(gap_event)

    def on_breaker(self, session: SessionSupervisor) -> None:
        """The breaker may have moved: refresh what other threads and gRPC health see."""
        self._refresh()

    def _breaker_logger(self, gateway: str) -> Callable[[BreakerChange], None]:
        def on_change(change: BreakerChange) -> None:
            self._on_breaker_change(gateway, change)

        return on_change

    def _on_breaker_change(self, gateway: str, change: BreakerChange) -> None:
        log_event(
            log,
            logging.WARNING if change.to_state is BreakerState.OPEN else logging.INFO,
            "breaker_transition",
            gateway=gateway,
            **{"from": change.from_state.value},
            to=change.to_state.value,
            reason=change.reason,
            open_for=round(change.open_for, 3),
        )
        _breaker_transitions.add(1, {"gateway": gateway, "to": change.to_state.value})
        # Watchers see the breaker move on the health stream, once per session of the gateway.
        wall = self._clock.wall()
        for sup in self._gateways[gateway].sessions.values():
            self.health_events.publish(
                self._current_health(sup, EventKind.TRANSITION, wall, change.to_state)
            )

    # --- internals -----------------------------------------------------------------------

    def _notify(self, event: ConnectionEvent) -> None:
        for callback in list(self._callbacks):
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    self._spawn(result)
            except Exception:
                log.exception("state callback failed")

    def _spawn(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _refresh(self) -> None:
        self._snapshot = self._build_snapshot()
        for g in self._gateways.values():
            serving = _serving(self._snapshot.gateway(g.config.name))
            if serving != g.serving:
                g.serving = serving
                for hook in list(self._health_hooks):
                    try:
                        result = hook(g.config.name, serving)
                        if inspect.isawaitable(result):
                            self._spawn(result)
                    except Exception:
                        log.exception("gateway health hook failed")

    async def _refresh_loop(self) -> None:
        # Metrics (uptime, rates) move without events; keep the cross-thread snapshot current.
        period = min(g.config.heartbeat_interval for g in self._gateways.values())
        while True:
            await asyncio.sleep(max(period, 0.1))
            self._refresh()

    def _build_snapshot(self) -> ManagerSnapshot:
        return ManagerSnapshot(
            gateways=tuple(self._gateway_snapshot(g) for g in self._gateways.values()),
            taken_at=self._clock.wall(),
            default_gateway=self._default,
        )

    def _gateway_snapshot(self, g: _Gateway) -> GatewaySnapshot:
        sessions = tuple(sup.snapshot() for sup in g.sessions.values())
        mon = next(s for s in sessions if s.client_id == g.config.monitor_client_id)
        health = max((s.health for s in sessions), key=_SEVERITY.__getitem__)
        reason = ""
        if mon.state is not S.CONNECTED:
            reason = mon.reason
        elif health is not HealthStatus.HEALTHY:
            reason = "; ".join(r.message for s in sessions for r in s.reasons)
        return GatewaySnapshot(
            gateway=g.config.name,
            state=mon.state,
            health=health,
            breaker=g.breaker.state,
            reason=reason,
            address=g.config.address,
            paper_trading=g.config.paper_trading,
            sessions=sessions,
        )

    def _state_snapshot(self, sequence: int) -> list[ConnectionEvent]:
        wall = self._clock.wall()
        events = []
        for sup in self._all_sessions():
            last = sup.last_transition
            events.append(
                ConnectionEvent(
                    sequence=sequence,
                    event_time=wall,
                    gateway=sup.gateway,
                    session=sup.name,
                    client_id=sup.client_id,
                    state=sup.state,
                    previous_state=last.from_state if last else sup.state,
                    reason=sup.reason,
                    attempt=sup.attempt,
                    kind=EventKind.SNAPSHOT,
                )
            )
        return events

    def _health_snapshot(self, sequence: int) -> list[HealthEvent]:
        wall = self._clock.wall()
        return [
            self._current_health(
                sup, EventKind.SNAPSHOT, wall, self._gateways[sup.gateway].breaker.state
            )(sequence)
            for sup in self._all_sessions()
        ]

    @staticmethod
    def _current_health(
        sup: SessionSupervisor, kind: EventKind, wall: float, breaker: BreakerState
    ) -> Callable[[int], HealthEvent]:
        """The session's health as it stands, as an event of ``kind`` awaiting its sequence."""
        reasons, metrics = sup.monitor.check_health().reasons, sup.metrics()
        return lambda seq: HealthEvent(
            sequence=seq,
            event_time=wall,
            gateway=sup.gateway,
            session=sup.name,
            client_id=sup.client_id,
            status=sup.health,
            previous_status=sup.health,
            reasons=reasons,
            metrics=metrics,
            kind=kind,
            breaker=breaker,
        )

    def _all_sessions(self) -> Iterable[SessionSupervisor]:
        for g in self._gateways.values():
            yield from g.sessions.values()

    def _gateway(self, name: str | None) -> _Gateway:
        key = name or self._default
        try:
            return self._gateways[key]
        except KeyError:
            raise DomainError(
                ErrorKind.NOT_FOUND,
                FailureReason.GATEWAY_UNKNOWN,
                # Cut: a caller can send any length, and the status travels in the trailers.
                f"no gateway named {key[:64]!r}; configured: {', '.join(self._gateways)}",
                metadata={"gateway": key[:64]},
            ) from None

    def _unavailable(self, g: _Gateway, sup: SessionSupervisor) -> DomainError:
        # TODO(architecture step): the supervisor should carry its reason typed; until then
        # the reason text starts with a FailureReason name.
        head = sup.reason.split(":")[0]
        known = {
            FailureReason.BREAKER_OPEN,
            FailureReason.CLIENT_ID_IN_USE,
            FailureReason.CONNECTION_REFUSED,
            FailureReason.HANDSHAKE_TIMEOUT,
            FailureReason.SERVER_VERSION_TOO_OLD,
            FailureReason.SYNC_TIMEOUT,
            FailureReason.ACCOUNT_MISMATCH,
            FailureReason.HEARTBEAT_TIMEOUT,
        }
        code = FailureReason(head) if head in known else FailureReason.NOT_CONNECTED
        if sup.state in (S.RECONNECTING, S.CONNECTING):
            code = FailureReason.RECONNECTING
        retry = g.breaker.retry_after() or g.config.retry_delay
        if code in (FailureReason.ACCOUNT_MISMATCH, FailureReason.SERVER_VERSION_TOO_OLD):
            kind, retry_after = ErrorKind.FAILED_PRECONDITION, None
        else:
            kind, retry_after = ErrorKind.UNAVAILABLE, retry
        return DomainError(
            kind,
            code,
            f"session {sup.name} is {sup.state.value}: {sup.reason or 'not connected'}",
            retry_after=retry_after,
            metadata={"gateway": g.config.name, "session": sup.name},
        )

    def _bind_loop(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    def __repr__(self) -> str:
        parts = [f"{s.session}={s.state.value}/{s.health.value}" for s in self._snapshot.sessions]
        return f"<ConnectionManager [{', '.join(parts)}]>"


def _serving(g: GatewaySnapshot) -> bool:
    return (
        g.state is S.CONNECTED
        and g.health is not HealthStatus.UNHEALTHY
        and g.breaker is not BreakerState.OPEN
    )


IBKRConnectionManager = ConnectionManager
"""The seed's name."""


class ThreadSafeManager:
    """Call the manager from any thread: coroutines are marshalled onto its event loop.

    Reads (:meth:`get_connection_state`, :meth:`is_healthy`) return the immutable snapshot
    without touching the loop. Never call the blocking methods on the loop's own thread.
    """

    def __init__(self, manager: ConnectionManager, loop: asyncio.AbstractEventLoop) -> None:
        self._manager = manager
        self._loop = loop

    def _call(self, make: Callable[[], Any], timeout: float | None) -> Any:
        if self._loop.is_running() and _on_loop_thread(self._loop):
            raise RuntimeError("ThreadSafeManager blocks: call the manager directly on its loop")
        future = asyncio.run_coroutine_threadsafe(make(), self._loop)
        return future.result(timeout)

    def connect(self, gateway: str | None = None, timeout: float | None = 30.0) -> None:
        """Blocking :meth:`ConnectionManager.connect`."""
        self._call(lambda: self._manager.connect(gateway, timeout), None)

    def disconnect(self, gateway: str | None = None, timeout: float | None = 30.0) -> None:
        """Blocking :meth:`ConnectionManager.disconnect`."""
        self._call(lambda: self._manager.disconnect(gateway), timeout)

    def reconnect(
        self,
        gateway: str = "",
        session: str = "",
        reason: str = "reconnect requested",
        timeout: float | None = 30.0,
    ) -> tuple[list[str], float]:
        """Blocking :meth:`ConnectionManager.reconnect`."""
        result: tuple[list[str], float] = self._call(
            lambda: self._manager.reconnect(gateway, session, reason), timeout
        )
        return result

    def sessions(self, gateway: str = "", timeout: float | None = 30.0) -> list[SessionSnapshot]:
        """Fresh session snapshots, computed on the loop."""

        async def read() -> list[SessionSnapshot]:
            return self._manager.sessions(gateway)

        result: list[SessionSnapshot] = self._call(read, timeout)
        return result

    def register_state_callback(self, callback: StateCallback) -> Callable[[], None]:
        """Register ``callback`` (it runs on the loop thread); returns a thread-safe unregister."""
        done = threading.Event()
        holder: list[Callable[[], None]] = []

        def register() -> None:
            holder.append(self._manager.register_state_callback(callback))
            done.set()

        self._loop.call_soon_threadsafe(register)
        done.wait(5.0)

        def unregister() -> None:
            if holder:
                self._loop.call_soon_threadsafe(holder[0])

        return unregister

    def get_connection_state(self) -> ManagerSnapshot:
        """The latest immutable snapshot."""
        return self._manager.get_connection_state()

    def is_healthy(self, gateway: str | None = None) -> bool:
        """See :meth:`ConnectionManager.is_healthy`."""
        return self._manager.is_healthy(gateway)


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
