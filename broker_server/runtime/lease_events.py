"""How a lease event is observed: one JSON log line, one count, one watch-stream event and the
``on_event`` callback, all from one :class:`~broker_server.domain.leases.LeaseEvent`."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from broker_server.domain.leases import (
    LeaseEvent,
    LeaseEventKind,
    LeaseRecord,
    Quarantine,
    QuarantineReason,
)
from broker_server.logs import log_event
from broker_server.runtime.events import EventHub

log = logging.getLogger("ibbroker.leases")


class Tally:
    """Counts kept in a dict and read by an observable OpenTelemetry instrument when metrics
    are collected. A synchronous ``Counter.add`` costs the event loop tens of microseconds
    (attribute hashing, locks, per-reader aggregation), and a lease pair makes six of them; a
    dict update costs well under one. Same name, same attributes, same cumulative values."""

    def __init__(self, key: str) -> None:
        self._key = key
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()  # collection runs on the exporter's thread

    def add(self, amount: int, value: str) -> None:
        """Add ``amount`` to the point whose attribute ``key`` is ``value``."""
        with self._lock:
            self._counts[value] += amount

    def add_pair(self, amount: int, first: str, second: str) -> None:
        """For a two-attribute tally (:meth:`observe_pairs`): ``first`` / ``second``."""
        self.add(amount, f"{first}\0{second}")

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._counts.items())
        return [Observation(count, {self._key: value}) for value, count in items]

    def observe_pairs(self, second_key: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(_options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                items = list(self._counts.items())
            points = []
            for joined, count in items:
                first, second = joined.split("\0", 1)
                points.append(Observation(count, {self._key: first, second_key: second}))
            return points

        return observe


_meter = metrics.get_meter("ibbroker")
events_tally = Tally("event")
"""``ibbroker.lease.events`` (attributes event, gateway)."""
active_tally = Tally("gateway")
"""``ibbroker.lease.active`` (attribute gateway): leases held."""
_meter.create_observable_counter(
    "ibbroker.lease.events",
    callbacks=[events_tally.observe_pairs("gateway")],
    unit="{event}",
    description="Lease events, by event and gateway.",
)
_meter.create_observable_up_down_counter(
    "ibbroker.lease.active",
    callbacks=[active_tally.observe],
    unit="{lease}",
    description="Leases currently held, by gateway.",
)


class LeasePublisher:
    """Publishes lease events to :attr:`events` (the watch streams) and ``on_event``."""

    def __init__(
        self, events: EventHub[LeaseEvent], on_event: Callable[[LeaseEvent], None] | None = None
    ) -> None:
        self.events = events
        self._on_event = on_event

    def end(self, reason: str, now: float, gateway: str) -> None:
        """End every watch stream after one FINAL event naming ``gateway`` (idempotent)."""
        if self.events.closed:
            return
        log_event(
            log,
            logging.INFO,
            "lease_streams_ended",
            reason=reason,
            watchers=self.events.watcher_count,
        )
        self.events.close(lambda seq: LeaseEvent(seq, now, LeaseEventKind.FINAL, gateway, 0))

    def emit(
        self,
        kind: LeaseEventKind,
        gateway: str,
        client_id: int,
        now: float,
        *,
        lease: LeaseRecord | None = None,
        quarantine: Quarantine | None = None,
    ) -> LeaseEvent:
        """Log, count, publish and hand ``on_event`` one event; returns it, sequenced."""
        fields: dict[str, Any] = {"gateway": gateway, "client_id": client_id}
        if lease is not None:
            fields.update(
                lease_id=lease.lease_id,
                epoch=lease.epoch,
                owner=lease.owner,
                mode=lease.mode.value,
                state=lease.state.value,
                expire_time=lease.expire_time,
            )
            if lease.grace_until is not None:
                fields["grace_until"] = lease.grace_until
        if quarantine is not None:
            fields.update(until=quarantine.until, reason=quarantine.reason.value)
        level = (
            logging.WARNING
            if quarantine is not None
            and quarantine.reason in (QuarantineReason.IN_USE, QuarantineReason.PROBE_FAILED)
            else logging.INFO
        )
        event = self.events.publish(
            lambda seq: LeaseEvent(seq, now, kind, gateway, client_id, lease, quarantine)
        )
        # The watch stream's sequence makes every line distinct, so the repeat limiter never
        # takes a state change for a flood (a FREED line names only the gateway and client ID,
        # and a busy ID is freed many times in one limiter window); it also finds the event.
        fields["sequence"] = event.sequence
        log_event(log, level, f"lease_{kind.value}", **fields)
        events_tally.add_pair(1, kind.value, gateway)
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("lease_event_callback_failed")
        return event
