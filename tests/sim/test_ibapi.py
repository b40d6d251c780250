"""A third, independent client: the official IB ``ibapi`` 9.81 against the simulator.

ibapi 9.81 offers server versions v100..157, so every test here runs at 157, the simulator's
floor. It is blocking and threaded: the simulator runs on its own loop in a thread
(``SimThread``), ibapi's ``run()`` loop on another, and the test waits on recorded callbacks
with a deadline. A test fails on any ibapi log line at WARNING or above, on any ``error``
callback other than the farm notices and the codes the test expects, and when ibapi's message
loop has died (a malformed field ends it).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import time
from collections.abc import Iterator

import pytest
from ibapi.contract import Contract  # type: ignore[import-untyped]
from ibapi.order import Order  # type: ignore[import-untyped]

from tests.sim.conftest import make_config
from tests.sim.ibapi_client import INFO_CODES, IbapiLogGuard, Recorded, RecordingApp, SimThread

AAPL = 265598
ACCOUNT = "DU1234567"
CLIENT_ID = 7

# Plain synchronous tests (no event loop); every wait is bounded, this is the last resort.
pytestmark = pytest.mark.timeout(30)


def aapl(con_id: int = 0, symbol: str = "AAPL") -> Contract:
    c = Contract()
    c.conId = con_id
    c.symbol = symbol
    c.secType = "STK"
    c.exchange = "SMART"
    c.currency = "USD"
    return c


def order(action: str, qty: float, order_type: str, lmt: float | None = None) -> Order:
    o = Order()
    o.action = action
    o.totalQuantity = qty
    o.orderType = order_type
    if lmt is not None:
        o.lmtPrice = lmt
    o.tif = "DAY"
    o.transmit = True
    # ibapi 9.81 defaults these to True, which real gateways reject with error 10268/10269.
    o.eTradeOnly = False
    o.firmQuoteOnly = False
    return o


@pytest.fixture
def sim() -> Iterator[SimThread]:
    """A simulator at its default range on a loop in a background thread."""
    server = SimThread(make_config())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ibapi_log() -> Iterator[IbapiLogGuard]:
    """Every WARNING+ record of the ibapi loggers (propagation keeps pytest's capture)."""
    guard = IbapiLogGuard()
    lg = logging.getLogger("ibapi")
    lg.addHandler(guard)
    try:
        yield guard
    finally:
        lg.removeHandler(guard)


class Expect:
    """Error codes a test expects from ``EWrapper.error`` (everything else fails it)."""

    def __init__(self) -> None:
        self.codes: set[int] = set(INFO_CODES)

    def allow(self, *codes: int) -> None:
        self.codes.update(codes)


@pytest.fixture
def expect() -> Expect:
    return Expect()


@pytest.fixture
def app(sim: SimThread, ibapi_log: IbapiLogGuard, expect: Expect) -> Iterator[RecordingApp]:
    """A connected ibapi client (nextValidId and managedAccounts received)."""
    client = RecordingApp()
    try:
        client.start(sim.sim.port, CLIENT_ID)
        client.wait(lambda r: r.next_valid_id is not None and bool(r.accounts))
        yield client
        # The loop must have survived everything the test made the simulator send.
        assert client.loop_alive(), f"ibapi message loop died: {client.loop_error!r}"
    finally:
        client.stop()
    unexpected = [e for e in client.rec.errors if e.code not in expect.codes]
    assert not unexpected, f"unexpected ibapi errors: {unexpected}"
    assert not ibapi_log.records, "ibapi logged:\n" + "\n".join(ibapi_log.lines())


def test_connect_negotiates_157_and_accounts(app: RecordingApp, sim: SimThread) -> None:
    assert app.isConnected()
    assert app.serverVersion() == 157
    assert app.rec.accounts == [ACCOUNT]
    assert app.rec.next_valid_id is not None and app.rec.next_valid_id > 0
    assert sim.call(sim.sim.connected_client_ids) == [CLIENT_ID]
    # The farm notices a real gateway sends after startApi arrive as informational errors.
    app.wait(lambda r: {e.code for e in r.errors} >= {2104, 2106, 2158})


def test_current_time(app: RecordingApp) -> None:
    app.reqCurrentTime()
    app.wait(lambda r: bool(r.current_time))
    assert abs(app.rec.current_time[0] - time.time()) < 5


def test_contract_details_and_unknown_symbol(app: RecordingApp, expect: Expect) -> None:
    expect.allow(200)
    req = app.next_id()
    app.reqContractDetails(req, aapl())
    app.wait(lambda r: req in r.details_end)
    [details] = app.rec.details[req]
    assert details.contract.conId == AAPL
    assert details.contract.symbol == "AAPL" and details.contract.secType == "STK"
    assert details.contract.currency == "USD"
    assert details.longName == "APPLE INC" and details.minTick == 0.01

    bad = app.next_id()
    app.reqContractDetails(bad, aapl(symbol="NOPE"))
    app.wait(lambda r: any(e.req_id == bad for e in r.errors))
    assert [e.code for e in app.rec.errors if e.req_id == bad] == [200]
    assert bad not in app.rec.details


def quote(sim: SimThread, con_id: int = AAPL) -> tuple[float, float, float]:
    """(bid, ask, last) read on the simulator's loop."""

    def read() -> tuple[float, float, float]:
        q = sim.sim.market.quotes[con_id]
        return (q.bid, q.ask, q.last)

    return sim.call(read)


def latest(rec: Recorded, req: int, tick_type: int) -> float | None:
    """The last price of ``tick_type`` received for ``req``."""
    prices = [p for r, t, p in rec.tick_prices if r == req and t == tick_type]
    return prices[-1] if prices else None


def test_market_data_streams_and_cancels(app: RecordingApp, sim: SimThread) -> None:
    req = app.next_id()
    app.reqMktData(req, aapl(AAPL), "", False, False, [])
    bid, ask, last = quote(sim)
    app.wait(lambda r: None not in (latest(r, req, 1), latest(r, req, 2), latest(r, req, 4)))
    assert (latest(app.rec, req, 1), latest(app.rec, req, 2), latest(app.rec, req, 4)) == (
        bid,
        ask,
        last,
    )
    assert bid < ask
    assert any(r == req and t == 0 and s > 0 for r, t, s in app.rec.tick_sizes)

    # Streaming: each market step sends fresh bid/ask/last ticks.
    for _ in range(3):
        sim.call(lambda: sim.sim.market.step(5))
        bid, ask, _ = quote(sim)

        def caught_up(r: Recorded, bid: float = bid, ask: float = ask) -> bool:
            return (latest(r, req, 1), latest(r, req, 2)) == (bid, ask)

        app.wait(caught_up)

    app.cancelMktData(req)
    # A request after the cancel is answered after it (one socket, in order), so once the
    # time arrives the cancel has been processed; no ticks may follow a further step.
    app.reqCurrentTime()
    app.wait(lambda r: bool(r.current_time))
    seen = len(app.rec.tick_prices)
    sim.call(lambda: sim.sim.market.step(5))
    app.reqCurrentTime()
    app.wait(lambda r: len(r.current_time) == 2)
    assert len(app.rec.tick_prices) == seen
    assert sim.call(lambda: dict(sim.sim.sessions[CLIENT_ID].subs.mkt_data)) == {}


def test_historical_bars_are_valid(app: RecordingApp, sim: SimThread) -> None:
    sim.call(lambda: sim.sim.market.step(10))
    req = app.next_id()
    app.reqHistoricalData(req, aapl(AAPL), "", "1 D", "5 mins", "TRADES", 1, 1, False, [])
    app.wait(lambda r: req in r.bars_end)
    bars = app.rec.bars[req]
    assert len(bars) == 288
    for bar in bars:
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.low <= bar.average <= bar.high and bar.volume > 0 and bar.barCount > 0
    for prev, cur in itertools.pairwise(bars):
        assert cur.open == prev.close and cur.date > prev.date
    assert bars[-1].close == quote(sim)[2]
    start, end = app.rec.bars_end[req]
    assert start < end

    daily = app.next_id()
    app.reqHistoricalData(daily, aapl(AAPL), "", "5 D", "1 day", "MIDPOINT", 1, 1, False, [])
    app.wait(lambda r: daily in r.bars_end)
    days = app.rec.bars[daily]
    assert len(days) == 5
    for bar in days:
        dt.datetime.strptime(bar.date, "%Y%m%d")  # formatDate 1, daily bars: a plain date


def test_realtime_bars_at_server_version_157(ibapi_log: IbapiLogGuard) -> None:
    # Integer volume below 163 (ibapi 9.81 int()s it); every field where ibapi reads it.
    server = SimThread(make_config(realtime_bar_interval=0.1))
    server.start()
    client = RecordingApp()
    try:
        client.start(server.sim.port, CLIENT_ID)
        client.wait(lambda r: r.next_valid_id is not None)
        trades, mid = client.next_id(), client.next_id()
        client.reqRealTimeBars(trades, aapl(AAPL), 5, "TRADES", False, [])
        client.reqRealTimeBars(mid, aapl(AAPL), 5, "MIDPOINT", True, [])
        server.call(lambda: server.sim.market.step(3))
        client.wait(lambda r: len(r.realtime_bars.get(trades, ())) >= 2)
        client.wait(lambda r: len(r.realtime_bars.get(mid, ())) >= 1)
        for time_, open_, high, low, close, volume, wap, count in client.rec.realtime_bars[trades]:
            assert low <= min(open_, close) <= max(open_, close) <= high
            assert low <= wap <= high
            assert time_ > 1_700_000_000 and volume >= 0 and count >= 0
        assert client.rec.realtime_bars[mid][0][5] == -1  # no volume for MIDPOINT
        client.cancelRealTimeBars(trades)
        client.cancelRealTimeBars(mid)
        assert client.loop_alive(), f"ibapi message loop died: {client.loop_error!r}"
        assert not [e for e in client.rec.errors if e.code not in INFO_CODES]
    finally:
        client.stop()
        server.stop()


def test_limit_order_rests_then_cancels(app: RecordingApp, sim: SimThread, expect: Expect) -> None:
    expect.allow(202)
    oid = app.next_id()
    app.placeOrder(oid, aapl(AAPL), order("BUY", 5, "LMT", 100.0))
    app.wait(lambda r: any(s.order_id == oid and s.status == "Submitted" for s in r.order_status))
    assert any(o[0] == oid and o[2].lmtPrice == 100.0 for o in app.rec.open_orders)
    sim.call(lambda: sim.sim.market.step(3))
    assert sim.call(lambda: sim.sim.book.orders[(CLIENT_ID, oid)].working)

    app.cancelOrder(oid)
    app.wait(
        lambda r: (
            any(s.order_id == oid and s.status == "Cancelled" for s in r.order_status)
            and any(e.req_id == oid and e.code == 202 for e in r.errors)
        )
    )
    final = [s for s in app.rec.order_status if s.order_id == oid][-1]
    # Like TWS, a done order reports nothing remaining.
    assert (final.status, final.filled, final.remaining) == ("Cancelled", 0, 0)
    assert not app.rec.fills


def test_market_order_fills_then_position(app: RecordingApp, sim: SimThread) -> None:
    oid = app.next_id()
    app.placeOrder(oid, aapl(AAPL), order("BUY", 10, "MKT"))
    app.wait(
        lambda r: (
            any(s.order_id == oid and s.status == "Filled" for s in r.order_status)
            and bool(r.fills)
            and bool(r.commissions)
        )
    )
    status = [s for s in app.rec.order_status if s.order_id == oid][-1]
    assert (status.filled, status.remaining, status.client_id) == (10, 0, CLIENT_ID)
    [fill] = app.rec.fills
    ask = quote(sim)[1]
    assert fill.req_id == -1 and fill.contract.conId == AAPL
    ex = fill.execution
    assert (ex.orderId, ex.side, ex.shares, ex.clientId) == (oid, "BOT", 10, CLIENT_ID)
    assert ex.price == ask and ex.avgPrice == ask and ex.cumQty == 10
    assert ex.acctNumber == ACCOUNT and ex.execId
    [report] = app.rec.commissions
    assert report.execId == ex.execId
    assert report.commission == pytest.approx(1.0) and report.currency == "USD"
    assert status.avg_fill_price == ask

    app.reqPositions()
    app.wait(lambda r: r.position_end >= 1)
    app.cancelPositions()
    positions = [(p.account, p.contract.conId, p.position) for p in app.rec.positions]
    assert positions == [(ACCOUNT, AAPL, 10)]
    assert app.rec.positions[0].avg_cost > 0
