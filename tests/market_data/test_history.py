"""GetHistoricalBars: bars from the simulator, IB's pacing rules kept by the broker (queued
within the deadline or PACING with RetryInfo), never a 162 from the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_pb2 as tpb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_server.domain.hist_pacing import HistPacingRules
from broker_server.sim.pacing import HistPacing
from broker_server.sim.server import SimConfig
from tests.market_data.conftest import AAPL, MSFT

# The simulator enforces IB's rules scaled down 10x; the broker knows the same windows.
SIM_RULES = HistPacing(identical_window=1.5, burst_window=0.2, window=60.0)
BROKER_RULES = HistPacingRules(identical_window=1.5, burst_window=0.2, small_bar_window=60.0)


def bars_request(
    con_id: int = AAPL,
    end: int = 0,
    bar: md_pb.BarSize.ValueType = md_pb.BAR_SIZE_1_MINUTE,
    duration: str = "3600 S",
    **kw: Any,
) -> spb.GetHistoricalBarsRequest:
    # Short periods: the simulator shares the test's event loop, and generating a day of
    # bars per request for a burst of 15 would hold up the sessions' heartbeats.
    request = spb.GetHistoricalBarsRequest(
        contract=tpb.Contract(con_id=con_id), duration=duration, bar_size=bar, **kw
    )
    if end:
        request.end_time.FromSeconds(end)
    return request


async def _broker(make_broker: Callable[..., Any]) -> Any:
    sim = SimConfig(port=0, current_time_min_interval=0, tick_interval=0, hist_pacing=SIM_RULES)
    return await make_broker(sim, history_rules=BROKER_RULES)


async def test_bars_oldest_first(make_broker: Callable[..., Any]) -> None:
    broker = await _broker(make_broker)
    answer = await broker.stub.GetHistoricalBars(bars_request(duration="1 D"), timeout=5)
    assert len(answer.bars) > 10
    times = [b.time.ToSeconds() for b in answer.bars]
    assert times == sorted(times)
    assert all(b.open and b.high and b.low and b.close for b in answer.bars)
    assert answer.start_time.ToSeconds() <= times[0]


async def test_identical_request_is_queued_or_refused_never_162(
    make_broker: Callable[..., Any],
) -> None:
    broker = await _broker(make_broker)
    await broker.stub.GetHistoricalBars(bars_request(), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await broker.stub.GetHistoricalBars(bars_request(), timeout=0.5)
    error = BrokerError.from_rpc_error(err.value)
    assert (error.code, error.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "PACING")
    assert error.retry_after is not None and 0.5 < error.retry_after <= 1.6
    # With a deadline long enough it waits for its turn instead.
    again = await broker.stub.GetHistoricalBars(bars_request(), timeout=5)
    assert again.bars
    assert broker.md.ib_errors[162] == 0


async def test_burst_of_one_contract_is_spread_never_162(make_broker: Callable[..., Any]) -> None:
    broker = await _broker(make_broker)
    base = 1_790_000_000
    answers = await asyncio.gather(
        *(
            broker.stub.GetHistoricalBars(bars_request(end=base + 60 * i), timeout=10)
            for i in range(14)
        ),
        broker.stub.GetHistoricalBars(bars_request(con_id=MSFT), timeout=10),
    )
    assert all(a.bars for a in answers)
    assert broker.md.ib_errors[162] == 0


async def test_bad_history_input(make_broker: Callable[..., Any]) -> None:
    broker = await _broker(make_broker)
    request = spb.GetHistoricalBarsRequest(duration="thirty days")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await broker.stub.GetHistoricalBars(request, timeout=5)
    error = BrokerError.from_rpc_error(err.value)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in error.field_violations} == {"contract", "duration", "bar_size"}
