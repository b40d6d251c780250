"""Fixtures for the connection tests: a simulator on a free loopback port, fast gateway
settings, a manager that is always closed, and an event recorder that waits instead of sleeping."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from broker_server.config import GatewayConfig
from broker_server.domain.connection_state import ConnectionState
from broker_server.domain.events import ConnectionEvent, EventKind
from broker_server.runtime.connections import ConnectionManager
from broker_server.sim.server import SimConfig, SimServer

LIBRARIES = ("ib_insync", "ib_async")

# The client libraries log every connect and drop at INFO/ERROR; the tests assert on events.
for _name in ("ib_insync", "ib_async"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def fast_config(port: int, **overrides: Any) -> GatewayConfig:
    """Small timings: heartbeat 0.2 s / 0.4 s, backoff 0.05..0.5 s, breaker 3 failures / 0.5 s
    (on the count alone), port looks every 0.05 s."""
    base = GatewayConfig(
        name="paper",
        host="127.0.0.1",
        port=port,
        timeout=1.0,
        retry_delay=0.05,
        backoff_cap=0.5,
        heartbeat_interval=0.2,
        heartbeat_timeout=0.4,
        heartbeat_warn=0.5,
        breaker_failures=3,
        breaker_open=0.5,
        breaker_open_max=1.0,
        breaker_failure_span=0.0,
        port_probe_interval=0.05,
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(port=0, current_time_min_interval=0, tick_interval=0.1))
    await server.start()
    try:
        yield server
    finally:
        server.faults.clear()
        await server.stop()


@pytest.fixture
async def make_manager() -> AsyncIterator[Callable[..., ConnectionManager]]:
    made: list[ConnectionManager] = []

    def make(*configs: GatewayConfig, **kwargs: Any) -> ConnectionManager:
        manager = ConnectionManager(list(configs), **kwargs)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        await manager.close()


class Recorder:
    """Every state event of a manager, in order; ``wait`` returns the first match."""

    def __init__(self, manager: ConnectionManager) -> None:
        self.events: list[ConnectionEvent] = []
        self._changed = asyncio.Event()
        manager.register_state_callback(self._on)

    def _on(self, event: ConnectionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def mark(self) -> int:
        """Index to search from for events that happen after now."""
        return len(self.events)

    async def wait(
        self, pred: Callable[[ConnectionEvent], bool], *, after: int = 0, within: float = 5.0
    ) -> ConnectionEvent:
        i = after
        async with asyncio.timeout(within):
            while True:
                while i < len(self.events):
                    if pred(self.events[i]):
                        return self.events[i]
                    i += 1
                self._changed.clear()
                await self._changed.wait()

    async def state(
        self, state: ConnectionState, *, after: int = 0, within: float = 5.0
    ) -> ConnectionEvent:
        return await self.wait(
            lambda e: e.kind is EventKind.TRANSITION and e.state is state,
            after=after,
            within=within,
        )

    async def kind(
        self, kind: EventKind, *, after: int = 0, within: float = 5.0
    ) -> ConnectionEvent:
        return await self.wait(lambda e: e.kind is kind, after=after, within=within)
