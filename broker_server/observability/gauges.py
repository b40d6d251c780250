"""Gauges read from what the runtime already publishes, so no instrument lives in the runtime.

Connection, health and breaker gauges read :meth:`ConnectionManager.get_connection_state`, the
immutable snapshot any thread may read. The lease gauges read the :class:`LeaseTable`, which
only the event loop may touch: a scrape (on the HTTP listener's thread) asks the loop for the
numbers and waits at most :data:`LOOP_WAIT` seconds, else reports the last numbers it had.
Reconnect causes are counted by a state callback on the connection manager.

State gauges are state sets: one series per possible value, 1 for the current one and 0 for
the others, so ``ibbroker_breaker_state{state="OPEN"} == 1`` is an alert expression and a series
never vanishes when the value changes. Labels are gateway and session names (bounded by the
configuration and the client-ID ranges) and enum values; owners and lease IDs never.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opentelemetry import metrics as otel
from opentelemetry.metrics import CallbackOptions, Observation

from broker_server.domain.breaker import BreakerState
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import ConnectionEvent, EventKind
from broker_server.domain.health import HealthStatus
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.leases import LeaseManager
from broker_server.runtime.snapshots import ManagerSnapshot, serving

LOOP_WAIT = 1.0
"""Seconds a scrape waits for the event loop to count the leases."""

MAX_CAUSES = 32
"""Distinct reconnect causes labelled at most; any further one is counted as ``OTHER``."""

_CAUSE = re.compile(r"^[A-Z][A-Z0-9_]{0,47}$")


@dataclass(frozen=True)
class LeaseRow:
    """The lease numbers of one gateway at one instant."""

    gateway: str
    held: int
    free: int
    quarantined: int
    tws_clients: int


class _Source:
    """One running broker's connection manager and lease manager, as the gauges see them."""

    def __init__(self, connections: ConnectionManager, leases: LeaseManager) -> None:
        self.connections = connections
        self.leases = leases
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.last_rows: list[LeaseRow] = []

    def snapshot(self) -> ManagerSnapshot:
        return self.connections.get_connection_state()

    def _count(self) -> list[LeaseRow]:
        table = self.leases.table
        quarantined: dict[str, int] = {}
        for q in table.quarantined():
            quarantined[q.gateway] = quarantined.get(q.gateway, 0) + 1
        rows = []
        for g in self.snapshot().gateways:
            try:
                free, clients = len(table.free_ids(g.gateway)), table.tws_clients(g.gateway)
            except KeyError:  # a gateway the lease policy does not know: nothing to count
                continue
            rows.append(
                LeaseRow(
                    gateway=g.gateway,
                    held=len(table.active(g.gateway)),
                    free=free,
                    quarantined=quarantined.get(g.gateway, 0),
                    tws_clients=clients,
                )
            )
        self.last_rows = rows
        return rows

    def lease_rows(self) -> list[LeaseRow]:
        """The lease numbers, counted on the event loop (the table's only thread)."""
        if threading.get_ident() == self.loop_thread:
            return self._count()
        result: concurrent.futures.Future[list[LeaseRow]] = concurrent.futures.Future()

        def count() -> None:
            try:
                result.set_result(self._count())
            except Exception as err:  # never leave the scrape waiting
                result.set_exception(err)

        try:
            self.loop.call_soon_threadsafe(count)
            return result.result(timeout=LOOP_WAIT)
        except (RuntimeError, concurrent.futures.TimeoutError):
            return self.last_rows  # the loop is closed or busy: the last numbers


_sources: list[_Source] = []
_lock = threading.Lock()
_causes: set[str] = set()


def _all() -> list[_Source]:
    with _lock:
        return list(_sources)


def _state_set(
    values: Iterable[str], current: str, labels: dict[str, str], key: str = "state"
) -> Iterable[Observation]:
    for value in values:
        yield Observation(1 if value == current else 0, {**labels, key: value})


_STATES = [s.value for s in ConnectionState]
_HEALTHS = [h.value for h in HealthStatus]
_BREAKERS = [b.value for b in BreakerState]


def _session_state(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for s in src.snapshot().sessions:
            labels = {"gateway": s.gateway, "session": s.session, "role": s.role.value}
            yield from _state_set(_STATES, s.state.value, labels)


def _session_health(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for s in src.snapshot().sessions:
            labels = {"gateway": s.gateway, "session": s.session, "role": s.role.value}
            yield from _state_set(_HEALTHS, s.health.value, labels, "health")


def _session_up(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for s in src.snapshot().sessions:
            up = 1 if s.state is ConnectionState.CONNECTED else 0
            yield Observation(up, {"gateway": s.gateway, "session": s.session})


def _rtt_p99(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for s in src.snapshot().sessions:
            p99 = s.metrics.rtt_p99
            if p99 is not None:
                yield Observation(p99, {"gateway": s.gateway, "session": s.session})


def _gateway_up(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for g in src.snapshot().gateways:
            yield Observation(1 if serving(g) else 0, {"gateway": g.gateway})


def _gateway_state(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for g in src.snapshot().gateways:
            yield from _state_set(_STATES, g.state.value, {"gateway": g.gateway})


def _gateway_health(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for g in src.snapshot().gateways:
            yield from _state_set(_HEALTHS, g.health.value, {"gateway": g.gateway}, "health")


def _breaker_state(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        for g in src.snapshot().gateways:
            yield from _state_set(_BREAKERS, g.breaker.value, {"gateway": g.gateway})


def _ib_link_lost(_: CallbackOptions) -> Iterable[Observation]:
    """1 while TWS reports it lost IB's servers (1100 until 1101/1102) on any session."""
    for src in _all():
        for g in src.snapshot().gateways:
            lost = any(r.component == "ib_link" for s in g.sessions for r in s.reasons)
            yield Observation(1 if lost else 0, {"gateway": g.gateway})


def _clock_skew(_: CallbackOptions) -> Iterable[Observation]:
    """TWS's clock minus the broker's, from the monitor session's last heartbeat answer."""
    for src in _all():
        for g in src.snapshot().gateways:
            try:
                offset = src.connections.health_monitor(g.gateway).clock_offset
            except KeyError:
                continue
            if offset is not None:
                yield Observation(offset, {"gateway": g.gateway})


def _lease_gauge(field: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(_: CallbackOptions) -> Iterable[Observation]:
        for src in _all():
            for row in src.lease_rows():
                yield Observation(getattr(row, field), {"gateway": row.gateway})

    return observe


def _watchers(_: CallbackOptions) -> Iterable[Observation]:
    for src in _all():
        counts = {
            "connection_state": src.connections.state_events.watcher_count,
            "health": src.connections.health_events.watcher_count,
            "leases": src.leases.events.watcher_count,
        }
        for stream, count in counts.items():
            yield Observation(count, {"stream": stream})


_meter = otel.get_meter("ibbroker")
_GAUGES: list[tuple[str, str, str, Callable[[CallbackOptions], Iterable[Observation]]]] = [
    ("ibbroker.session.state", "1", "Connection state per session (1 = current).", _session_state),
    ("ibbroker.session.health", "1", "Health per session (1 = current).", _session_health),
    ("ibbroker.session.up", "1", "1 while the session is CONNECTED.", _session_up),
    ("ibbroker.heartbeat.rtt_p99", "s", "Heartbeat RTT p99 over the window.", _rtt_p99),
    ("ibbroker.gateway.up", "1", "1 while the gateway is usable (serving).", _gateway_up),
    ("ibbroker.gateway.state", "1", "Monitor state per gateway (1 = current).", _gateway_state),
    ("ibbroker.gateway.health", "1", "Health per gateway (1 = current).", _gateway_health),
    ("ibbroker.breaker.state", "1", "Circuit breaker per gateway (1 = current).", _breaker_state),
    ("ibbroker.ib_link.lost", "1", "1 while TWS has lost IB's servers (1100).", _ib_link_lost),
    (
        "ibbroker.clock.skew",
        "s",
        "TWS's clock minus the broker's at the last heartbeat (+-0.5 s: TWS answers in seconds).",
        _clock_skew,
    ),
    ("ibbroker.lease.held", "{lease}", "Leases held per gateway.", _lease_gauge("held")),
    ("ibbroker.lease.free", "{id}", "Client IDs free per gateway.", _lease_gauge("free")),
    (
        "ibbroker.lease.quarantined",
        "{id}",
        "Client IDs resting in quarantine per gateway.",
        _lease_gauge("quarantined"),
    ),
    (
        "ibbroker.gateway.tws_clients",
        "{client}",
        "API clients counted against TWS's limit of 32 on the gateway's host:port.",
        _lease_gauge("tws_clients"),
    ),
    ("ibbroker.stream.watchers", "{watcher}", "Subscribers per event stream.", _watchers),
]
for _name, _unit, _doc, _callback in _GAUGES:
    _meter.create_observable_gauge(_name, callbacks=[_callback], unit=_unit, description=_doc)

_reconnect_causes = _meter.create_counter(
    "ibbroker.connection.reconnect_causes",
    unit="{reconnect}",
    description="Sessions that lost their socket, by gateway and cause.",
)


def reconnect_cause(reason: str) -> str:
    """The bounded label of a transition reason: its upper-case prefix (``SOCKET_CLOSED: ...``
    gives ``SOCKET_CLOSED``), ``OTHER`` for free text or past :data:`MAX_CAUSES` causes."""
    cause = reason.partition(":")[0].strip()
    if not _CAUSE.match(cause):
        return "OTHER"
    with _lock:
        if cause not in _causes and len(_causes) >= MAX_CAUSES:
            return "OTHER"
        _causes.add(cause)
    return cause


def _on_state(event: ConnectionEvent) -> None:
    if (
        event.kind is EventKind.TRANSITION
        and event.state is ConnectionState.RECONNECTING
        and event.previous_state is ConnectionState.CONNECTED
    ):
        _reconnect_causes.add(1, {"gateway": event.gateway, "cause": reconnect_cause(event.reason)})


def attach(connections: ConnectionManager, leases: LeaseManager) -> Callable[[], None]:
    """Report ``connections`` and ``leases`` in the gauges until the returned function is
    called (call on the event loop)."""
    source = _Source(connections, leases)
    unregister = connections.register_state_callback(_on_state)
    with _lock:
        _sources.append(source)

    def detach() -> None:
        unregister()
        with _lock:
            if source in _sources:
                _sources.remove(source)

    return detach
