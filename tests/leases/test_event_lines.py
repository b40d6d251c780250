"""Every lease event is its own log line, also when it repeats: a busy client ID is freed many
times within one repeat-limiter window, and each FREED is a state change that must be logged."""

from __future__ import annotations

import io
import json
import logging

from broker_server.domain.leases import LeaseEvent, LeaseEventKind
from broker_server.logs import JsonFormatter, RepeatLimiter
from broker_server.runtime.events import EventHub
from broker_server.runtime.lease_events import LeasePublisher


def test_repeated_freed_events_each_get_a_line_through_the_repeat_limiter() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RepeatLimiter(burst=3, interval=3600.0))
    logger = logging.getLogger("ibbroker.leases")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        hub: EventHub[LeaseEvent] = EventHub(
            lambda seq: [LeaseEvent(seq, 0.0, LeaseEventKind.SNAPSHOT_END, "paper", 0)]
        )
        publisher = LeasePublisher(hub)
        events = [publisher.emit(LeaseEventKind.FREED, "paper", 100, 1.0) for _ in range(25)]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["lease_freed"] * 25
    assert [line["sequence"] for line in lines] == [e.sequence for e in events]
    assert all(line["client_id"] == 100 and line["gateway"] == "paper" for line in lines)
