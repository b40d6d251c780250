"""The trading series of /metrics move with real orders and real market data: a broker on the
simulator, orders placed and market data watched over gRPC, /metrics scraped over HTTP and
parsed with prometheus_client's parser."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from broker_client.channel import aio_channel
from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_pb2 as tpb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as trading_grpc
from broker_client.market_data import market_data_channel
from broker_server.app import Broker, running_broker
from broker_server.config import MarketDataConfig, TelemetryConfig
from broker_server.sim.rules import RejectRule
from broker_server.sim.server import SimServer
from tests.observability.helpers import Samples, scrape, scrape_until, total, value
from tests.trading.served import Served, fast_trading_config, limit_order, market, simulator

AAPL = 265598
OWNER = "strategy-metrics-owner"
K = md_pb.MarketDataEventKind
SNAPSHOT = K.Value("MARKET_DATA_EVENT_KIND_SNAPSHOT")


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    # AAPL ticks 200 times a second: a reader that stops is conflated, then ended, fast.
    async with simulator(tick_interval=0, tick_rates=((AAPL, 200.0),)) as s:
        yield s


@pytest.fixture
async def broker(tmp_path: Path, sim: SimServer) -> AsyncIterator[Broker]:
    cfg = fast_trading_config(tmp_path / "store.sqlite3", sim.port)
    cfg = dataclasses.replace(
        cfg,
        telemetry=TelemetryConfig(metrics_listen="127.0.0.1:0"),
        market_data=MarketDataConfig(
            line_budget=7, linger=0.2, too_slow_after=0.5, snapshot_timeout=0.5
        ),
    )
    async with running_broker(cfg) as b:
        await b.connections.connect(timeout=10)
        yield b


def watch(stub: trading_grpc.TradingServiceStub, owner: str) -> Any:
    return stub.WatchMarketData(
        spb.WatchMarketDataRequest(contract=tpb.Contract(con_id=AAPL), owner=owner)
    )


async def first_snapshot(stream: Any) -> None:
    async with asyncio.timeout(10):
        while (await stream.read()).event.kind != SNAPSHOT:
            pass


def no_private_labels(samples: Samples, *secrets: str) -> None:
    for (_name, labels), _v in samples.items():
        for _key, text in labels:
            assert not any(s in text for s in secrets), labels


async def test_order_series_move_with_placed_filled_and_rejected_orders(
    broker: Broker, sim: SimServer
) -> None:
    start = await scrape(broker)
    for lane in ("CANCEL", "ORDER", "READ"):
        assert value(start, "ibbroker_pacing_queue_depth", lane=lane) == 0
    assert value(start, "ibbroker_orders_by_state", state="ACKNOWLEDGED") == 0

    def delta(after: Samples, name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(start, name, **labels)

    async with aio_channel(broker.address) as channel:
        served = Served(
            broker,
            channel,
            lease_grpc.LeaseServiceStub(channel),
            trading_grpc.TradingServiceStub(channel),
        )
        lease = await served.lease(owner=OWNER)
        working = [
            await served.place(lease, limit_order("100"), owner=OWNER, key=f"work-{i}")
            for i in range(2)
        ]
        filled = await served.place(lease, market("3"), owner=OWNER, key="fill-1")
        sim.rules.add_reject(RejectRule(reason="insufficient margin", symbol="AAPL", times=1))
        rejected = await served.place(lease, limit_order("1.00"), owner=OWNER, key="reject-1")
        assert rejected.order.state == tpb.ORDER_STATE_REJECTED
        await served.trading.CancelOrder(
            spb.CancelOrderRequest(
                lease_id=lease.lease_id,
                epoch=lease.epoch,
                owner=OWNER,
                order=spb.OrderSelector(idempotency_key="work-1"),
            ),
            timeout=10,
        )

    after = await scrape_until(
        broker,
        lambda s: (
            value(s, "ibbroker_orders_by_state", state="FILLED") == 1
            and value(s, "ibbroker_orders_by_state", state="CANCELLED") == 1
        ),
    )
    assert value(after, "ibbroker_orders_by_state", state="ACKNOWLEDGED") == 1  # work-0
    assert value(after, "ibbroker_orders_by_state", state="REJECTED") == 1
    assert sum(v for (n, _), v in after.items() if n == "ibbroker_orders_by_state") == 4
    assert delta(after, "ibbroker_orders_submitted_total", gateway="paper") == 4
    assert delta(after, "ibbroker_orders_rejected_total", gateway="paper") == 1
    assert delta(after, "ibbroker_orders_fills_total", gateway="paper") >= 1
    # Every order waited its turn in the ORDER lane (most at once: the 0 s bucket), the cancel
    # in the CANCEL lane, the contract lookup in the READ lane.
    wait = "ibbroker_pacing_wait_seconds_count"
    assert delta(after, wait, lane="ORDER") == 4
    assert delta(after, wait, lane="CANCEL") == 1
    assert delta(after, wait, lane="READ") >= 1
    for lane in ("CANCEL", "ORDER", "READ"):
        assert value(after, "ibbroker_pacing_queue_depth", lane=lane) == 0
    refs = [w.order.order_ref for w in working] + [filled.order.order_ref]
    no_private_labels(after, OWNER, lease.lease_id, *refs)


async def test_market_data_series_move_with_subscribers_and_a_slow_one(broker: Broker) -> None:
    start = await scrape(broker)
    assert value(start, "ibbroker_market_data_lines_in_use", gateway="paper") == 0
    assert value(start, "ibbroker_market_data_line_budget", gateway="paper") == 7
    conflated_before = total(start, "ibbroker_market_data_conflated_total", gateway="paper")
    # The runtime's own up-down counters are process-wide: compared with the first scrape.
    subscribers = "ibbroker_market_data_subscribers"
    subs_before = total(start, subscribers, gateway="paper")
    lines_before = total(start, "ibbroker_market_data_lines", gateway="paper")
    ended = "ibbroker_market_data_subscribers_ended_total"
    slow_before = total(start, ended, reason="SUBSCRIBER_TOO_SLOW")

    async with aio_channel(broker.address) as channel:
        stub = trading_grpc.TradingServiceStub(channel)
        reader = watch(stub, "reader")
        await first_snapshot(reader)
        # The stalled client: its own channel with a small per-stream window, so the broker's
        # writes to it block soon and its outbox conflates, then it is ended.
        async with market_data_channel(broker.address) as stalled_channel:
            stalled = watch(trading_grpc.TradingServiceStub(stalled_channel), "stalled")
            await first_snapshot(stalled)
            both = await scrape_until(
                broker,
                lambda s: total(s, subscribers, gateway="paper") - subs_before == 2,
            )
            assert value(both, "ibbroker_market_data_lines_in_use", gateway="paper") == 1
            assert total(both, "ibbroker_market_data_lines", gateway="paper") - lines_before == 1

            async def read_reader() -> None:
                while await reader.read() is not grpc.aio.EOF:
                    pass

            reading = asyncio.create_task(read_reader())
            # The slow client reads in bursts after pauses shorter than too_slow_after: the
            # updates that arrived while its window was full come merged, and counted.
            seen = 0
            for _ in range(3):
                await asyncio.sleep(0.3)
                async with asyncio.timeout(10):
                    for _ in range(30):
                        response = await stalled.read()
                        seen += response.event.conflated_updates
            assert seen > 0
            try:
                # Then it reads nothing more; the broker ends it (0.5 s unread).
                ended_scrape = await scrape_until(
                    broker,
                    lambda s: (
                        total(s, ended, reason="SUBSCRIBER_TOO_SLOW") - slow_before == 1
                        and total(s, subscribers, gateway="paper") - subs_before == 1
                    ),
                    seconds=30,
                )
                # What it finally reads: what was buffered, then the broker's verdict.
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    async with asyncio.timeout(30):
                        while await stalled.read() is not grpc.aio.EOF:
                            pass
                assert BrokerError.from_rpc_error(err.value).reason == "SUBSCRIBER_TOO_SLOW"
            finally:
                reading.cancel()
                reader.cancel()
    conflated = total(ended_scrape, "ibbroker_market_data_conflated_total", gateway="paper")
    assert conflated - conflated_before >= seen  # the slow reader's merged updates
    # Both left: the line lingers 0.2 s, then is cancelled at IB.
    gone = await scrape_until(
        broker,
        lambda s: value(s, "ibbroker_market_data_lines_in_use", gateway="paper") == 0,
    )
    assert total(gone, subscribers, gateway="paper") == subs_before
    assert total(gone, "ibbroker_market_data_conflated_total", gateway="paper") >= conflated
