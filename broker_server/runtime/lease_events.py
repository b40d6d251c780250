"""How a lease event is observed: one JSON log line, one count, one watch-stream event and the
``on_event`` callback, all from one :class:`~broker_server.domain.leases.LeaseEvent`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics

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

_events_counter = metrics.get_meter("ibbroker").create_counter(
    "ibbroker.lease.events", unit="{event}", description="Lease events, by event and gateway."
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
        log_event(log, level, f"lease_{kind.value}", **fields)
        _events_counter.add(1, {"event": kind.value, "gateway": gateway})
        event = self.events.publish(
            lambda seq: LeaseEvent(seq, now, kind, gateway, client_id, lease, quarantine)
        )
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("lease_event_callback_failed")
        return event
