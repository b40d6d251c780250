"""Fixtures: a simulator on port 0, both client libraries, and a guard on their ERROR logs.

Decoders of ib_insync and ib_async drop a message they cannot parse with nothing but an
ERROR log line, so every test fails when the libraries log an ERROR it did not expect.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from broker_server.sim.server import SimConfig, SimServer

LIBS = ("ib_insync", "ib_async")
VERSIONS = (157, 176)


class ClientErrorGuard(logging.Handler):
    """Collects ERROR records of the client libraries; expected ones are allowed by regex."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._allowed: list[re.Pattern[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def allow(self, *patterns: str) -> None:
        """Accept ERROR lines matching any of ``patterns`` (what a real gateway also causes)."""
        self._allowed += [re.compile(p) for p in patterns]

    def unexpected(self) -> list[str]:
        """Formatted ERROR lines nobody allowed."""
        out = []
        for record in self.records:
            text = record.getMessage()
            if record.exc_info or not any(p.search(text) for p in self._allowed):
                out.append(f"{record.name}: {text}")
        return out


@pytest.fixture
def client_errors() -> Iterator[ClientErrorGuard]:
    """Fail the test on any unexpected ERROR from the ib_insync / ib_async loggers."""
    guard = ClientErrorGuard()
    loggers = [logging.getLogger(name) for name in LIBS]
    for lg in loggers:
        lg.addHandler(guard)
    try:
        yield guard
    finally:
        for lg in loggers:
            lg.removeHandler(guard)
    bad = guard.unexpected()
    if bad:
        pytest.fail("client libraries logged errors:\n" + "\n".join(bad))


@pytest.fixture(params=LIBS)
def lib(request: pytest.FixtureRequest) -> ModuleType:
    """The client library under test (ib_insync or ib_async)."""
    return importlib.import_module(request.param)


@pytest.fixture(params=VERSIONS, ids=lambda v: f"v{v}")
def server_version(request: pytest.FixtureRequest) -> int:
    """The simulator's maximum server version (both ends of the supported range)."""
    value: int = request.param
    return value


def make_config(**overrides: Any) -> SimConfig:
    """Test defaults: port 0, a still market (tests step it), no pacing surprises."""
    base: dict[str, Any] = {
        "port": 0,
        "seed": 1,
        "tick_interval": 0.0,
        "current_time_min_interval": 0.0,
        "farm_status_on_connect": True,
    }
    base.update(overrides)
    return SimConfig(**base)


@pytest.fixture
async def sim(server_version: int) -> AsyncIterator[SimServer]:
    """A running simulator at the parametrized server version."""
    async with SimServer(make_config(max_server_version=server_version)) as server:
        yield server


@pytest.fixture
async def raw_sim() -> AsyncIterator[SimServer]:
    """A simulator for raw-socket tests (no farm notices after startApi)."""
    async with SimServer(make_config(farm_status_on_connect=False)) as server:
        yield server


Connect = Callable[..., Awaitable[Any]]


@pytest.fixture
async def connect(lib: ModuleType, client_errors: ClientErrorGuard) -> AsyncIterator[Connect]:
    """``await connect(sim, client_id=1, within=2)`` -> a connected IB; all disconnect after."""
    made: list[Any] = []

    async def _connect(server: SimServer, client_id: int = 1, within: float = 2.0) -> Any:
        ib = lib.IB()
        made.append(ib)
        await ib.connectAsync("127.0.0.1", server.port, clientId=client_id, timeout=within)
        return ib

    yield _connect
    for ib in made:
        ib.disconnect()
    await asyncio.sleep(0)


async def wait_for(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Poll ``predicate`` on the loop until true; TimeoutError after ``within`` seconds."""

    async def _poll() -> None:
        # The conditions span library objects (trades, tickers, positions) that share no
        # single event, so poll the predicate every few ms under a deadline.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    await asyncio.wait_for(_poll(), within)
