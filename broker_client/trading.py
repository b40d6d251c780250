"""Watch the broker's order events and market data, resuming across broker restarts.

Both run on the one resumable iterator of :mod:`broker_client.watch` (sequence numbers,
resume after the last sequence seen, FINAL on shutdown, backoff), with the same
:class:`~broker_client.watch.WatchOptions`.

Example::

    async for event in watch_order_events(channel, gateway="paper", owner="strategy-a"):
        print(event.sequence, event.kind)

    request = WatchMarketDataRequest(gateway="paper", contract=Contract(symbol="AAPL", ...))
    async for event in watch_market_data(channel, request):
        ...
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from broker_client.ibbroker.v1 import market_data_pb2, trading_pb2
from broker_client.ibbroker.v1 import trading_service_pb2 as tsvc
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as tsvc_grpc
from broker_client.watch import WatchOptions, watch_rpc


def _stub(target: Any) -> Any:
    if hasattr(target, "WatchOrderEvents"):
        return target
    return tsvc_grpc.TradingServiceStub(target)


def watch_order_events(
    target: Any,
    gateway: str = "",
    owner: str = "",
    *,
    all_owners: bool = False,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[trading_pb2.OrderEvent, None]:
    """Order events of ``gateway`` and ``owner`` (``all_owners`` for every owner's), across
    broker restarts. ``target`` is a ``grpc.aio.Channel`` or a ``TradingServiceStub``;
    ``options`` (or its field names as keywords) as for every watch."""
    stub = _stub(target)
    return watch_rpc(
        stub.WatchOrderEvents,
        lambda after: tsvc.WatchOrderEventsRequest(
            gateway=gateway, owner=owner, all_owners=all_owners, resume_after_sequence=after
        ),
        trading_pb2.ORDER_EVENT_KIND_FINAL,
        (options or WatchOptions()).with_overrides(**overrides),
    )


def watch_market_data(
    target: Any,
    request: tsvc.WatchMarketDataRequest,
    *,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[market_data_pb2.MarketDataEvent, None]:
    """Market-data events for ``request`` (gateway, contract, fields, ...), across broker
    restarts: each reopened stream is ``request`` with ``resume_after_sequence`` set."""
    stub = _stub(target)

    def resume(after: int) -> tsvc.WatchMarketDataRequest:
        again = tsvc.WatchMarketDataRequest()
        again.CopyFrom(request)
        again.resume_after_sequence = after
        return again

    opts = (options or WatchOptions()).with_overrides(**overrides)
    if request.resume_after_sequence and not opts.resume_after_sequence:
        opts = opts.with_overrides(resume_after_sequence=request.resume_after_sequence)
    return watch_rpc(
        stub.WatchMarketData, resume, market_data_pb2.MARKET_DATA_EVENT_KIND_FINAL, opts
    )


__all__ = ["watch_market_data", "watch_order_events"]
