"""Order-event and market-data watches run on the same resumable iterator: against a scripted
in-process TradingService they resume after the last sequence, through FINAL and a broken
stream, keeping every other field of the request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from broker_client import BrokerClient, WatchOptions
from broker_client.ibbroker.v1 import market_data_pb2, trading_pb2
from broker_client.ibbroker.v1 import trading_service_pb2 as tsvc
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as tsvc_grpc

FAST = WatchOptions(initial_backoff=0.01, max_backoff=0.02, stop_on_final=False)


class Scripted(tsvc_grpc.TradingServiceServicer):
    """Each opened stream plays the next script: ints are event sequences (negative: FINAL),
    tuples abort the stream with that status."""

    def __init__(self, streams: list[list[Any]]) -> None:
        self.streams = streams
        self.requests: list[Any] = []

    async def _play(
        self, request: Any, context: Any, event: Any, response: Any
    ) -> AsyncIterator[Any]:
        self.requests.append(request)
        for step in self.streams.pop(0) if self.streams else []:
            if isinstance(step, tuple):
                await context.abort(*step)
            yield response(event(step))

    async def WatchOrderEvents(self, request: Any, context: Any) -> AsyncIterator[Any]:
        def event(step: int) -> trading_pb2.OrderEvent:
            kind = (
                trading_pb2.ORDER_EVENT_KIND_FINAL
                if step < 0
                else trading_pb2.ORDER_EVENT_KIND_FILL
            )
            return trading_pb2.OrderEvent(sequence=abs(step), kind=kind)

        wrap = tsvc.WatchOrderEventsResponse
        async for response in self._play(request, context, event, lambda e: wrap(event=e)):
            yield response

    async def WatchMarketData(self, request: Any, context: Any) -> AsyncIterator[Any]:
        def event(step: int) -> market_data_pb2.MarketDataEvent:
            kind = (
                market_data_pb2.MARKET_DATA_EVENT_KIND_FINAL
                if step < 0
                else market_data_pb2.MARKET_DATA_EVENT_KIND_UPDATE
            )
            return market_data_pb2.MarketDataEvent(sequence=abs(step), kind=kind)

        wrap = tsvc.WatchMarketDataResponse
        async for response in self._play(request, context, event, lambda e: wrap(event=e)):
            yield response


async def serve(servicer: Scripted) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    tsvc_grpc.add_TradingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


async def take(events: AsyncIterator[Any], n: int) -> list[int]:
    async with asyncio.timeout(10):
        return [(await anext(events)).sequence for _ in range(n)]


async def test_order_events_resume_after_a_break_and_a_final() -> None:
    servicer = Scripted(  # type: ignore[abstract]  # the base answers the other calls
        [[3, 4, (grpc.StatusCode.UNAVAILABLE, "gone")], [5, -6], [7]]
    )
    server, address = await serve(servicer)
    try:
        async with BrokerClient(address) as client:
            events = client.watch_order_events("paper", "alice", all_owners=False, options=FAST)
            assert await take(events, 5) == [3, 4, 5, 6, 7]
            await events.aclose()
    finally:
        await server.stop(None)
    assert [r.resume_after_sequence for r in servicer.requests] == [0, 4, 6]
    assert {(r.gateway, r.owner) for r in servicer.requests} == {("paper", "alice")}


async def test_market_data_resumes_with_the_same_request() -> None:
    servicer = Scripted(  # type: ignore[abstract]
        [[10, (grpc.StatusCode.UNAVAILABLE, "gone")], [11, 12]]
    )
    server, address = await serve(servicer)
    request = tsvc.WatchMarketDataRequest(
        gateway="paper", contract=trading_pb2.Contract(symbol="AAPL", currency="USD"), owner="a"
    )
    try:
        async with BrokerClient(address) as client:
            events = client.watch_market_data(request, options=FAST)
            assert await take(events, 3) == [10, 11, 12]
            await events.aclose()
    finally:
        await server.stop(None)
    assert [r.resume_after_sequence for r in servicer.requests] == [0, 10]
    assert all(r.contract.symbol == "AAPL" and r.owner == "a" for r in servicer.requests)
    assert request.resume_after_sequence == 0  # the caller's request is not changed
