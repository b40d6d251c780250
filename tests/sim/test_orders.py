"""Order features with real ib_insync and ib_async: partial fills, rejections, fills while the
client is away, ownership by client ID, TWS's order-ID rules, brackets, OCA, completed orders,
orderRef everywhere, IOC and STP LMT, and the simulator-side order count.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import pytest

from broker_server.sim.codec import Field, encode_msg
from broker_server.sim.rules import RejectRule
from broker_server.sim.server import SimServer
from tests.sim.conftest import ClientErrorGuard, Connect, make_config, wait_for
from tests.sim.test_raw import RawClient

AAPL = 265598


@pytest.fixture
def server_version() -> int:
    """Order behaviour does not depend on the version: 176 only."""
    return 176


def errors_of(ib: Any) -> list[tuple[int, int, str]]:
    """(reqId, code, text) the library's errorEvent delivers from now on."""
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, *args: seen.append((req_id, code, text))
    return seen


def aapl(lib: ModuleType) -> Any:
    return lib.Stock("AAPL", "SMART", "USD", conId=AAPL)


async def test_partial_fills_in_chunks_each_with_a_commission(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    sim.rules.set_fill_chunk(30, con_id=AAPL)
    ib = await connect(sim, client_id=3)
    ask = sim.market.quotes[AAPL].ask
    trade = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 100, ask + 1, orderRef="chunky"))
    await wait_for(lambda: len(trade.fills) == 1)
    assert trade.orderStatus.status == "Submitted"
    assert (trade.orderStatus.filled, trade.orderStatus.remaining) == (30, 70)
    for n in (2, 3, 4):
        sim.market.set_price(AAPL, sim.market.quotes[AAPL].last)
        await wait_for(lambda n=n: len(trade.fills) == n)  # type: ignore[misc]
    await wait_for(lambda: trade.orderStatus.status == "Filled")
    assert [f.execution.shares for f in trade.fills] == [30, 30, 30, 10]
    assert [f.execution.cumQty for f in trade.fills] == [30, 60, 90, 100]
    assert all(f.execution.orderRef == "chunky" for f in trade.fills)
    await wait_for(lambda: all(f.commissionReport.commission > 0 for f in trade.fills))
    assert len({f.execution.execId for f in trade.fills}) == 4
    execs = await asyncio.wait_for(ib.reqExecutionsAsync(), 2)
    assert len(execs) == 4


async def test_fill_chunk_per_order_ref(sim: SimServer, connect: Connect, lib: ModuleType) -> None:
    sim.rules.set_fill_chunk(4, order_ref="slow")
    ib = await connect(sim)
    slow = ib.placeOrder(aapl(lib), lib.MarketOrder("BUY", 10, orderRef="slow"))
    fast = ib.placeOrder(aapl(lib), lib.MarketOrder("BUY", 10, orderRef="fast"))
    await wait_for(lambda: fast.orderStatus.status == "Filled")
    assert len(fast.fills) == 1
    await wait_for(lambda: len(slow.fills) == 1)
    assert slow.orderStatus.remaining == 6
    sim.market.step()  # listeners run once per step() call: one more execution each
    sim.market.step()
    await wait_for(lambda: slow.orderStatus.status == "Filled")
    assert [f.execution.shares for f in slow.fills] == [4, 4, 2]


async def test_rejection_rule_gives_201_with_the_reason(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 201, reqId \d+: Order rejected - reason:Insufficient margin")
    sim.rules.add_reject(RejectRule(reason="Insufficient margin", symbol="AAPL", times=1))
    ib = await connect(sim)
    errors = errors_of(ib)
    rejected = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 5, 100.0, orderRef="r1"))
    await wait_for(lambda: rejected.orderStatus.status == "Cancelled")
    assert errors == [(rejected.order.orderId, 201, "Order rejected - reason:Insufficient margin")]
    assert sim.book.count_orders(order_ref="r1") == 0
    assert sim.book.rejected == [(1, rejected.order.orderId, "r1", "Insufficient margin")]
    accepted = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 5, 100.0, orderRef="r2"))
    await wait_for(lambda: accepted.orderStatus.status == "Submitted")
    # The rejected ID is used: sending it again is a duplicate.
    assert sim.book.id_was_used(1, rejected.order.orderId)


async def test_price_off_the_tick_gets_110(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 110")  # a warning to ib_insync, an error to ib_async
    ib = await connect(sim)
    errors = errors_of(ib)
    trade = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 5, 100.005))
    await wait_for(lambda: [c for _, c, _ in errors] == [110])
    assert trade.order.orderId and sim.book.count_orders() == 0


async def test_order_fills_while_its_client_is_away(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim, client_id=7)
    bid = sim.market.quotes[AAPL].bid
    away = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 10, bid - 5, orderRef="away"))
    resting = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 1, 50.0, orderRef="rest"))
    await wait_for(lambda: "Submitted" == away.orderStatus.status == resting.orderStatus.status)
    ib.disconnect()
    await wait_for(lambda: sim.connected_client_ids() == [])
    sim.market.set_price(AAPL, bid - 6)
    assert sim.book.orders[(7, away.order.orderId)].status == "Filled"
    again = await connect(sim, client_id=7)
    # Connect already asked for open orders, completed orders and executions.
    assert [t.order.orderRef for t in again.openTrades()] == ["rest"]
    fills = again.fills()
    assert [(f.execution.orderId, f.execution.orderRef) for f in fills] == [
        (away.order.orderId, "away")
    ]
    done = await asyncio.wait_for(again.reqCompletedOrdersAsync(True), 2)
    assert [(t.order.orderRef, t.orderStatus.status) for t in done] == [("away", "Filled")]
    execs = await asyncio.wait_for(again.reqExecutionsAsync(lib.ExecutionFilter(clientId=7)), 2)
    assert [e.execution.shares for e in execs] == [10]


async def test_only_the_owner_may_cancel_or_modify(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    # The libraries log a cancel of an order they do not know, before sending it anyway.
    client_errors.allow(r"Error 10147", r"cancelOrder: Unknown orderId")
    owner = await connect(sim, client_id=21)
    other = await connect(sim, client_id=22)
    trade = owner.placeOrder(aapl(lib), lib.LimitOrder("BUY", 1, 10.0, orderRef="mine"))
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    errors = errors_of(other)
    other.cancelOrder(lib.LimitOrder("BUY", 1, 10.0, orderId=trade.order.orderId))
    await wait_for(lambda: [c for _, c, _ in errors] == [10147])
    placed = sim.book.orders[(21, trade.order.orderId)]
    assert placed.status == "Submitted"
    # The same order ID from another client is that client's own order, never a modify.
    foreign = lib.LimitOrder("BUY", 3, 11.0, orderId=trade.order.orderId, orderRef="theirs")
    mirror = other.placeOrder(aapl(lib), foreign)
    await wait_for(lambda: mirror.orderStatus.status == "Submitted")
    assert (placed.total_qty, placed.lmt_price, placed.order_ref) == (1, 10.0, "mine")
    assert sim.book.count_orders(client_id=21) == 1
    assert sim.book.count_orders(client_id=22, order_ref="theirs") == 1
    assert await asyncio.wait_for(other.reqOpenOrdersAsync(), 1) != []
    seen = await asyncio.wait_for(other.reqAllOpenOrdersAsync(), 1)
    assert sorted((t.order.clientId, t.order.orderRef) for t in seen) == [
        (21, "mine"),
        (22, "theirs"),
    ]


async def test_placing_a_working_orders_id_modifies_it(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim, client_id=5)
    order = lib.LimitOrder("BUY", 2, 100.0, orderRef="m")
    trade = ib.placeOrder(aapl(lib), order)
    await wait_for(lambda: trade.orderStatus.status == "Submitted")
    order.lmtPrice = 101.0
    order.totalQuantity = 3
    ib.placeOrder(aapl(lib), order)
    placed = sim.book.orders[(5, order.orderId)]
    await wait_for(lambda: (placed.lmt_price, placed.total_qty) == (101.0, 3))
    # A resend of the same working order with the same ID stays one order.
    ib.placeOrder(aapl(lib), order)
    await asyncio.wait_for(ib.reqOpenOrdersAsync(), 2)
    assert sim.book.count_orders(client_id=5, order_ref="m") == 1


def _place(order_id: int, action: str, qty: float, order_type: str, lmt: float | str) -> bytes:
    contract: list[Field] = [AAPL, "AAPL", "STK", "", 0.0, "", "", "SMART", "", "USD", "", ""]
    return encode_msg(
        3, order_id, *contract, "", "", action, qty, order_type, lmt, "", "DAY", "", "", "O",
        0, "raw", 1, 0,
    )  # fmt: skip


async def test_order_id_rules_on_the_wire(raw_sim: SimServer) -> None:
    c = await RawClient.open(raw_sim.port)
    await c.start(client_id=6)
    c.send_raw(_place(10, "BUY", 1, "LMT", 100.0))
    assert (await c.read_until("3"))[2] == "Submitted"
    c.send_raw(encode_msg(4, 1, 10, ""))
    assert (await c.read_until("4"))[3] == "202"
    # A cancelled order's ID: 103, duplicate order id.
    c.send_raw(_place(10, "BUY", 1, "LMT", 100.0))
    assert (await c.read_until("4"))[2:4] == ["10", "103"]
    # A filled order's ID: 104, can't modify a filled order.
    c.send_raw(_place(11, "BUY", 1, "MKT", ""))
    await c.read_until("59")
    c.send_raw(_place(11, "BUY", 2, "MKT", ""))
    assert (await c.read_until("4"))[2:4] == ["11", "104"]
    # An ID below the highest this client used: 103.
    c.send_raw(_place(20, "BUY", 1, "LMT", 100.0))
    await c.read_until("3")
    c.send_raw(_place(15, "BUY", 1, "LMT", 100.0))
    assert (await c.read_until("4"))[2:4] == ["15", "103"]
    # Another client may use the same IDs: they are its own orders.
    d = await RawClient.open(raw_sim.port)
    await d.start(client_id=7)
    d.send_raw(_place(15, "BUY", 1, "LMT", 100.0))
    assert (await d.read_until("3"))[1:3] == ["15", "Submitted"]
    assert raw_sim.book.count_orders(client_id=6) == 3
    assert raw_sim.book.count_orders(client_id=7) == 1
    c.close()
    d.close()


async def test_rate_limit_is_configurable() -> None:
    async with SimServer(make_config(max_msgs_per_sec=5)) as sim:
        c = await RawClient.open(sim.port)
        await c.start()
        c.send_raw(b"".join(encode_msg(49, 1) for _ in range(6)))
        err = await c.read_until("4")
        while err[3] != "100":
            err = await c.read_until("4")
        assert "max=5 rec=6" in err[4]
        assert await c.closed()
        assert sim.counters["rate_disconnects"] == 1


async def test_bracket_holds_until_transmit_then_children_follow_the_parent(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 202")
    ib = await connect(sim, client_id=8)
    last = sim.market.quotes[AAPL].last
    parent, take_profit, stop_loss = ib.bracketOrder("BUY", 10, last - 2, last + 5, last - 10)
    for o in (parent, take_profit, stop_loss):
        o.orderRef = "bracket"
    tp = ib.placeOrder(aapl(lib), parent)
    t_tp = ib.placeOrder(aapl(lib), take_profit)
    await asyncio.wait_for(ib.reqOpenOrdersAsync(), 2)
    # Nothing transmitted yet: held at the gateway, not announced.
    assert [sim.book.orders[(8, o.orderId)].status for o in (parent, take_profit)] == [
        "PendingSubmit",
        "PendingSubmit",
    ]
    assert tp.orderStatus.status == "PendingSubmit"
    t_sl = ib.placeOrder(aapl(lib), stop_loss)
    await wait_for(lambda: tp.orderStatus.status == "Submitted")
    await wait_for(lambda: t_tp.orderStatus.status == t_sl.orderStatus.status == "PreSubmitted")
    # The stop is below the market: as a child it must not fire before the parent fills.
    sim.market.set_price(AAPL, last - 11)
    await wait_for(lambda: tp.orderStatus.status == "Filled")
    # Parent filled at a price below the stop: the stop child fires at once, the
    # take-profit is cancelled as its OCA sibling.
    await wait_for(lambda: t_sl.orderStatus.status == "Filled")
    await wait_for(lambda: t_tp.orderStatus.status == "Cancelled")
    assert sim.book.count_orders(client_id=8, order_ref="bracket") == 3
    done = await asyncio.wait_for(ib.reqCompletedOrdersAsync(True), 2)
    assert sorted((t.order.orderRef, t.orderStatus.status) for t in done) == [
        ("bracket", "Cancelled"),
        ("bracket", "Filled"),
        ("bracket", "Filled"),
    ]


async def test_bracket_take_profit_cancels_the_stop(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 202")
    ib = await connect(sim, client_id=9)
    last = sim.market.quotes[AAPL].last
    trades = [
        ib.placeOrder(aapl(lib), o)
        for o in ib.bracketOrder("BUY", 10, last + 1, last + 5, last - 10)
    ]
    parent, take_profit, stop_loss = trades
    await wait_for(lambda: parent.orderStatus.status == "Filled")
    await wait_for(
        lambda: "Submitted" == take_profit.orderStatus.status == stop_loss.orderStatus.status
    )
    sim.market.set_price(AAPL, last + 6)
    await wait_for(lambda: take_profit.orderStatus.status == "Filled")
    await wait_for(lambda: stop_loss.orderStatus.status == "Cancelled")
    assert sim.book.positions[("DU1234567", AAPL)].qty == 0


async def test_cancelling_a_parent_cancels_its_children(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 202")
    ib = await connect(sim)
    last = sim.market.quotes[AAPL].last
    parent, tp, sl = (
        ib.placeOrder(aapl(lib), o) for o in ib.bracketOrder("BUY", 1, last - 5, last + 5, last - 9)
    )
    await wait_for(lambda: tp.orderStatus.status == "PreSubmitted")
    ib.cancelOrder(parent.order)
    await wait_for(
        lambda: (
            {parent.orderStatus.status, tp.orderStatus.status, sl.orderStatus.status}
            == {"Cancelled"}
        )
    )


async def test_oca_group_cancels_the_others_on_fill(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 202")
    ib = await connect(sim)
    last = sim.market.quotes[AAPL].last
    a = ib.placeOrder(aapl(lib), lib.LimitOrder("SELL", 5, last + 3, ocaGroup="g1", ocaType=1))
    b = ib.placeOrder(aapl(lib), lib.LimitOrder("SELL", 5, last + 6, ocaGroup="g1", ocaType=1))
    await wait_for(lambda: a.orderStatus.status == b.orderStatus.status == "Submitted")
    sim.market.set_price(AAPL, last + 4)
    await wait_for(lambda: a.orderStatus.status == "Filled" and b.orderStatus.status == "Cancelled")


async def test_ioc_and_stop_limit(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Error 202")
    ib = await connect(sim)
    last = sim.market.quotes[AAPL].last
    ioc = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 5, last - 3, tif="IOC"))
    await wait_for(lambda: ioc.orderStatus.status == "Cancelled")
    assert ioc.fills == []
    stp_lmt = ib.placeOrder(aapl(lib), lib.StopLimitOrder("SELL", 5, last - 2.5, last - 2))
    await wait_for(lambda: stp_lmt.orderStatus.status == "Submitted")
    sim.market.set_price(AAPL, last - 1)
    assert stp_lmt.orderStatus.status == "Submitted"
    sim.market.set_price(AAPL, last - 2)  # triggered, and the bid is above the limit
    await wait_for(lambda: stp_lmt.orderStatus.status == "Filled")
    assert stp_lmt.fills[0].execution.price >= last - 2.5


async def test_order_ref_in_open_orders_executions_and_completed(
    sim: SimServer, connect: Connect, lib: ModuleType
) -> None:
    ib = await connect(sim, client_id=4)
    filled = ib.placeOrder(aapl(lib), lib.MarketOrder("BUY", 2, orderRef="ref-fill"))
    resting = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 2, 10.0, orderRef="ref-rest"))
    await wait_for(lambda: filled.orderStatus.status == "Filled")
    await wait_for(lambda: resting.orderStatus.status == "Submitted")
    opened = await asyncio.wait_for(ib.reqAllOpenOrdersAsync(), 2)
    assert [t.order.orderRef for t in opened] == ["ref-rest"]
    execs = await asyncio.wait_for(ib.reqExecutionsAsync(), 2)
    assert [e.execution.orderRef for e in execs] == ["ref-fill"]
    done = await asyncio.wait_for(ib.reqCompletedOrdersAsync(True), 2)
    assert [t.order.orderRef for t in done] == ["ref-fill"]


async def test_drop_after_order_leaves_an_order_of_unknown_outcome(
    sim: SimServer, connect: Connect, lib: ModuleType, client_errors: ClientErrorGuard
) -> None:
    client_errors.allow(r"Peer closed connection|Connection reset|API connection failed")
    sim.faults.drop_after_order(times=1, client_id=11)
    ib = await connect(sim, client_id=11)
    lost = ib.placeOrder(aapl(lib), lib.LimitOrder("BUY", 1, 50.0, orderRef="unknown-1"))
    await wait_for(lambda: not ib.isConnected())
    assert lost.orderStatus.status == "PendingSubmit"  # the client never heard back
    assert sim.book.count_orders(client_id=11, order_ref="unknown-1") == 1
    again = await connect(sim, client_id=11)
    # Reconciliation by orderRef finds it; a resend with the same ID is a no-op modify.
    opened = await asyncio.wait_for(again.reqOpenOrdersAsync(), 2)
    assert [(t.order.orderId, t.order.orderRef) for t in opened] == [
        (lost.order.orderId, "unknown-1")
    ]
    resend = lib.LimitOrder("BUY", 1, 50.0, orderRef="unknown-1", orderId=lost.order.orderId)
    again.placeOrder(aapl(lib), resend)
    await asyncio.wait_for(again.reqOpenOrdersAsync(), 2)
    assert sim.book.count_orders(client_id=11, order_ref="unknown-1") == 1
    assert sim.faults.drop_after_order_times == 0
