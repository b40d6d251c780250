"""Builders for every message the simulator sends, field for field as the clients parse them.

Each builder returns a framed message. Field orders follow ``ib_insync/decoder.py`` (and
``ib_async/decoder.py``, identical up to server version 176); fields the simulator has no
value for are sent empty, which both decoders map to the field's default.
"""

from __future__ import annotations

import datetime as dt

from broker_server.sim import versions
from broker_server.sim.book import Position
from broker_server.sim.codec import Field, encode_msg
from broker_server.sim.market import Bar, Instrument
from broker_server.sim.versions import F

# Incoming message ids (client -> server) and outgoing ids (server -> client) are separate
# namespaces; these are the outgoing ones.
TICK_PRICE = 1
TICK_SIZE = 2
ORDER_STATUS = 3
ERR_MSG = 4
OPEN_ORDER = 5
ACCT_VALUE = 6
PORTFOLIO_VALUE = 7
ACCT_UPDATE_TIME = 8
NEXT_VALID_ID = 9
CONTRACT_DATA = 10
EXECUTION_DATA = 11
MANAGED_ACCTS = 15
HISTORICAL_DATA = 17
TICK_STRING = 46
CURRENT_TIME = 49
REAL_TIME_BARS = 50
CONTRACT_DATA_END = 52
OPEN_ORDER_END = 53
ACCT_DOWNLOAD_END = 54
EXECUTION_DATA_END = 55
TICK_SNAPSHOT_END = 57
MARKET_DATA_TYPE = 58
COMMISSION_REPORT = 59
POSITION_DATA = 61
POSITION_END = 62
ACCOUNT_SUMMARY = 63
ACCOUNT_SUMMARY_END = 64
ACCOUNT_UPDATE_MULTI = 73
ACCOUNT_UPDATE_MULTI_END = 74
HISTORICAL_DATA_UPDATE = 90
COMPLETED_ORDER = 101
COMPLETED_ORDERS_END = 102


def error(version: int, req_id: int, code: int, message: str) -> bytes:
    """``4,2,reqId,code,message`` + advancedOrderRejectJson from 166."""
    fields: list[Field] = [ERR_MSG, 2, req_id, code, message]
    if versions.has(version, F.ERROR_ADVANCED_ORDER_REJECT_JSON):
        fields.append("")
    return encode_msg(*fields)


def handshake_reply(version: int, now: dt.datetime) -> bytes:
    """Exactly two fields: server version and connection time."""
    return encode_msg(version, now.strftime("%Y%m%d %H:%M:%S") + " UTC")


def managed_accounts(accounts: tuple[str, ...]) -> bytes:
    """``15,1,"DU1,DU2"``."""
    return encode_msg(MANAGED_ACCTS, 1, ",".join(accounts))


def next_valid_id(order_id: int) -> bytes:
    """``9,1,orderId``."""
    return encode_msg(NEXT_VALID_ID, 1, order_id)


def current_time(epoch: int) -> bytes:
    """``49,1,epochSeconds``."""
    return encode_msg(CURRENT_TIME, 1, epoch)


def _contract_with_primary(ins: Instrument) -> list[Field]:
    # position and portfolio carry primaryExchange (portfolio) or exchange (position) in
    # the same slot; TWS sends the primary listing there.
    fields: list[Field] = list(ins.contract_fields())
    fields[7] = ins.primary_exchange or ins.exchange
    return fields


def contract_details(version: int, req_id: int, ins: Instrument) -> bytes:
    """contractDetails (10): version field and mdSizeMultiplier below 164, size rules from."""
    v = version
    f: list[Field] = [CONTRACT_DATA]
    if versions.has(v, F.CONTRACT_DETAILS_VERSION_FIELD):
        f.append(8)
    f += [
        req_id,
        ins.symbol,
        ins.sec_type,
        ins.last_trade_date,
        0.0,
        "",
        ins.exchange,
        ins.currency,
        ins.local_symbol,
        ins.trading_class,
        ins.trading_class,
        ins.con_id,
        ins.min_tick,
    ]
    if versions.has(v, F.CONTRACT_DETAILS_MD_SIZE_MULTIPLIER):
        f.append(1)
    contract_month = ins.last_trade_date[:6]
    f += [
        ins.multiplier,
        ins.order_types,
        ins.valid_exchanges,
        1,
        0,
        ins.long_name,
        ins.primary_exchange,
        contract_month,
        ins.industry,
        ins.category,
        ins.subcategory,
        ins.time_zone,
        "",
        "",
        "",
        "",  # tradingHours, liquidHours, evRule, evMultiplier
        0,  # secIdList count
        1,
        "",
        "",
        ins.market_rule_ids,
        ins.last_trade_date,
        ins.stock_type,
    ]
    increment = "1"
    if versions.has(v, F.CONTRACT_DETAILS_SUGGESTED_SIZE_INCREMENT_ONLY):
        f.append(increment)
    if versions.has(v, F.CONTRACT_DETAILS_SIZE_RULES):
        f += ["1", "1", increment]
    return encode_msg(*f)


def contract_details_end(req_id: int) -> bytes:
    """``52,1,reqId``."""
    return encode_msg(CONTRACT_DATA_END, 1, req_id)


def exec_details_end(req_id: int) -> bytes:
    """``55,1,reqId``."""
    return encode_msg(EXECUTION_DATA_END, 1, req_id)


def position(version: int, pos: Position) -> bytes:
    """position (61), exactly 16 fields."""
    return encode_msg(
        POSITION_DATA,
        3,
        pos.account,
        *pos.instrument.contract_fields(),
        versions.size(version, pos.qty),
        round(pos.avg_cost, 6),
    )


def position_end() -> bytes:
    """``62,1``."""
    return encode_msg(POSITION_END, 1)


def portfolio_value(
    version: int, pos: Position, market_price: float, market_value: float, unrealized: float
) -> bytes:
    """portfolioValue (7): exactly 20 fields, primaryExchange in the exchange slot."""
    return encode_msg(
        PORTFOLIO_VALUE,
        8,
        *_contract_with_primary(pos.instrument),
        versions.size(version, pos.qty),
        market_price,
        round(market_value, 2),
        round(pos.avg_cost, 6),
        round(unrealized, 2),
        round(pos.realized_pnl, 2),
        pos.account,
    )


def account_value(key: str, value: str, currency: str, account: str) -> bytes:
    """``6,2,key,value,currency,account``."""
    return encode_msg(ACCT_VALUE, 2, key, value, currency, account)


def account_time(now: dt.datetime) -> bytes:
    """``8,1,HH:MM``."""
    return encode_msg(ACCT_UPDATE_TIME, 1, now.strftime("%H:%M"))


def account_download_end(account: str) -> bytes:
    """``54,1,account``."""
    return encode_msg(ACCT_DOWNLOAD_END, 1, account)


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> bytes:
    """``63,1,reqId,account,tag,value,currency``."""
    return encode_msg(ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency)


def account_summary_end(req_id: int) -> bytes:
    """``64,1,reqId``."""
    return encode_msg(ACCOUNT_SUMMARY_END, 1, req_id)


def account_update_multi(
    req_id: int, account: str, model: str, key: str, value: str, currency: str
) -> bytes:
    """``73,1,reqId,account,modelCode,key,value,currency``."""
    return encode_msg(ACCOUNT_UPDATE_MULTI, 1, req_id, account, model, key, value, currency)


def account_update_multi_end(req_id: int) -> bytes:
    """``74,1,reqId``."""
    return encode_msg(ACCOUNT_UPDATE_MULTI_END, 1, req_id)


def open_order_end() -> bytes:
    """``53,1``."""
    return encode_msg(OPEN_ORDER_END, 1)


def completed_orders_end() -> bytes:
    """``102`` (no version field)."""
    return encode_msg(COMPLETED_ORDERS_END)


def tick_price(req_id: int, tick_type: int, value: float, size: str) -> bytes:
    """``1,6,reqId,tickType,price,size,attrMask`` (exactly 7 fields)."""
    return encode_msg(TICK_PRICE, 6, req_id, tick_type, value, size, 0)


def tick_size(req_id: int, tick_type: int, size: str) -> bytes:
    """``2,6,reqId,tickType,size``."""
    return encode_msg(TICK_SIZE, 6, req_id, tick_type, size)


def tick_string(req_id: int, tick_type: int, value: str) -> bytes:
    """``46,6,reqId,tickType,value``."""
    return encode_msg(TICK_STRING, 6, req_id, tick_type, value)


def realtime_bar(
    version: int,
    req_id: int,
    start: int,
    bar: tuple[float, float, float, float, float, float, int],
) -> bytes:
    """``50,3,reqId,time,open,high,low,close,volume,wap,count`` (time: the bar's start, epoch
    seconds; volume an integer below server version 163, as ibapi 9.81 int()s it)."""
    open_, high, low, close, volume, wap, count = bar
    vol = str(int(volume)) if volume < 0 else versions.size(version, volume)
    return encode_msg(REAL_TIME_BARS, 3, req_id, start, open_, high, low, close, vol, wap, count)


def tick_snapshot_end(req_id: int) -> bytes:
    """``57,1,reqId``."""
    return encode_msg(TICK_SNAPSHOT_END, 1, req_id)


def market_data_type(req_id: int, data_type: int) -> bytes:
    """``58,1,reqId,type``."""
    return encode_msg(MARKET_DATA_TYPE, 1, req_id, data_type)


def _bar_date(bar: Bar, bar_s: int, format_date: int) -> str:
    if format_date == 2:
        return str(int(bar.time.timestamp()))
    if bar_s >= 86400:
        return bar.time.strftime("%Y%m%d")
    return bar.time.strftime("%Y%m%d %H:%M:%S") + " UTC"


def historical_data(
    version: int,
    req_id: int,
    bars: list[Bar],
    bar_s: int,
    format_date: int,
    start: dt.datetime,
    end: dt.datetime,
) -> bytes:
    """``17,reqId,start,end,count,(date,o,h,l,c,volume,wap,barCount)*count``."""
    f: list[Field] = [
        HISTORICAL_DATA,
        req_id,
        start.strftime("%Y%m%d %H:%M:%S") + " UTC",
        end.strftime("%Y%m%d %H:%M:%S") + " UTC",
        len(bars),
    ]
    for b in bars:
        f += [
            _bar_date(b, bar_s, format_date),
            b.open,
            b.high,
            b.low,
            b.close,
            versions.size(version, b.volume) if b.volume >= 0 else -1,
            b.wap,
            b.count,
        ]
    return encode_msg(*f)


def historical_data_update(
    version: int, req_id: int, bar: Bar, bar_s: int, format_date: int
) -> bytes:
    """``90,reqId,barCount,date,open,close,high,low,wap,volume``."""
    return encode_msg(
        HISTORICAL_DATA_UPDATE,
        req_id,
        bar.count,
        _bar_date(bar, bar_s, format_date),
        bar.open,
        bar.close,
        bar.high,
        bar.low,
        bar.wap,
        versions.size(version, bar.volume) if bar.volume >= 0 else -1,
    )
