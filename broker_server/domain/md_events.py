"""Market-data values: quote fields, bars, and the events a subscriber receives.

Prices and sizes stay text (IB's decimal as the broker printed it; empty when IB has none), so
nothing is rounded through a float on its way to the subscriber.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from broker_server.domain.errors import FieldViolation, invalid_argument
from broker_server.domain.md_lines import DataType


class QuoteField(enum.IntEnum):
    """One value of a quote (numbers as the proto's MarketDataField)."""

    BID = 1
    ASK = 2
    LAST = 3
    BID_SIZE = 4
    ASK_SIZE = 5
    LAST_SIZE = 6
    VOLUME = 7
    OPEN = 8
    HIGH = 9
    LOW = 10
    CLOSE = 11


DEFAULT_FIELDS = frozenset(
    {
        QuoteField.BID,
        QuoteField.ASK,
        QuoteField.LAST,
        QuoteField.BID_SIZE,
        QuoteField.ASK_SIZE,
        QuoteField.LAST_SIZE,
    }
)
"""What a subscriber gets when it names no field."""


def parse_fields(numbers: list[int], path: str = "fields") -> frozenset[QuoteField]:
    """The wanted fields from their proto numbers; unknown or UNSPECIFIED ones are violations."""
    if not numbers:
        return DEFAULT_FIELDS
    bad = [
        FieldViolation(f"{path}[{i}]", f"unknown market data field {n}; use 1..{len(QuoteField)}")
        for i, n in enumerate(numbers)
        if n not in QuoteField._value2member_map_
    ]
    if bad:
        raise invalid_argument(*bad)
    return frozenset(QuoteField(n) for n in numbers)


def parse_data_type(number: int, path: str = "market_data_type") -> DataType:
    """The market data type from its proto number (0: LIVE)."""
    if number == 0:
        return DataType.LIVE
    if number not in DataType._value2member_map_:
        raise invalid_argument(
            FieldViolation(path, f"unknown market data type {number}; use 1..{len(DataType)}")
        )
    return DataType(number)


@dataclass(frozen=True)
class BarValue:
    """One OHLC bar (5-second real-time or historical)."""

    time: float
    """Start of the bar, epoch seconds."""
    open: str
    high: str
    low: str
    close: str
    volume: str = ""
    wap: str = ""
    trade_count: int = 0


@dataclass(frozen=True)
class TickBatch:
    """What one IB message batch changed on a line."""

    changed: Mapping[QuoteField, str]
    """New values by field."""
    last_trade_time: float | None = None
    """Exchange time of the last trade, epoch seconds, when IB gave one."""
    bars: tuple[BarValue, ...] = ()
    """New 5-second real-time bars."""


class MdKind(enum.Enum):
    """What a market data event reports."""

    SNAPSHOT = "SNAPSHOT"
    UPDATE = "UPDATE"
    BAR = "BAR"
    GAP = "GAP"
    FINAL = "FINAL"


@dataclass(frozen=True)
class MdEvent:
    """One event of one subscription."""

    sequence: int
    kind: MdKind
    wall: float
    """When the broker received it (epoch seconds)."""
    quote: Mapping[QuoteField, str] = field(default_factory=dict)
    """The line's latest quote, for SNAPSHOT and UPDATE (shared by the line's subscribers;
    only ``fields`` are the subscriber's: see :meth:`wanted`)."""
    fields: frozenset[QuoteField] = frozenset()
    """The fields the subscriber asked for."""
    last_trade_time: float | None = None
    changed: tuple[QuoteField, ...] = ()
    """The fields that changed, for UPDATE."""
    conflated: int = 0
    """Updates merged into this one because the subscriber read slower than they came."""
    bar: BarValue | None = None
    gap_start: float | None = None
    gap_end: float | None = None
    reason: str = ""
    data_type: DataType = DataType.LIVE
    version: int = 0
    """The line's update count when the event was taken: subscribers with the same fields get
    identical UPDATEs for the same version (the edge encodes them once)."""

    def wanted(self) -> dict[QuoteField, str]:
        """The subscriber's fields of :attr:`quote`."""
        return {f: v for f, v in self.quote.items() if f in self.fields}
