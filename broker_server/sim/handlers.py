"""Request handlers: one method per incoming message id, as ib_insync's client sends them.

Parsing follows ``ib_insync/client.py``. A request that cannot be parsed gets error 320 (the
gateway's "Error reading request"), an id the simulator does not know gets 505; neither
closes the connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable
from typing import TYPE_CHECKING

from broker_server.logs import log_event
from broker_server.sim import messages as msg
from broker_server.sim.book import Book, SimOrder
from broker_server.sim.codec import FieldReader, MalformedMessage
from broker_server.sim.faults import STATUS_MESSAGES
from broker_server.sim.market import ContractQuery, Instrument, parse_bar_size, parse_duration
from broker_server.sim.session import (
    ERR_DUPLICATE_CLIENT_ID,
    ERR_MAX_CLIENTS,
    ERR_READING_REQUEST,
    ERR_UNKNOWN_ID,
    HistSub,
    MktDataSub,
    Session,
)

if TYPE_CHECKING:
    from broker_server.sim.server import SimServer

logger = logging.getLogger("ibbroker.sim.handlers")

ERR_NO_SECURITY = 200
ERR_ORDER_CANCELLED = 202
ERR_CANT_FIND_TICKER = 300
ERR_VALIDATING = 321
ERR_HMDS = 162
ERR_DUPLICATE_TICKER = 322
ERR_ORDER_TYPE = 387
ERR_CANT_MODIFY_FILLED = 104
ERR_CANCEL_NOT_FOUND = 10147
ERR_CANCEL_DONE = 10148

NO_SECURITY_TEXT = "No security definition has been found for the request"
DUPLICATE_TICKER_TEXT = "Error processing request.-'bW' : cause - Duplicate ticker id"

SUMMARY_EXTRA = {"AccountType": ("INDIVIDUAL", ""), "DayTradesRemaining": ("-1", "")}

Handler = Callable[[Session, FieldReader], None]


def read_contract(r: FieldReader) -> ContractQuery:
    """conId, symbol, secType, expiry, strike, right, multiplier, exchange, primaryExchange,
    currency, localSymbol, tradingClass (the 12-field contract ib_insync sends)."""
    con_id = r.integer()
    symbol = r.text()
    sec_type = r.text()
    expiry = r.text()
    r.skip(3)  # strike, right, multiplier
    exchange = r.text()
    r.skip(1)  # primaryExchange
    currency = r.text()
    local_symbol = r.text()
    r.skip(1)  # tradingClass
    return ContractQuery(con_id, symbol, sec_type, expiry, exchange, currency, local_symbol)


def parse_ib_datetime(text: str) -> dt.datetime | None:
    """``""`` -> None; ``YYYYMMDD[ -]HH:MM:SS[ TZ]``, ``YYYYMMDD`` (UTC unless a zone follows)."""
    t = text.strip()
    if not t:
        return None
    tz: dt.tzinfo = dt.UTC
    parts = t.replace("-", " ").split()
    if len(parts) >= 3:
        tz = zoneinfo.ZoneInfo(parts[2])
    if len(parts) == 1:
        return dt.datetime.strptime(parts[0], "%Y%m%d").replace(tzinfo=tz)
    return dt.datetime.strptime(parts[0] + parts[1], "%Y%m%d%H:%M:%S").replace(tzinfo=tz)


def fmt_value(value: float) -> str:
    """Account values go out as plain two-decimal strings."""
    return f"{value:.2f}"


class Handlers:
    """The request dispatcher of one SimServer."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self._table: dict[int, Handler] = {
            1: self.req_mkt_data,
            2: self.cancel_mkt_data,
            3: self.place_order,
            4: self.cancel_order,
            5: self.req_open_orders,
            6: self.req_account_updates,
            7: self.req_executions,
            8: self.req_ids,
            9: self.req_contract_details,
            15: self.req_auto_open_orders,
            16: self.req_all_open_orders,
            17: self.req_managed_accts,
            20: self.req_historical_data,
            25: self.cancel_historical_data,
            49: self.req_current_time,
            58: self.req_global_cancel,
            59: self.req_market_data_type,
            61: self.req_positions,
            62: self.req_account_summary,
            63: self.cancel_account_summary,
            64: self.cancel_positions,
            71: self.start_api_again,
            76: self.req_account_updates_multi,
            77: self.cancel_account_updates_multi,
            99: self.req_completed_orders,
        }

    @property
    def book(self) -> Book:
        """Shortcut to the server's book."""
        return self.server.book

    def dispatch(self, s: Session, msg_id: int, fields: list[str]) -> None:
        """Run the handler for ``msg_id``; unknown ids get 505, unparsable requests 320."""
        handler = self._table.get(msg_id)
        if handler is None:
            log_event(logger, logging.INFO, "sim_unknown_msg", client_id=s.client_id, msg_id=msg_id)
            s.send_error(-1, ERR_UNKNOWN_ID, "Fatal Error: Unknown message id.")
            return
        try:
            handler(s, FieldReader(fields, 1))
        except (MalformedMessage, ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
            log_event(
                logger,
                logging.INFO,
                "sim_malformed_request",
                client_id=s.client_id,
                msg_id=msg_id,
                error=str(exc),
            )
            s.send_error(
                -1,
                ERR_READING_REQUEST,
                f"Error reading request. Message id {msg_id}.  {exc}",
            )
        except Exception:
            # A simulator bug must cost one request, not the connection: log it loudly and
            # answer like a gateway that could not process the request.
            logger.exception("sim_handler_failed msg_id=%s client_id=%s", msg_id, s.client_id)
            s.send_error(-1, ERR_READING_REQUEST, f"Error processing request. Message id {msg_id}.")

    # connection setup

    def start_api(self, s: Session, fields: list[str]) -> None:
        """``71,2,clientId,optCapab``: admit the client (or 326 / too many) and greet it."""
        server = self.server
        try:
            r = FieldReader(fields, 1)
            r.skip(1)
            client_id = r.integer()
        except MalformedMessage as exc:
            s.send_error(-1, ERR_READING_REQUEST, f"Error reading request. startApi: {exc}")
            s.close()
            return
        if client_id in server.sessions:
            log_event(logger, logging.INFO, "sim_duplicate_client_id", client_id=client_id)
            s.send_error(
                -1,
                ERR_DUPLICATE_CLIENT_ID,
                "Unable to connect as the client id is already in use. "
                "Retry with a unique client id.",
            )
            s.close()
            return
        if len(server.sessions) >= server.config.max_clients:
            log_event(logger, logging.INFO, "sim_too_many_clients", client_id=client_id)
            s.send_error(
                -1,
                ERR_MAX_CLIENTS,
                f"Couldn't connect to TWS: the maximum number of API clients "
                f"({server.config.max_clients}) is connected.",
            )
            s.close()
            return
        server.sessions[client_id] = s
        s.become_ready(client_id)
        log_event(
            logger,
            logging.INFO,
            "sim_client_connected",
            client_id=client_id,
            version=s.version,
            peer=s.peer,
        )
        s.send(msg.managed_accounts(server.config.accounts))
        s.send(msg.next_valid_id(self.book.next_order_id()))
        if server.config.farm_status_on_connect:
            for code in (2104, 2106, 2158):
                s.send_error(-1, code, _farm_ok(code))

    def start_api_again(self, s: Session, r: FieldReader) -> None:
        """A second startApi on a live connection is ignored, as TWS does."""
        log_event(logger, logging.INFO, "sim_repeated_start_api", client_id=s.client_id)

    # simple requests

    def req_current_time(self, s: Session, r: FieldReader) -> None:
        """``49,1``: answered at most once per configured interval; extras vanish."""
        if not s.current_time_allowed():
            return
        s.send(msg.current_time(int(self.server.now().timestamp())))

    def req_ids(self, s: Session, r: FieldReader) -> None:
        """``8,1,numIds``."""
        r.skip(1)
        r.integer()
        s.send(msg.next_valid_id(self.book.next_order_id()))

    def req_managed_accts(self, s: Session, r: FieldReader) -> None:
        """``17,1``."""
        s.send(msg.managed_accounts(self.server.config.accounts))

    def req_market_data_type(self, s: Session, r: FieldReader) -> None:
        """``59,1,type`` (1 live, 2 frozen, 3 delayed, 4 delayed frozen)."""
        r.skip(1)
        data_type = r.integer()
        if data_type not in (1, 2, 3, 4):
            raise MalformedMessage(f"invalid market data type {data_type}")
        s.market_data_type = data_type

    def req_auto_open_orders(self, s: Session, r: FieldReader) -> None:
        """``15,1,bAutoBind``: only client 0 may bind manual orders."""
        r.skip(1)
        r.flag()
        if s.client_id != 0:
            s.send_error(
                -1,
                ERR_VALIDATING,
                "Error validating request.-'bx' : cause - The API client is not "
                "the master client (client id 0).",
            )

    # contracts

    def _resolve_one(self, s: Session, req_id: int, q: ContractQuery) -> Instrument | None:
        found = self.server.market.resolve(q)
        if not found:
            s.send_error(
                req_id, ERR_NO_SECURITY, "No security definition has been found for the request"
            )
            return None
        return found[0]

    def req_contract_details(self, s: Session, r: FieldReader) -> None:
        """``9,8,reqId,<contract>,includeExpired,secIdType,secId[,issuerId]``."""
        r.skip(1)
        req_id = r.integer()
        q = read_contract(r)
        r.flag()
        r.skip(2)
        found = self.server.market.resolve(q)
        if not found:
            s.send_error(
                req_id, ERR_NO_SECURITY, "No security definition has been found for the request"
            )
            return
        for ins in found:
            s.send(msg.contract_details(s.version, req_id, ins))
        s.send(msg.contract_details_end(req_id))

    # market data

    def req_mkt_data(self, s: Session, r: FieldReader) -> None:
        """``1,11,reqId,<contract>,[legs],dnc,genericTickList,snapshot,regSnapshot,options``."""
        r.skip(1)
        req_id = r.integer()
        q = read_contract(r)
        if q.sec_type == "BAG":
            for _ in range(r.integer()):
                r.skip(4)
        if r.flag():
            r.skip(3)
        r.text()
        snapshot = r.flag()
        regulatory = r.flag()
        if req_id in s.subs.mkt_data:
            s.send_error(
                req_id,
                ERR_DUPLICATE_TICKER,
                "Error processing request.-'bW' : cause - Duplicate ticker id",
            )
            return
        ins = self._resolve_one(s, req_id, q)
        if ins is None:
            return
        s.send(msg.market_data_type(req_id, s.market_data_type))
        self.server.send_ticks(s, req_id, ins, s.market_data_type, full=True)
        if snapshot or regulatory:
            s.send(msg.tick_snapshot_end(req_id))
            return
        s.subs.mkt_data[req_id] = MktDataSub(ins, s.market_data_type)

    def cancel_mkt_data(self, s: Session, r: FieldReader) -> None:
        """``2,2,reqId``."""
        r.skip(1)
        req_id = r.integer()
        if s.subs.mkt_data.pop(req_id, None) is None:
            s.send_error(req_id, ERR_CANT_FIND_TICKER, f"Can't find EId with tickerId:{req_id}")

    def req_historical_data(self, s: Session, r: FieldReader) -> None:
        """``20,reqId,<contract>,includeExpired,end,barSize,duration,useRTH,whatToShow,
        formatDate,[legs],keepUpToDate,chartOptions``."""
        req_id = r.integer()
        q = read_contract(r)
        r.flag()
        end_text = r.text()
        bar_text = r.text()
        duration_text = r.text()
        r.integer()
        what = r.text()
        format_date = r.integer(1)
        if q.sec_type == "BAG":
            for _ in range(r.integer()):
                r.skip(4)
        keep_up_to_date = r.flag()
        ins = self._resolve_one(s, req_id, q)
        if ins is None:
            return
        try:
            bar_s = parse_bar_size(bar_text)
            duration_s = parse_duration(duration_text)
            end = parse_ib_datetime(end_text)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
            s.send_error(req_id, ERR_HMDS, f"Historical Market Data Service error message:{exc}")
            return
        if what.upper() not in ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST"):
            s.send_error(
                req_id,
                ERR_HMDS,
                f"Historical Market Data Service error message:No data of type {what} is available",
            )
            return
        if keep_up_to_date and end is not None:
            s.send_error(
                req_id,
                ERR_VALIDATING,
                "Error validating request.-'bX' : cause - End date not supported with live updates",
            )
            return
        bars = self.server.market.bars(ins, end, duration_s, bar_s)
        now = self.server.now()
        end_dt = end or now
        start_dt = end_dt - dt.timedelta(seconds=duration_s)
        s.send(msg.historical_data(s.version, req_id, bars, bar_s, format_date, start_dt, end_dt))
        if keep_up_to_date and bars:
            s.subs.hist[req_id] = HistSub(ins, bar_s, format_date, bars[-1])

    def cancel_historical_data(self, s: Session, r: FieldReader) -> None:
        """``25,1,reqId``."""
        r.skip(1)
        s.subs.hist.pop(r.integer(), None)

    # orders

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
        server = self.server
        book = self.book
        existing = book.orders.get((s.client_id, order_id))
        if existing is not None and not existing.working:
            s.send_error(order_id, ERR_CANT_MODIFY_FILLED, "Can't modify a filled order.")
            return
        ins = self._resolve_one(s, order_id, q)
        if ins is None:
            return
        problem = _validate_order(action, qty, order_type, lmt, aux)
        if problem is not None:
            code, text = problem
            s.send_error(order_id, code, text)
            return
        account = account or server.config.accounts[0]
        if account not in server.config.accounts:
            s.send_error(
                order_id,
                ERR_VALIDATING,
                f"Error validating request.-'bN' : cause - Invalid account: {account}",
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
        s.send(msg.open_order(s.version, order))
        s.send(msg.order_status(s.version, order))
        server.try_fill(order)

    def cancel_order(self, s: Session, r: FieldReader) -> None:
        """``4,1,orderId[,manualOrderCancelTime]``: orderStatus Cancelled + error 202."""
        assert s.client_id is not None
        r.skip(1)
        order_id = r.integer()
        order = self.book.orders.get((s.client_id, order_id))
        if order is None:
            s.send_error(
                order_id,
                ERR_CANCEL_NOT_FOUND,
                f"OrderId {order_id} that needs to be cancelled is not found.",
            )
            return
        if not order.working:
            s.send_error(
                order_id,
                ERR_CANCEL_DONE,
                f"OrderId {order_id} that needs to be cancelled cannot be cancelled, "
                f"state: {order.status}.",
            )
            return
        self.server.cancel(order)

    def req_global_cancel(self, s: Session, r: FieldReader) -> None:
        """``58,1``: cancel every working order of every client."""
        for order in self.book.working_orders():
            self.server.cancel(order)

    def req_open_orders(self, s: Session, r: FieldReader) -> None:
        """``5,1``: this client's working orders."""
        self._send_open_orders(s, self.book.working_orders(s.client_id))

    def req_all_open_orders(self, s: Session, r: FieldReader) -> None:
        """``16,1``: every client's working orders."""
        self._send_open_orders(s, self.book.working_orders())

    def _send_open_orders(self, s: Session, orders: list[SimOrder]) -> None:
        for order in orders:
            s.send(msg.open_order(s.version, order))
            s.send(msg.order_status(s.version, order))
        s.send(msg.open_order_end())

    def req_completed_orders(self, s: Session, r: FieldReader) -> None:
        """``99,apiOnly``."""
        r.flag()
        for order in self.book.completed_orders():
            s.send(msg.completed_order(s.version, order))
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
        for ex in self.book.executions:
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
            s.send(msg.exec_details(s.version, req_id, ex))
            s.send(msg.commission_report(ex))
        s.send(msg.exec_details_end(req_id))

    # positions and account

    def req_positions(self, s: Session, r: FieldReader) -> None:
        """``61,1``: every position of every account, then positionEnd; stays subscribed."""
        for pos in self.book.positions.values():
            s.send(msg.position(s.version, pos))
        s.send(msg.position_end())
        s.subs.positions = True

    def cancel_positions(self, s: Session, r: FieldReader) -> None:
        """``64,1``."""
        s.subs.positions = False

    def req_account_updates(self, s: Session, r: FieldReader) -> None:
        """``6,2,subscribe,account``: values, portfolio, time, then accountDownloadEnd."""
        r.skip(1)
        subscribe = r.flag()
        account = r.text() or self.server.config.accounts[0]
        if not subscribe:
            s.subs.account_updates = None
            return
        if account not in self.server.config.accounts:
            s.send_error(
                -1,
                ERR_VALIDATING,
                f"Error validating request.-'bB' : cause - Invalid account: {account}",
            )
            return
        s.subs.account_updates = account
        self.server.send_account_update(s, account)
        s.send(msg.account_download_end(account))

    def req_account_summary(self, s: Session, r: FieldReader) -> None:
        """``62,1,reqId,group,tags``: one line per account and known tag, then the end."""
        r.skip(1)
        req_id = r.integer()
        r.text()
        tags = tuple(t.strip() for t in r.text().split(",") if t.strip())
        s.subs.summary[req_id] = tags
        self.server.send_account_summary(s, req_id, tags)
        s.send(msg.account_summary_end(req_id))

    def cancel_account_summary(self, s: Session, r: FieldReader) -> None:
        """``63,1,reqId``."""
        r.skip(1)
        s.subs.summary.pop(r.integer(), None)

    def req_account_updates_multi(self, s: Session, r: FieldReader) -> None:
        """``76,1,reqId,account,modelCode,ledgerAndNLV``."""
        r.skip(1)
        req_id = r.integer()
        account = r.text()
        r.text()
        ledger_and_nlv = r.flag()
        accounts = self.server.config.accounts
        if account and account not in accounts:
            s.send_error(
                req_id,
                ERR_VALIDATING,
                f"Error validating request.-'cX' : cause - Invalid account: {account}",
            )
            return
        s.subs.multi[req_id] = (account, ledger_and_nlv)
        self.server.send_account_multi(s, req_id, account, ledger_and_nlv)
        s.send(msg.account_update_multi_end(req_id))

    def cancel_account_updates_multi(self, s: Session, r: FieldReader) -> None:
        """``77,1,reqId``."""
        r.skip(1)
        s.subs.multi.pop(r.integer(), None)


def _validate_order(
    action: str, qty: float, order_type: str, lmt: float | None, aux: float | None
) -> tuple[int, str] | None:
    if action not in ("BUY", "SELL"):
        return ERR_VALIDATING, f"Error validating request.-'bO' : cause - Invalid action: {action}"
    if qty <= 0:
        return 434, "The order size cannot be zero."
    if order_type not in ("MKT", "LMT", "STP"):
        return (
            ERR_ORDER_TYPE,
            f"Unsupported order type for this exchange and security type: {order_type}",
        )
    if order_type == "LMT" and (lmt is None or lmt <= 0):
        return ERR_VALIDATING, "Error validating request.-'bO' : cause - Limit price is missing"
    if order_type == "STP" and (aux is None or aux <= 0):
        return ERR_VALIDATING, "Error validating request.-'bO' : cause - Stop price is missing"
    return None


def _farm_ok(code: int) -> str:
    return STATUS_MESSAGES[code]
