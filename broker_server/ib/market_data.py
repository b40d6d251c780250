"""Market data through the IB library: contracts, tickers -> plain quotes, historical bars.

The runtime never touches library objects' attributes itself: this module turns a domain
:class:`ContractRef` into a library ``Contract``, a library ``Ticker`` into the broker's quote
(field -> decimal text), contract details into :class:`ContractMatch`, and historical
``BarData`` into :class:`BarValue`. Works with ib_insync and ib_async (same attribute names).

Numbers: IB sends doubles; the library stores NaN (or -1 for some sizes) when it has no value,
which becomes the empty string. A price is printed with up to 12 significant digits, which
removes binary noise (``190.01000000000002`` -> ``190.01``) without inventing precision.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from broker_server.domain.contracts import ContractMatch
from broker_server.domain.md_events import BarValue, QuoteField
from broker_server.domain.orders import ContractRef

RT_VOLUME = "233"
"""Generic tick RT Volume: the last trade's exchange time (ticker.rtTime)."""

_TICKER_ATTRS: Mapping[QuoteField, str] = {
    QuoteField.BID: "bid",
    QuoteField.ASK: "ask",
    QuoteField.LAST: "last",
    QuoteField.BID_SIZE: "bidSize",
    QuoteField.ASK_SIZE: "askSize",
    QuoteField.LAST_SIZE: "lastSize",
    QuoteField.VOLUME: "volume",
    QuoteField.OPEN: "open",
    QuoteField.HIGH: "high",
    QuoteField.LOW: "low",
    QuoteField.CLOSE: "close",
}


def number_text(value: Any) -> str:
    """IB's number as decimal text; "" for no value (None, NaN, infinite, -1 sizes)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return "" if not value.is_finite() else format(value.normalize(), "f")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(number) or number == -1:
        return ""
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return format(Decimal(format(number, ".12g")).normalize(), "f")


def read_quote(ticker: Any) -> dict[QuoteField, str]:
    """Every field of a library ``Ticker`` as text (empty when IB sent none)."""
    return {
        field: number_text(getattr(ticker, attr, None)) for field, attr in _TICKER_ATTRS.items()
    }


def last_trade_time(ticker: Any) -> float | None:
    """The exchange time of the last trade (RT Volume), epoch seconds, when IB gave one."""
    rt = getattr(ticker, "rtTime", None)
    return rt.timestamp() if isinstance(rt, datetime) else None


def delivered_type(ticker: Any) -> int:
    """The market data type IB actually delivers (1 live .. 4 delayed frozen)."""
    return int(getattr(ticker, "marketDataType", 1) or 1)


def library_contract(lib: Any, ref: ContractRef) -> Any:
    """A library ``Contract`` from the caller's query (only the fields it gave)."""
    return lib.Contract(
        conId=ref.con_id,
        symbol=ref.symbol,
        secType=ref.sec_type,
        exchange=ref.exchange or ("SMART" if ref.sec_type in ("STK", "") and ref.symbol else ""),
        primaryExchange=ref.primary_exchange,
        currency=ref.currency,
        localSymbol=ref.local_symbol,
        tradingClass=ref.trading_class,
        lastTradeDateOrContractMonth=ref.last_trade_date_or_contract_month,
        strike=float(ref.strike) if ref.strike else 0.0,
        right=ref.right,
        multiplier=ref.multiplier,
    )


def contract_ref(contract: Any) -> ContractRef:
    """A library ``Contract`` (fully specified) as the domain's ContractRef."""
    strike = float(getattr(contract, "strike", 0.0) or 0.0)
    return ContractRef(
        con_id=int(contract.conId),
        symbol=str(contract.symbol),
        sec_type=str(contract.secType),
        exchange=str(contract.exchange),
        primary_exchange=str(contract.primaryExchange),
        currency=str(contract.currency),
        local_symbol=str(contract.localSymbol),
        trading_class=str(contract.tradingClass),
        last_trade_date_or_contract_month=str(contract.lastTradeDateOrContractMonth),
        strike=number_text(strike) if strike else "",
        right=str(contract.right),
        multiplier=str(contract.multiplier),
    )


async def contract_matches(ib: Any, lib: Any, query: ContractRef) -> list[ContractMatch]:
    """Every contract IB finds for ``query`` (reqContractDetails); [] when none (IB 200)."""
    details = await ib.reqContractDetailsAsync(library_contract(lib, query))
    return [
        ContractMatch(contract_ref(d.contract), number_text(d.minTick), str(d.longName))
        for d in details or ()
    ]


def _bar_time(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return time.mktime(value.timetuple())
    return float(value)


def bar_value(bar: Any) -> BarValue:
    """A library ``BarData`` / ``RealTimeBar`` as a BarValue."""
    count = getattr(bar, "barCount", 0) or getattr(bar, "count", 0) or 0
    return BarValue(
        time=_bar_time(getattr(bar, "date", None) or getattr(bar, "time", 0)),
        open=number_text(getattr(bar, "open", None) or getattr(bar, "open_", None)),
        high=number_text(bar.high),
        low=number_text(bar.low),
        close=number_text(bar.close),
        volume=number_text(bar.volume),
        wap=number_text(getattr(bar, "average", None) or getattr(bar, "wap", None)),
        trade_count=max(int(count), 0),
    )


async def historical_bars(
    ib: Any,
    contract: Any,
    *,
    end: str,
    duration: str,
    bar_size: str,
    what_to_show: str,
    use_rth: bool,
    timeout: float,  # noqa: ASYNC109
) -> tuple[int, list[BarValue]]:
    """reqHistoricalData; returns the request ID (to match IB errors) and the bars."""
    bars = await ib.reqHistoricalDataAsync(
        contract,
        end,
        duration,
        bar_size,
        what_to_show,
        use_rth,
        formatDate=2,
        timeout=timeout,
    )
    req_id = int(getattr(bars, "reqId", 0) or 0)
    return req_id, [bar_value(b) for b in bars or ()]
