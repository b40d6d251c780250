"""Simulated market: instruments, a seeded random walk per instrument, historical bars.

The walk is reproducible: the same seed gives the same sequence of prices for the same number
of steps. Historical bars are generated backwards from the current walk price with an RNG
keyed on (seed, conId, bar end time, bar size), so the last bar closes at the live price,
consecutive bars chain (each open is the previous close) and a request repeated at the same
walk state returns the same bars.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

Listener = Callable[[], None]
InstrumentListener = Callable[[int], None]


@dataclass(frozen=True)
class Instrument:
    """One tradable contract and its static contract details."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    start_price: float
    min_tick: float
    long_name: str
    primary_exchange: str = ""
    last_trade_date: str = ""
    multiplier: str = ""
    valid_exchanges: str = ""
    order_types: str = "LMT,MKT,STP,STPLMT,TRAIL"
    time_zone: str = "US/Eastern"
    industry: str = ""
    category: str = ""
    subcategory: str = ""
    stock_type: str = ""
    market_rule_ids: str = "26"
    volatility: float = 0.0004
    """Per-step standard deviation of the log return."""
    spread_ticks: int = 1

    @property
    def price_multiplier(self) -> float:
        """Contract multiplier as a number (1 when none)."""
        return float(self.multiplier) if self.multiplier else 1.0

    def contract_fields(self) -> tuple[str | int | float, ...]:
        """conId..tradingClass as execDetails/position/portfolio carry them (with exchange)."""
        return (
            self.con_id,
            self.symbol,
            self.sec_type,
            self.last_trade_date,
            0.0,
            "",
            self.multiplier,
            self.exchange,
            self.currency,
            self.local_symbol,
            self.trading_class,
        )


def front_month_es(today: dt.date) -> tuple[str, str]:
    """ES front quarterly expiry (third Friday of Mar/Jun/Sep/Dec) and its local symbol."""
    codes = {3: "H", 6: "M", 9: "U", 12: "Z"}
    year, month = today.year, today.month
    while True:
        if month in codes:
            first = dt.date(year, month, 1)
            friday = first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)
            if friday >= today:
                return friday.strftime("%Y%m%d"), f"ES{codes[month]}{year % 10}"
        month += 1
        if month > 12:
            month, year = 1, year + 1


def default_instruments(today: dt.date | None = None) -> list[Instrument]:
    """AAPL, MSFT, SPY, EUR.USD and the ES front month."""
    expiry, es_local = front_month_es(today or dt.datetime.now(dt.UTC).date())
    stk = "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,ISLAND,DRCTEDGE,BEX,BATS,EDGEA,IEX"
    return [
        Instrument(
            265598,
            "AAPL",
            "STK",
            "SMART",
            "USD",
            "AAPL",
            "NMS",
            190.0,
            0.01,
            "APPLE INC",
            primary_exchange="NASDAQ",
            valid_exchanges=stk,
            industry="Technology",
            category="Computers",
            subcategory="Computers",
            stock_type="COMMON",
        ),
        Instrument(
            272093,
            "MSFT",
            "STK",
            "SMART",
            "USD",
            "MSFT",
            "NMS",
            410.0,
            0.01,
            "MICROSOFT CORP",
            primary_exchange="NASDAQ",
            valid_exchanges=stk,
            industry="Technology",
            category="Software",
            subcategory="Applications Software",
            stock_type="COMMON",
        ),
        Instrument(
            756733,
            "SPY",
            "STK",
            "SMART",
            "USD",
            "SPY",
            "SPY",
            520.0,
            0.01,
            "SPDR S&P 500 ETF TRUST",
            primary_exchange="ARCA",
            valid_exchanges=stk,
            stock_type="ETF",
            volatility=0.0002,
        ),
        Instrument(
            12087792,
            "EUR",
            "CASH",
            "IDEALPRO",
            "USD",
            "EUR.USD",
            "EUR.USD",
            1.08,
            0.00005,
            "European Monetary Union Euro",
            valid_exchanges="IDEALPRO",
            order_types="LMT,MKT,STP",
            time_zone="US/Eastern",
            volatility=0.0001,
            market_rule_ids="239",
        ),
        Instrument(
            495512563,
            "ES",
            "FUT",
            "CME",
            "USD",
            es_local,
            "ES",
            5200.0,
            0.25,
            "E-mini S&P 500",
            last_trade_date=expiry,
            multiplier="50",
            valid_exchanges="CME",
            time_zone="US/Central",
            volatility=0.0002,
            market_rule_ids="67",
        ),
    ]


@dataclass
class Quote:
    """Live prices and sizes of one instrument."""

    last: float
    bid: float
    ask: float
    open: float
    high: float
    low: float
    close: float
    """Previous session close."""
    last_size: float = 100.0
    bid_size: float = 300.0
    ask_size: float = 400.0
    volume: float = 0.0


@dataclass(frozen=True)
class Bar:
    """One historical bar."""

    time: dt.datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    wap: float
    count: int


class ContractQuery:
    """The contract fields a request carries, for matching against instruments."""

    __slots__ = ("con_id", "currency", "exchange", "expiry", "local_symbol", "sec_type", "symbol")

    def __init__(
        self,
        con_id: int = 0,
        symbol: str = "",
        sec_type: str = "",
        expiry: str = "",
        exchange: str = "",
        currency: str = "",
        local_symbol: str = "",
    ) -> None:
        self.con_id = con_id
        self.symbol = symbol
        self.sec_type = sec_type
        self.expiry = expiry
        self.exchange = exchange
        self.currency = currency
        self.local_symbol = local_symbol


_DURATION = re.compile(r"^\s*(\d+)\s*([SDWMY])\s*$")
_BAR_UNITS = {
    "sec": 1,
    "secs": 1,
    "min": 60,
    "mins": 60,
    "hour": 3600,
    "hours": 3600,
    "day": 86400,
    "days": 86400,
    "week": 604800,
    "weeks": 604800,
    "month": 2592000,
    "months": 2592000,
}
_DURATION_UNITS = {"S": 1, "D": 86400, "W": 604800, "M": 2592000, "Y": 31536000}
MAX_BARS = 5000
"""Upper bound on bars per request (real TWS refuses oversize requests too)."""
MAX_SKIP = 20000
"""How many bars back from now a past window is still chained to the live price."""


def parse_duration(text: str) -> int:
    """``"2 D"`` -> seconds; raises ValueError."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"invalid duration {text!r}")
    return int(m.group(1)) * _DURATION_UNITS[m.group(2)]


def parse_bar_size(text: str) -> int:
    """``"5 mins"`` -> seconds; raises ValueError."""
    parts = text.split()
    if len(parts) != 2 or parts[1] not in _BAR_UNITS or not parts[0].isdigit():
        raise ValueError(f"invalid bar size {text!r}")
    return int(parts[0]) * _BAR_UNITS[parts[1]]


@dataclass
class Market:
    """Instruments and their random walks; ``step()`` advances every walk by one tick."""

    seed: int = 1
    instruments: list[Instrument] = field(default_factory=default_instruments)
    clock: Callable[[], float] = field(default=lambda: dt.datetime.now(dt.UTC).timestamp())
    steps: int = 0
    quotes: dict[int, Quote] = field(init=False)
    _rng: random.Random = field(init=False)
    _listeners: list[Listener] = field(init=False, default_factory=list)
    _instrument_listeners: list[InstrumentListener] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.quotes = {}
        for ins in self.instruments:
            p = self._round(ins, ins.start_price)
            half = ins.min_tick * ins.spread_ticks
            self.quotes[ins.con_id] = Quote(
                last=p,
                bid=self._round(p - half),
                ask=self._round(p + half),
                open=p,
                high=p,
                low=p,
                close=self._round(ins, p * (1 - ins.volatility * 5)),
            )

    @staticmethod
    def _round(ins_or_price: Instrument | float, price: float | None = None) -> float:
        if isinstance(ins_or_price, Instrument):
            assert price is not None
            tick = ins_or_price.min_tick
            return round(round(price / tick) * tick, 10)
        return round(ins_or_price, 10)

    def by_con_id(self, con_id: int) -> Instrument | None:
        """The instrument with this conId."""
        for ins in self.instruments:
            if ins.con_id == con_id:
                return ins
        return None

    def resolve(self, q: ContractQuery) -> list[Instrument]:
        """Every instrument the query could mean (IB's contract matching, simplified)."""
        out = []
        for ins in self.instruments:
            if q.con_id and q.con_id != ins.con_id:
                continue
            if q.symbol and q.symbol.upper() != ins.symbol:
                continue
            if q.local_symbol and q.local_symbol.upper() != ins.local_symbol:
                continue
            if q.sec_type and q.sec_type.upper() != ins.sec_type:
                continue
            if q.currency and q.currency.upper() != ins.currency:
                continue
            if q.exchange and q.exchange.upper() not in ins.valid_exchanges.split(","):
                continue
            if q.expiry and not ins.last_trade_date.startswith(q.expiry):
                continue
            if not (q.con_id or q.symbol or q.local_symbol):
                continue
            out.append(ins)
        return out

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener()`` after every step."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def step(self, n: int = 1) -> None:
        """Advance every walk ``n`` ticks, then notify listeners once."""
        for _ in range(n):
            self.steps += 1
            for ins in self.instruments:
                self._walk(ins)
        for listener in list(self._listeners):
            listener()

    def step_instrument(self, con_id: int) -> None:
        """Advance one instrument's walk by one tick (its own tick rate), then notify the
        instrument listeners with its conId."""
        ins = self.by_con_id(con_id)
        if ins is None:
            raise KeyError(con_id)
        self._walk(ins)
        for listener in list(self._instrument_listeners):
            listener(con_id)

    def subscribe_instrument(self, listener: InstrumentListener) -> None:
        """Call ``listener(con_id)`` after every single-instrument step."""
        self._instrument_listeners.append(listener)

    def _walk(self, ins: Instrument) -> None:
        q = self.quotes[ins.con_id]
        ret = self._rng.gauss(0.0, ins.volatility)
        last = self._round(ins, q.last * math.exp(ret))
        if last <= 0:
            last = ins.min_tick
        half = ins.min_tick * ins.spread_ticks
        q.last = last
        q.bid = self._round(ins, last - half)
        q.ask = self._round(ins, last + half)
        q.high = max(q.high, last)
        q.low = min(q.low, last)
        q.last_size = float(self._rng.randint(1, 10) * 100)
        q.bid_size = float(self._rng.randint(1, 20) * 100)
        q.ask_size = float(self._rng.randint(1, 20) * 100)
        q.volume += q.last_size

    def set_price(self, con_id: int, price: float) -> None:
        """Move one instrument to ``price`` (tests), then notify listeners."""
        ins = self.by_con_id(con_id)
        if ins is None:
            raise KeyError(con_id)
        q = self.quotes[con_id]
        half = ins.min_tick * ins.spread_ticks
        q.last = self._round(ins, price)
        q.bid = self._round(ins, q.last - half)
        q.ask = self._round(ins, q.last + half)
        q.high = max(q.high, q.last)
        q.low = min(q.low, q.last)
        for listener in list(self._listeners):
            listener()

    def bars(
        self, ins: Instrument, end: dt.datetime | None, duration_s: int, bar_s: int
    ) -> list[Bar]:
        """Bars ending at ``end`` (now when None), anchored so the current bar closes at the
        live price.

        Each bar's return and range come from an RNG keyed on the bar's absolute index, and
        prices are chained backwards from the live price: the shape of the history is stable
        across requests, and as the walk moves the whole history shifts with it. Bars that
        end in the past are chained from now too (up to MAX_SKIP bars back); beyond that the
        window is anchored at the live price directly.
        """
        now_s = int(self.clock())
        end_s = min(int(end.timestamp()), now_s) if end is not None else now_s
        count = max(1, min(MAX_BARS, duration_s // bar_s))
        current = now_s // bar_s
        # An explicit end excludes the bar that starts exactly at it, as IB does.
        last = (end_s - 1) // bar_s if end_s < now_s else current
        far = current - last > MAX_SKIP
        top = last if far else current
        skip = 0 if far else current - last
        # Per-bar volatility grows with the square root of the bar length.
        sigma = ins.volatility * math.sqrt(max(1.0, bar_s / 5.0))
        close = self.quotes[ins.con_id].last
        out: list[Bar] = []
        for k in range(skip + count):
            index = top - k
            rng = random.Random(f"{self.seed}:{ins.con_id}:{bar_s}:{index}")
            ret = rng.gauss(0.0, sigma)
            up, down = abs(rng.gauss(0.0, sigma / 2)), abs(rng.gauss(0.0, sigma / 2))
            open_ = self._round(ins, close * math.exp(-ret))
            if k >= skip:
                hi = max(self._round(ins, max(open_, close) * (1 + up)), open_, close)
                lo = min(self._round(ins, min(open_, close) * (1 - down)), open_, close)
                volume = float(rng.randint(10, 500) * 100) if ins.sec_type != "CASH" else -1.0
                out.append(
                    Bar(
                        dt.datetime.fromtimestamp(index * bar_s, dt.UTC),
                        open_,
                        hi,
                        lo,
                        close,
                        volume,
                        self._round(ins, (hi + lo + close) / 3),
                        rng.randint(5, 200),
                    )
                )
            close = open_
        out.reverse()
        return out
