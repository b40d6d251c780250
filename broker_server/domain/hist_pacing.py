"""IB's historical-data pacing rules, enforced before IB sees a violation (error 162).

IB's documented rules for historical data requests, per client/session:

1. no *identical* request within 15 seconds;
2. at most 6 requests for the same contract, exchange and data type within 2 seconds;
3. at most 60 requests within any 10 minutes when the bars are 30 seconds or smaller.

:meth:`HistoricalPacer.admit` computes the earliest moment a request may be sent given every
request already sent or scheduled, and reserves that moment: the caller waits until then (its
request is queued) or, when that is after its deadline, gets RESOURCE_EXHAUSTED (PACING) with
``retry_after`` at once, and nothing is reserved. ``margin`` is added to every window so that
a little network jitter between the broker and IB cannot turn a just-allowed request into a
violation at IB's end.

Pure and clock-free: every method takes ``now`` (monotonic seconds).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from broker_server.domain.errors import DomainError, ErrorKind, FieldViolation, invalid_argument
from broker_server.domain.reasons import FailureReason

IDENTICAL_WINDOW = 15.0
BURST_WINDOW = 2.0
BURST_LIMIT = 6
SMALL_BAR_WINDOW = 600.0
SMALL_BAR_LIMIT = 60
SMALL_BAR_MAX_SECONDS = 30


@dataclass(frozen=True)
class HistRequest:
    """What the pacing rules look at in one historical request."""

    con_id: int
    exchange: str
    what_to_show: str
    bar_seconds: int
    """The bar size in seconds (a day is 86400; only "<= 30 s" matters)."""
    duration: str
    end: str
    """The end time as sent ("" for now)."""
    use_rth: bool

    @property
    def burst_key(self) -> tuple[int, str, str]:
        """Rule 2's grouping: contract, exchange, data type."""
        return (self.con_id, self.exchange, self.what_to_show)

    @property
    def small(self) -> bool:
        """Rule 3 applies."""
        return self.bar_seconds <= SMALL_BAR_MAX_SECONDS


_EPS = 1e-6
"""Seconds of tolerance when a time is compared with a window's edge (float rounding)."""


@dataclass(frozen=True)
class HistPacingRules:
    """The windows and limits (IB's by default; tests shrink them)."""

    identical_window: float = IDENTICAL_WINDOW
    burst_window: float = BURST_WINDOW
    burst_limit: int = BURST_LIMIT
    small_bar_window: float = SMALL_BAR_WINDOW
    small_bar_limit: int = SMALL_BAR_LIMIT
    margin: float = 0.05


def hist_pacing_error(retry_after: float, rule: str) -> DomainError:
    """RESOURCE_EXHAUSTED (PACING) for a historical request that cannot go within its deadline."""
    return DomainError(
        ErrorKind.RESOURCE_EXHAUSTED,
        FailureReason.PACING,
        f"IB historical data pacing ({rule}): the request could not be sent within its "
        f"deadline; it may go in {retry_after:.2f} s",
        retry_after=max(retry_after, 0.0),
        metadata={"rule": rule},
    )


class HistoricalPacer:
    """The three rules of one session (see the module docstring)."""

    def __init__(self, rules: HistPacingRules | None = None) -> None:
        self.rules = rules or HistPacingRules()
        self._sent: deque[tuple[float, HistRequest]] = deque()

    def _prune(self, now: float) -> None:
        r = self.rules
        keep = max(r.identical_window, r.burst_window, r.small_bar_window) + r.margin
        while self._sent and self._sent[0][0] + keep <= now:
            self._sent.popleft()

    def _violation(self, req: HistRequest, t: float) -> str | None:
        # Candidate times are computed as ``at + window``; without the tolerance, float
        # rounding ((at + w) - at < w) can call a candidate still inside its own window and
        # push the request to the next, much later one (60 s instead of 1.5 s, intermittently).
        """The rule that sending ``req`` at ``t`` would break, given every reservation (those
        later than ``t`` included: a request may be queued behind a blocked one), or None."""
        r = self.rules
        w_id = r.identical_window + r.margin
        if any(other == req and abs(at - t) < w_id - _EPS for at, other in self._sent):
            return "identical request within 15 s"

        def crowded(times: list[float], window: float, limit: int) -> bool:
            # Every window of this length that contains t must hold at most ``limit``.
            times = sorted([*times, t])
            for end in (x for x in times if x >= t):
                if sum(1 for x in times if end - window + _EPS < x <= end) > limit:
                    return True
            return False

        w_burst = r.burst_window + r.margin
        near = [
            at
            for at, other in self._sent
            if other.burst_key == req.burst_key and abs(at - t) < w_burst - _EPS
        ]
        if len(near) >= r.burst_limit and crowded(near, w_burst, r.burst_limit):
            return "6 requests for one contract within 2 s"
        if req.small:
            w_small = r.small_bar_window + r.margin
            near = [at for at, other in self._sent if other.small and abs(at - t) < w_small - _EPS]
            if len(near) >= r.small_bar_limit and crowded(near, w_small, r.small_bar_limit):
                return "60 small-bar requests within 10 min"
        return None

    def earliest(self, req: HistRequest, now: float) -> tuple[float, str]:
        """The earliest time ``req`` may be sent, and the rule that delayed it ("" if none).

        Candidates are ``now`` and the moments a held request leaves a window; the last of
        them is always allowed (every window is then clear), so the scan ends.
        """
        self._prune(now)
        r = self.rules
        candidates = {now}
        for at, _ in self._sent:
            for window in (r.identical_window, r.burst_window, r.small_bar_window):
                if at + window + r.margin > now:
                    candidates.add(at + window + r.margin)
        first_rule = ""
        for t in sorted(candidates):
            rule = self._violation(req, t)
            if rule is None:
                return t, first_rule
            first_rule = first_rule or rule
        raise AssertionError("unreachable: the last candidate clears every window")

    def admit(self, req: HistRequest, now: float, deadline: float) -> float:
        """Reserve the earliest send time of ``req`` and return it; PACING when it is after
        ``deadline`` (nothing reserved then)."""
        when, rule = self.earliest(req, now)
        if when > deadline:
            raise hist_pacing_error(when - now, rule)
        self._sent.append((when, req))
        # Reservations may be out of order (a later time for a blocked request): keep sorted.
        if len(self._sent) > 1 and self._sent[-2][0] > when:
            self._sent = deque(sorted(self._sent, key=lambda e: e[0]))
        return when

    def release(self, req: HistRequest, when: float) -> None:
        """Give back a reservation that was never sent (the caller gave up before its turn)."""
        try:
            self._sent.remove((when, req))
        except ValueError:
            pass

    def __len__(self) -> int:
        return len(self._sent)


# -- request parameters ------------------------------------------------------------------------

BAR_SIZES: dict[int, tuple[str, int]] = {
    1: ("1 secs", 1),
    2: ("5 secs", 5),
    3: ("10 secs", 10),
    4: ("15 secs", 15),
    5: ("30 secs", 30),
    6: ("1 min", 60),
    7: ("2 mins", 120),
    8: ("3 mins", 180),
    9: ("5 mins", 300),
    10: ("10 mins", 600),
    11: ("15 mins", 900),
    12: ("20 mins", 1200),
    13: ("30 mins", 1800),
    14: ("1 hour", 3600),
    15: ("2 hours", 7200),
    16: ("3 hours", 10800),
    17: ("4 hours", 14400),
    18: ("8 hours", 28800),
    19: ("1 day", 86400),
    20: ("1 week", 604800),
    21: ("1 month", 2592000),
}
"""The proto's BarSize numbers -> IB's barSizeSetting and the bar's length in seconds."""

WHAT_TO_SHOW: dict[int, str] = {
    0: "TRADES",
    1: "TRADES",
    2: "MIDPOINT",
    3: "BID",
    4: "ASK",
    5: "BID_ASK",
    6: "ADJUSTED_LAST",
    7: "HISTORICAL_VOLATILITY",
    8: "OPTION_IMPLIED_VOLATILITY",
}
"""The proto's WhatToShow numbers -> IB's whatToShow (0, unset, is TRADES)."""

_DURATION_UNITS = {"S", "D", "W", "M", "Y"}


def parse_history_params(
    duration: str, bar_size: int, what_to_show: int
) -> tuple[str, str, int, str]:
    """(duration, barSizeSetting, bar seconds, whatToShow) from the request's fields, or
    INVALID_ARGUMENT with a violation per bad field."""
    violations = []
    parts = duration.strip().split()
    unit_ok = len(parts) == 2 and parts[0].isdigit() and parts[1].upper() in _DURATION_UNITS
    if not unit_ok or int(parts[0]) < 1:
        violations.append(
            FieldViolation(
                "duration",
                f"{duration[:32]!r} is not IB's duration: a positive integer and a "
                'unit S, D, W, M or Y, for example "30 D"',
            )
        )
    if bar_size not in BAR_SIZES:
        violations.append(FieldViolation("bar_size", f"unknown or unset bar size {bar_size}"))
    if what_to_show not in WHAT_TO_SHOW:
        violations.append(FieldViolation("what_to_show", f"unknown what_to_show {what_to_show}"))
    if violations:
        raise invalid_argument(*violations)
    ib_bar, seconds = BAR_SIZES[bar_size]
    return f"{int(parts[0])} {parts[1].upper()}", ib_bar, seconds, WHAT_TO_SHOW[what_to_show]
