"""The push side of the simulator: ticks, live bars, fills, cancels and account updates.

Everything a gateway sends without being asked lives here: the market ticker calls
``on_market_step``, the order handlers call ``try_fill`` and ``cancel``, and both call the
account senders after a fill. Feeds reach clients only through ``Clients``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from broker_server.logs import log_event
from broker_server.sim import ib_codes, versions
from broker_server.sim import messages as msg
from broker_server.sim import order_messages as omsg
from broker_server.sim.book import Book, Execution, SimOrder
from broker_server.sim.clients import Clients
from broker_server.sim.faults import SimFaults
from broker_server.sim.market import Bar, Instrument, Market
from broker_server.sim.rules import OrderRules
from broker_server.sim.session import Session

logger = logging.getLogger("ibbroker.sim")

# Live and delayed tick type ids: bid, ask, last, bidSize, askSize, lastSize, high, low,
# volume, close, open.
LIVE_TICKS = (1, 2, 4, 0, 3, 5, 6, 7, 8, 9, 14)
DELAYED_TICKS = (66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76)

RT_VOLUME = 48
"""tickString type of the RT Volume string (generic tick 233)."""

SUMMARY_EXTRA = {"AccountType": ("INDIVIDUAL", ""), "DayTradesRemaining": ("-1", "")}
"""Account-summary tags with a fixed value (not computed by the book)."""


def fmt_value(value: float) -> str:
    """Account values go out as plain two-decimal strings."""
    return f"{value:.2f}"


class Feeds:
    """Unsolicited messages of one simulator."""

    def __init__(
        self,
        accounts: tuple[str, ...],
        book: Book,
        market: Market,
        clients: Clients,
        rules: OrderRules,
        faults: SimFaults,
        now: Callable[[], dt.datetime],
    ) -> None:
        self.accounts = accounts
        self.book = book
        self.market = market
        self.clients = clients
        self.rules = rules
        self.faults = faults
        self.now = now

    # market

    def on_market_step(self) -> None:
        """After every market step: fill what crosses, tick subscribers, roll live bars."""
        self._push(None)

    def on_instrument_step(self, con_id: int) -> None:
        """After one instrument moved on its own tick rate: the same, for it only."""
        self._push(con_id)

    def _push(self, con_id: int | None) -> None:
        for order in self.book.working_orders():
            if con_id is None or order.instrument.con_id == con_id:
                self.try_fill(order)
        ticks = not self.faults.ticks_paused
        bars = not self.faults.bars_paused
        for s in self.clients.ready():
            if ticks:
                for req_id, sub in list(s.subs.mkt_data.items()):
                    if con_id is None or sub.instrument.con_id == con_id:
                        self.send_ticks(
                            s, req_id, sub.instrument, sub.data_type, False, sub.rt_volume
                        )
                for rt in s.subs.rt_bars.values():
                    if con_id is None or rt.instrument.con_id == con_id:
                        rt.sample(self.market.quotes[rt.instrument.con_id])
            if not bars:
                continue
            for req_id, hist in list(s.subs.hist.items()):
                if con_id is not None and hist.instrument.con_id != con_id:
                    continue
                hist.bar = self.roll_bar(hist.bar, hist.bar_s, hist.instrument)
                s.send(
                    msg.historical_data_update(
                        s.version, req_id, hist.bar, hist.bar_s, hist.format_date
                    )
                )

    def send_realtime_bars(self, start: int) -> int:
        """The bar period that began at ``start`` (epoch seconds) is over: every real-time bar
        subscription gets its bar, and the next one starts. Nothing while ticks are stopped
        (1100, 2103): the bars of the outage are lost, as at IB. Returns the bars sent."""
        sent = 0
        paused = self.faults.ticks_paused
        for s in self.clients.ready():
            for req_id, rt in list(s.subs.rt_bars.items()):
                bar = rt.roll(self.market.quotes[rt.instrument.con_id])
                if not paused:
                    s.send(msg.realtime_bar(s.version, req_id, start, bar))
                    sent += 1
        return sent

    def resume(self) -> None:
        """Data flows again (1102, 2104, 2106, a cleared fault): a full quote to every
        market-data subscriber."""
        if self.faults.ticks_paused:
            return
        for s in self.clients.ready():
            for req_id, sub in list(s.subs.mkt_data.items()):
                self.send_ticks(s, req_id, sub.instrument, sub.data_type, True, sub.rt_volume)

    def roll_bar(self, bar: Bar, bar_s: int, ins: Instrument) -> Bar:
        """Extend the live bar of a keepUpToDate subscription, or open the next one."""
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
        self,
        s: Session,
        req_id: int,
        ins: Instrument,
        data_type: int,
        full: bool,
        rt_volume: bool = False,
    ) -> None:
        """Quote ticks for one subscription: everything when ``full``, else bid/ask/last;
        with ``rt_volume`` (generic tick 233) also the RT Volume string, whose trade time in
        epoch milliseconds lets a client measure tick latency."""
        q = self.market.quotes[ins.con_id]
        ids = LIVE_TICKS if data_type in (1, 2) else DELAYED_TICKS
        bid, ask, last, bid_sz, ask_sz, last_sz, high, low, vol, close, open_ = ids
        v = s.version
        has_trades = ins.sec_type != "CASH"
        s.send(msg.tick_price(req_id, bid, q.bid, versions.size(v, q.bid_size)))
        s.send(msg.tick_price(req_id, ask, q.ask, versions.size(v, q.ask_size)))
        if has_trades:
            s.send(msg.tick_price(req_id, last, q.last, versions.size(v, q.last_size)))
            if rt_volume:
                epoch_ms = int(self.now().timestamp() * 1000)
                text = f"{q.last};{q.last_size:g};{epoch_ms};{q.volume:g};{q.last};false"
                s.send(msg.tick_string(req_id, RT_VOLUME, text))
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

    def announce(self, order: SimOrder) -> None:
        """openOrder + orderStatus of ``order`` to its owner, if connected."""
        owner = self.clients.get(order.client_id)
        if owner is not None:
            owner.send(omsg.open_order(owner.version, order))
            owner.send(omsg.order_status(owner.version, order))

    def try_fill(self, order: SimOrder) -> None:
        """Fill ``order`` (one execution, at most the fill chunk) if the current quote
        crosses it, and tell everyone who cares; then activate bracket children or cancel
        OCA siblings. Works whether or not the owner is connected."""
        if order.status != "Submitted":
            return
        fill_price = self.book.marketable_price(order)
        if fill_price is None:
            return
        chunk = self.rules.chunk_for(order.instrument.con_id, order.order_ref)
        ex = self.book.fill(order, fill_price, self.now(), chunk)
        log_event(
            logger,
            logging.INFO,
            "sim_order_filled",
            client_id=order.client_id,
            order_id=order.order_id,
            order_ref=order.order_ref,
            symbol=order.instrument.symbol,
            qty=ex.shares,
            price=ex.price,
            remaining=order.remaining,
            exec_id=ex.exec_id,
        )
        owner = self.clients.get(order.client_id)
        if owner is not None:
            owner.send(omsg.exec_details(owner.version, -1, ex))
            owner.send(omsg.order_status(owner.version, order))
            owner.send(omsg.open_order(owner.version, order))
            owner.send(omsg.commission_report(ex))
        self.after_fill(ex)
        self._oca_after_fill(order, ex.shares)
        if order.done:
            self._activate_children(order)

    def _oca_after_fill(self, order: SimOrder, shares: float) -> None:
        # Bracket children and OCA type 1 (and 0, TWS's default): the first fill cancels the
        # others. OCA types 2 and 3 reduce the others by the filled quantity instead.
        for sibling in self.book.oca_siblings(order):
            if order.oca_group and order.oca_type in (2, 3) and not order.parent_id:
                sibling.total_qty -= shares
                if sibling.total_qty <= sibling.filled:
                    self.cancel(sibling)
                else:
                    self.announce(sibling)
            else:
                self.cancel(sibling)

    def _activate_children(self, parent: SimOrder) -> None:
        # A bracket's children start working once the parent is filled.
        for child in self.book.children(parent):
            if child.status == "PreSubmitted":
                child.status = "Submitted"
                log_event(
                    logger,
                    logging.INFO,
                    "sim_order_activated",
                    client_id=child.client_id,
                    order_id=child.order_id,
                    parent_id=parent.order_id,
                )
                self.announce(child)
        for child in self.book.children(parent):
            self.try_fill(child)

    def cancel(self, order: SimOrder) -> None:
        """Cancel a live order (and its bracket children): orderStatus Cancelled and error
        202 to its owner."""
        self.book.cancel(order, self.now())
        log_event(
            logger,
            logging.INFO,
            "sim_order_cancelled",
            client_id=order.client_id,
            order_id=order.order_id,
            order_ref=order.order_ref,
        )
        owner = self.clients.get(order.client_id)
        if owner is not None:
            owner.send(omsg.order_status(owner.version, order))
            owner.send_error(
                order.order_id, ib_codes.ERR_ORDER_CANCELLED, ib_codes.ORDER_CANCELLED_TEXT
            )
        for child in self.book.children(order):
            if child.live:
                self.cancel(child)

    def after_fill(self, ex: Execution) -> None:
        """Positions, account updates and summaries to every subscriber after a fill."""
        account = ex.order.account
        pos = self.book.positions[(account, ex.order.instrument.con_id)]
        for s in self.clients.ready():
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
        for account in self.accounts:
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
        for acct in [account] if account else list(self.accounts):
            values = self.book.values(acct)
            keys = ("NetLiquidation", "TotalCashValue") if ledger else tuple(values)
            for key in keys:
                s.send(
                    msg.account_update_multi(req_id, acct, "", key, fmt_value(values[key]), "USD")
                )
