"""The connection manager: every IB session of the broker, their state, health and events.

Per gateway one always-on MONITOR session (``monitor_client_id``) plus one session per PROXIED
lease, all from one pool whose decisions are the pure :func:`broker_server.domain.pool.plan`.
Each session is kept alive by a :class:`~broker_server.runtime.supervisor.SessionSupervisor`;
each gateway has one :class:`~broker_server.domain.breaker.CircuitBreaker`.

:class:`ConnectionManager` is the public entry point; it wires collaborators that import one
way (``connections -> publisher/snapshots -> session_pool -> usability -> supervisor``):

- :mod:`~broker_server.runtime.session_pool`: desired vs held sessions, I/O outside the lock;
- :mod:`~broker_server.runtime.publisher`: logs, metrics, the two hubs, the callbacks;
- :mod:`~broker_server.runtime.snapshots`: the immutable cross-thread :class:`ManagerSnapshot`;
- :mod:`~broker_server.runtime.handles`: generation-fenced :class:`SessionHandle`;
- :mod:`~broker_server.runtime.usability`: session state -> the DomainError a caller gets;
- :mod:`~broker_server.runtime.threadsafe`: :class:`ThreadSafeManager` for other threads.

Events (every way to observe the manager; all but snapshots are delivered on the loop):

- ``state_events`` (:class:`~broker_server.runtime.events.EventHub` of
  :class:`~broker_server.domain.events.ConnectionEvent`): ``async for e in
  manager.state_events.subscribe(resume_after)``; a SNAPSHOT of every session first, then one
  TRANSITION per state change, RESTORED and GAP after a reconnect restored state, FINAL at
  shutdown. Sequenced and resumable; a slow watcher is coalesced into a fresh snapshot.
  ``WatchConnectionState`` streams it.
- ``health_events`` (hub of :class:`~broker_server.domain.events.HealthEvent`): the same
  shape for health: SNAPSHOT, a TRANSITION per health change of a session, one per session of a
  gateway when its breaker moves, FINAL. ``WatchHealth`` streams it.
- :meth:`register_state_callback` ``(callback(event))``: every state event, synchronously on
  the loop, in order (an awaitable result runs as a task); returns an unregister function. From
  another thread use ``manager.threadsafe().register_state_callback``.
- :meth:`on_gateway_health` ``(callback(gateway, serving))``: once per flip of a gateway's
  usability (:meth:`is_healthy`); the standard ``grpc.health.v1`` service listens to it.
- :meth:`get_connection_state` / :meth:`is_healthy`: the latest immutable
  :class:`ManagerSnapshot`, from any thread, refreshed after every change and every heartbeat
  interval (no events, just the current picture).
- :meth:`gateways` / :meth:`sessions`: fresh snapshots computed now (on the loop).
- Logs and metrics: each transition is one ``connection_transition`` JSON line and an
  ``ibbroker.connection.transitions`` increment; health ``health_changed``, breaker
  ``breaker_transition``, restore ``session_restored``.

Threads: everything mutates on the event loop. Other threads read snapshots and call the
coroutines through :class:`ThreadSafeManager` (``manager.threadsafe()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Sequence

from broker_server.config import BrokerConfig, GatewayConfig
from broker_server.domain.breaker import BreakerChange
from broker_server.domain.clock import Clock, SystemClock
from broker_server.domain.connection_state import ConnectionState, Transition
from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation, invalid_argument
from broker_server.domain.events import (
    ConnectionEvent,
    GatewaySnapshot,
    HealthEvent,
    Restored,
    SessionRole,
    SessionSnapshot,
)
from broker_server.domain.health import Folded
from broker_server.domain.leader_deadline import LeaderDeadline
from broker_server.domain.reasons import FailureReason
from broker_server.ib.errors import ConnectFailure
from broker_server.ib.probe import probe_client_id
from broker_server.ib.session import check_accounts
from broker_server.runtime.events import EventHub
from broker_server.runtime.handles import SessionHandle, StaleSessionError
from broker_server.runtime.health_monitor import ConnectionHealthMonitor
from broker_server.runtime.publisher import (
    EventPublisher,
    GatewayHealthCallback,
    StateCallback,
)
from broker_server.runtime.session_pool import SessionPool
from broker_server.runtime.snapshots import (
    ManagerSnapshot,
    SnapshotStore,
    serving,
)
from broker_server.runtime.supervisor import SessionSupervisor
from broker_server.runtime.threadsafe import ThreadSafeManager
from broker_server.runtime.usability import check_usable, retry_hint, unavailable

__all__ = [
    "ConnectionConfig",
    "ConnectionManager",
    "GatewayHealthCallback",
    "IBKRConnectionManager",
    "ManagerSnapshot",
    "SessionHandle",
    "StaleSessionError",
    "StateCallback",
    "ThreadSafeManager",
]

ConnectionConfig = GatewayConfig
"""The issue's name for one gateway's connection settings."""

S = ConnectionState


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
    See the module docstring for every way to observe it.
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
        self._pool = SessionPool(
            gateways,
            default,
            clock=self._clock,
            rng=rng or random.Random(),
            observer=self,
            on_breaker_change=self._on_breaker_change,
            on_change=self._refresh,
        )
        self._events = EventPublisher(
            self._pool, self._clock, queue_size=queue_size or default_queue
        )
        self.state_events: EventHub[ConnectionEvent] = self._events.state_events
        """Connection-state events (snapshot first, then transitions, RESTORED, GAP, FINAL)."""
        self.health_events: EventHub[HealthEvent] = self._events.health_events
        """Health events (snapshot first, then changes and breaker moves, FINAL)."""
        self._snapshots = SnapshotStore(self._pool, self._clock, self._events.serving_changed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.leadership = LeaderDeadline.unbounded(self._clock)
        """The store leadership's local deadline (the app sets it for PostgreSQL): a PROXIED
        session is opened only while it has not passed."""

    # --- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start every gateway's monitor session (returns at once; see :meth:`connect`)."""
        self._bind_loop()
        self._pool.start_all()
        self._snapshots.start()

    async def connect(self, gateway: str | None = None, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Start and wait until the monitor session(s) are CONNECTED.

        Raises UNAVAILABLE when a session ends in ERROR (with its reason) or ``timeout`` passes.
        """
        await self.start()
        targets = [self._pool.gateway(gateway)] if gateway else list(self._pool.gateways.values())
        for g in targets:
            sup = g.monitor
            sup.start()
            try:
                state = await sup.wait_for(S.CONNECTED, S.ERROR, timeout=timeout)
            except TimeoutError:
                raise unavailable(g.config, g.breaker, sup) from None
            if state is S.ERROR:
                raise unavailable(g.config, g.breaker, sup)

    async def disconnect(self, gateway: str | None = None) -> None:
        """Close the monitor session(s); they stay DISCONNECTED until :meth:`connect`."""
        targets = [self._pool.gateway(gateway)] if gateway else list(self._pool.gateways.values())
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
        g = self._pool.gateway(gateway)  # empty: the default gateway (as the proto says)
        names: list[str] = []
        within = 0.0
        for sup in list(g.sessions.values()):
            if session and sup.name != session:
                continue
            sup.request_reconnect(reason)
            names.append(sup.name)
            cfg = g.config
            within = max(within, g.breaker.retry_after() + cfg.retry_delay + 3 * cfg.timeout)
        if session and not names:
            known = ", ".join(s.name for s in g.sessions.values())
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
        await self._snapshots.stop()
        await self._pool.close_all(reason)
        self._events.cancel_background()

    def drop_sockets(self) -> int:
        """Drop every IB socket of every session now, synchronously, discarding what was not
        written yet (a leader that stepped down; :meth:`close` follows to stop reconnects).
        Returns how many sockets were dropped."""
        return sum(sup.session.abort() for sup in self._pool.all_sessions())

    def end_streams(self, reason: str = "broker shutting down") -> None:
        """End every watch stream after one FINAL event (idempotent)."""
        self._events.end_streams(reason)

    async def wait_streams_drained(self, timeout: float = 1.0) -> bool:  # noqa: ASYNC109
        """Wait until every watcher has left the hubs; False when ``timeout`` passed first."""
        return await self._events.wait_drained(timeout)

    # --- reading (any thread for the first two) ------------------------------------------

    def get_connection_state(self) -> ManagerSnapshot:
        """The latest immutable snapshot of every gateway (safe from any thread)."""
        return self._snapshots.current

    def is_healthy(self, gateway: str | None = None) -> bool:
        """True when the gateway's monitor is CONNECTED, not UNHEALTHY and its breaker not OPEN."""
        try:
            g = self._snapshots.current.gateway(gateway)
        except KeyError:
            return False
        return serving(g)

    def gateways(self, name: str = "") -> list[GatewaySnapshot]:
        """Every gateway, or the one named (NOT_FOUND when unknown), from the published snapshot.

        No rebuild per call: the snapshot is replaced after every change and every heartbeat
        interval, so figures such as uptime and rates are at most that old.
        """
        snap = self._snapshots.current
        if name:
            self._pool.gateway(name)  # NOT_FOUND for an unknown name
            return [snap.gateway(name)]
        return list(snap.gateways)

    def sessions(self, gateway: str = "") -> list[SessionSnapshot]:
        """Every session, or those of one gateway (from the published snapshot)."""
        return [s for g in self.gateways(gateway) for s in g.sessions]

    def supervisor(
        self, gateway: str | None = None, client_id: int | None = None
    ) -> SessionSupervisor:
        """The supervisor of a session (the gateway's monitor by default)."""
        return self._pool.supervisor(gateway, client_id)

    # --- callbacks and hooks -------------------------------------------------------------

    def register_state_callback(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(event)`` on the loop for every state event; returns an unregister."""
        return self._events.register_state_callback(callback)

    def on_gateway_health(self, callback: GatewayHealthCallback) -> None:
        """Call ``callback(gateway, serving)`` whenever a gateway's usability flips.

        ``serving`` is :meth:`is_healthy`. The callback may return an awaitable; it is run as a
        task. Wire it to the standard gRPC health service.
        """
        self._events.on_gateway_health(callback)

    # --- using a session -----------------------------------------------------------------

    def acquire_handle(
        self,
        gateway: str | None = None,
        client_id: int | None = None,
        *,
        for_orders: bool = False,
    ) -> SessionHandle:
        """A :class:`SessionHandle` on a session's current socket (the monitor by default).

        Fails fast like :meth:`check_usable`. The handle raises :class:`StaleSessionError`
        (UNAVAILABLE / RECONNECTING) once the session reconnected or lost its socket; with
        ``for_orders`` it also raises IB_LINK_LOST while TWS has lost IB (1100).
        """
        g = self._pool.gateway(gateway)
        sup = self._pool.supervisor(g.name, client_id)
        check_usable(g.config, g.breaker, sup, for_orders=for_orders)
        return SessionHandle(
            sup, sup.generation, lambda: retry_hint(g.config, g.breaker), for_orders=for_orders
        )

    @contextlib.asynccontextmanager
    async def session(
        self, gateway: str | None = None, *, for_orders: bool = False
    ) -> AsyncIterator[SessionHandle]:
        """``async with manager.session() as handle``: the gateway's monitor session.

        Fails fast: BREAKER_OPEN / RECONNECTING (UNAVAILABLE with retry_after), NOT_CONNECTED,
        and IB_LINK_LOST (FAILED_PRECONDITION) for order traffic between 1100 and 1101/1102.
        The handle is fenced by generation and detached when the block ends.
        """
        handle = self.acquire_handle(gateway, for_orders=for_orders)
        try:
            yield handle
        finally:
            handle.detach()

    async def data_handle(
        self, gateway: str | None = None, *, for_orders: bool = False
    ) -> SessionHandle:
        """A handle on the gateway's shared DATA session (read-only calls, reconciliation).

        The data session is an extra pooled session on the gateway's ``data_client_id`` (never
        leased, never the monitor: heavy reads do not delay the heartbeat), opened on first use
        and kept like the others. It goes through the same checks as every session: an OPEN
        breaker or a reconnect is UNAVAILABLE with a retry hint; ``for_orders`` also refuses
        while TWS has lost IB (1100). It is listed as a PROXIED session without a lease.
        """
        self._bind_loop()
        g = self._pool.gateway(gateway)
        cid = g.config.data_client_id
        if cid not in g.sessions:
            check_usable(g.config, g.breaker, g.monitor, for_orders=for_orders)
            await self._pool.open_session(g.name, cid, "")
        return self.acquire_handle(g.name, cid, for_orders=for_orders)

    def check_usable(self, gateway: str, client_id: int, *, for_orders: bool = False) -> None:
        """Raise the DomainError a request to this session would get now, if any."""
        g = self._pool.gateway(gateway)
        check_usable(
            g.config, g.breaker, self._pool.supervisor(gateway, client_id), for_orders=for_orders
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
        self.leadership.check(f"opening a session for client ID {client_id} on {gateway}")
        await self._pool.open_session(gateway, client_id, lease_id)

    async def close_session(self, gateway: str, client_id: int) -> None:
        """Close a PROXIED session (no-op when there is none)."""
        await self._pool.close_session(gateway, client_id)

    def account_mismatch(self, gateway: str) -> str | None:
        """Why ``gateway``'s managed accounts do not fit its config, as its monitor session last
        saw them; None when they fit or are not known yet (lease manager's paper/live guard,
        :class:`~broker_server.runtime.lease_ports.GatewayAccounts`)."""
        g = self._pool.gateways.get(gateway)
        if g is None or g.monitor_id not in g.sessions:
            return None
        monitor = g.monitor
        if monitor.cause is not None and monitor.cause.reason is FailureReason.ACCOUNT_MISMATCH:
            return monitor.reason
        accounts = list(monitor.session.accounts)
        return check_accounts(g.config, accounts) if accounts else None

    async def probe(self, gateway: str, client_id: int) -> bool:
        """Prove ``client_id`` free: True when IB accepted it, False when it answered 326.

        Speaks only the API handshake (:func:`broker_server.ib.probe.probe_client_id`, no
        ``IB()``), and never connects to an account the configuration does not allow: refused
        outright (FAILED_PRECONDITION / ACCOUNT_MISMATCH) when the gateway's monitor already
        found a mismatch, and closed the moment managedAccounts shows one. Raises a DomainError
        when it cannot tell (the lease manager keeps the ID quarantined then).
        """
        g = self._pool.gateway(gateway)
        if client_id in g.sessions or client_id in g.closing:
            return False  # the broker itself holds it (or is still closing its socket)
        cfg = g.config
        mismatch = self.account_mismatch(g.name)
        if mismatch is not None:
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION,
                FailureReason.ACCOUNT_MISMATCH,
                f"not probing client ID {client_id} on {gateway}: {mismatch}",
                metadata={"gateway": gateway},
            )
        try:
            result = await probe_client_id(
                cfg.host,
                cfg.port,
                client_id,
                cfg.timeout,
                check_accounts=lambda accounts: check_accounts(cfg, accounts),
            )
        except ConnectFailure as failure:
            fatal = not failure.reason.retryable
            raise DomainError(
                ErrorKind.FAILED_PRECONDITION if fatal else ErrorKind.UNAVAILABLE,
                failure.reason.failure_reason,
                f"cannot probe client ID {client_id} on {gateway}: {failure.message}",
                retry_after=None if fatal else retry_hint(cfg, g.breaker),
                metadata={"gateway": gateway},
            ) from failure
        return result.free

    # --- SessionObserver (the supervisors report here) -----------------------------------

    def on_transition(self, session: SessionSupervisor, change: Transition) -> None:
        """One log line, one event, the callbacks, the counters; then a fresh snapshot.

        A monitor back on its gateway nudges the gateway's other sessions out of their waits:
        they follow it at once instead of sleeping out their own backoff.
        """
        self._events.transition(session, change)
        if session.role is SessionRole.MONITOR and change.to_state is S.CONNECTED:
            for sup in self._pool.gateway(session.gateway).sessions.values():
                if sup is not session and sup.state is not S.CONNECTED:
                    sup.nudge()
        self._refresh()

    def on_health(self, session: SessionSupervisor, folded: Folded) -> None:
        """Publish a health change."""
        self._events.health(session, folded)
        self._refresh()

    def on_restored(
        self, session: SessionSupervisor, restored: Restored, gap_start: float, gap_end: float
    ) -> None:
        """Publish RESTORED, then GAP."""
        self._events.restored(session, restored, gap_start, gap_end)

    def on_breaker(self, session: SessionSupervisor) -> None:
        """The breaker may have moved: refresh what other threads and gRPC health see."""
        self._refresh()

    def on_client_id(self, session: SessionSupervisor, previous: int) -> None:
        """A monitor moved to a reserved fallback client ID (or back): re-file it."""
        self._pool.rekey(session, previous)
        self._refresh()

    # --- internals -----------------------------------------------------------------------

    def _on_breaker_change(self, gateway: str, change: BreakerChange) -> None:
        self._events.breaker_changed(gateway, change)

    def _refresh(self) -> None:
        self._snapshots.refresh()

    def _bind_loop(self) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()

    def __repr__(self) -> str:
        snap = self._snapshots.current
        parts = [f"{s.session}={s.state.value}/{s.health.value}" for s in snap.sessions]
        return f"<ConnectionManager [{', '.join(parts)}]>"


IBKRConnectionManager = ConnectionManager
"""The seed's name."""
