"""Historical bars with IB's pacing rules enforced by the broker, never IB's 162.

Each request is checked against the data session's
:class:`~broker_server.domain.hist_pacing.HistoricalPacer` first: it is sent at once, queued
until the rules allow it (within the caller's deadline), or refused at once with
RESOURCE_EXHAUSTED (PACING) and RetryInfo. Then it takes a token of the session's message pacer
(reads lane) and goes to IB. IB's own errors for the request are mapped: 162 (should not happen;
if it does, PACING), 200 CONTRACT_NOT_FOUND, 354/10197 MARKET_DATA_NOT_PERMITTED, 162 with
"HMDS" (farm down) and 366 UNAVAILABLE, 321 and others INVALID_ARGUMENT.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from broker_server.aio import within
from broker_server.domain.errors import DomainError, ErrorKind
from broker_server.domain.hist_pacing import HistoricalPacer, HistPacingRules, HistRequest
from broker_server.domain.md_events import BarValue
from broker_server.domain.orders import ContractRef
from broker_server.domain.reasons import FailureReason
from broker_server.ib.market_data import historical_bars, library_contract
from broker_server.logs import log_event
from broker_server.runtime.market_data import MarketDataManager

log = logging.getLogger("ibbroker.market_data")


@dataclass(frozen=True)
class HistoryQuery:
    """A checked historical request."""

    gateway: str
    contract: ContractRef
    end: float | None
    """Epoch seconds; None for now."""
    duration: str
    bar_size: str
    bar_seconds: int
    what_to_show: str
    use_rth: bool


def _ib_error(code: int, msg: str) -> DomainError:
    if code == 162 and "pacing" in msg.lower():
        return DomainError(
            ErrorKind.RESOURCE_EXHAUSTED,
            FailureReason.PACING,
            f"IB refused the request for pacing: {msg}",
            retry_after=15.0,
            ib_error_code=code,
        )
    if code == 200:
        return DomainError(
            ErrorKind.NOT_FOUND, FailureReason.CONTRACT_NOT_FOUND, msg, ib_error_code=code
        )
    if code in (354, 10197):
        return DomainError(
            ErrorKind.FAILED_PRECONDITION,
            FailureReason.MARKET_DATA_NOT_PERMITTED,
            msg,
            ib_error_code=code,
        )
    if code in (162, 366, 2105):
        return DomainError(
            ErrorKind.UNAVAILABLE,
            FailureReason.RECONNECTING,
            f"IB's historical data service is unavailable: {code} {msg}",
            retry_after=5.0,
            ib_error_code=code,
        )
    return DomainError(
        ErrorKind.INVALID_ARGUMENT,
        FailureReason.INVALID_ARGUMENT,
        f"IB refused the historical request: {code} {msg}",
        ib_error_code=code,
    )


class HistoryService:
    """GetHistoricalBars on top of the market-data manager's sessions and contracts."""

    def __init__(self, manager: MarketDataManager, rules: HistPacingRules | None = None) -> None:
        self._md = manager
        if rules is not None:
            manager.hist_rules = rules

    def pacer(self, gateway: str) -> HistoricalPacer:
        """The historical pacer of a gateway's data session (the manager's: new real-time bar
        lines count in the same small-bar window)."""
        return self._md.hist_pacer(gateway)

    async def bars(self, q: HistoryQuery, time_left: float) -> list[BarValue]:
        """The bars of ``q`` within ``time_left`` seconds."""
        md, clock = self._md, self._md.clock
        deadline = clock.monotonic() + time_left
        gw = md.sessions.gateway_name(q.gateway)
        match = await md.resolve(gw, q.contract)
        end_text = (
            dt.datetime.fromtimestamp(q.end, dt.UTC).strftime("%Y%m%d-%H:%M:%S") if q.end else ""
        )
        req = HistRequest(
            match.contract.con_id,
            match.contract.exchange,
            q.what_to_show,
            q.bar_seconds,
            q.duration,
            end_text,
            q.use_rth,
        )
        # The session's message token first, then the historical slot: the slot's time is
        # the moment the request goes to IB, so no wait may come between them (a token wait
        # after the slot would shift this request later than the rules computed for the next
        # ones, and IB would see a burst). A token spent on a request then refused for pacing
        # only slows the session's other reads by one message.
        await md.sessions.pace(gw, max(deadline - clock.monotonic(), 0.0))
        pacer = self.pacer(gw)
        now = clock.monotonic()
        when = pacer.admit(req, now, deadline)
        if when > now:
            log_event(
                log, logging.INFO, "historical_request_queued", wait=when - now, con_id=req.con_id
            )
            try:
                await asyncio.sleep(when - now)
            except asyncio.CancelledError:
                pacer.release(req, when)
                raise
        handle = await md.sessions.handle(gw)
        session = handle.session
        md.watch(gw, session)  # IB's errors for the request (162 counted, 200 mapped)
        remaining = max(deadline - clock.monotonic(), 0.1)
        try:
            req_id, bars = await within(
                historical_bars(
                    handle.ib,
                    library_contract(session.lib, match.contract),
                    end=end_text,
                    duration=q.duration,
                    bar_size=q.bar_size,
                    what_to_show=q.what_to_show,
                    use_rth=q.use_rth,
                    timeout=remaining,
                ),
                remaining + 0.5,
            )
        except TimeoutError:
            raise DomainError(
                ErrorKind.UNAVAILABLE,
                FailureReason.RECONNECTING,
                "IB did not answer the historical request within the deadline",
                retry_after=1.0,
            ) from None
        error = md.req_errors.pop((gw, req_id), None)
        if error is not None and not bars:
            raise _ib_error(*error)
        return bars
