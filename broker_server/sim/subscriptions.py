"""What one API client asked to be kept updated about (market data, bars, account)."""

from __future__ import annotations

from dataclasses import dataclass, field

from broker_server.sim.market import Bar, Instrument


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
class Subscriptions:
    """Everything a client asked to be kept updated about."""

    mkt_data: dict[int, MktDataSub] = field(default_factory=dict)
    hist: dict[int, HistSub] = field(default_factory=dict)
    positions: bool = False
    account_updates: str | None = None
    summary: dict[int, tuple[str, ...]] = field(default_factory=dict)
    multi: dict[int, tuple[str, bool]] = field(default_factory=dict)
