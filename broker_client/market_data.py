"""Market data through the broker: a resumable quote stream, the lines in use, historical bars.

Async::

    async with market_data_channel("127.0.0.1:50051") as channel:
        async for event in watch_market_data(channel, 265598, owner="momentum"):
            if event.kind == GAP:
                ...  # ticks may be missing between event.gap_start and event.gap_end
            print(event.sequence, event.quote.bid, event.quote.ask, event.conflated_updates)

Blocking (plain scripts)::

    with watch_market_data_sync("127.0.0.1:50051", 265598) as events:
        for event in events:
            print(event.quote.last)

The blocking form is a :class:`~broker_client.sync_watch.SyncWatch` over the async iterator
(run on its own event-loop thread, with the same resume and backoff code), on a market-data
channel it opens to the address (``tls`` and ``token`` as for every channel of the client).

The stream starts with a SNAPSHOT, then UPDATEs (``changed`` fields, ``conflated_updates`` when
the reader was slower than the ticks), a GAP then a fresh SNAPSHOT after the broker healed the
line, and FINAL at broker shutdown. When the stream breaks (UNAVAILABLE, or after FINAL) it is
reopened with backoff after the last sequence: the broker does not keep market data history, so
a resumed stream gets a GAP (since when events may be missing) and a fresh SNAPSHOT. Errors no
retry fixes raise :class:`~broker_client.errors.BrokerError` (for example
``MARKET_DATA_LINES_EXHAUSTED``, ``SUBSCRIBER_TOO_SLOW``, ``CONTRACT_NOT_FOUND``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from datetime import datetime
from typing import Any

import grpc

from broker_client.auth import TLSConfig, aio_token_interceptors
from broker_client.channel import channel_options
from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
from broker_client.ibbroker.v1 import trading_pb2 as tpb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
from broker_client.sync_watch import SyncWatch
from broker_client.watch import WatchOptions, _options, watch_rpc

SNAPSHOT = md_pb.MARKET_DATA_EVENT_KIND_SNAPSHOT
UPDATE = md_pb.MARKET_DATA_EVENT_KIND_UPDATE
BAR = md_pb.MARKET_DATA_EVENT_KIND_BAR
GAP = md_pb.MARKET_DATA_EVENT_KIND_GAP
FINAL = md_pb.MARKET_DATA_EVENT_KIND_FINAL


STREAM_WINDOW_BYTES = 2048
"""Receive window per stream of a market-data channel: about 20 events. A reader that falls
behind then holds back the broker's writes at once, and the broker conflates (the latest value
per field, counted) instead of queueing seconds of stale ticks in gRPC's buffers (the default
window is 64 KiB and grows to megabytes: at 30 events/s read, 64 KiB is 20 s of backlog)."""


def market_data_channel_options() -> list[tuple[str, int]]:
    """Channel arguments for market data streams: the broker's options, a small fixed
    per-stream receive window (no BDP probing)."""
    return [
        *channel_options(),
        ("grpc.http2.bdp_probe", 0),
        ("grpc.http2.lookahead_bytes", STREAM_WINDOW_BYTES),
    ]


def market_data_channel(
    target: str, *, tls: TLSConfig | None = None, token: str | None = None
) -> grpc.aio.Channel:
    """A ``grpc.aio`` channel to ``target`` for market data (see :data:`STREAM_WINDOW_BYTES`):
    plaintext, or TLS with ``tls``; ``token`` is sent as ``authorization: Bearer``."""
    interceptors = aio_token_interceptors(token)
    if tls is not None:
        return grpc.aio.secure_channel(
            target,
            tls.credentials(),
            options=[*market_data_channel_options(), *tls.options()],
            interceptors=interceptors,
        )
    return grpc.aio.insecure_channel(
        target, options=market_data_channel_options(), interceptors=interceptors
    )


def _contract(contract: tpb.Contract | int) -> tpb.Contract:
    return tpb.Contract(con_id=contract) if isinstance(contract, int) else contract


def _watch_request(
    contract: tpb.Contract | int,
    gateway: str,
    fields: Iterable[md_pb.MarketDataField.ValueType],
    market_data_type: md_pb.MarketDataType.ValueType,
    owner: str,
) -> spb.WatchMarketDataRequest:
    return spb.WatchMarketDataRequest(
        gateway=gateway,
        contract=_contract(contract),
        fields=list(fields),
        market_data_type=market_data_type,
        owner=owner,
    )


def watch_market_data(
    channel: grpc.aio.Channel,
    contract: tpb.Contract | int,
    *,
    gateway: str = "",
    fields: Iterable[md_pb.MarketDataField.ValueType] = (),
    market_data_type: md_pb.MarketDataType.ValueType = md_pb.MARKET_DATA_TYPE_UNSPECIFIED,
    owner: str = "",
    options: WatchOptions | None = None,
    **overrides: Any,
) -> AsyncGenerator[md_pb.MarketDataEvent, None]:
    """The market data events of one instrument (a ``Contract`` or a con_id), resumed across
    broker restarts; ``options`` (or its names as keywords) as for every watch."""
    stub = spb_grpc.TradingServiceStub(channel)
    base = _watch_request(contract, gateway, fields, market_data_type, owner)

    def request(after: int) -> spb.WatchMarketDataRequest:
        out = spb.WatchMarketDataRequest()
        out.CopyFrom(base)
        out.resume_after_sequence = after
        return out

    return watch_rpc(stub.WatchMarketData, request, FINAL, _options(options, overrides))


def watch_market_data_sync(
    target: str,
    contract: tpb.Contract | int,
    *,
    gateway: str = "",
    fields: Iterable[md_pb.MarketDataField.ValueType] = (),
    market_data_type: md_pb.MarketDataType.ValueType = md_pb.MARKET_DATA_TYPE_UNSPECIFIED,
    owner: str = "",
    tls: TLSConfig | None = None,
    token: str | None = None,
    options: WatchOptions | None = None,
    **overrides: Any,
) -> SyncWatch[md_pb.MarketDataEvent]:
    """The blocking twin of :func:`watch_market_data`: a
    :class:`~broker_client.sync_watch.SyncWatch` (iterate it; ``close()`` it or use it in a
    ``with`` block) over the async watch, on a :func:`market_data_channel` to ``target``
    (``"host:port"``; ``tls``, ``token`` as there) that its thread opens and closes."""
    if not isinstance(target, str):
        raise TypeError(
            "watch_market_data_sync takes the broker's address (host:port), not a channel: "
            "it opens its own market-data channel on the watch's thread"
        )
    opts = _options(options, overrides)  # a misspelt option raises here, in the caller

    def make(channel: grpc.aio.Channel) -> AsyncGenerator[md_pb.MarketDataEvent, None]:
        return watch_market_data(
            channel,
            contract,
            gateway=gateway,
            fields=fields,
            market_data_type=market_data_type,
            owner=owner,
            options=opts,
        )

    return SyncWatch(lambda: market_data_channel(target, tls=tls, token=token), make)


async def get_market_data_lines(
    channel: grpc.aio.Channel,
    gateway: str = "",
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 (the gRPC deadline)
) -> spb.GetMarketDataLinesResponse:
    """The gateway's IB lines, their subscribers and the budget."""
    stub = spb_grpc.TradingServiceStub(channel)
    try:
        response: spb.GetMarketDataLinesResponse = await stub.GetMarketDataLines(
            spb.GetMarketDataLinesRequest(gateway=gateway), timeout=timeout
        )
    except grpc.RpcError as err:
        raise BrokerError.from_rpc_error(err) from err
    return response


async def get_historical_bars(
    channel: grpc.aio.Channel,
    contract: tpb.Contract | int,
    *,
    duration: str,
    bar_size: md_pb.BarSize.ValueType,
    what_to_show: md_pb.WhatToShow.ValueType = md_pb.WHAT_TO_SHOW_UNSPECIFIED,
    use_rth: bool = False,
    end_time: datetime | None = None,
    gateway: str = "",
    timeout: float = 30.0,  # noqa: ASYNC109 (the gRPC deadline, also the queueing bound)
) -> spb.GetHistoricalBarsResponse:
    """Historical bars; the broker queues the request within ``timeout`` to keep IB's pacing
    rules, or raises :class:`~broker_client.errors.PacingError` with ``retry_after``."""
    request = spb.GetHistoricalBarsRequest(
        gateway=gateway,
        contract=_contract(contract),
        duration=duration,
        bar_size=bar_size,
        what_to_show=what_to_show,
        use_rth=use_rth,
    )
    if end_time is not None:
        request.end_time.FromDatetime(end_time)
    stub = spb_grpc.TradingServiceStub(channel)
    try:
        response: spb.GetHistoricalBarsResponse = await stub.GetHistoricalBars(
            request, timeout=timeout
        )
    except grpc.RpcError as err:
        raise BrokerError.from_rpc_error(err) from err
    return response


__all__ = [
    "BAR",
    "FINAL",
    "GAP",
    "SNAPSHOT",
    "UPDATE",
    "get_historical_bars",
    "get_market_data_lines",
    "market_data_channel",
    "market_data_channel_options",
    "watch_market_data",
    "watch_market_data_sync",
]
