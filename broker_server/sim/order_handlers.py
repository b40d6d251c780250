"""Order request handlers: place, modify, cancel, open/completed orders, executions.

Parsing follows ``ib_insync/client.py``'s ``placeOrder`` / ``cancelOrder`` / ``reqExecutions``.
Fills and cancels are pushed by ``Feeds`` (which also serves fills that happen while the
placing client is away).
"""

from __future__ import annotations

import logging

from broker_server.logs import log_event
from broker_server.sim import ib_codes
from broker_server.sim import messages as msg
from broker_server.sim import order_messages as omsg
from broker_server.sim.book import SimOrder
from broker_server.sim.codec import FieldReader
from broker_server.sim.host import HandlerHost
from broker_server.sim.parsing import parse_ib_datetime, read_contract, resolve_one
from broker_server.sim.session import Session

logger = logging.getLogger("ibbroker.sim.orders")


class OrderHandlers:
    """The order half of the request handlers."""

    def __init__(self, host: HandlerHost) -> None:
        self.host = host

    def place_order(self, s: Session, r: FieldReader) -> None:
        """``3,orderId,<contract>,secIdType,secId,action,totalQuantity,orderType,lmtPrice,
        auxPrice,tif,ocaGroup,account,openClose,origin,orderRef,transmit,parentId,...``."""
        assert s.client_id is not None
        order_id = r.integer()
        q = read_contract(r)
        r.skip(2)
        action = r.text().upper()
        qty = r.real()
        order_type = r.text().upper()
        lmt = r.opt_real()
        aux = r.opt_real()
        tif = r.text() or "DAY"
        r.text()  # ocaGroup
        account = r.text()
        r.skip(2)  # openClose, origin
        order_ref = r.text()
        r.flag()  # transmit
        parent_id = r.integer()
        outside_rth = False
        if r.remaining() >= 6:
            r.skip(4)  # blockOrder, sweepToFill, displaySize, triggerMethod
            outside_rth = r.flag()
        host = self.host
        book = host.book
        existing = book.orders.get((s.client_id, order_id))
        if existing is not None and not existing.working:
            s.send_error(
                order_id, ib_codes.ERR_CANT_MODIFY_FILLED, ib_codes.CANT_MODIFY_FILLED_TEXT
            )
            return
        ins = resolve_one(self.host.market, s, order_id, q)
        if ins is None:
            return
        problem = _validate_order(action, qty, order_type, lmt, aux)
        if problem is not None:
            code, text = problem
            s.send_error(order_id, code, text)
            return
        account = account or host.config.accounts[0]
        if account not in host.config.accounts:
            s.send_error(
                order_id,
                ib_codes.ERR_VALIDATING,
                ib_codes.invalid_account_text("bN", account),
            )
            return
        if existing is not None:
            existing.total_qty = qty
            existing.order_type = order_type
            existing.lmt_price = lmt
            existing.aux_price = aux
            existing.tif = tif
            existing.order_ref = order_ref
            existing.outside_rth = outside_rth
            order = existing
            log_event(
                logger, logging.INFO, "sim_order_modified", client_id=s.client_id, order_id=order_id
            )
        else:
            order = SimOrder(
                client_id=s.client_id,
                order_id=order_id,
                perm_id=book.new_perm_id(),
                account=account,
                instrument=ins,
                action=action,
                total_qty=qty,
                order_type=order_type,
                lmt_price=lmt,
                aux_price=aux,
                tif=tif,
                order_ref=order_ref,
                outside_rth=outside_rth,
                parent_id=parent_id,
            )
            book.orders[(s.client_id, order_id)] = order
            log_event(
                logger,
                logging.INFO,
                "sim_order_placed",
                client_id=s.client_id,
                order_id=order_id,
                symbol=ins.symbol,
                action=action,
                qty=qty,
                order_type=order_type,
                lmt=lmt,
                aux=aux,
            )
        s.send(omsg.open_order(s.version, order))
        s.send(omsg.order_status(s.version, order))
        self.host.feeds.try_fill(order)

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
        if not order.working:
            s.send_error(
                order_id,
                ib_codes.ERR_CANCEL_DONE,
                ib_codes.cancel_done_text(order_id, order.status),
            )
            return
        self.host.feeds.cancel(order)

    def req_global_cancel(self, s: Session, r: FieldReader) -> None:
        """``58,1``: cancel every working order of every client."""
        for order in self.host.book.working_orders():
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


def _validate_order(
    action: str, qty: float, order_type: str, lmt: float | None, aux: float | None
) -> tuple[int, str] | None:
    if action not in ("BUY", "SELL"):
        return ib_codes.ERR_VALIDATING, ib_codes.invalid_action_text(action)
    if qty <= 0:
        return ib_codes.ERR_ZERO_SIZE, ib_codes.ZERO_SIZE_TEXT
    if order_type not in ("MKT", "LMT", "STP"):
        return (
            ib_codes.ERR_ORDER_TYPE,
            ib_codes.order_type_text(order_type),
        )
    if order_type == "LMT" and (lmt is None or lmt <= 0):
        return ib_codes.ERR_VALIDATING, ib_codes.LIMIT_MISSING_TEXT
    if order_type == "STP" and (aux is None or aux <= 0):
        return ib_codes.ERR_VALIDATING, ib_codes.STOP_MISSING_TEXT
    return None
