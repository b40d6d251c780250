"""Helpers to drive the official, blocking ``ibapi`` client against the simulator.

ibapi is threaded: ``EClient.connect`` blocks on the socket and ``EClient.run`` is a message
loop that must run on its own thread. So the simulator gets a thread with its own asyncio loop
(``SimThread``), the test thread sends requests, and the wrapper (``RecordingApp``) records
every callback under a condition variable the test waits on with a deadline.

ibapi drops or dies on malformed messages in three ways, all caught here: an ERROR line on an
``ibapi*`` logger (for example "diff len fields and params"), ``EWrapper.error`` with a code
nobody expected (505 "Bad message" among them), or an exception that ends ``run()``'s thread
(an ``int("100.0")``, for instance).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ibapi.client import EClient  # type: ignore[import-untyped]
from ibapi.commission_report import CommissionReport  # type: ignore[import-untyped]
from ibapi.common import BarData, TickAttrib  # type: ignore[import-untyped]
from ibapi.contract import Contract, ContractDetails  # type: ignore[import-untyped]
from ibapi.execution import Execution  # type: ignore[import-untyped]
from ibapi.order import Order  # type: ignore[import-untyped]
from ibapi.order_state import OrderState  # type: ignore[import-untyped]
from ibapi.wrapper import EWrapper  # type: ignore[import-untyped]

from broker_server.sim.server import SimConfig, SimServer

T = TypeVar("T")

INFO_CODES = frozenset({2104, 2106, 2158})
"""Farm-status notices a gateway sends after startApi: informational, never a failure."""

WAIT = 10.0
"""Upper bound of every wait on the client, in seconds."""


class SimThread:
    """A ``SimServer`` running on an asyncio loop in a daemon thread."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sim", daemon=True)
        self._sim: SimServer | None = None

    @property
    def sim(self) -> SimServer:
        """The server; touch its state only through ``call`` (it lives on the sim loop)."""
        assert self._sim is not None, "SimThread not started"
        return self._sim

    def start(self) -> None:
        """Start the loop thread and the server on it; returns once it listens."""
        self._thread.start()
        self._sim = SimServer(self.config)
        self.run(self._sim.start())

    def stop(self) -> None:
        """Stop the server, the loop and the thread."""
        if self._sim is not None:
            self.run(self._sim.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT)
        assert not self._thread.is_alive(), "simulator thread did not stop"
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = WAIT) -> T:
        """Run ``coro`` on the sim loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = WAIT) -> T:
        """Call ``fn`` on the sim loop (where the market and the sessions live)."""
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def _run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed back to the caller
                fut.set_exception(exc)

        self.loop.call_soon_threadsafe(_run)
        return fut.result(timeout)


@dataclass
class ErrorEvent:
    """One ``EWrapper.error`` callback."""

    req_id: int
    code: int
    message: str


@dataclass
class Fill:
    """One ``execDetails`` callback."""

    req_id: int
    contract: Contract
    execution: Execution


@dataclass
class Position:
    """One ``position`` callback."""

    account: str
    contract: Contract
    position: float
    avg_cost: float


@dataclass
class OrderStatusEvent:
    """One ``orderStatus`` callback."""

    order_id: int
    status: str
    filled: float
    remaining: float
    avg_fill_price: float
    perm_id: int
    client_id: int


@dataclass
class Recorded:
    """Everything the wrapper received, in arrival order per kind."""

    next_valid_id: int | None = None
    accounts: list[str] = field(default_factory=list)
    errors: list[ErrorEvent] = field(default_factory=list)
    current_time: list[int] = field(default_factory=list)
    details: dict[int, list[ContractDetails]] = field(default_factory=dict)
    details_end: set[int] = field(default_factory=set)
    tick_prices: list[tuple[int, int, float]] = field(default_factory=list)
    tick_sizes: list[tuple[int, int, int]] = field(default_factory=list)
    bars: dict[int, list[BarData]] = field(default_factory=dict)
    bars_end: dict[int, tuple[str, str]] = field(default_factory=dict)
    realtime_bars: dict[int, list[tuple[int, float, float, float, float, int, float, int]]] = field(
        default_factory=dict
    )
    order_status: list[OrderStatusEvent] = field(default_factory=list)
    open_orders: list[tuple[int, Contract, Order, OrderState]] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    commissions: list[CommissionReport] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    position_end: int = 0
    closed: bool = False


class RecordingApp(EWrapper, EClient):
    """An ibapi client whose wrapper records every callback the tests look at."""

    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, wrapper=self)
        self.cond = threading.Condition()
        self.rec = Recorded()
        self.thread: threading.Thread | None = None
        self.loop_error: BaseException | None = None

    # plumbing

    def _add(self, fn: Callable[[Recorded], None]) -> None:
        with self.cond:
            fn(self.rec)
            self.cond.notify_all()

    def wait(self, predicate: Callable[[Recorded], bool], within: float = WAIT) -> None:
        """Block until ``predicate(recorded)`` holds; AssertionError after ``within`` s.

        Also fails at once when ``run()``'s thread has died: ibapi's message loop ends on
        the first field it cannot parse, and then nothing would ever arrive.
        """
        deadline = time.monotonic() + within
        with self.cond:
            while not predicate(self.rec):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out after {within}s; errors={self.rec.errors}"
                assert self.loop_alive(), (
                    f"ibapi message loop died: {self.loop_error!r}; errors={self.rec.errors}"
                )
                self.cond.wait(min(left, 0.1))

    def loop_alive(self) -> bool:
        """Whether the ``run()`` thread is still running."""
        return self.thread is not None and self.thread.is_alive()

    def start(self, port: int, client_id: int) -> None:
        """Connect (blocking handshake), then run the message loop on a thread."""
        self.connect("127.0.0.1", port, client_id)
        assert self.isConnected(), f"ibapi could not connect; errors={self.rec.errors}"
        self.thread = threading.Thread(
            target=self._run_loop, name=f"ibapi-{client_id}", daemon=True
        )
        self.thread.start()

    def _run_loop(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # recorded: the test reports it, not the thread hook
            self.loop_error = exc
            with self.cond:
                self.cond.notify_all()

    def stop(self) -> None:
        """Disconnect and join the message loop and reader threads."""
        conn = self.conn
        reader = getattr(self, "reader", None)
        if conn is not None and conn.socket is not None:
            # Wake the reader thread's blocking recv() now instead of at its 1 s timeout.
            try:
                conn.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.disconnect()
        for t in (self.thread, reader):
            if t is not None:
                t.join(WAIT)
                assert not t.is_alive(), f"ibapi thread {t.name} did not stop"

    def next_id(self) -> int:
        """A fresh request/order ID from the nextValidId counter."""
        with self.cond:
            assert self.rec.next_valid_id is not None
            value = self.rec.next_valid_id
            self.rec.next_valid_id += 1
            return value

    # EWrapper

    def error(self, reqId: int, errorCode: int, errorString: str) -> None:
        self._add(lambda r: r.errors.append(ErrorEvent(reqId, errorCode, errorString)))

    def connectionClosed(self) -> None:
        self._add(lambda r: setattr(r, "closed", True))

    def nextValidId(self, orderId: int) -> None:
        self._add(lambda r: setattr(r, "next_valid_id", orderId))

    def managedAccounts(self, accountsList: str) -> None:
        self._add(lambda r: r.accounts.extend(a for a in accountsList.split(",") if a))

    def currentTime(self, time: int) -> None:
        self._add(lambda r: r.current_time.append(time))

    def contractDetails(self, reqId: int, contractDetails: ContractDetails) -> None:
        self._add(lambda r: r.details.setdefault(reqId, []).append(contractDetails))

    def contractDetailsEnd(self, reqId: int) -> None:
        self._add(lambda r: r.details_end.add(reqId))

    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: TickAttrib) -> None:
        self._add(lambda r: r.tick_prices.append((reqId, tickType, price)))

    def tickSize(self, reqId: int, tickType: int, size: int) -> None:
        self._add(lambda r: r.tick_sizes.append((reqId, tickType, size)))

    def historicalData(self, reqId: int, bar: BarData) -> None:
        self._add(lambda r: r.bars.setdefault(reqId, []).append(bar))

    def realtimeBar(
        self, reqId: int, time: int, open_: float, high: float, low: float, close: float,
        volume: int, wap: float, count: int,
    ) -> None:  # fmt: skip
        bar = (time, open_, high, low, close, volume, wap, count)
        self._add(lambda r: r.realtime_bars.setdefault(reqId, []).append(bar))

    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self._add(lambda r: r.bars_end.__setitem__(reqId, (start, end)))

    def orderStatus(
        self,
        orderId: int,
        status: str,
        filled: float,
        remaining: float,
        avgFillPrice: float,
        permId: int,
        parentId: int,
        lastFillPrice: float,
        clientId: int,
        whyHeld: str,
        mktCapPrice: float,
    ) -> None:
        event = OrderStatusEvent(orderId, status, filled, remaining, avgFillPrice, permId, clientId)
        self._add(lambda r: r.order_status.append(event))

    def openOrder(
        self,
        orderId: int,
        contract: Contract,
        order: Order,
        orderState: OrderState,
    ) -> None:
        self._add(lambda r: r.open_orders.append((orderId, contract, order, orderState)))

    def execDetails(self, reqId: int, contract: Contract, execution: Execution) -> None:
        self._add(lambda r: r.fills.append(Fill(reqId, contract, execution)))

    def commissionReport(self, commissionReport: CommissionReport) -> None:
        self._add(lambda r: r.commissions.append(commissionReport))

    def position(
        self,
        account: str,
        contract: Contract,
        position: float,
        avgCost: float,
    ) -> None:
        self._add(lambda r: r.positions.append(Position(account, contract, position, avgCost)))

    def positionEnd(self) -> None:
        self._add(lambda r: setattr(r, "position_end", r.position_end + 1))


class IbapiLogGuard(logging.Handler):
    """Collects WARNING-and-above records of the ``ibapi`` loggers."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        """The collected records, formatted."""
        return [f"{r.name}: {r.levelname}: {r.getMessage()}" for r in self.records]
