"""The IB Gateway simulator: an asyncio TCP server speaking the TWS socket protocol.

``SimServer`` owns the listener, the connected sessions, the market (ticking in the
background) and the book; the book outlives client reconnects, ``faults.restart`` and even a
``stop()``/``start()`` cycle of the same object. Typical use::

    async with SimServer(SimConfig(port=0, seed=1)) as sim:
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=1)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from broker_server.logs import log_event
from broker_server.sim import messages as msg
from broker_server.sim import versions
from broker_server.sim.book import Book, Execution, SimOrder
from broker_server.sim.faults import SimFaults
from broker_server.sim.handlers import ERR_ORDER_CANCELLED, SUMMARY_EXTRA, Handlers, fmt_value
from broker_server.sim.market import Bar, Instrument, Market
from broker_server.sim.session import Phase, Session

logger = logging.getLogger("ibbroker.sim")

# Live and delayed tick type ids: bid, ask, last, bidSize, askSize, lastSize, high, low,
# volume, close, open.
_LIVE_TICKS = (1, 2, 4, 0, 3, 5, 6, 7, 8, 9, 14)
_DELAYED_TICKS = (66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76)


@dataclass(frozen=True)
class SimConfig:
    """Configuration of one simulated gateway."""

    host: str = "127.0.0.1"
    """Interface to listen on (loopback by default)."""
    port: int = 4002
    """TCP port; 0 picks a free one (read it back from ``SimServer.port``)."""
    seed: int = 1
    """Seed of the market's random walk: the same seed replays the same prices."""
    accounts: tuple[str, ...] = ("DU1234567",)
    """Managed accounts, sent in managedAccounts (15); the first is the default account."""
    max_server_version: int = versions.MAX_SERVER_VERSION
    """Highest server version offered (157..176); the reply is min(client max, this)."""
    current_time_min_interval: float = 1.0
    """reqCurrentTime is answered at most once per this many seconds per client (0: always)."""
    max_msgs_per_sec: int = 50
    """More incoming messages than this within one second: error 100, then disconnect
    (0 disables the limit)."""
    tick_interval: float = 0.25
    """Seconds between random-walk steps (0: the market only moves on ``market.step()``)."""
    max_clients: int = 32
    """Concurrent API clients; one more gets an error and is closed."""
    farm_status_on_connect: bool = True
    """Send the 2104/2106/2158 "farm connection is OK" notices after startApi, as TWS does."""

    def __post_init__(self) -> None:
        if (
            not versions.MIN_SERVER_VERSION
            <= self.max_server_version
            <= versions.MAX_SERVER_VERSION
        ):
            raise ValueError(
                f"max_server_version must be within {versions.MIN_SERVER_VERSION}.."
                f"{versions.MAX_SERVER_VERSION}"
            )
        if not self.accounts:
            raise ValueError("at least one account is required")
        if self.tick_interval < 0 or self.current_time_min_interval < 0:
            raise ValueError("intervals must be >= 0")


class SimServer:
    """A simulated IB Gateway (see the module docstring)."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.market = Market(seed=self.config.seed)
        self.book = Book(self.config.accounts, self.market)
        self.faults = SimFaults(self)
        self.handlers = Handlers(self)
        self.sessions: dict[int, Session] = {}
        """Sessions past startApi, by client ID."""
        self._all: set[Session] = set()
        self._listener: asyncio.Server | None = None
        self._port: int | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._started = False
        self.market.subscribe(self._on_market_step)

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
            await self._open_listener()
        if self.config.tick_interval > 0:
            self._ticker = asyncio.create_task(self._tick_loop())
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
        await self.faults._cancel_restart()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self._close_listener()
        for s in list(self._all):
            s.abort(rst=False)
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

    def connected_client_ids(self) -> list[int]:
        """Client IDs past startApi, sorted."""
        return sorted(self.sessions)

    def now(self) -> dt.datetime:
        """The simulator's clock (UTC)."""
        return dt.datetime.now(dt.UTC)

    def status(self) -> dict[str, Any]:
        """Plain-data state for the control interface."""
        return {
            "host": self.config.host,
            "port": self._port,
            "listening": self._listener is not None,
            "client_ids": self.connected_client_ids(),
            "connections": len(self._all),
            "market_steps": self.market.steps,
            "orders": len(self.book.orders),
            "working_orders": len(self.book.working_orders()),
            "executions": len(self.book.executions),
            "faults": self.faults.status(),
        }

    # listener (used by faults)

    async def _open_listener(self) -> None:
        if self._listener is not None:
            return
        loop = asyncio.get_running_loop()
        port = self._port if self._port is not None else self.config.port
        self._listener = await loop.create_server(
            lambda: Session(self), self.config.host, port, reuse_address=True
        )
        sock = self._listener.sockets[0]
        self._port = sock.getsockname()[1]

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # close() stops accepting at once; wait_closed() would also wait for clients.
            listener.close()
            await asyncio.sleep(0)

    # sessions (used by Session and faults)

    def _register(self, s: Session) -> None:
        self._all.add(s)

    def _unregister(self, s: Session) -> None:
        self._all.discard(s)
        if s.client_id is not None and self.sessions.get(s.client_id) is s:
            del self.sessions[s.client_id]

    def _drop(self, client_id: int | None, rst: bool) -> int:
        targets = [s for s in list(self._all) if client_id is None or s.client_id == client_id]
        for s in targets:
            s.abort(rst)
            # Forget it now, so a reconnect with the same ID is not refused with 326
            # before connection_lost runs.
            self._unregister(s)
        return len(targets)

    def _apply_stall(self) -> None:
        for s in list(self._all):
            s.set_stalled(self.faults.is_stalled(s.client_id))

    def _broadcast_error(self, code: int, text: str) -> int:
        ready = [s for s in self.sessions.values() if s.phase is Phase.READY]
        for s in ready:
            s.send_error(-1, code, text)
        return len(ready)

    # market

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval)
            try:
                self.market.step()
            except Exception:  # a bug in a listener must not stop the market
                logger.exception("sim_market_step_failed")

    def _on_market_step(self) -> None:
        for order in self.book.working_orders():
            self.try_fill(order)
        for s in list(self.sessions.values()):
            for req_id, sub in list(s.subs.mkt_data.items()):
                self.send_ticks(s, req_id, sub.instrument, sub.data_type, full=False)
            for req_id, hist in s.subs.hist.items():
                hist.bar = self._roll_bar(hist.bar, hist.bar_s, hist.instrument)
                s.send(
                    msg.historical_data_update(
                        s.version, req_id, hist.bar, hist.bar_s, hist.format_date
                    )
                )

    def _roll_bar(self, bar: Bar, bar_s: int, ins: Instrument) -> Bar:
        # The live bar of a keepUpToDate subscription: extend it, or open the next one once
        # the clock has crossed into a new bar period.
        last = self.market.quotes[ins.con_id].last
        start = int(self.now().timestamp()) // bar_s * bar_s
        if start > bar.time.timestamp():
            when = dt.datetime.fromtimestamp(start, dt.UTC)
            return Bar(
                when, bar.close, max(bar.close, last), min(bar.close, last), last, 0.0, last, 1
            )
        return dataclasses.replace(
            bar, high=max(bar.high, last), low=min(bar.low, last), close=last, count=bar.count + 1
        )

    def send_ticks(
        self, s: Session, req_id: int, ins: Instrument, data_type: int, full: bool
    ) -> None:
        """Quote ticks for one subscription: everything when ``full``, else bid/ask/last."""
        q = self.market.quotes[ins.con_id]
        ids = _LIVE_TICKS if data_type in (1, 2) else _DELAYED_TICKS
        bid, ask, last, bid_sz, ask_sz, last_sz, high, low, vol, close, open_ = ids
        v = s.version
        has_trades = ins.sec_type != "CASH"
        s.send(msg.tick_price(req_id, bid, q.bid, versions.size(v, q.bid_size)))
        s.send(msg.tick_price(req_id, ask, q.ask, versions.size(v, q.ask_size)))
        if has_trades:
            s.send(msg.tick_price(req_id, last, q.last, versions.size(v, q.last_size)))
        if not full:
            return
        s.send(msg.tick_size(req_id, bid_sz, versions.size(v, q.bid_size)))
        s.send(msg.tick_size(req_id, ask_sz, versions.size(v, q.ask_size)))
        if has_trades:
            s.send(msg.tick_size(req_id, last_sz, versions.size(v, q.last_size)))
            s.send(msg.tick_size(req_id, vol, versions.size(v, q.volume)))
        s.send(msg.tick_price(req_id, high, q.high, "0"))
        s.send(msg.tick_price(req_id, low, q.low, "0"))
        s.send(msg.tick_price(req_id, close, q.close, "0"))
        s.send(msg.tick_price(req_id, open_, q.open, "0"))

    # orders

    def try_fill(self, order: SimOrder) -> None:
        """Fill ``order`` if the current quote crosses it, and tell everyone who cares."""
        if not order.working:
            return
        fill_price = self.book.marketable_price(order)
        if fill_price is None:
            return
        ex = self.book.fill(order, fill_price, self.now())
        log_event(
            logger,
            logging.INFO,
            "sim_order_filled",
            client_id=order.client_id,
            order_id=order.order_id,
            symbol=order.instrument.symbol,
            qty=ex.shares,
            price=ex.price,
            exec_id=ex.exec_id,
        )
        owner = self.sessions.get(order.client_id)
        if owner is not None:
            owner.send(msg.exec_details(owner.version, -1, ex))
            owner.send(msg.order_status(owner.version, order))
            owner.send(msg.open_order(owner.version, order))
            owner.send(msg.commission_report(ex))
        self._after_fill(ex)

    def cancel(self, order: SimOrder) -> None:
        """Cancel a working order: orderStatus Cancelled and error 202 to its owner."""
        self.book.cancel(order, self.now())
        log_event(
            logger,
            logging.INFO,
            "sim_order_cancelled",
            client_id=order.client_id,
            order_id=order.order_id,
        )
        owner = self.sessions.get(order.client_id)
        if owner is not None:
            owner.send(msg.order_status(owner.version, order))
            owner.send_error(order.order_id, ERR_ORDER_CANCELLED, "Order Canceled - reason:")

    def _after_fill(self, ex: Execution) -> None:
        account = ex.order.account
        pos = self.book.positions[(account, ex.order.instrument.con_id)]
        for s in list(self.sessions.values()):
            if s.subs.positions:
                s.send(msg.position(s.version, pos))
            if s.subs.account_updates == account:
                self.send_account_update(s, account)
            for req_id, tags in s.subs.summary.items():
                self.send_account_summary(s, req_id, tags)
            for req_id, (acct, ledger) in s.subs.multi.items():
                if acct in ("", account):
                    self.send_account_multi(s, req_id, account, ledger)

    # account messages

    def send_account_update(self, s: Session, account: str) -> None:
        """accountValue (6) lines, portfolio (7) per position, accountTime (8)."""
        s.send(msg.account_value("AccountCode", account, "", account))
        s.send(msg.account_value("AccountType", "INDIVIDUAL", "", account))
        s.send(msg.account_value("AccountReady", "true", "", account))
        s.send(msg.account_value("Currency", "USD", "USD", account))
        s.send(msg.account_value("ExchangeRate", "1.00", "USD", account))
        values = self.book.values(account)
        for key, value in values.items():
            s.send(msg.account_value(key, fmt_value(value), "USD", account))
        cash = fmt_value(values["TotalCashValue"])
        s.send(msg.account_value("CashBalance", cash, "USD", account))
        s.send(msg.account_value("CashBalance", cash, "BASE", account))
        for pos in self.book.account_positions(account):
            q = self.market.quotes[pos.instrument.con_id]
            s.send(
                msg.portfolio_value(
                    s.version, pos, q.last, self.book.market_value(pos), self.book.unrealized(pos)
                )
            )
        s.send(msg.account_time(self.now()))

    def send_account_summary(self, s: Session, req_id: int, tags: tuple[str, ...]) -> None:
        """accountSummary (63) lines for every account and requested tag the sim knows."""
        wanted = set(tags)
        for account in self.config.accounts:
            values = self.book.values(account)
            for tag in tags:
                if tag in values:
                    s.send(msg.account_summary(req_id, account, tag, fmt_value(values[tag]), "USD"))
            for tag, (value, currency) in SUMMARY_EXTRA.items():
                if tag in wanted:
                    s.send(msg.account_summary(req_id, account, tag, value, currency))
            if any(t.startswith("$LEDGER") for t in tags):
                cash = fmt_value(values["TotalCashValue"])
                for tag in ("CashBalance", "TotalCashBalance", "NetLiquidationByCurrency"):
                    s.send(msg.account_summary(req_id, account, tag, cash, "USD"))

    def send_account_multi(self, s: Session, req_id: int, account: str, ledger: bool) -> None:
        """accountUpdateMulti (73) lines for one account (or all when ``account`` is empty)."""
        for acct in [account] if account else list(self.config.accounts):
            values = self.book.values(acct)
            keys = ("NetLiquidation", "TotalCashValue") if ledger else tuple(values)
            for key in keys:
                s.send(
                    msg.account_update_multi(req_id, acct, "", key, fmt_value(values[key]), "USD")
                )
