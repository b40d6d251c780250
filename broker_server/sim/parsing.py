"""Parsing helpers shared by the request handlers (contracts, IB date-times)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from broker_server.sim import ib_codes
from broker_server.sim.codec import FieldReader
from broker_server.sim.market import ContractQuery, Instrument, Market
from broker_server.sim.session import Session


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


def resolve_one(market: Market, s: Session, req_id: int, q: ContractQuery) -> Instrument | None:
    """The first instrument ``q`` matches, or None after sending error 200 to ``s``."""
    found = market.resolve(q)
    if not found:
        s.send_error(req_id, ib_codes.ERR_NO_SECURITY, ib_codes.NO_SECURITY_TEXT)
        return None
    return found[0]
