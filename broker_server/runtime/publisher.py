"""The event publisher: turns what supervisors and breakers report into logs, metrics, events.

Every state transition becomes exactly one JSON log line (gateway, session, client_id, from,
to, reason, attempt), one OpenTelemetry counter increment, one event on :attr:`state_events`
and one call of each registered state callback. Health changes and breaker moves go to
:attr:`health_events`. Connection events are built by one function, :func:`state_event`, and
health events by one, :func:`health_event`, whatever the kind (snapshot, transition, restored,
gap, final).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics as otel

from broker_server.domain.breaker import BreakerChange, BreakerState
from broker_server.domain.clock import Clock
from broker_server.domain.connection_state import ConnectionState, Transition
from broker_server.domain.events import ConnectionEvent, EventKind, HealthEvent, Restored
from broker_server.domain.health import Folded
from broker_server.logs import log_event
from broker_server.runtime.events import EventHub
from broker_server.runtime.session_pool import SessionPool
from broker_server.runtime.supervisor import SessionSupervisor

log = logging.getLogger("ibbroker.connection")

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

StateCallback = Callable[[ConnectionEvent], object]
"""``callback(event)``, called on the loop for every state event; may return an awaitable."""
GatewayHealthCallback = Callable[[str, bool], object]
"""``callback(gateway, serving)``, called when a gateway's usability flips."""


def state_event(
    sup: SessionSupervisor,
    kind: EventKind,
    wall: float,
    *,
    state: ConnectionState | None = None,
    previous: ConnectionState | None = None,
    reason: str | None = None,
    attempt: int | None = None,
    restored: Restored | None = None,
    gap: tuple[float, float] | None = None,
) -> Callable[[int], ConnectionEvent]:
    """The one builder of connection events: ``sup`` as it stands unless told otherwise.

    Returns a function of the sequence number (the hub stamps it when it publishes).
    """
    last = sup.last_transition
    now = sup.state if state is None else state
    before = (last.from_state if last else now) if previous is None else previous
    why = sup.reason if reason is None else reason
    tries = sup.attempt if attempt is None else attempt
    gap_start, gap_end = gap if gap is not None else (None, None)
    return lambda seq: ConnectionEvent(
        sequence=seq,
        event_time=wall,
        gateway=sup.gateway,
        session=sup.name,
        client_id=sup.client_id,
        state=now,
        previous_state=before,
        reason=why,
        attempt=tries,
        kind=kind,
        restored=restored,
        gap_start=gap_start,
        gap_end=gap_end,
    )


def health_event(
    sup: SessionSupervisor,
    kind: EventKind,
    wall: float,
    breaker: BreakerState,
    folded: Folded | None = None,
) -> Callable[[int], HealthEvent]:
    """The one builder of health events: the session's health now, or the change ``folded``."""
    if folded is None:
        view = sup.monitor.check_health()
        status, previous, reasons = view.status, view.status, view.reasons
    else:
        status, previous = folded.view.status, folded.previous.status
        reasons = folded.view.reasons
    metrics = sup.metrics()
    return lambda seq: HealthEvent(
        sequence=seq,
        event_time=wall,
        gateway=sup.gateway,
        session=sup.name,
        client_id=sup.client_id,
        status=status,
        previous_status=previous,
        reasons=reasons,
        metrics=metrics,
        kind=kind,
        breaker=breaker,
    )


class EventPublisher:
    """The two event hubs, the state callbacks and the gateway health callbacks."""

    def __init__(self, pool: SessionPool, clock: Clock, *, queue_size: int) -> None:
        self._pool = pool
        self._clock = clock
        # Sequences start at wall-clock milliseconds so they keep rising across broker restarts.
        first = int(clock.wall() * 1000)
        self.state_events: EventHub[ConnectionEvent] = EventHub(
            self._state_snapshot, queue_size=queue_size, first_sequence=first
        )
        self.health_events: EventHub[HealthEvent] = EventHub(
            self._health_snapshot, queue_size=queue_size, first_sequence=first
        )
        self._callbacks: list[StateCallback] = []
        self._health_hooks: list[GatewayHealthCallback] = []
        self._background: set[asyncio.Task[Any]] = set()

    # --- subscribing -----------------------------------------------------------------------

    def register_state_callback(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(event)`` for every state event; returns an unregister."""
        self._callbacks.append(callback)

        def unregister() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unregister

    def on_gateway_health(self, callback: GatewayHealthCallback) -> None:
        """Call ``callback(gateway, serving)`` whenever a gateway's usability flips."""
        self._health_hooks.append(callback)

    # --- publishing ------------------------------------------------------------------------

    def transition(self, sup: SessionSupervisor, change: Transition) -> None:
        """One log line, one event, the callbacks, the counters."""
        log_event(
            log,
            logging.INFO,
            "connection_transition",
            gateway=sup.gateway,
            session=sup.name,
            client_id=sup.client_id,
            **{"from": change.from_state.value, "to": change.to_state.value},
            reason=change.reason,
            attempt=change.attempt,
            generation=sup.generation,
        )
        _transitions.add(1, {"gateway": sup.gateway, "to": change.to_state.value})
        if change.to_state is S.RECONNECTING and change.from_state is S.CONNECTED:
            _reconnects.add(1, {"gateway": sup.gateway})
        self._emit(
            state_event(
                sup,
                EventKind.TRANSITION,
                change.wall_time,
                state=change.to_state,
                previous=change.from_state,
                reason=change.reason,
                attempt=change.attempt,
            )
        )

    def health(self, sup: SessionSupervisor, folded: Folded) -> None:
        """Publish a health change."""
        view, before = folded.view, folded.previous
        log_event(
            log,
            logging.INFO,
            "health_changed",
            gateway=sup.gateway,
            session=sup.name,
            client_id=sup.client_id,
            **{"from": before.status.value},
            to=view.status.value,
            reasons=[r.code for r in view.reasons],
            orders_blocked=view.orders_blocked,
        )
        _health_changes.add(1, {"gateway": sup.gateway, "to": view.status.value})
        breaker = self._pool.gateways[sup.gateway].breaker.state
        self.health_events.publish(
            health_event(sup, EventKind.TRANSITION, self._clock.wall(), breaker, folded)
        )

    def restored(
        self, sup: SessionSupervisor, restored: Restored, gap_start: float, gap_end: float
    ) -> None:
        """Publish RESTORED, then GAP."""
        log_event(
            log,
            logging.INFO,
            "session_restored",
            gateway=sup.gateway,
            session=sup.name,
            client_id=sup.client_id,
            positions=restored.positions,
            open_orders=restored.open_orders,
            executions=restored.executions,
            market_data_subscriptions=restored.market_data_subscriptions,
            gap_seconds=round(gap_end - gap_start, 3),
            generation=sup.generation,
        )
        common: dict[str, Any] = dict(state=S.CONNECTED, previous=S.CONNECTED, attempt=0)
        self._emit(
            state_event(
                sup, EventKind.RESTORED, gap_end, reason="RESTORED", restored=restored, **common
            )
        )
        self._emit(
            state_event(
                sup, EventKind.GAP, gap_end, reason="GAP", gap=(gap_start, gap_end), **common
            )
        )

    def breaker_changed(self, gateway: str, change: BreakerChange) -> None:
        """Log and count a breaker move; watchers see it on the health stream."""
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
        # Once per session of the gateway: each session's health event carries the breaker.
        wall = self._clock.wall()
        for sup in self._pool.gateways[gateway].sessions.values():
            self.health_events.publish(
                health_event(sup, EventKind.TRANSITION, wall, change.to_state)
            )

    def serving_changed(self, gateway: str, serving: bool) -> None:
        """Call the gateway health callbacks."""
        for hook in list(self._health_hooks):
            try:
                result = hook(gateway, serving)
                if inspect.isawaitable(result):
                    self._spawn(result)
            except Exception:
                log.exception("gateway health hook failed")

    def end_streams(self, reason: str) -> None:
        """End every watch stream after one FINAL event (idempotent)."""
        g = self._pool.gateway(None)
        mon = g.monitor
        wall = self._clock.wall()
        self.state_events.close(
            state_event(mon, EventKind.FINAL, wall, previous=mon.state, reason=reason, attempt=0)
        )
        self.health_events.close(health_event(mon, EventKind.FINAL, wall, g.breaker.state))

    async def wait_drained(self, timeout: float = 1.0) -> bool:  # noqa: ASYNC109
        """Wait until every watcher has left the hubs; False when ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.state_events.watcher_count or self.health_events.watcher_count:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def cancel_background(self) -> None:
        """Cancel callback tasks still running (at shutdown)."""
        for task in list(self._background):
            task.cancel()

    # --- internals -------------------------------------------------------------------------

    def _emit(self, build: Callable[[int], ConnectionEvent]) -> None:
        event = self.state_events.publish(build)
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

    def _state_snapshot(self, sequence: int) -> list[ConnectionEvent]:
        wall = self._clock.wall()
        return [
            state_event(sup, EventKind.SNAPSHOT, wall)(sequence)
            for sup in self._pool.all_sessions()
        ]

    def _health_snapshot(self, sequence: int) -> list[HealthEvent]:
        wall = self._clock.wall()
        return [
            health_event(
                sup, EventKind.SNAPSHOT, wall, self._pool.gateways[sup.gateway].breaker.state
            )(sequence)
            for sup in self._pool.all_sessions()
        ]
