"""Helpers for the observability tests: a broker with /metrics, scraping and parsing, waiting
for connection events."""

from __future__ import annotations

import asyncio
import dataclasses
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from broker_server.app import Broker
from broker_server.config import BrokerConfig, TelemetryConfig
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import ConnectionEvent
from tests.server.helpers import fast_config

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def observed_config(store: Path, **telemetry: Any) -> BrokerConfig:
    """The fast test configuration with ``/metrics`` on 127.0.0.1:0 (and ``telemetry``)."""
    # A heartbeat timeout with slack: on a loaded machine 0.6 s can pass unanswered, and these
    # tests inject their faults themselves.
    cfg = fast_config(
        store, heartbeat_timeout=3.0, breaker_failures=3, breaker_open=2.0, breaker_open_max=2.0
    )
    fields = {"metrics_listen": "127.0.0.1:0", **telemetry}
    return dataclasses.replace(cfg, telemetry=TelemetryConfig(**fields))


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.status == 200
        return str(reply.read().decode())


async def scrape(broker: Broker) -> Samples:
    """GET /metrics over HTTP and parse it with prometheus_client's parser."""
    assert broker.observability is not None and broker.observability.metrics is not None
    text = await asyncio.to_thread(_get, broker.observability.metrics.url)
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


async def scrape_until(
    broker: Broker, test: Callable[[Samples], bool], seconds: float = 10.0
) -> Samples:
    """Scrape once per snapshot refresh (the gauges read the runtime's published snapshot,
    rebuilt every heartbeat interval) until ``test`` passes; fail after ``seconds``."""
    period = broker.gateway.heartbeat_interval
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        samples = await scrape(broker)
        if test(samples):
            return samples
        assert loop.time() < deadline, "the scrape never showed what was expected"
        await asyncio.sleep(period)


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The one sample ``name`` whose labels include ``labels`` (None when absent)."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} samples"
    return found[0] if found else None


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of every sample ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


class Events:
    """Connection events of a broker, to wait on (registered as a state callback)."""

    def __init__(self, broker: Broker) -> None:
        self.seen: list[ConnectionEvent] = []
        self._changed = asyncio.Condition()
        self.unregister = broker.connections.register_state_callback(self._on)

    async def _on(self, event: ConnectionEvent) -> None:
        async with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        return len(self.seen)

    async def wait(
        self, test: Callable[[ConnectionEvent], bool], after: int = 0, seconds: float = 15.0
    ) -> ConnectionEvent:
        """The first event after index ``after`` that passes ``test``."""

        def find() -> ConnectionEvent | None:
            return next((e for e in self.seen[after:] if test(e)), None)

        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(lambda: find() is not None)
        found = find()
        assert found is not None
        return found


async def wait_connected(broker: Broker, seconds: float = 30.0) -> None:
    """Until the default gateway's monitor session is CONNECTED (it may already be)."""
    events = Events(broker)
    try:
        if (
            broker.connections.get_connection_state().gateway().state
            is not ConnectionState.CONNECTED
        ):
            await events.wait(
                lambda e: e.state is ConnectionState.CONNECTED and e.session.endswith("monitor"),
                seconds=seconds,
            )
    finally:
        events.unregister()
