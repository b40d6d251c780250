"""The host interface request handlers use: the simulator's state, without the server.

``SimServer`` implements ``HandlerHost``; handlers never import the server, so the import
graph of the simulator stays one-way (see tests/sim/test_imports.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from broker_server.sim.book import Book
from broker_server.sim.clients import Clients
from broker_server.sim.config import SimConfig
from broker_server.sim.faults import SimFaults
from broker_server.sim.feeds import Feeds
from broker_server.sim.market import Market
from broker_server.sim.rules import OrderRules


class HandlerHost(Protocol):
    """What a request handler may use."""

    @property
    def config(self) -> SimConfig:
        """The simulator's configuration."""
        ...

    @property
    def book(self) -> Book:
        """Orders, executions, positions, balances."""
        ...

    @property
    def market(self) -> Market:
        """Instruments and quotes."""
        ...

    @property
    def clients(self) -> Clients:
        """Connected API clients."""
        ...

    @property
    def feeds(self) -> Feeds:
        """The push side (ticks, fills, account updates)."""
        ...

    @property
    def faults(self) -> SimFaults:
        """Scripted faults."""
        ...

    @property
    def rules(self) -> OrderRules:
        """Scripted fill sizes and rejections."""
        ...

    def now(self) -> dt.datetime:
        """The simulator's clock (UTC)."""
        ...

    def monotonic(self) -> float:
        """The simulator's monotonic clock (pacing windows)."""
        ...
