"""The trading series of ``/metrics``: orders, IB pacing and market-data lines, read from the
runtime, so no instrument or I/O is added to it.

What is read, and how:

- Orders by state: :meth:`OrderLedger.count_by_state`; submissions and rejections: the ledger's
  published events (:meth:`OrderLedger.on_publish`, a synchronous callback on the event loop).
  Fills are the ledger's own ``ibbroker.orders.fills`` counter.
- Pacing queue depth per lane: :meth:`SessionPacer.waiting_by_lane` of every order session's
  pacer and every market-data session's pacer; refusals: their ``refused`` counts. The wait
  histogram is recorded where a request is admitted (:mod:`broker_server.runtime.pacing`).
- Market-data lines in use and the budget per gateway: the line registry; conflated updates:
  :meth:`MarketDataManager.conflated`. Subscribers and the broker's endings of slow subscribers
  are the market-data runtime's own ``ibbroker.market_data.subscribers`` and
  ``ibbroker.market_data.subscribers_ended`` instruments.

The order ledger, the pacers and the line registry belong to the event loop. A scrape runs on
the HTTP listener's thread, so each gauge asks the loop for its numbers and waits at most
:data:`LOOP_WAIT` seconds, else reports the last ones (never a stale cache: a scrape right
after a change shows it). Labels: state and lane (enums), gateway
(configuration). Owners, order IDs, orderRefs and contracts are never labels.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from opentelemetry import metrics as otel
from opentelemetry.metrics import CallbackOptions, Observation

from broker_server.domain.order_events import OrderEventKind, OrderEventRecord
from broker_server.domain.order_state import OrderState
from broker_server.domain.pacing import Lane
from broker_server.runtime.connections import ConnectionManager
from broker_server.runtime.market_data import MarketDataManager
from broker_server.runtime.md_sessions import PooledDataSessions
from broker_server.runtime.orders import OrderManager
from broker_server.runtime.pacing import SessionPacer

LOOP_WAIT = 1.0
"""Seconds a scrape waits for the event loop to read the runtime."""
T = TypeVar("T")


class _Trading:
    """One broker's order and market-data runtimes, as the gauges see them."""

    def __init__(
        self,
        connections: ConnectionManager,
        orders: OrderManager,
        market_data: MarketDataManager,
        data_sessions: PooledDataSessions,
    ) -> None:
        self.connections = connections
        self.orders = orders
        self.market_data = market_data
        self.data_sessions = data_sessions
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self._last: dict[str, Any] = {}

    def pacers(self) -> list[SessionPacer]:
        return [*self.orders.pacers.all(), *self.data_sessions.pacers()]

    def gateways(self) -> list[str]:
        return [g.gateway for g in self.connections.get_connection_state().gateways]

    def on_loop(self, what: str, read: Callable[[_Trading], T]) -> T | None:
        """``read(self)`` run on the event loop (the runtime's only thread), waiting at most
        :data:`LOOP_WAIT` seconds; else the last value read for ``what`` (None: never read)."""
        if threading.get_ident() == self.loop_thread:
            value = self._last[what] = read(self)
            return value
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                result.set_result(read(self))
            except Exception as err:  # never leave the scrape waiting
                result.set_exception(err)

        try:
            self.loop.call_soon_threadsafe(run)
            value = self._last[what] = result.result(timeout=LOOP_WAIT)
            return value
        except (RuntimeError, concurrent.futures.TimeoutError):
            return cast("T | None", self._last.get(what))  # the loop is closed or busy


_sources: list[_Trading] = []
_lock = threading.Lock()


def _read_all(what: str, read: Callable[[_Trading], T]) -> list[T]:
    with _lock:
        sources = list(_sources)
    return [v for v in (s.on_loop(what, read) for s in sources) if v is not None]


def _count_orders(src: _Trading) -> dict[OrderState, int]:
    return src.orders.ledger.count_by_state()


def _orders_by_state(_: CallbackOptions) -> Iterable[Observation]:
    for counts in _read_all("orders", _count_orders):
        for state, count in counts.items():
            yield Observation(count, {"state": state.value})


def _queue_depths(src: _Trading) -> dict[Lane, int]:
    depth = dict.fromkeys(Lane, 0)
    for pacer in src.pacers():
        for lane, waiting in pacer.waiting_by_lane().items():
            depth[lane] += waiting
    return depth


def _pacing_depth(_: CallbackOptions) -> Iterable[Observation]:
    for depth in _read_all("depth", _queue_depths):
        for lane, waiting in depth.items():
            yield Observation(waiting, {"lane": lane.name})


def _refusals(src: _Trading) -> int:
    return sum(p.refused for p in src.pacers())


def _pacing_refused(_: CallbackOptions) -> Iterable[Observation]:
    for refused in _read_all("refused", _refusals):
        yield Observation(refused)


def _lines(src: _Trading) -> dict[str, tuple[int, int]]:
    registry = src.market_data.registry
    return {gw: (registry.in_use(gw), registry.budget) for gw in src.gateways()}


def _lines_in_use(_: CallbackOptions) -> Iterable[Observation]:
    for lines in _read_all("lines", _lines):
        for gateway, (in_use, _budget) in lines.items():
            yield Observation(in_use, {"gateway": gateway})


def _line_budget(_: CallbackOptions) -> Iterable[Observation]:
    for lines in _read_all("lines", _lines):
        for gateway, (_in_use, budget) in lines.items():
            yield Observation(budget, {"gateway": gateway})


def _conflations(src: _Trading) -> dict[str, int]:
    counts = dict.fromkeys(src.gateways(), 0)
    counts.update(src.market_data.conflated())
    return counts


def _conflated(_: CallbackOptions) -> Iterable[Observation]:
    for counts in _read_all("conflated", _conflations):
        for gateway, count in counts.items():
            yield Observation(count, {"gateway": gateway})


_meter = otel.get_meter("ibbroker")
_meter.create_observable_gauge(
    "ibbroker.orders.by_state",
    callbacks=[_orders_by_state],
    unit="{order}",
    description="Orders the broker's journal holds, by state (terminal ones while it keeps them).",
)
_meter.create_observable_gauge(
    "ibbroker.pacing.queue_depth",
    callbacks=[_pacing_depth],
    unit="{request}",
    description="Requests waiting for their turn on the IB sessions' pacers, by lane.",
)
_meter.create_observable_counter(
    "ibbroker.pacing.refused",
    callbacks=[_pacing_refused],
    unit="{request}",
    description="Requests refused with PACING (could not be sent within their deadline).",
)
_meter.create_observable_gauge(
    "ibbroker.market_data.lines_in_use",
    callbacks=[_lines_in_use],
    unit="{line}",
    description="IB market-data lines held per gateway (lingering ones included).",
)
_meter.create_observable_gauge(
    "ibbroker.market_data.line_budget",
    callbacks=[_line_budget],
    unit="{line}",
    description="The gateway's market-data line budget (market_data.line_budget).",
)
_meter.create_observable_counter(
    "ibbroker.market_data.conflated",
    callbacks=[_conflated],
    unit="{update}",
    description="Market-data updates merged into a later one for a subscriber that read slower.",
)
_submitted = _meter.create_counter(
    "ibbroker.orders.submitted",
    unit="{order}",
    description="Orders written to IB (a bracket counts three), by gateway.",
)
_rejected = _meter.create_counter(
    "ibbroker.orders.rejected", unit="{order}", description="Orders IB rejected, by gateway."
)
_GATEWAY_LABELS: dict[str, dict[str, str]] = {}


def _gateway(name: str) -> dict[str, str]:
    labels = _GATEWAY_LABELS.get(name)
    if labels is None:  # gateway names come from the configuration: the set is bounded
        labels = _GATEWAY_LABELS[name] = {"gateway": name}
    return labels


def _on_order_event(record: OrderEventRecord) -> None:
    """Count submissions and rejections from the ledger's events (live ones and reconciled)."""
    entry = record.entry
    if record.kind is not OrderEventKind.STATE_CHANGED or entry is None:
        return
    if record.previous_state is entry.state:
        return
    if entry.state is OrderState.SUBMITTED:
        _submitted.add(1, _gateway(entry.gateway))
    elif entry.state is OrderState.REJECTED:
        _rejected.add(1, _gateway(entry.gateway))


def attach(
    connections: ConnectionManager,
    orders: OrderManager,
    market_data: MarketDataManager,
    data_sessions: PooledDataSessions,
) -> Callable[[], None]:
    """Report these runtimes in the trading series until the returned function is called
    (call on the event loop)."""
    source = _Trading(connections, orders, market_data, data_sessions)
    unregister = orders.ledger.on_publish(_on_order_event)
    with _lock:
        _sources.append(source)

    def detach() -> None:
        unregister()
        with _lock:
            if source in _sources:
                _sources.remove(source)

    return detach
