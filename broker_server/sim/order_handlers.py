"""Order request handlers: place, modify, cancel, open/completed orders, executions.

Parsing follows ``ib_insync/client.py``'s ``placeOrder`` / ``cancelOrder`` / ``reqExecutions``.
Fills and cancels are pushed by ``Feeds`` (which also serves fills that happen while the
placing client is away).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from broker_server.logs import log_event
from broker_server.sim import ib_codes
from broker_server.sim import messages as msg
from broker_server.sim import order_messages as omsg
from broker_server.sim.book import SimOrder
from broker_server.sim.codec import FieldReader
from broker_server.sim.host import HandlerHost
from broker_server.sim.market import ContractQuery, Instrument
from broker_server.sim.parsing import parse_ib_datetime, read_contract, resolve_one
from broker_server.sim.session import Session

logger = logging.getLogger("ibbroker.sim.orders")


class OrderHandlers:
    """The order half of the request handlers."""

    def __init__(self, host: HandlerHost) -> None:
        self.host = host

    def place_order(self, s: Session, r: FieldReader) -> None:
        """``3,orderId,<contract>,...``: place a new order or modify a live one.

        TWS's order-ID rules: a placeOrder with the ID of a live order of this client
        modifies it; the ID of a filled order gets 104; an ID used before (an order no
        longer working, a rejected one, or below the highest this client used) gets 103.
        Order IDs belong to a client ID: the same ID from another client is that client's
        own order and never touches this one (only the owner can modify or cancel). ``transmit=False`` holds the order (a bracket's
        parent and first child) until an order of the same bracket arrives with
        ``transmit=True``; children work once their parent has filled.
        """
        assert s.client_id is not None
        p = _parse_place_order(r)
        host = self.host
        book = host.book
        existing = book.orders.get((s.client_id, p.order_id))
        if existing is not None and not existing.live:
            if existing.status == "Filled":
                s.send_error(
                    p.order_id, ib_codes.ERR_CANT_MODIFY_FILLED, ib_codes.CANT_MODIFY_FILLED_TEXT
                )
            else:
                self._duplicate(s, p.order_id, "no longer working")
            return
        if existing is None and book.id_was_used(s.client_id, p.order_id):
            self._duplicate(s, p.order_id, "used before")
            return
        ins = resolve_one(host.market, s, p.order_id, p.query)
        if ins is None:
            return
        problem = _validate_order(p, ins)
        if problem is None:
            p.account = p.account or host.config.accounts[0]
            if p.account not in host.config.accounts:
                problem = (
                    ib_codes.ERR_VALIDATING,
                    ib_codes.invalid_account_text("bN", p.account),
                )
        parent: SimOrder | None = None
        if problem is None and p.parent_id and existing is None:
            parent = book.orders.get((s.client_id, p.parent_id))
            if parent is None or parent.done:
                problem = (
                    ib_codes.ERR_ORDER_REJECTED,
                    ib_codes.rejected_text(f"parent order {p.parent_id} is not live"),
                )
        if problem is not None:
            code, text = problem
            s.send_error(p.order_id, code, text)
            return
        if existing is None:
            reason = host.rules.rejection(
                s.client_id, ins.con_id, ins.symbol, p.action, p.order_ref
            )
            if reason is not None:
                book.reject(s.client_id, p.order_id, p.order_ref, reason)
                log_event(
                    logger,
                    logging.INFO,
                    "sim_order_rejected",
                    client_id=s.client_id,
                    order_id=p.order_id,
                    order_ref=p.order_ref,
                    reason=reason,
                )
                s.send_error(
                    p.order_id, ib_codes.ERR_ORDER_REJECTED, ib_codes.rejected_text(reason)
                )
                return
            order = self._new_order(s.client_id, p, ins)
            if host.faults.take_drop_after_order(s.client_id):
                # The order exists and keeps working; its client never hears of it.
                log_event(
                    logger,
                    logging.INFO,
                    "sim_drop_after_order",
                    client_id=s.client_id,
                    order_id=p.order_id,
                    order_ref=p.order_ref,
                )
                s.abort(rst=True)
                host.feeds.try_fill(order)
                return
        else:
            if p.qty < existing.filled:
                s.send_error(
                    p.order_id,
                    ib_codes.ERR_ORDER_REJECTED,
                    ib_codes.rejected_text("quantity below the filled quantity"),
                )
                return
            order = existing
            _apply_modify(order, p)
            log_event(
                logger,
                logging.INFO,
                "sim_order_modified",
                client_id=s.client_id,
                order_id=p.order_id,
                order_ref=p.order_ref,
            )
        if order.status == "PendingSubmit" and p.transmit:
            self._transmit(order)
        elif order.status != "PendingSubmit":
            host.feeds.announce(order)
            host.feeds.try_fill(order)
            self._expire_ioc(order)

    def _duplicate(self, s: Session, order_id: int, why: str) -> None:
        log_event(
            logger,
            logging.INFO,
            "sim_duplicate_order_id",
            client_id=s.client_id,
            order_id=order_id,
            why=why,
        )
        s.send_error(
            order_id, ib_codes.ERR_DUPLICATE_ORDER_ID, ib_codes.duplicate_order_id_text(order_id)
        )

    def _new_order(self, client_id: int, p: PlaceOrder, ins: Instrument) -> SimOrder:
        book = self.host.book
        order = SimOrder(
            client_id=client_id,
            order_id=p.order_id,
            perm_id=book.new_perm_id(),
            account=p.account,
            instrument=ins,
            action=p.action,
            total_qty=p.qty,
            order_type=p.order_type,
            lmt_price=p.lmt,
            aux_price=p.aux,
            tif=p.tif,
            order_ref=p.order_ref,
            outside_rth=p.outside_rth,
            parent_id=p.parent_id,
            oca_group=p.oca_group,
            oca_type=p.oca_type,
            # A child waits for _transmit to decide between PreSubmitted and Submitted.
            status="PendingSubmit" if not p.transmit or p.parent_id else "Submitted",
        )
        book.add(order)
        log_event(
            logger,
            logging.INFO,
            "sim_order_placed",
            client_id=client_id,
            order_id=p.order_id,
            order_ref=p.order_ref,
            symbol=ins.symbol,
            action=p.action,
            qty=p.qty,
            order_type=p.order_type,
            lmt=p.lmt,
            aux=p.aux,
            parent_id=p.parent_id,
            transmit=p.transmit,
        )
        return order

    def _transmit(self, order: SimOrder) -> None:
        # Release the whole bracket: the top parent and every held order under it.
        book = self.host.book
        top = order
        while top.parent_id:
            up = book.orders.get((top.client_id, top.parent_id))
            if up is None:
                break
            top = up
        released: list[SimOrder] = []
        pending = [top]
        while pending:
            o = pending.pop(0)
            if o.status == "PendingSubmit" or o is order:
                parent = book.orders.get((o.client_id, o.parent_id)) if o.parent_id else None
                waiting = parent is not None and parent.status != "Filled"
                o.status = "PreSubmitted" if waiting else "Submitted"
                released.append(o)
            pending += book.children(o)
        for o in released:
            self.host.feeds.announce(o)
        for o in released:
            self.host.feeds.try_fill(o)
            self._expire_ioc(o)

    def _expire_ioc(self, order: SimOrder) -> None:
        # Immediate-or-cancel: what did not fill at once is cancelled.
        if order.tif == "IOC" and order.status == "Submitted":
            self.host.feeds.cancel(order)

    def cancel_order(self, s: Session, r: FieldReader) -> None:
        """``4,1,orderId[,manualOrderCancelTime]``: orderStatus Cancelled + error 202."""
        assert s.client_id is not None
        r.skip(1)
        order_id = r.integer()
        order = self.host.book.orders.get((s.client_id, order_id))
        if order is None:
            s.send_error(
                order_id,
                ib_codes.ERR_CANCEL_NOT_FOUND,
                ib_codes.cancel_not_found_text(order_id),
            )
            return
        if not order.live:
            s.send_error(
                order_id,
                ib_codes.ERR_CANCEL_DONE,
                ib_codes.cancel_done_text(order_id, order.status),
            )
            return
        self.host.feeds.cancel(order)

    def req_global_cancel(self, s: Session, r: FieldReader) -> None:
        """``58,1``: cancel every live order of every client."""
        for order in list(self.host.book.orders.values()):
            if order.live:
                self.host.feeds.cancel(order)

    def req_open_orders(self, s: Session, r: FieldReader) -> None:
        """``5,1``: this client's working orders."""
        self._send_open_orders(s, self.host.book.working_orders(s.client_id))

    def req_all_open_orders(self, s: Session, r: FieldReader) -> None:
        """``16,1``: every client's working orders."""
        self._send_open_orders(s, self.host.book.working_orders())

    def _send_open_orders(self, s: Session, orders: list[SimOrder]) -> None:
        for order in orders:
            s.send(omsg.open_order(s.version, order))
            s.send(omsg.order_status(s.version, order))
        s.send(msg.open_order_end())

    def req_completed_orders(self, s: Session, r: FieldReader) -> None:
        """``99,apiOnly``."""
        r.flag()
        for order in self.host.book.completed_orders():
            s.send(omsg.completed_order(s.version, order))
        s.send(msg.completed_orders_end())

    def req_executions(self, s: Session, r: FieldReader) -> None:
        """``7,3,reqId,clientId,account,time,symbol,secType,exchange,side``."""
        r.skip(1)
        req_id = r.integer()
        client_id = r.integer()
        account = r.text()
        since = parse_ib_datetime(r.text())
        symbol = r.text().upper()
        sec_type = r.text().upper()
        exchange = r.text().upper()
        side = r.text().upper()
        side = {"BUY": "BOT", "SELL": "SLD"}.get(side, side)
        for ex in self.host.book.executions:
            o = ex.order
            if client_id and o.client_id != client_id:
                continue
            if account and o.account != account:
                continue
            if since is not None and ex.time < since:
                continue
            if symbol and o.instrument.symbol != symbol:
                continue
            if sec_type and o.instrument.sec_type != sec_type:
                continue
            if exchange and exchange not in (o.instrument.exchange, "SMART"):
                continue
            if side and ex.side != side:
                continue
            s.send(omsg.exec_details(s.version, req_id, ex))
            s.send(omsg.commission_report(ex))
        s.send(msg.exec_details_end(req_id))


@dataclass
class PlaceOrder:
    """The fields of a placeOrder request the simulator uses."""

    order_id: int
    query: ContractQuery
    action: str
    qty: float
    order_type: str
    lmt: float | None
    aux: float | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool = False
    oca_type: int = 0


def _parse_place_order(r: FieldReader) -> PlaceOrder:
    # Field order of ib_insync's client.placeOrder (no version field).
    order_id = r.integer()
    query = read_contract(r)
    r.skip(2)  # secIdType, secId
    action = r.text().upper()
    qty = r.real()
    order_type = r.text().upper()
    lmt = r.opt_real()
    aux = r.opt_real()
    tif = (r.text() or "DAY").upper()
    oca_group = r.text()
    account = r.text()
    r.skip(2)  # openClose, origin
    order_ref = r.text()
    transmit = r.flag() if r.remaining() else True
    parent_id = r.integer()
    p = PlaceOrder(
        order_id, query, action, qty, order_type, lmt, aux, tif, oca_group, account,
        order_ref, transmit, parent_id,
    )  # fmt: skip
    if r.remaining() >= 6 and query.sec_type != "BAG":
        r.skip(4)  # blockOrder, sweepToFill, displaySize, triggerMethod
        p.outside_rth = r.flag()
        r.skip(1)  # hidden
        # sharesAllocation, discretionaryAmt, goodAfterTime, goodTillDate, faGroup, faMethod,
        # faPercentage, faProfile, modelCode, shortSaleSlot, designatedLocation, exemptCode
        if r.remaining() >= 13:
            r.skip(12)
            p.oca_type = r.integer()
    return p


def _apply_modify(order: SimOrder, p: PlaceOrder) -> None:
    order.total_qty = p.qty
    order.order_type = p.order_type
    order.lmt_price = p.lmt
    order.aux_price = p.aux
    order.tif = p.tif
    order.order_ref = p.order_ref
    order.outside_rth = p.outside_rth
    order.oca_group = p.oca_group
    order.oca_type = p.oca_type


ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT")


def _validate_order(p: PlaceOrder, ins: Instrument) -> tuple[int, str] | None:
    if p.action not in ("BUY", "SELL"):
        return ib_codes.ERR_VALIDATING, ib_codes.invalid_action_text(p.action)
    if p.qty <= 0:
        return ib_codes.ERR_ZERO_SIZE, ib_codes.ZERO_SIZE_TEXT
    if p.order_type not in ORDER_TYPES:
        return ib_codes.ERR_ORDER_TYPE, ib_codes.order_type_text(p.order_type)
    if p.tif not in ("DAY", "GTC", "IOC"):
        return ib_codes.ERR_VALIDATING, ib_codes.invalid_tif_text(p.tif)
    if p.order_type in ("LMT", "STP LMT") and (p.lmt is None or p.lmt <= 0):
        return ib_codes.ERR_VALIDATING, ib_codes.LIMIT_MISSING_TEXT
    if p.order_type in ("STP", "STP LMT") and (p.aux is None or p.aux <= 0):
        return ib_codes.ERR_VALIDATING, ib_codes.STOP_MISSING_TEXT
    for price in (p.lmt, p.aux):
        if price is not None and price > 0 and not _on_tick(price, ins.min_tick):
            return ib_codes.ERR_PRICE_INCREMENT, ib_codes.PRICE_INCREMENT_TEXT
    return None


def _on_tick(price: float, tick: float) -> bool:
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6
