"""What one API client asked to be kept updated about (market data, bars, account)."""

from __future__ import annotations

from dataclasses import dataclass, field

from broker_server.sim.market import Bar, Instrument, Quote

RT_BAR_WHAT = ("TRADES", "MIDPOINT", "BID", "ASK")
"""What reqRealTimeBars can show."""


@dataclass
class MktDataSub:
    """A streaming reqMktData subscription."""

    instrument: Instrument
    data_type: int
    rt_volume: bool = False
    """Generic tick 233 asked for: every trade also comes as an RT Volume string (48)."""


@dataclass
class HistSub:
    """A keepUpToDate reqHistoricalData subscription."""

    instrument: Instrument
    bar_s: int
    format_date: int
    bar: Bar


@dataclass
class RtBarSub:
    """A reqRealTimeBars subscription and the bar it is building (pure state).

    Every tick of the instrument is sampled (:meth:`sample`); at the end of each bar period the
    feeds send the bar and start the next (:meth:`roll`). A period without ticks gives a flat
    bar at the current value, as TWS sends one.
    """

    instrument: Instrument
    what: str
    use_rth: bool
    open: float | None = None
    high: float = 0.0
    low: float = 0.0
    close: float = 0.0
    volume: float = 0.0
    notional: float = 0.0
    count: int = 0

    def value(self, q: Quote) -> float:
        """The price this subscription shows of quote ``q``."""
        if self.what == "MIDPOINT":
            return (q.bid + q.ask) / 2
        if self.what == "BID":
            return q.bid
        if self.what == "ASK":
            return q.ask
        return q.last

    def sample(self, q: Quote) -> None:
        """One tick of the instrument."""
        v = self.value(q)
        if self.open is None:
            self.open = self.high = self.low = v
        self.high, self.low, self.close = max(self.high, v), min(self.low, v), v
        self.count += 1
        if self.what == "TRADES":
            self.volume += q.last_size
            self.notional += q.last_size * v

    def roll(self, q: Quote) -> tuple[float, float, float, float, float, float, int]:
        """The finished bar (open, high, low, close, volume, wap, count); the next one starts
        empty. Volume, WAP and count are -1 where IB gives none (not TRADES)."""
        if self.open is None:
            v = self.value(q)
            bar = (v, v, v, v, 0.0, v, 0)
        else:
            wap = self.notional / self.volume if self.volume else self.close
            bar = (self.open, self.high, self.low, self.close, self.volume, wap, self.count)
        if self.what != "TRADES":
            bar = (*bar[:4], -1.0, -1.0, -1)
        self.open, self.volume, self.notional, self.count = None, 0.0, 0.0, 0
        return bar


@dataclass
class Subscriptions:
    """Everything a client asked to be kept updated about."""

    mkt_data: dict[int, MktDataSub] = field(default_factory=dict)
    hist: dict[int, HistSub] = field(default_factory=dict)
    rt_bars: dict[int, RtBarSub] = field(default_factory=dict)
    positions: bool = False
    account_updates: str | None = None
    summary: dict[int, tuple[str, ...]] = field(default_factory=dict)
    multi: dict[int, tuple[str, bool]] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        """Streaming lines held: reqMktData and reqRealTimeBars subscriptions (IB counts
        both against the market-data allowance)."""
        return len(self.mkt_data) + len(self.rt_bars)
