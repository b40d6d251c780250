"""The supervisor of one pooled IB session: connect, watch, heal, restore.

One asyncio task per session runs the life cycle through the state table of
:mod:`broker_server.domain.connection_state`:

``DISCONNECTED -> CONNECTING -> CONNECTED``; a drop (disconnect callback, ~1 ms) or a stale
heartbeat moves ``CONNECTED -> RECONNECTING`` at once; reconnect attempts wait a full-jitter
backoff, cut short when the gateway's port accepts again (fast return, :mod:`.waits`);
``max_retries`` exhausted, an open breaker, a 326 or a configuration mismatch end in ``ERROR``.
A 326 on a monitor's own ID moves it to its next reserved ID instead (no ERROR, no breaker).
From ``ERROR`` the half-open breaker trial (or an operator) starts ``CONNECTING`` again, with no
backoff on top of the breaker's interval. After every reconnect the session re-reads positions, open orders and executions since
the disconnect and re-issues its market-data lines *before* it reports CONNECTED; then a
RESTORED and a GAP event follow.

Failed attempts while RECONNECTING are not transitions (the state does not change): they are
logged with their attempt number. The supervisor publishes through a :class:`SessionObserver`
(the manager) and mutates nothing outside itself.

Length: about 570 lines, over the ~500 guideline, because the connect loop, the failure
handling and the socket callbacks share one task's state (attempt, hold, generation, client ID);
the contract (observer, typed cause) and the waits already live in ``observer.py`` and
``waits.py``. The next split is a pure failure policy in the domain.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

from broker_server.config import GatewayConfig
from broker_server.domain.backoff import BackoffPolicy
from broker_server.domain.breaker import BreakerState, CircuitBreaker
from broker_server.domain.clock import Clock
from broker_server.domain.connection_state import ConnectionState, StateMachine, Transition
from broker_server.domain.events import MetricsSnapshot, Restored, SessionRole, SessionSnapshot
from broker_server.domain.health import HealthStatus, IbCodeEffect
from broker_server.domain.pool import ClientIdRotation, session_name
from broker_server.domain.reasons import FailureReason
from broker_server.ib.errors import ConnectFailure, ConnectFailureReason
from broker_server.ib.session import IBSession
from broker_server.logs import log_event
from broker_server.runtime.health_monitor import ConnectionHealthMonitor
from broker_server.runtime.observer import Cause, SessionObserver
from broker_server.runtime.waits import WaitEnd, Waiter

log = logging.getLogger("ibbroker.connection")

S = ConnectionState

_OWN_GHOST_STRIKES = 2
"""326 answers tolerated right after the session itself held the ID (its old socket may still
be closing on the TWS side) before the ID is quarantined."""


@dataclass(frozen=True)
class _Hold:
    """Why the supervisor is parked in ERROR and when (if ever) it tries again by itself."""

    cause: Cause
    retry_in: float | None


class SessionSupervisor:
    """Owns one :class:`IBSession` and keeps it connected (see the module docstring)."""

    def __init__(
        self,
        config: GatewayConfig,
        client_id: int,
        role: SessionRole,
        *,
        clock: Clock,
        rng: random.Random,
        breaker: CircuitBreaker,
        observer: SessionObserver,
        lease_id: str = "",
        fallback_ids: tuple[int, ...] = (),
    ) -> None:
        self.config = config
        self.client_id = client_id
        # A monitor may move to a reserved fallback ID when IB answers 326 for its own.
        self._ids = ClientIdRotation((client_id, *fallback_ids))
        self._retry_now = False
        self.role = role
        self.lease_id = lease_id
        self.name = session_name(config.name, role, client_id)
        self._clock = clock
        self._rng = rng
        self._breaker = breaker
        self._observer = observer
        self._backoff = BackoffPolicy(
            initial=config.retry_delay, cap=config.backoff_cap, max_retries=config.max_retries
        )
        self._sm = StateMachine(clock)
        self.session = IBSession(
            config, client_id, on_disconnected=self._on_socket_closed, on_ib_error=self._on_ib_error
        )
        self.monitor = ConnectionHealthMonitor(
            self.session,
            config,
            clock,
            name=self.name,
            on_health=lambda folded: observer.on_health(self, folded),
            on_stale=self._on_stale,
        )
        self.generation = 0
        """Bumped on every successful (re)connect; 1 after the first."""
        self.attempt = 0
        """Attempt number of the connect in progress (0 when connected or idle)."""
        # Only the monitor looks at the port; the pool nudges the other sessions when it is back
        # (thirty sessions probing a restarting gateway would be thirty times the traffic).
        interval = config.port_probe_interval if role is SessionRole.MONITOR else 0.0
        self._waiter = Waiter(config.host, config.port, interval, config.timeout)
        self._watch_port = False
        """Backoff waits watch the gateway's port (fast return): after a refused connect and
        after a lost socket; not after an API failure on an open port (backoff governs that)."""
        self._trouble = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._gap_start: float | None = None
        self._hold: _Hold | None = None
        self._hold_until = 0.0
        self._id_in_use = 0
        self._state_changed = asyncio.Event()
        self.cause: Cause | None = None
        """Why the session is not CONNECTED (the last failure), None while it is."""

    # --- reading -------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The current connection state."""
        return self._sm.state

    @property
    def last_transition(self) -> Transition | None:
        """The last applied transition, None before the first."""
        return self._sm.last

    @property
    def reason(self) -> str:
        """The last transition's reason."""
        last = self._sm.last
        return last.reason if last else ""

    @property
    def gateway(self) -> str:
        """The gateway's name."""
        return self.config.name

    @property
    def running(self) -> bool:
        """True while the supervising task runs."""
        return self._task is not None and not self._task.done()

    def snapshot(self) -> SessionSnapshot:
        """An immutable picture of the session now."""
        view = self.monitor.check_health()
        return SessionSnapshot(
            gateway=self.gateway,
            session=self.name,
            client_id=self.client_id,
            role=self.role,
            state=self.state,
            health=view.status,
            reasons=view.reasons,
            breaker=self._breaker.state,
            metrics=self.monitor.get_metrics(),
            lease_id=self.lease_id,
            generation=self.generation,
            server_version=self.session.server_version,
            accounts=self.session.accounts,
            reason=self.reason,
        )

    def retry_in(self) -> float | None:
        """Seconds until the session tries to connect again by itself; None when it will not
        (parked until an operator's reconnect, closed, or stopped)."""
        if not self.running or self.state is S.DISCONNECTED:
            return None
        hold = self._hold
        if hold is not None:
            if hold.retry_in is None:
                return None
            return max(0.0, self._hold_until - self._clock.monotonic())
        if self.state is S.ERROR:
            return self._breaker.retry_after()
        return 0.0

    def metrics(self) -> MetricsSnapshot:
        """The session's figures now."""
        return self.monitor.get_metrics()

    # --- control -------------------------------------------------------------------------

    def start(self) -> None:
        """Start supervising (idempotent): connect, then keep connected."""
        if self.running:
            return
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"session {self.name}"
        )
        self.monitor.start_monitoring()

    def nudge(self) -> None:
        """End a backoff or open-breaker wait now (the gateway is back); holds are kept."""
        if self._hold is None and not self._closing:
            self._waiter.wake()

    def request_reconnect(self, reason: str) -> None:
        """Replace the socket now (CONNECTED), or skip the wait (RECONNECTING / ERROR)."""
        if self._closing:
            return
        if self.state is S.CONNECTED:
            self._lose(f"ADMIN_RECONNECT: {reason}", Cause(FailureReason.RECONNECTING, reason))
        self._hold = None
        self._waiter.wake()
        if not self.running:
            self.start()

    async def wait_for(
        self,
        *states: ConnectionState,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ConnectionState:
        """Wait until the state is one of ``states``; returns it (TimeoutError after timeout)."""
        async with asyncio.timeout(timeout):
            while self.state not in states:
                self._state_changed.clear()
                await self._state_changed.wait()
        return self.state

    async def close(self, reason: str = "closed") -> None:
        """Stop supervising, close the socket and end in DISCONNECTED."""
        self._closing = True
        self._waiter.wake()
        self._trouble.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # asyncio.wait, not ``suppress(CancelledError)``: that would also swallow a
            # cancellation of the caller of close().
            await asyncio.wait([task])
        await self.monitor.stop_monitoring()
        await self.session.disconnect()
        if self.state is not S.DISCONNECTED:
            if self.state is S.CONNECTED:
                self.monitor.socket_down(f"closed: {reason}")
            self._transition(
                S.DISCONNECTED,
                f"CLOSED: {reason}",
                cause=Cause(FailureReason.NOT_CONNECTED, f"closed: {reason}"),
            )

    # --- the life cycle ------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._connect_until_up(reconnecting=False)
            while not self._closing:
                await self._trouble.wait()
                self._trouble.clear()
                if self._closing:
                    return
                if self.state is S.RECONNECTING:
                    await self.session.disconnect()
                    await self._connect_until_up(reconnecting=True)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug: log it, never let the session die silently
            log.exception("session supervisor crashed", extra={"fields": {"session": self.name}})
            self.monitor.note_error(f"supervisor crashed: {err!r}")
            if self._sm.can(S.ERROR):
                self._transition(
                    S.ERROR,
                    f"INTERNAL: {err!r}",
                    cause=Cause(
                        FailureReason.OPERATOR_ACTION_REQUIRED, f"supervisor crashed: {err!r}"
                    ),
                )

    async def _connect_until_up(self, *, reconnecting: bool) -> None:
        """Attempt until CONNECTED; parks in ERROR where a retry cannot help right now."""
        if self.state in (S.DISCONNECTED, S.ERROR):
            self._transition(S.CONNECTING, "CONNECT_REQUESTED")
        if self.client_id != self._ids.primary:
            self._use_client_id(self._ids.primary)  # every new round tries the own ID first
        attempt = 0
        while not self._closing:
            if self._hold is not None:
                await self._park()
                attempt = 0
                continue
            # An open breaker's interval is the wait: no backoff on top of it.
            backoff = not self._retry_now and self._breaker.state is not BreakerState.OPEN
            if (attempt > 0 or reconnecting) and backoff:
                delay = self._backoff.delay(max(attempt, 1), self._rng)
                end = await self._waiter.wait(delay, watch_port=self._watch_port)
                if self._closing:
                    return
                if end is WaitEnd.PORT_OPEN:
                    self._port_reopened(delay)
            self._retry_now = False
            if not await self._pass_breaker(attempt):
                continue
            attempt += 1
            self.attempt = attempt
            try:
                await self.session.connect()
                restored = await self._restore() if self.generation > 0 else None
            except ConnectFailure as failure:
                self._failed(failure, attempt)
                continue
            except (TimeoutError, ConnectionError) as err:
                await self.session.disconnect()
                self._failed(
                    ConnectFailure(
                        ConnectFailureReason.SYNC_TIMEOUT, f"state restore failed: {err!r}"
                    ),
                    attempt,
                )
                continue
            self._up(restored, attempt)
            return

    async def _pass_breaker(self, attempt: int) -> bool:
        """True when the breaker admits an attempt; otherwise waits in ERROR and returns False."""
        if self._breaker.allow():
            if self.state is S.ERROR:
                trial = self._breaker.state is BreakerState.HALF_OPEN
                self._transition(S.CONNECTING, "BREAKER_HALF_OPEN: trial" if trial else "RETRY")
            return True
        if self.state is not S.ERROR:
            wait = self._breaker.retry_after()
            self._transition(
                S.ERROR,
                f"BREAKER_OPEN: retry in {wait:.2f} s",
                attempt,
                cause=Cause(FailureReason.BREAKER_OPEN, f"retry in {wait:.2f} s"),
            )
        self._observer.on_breaker(self)
        wait = max(self._breaker.retry_after(), 0.01)
        if await self._waiter.wait(wait, watch_port=self._watch_port) is WaitEnd.PORT_OPEN:
            self._port_reopened(wait)
            self._breaker.early_trial("gateway port accepts connections again")
        # The open interval was the wait: the trial follows at once, no backoff on top.
        self._retry_now = True
        return False

    def _port_reopened(self, cut: float) -> None:
        self._watch_port = False
        log_event(
            log,
            logging.INFO,
            "gateway_port_open",
            gateway=self.gateway,
            session=self.name,
            client_id=self.client_id,
            wait_cut_short=round(cut, 3),
        )

    def _failed(self, failure: ConnectFailure, attempt: int) -> None:
        reason = f"{failure.reason.value}: {failure.message}"
        cause = Cause(failure.reason.failure_reason, failure.message)
        self._watch_port = failure.reason is ConnectFailureReason.CONNECTION_REFUSED
        self.monitor.note_error(reason)
        log_event(
            log,
            logging.WARNING,
            "connect_failed",
            gateway=self.gateway,
            session=self.name,
            client_id=self.client_id,
            reason=failure.reason.value,
            detail=failure.message,
            attempt=attempt,
        )
        if failure.reason is ConnectFailureReason.CLIENT_ID_IN_USE:
            # The gateway answered, so it is healthy; the ID is the problem.
            self._breaker.record_success()
            self._observer.on_breaker(self)
            if self._next_client_id():
                return
            self._id_in_use += 1
            if self.generation > 0 and self._id_in_use <= _OWN_GHOST_STRIKES:
                # We held this ID a moment ago: TWS may not have processed our old socket's
                # close yet (a frozen gateway resuming sees both at once). Retry with backoff.
                if self.state is S.CONNECTING:
                    self._transition(S.RECONNECTING, reason, attempt, cause=cause)
                else:
                    self.cause = cause
                return
            # Someone else holds it: quarantine for the longest breaker interval instead of
            # retrying in a loop.
            self._hold = _Hold(cause, self.config.breaker_open_max)
            self._hold_until = self._clock.monotonic() + self.config.breaker_open_max
            self._transition(S.ERROR, reason, attempt, cause=cause)
            return
        if not failure.reason.retryable:
            self._breaker.record_success()
            self._hold = _Hold(cause, None)
            self._transition(S.ERROR, reason, attempt, cause=cause)
            return
        self._breaker.record_failure(failure.reason.value)
        self._observer.on_breaker(self)
        if self._backoff.exhausted(attempt):
            exhausted = Cause(
                FailureReason.OPERATOR_ACTION_REQUIRED,
                f"retries exhausted after {attempt}: {reason}",
            )
            self._hold = _Hold(exhausted, None)
            self._transition(
                S.ERROR, f"RETRIES_EXHAUSTED after {attempt}: {reason}", attempt, cause=exhausted
            )
        elif self._breaker.state is BreakerState.OPEN:
            wait = self._breaker.retry_after()
            self._transition(
                S.ERROR,
                f"BREAKER_OPEN: retry in {wait:.2f} s after {reason}",
                attempt,
                cause=Cause(FailureReason.BREAKER_OPEN, f"retry in {wait:.2f} s after {reason}"),
            )
        elif self.state is S.CONNECTING:
            self._transition(S.RECONNECTING, reason, attempt, cause=cause)
        else:
            self.cause = cause

    def _next_client_id(self) -> bool:
        """After a 326: move to the next reserved ID and retry at once; False if none is left.

        Not a gateway failure (the breaker is not told), but a DEGRADED reason names the clash.
        """
        taken = self.client_id
        nxt = self._ids.after_clash(taken)
        if nxt is None:
            return False
        self._use_client_id(nxt)
        self.monitor.id_clash(
            f"client ID {taken} is in use by another API client (IB 326); "
            f"{self.name} uses client ID {nxt}"
        )
        log_event(
            log,
            logging.WARNING,
            "client_id_clash",
            gateway=self.gateway,
            session=self.name,
            **{"from": taken},
            to=nxt,
        )
        self._retry_now = True
        return True

    def _use_client_id(self, client_id: int) -> None:
        previous, self.client_id = self.client_id, client_id
        self.session.use_client_id(client_id)
        self._observer.on_client_id(self, previous)

    async def _park(self) -> None:
        """Wait in ERROR until the hold's retry time, an operator's reconnect, or close."""
        hold = self._hold
        if hold is None:
            return
        if hold.retry_in is None:
            await self._waiter.until_woken()
        else:
            await self._waiter.wait(hold.retry_in)
        self._hold = None
        self._retry_now = True  # the hold was the wait
        if not self._closing and self.state is S.ERROR:
            self._transition(S.CONNECTING, f"RETRY after {hold.cause.reason.value}")

    async def _restore(self) -> Restored:
        return await self.session.restore(self._gap_start)

    def _up(self, restored: Restored | None, attempt: int) -> None:
        self._id_in_use = 0
        self._watch_port = False
        self._ids.reset()
        if self.client_id == self._ids.primary:
            self.monitor.id_clash(None)
        self._breaker.record_success()
        self._observer.on_breaker(self)
        self.generation += 1
        self.attempt = 0
        self.monitor.socket_up()
        reason = "CONNECTED" if restored is None else "RECONNECTED"
        self._transition(S.CONNECTED, reason, attempt)
        if restored is not None:
            gap_start = self._gap_start if self._gap_start is not None else self._clock.wall()
            self._observer.on_restored(self, restored, gap_start, self._clock.wall())
        self._gap_start = None

    # --- callbacks (on the loop) ---------------------------------------------------------

    def _lose(self, reason: str, cause: Cause) -> None:
        """CONNECTED -> RECONNECTING at once; the run loop replaces the socket."""
        if self.state is not S.CONNECTED or self._closing:
            return
        self._gap_start = self._clock.wall()
        self._watch_port = True
        self.monitor.reconnect_count += 1
        self.monitor.socket_down(reason)
        self._transition(S.RECONNECTING, reason, cause=cause)
        self._trouble.set()

    def _on_socket_closed(self, message: str) -> None:
        self.monitor.note_error(f"SOCKET_CLOSED: {message}")
        self._lose(
            f"SOCKET_CLOSED: {message}",
            Cause(FailureReason.RECONNECTING, f"socket closed: {message}"),
        )

    def _on_stale(self, waited: float) -> None:
        detail = f"no heartbeat answer for {waited:.2f} s"
        self._lose(f"HEARTBEAT_TIMEOUT: {detail}", Cause(FailureReason.HEARTBEAT_TIMEOUT, detail))

    def _on_ib_error(self, req_id: int, code: int, message: str) -> None:
        if req_id != -1 and code < 1000:
            return  # a request's error, not the connection's
        folded = self.monitor.ib_error(code, message)
        if folded.effect is IbCodeEffect.RESUBSCRIBE and self.state is S.CONNECTED:
            lines = self.session.resubscribe()
            log_event(
                log,
                logging.INFO,
                "resubscribed",
                gateway=self.gateway,
                session=self.name,
                client_id=self.client_id,
                ib_error_code=code,
                lines=lines,
            )
        elif folded.effect is IbCodeEffect.RECONNECT:
            self._lose(
                f"IB_RESET: {code} {message}",
                Cause(FailureReason.RECONNECTING, f"IB reset the connection: {code} {message}"),
            )

    def _transition(
        self, to: ConnectionState, reason: str, attempt: int = 0, *, cause: Cause | None = None
    ) -> Transition:
        # The cause is kept typed next to the free-text reason, so nothing parses text.
        if to is S.CONNECTED:
            self.cause = None
        elif cause is not None:
            self.cause = cause
        change = self._sm.transition(to, reason, attempt)
        self._state_changed.set()
        self._observer.on_transition(self, change)
        return change

    @property
    def health(self) -> HealthStatus:
        """The current health status."""
        return self.monitor.check_health().status

    @property
    def orders_blocked(self) -> bool:
        """True between IB 1100 and 1101/1102."""
        return self.monitor.check_health().orders_blocked

    def ib(self) -> Any:
        """The library ``IB`` object of the current socket (None when down)."""
        return self.session.ib

    def __repr__(self) -> str:
        return (
            f"<SessionSupervisor [{self.name} client_id={self.client_id} {self.state.value} "
            f"gen={self.generation} {self.health.value}]>"
        )
