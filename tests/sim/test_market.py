"""Market walk, historical bars and the book's accounting, without sockets."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker_server.sim.book import Book, SimOrder, commission_for
from broker_server.sim.market import (
    ContractQuery,
    Market,
    front_month_es,
    parse_bar_size,
    parse_duration,
)

AAPL = 265598
ES = 495512563
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def walk(seed: int, steps: int) -> list[float]:
    m = Market(seed=seed)
    out = []
    for _ in range(steps):
        m.step()
        out.append(m.quotes[AAPL].last)
    return out


def test_same_seed_same_walk() -> None:
    assert walk(7, 50) == walk(7, 50)
    assert walk(7, 50) != walk(8, 50)


def test_quotes_stay_on_the_tick_grid_and_ordered() -> None:
    m = Market(seed=3)
    m.step(200)
    for ins in m.instruments:
        q = m.quotes[ins.con_id]
        assert q.bid < q.last < q.ask
        assert q.low <= q.last <= q.high
        assert abs(q.last / ins.min_tick - round(q.last / ins.min_tick)) < 1e-6


def test_resolve() -> None:
    m = Market()
    assert [i.con_id for i in m.resolve(ContractQuery(symbol="AAPL", sec_type="STK"))] == [AAPL]
    assert [i.con_id for i in m.resolve(ContractQuery(con_id=ES))] == [ES]
    assert m.resolve(ContractQuery(symbol="ES", sec_type="FUT", expiry="190001")) == []
    assert m.resolve(ContractQuery(symbol="AAPL", exchange="IDEALPRO")) == []
    assert m.resolve(ContractQuery()) == []


def test_es_front_month() -> None:
    assert front_month_es(dt.date(2026, 11, 25)) == ("20261218", "ESZ6")
    assert front_month_es(dt.date(2026, 12, 19)) == ("20270319", "ESH7")
    assert front_month_es(dt.date(2027, 3, 19)) == ("20270319", "ESH7")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 1000),
    steps=st.integers(0, 50),
    bar=st.sampled_from(["1 secs", "5 mins", "1 hour", "1 day"]),
    duration=st.sampled_from(["60 S", "1 D", "2 W"]),
)
def test_bars_are_valid_and_chain_to_the_walk(
    seed: int, steps: int, bar: str, duration: str
) -> None:
    m = Market(seed=seed, clock=NOW.timestamp)
    m.step(steps)
    ins = m.by_con_id(AAPL)
    assert ins is not None
    bars = m.bars(ins, None, parse_duration(duration), parse_bar_size(bar))
    assert bars
    for b in bars:
        assert b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
        assert b.low <= b.wap <= b.high
    for prev, cur in itertools.pairwise(bars):
        assert cur.open == prev.close and cur.time > prev.time
    assert bars[-1].close == m.quotes[AAPL].last
    assert bars == m.bars(ins, None, parse_duration(duration), parse_bar_size(bar))


def test_past_windows_are_slices_of_one_history() -> None:
    m = Market(seed=5, clock=NOW.timestamp)
    ins = m.by_con_id(AAPL)
    assert ins is not None
    full = m.bars(ins, None, 4 * 3600, 60)
    past = m.bars(ins, NOW - dt.timedelta(hours=1), 2 * 3600, 60)
    assert past[-1].time == NOW - dt.timedelta(hours=1, minutes=1)
    first = [b.time for b in full].index(past[0].time)
    assert past == full[first : first + len(past)]


def test_history_keeps_its_shape_as_the_walk_moves() -> None:
    m = Market(seed=5, clock=NOW.timestamp)
    ins = m.by_con_id(AAPL)
    assert ins is not None
    before = m.bars(ins, None, 3600, 60)
    m.set_price(AAPL, m.quotes[AAPL].last * 1.01)
    after = m.bars(ins, None, 3600, 60)
    assert after[-1].close == m.quotes[AAPL].last
    ratios = [a.close / b.close for a, b in zip(after, before, strict=True)]
    assert max(ratios) - min(ratios) < 0.001


@pytest.mark.parametrize("bad", ["", "5", "5 fortnights", "x mins"])
def test_bad_bar_size(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_bar_size(bad)


def _order(book: Book, action: str, qty: float, con_id: int = AAPL, oid: int = 1) -> SimOrder:
    ins = book.market.by_con_id(con_id)
    assert ins is not None
    order = SimOrder(
        client_id=1,
        order_id=oid,
        perm_id=book.new_perm_id(),
        account="DU1",
        instrument=ins,
        action=action,
        total_qty=qty,
        order_type="MKT",
        lmt_price=None,
        aux_price=None,
        tif="DAY",
        order_ref="",
        outside_rth=False,
    )
    book.add(order)
    return order


def test_round_trip_realizes_pnl_net_of_commission() -> None:
    book = Book(("DU1",), Market())
    book.fill(_order(book, "BUY", 100), 10.0, NOW)
    pos = book.positions[("DU1", AAPL)]
    assert pos.qty == 100 and pos.avg_cost == pytest.approx(10.01)  # commission in the cost
    ex = book.fill(_order(book, "SELL", 100, oid=2), 11.0, NOW)
    assert pos.qty == 0
    assert ex.realized_pnl == pytest.approx(100 * (11.0 - 10.01) - 1.0)
    assert book.balances["DU1"].cash == pytest.approx(1_000_000 + 100 - 2.0)
    assert book.next_order_id() == 3


def test_futures_use_the_multiplier_and_move_no_notional() -> None:
    book = Book(("DU1",), Market())
    book.fill(_order(book, "BUY", 2, con_id=ES), 5000.0, NOW)
    pos = book.positions[("DU1", ES)]
    assert pos.avg_cost == pytest.approx((5000.0 * 50 * 2 + 4.5) / 2)
    assert book.balances["DU1"].cash == pytest.approx(1_000_000 - 4.5)


def test_commissions() -> None:
    m = Market()
    aapl, es, eur = (m.by_con_id(c) for c in (AAPL, ES, 12087792))
    assert aapl and es and eur
    assert commission_for(aapl, 10, 190.0) == 1.0
    assert commission_for(aapl, 1000, 190.0) == 5.0
    assert commission_for(es, 3, 5000.0) == 6.75
    assert commission_for(eur, 20000, 1.08) == 2.0
