"""The simulated brokerage book: accounts, orders, fills, positions, commissions, values.

The book is owned by the server object, not by a connection, so it outlives client
reconnects and a simulated gateway restart. It is pure state plus rules (no I/O): callers
turn the returned events into wire messages.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from broker_server.sim.market import Instrument, Market

STARTING_CASH = 1_000_000.0

HELD = "PendingSubmit"
"""Placed with transmit=False: kept by the gateway, not sent on (a bracket's parent)."""
WORKING = ("PreSubmitted", "Submitted")
"""PreSubmitted: a bracket child waiting for its parent's fill; Submitted: can fill."""
DONE = ("Filled", "Cancelled", "Inactive", "ApiCancelled")


@dataclass
class SimOrder:
    """One order as the gateway tracks it."""

    client_id: int
    order_id: int
    perm_id: int
    account: str
    instrument: Instrument
    action: str
    total_qty: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    order_ref: str
    outside_rth: bool
    parent_id: int = 0
    oca_group: str = ""
    oca_type: int = 0
    triggered: bool = False
    """A STP LMT whose stop price was reached (it then works as a limit order)."""
    status: str = "Submitted"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    completed_time: str = ""
    completed_status: str = ""

    @property
    def remaining(self) -> float:
        """Quantity still to fill (0 once done)."""
        return 0.0 if self.status in DONE else self.total_qty - self.filled

    @property
    def working(self) -> bool:
        """Transmitted and not yet filled or cancelled."""
        return self.status in WORKING

    @property
    def live(self) -> bool:
        """Working or held (not transmitted yet): a placeOrder with its ID modifies it."""
        return self.status in WORKING or self.status == HELD

    @property
    def done(self) -> bool:
        """Filled or cancelled."""
        return self.status in DONE


@dataclass
class Execution:
    """One fill and its commission report."""

    exec_id: str
    order: SimOrder
    time: dt.datetime
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    commission: float
    realized_pnl: float | None

    @property
    def side(self) -> str:
        """BOT or SLD."""
        return "BOT" if self.order.action == "BUY" else "SLD"


@dataclass
class Position:
    """A position in one instrument in one account."""

    account: str
    instrument: Instrument
    qty: float = 0.0
    avg_cost: float = 0.0
    """Per unit, multiplier included (as IB reports it)."""
    realized_pnl: float = 0.0


@dataclass
class Account:
    """Cash and realised P&L of one account."""

    name: str
    cash: float = STARTING_CASH
    realized_pnl: float = 0.0
    commissions: float = 0.0


def commission_for(ins: Instrument, qty: float, price: float) -> float:
    """IB Pro fixed-rate style commission."""
    if ins.sec_type == "FUT":
        return round(2.25 * qty, 2)
    if ins.sec_type == "CASH":
        return round(max(2.0, qty * price * 0.00002), 2)
    per_share = max(1.0, 0.005 * qty)
    return round(min(per_share, 0.01 * qty * price), 2)


@dataclass
class Book:
    """All orders, executions, positions and account balances of the simulated gateway."""

    accounts: tuple[str, ...]
    market: Market
    orders: dict[tuple[int, int], SimOrder] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    positions: dict[tuple[str, int], Position] = field(default_factory=dict)
    balances: dict[str, Account] = field(init=False)
    rejected: list[tuple[int, int, str, str]] = field(default_factory=list)
    """Rejected placements: (client ID, order ID, orderRef, reason)."""
    high_water: dict[int, int] = field(default_factory=dict)
    """Highest order ID each client has used (rejected placements included)."""
    _open: dict[tuple[int, int], SimOrder] = field(init=False, default_factory=dict)
    _children: dict[tuple[int, int], list[SimOrder]] = field(init=False, default_factory=dict)
    _oca: dict[tuple[int, str], list[SimOrder]] = field(init=False, default_factory=dict)
    _perm_ids: itertools.count[int] = field(init=False)
    _exec_seq: itertools.count[int] = field(init=False)

    def __post_init__(self) -> None:
        self.balances = {a: Account(a) for a in self.accounts}
        self._perm_ids = itertools.count(1_000_001)
        self._exec_seq = itertools.count(1)

    def next_order_id(self) -> int:
        """First order ID above every ID any client has used (TWS keeps one counter)."""
        return max(self.high_water.values(), default=0) + 1

    def use_id(self, client_id: int, order_id: int) -> None:
        """Record that ``client_id`` used ``order_id``."""
        self.high_water[client_id] = max(self.high_water.get(client_id, 0), order_id)

    def id_was_used(self, client_id: int, order_id: int) -> bool:
        """Whether a new order with this ID would reuse (or go below) the client's IDs."""
        return order_id <= self.high_water.get(client_id, 0)

    def reject(self, client_id: int, order_id: int, order_ref: str, reason: str) -> None:
        """Record a rejected placement (its ID counts as used)."""
        self.rejected.append((client_id, order_id, order_ref, reason))
        self.use_id(client_id, order_id)

    def add(self, order: SimOrder) -> None:
        """Record a new order."""
        key = (order.client_id, order.order_id)
        self.orders[key] = order
        self._open[key] = order
        self.use_id(order.client_id, order.order_id)
        if order.parent_id:
            self._children.setdefault((order.client_id, order.parent_id), []).append(order)
        if order.oca_group:
            self._oca.setdefault((order.client_id, order.oca_group), []).append(order)

    def children(self, parent: SimOrder) -> list[SimOrder]:
        """Orders attached to ``parent`` (bracket children)."""
        return list(self._children.get((parent.client_id, parent.order_id), ()))

    def oca_siblings(self, order: SimOrder) -> list[SimOrder]:
        """Live orders cancelled or reduced when ``order`` fills: the other children of its
        bracket parent, and the other members of its OCA group."""
        candidates: list[SimOrder] = []
        if order.parent_id:
            candidates += self._children.get((order.client_id, order.parent_id), ())
        if order.oca_group:
            candidates += self._oca.get((order.client_id, order.oca_group), ())
        out: list[SimOrder] = []
        for o in candidates:
            # A modify may have moved an order out of the group it was indexed under.
            same_group = bool(order.oca_group) and o.oca_group == order.oca_group
            same_parent = bool(order.parent_id) and o.parent_id == order.parent_id
            if o is not order and o.live and o not in out and (same_group or same_parent):
                out.append(o)
        return out

    def regroup(self, order: SimOrder) -> None:
        """Index ``order`` under its (possibly modified) OCA group."""
        if order.oca_group:
            group = self._oca.setdefault((order.client_id, order.oca_group), [])
            if order not in group:
                group.append(order)

    def count_orders(self, client_id: int | None = None, order_ref: str | None = None) -> int:
        """Orders the gateway accepted (any state), of one client and/or one orderRef."""
        return len(self.find_orders(client_id, order_ref))

    def find_orders(
        self, client_id: int | None = None, order_ref: str | None = None
    ) -> list[SimOrder]:
        """Orders the gateway accepted, filtered by client ID and/or orderRef."""
        return [
            o
            for o in self.orders.values()
            if (client_id is None or o.client_id == client_id)
            and (order_ref is None or o.order_ref == order_ref)
        ]

    def new_perm_id(self) -> int:
        """A fresh permanent order ID."""
        return next(self._perm_ids)

    def working_orders(self, client_id: int | None = None) -> list[SimOrder]:
        """Working orders, of one client or of all (oldest first)."""
        # Only orders not yet done are scanned: a long session's history costs nothing here.
        for key in [k for k, o in self._open.items() if o.done]:
            del self._open[key]
        return [
            o
            for o in self._open.values()
            if o.working and (client_id is None or o.client_id == client_id)
        ]

    def completed_orders(self) -> list[SimOrder]:
        """Filled and cancelled orders."""
        return [o for o in self.orders.values() if o.done]

    def marketable_price(self, order: SimOrder) -> float | None:
        """The fill price if ``order`` can fill now at the current quote, else None."""
        q = self.market.quotes[order.instrument.con_id]
        buy = order.action == "BUY"
        touch = q.ask if buy else q.bid
        if order.order_type == "MKT":
            return touch
        if order.order_type == "STP LMT" and not order.triggered:
            assert order.aux_price is not None
            if (buy and q.last >= order.aux_price) or (not buy and q.last <= order.aux_price):
                order.triggered = True
            else:
                return None
        if order.order_type in ("LMT", "STP LMT"):
            assert order.lmt_price is not None
            if buy and touch <= order.lmt_price:
                return touch
            if not buy and touch >= order.lmt_price:
                return touch
            return None
        if order.order_type == "STP":
            assert order.aux_price is not None
            if (buy and q.last >= order.aux_price) or (not buy and q.last <= order.aux_price):
                return touch
            return None
        return None

    def fill(
        self, order: SimOrder, price: float, now: dt.datetime, chunk: float = 0.0
    ) -> Execution:
        """Fill the rest of ``order`` (at most ``chunk`` when > 0) at ``price``; update
        position, cash and P&L."""
        ins = order.instrument
        qty = order.total_qty - order.filled
        if chunk > 0:
            qty = min(qty, chunk)
        mult = ins.price_multiplier
        signed = qty if order.action == "BUY" else -qty
        pos = self.positions.setdefault((order.account, ins.con_id), Position(order.account, ins))
        commission = commission_for(ins, qty, price)
        realized: float | None = None
        if pos.qty and (pos.qty > 0) != (signed > 0):
            closing = min(abs(pos.qty), abs(signed))
            sign = 1.0 if pos.qty > 0 else -1.0
            realized = closing * sign * (price * mult - pos.avg_cost) - commission
        new_qty = pos.qty + signed
        if new_qty == 0:
            pos.avg_cost = 0.0
        elif pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            pos.avg_cost = (
                pos.avg_cost * abs(pos.qty) + price * mult * abs(signed) + commission
            ) / abs(new_qty)
        elif (new_qty > 0) != (pos.qty > 0):
            # Flipped through zero: the remainder opens at the fill price.
            pos.avg_cost = price * mult
        pos.qty = new_qty
        acct = self.balances[order.account]
        if ins.sec_type == "FUT":
            # Futures move no notional through cash: only commission and realised P&L settle.
            acct.cash -= commission
            if realized is not None:
                acct.cash += realized + commission
        else:
            acct.cash -= signed * price * mult + commission
        acct.commissions += commission
        if realized is not None:
            pos.realized_pnl += realized
            acct.realized_pnl += realized
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * qty) / (
            order.filled + qty
        )
        order.filled += qty
        order.last_fill_price = price
        if order.filled >= order.total_qty:
            order.status = "Filled"
            order.completed_status = "Filled"
            order.completed_time = now.strftime("%Y%m%d %H:%M:%S UTC")
        seq = next(self._exec_seq)
        ex = Execution(
            exec_id=f"0000e0d5.{order.perm_id:08x}.{seq:02d}.01",
            order=order,
            time=now,
            shares=qty,
            price=price,
            cum_qty=order.filled,
            avg_price=order.avg_fill_price,
            commission=commission,
            realized_pnl=realized,
        )
        self.executions.append(ex)
        return ex

    def cancel(self, order: SimOrder, now: dt.datetime) -> None:
        """Mark ``order`` cancelled."""
        order.status = "Cancelled"
        order.completed_status = "Cancelled by Trader"
        order.completed_time = now.strftime("%Y%m%d %H:%M:%S UTC")

    def account_positions(self, account: str) -> list[Position]:
        """Positions of one account (closed ones included, as TWS keeps them for the day)."""
        return [p for (a, _), p in self.positions.items() if a == account]

    def market_value(self, pos: Position) -> float:
        """Position value at the last price."""
        q = self.market.quotes[pos.instrument.con_id]
        return pos.qty * q.last * pos.instrument.price_multiplier

    def unrealized(self, pos: Position) -> float:
        """Unrealised P&L at the last price."""
        return self.market_value(pos) - pos.qty * pos.avg_cost

    def values(self, account: str) -> dict[str, float]:
        """Account values keyed by IB tag (USD)."""
        acct = self.balances[account]
        positions = self.account_positions(account)
        stock_value = sum(self.market_value(p) for p in positions if p.instrument.sec_type == "STK")
        gross = sum(abs(self.market_value(p)) for p in positions)
        unreal = sum(self.unrealized(p) for p in positions)
        # Futures carry no market value in cash; their P&L settles through the account.
        fut_pnl = sum(self.unrealized(p) for p in positions if p.instrument.sec_type == "FUT")
        cash_fx = sum(self.market_value(p) for p in positions if p.instrument.sec_type == "CASH")
        net_liq = acct.cash + stock_value + cash_fx + fut_pnl
        init_margin = 0.25 * gross
        maint_margin = 0.2 * gross
        return {
            "NetLiquidation": net_liq,
            "TotalCashValue": acct.cash,
            "SettledCash": acct.cash,
            "AccruedCash": 0.0,
            "BuyingPower": max(0.0, (net_liq - init_margin) * 4),
            "EquityWithLoanValue": net_liq,
            "GrossPositionValue": gross,
            "InitMarginReq": init_margin,
            "MaintMarginReq": maint_margin,
            "AvailableFunds": net_liq - init_margin,
            "ExcessLiquidity": net_liq - maint_margin,
            "Cushion": (net_liq - maint_margin) / net_liq if net_liq else 0.0,
            "FullInitMarginReq": init_margin,
            "FullMaintMarginReq": maint_margin,
            "FullAvailableFunds": net_liq - init_margin,
            "FullExcessLiquidity": net_liq - maint_margin,
            "UnrealizedPnL": unreal,
            "RealizedPnL": acct.realized_pnl,
        }
