"""WatchMarketData and GetMarketDataLines end to end: grpc.aio server, ib_insync, the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import trading_pb2 as tpb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.sim.market import Instrument
from broker_server.sim.server import SimConfig
from tests.market_data.conftest import (
    AAPL,
    FINAL,
    MSFT,
    SNAPSHOT,
    UPDATE,
    md_config,
    next_kind,
    watch_request,
)


async def _error_of(stream: Any) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await next_kind(stream, SNAPSHOT)
    return BrokerError.from_rpc_error(err.value)


async def test_snapshot_then_updates_with_increasing_sequence(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker()
    stream = broker.stub.WatchMarketData(watch_request(owner="t"))
    snap = await next_kind(stream, SNAPSHOT)
    assert snap.quote.bid and snap.quote.ask and not snap.quote.volume  # not asked for
    first = await next_kind(stream, UPDATE)
    second = await next_kind(stream, UPDATE)
    assert snap.sequence < first.sequence < second.sequence
    assert first.changed and first.quote.bid
    assert broker.sim_lines() == 1
    stream.cancel()


async def test_bad_input_gets_field_violations(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker()
    err = await _error_of(
        broker.stub.WatchMarketData(
            spb.WatchMarketDataRequest(fields=[1, 0, 42], market_data_type=9)  # type: ignore[list-item, arg-type]
        )
    )
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in err.field_violations} == {
        "contract",
        "fields[1]",
        "fields[2]",
        "market_data_type",
    }
    err = await _error_of(broker.stub.WatchMarketData(watch_request(con_id=424242)))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "CONTRACT_NOT_FOUND")
    err = await _error_of(broker.stub.WatchMarketData(watch_request(gateway="nope")))
    assert err.code is grpc.StatusCode.NOT_FOUND


async def test_ambiguous_contract_names_the_candidates(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker()
    broker.sim.market.instruments.append(
        Instrument(
            999001,
            "AAPL",
            "STK",
            "SMART",
            "MXN",
            "AAPL",
            "AAPL",
            3000.0,
            0.01,
            "APPLE MX",
            valid_exchanges="SMART,MEXI",
        )
    )
    stream = broker.stub.WatchMarketData(
        spb.WatchMarketDataRequest(
            contract=tpb.Contract(symbol="AAPL", security_type=tpb.SECURITY_TYPE_STOCK)
        )
    )
    err = await _error_of(stream)
    assert (err.code, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CONTRACT_AMBIGUOUS")
    assert "265598" in err.metadata["candidates"] and "999001" in err.metadata["candidates"]
    assert "MXN" in err.message


async def test_budget_refuses_before_ib_and_lines_are_listed(
    make_broker: Callable[..., Any],
) -> None:
    broker = await make_broker(md=md_config(line_budget=1, linger=30))
    a = broker.stub.WatchMarketData(watch_request(AAPL, owner="alpha"))
    b = broker.stub.WatchMarketData(watch_request(AAPL, owner="beta"))
    await next_kind(a, SNAPSHOT)
    await next_kind(b, SNAPSHOT)
    err = await _error_of(broker.stub.WatchMarketData(watch_request(MSFT)))
    assert (err.code, err.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "MARKET_DATA_LINES_EXHAUSTED",
    )
    lines = await broker.stub.GetMarketDataLines(spb.GetMarketDataLinesRequest())
    assert (lines.in_use, lines.budget) == (1, 1)
    (line,) = lines.lines
    assert line.contract.con_id == AAPL and line.contract.symbol == "AAPL"
    assert line.subscribers == 2 and list(line.owners) == ["alpha", "beta"]
    assert not line.HasField("linger_until")
    a.cancel()
    b.cancel()
    async with asyncio.timeout(5):
        while True:
            lines = await broker.stub.GetMarketDataLines(spb.GetMarketDataLinesRequest())
            if lines.lines[0].subscribers == 0:
                break
            await asyncio.sleep(0.01)  # the server sees the cancels a moment later
    assert lines.lines[0].HasField("linger_until")  # held at IB for the linger
    assert broker.sim_lines() == 1
    # A lingering line is given up for a new instrument instead of refusing it.
    c = broker.stub.WatchMarketData(watch_request(MSFT))
    await next_kind(c, SNAPSHOT)
    lines = await broker.stub.GetMarketDataLines(spb.GetMarketDataLinesRequest())
    assert [ln.contract.con_id for ln in lines.lines] == [MSFT]
    c.cancel()


async def test_final_on_shutdown(make_broker: Callable[..., Any]) -> None:
    broker = await make_broker()
    stream = broker.stub.WatchMarketData(watch_request())
    await next_kind(stream, SNAPSHOT)
    broker.md.end_streams("test over")
    final = await next_kind(stream, FINAL)
    assert final.reason == "test over"


async def test_ib_refusing_a_line_ends_its_subscribers_with_the_reason(
    make_broker: Callable[..., Any],
) -> None:
    """The broker's budget (100) is larger than the account's allowance at IB (1 here): IB's
    101 ends the new line's subscribers with MARKET_DATA_LINES_EXHAUSTED and IB's code, and the
    line is forgotten (no line held, none counted)."""
    sim_config = SimConfig(
        port=0, current_time_min_interval=0, tick_interval=0.05, max_mkt_data_lines=1
    )
    broker = await make_broker(sim_config)
    first = broker.stub.WatchMarketData(watch_request(AAPL))
    await next_kind(first, SNAPSHOT)
    err = await _error_of(broker.stub.WatchMarketData(watch_request(MSFT)))
    assert (err.code, err.reason) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "MARKET_DATA_LINES_EXHAUSTED",
    )
    assert err.metadata.get("ib_error_code") == "101"
    lines = await broker.stub.GetMarketDataLines(spb.GetMarketDataLinesRequest())
    assert [ln.contract.con_id for ln in lines.lines] == [AAPL]
    assert broker.sim_lines() == 1
    first.cancel()
