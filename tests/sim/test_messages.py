"""Every outgoing message decoded by both libraries' decoders at every server version 157..176.

The golden suite covers the ends of the range over real sockets; this covers each version in
between, message by message, and checks the values that land in the decoded objects.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from typing import Any

import pytest

from broker_server.sim import messages as msg
from broker_server.sim import order_messages as omsg
from broker_server.sim.book import Book, SimOrder
from broker_server.sim.codec import split_fields
from broker_server.sim.market import Market

VERSIONS = range(157, 177)
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


class Recorder:
    """A wrapper stand-in that records every callback the decoder makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = type("IBStub", (), {"TimezoneTWS": ""})()
        self.defaultTimezone = dt.UTC

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def record(*args: Any) -> None:
            self.calls.append((name, args))

        return record


def decode(lib: str, version: int, data: bytes) -> list[tuple[str, tuple[Any, ...]]]:
    decoder_mod = importlib.import_module(f"{lib}.decoder")
    rec = Recorder()
    decoder = decoder_mod.Decoder(rec, version)
    decoder.interpret(split_fields(data[4:]))
    return rec.calls


@pytest.fixture
def book() -> Book:
    book = Book(("DU1",), Market())
    ins = book.market.by_con_id(495512563)
    assert ins is not None
    order = SimOrder(
        client_id=7,
        order_id=42,
        perm_id=book.new_perm_id(),
        account="DU1",
        instrument=ins,
        action="BUY",
        total_qty=2,
        order_type="LMT",
        lmt_price=5100.25,
        aux_price=None,
        tif="GTC",
        order_ref="ref-1",
        outside_rth=True,
        parent_id=0,
    )
    book.add(order)
    book.fill(order, 5100.0, NOW)
    return book


@pytest.fixture(params=["ib_insync", "ib_async"])
def lib(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.ERROR)
    yield request.param
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.mark.parametrize("version", VERSIONS)
def test_open_and_completed_order(lib: str, version: int, book: Book) -> None:
    order = book.orders[(7, 42)]
    [(name, (order_id, contract, o, state))] = decode(lib, version, omsg.open_order(version, order))
    assert name == "openOrder" and order_id == 42
    assert (o.clientId, o.permId, o.action, o.totalQuantity) == (7, order.perm_id, "BUY", 2)
    assert (o.orderType, o.lmtPrice, o.tif, o.orderRef, o.outsideRth) == (
        "LMT",
        5100.25,
        "GTC",
        "ref-1",
        True,
    )
    assert state.status == "Filled" and o.account == "DU1"
    assert contract.conId == 495512563 and contract.multiplier == "50"
    [(name, (contract, o, state))] = decode(lib, version, omsg.completed_order(version, order))
    assert name == "completedOrder"
    assert (o.permId, o.filledQuantity, state.status) == (order.perm_id, 2, "Filled")
    assert state.completedStatus == "Filled" and state.completedTime.endswith("UTC")


@pytest.mark.parametrize("version", VERSIONS)
def test_contract_details(lib: str, version: int, book: Book) -> None:
    for ins in book.market.instruments:
        [(name, (req_id, cd))] = decode(lib, version, msg.contract_details(version, 3, ins))
        assert name == "contractDetails" and req_id == 3
        assert cd.contract.conId == ins.con_id and cd.contract.symbol == ins.symbol
        assert cd.contract.lastTradeDateOrContractMonth == ins.last_trade_date
        assert cd.minTick == ins.min_tick and cd.longName == ins.long_name
        assert cd.contract.primaryExchange == ins.primary_exchange
        assert cd.stockType == ins.stock_type and cd.timeZoneId == ins.time_zone
        assert cd.suggestedSizeIncrement == (1 if version >= 163 else 0)


@pytest.mark.parametrize("version", VERSIONS)
def test_fill_messages(lib: str, version: int, book: Book) -> None:
    ex = book.executions[0]
    [(name, (req_id, contract, execution))] = decode(
        lib, version, omsg.exec_details(version, -1, ex)
    )
    assert name == "execDetails" and req_id == -1
    assert (execution.execId, execution.shares, execution.price) == (ex.exec_id, 2, 5100.0)
    assert (execution.clientId, execution.orderId, execution.side) == (7, 42, "BOT")
    assert execution.time == NOW
    [(name, args)] = decode(lib, version, omsg.order_status(version, ex.order))
    assert name == "orderStatus"
    assert args[:4] == (42, "Filled", 2.0, 0.0) and args[8] == 7
    [(name, (report,))] = decode(lib, version, omsg.commission_report(ex))
    assert name == "commissionReport" and report.commission == 4.5
    pos = book.positions[("DU1", 495512563)]
    [(name, (account, contract, qty, avg))] = decode(lib, version, msg.position(version, pos))
    assert (name, account, qty, contract.conId) == ("position", "DU1", 2, 495512563)
    assert avg == pytest.approx(pos.avg_cost)
    [(name, args)] = decode(lib, version, msg.portfolio_value(version, pos, 5101.0, 510100.0, 9.0))
    assert name == "updatePortfolio" and args[1:3] == (2, 5101.0)


@pytest.mark.parametrize("version", VERSIONS)
def test_error_and_ticks(lib: str, version: int) -> None:
    [(name, args)] = decode(lib, version, msg.error(version, -1, 1100, "lost"))
    assert name == "error" and args[:3] == (-1, 1100, "lost")
    [(name, args)] = decode(lib, version, msg.tick_price(5, 1, 1.5, "300"))
    assert name == "priceSizeTick" and args == (5, 1, 1.5, 300.0)
