"""Request handlers: one method per incoming message id, as ib_insync's client sends them.

Parsing follows ``ib_insync/client.py``. A request that cannot be parsed gets error 320 (the
gateway's "Error reading request"), an id the simulator does not know gets 505; neither
closes the connection.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable, Hashable

from broker_server.logs import log_event
from broker_server.sim import ib_codes
from broker_server.sim import messages as msg
from broker_server.sim.codec import FieldReader, MalformedMessage
from broker_server.sim.host import HandlerHost
from broker_server.sim.market import parse_bar_size, parse_duration
from broker_server.sim.order_handlers import OrderHandlers
from broker_server.sim.pacing import HistPacer
from broker_server.sim.parsing import parse_ib_datetime, read_contract, resolve_one
from broker_server.sim.session import Session
from broker_server.sim.subscriptions import RT_BAR_WHAT, HistSub, MktDataSub, RtBarSub

logger = logging.getLogger("ibbroker.sim.handlers")

Handler = Callable[[Session, FieldReader], None]


class Handlers:
    """The request dispatcher of one SimServer."""

    def __init__(self, host: HandlerHost) -> None:
        self.host = host
        self._pacers: dict[int, HistPacer] = {}
        self._rt_requests = 0
        """Historical-data pacing per client ID (kept across reconnects, as IB does)."""
        orders = OrderHandlers(host)
        self._table: dict[int, Handler] = {
            1: self.req_mkt_data,
            2: self.cancel_mkt_data,
            3: orders.place_order,
            4: orders.cancel_order,
            5: orders.req_open_orders,
            6: self.req_account_updates,
            7: orders.req_executions,
            8: self.req_ids,
            9: self.req_contract_details,
            15: self.req_auto_open_orders,
            16: orders.req_all_open_orders,
            17: self.req_managed_accts,
            20: self.req_historical_data,
            25: self.cancel_historical_data,
            49: self.req_current_time,
            50: self.req_real_time_bars,
            51: self.cancel_real_time_bars,
            58: orders.req_global_cancel,
            59: self.req_market_data_type,
            61: self.req_positions,
            62: self.req_account_summary,
            63: self.cancel_account_summary,
            64: self.cancel_positions,
            71: self.start_api_again,
            76: self.req_account_updates_multi,
            77: self.cancel_account_updates_multi,
            99: orders.req_completed_orders,
        }

    def dispatch(self, s: Session, msg_id: int, fields: list[str]) -> None:
        """Run the handler for ``msg_id``; unknown ids get 505, unparsable requests 320."""
        handler = self._table.get(msg_id)
        if handler is None:
            log_event(logger, logging.INFO, "sim_unknown_msg", client_id=s.client_id, msg_id=msg_id)
            s.send_error(-1, ib_codes.ERR_UNKNOWN_ID, ib_codes.UNKNOWN_ID_TEXT)
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
                ib_codes.ERR_READING_REQUEST,
                f"Error reading request. Message id {msg_id}.  {exc}",
            )
        except Exception:
            # A simulator bug must cost one request, not the connection: log it loudly and
            # answer like a gateway that could not process the request.
            logger.exception("sim_handler_failed msg_id=%s client_id=%s", msg_id, s.client_id)
            s.send_error(
                -1, ib_codes.ERR_READING_REQUEST, f"Error processing request. Message id {msg_id}."
            )

    # connection setup

    def start_api(self, s: Session, fields: list[str]) -> None:
        """``71,2,clientId,optCapab``: admit the client (or 326 / too many) and greet it."""
        host = self.host
        try:
            r = FieldReader(fields, 1)
            r.skip(1)
            client_id = r.integer()
        except MalformedMessage as exc:
            s.send_error(
                -1, ib_codes.ERR_READING_REQUEST, f"Error reading request. startApi: {exc}"
            )
            s.close()
            return
        clients = host.clients
        if clients.get(client_id) is not None:
            log_event(logger, logging.INFO, "sim_duplicate_client_id", client_id=client_id)
            s.send_error(-1, ib_codes.ERR_DUPLICATE_CLIENT_ID, ib_codes.DUPLICATE_CLIENT_ID_TEXT)
            s.close()
            return
        limit = host.config.max_clients
        if len(clients.by_id) >= limit:
            log_event(logger, logging.INFO, "sim_too_many_clients", client_id=client_id)
            s.send_error(-1, ib_codes.ERR_MAX_CLIENTS, ib_codes.max_clients_text(limit))
            s.close()
            return
        clients.admit(s, client_id)
        s.become_ready(client_id)
        log_event(
            logger,
            logging.INFO,
            "sim_client_connected",
            client_id=client_id,
            version=s.version,
            peer=s.peer,
        )
        s.send(msg.managed_accounts(host.config.accounts))
        s.send(msg.next_valid_id(host.book.next_order_id()))
        if host.config.farm_status_on_connect:
            for code in ib_codes.FARM_OK_ON_CONNECT:
                s.send_error(-1, code, ib_codes.STATUS_MESSAGES[code])

    def start_api_again(self, s: Session, r: FieldReader) -> None:
        """A second startApi on a live connection is ignored, as TWS does."""
        log_event(logger, logging.INFO, "sim_repeated_start_api", client_id=s.client_id)

    # simple requests

    def req_current_time(self, s: Session, r: FieldReader) -> None:
        """``49,1``: answered at most once per configured interval; extras vanish."""
        if not s.current_time_allowed():
            return
        s.send(msg.current_time(int(self.host.now().timestamp())))

    def req_ids(self, s: Session, r: FieldReader) -> None:
        """``8,1,numIds``."""
        r.skip(1)
        r.integer()
        s.send(msg.next_valid_id(self.host.book.next_order_id()))

    def req_managed_accts(self, s: Session, r: FieldReader) -> None:
        """``17,1``."""
        s.send(msg.managed_accounts(self.host.config.accounts))

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
                ib_codes.ERR_VALIDATING,
                ib_codes.NOT_MASTER_TEXT,
            )

    # contracts

    def req_contract_details(self, s: Session, r: FieldReader) -> None:
        """``9,8,reqId,<contract>,includeExpired,secIdType,secId[,issuerId]``."""
        r.skip(1)
        req_id = r.integer()
        q = read_contract(r)
        r.flag()
        r.skip(2)
        found = self.host.market.resolve(q)
        if not found:
            s.send_error(req_id, ib_codes.ERR_NO_SECURITY, ib_codes.NO_SECURITY_TEXT)
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
        generic = {t.strip() for t in r.text().split(",")}
        rt_volume = "233" in generic
        snapshot = r.flag()
        regulatory = r.flag()
        if req_id in s.subs.mkt_data:
            s.send_error(
                req_id,
                ib_codes.ERR_DUPLICATE_TICKER,
                ib_codes.DUPLICATE_TICKER_TEXT,
            )
            return
        ins = resolve_one(self.host.market, s, req_id, q)
        if ins is None:
            return
        if not (snapshot or regulatory):
            limit = self._line_limit_hit(s)
            if limit is not None:
                log_event(
                    logger, logging.INFO, "sim_max_tickers", client_id=s.client_id, limit=limit
                )
                s.send_error(req_id, ib_codes.ERR_MAX_TICKERS, ib_codes.max_tickers_text(limit))
                return
        s.send(msg.market_data_type(req_id, s.market_data_type))
        if not self.host.faults.ticks_paused:
            # While the link or the farm is down nothing flows; the quote follows on resume.
            self.host.feeds.send_ticks(s, req_id, ins, s.market_data_type, True, rt_volume)
        if snapshot or regulatory:
            s.send(msg.tick_snapshot_end(req_id))
            return
        s.subs.mkt_data[req_id] = MktDataSub(ins, s.market_data_type, rt_volume)

    def _line_limit_hit(self, s: Session) -> int | None:
        # The per-client allowance, then the account-wide one (when configured).
        config = self.host.config
        if s.subs.lines >= config.max_mkt_data_lines:
            return config.max_mkt_data_lines
        total = config.max_mkt_data_lines_total
        if total and sum(self.host.clients.market_data_lines().values()) >= total:
            return total
        return None

    def cancel_mkt_data(self, s: Session, r: FieldReader) -> None:
        """``2,2,reqId``."""
        r.skip(1)
        req_id = r.integer()
        if s.subs.mkt_data.pop(req_id, None) is None:
            s.send_error(
                req_id, ib_codes.ERR_CANT_FIND_TICKER, ib_codes.cant_find_ticker_text(req_id)
            )

    def req_real_time_bars(self, s: Session, r: FieldReader) -> None:
        """``50,3,reqId,<contract>,barSize,whatToShow,useRTH,options``: a 5-second bar every
        ``SimConfig.realtime_bar_interval`` seconds, built from the instrument's ticks.

        IB's limits: the subscription holds a market-data line (101 beyond the allowance) and
        is a small-bar request of the historical pacing window (162 beyond 60 in 10 minutes).
        """
        r.skip(1)
        req_id = r.integer()
        q = read_contract(r)
        bar_size = r.integer()
        what = r.text().upper()
        use_rth = r.flag()
        r.text()  # realTimeBarsOptions
        if req_id in s.subs.rt_bars:
            s.send_error(req_id, ib_codes.ERR_DUPLICATE_TICKER, ib_codes.DUPLICATE_TICKER_TEXT)
            return
        ins = resolve_one(self.host.market, s, req_id, q)
        if ins is None:
            return
        if bar_size != 5 or what not in RT_BAR_WHAT:
            detail = (
                f"bar size {bar_size} is not supported (only 5)"
                if bar_size != 5
                else f"whatToShow {what} is not supported"
            )
            s.send_error(req_id, ib_codes.ERR_RT_QUERY, ib_codes.rt_query_text(detail))
            return
        limit = self._line_limit_hit(s)
        if limit is not None:
            log_event(logger, logging.INFO, "sim_max_tickers", client_id=s.client_id, limit=limit)
            s.send_error(req_id, ib_codes.ERR_MAX_TICKERS, ib_codes.max_tickers_text(limit))
            return
        # Only the small-bar window applies (IB: "no more than 60 new requests for real time
        # bars in 10 minutes"): unique keys keep the identical and burst rules out of it.
        self._rt_requests += 1
        unique = ("realtime bars", self._rt_requests)
        violation = self._pace(s, unique, unique, 5)
        if violation is not None:
            self._refuse_paced(s, req_id, violation)
            return
        s.subs.rt_bars[req_id] = RtBarSub(ins, what, use_rth)

    def cancel_real_time_bars(self, s: Session, r: FieldReader) -> None:
        """``51,1,reqId`` (an unknown reqId is ignored)."""
        r.skip(1)
        s.subs.rt_bars.pop(r.integer(), None)

    def req_historical_data(self, s: Session, r: FieldReader) -> None:
        """``20,reqId,<contract>,includeExpired,end,barSize,duration,useRTH,whatToShow,
        formatDate,[legs],keepUpToDate,chartOptions``."""
        req_id = r.integer()
        q = read_contract(r)
        r.flag()
        end_text = r.text()
        bar_text = r.text()
        duration_text = r.text()
        use_rth = r.integer()
        what = r.text()
        format_date = r.integer(1)
        if q.sec_type == "BAG":
            for _ in range(r.integer()):
                r.skip(4)
        keep_up_to_date = r.flag()
        ins = resolve_one(self.host.market, s, req_id, q)
        if ins is None:
            return
        try:
            bar_s = parse_bar_size(bar_text)
            duration_s = parse_duration(duration_text)
            end = parse_ib_datetime(end_text)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
            s.send_error(req_id, ib_codes.ERR_HMDS, ib_codes.hmds_text(str(exc)))
            return
        if what.upper() not in ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST"):
            s.send_error(
                req_id,
                ib_codes.ERR_HMDS,
                ib_codes.hmds_text(f"No data of type {what} is available"),
            )
            return
        if keep_up_to_date and end is not None:
            s.send_error(
                req_id,
                ib_codes.ERR_VALIDATING,
                ib_codes.END_DATE_WITH_UPDATES_TEXT,
            )
            return
        if self.host.faults.bars_paused:
            text = ib_codes.hmds_text(ib_codes.STATUS_MESSAGES[ib_codes.HMDS_FARM_BROKEN])
            s.send_error(req_id, ib_codes.ERR_HMDS, text)
            return
        violation = self._pace(s, (ins.con_id, end_text, bar_text, duration_text, use_rth, what,
                                   format_date, keep_up_to_date),
                               (ins.con_id, q.exchange or ins.exchange, what.upper()), bar_s)  # fmt: skip
        if violation is not None:
            self._refuse_paced(s, req_id, violation)
            return
        bars = self.host.market.bars(ins, end, duration_s, bar_s)
        now = self.host.now()
        end_dt = end or now
        start_dt = end_dt - dt.timedelta(seconds=duration_s)
        s.send(msg.historical_data(s.version, req_id, bars, bar_s, format_date, start_dt, end_dt))
        if keep_up_to_date and bars:
            s.subs.hist[req_id] = HistSub(ins, bar_s, format_date, bars[-1])

    def _refuse_paced(self, s: Session, req_id: int, violation: str) -> None:
        """IB's answer to a historical pacing violation: error 162 naming the rule."""
        log_event(
            logger,
            logging.INFO,
            "sim_hist_pacing_violation",
            client_id=s.client_id,
            req_id=req_id,
            rule=violation,
        )
        s.send_error(req_id, ib_codes.ERR_HMDS, ib_codes.pacing_text(violation))

    def _pace(self, s: Session, identical: Hashable, burst: Hashable, bar_s: int) -> str | None:
        rules = self.host.config.hist_pacing
        if rules is None or s.client_id is None:
            return None
        pacer = self._pacers.get(s.client_id)
        if pacer is None:
            # A lambda: tests move the clock by replacing ``sim.monotonic``.
            pacer = self._pacers[s.client_id] = HistPacer(rules, lambda: self.host.monotonic())
        return pacer.admit(identical, burst, bar_s)

    def cancel_historical_data(self, s: Session, r: FieldReader) -> None:
        """``25,1,reqId``."""
        r.skip(1)
        s.subs.hist.pop(r.integer(), None)

    # positions and account

    def req_positions(self, s: Session, r: FieldReader) -> None:
        """``61,1``: every position of every account, then positionEnd; stays subscribed."""
        for pos in self.host.book.positions.values():
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
        account = r.text() or self.host.config.accounts[0]
        if not subscribe:
            s.subs.account_updates = None
            return
        if account not in self.host.config.accounts:
            s.send_error(
                -1,
                ib_codes.ERR_VALIDATING,
                ib_codes.invalid_account_text("bB", account),
            )
            return
        s.subs.account_updates = account
        self.host.feeds.send_account_update(s, account)
        s.send(msg.account_download_end(account))

    def req_account_summary(self, s: Session, r: FieldReader) -> None:
        """``62,1,reqId,group,tags``: one line per account and known tag, then the end."""
        r.skip(1)
        req_id = r.integer()
        r.text()
        tags = tuple(t.strip() for t in r.text().split(",") if t.strip())
        s.subs.summary[req_id] = tags
        self.host.feeds.send_account_summary(s, req_id, tags)
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
        accounts = self.host.config.accounts
        if account and account not in accounts:
            s.send_error(
                req_id,
                ib_codes.ERR_VALIDATING,
                ib_codes.invalid_account_text("cX", account),
            )
            return
        s.subs.multi[req_id] = (account, ledger_and_nlv)
        self.host.feeds.send_account_multi(s, req_id, account, ledger_and_nlv)
        s.send(msg.account_update_multi_end(req_id))

    def cancel_account_updates_multi(self, s: Session, r: FieldReader) -> None:
        """``77,1,reqId``."""
        r.skip(1)
        s.subs.multi.pop(r.integer(), None)
