"""Market-data lines: one IB subscription per (gateway, instrument, type), shared by reference.

IB allows a limited number of simultaneous streaming lines per account (100 by default) and
answers error 101 to the one beyond. The broker therefore opens ONE IB line per
(gateway, con_id, market data type) whatever the number of subscribers, counts the subscribers
of each line, and cancels a line only a *linger* after its last subscriber left, so a strategy
that resubscribes at once does not churn IB.

A per-gateway *budget* (default 100) is checked before IB is asked: the subscription that would
open one line too many is refused with RESOURCE_EXHAUSTED (MARKET_DATA_LINES_EXHAUSTED), unless a
lingering line (no subscriber) can be given up for it, oldest linger first. Lingering lines hold
an IB line, so they count toward the budget.

Pure: every method takes ``now`` (monotonic seconds) and, where shown to people, ``wall``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.reasons import FailureReason

DEFAULT_LINE_BUDGET = 100
"""IB's default allowance of simultaneous market-data lines."""
DEFAULT_LINGER = 5.0
"""Seconds a line stays open at IB after its last subscriber left."""


class DataType(enum.IntEnum):
    """IB's market data type (reqMarketDataType's number)."""

    LIVE = 1
    FROZEN = 2
    DELAYED = 3
    DELAYED_FROZEN = 4


REALTIME_BAR_WHAT = ("TRADES", "MIDPOINT", "BID", "ASK")
"""What IB's 5-second real-time bars can show."""


@dataclass(frozen=True, order=True)
class LineKey:
    """What one IB line streams: quotes (reqMktData) of a market data type, or, when
    ``what_to_show`` is set, 5-second real-time bars (reqRealTimeBars; IB counts each such
    subscription as a market-data line too, so both kinds share the budget)."""

    gateway: str
    con_id: int
    data_type: DataType = DataType.LIVE
    what_to_show: str = ""
    """Real-time bars of this kind (TRADES, MIDPOINT, BID, ASK); "" for a quote line."""
    use_rth: bool = False
    """Real-time bars: regular trading hours only."""

    @property
    def bars(self) -> bool:
        """A real-time bar line."""
        return bool(self.what_to_show)

    def __str__(self) -> str:
        if self.bars:
            rth = "/RTH" if self.use_rth else ""
            return f"{self.gateway}/{self.con_id}/BARS_{self.what_to_show}{rth}"
        return f"{self.gateway}/{self.con_id}/{self.data_type.name}"


def bar_key(gateway: str, con_id: int, what_to_show: str, use_rth: bool) -> LineKey:
    """The key of a real-time bar line (the market data type does not apply to bars)."""
    if what_to_show not in REALTIME_BAR_WHAT:
        raise ValueError(f"real-time bars cannot show {what_to_show!r}")
    return LineKey(gateway, con_id, DataType.LIVE, what_to_show, use_rth)


@dataclass
class Line:
    """One IB line and who shares it."""

    key: LineKey
    opened_wall: float
    """When IB was asked for it (epoch seconds)."""
    subscribers: dict[int, str] = field(default_factory=dict)
    """Subscriber id -> owner."""
    linger_until: float | None = None
    """Monotonic time the line will be cancelled, while it has no subscriber."""
    linger_until_wall: float | None = None
    """The same as epoch seconds, for display."""


@dataclass(frozen=True)
class Joined:
    """What :meth:`LineRegistry.join` decided."""

    line: Line
    opened: bool
    """True when the caller must open the line at IB (first subscriber, no line before)."""
    evicted: LineKey | None = None
    """A lingering line given up to make room: the caller cancels it at IB."""


def lines_exhausted(gateway: str, budget: int, in_use: int) -> DomainError:
    """RESOURCE_EXHAUSTED (MARKET_DATA_LINES_EXHAUSTED): no retry helps until a line frees."""
    return DomainError(
        ErrorKind.RESOURCE_EXHAUSTED,
        FailureReason.MARKET_DATA_LINES_EXHAUSTED,
        f"gateway {gateway} uses {in_use} of its {budget} market data lines; a new instrument "
        "needs one more (IB would answer 101). Unsubscribe another instrument or raise "
        "market_data.line_budget if the account's allowance is larger",
        metadata={"gateway": gateway, "budget": str(budget), "in_use": str(in_use)},
    )


class LineRegistry:
    """Reference-counted lines with a linger and a per-gateway budget (module docstring)."""

    def __init__(self, budget: int = DEFAULT_LINE_BUDGET, linger: float = DEFAULT_LINGER) -> None:
        if budget < 1:
            raise ValueError(f"budget must be at least 1, got {budget}")
        if linger < 0:
            raise ValueError(f"linger must be >= 0, got {linger}")
        self.budget = budget
        self.linger = linger
        self._lines: dict[LineKey, Line] = {}
        self._per_gateway: dict[str, int] = {}

    def get(self, key: LineKey) -> Line | None:
        """The line of ``key``, or None."""
        return self._lines.get(key)

    def in_use(self, gateway: str) -> int:
        """Lines held at IB for ``gateway`` (lingering ones included)."""
        return self._per_gateway.get(gateway, 0)

    def lines(self, gateway: str | None = None) -> list[Line]:
        """Every line (of ``gateway``), ordered by key."""
        return sorted(
            (ln for ln in self._lines.values() if gateway is None or ln.key.gateway == gateway),
            key=lambda ln: ln.key,
        )

    def subscribers(self) -> int:
        """Subscribers of every line."""
        return sum(len(ln.subscribers) for ln in self._lines.values())

    def check_room(self, gateway: str, keys: list[LineKey]) -> None:
        """MARKET_DATA_LINES_EXHAUSTED unless the lines of ``keys`` that are not held yet fit
        in the budget (lingering lines may be given up for them): checked before joining
        several lines for one subscriber, so that it gets all of them or none."""
        wanted = set(keys)
        new = sum(1 for k in wanted if k not in self._lines)
        idle = sum(
            1
            for ln in self._lines.values()
            if ln.key.gateway == gateway and ln.linger_until is not None and ln.key not in wanted
        )
        if self.in_use(gateway) + new - idle > self.budget:
            raise lines_exhausted(gateway, self.budget, self.in_use(gateway))

    def join(self, key: LineKey, subscriber: int, owner: str, now: float, wall: float) -> Joined:
        """Add ``subscriber`` to the line of ``key``, opening it when needed.

        A lingering line is revived (no IB traffic). A new line beyond the budget first gives
        up the oldest lingering line of the gateway; with none, MARKET_DATA_LINES_EXHAUSTED.
        """
        line = self._lines.get(key)
        if line is not None:
            line.subscribers[subscriber] = owner
            line.linger_until = line.linger_until_wall = None
            return Joined(line, opened=False)
        evicted: LineKey | None = None
        if self.in_use(key.gateway) >= self.budget:
            idle = [
                ln
                for ln in self._lines.values()
                if ln.key.gateway == key.gateway and ln.linger_until is not None
            ]
            if not idle:
                raise lines_exhausted(key.gateway, self.budget, self.in_use(key.gateway))
            oldest = min(idle, key=lambda ln: (ln.linger_until, ln.key))
            self._remove(oldest.key)
            evicted = oldest.key
        line = Line(key, wall, {subscriber: owner})
        self._lines[key] = line
        self._per_gateway[key.gateway] = self.in_use(key.gateway) + 1
        return Joined(line, opened=True, evicted=evicted)

    def leave(self, key: LineKey, subscriber: int, now: float, wall: float) -> bool:
        """Remove ``subscriber``; True when the line now lingers (it was the last one).

        With a zero linger the caller should call :meth:`expire` at once.
        """
        line = self._lines.get(key)
        if line is None or line.subscribers.pop(subscriber, None) is None:
            return False
        if line.subscribers:
            return False
        line.linger_until = now + self.linger
        line.linger_until_wall = wall + self.linger
        return True

    def abandon(self, key: LineKey) -> Line | None:
        """Forget a line at once (IB refused or dropped it); returns it with its subscribers."""
        return self._remove(key) if key in self._lines else None

    def expire(self, now: float) -> list[LineKey]:
        """Remove and return the lines whose linger has passed; the caller cancels them."""
        done = [
            ln.key
            for ln in self._lines.values()
            if ln.linger_until is not None and ln.linger_until <= now
        ]
        for key in done:
            self._remove(key)
        return sorted(done)

    def next_expiry(self) -> float | None:
        """The earliest linger end, or None."""
        ends = [ln.linger_until for ln in self._lines.values() if ln.linger_until is not None]
        return min(ends) if ends else None

    def _remove(self, key: LineKey) -> Line:
        line = self._lines.pop(key)
        left = self._per_gateway[key.gateway] - 1
        if left:
            self._per_gateway[key.gateway] = left
        else:
            del self._per_gateway[key.gateway]
        return line

    def __len__(self) -> int:
        return len(self._lines)

    def __repr__(self) -> str:
        return f"<LineRegistry {len(self._lines)} lines, budget {self.budget}/gateway>"
