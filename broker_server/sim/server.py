"""The IB Gateway simulator: an asyncio TCP server speaking the TWS socket protocol.

``SimServer`` owns the listener, the connected sessions, the market (ticking in the
background) and the book; the book outlives client reconnects, ``faults.restart`` and even a
``stop()``/``start()`` cycle of the same object. The server only wires the parts together:
it implements ``SessionHost`` (for sessions), ``FaultTarget`` (for faults) and ``HandlerHost``
(for handlers), so none of them imports it. Typical use::

    async with SimServer(SimConfig(port=0, seed=1)) as sim:
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import Counter
from types import TracebackType
from typing import Any

from broker_server.logs import log_event
from broker_server.sim.book import Book, SimOrder
from broker_server.sim.clients import Clients
from broker_server.sim.config import MAX_TICK_RATE, SimConfig
from broker_server.sim.faults import SimFaults
from broker_server.sim.feeds import Feeds
from broker_server.sim.handlers import Handlers
from broker_server.sim.market import Market
from broker_server.sim.rules import OrderRules
from broker_server.sim.session import Session

__all__ = ["SimConfig", "SimServer"]

logger = logging.getLogger("ibbroker.sim")


class SimServer:
    """A simulated IB Gateway (see the module docstring)."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.market = Market(seed=self.config.seed)
        self.book = Book(self.config.accounts, self.market)
        self.clients = Clients()
        self.counters: Counter[str] = Counter()
        """How often each limit was hit (connections_refused, output_overflow, ...)."""
        # A lambda, not the bound method: tests move the clock by replacing ``sim.now``.
        self.rules = OrderRules(default_chunk=self.config.fill_chunk)
        self.faults = SimFaults(self)
        self.feeds = Feeds(
            self.config.accounts,
            self.book,
            self.market,
            self.clients,
            self.rules,
            self.faults,
            lambda: self.now(),
        )
        self.tick_rates: dict[int, float] = dict(self.config.tick_rates)
        """Instruments on their own tick clock: conId -> ticks per second."""
        self._instrument_tickers: dict[int, asyncio.Task[None]] = {}
        self.handlers = Handlers(self)
        self._listener: asyncio.Server | None = None
        self._port: int | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._bar_clock: asyncio.Task[None] | None = None
        self._started = False
        self.market.subscribe(self.feeds.on_market_step)
        self.market.subscribe_instrument(self.feeds.on_instrument_step)

    def __repr__(self) -> str:
        return (
            f"<SimServer {self.config.host}:{self._port} clients={sorted(self.sessions)} "
            f"listening={self._listener is not None} orders={len(self.book.orders)}>"
        )

    # lifecycle

    @property
    def port(self) -> int:
        """The port actually bound (fixed after the first start, reused by accept/restart)."""
        if self._port is None:
            raise RuntimeError("SimServer is not started")
        return self._port

    async def start(self) -> None:
        """Listen and start the market ticker."""
        if self._started:
            return
        self._started = True
        if not self.faults.refusing:
            await self.open_listener()
        if self.config.tick_interval > 0:
            self._ticker = asyncio.create_task(self._tick_loop())
        self._bar_clock = asyncio.create_task(self._bar_loop())
        for con_id in self.tick_rates:
            self._start_instrument_ticker(con_id)
        log_event(
            logger,
            logging.INFO,
            "sim_started",
            host=self.config.host,
            port=self._port,
            seed=self.config.seed,
            max_server_version=self.config.max_server_version,
        )

    async def stop(self) -> None:
        """Close the listener and every connection; the book is kept for a later start()."""
        self._started = False
        await self.faults.cancel_restart()
        for task in (self._ticker, self._bar_clock):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = self._bar_clock = None
        for task in self._instrument_tickers.values():
            task.cancel()
        for task in self._instrument_tickers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._instrument_tickers.clear()
        await self.close_listener()
        self.clients.drop(None, rst=False)
        await asyncio.sleep(0)
        log_event(logger, logging.INFO, "sim_stopped", port=self._port)

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def sessions(self) -> dict[int, Session]:
        """Sessions past startApi, by client ID (read-only view for tests and status)."""
        return self.clients.by_id

    def connected_client_ids(self) -> list[int]:
        """Client IDs past startApi, sorted."""
        return self.clients.client_ids()

    def now(self) -> dt.datetime:
        """The simulator's clock (UTC)."""
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        """The simulator's monotonic clock (pacing windows); tests may replace it."""
        return time.monotonic()

    def status(self) -> dict[str, Any]:
        """Plain-data state for the control interface."""
        return {
            "host": self.config.host,
            "port": self._port,
            "listening": self._listener is not None,
            "client_ids": self.connected_client_ids(),
            "connections": len(self.clients.connections),
            "market_steps": self.market.steps,
            "orders": len(self.book.orders),
            "working_orders": len(self.book.working_orders()),
            "executions": len(self.book.executions),
            "rejected_orders": len(self.book.rejected),
            "rules": self.rules.status(),
            "market_data_lines": {str(k): v for k, v in self.market_data_lines().items()},
            "tick_rates": {str(k): v for k, v in self.tick_rates.items()},
            "faults": self.faults.status(),
            "limits": {
                "max_clients": self.config.max_clients,
                "max_connections": self.config.max_connections,
                "max_output_bytes": self.config.max_output_bytes,
                "max_frame_bytes": self.config.max_frame_bytes,
                "max_pending_requests": self.config.max_pending_requests,
                "max_msgs_per_sec": self.config.max_msgs_per_sec,
            },
            "counters": dict(self.counters),
        }

    def market_data_lines(self) -> dict[int, int]:
        """Streaming market-data lines held per client ID (clients holding none omitted)."""
        return self.clients.market_data_lines()

    def set_tick_rate(self, con_id: int, rate: float) -> None:
        """Move and tick ``con_id`` ``rate`` times a second on its own clock (0: stop)."""
        if self.market.by_con_id(con_id) is None:
            raise KeyError(f"unknown conId {con_id}")
        if not 0 <= rate <= MAX_TICK_RATE:
            raise ValueError(f"rate must be within 0..{MAX_TICK_RATE}")
        task = self._instrument_tickers.pop(con_id, None)
        if task is not None:
            task.cancel()
        if rate == 0:
            self.tick_rates.pop(con_id, None)
        else:
            self.tick_rates[con_id] = rate
            if self._started:
                self._start_instrument_ticker(con_id)
        log_event(logger, logging.INFO, "sim_tick_rate", con_id=con_id, rate=rate)

    def _start_instrument_ticker(self, con_id: int) -> None:
        self._instrument_tickers[con_id] = asyncio.create_task(self._instrument_tick_loop(con_id))

    async def _instrument_tick_loop(self, con_id: int) -> None:
        # A fixed schedule, not sleep(interval): the rate holds even when a step takes time.
        # When far behind (a blocked loop), restart the schedule instead of bursting.
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += 1.0 / self.tick_rates[con_id]
            delay = due - loop.time()
            if delay < -1.0:
                due = loop.time()
            await asyncio.sleep(max(0.0, delay))
            try:
                self.market.step_instrument(con_id)
            except Exception:  # a bug in a listener must not stop the ticker
                logger.exception("sim_instrument_step_failed con_id=%s", con_id)

    def order_info(self, o: SimOrder) -> dict[str, Any]:
        """One order as plain data (control port ``orders``)."""
        return {
            "client_id": o.client_id,
            "order_id": o.order_id,
            "perm_id": o.perm_id,
            "order_ref": o.order_ref,
            "symbol": o.instrument.symbol,
            "con_id": o.instrument.con_id,
            "action": o.action,
            "order_type": o.order_type,
            "total_qty": o.total_qty,
            "filled": o.filled,
            "status": o.status,
            "parent_id": o.parent_id,
            "account": o.account,
        }

    # FaultTarget (used by faults)

    async def open_listener(self) -> None:
        """Listen on the configured port (the same one again after the first start)."""
        if self._listener is not None:
            return
        loop = asyncio.get_running_loop()
        port = self._port if self._port is not None else self.config.port
        self._listener = await loop.create_server(
            lambda: Session(self), self.config.host, port, reuse_address=True
        )
        sock = self._listener.sockets[0]
        self._port = sock.getsockname()[1]

    async def close_listener(self) -> None:
        """Stop accepting; connected clients stay."""
        listener, self._listener = self._listener, None
        if listener is not None:
            # close() stops accepting at once; wait_closed() would also wait for clients.
            listener.close()
            await asyncio.sleep(0)

    def drop_clients(self, client_id: int | None, rst: bool) -> int:
        """Abort every connection (or one client's); returns how many."""
        return self.clients.drop(client_id, rst)

    def apply_stall(self) -> None:
        """Stall or resume every connection as the faults say."""
        self.clients.apply_stall(self.faults.is_stalled)

    def broadcast_error(self, code: int, text: str) -> int:
        """``error(-1, code, text)`` to every ready client."""
        return self.clients.broadcast_error(code, text)

    def lose_market_data(self) -> None:
        """1101: every market-data and live-bar subscription ends."""
        n = self.clients.drop_market_data()
        log_event(logger, logging.INFO, "sim_market_data_lost", lines=n)

    def resume_market_data(self) -> None:
        """Data flows again: a fresh full quote to every subscriber."""
        self.feeds.resume()

    # SessionHost (used by Session)

    def register(self, s: Session) -> bool:
        """A connection was made; refused beyond ``max_connections``."""
        if len(self.clients.connections) >= self.config.max_connections:
            return False
        self.clients.register(s)
        return True

    def count(self, event: str) -> None:
        """Count a limit being hit."""
        self.counters[event] += 1

    def unregister(self, s: Session) -> None:
        """A connection is gone."""
        self.clients.unregister(s)

    def start_api(self, s: Session, fields: list[str]) -> None:
        """startApi (71) on a connection past the handshake."""
        self.handlers.start_api(s, fields)

    def handle(self, s: Session, msg_id: int, fields: list[str]) -> None:
        """One request of a ready client."""
        self.handlers.dispatch(s, msg_id, fields)

    # market

    async def _bar_loop(self) -> None:
        # Bar periods are aligned to multiples of the interval on the simulator's wall clock
        # (12:00:00, 12:00:05, ... as at IB); a bar goes out when its period is over.
        interval = self.config.realtime_bar_interval
        while True:
            now = self.now().timestamp()
            start = (now // interval) * interval
            await asyncio.sleep(max(0.0, start + interval - now))
            try:
                self.feeds.send_realtime_bars(int(start))
            except Exception:  # a bug in a listener must not stop the bars
                logger.exception("sim_realtime_bars_failed")

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval)
            try:
                self.market.step()
            except Exception:  # a bug in a listener must not stop the market
                logger.exception("sim_market_step_failed")
