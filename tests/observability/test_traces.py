"""Traces: one SERVER span per RPC (unary and streaming) under the caller's W3C traceparent,
child spans for the IB requests made for it, exported over OTLP/gRPC to an in-process collector
stub; an unreachable collector never blocks an RPC; JSON log lines carry the trace's IDs."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from opentelemetry import trace
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lsvc
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lease_grpc
from broker_client.ibbroker.v1 import trading_service_pb2 as tspb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as trading_grpc
from broker_server.app import Broker, running_broker
from broker_server.config import TelemetryConfig
from broker_server.logs import JsonFormatter
from broker_server.telemetry import metric_points, tracer
from tests.conftest import free_port
from tests.observability.collector import Collector, running_collector
from tests.observability.helpers import observed_config, wait_connected
from tests.trading.served import Served, fast_trading_config, limit_order, simulator

OWNER = "strategy-traced"


def traceparent() -> tuple[str, str, str]:
    """A caller's trace ID, span ID and the ``traceparent`` header carrying them."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


@asynccontextmanager
async def connected_broker(tmp_path: Path, **telemetry: object) -> AsyncIterator[Broker]:
    cfg = observed_config(tmp_path / "store.sqlite3", **telemetry)
    async with running_broker(cfg, with_sim=True) as broker:
        await wait_connected(broker)
        yield broker


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    async with running_collector() as c:
        yield c


@pytest.fixture
async def traced(tmp_path: Path, collector: Collector) -> AsyncIterator[Broker]:
    async with connected_broker(
        tmp_path, otlp_endpoint=collector.address, span_export_interval=0.05
    ) as broker:
        yield broker


def of_trace(spans: list[Span], trace_id: str) -> list[Span]:
    return [s for s in spans if s.trace_id.hex() == trace_id]


async def test_lease_rpc_span_tree_reaches_the_collector(
    traced: Broker, collector: Collector
) -> None:
    trace_id, caller_span, header = traceparent()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        async with aio_channel(traced.address) as channel:
            leases = lease_grpc.LeaseServiceStub(channel)
            reply = await leases.AcquireLease(
                lsvc.AcquireLeaseRequest(
                    owner=OWNER,
                    ttl=Duration(seconds=30),
                    mode=lease_pb2.LEASE_MODE_PROXIED,
                    request_id="traced-1",
                ),
                metadata=(("traceparent", header),),
                timeout=15,
            )
            assert reply.lease.client_id > 0
            # A streaming RPC under another trace: its span ends when the caller cancels.
            watch_trace, watch_caller, watch_header = traceparent()
            watch = leases.WatchLeases(
                lsvc.WatchLeasesRequest(), metadata=(("traceparent", watch_header),)
            )
            await watch.read()
            watch.cancel()
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    records = [json.loads(line) for line in stream.getvalue().splitlines() if line]

    def complete(spans: list[Span]) -> bool:
        names = {s.name for s in of_trace(spans, trace_id)} | {
            s.name for s in of_trace(spans, watch_trace)
        }
        return {
            "ibbroker.v1.LeaseService/AcquireLease",
            "ib.open_session",
            "ibbroker.v1.LeaseService/WatchLeases",
        } <= names

    await collector.wait_for(complete)
    spans = of_trace(collector.spans, trace_id)
    [rpc] = [s for s in spans if s.name == "ibbroker.v1.LeaseService/AcquireLease"]
    assert rpc.parent_span_id.hex() == caller_span  # the caller's span is the parent
    assert rpc.kind == Span.SpanKind.SPAN_KIND_SERVER
    attributes = {a.key: a.value for a in rpc.attributes}
    assert attributes["rpc.method"].string_value == "AcquireLease"
    assert attributes["rpc.grpc.status_code"].int_value == 0
    [opened] = [s for s in spans if s.name == "ib.open_session"]
    assert opened.parent_span_id == rpc.span_id  # the IB request is a child of the RPC
    assert opened.kind == Span.SpanKind.SPAN_KIND_CLIENT
    assert {a.key: a.value for a in opened.attributes}["ib.client_id"].int_value == (
        reply.lease.client_id
    )
    [stream_span] = [
        s for s in of_trace(collector.spans, watch_trace) if s.name.endswith("/WatchLeases")
    ]
    assert stream_span.parent_span_id.hex() == watch_caller
    stream_attributes = {a.key: a.value for a in stream_span.attributes}
    assert stream_attributes["rpc.grpc.status_code"].int_value == 1  # CANCELLED by the caller

    # The JSON log lines written inside the RPC carry its trace and span IDs.
    inside = [r for r in records if r.get("trace_id") == trace_id]
    assert inside, records[-10:]
    span_ids = {s.span_id.hex() for s in spans}
    assert all(r["span_id"] in span_ids for r in inside)
    assert any(r["event"] == "lease_acquired" for r in inside), inside


async def test_unreachable_collector_never_blocks_an_rpc_and_drops_are_counted(
    tmp_path: Path,
) -> None:
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    calls = 40
    async with connected_broker(
        tmp_path,
        otlp_endpoint=dead,
        trace_sample_ratio=1.0,  # every call makes a span, so the queue overflows
        otlp_timeout=10.0,
        span_queue_size=4,
        span_batch_size=2,
        span_export_interval=0.05,
    ) as broker:
        async with aio_channel(broker.address) as channel:
            leases = lease_grpc.LeaseServiceStub(channel)
            for _ in range(calls):
                # Each call's deadline is far below the exporter's 10 s timeout: a call that
                # waited for the collector would fail with DEADLINE_EXCEEDED.
                await leases.ListLeases(lsvc.ListLeasesRequest(), timeout=3)
        dropped = sum(
            v
            for attrs, v in metric_points().get("ibbroker.trace.spans_dropped", [])
            if attrs.get("why") == "queue_full"
        )
        assert dropped >= calls - 4 - 2 * 2  # at most a queue and two batches in flight


async def test_without_an_exporter_spans_are_no_ops(tmp_path: Path) -> None:
    async with connected_broker(tmp_path) as broker:
        assert broker.observability is not None and broker.observability.tracing is None
        span = tracer().start_span("anything")
        assert not span.is_recording()
        assert span.get_span_context() == trace.INVALID_SPAN_CONTEXT


async def test_sampling_follows_the_caller_and_the_ratio(
    tmp_path: Path, collector: Collector
) -> None:
    async with connected_broker(
        tmp_path,
        otlp_endpoint=collector.address,
        span_export_interval=0.05,
        trace_sample_ratio=0.0,
    ) as broker:
        trace_id, caller_span, header = traceparent()
        async with aio_channel(broker.address) as channel:
            leases = lease_grpc.LeaseServiceStub(channel)
            for _ in range(5):  # no traceparent: ratio 0 traces none of them
                await leases.ListLeases(lsvc.ListLeasesRequest(), timeout=5)
            await leases.ListLeases(
                lsvc.ListLeasesRequest(), metadata=(("traceparent", header),), timeout=5
            )
        await collector.wait_for(lambda spans: bool(of_trace(spans, trace_id)))
        # Spans are exported in the order they end: the five earlier calls would be here.
        assert {s.trace_id.hex() for s in collector.spans} == {trace_id}
        [span] = collector.spans
        assert span.parent_span_id.hex() == caller_span


def tree(spans: list[Span], root: Span, depth: int = 0) -> list[str]:
    """The span tree under ``root``, one indented line per span (name and attributes)."""
    attributes = ", ".join(
        f"{a.key}={getattr(a.value, a.value.WhichOneof('value') or 'string_value')}"
        for a in root.attributes
    )
    lines = [f"{'  ' * depth}{root.name} [{Span.SpanKind.Name(root.kind)[10:]}] {attributes}"]
    for child in sorted(spans, key=lambda s: s.start_time_unix_nano):
        if child.parent_span_id == root.span_id:
            lines.extend(tree(spans, child, depth + 1))
    return lines


async def test_place_order_span_tree_under_the_caller(tmp_path: Path, collector: Collector) -> None:
    async with simulator() as sim:
        cfg = fast_trading_config(tmp_path / "orders.sqlite3", sim.port)
        cfg = dataclasses.replace(
            cfg,
            telemetry=TelemetryConfig(otlp_endpoint=collector.address, span_export_interval=0.05),
        )
        async with running_broker(cfg) as broker:
            await wait_connected(broker)
            async with aio_channel(broker.address) as channel:
                served = Served(
                    broker,
                    channel,
                    lease_grpc.LeaseServiceStub(channel),
                    trading_grpc.TradingServiceStub(channel),
                )
                lease = await served.lease(owner="alice")
                trace_id, caller_span, header = traceparent()
                key = uuid.uuid4().hex
                request = tspb.PlaceOrderRequest(
                    lease_id=lease.lease_id,
                    epoch=lease.epoch,
                    owner="alice",
                    idempotency_key=key,
                    single=limit_order(),
                )
                reply = await served.trading.PlaceOrder(
                    request, metadata=(("traceparent", header),), timeout=15
                )
                assert reply.order.order_id > 0 and reply.order.owner == "alice"
                cancel_trace, cancel_caller, cancel_header = traceparent()
                await served.trading.CancelOrder(
                    tspb.CancelOrderRequest(
                        lease_id=lease.lease_id,
                        epoch=lease.epoch,
                        owner="alice",
                        order=tspb.OrderSelector(idempotency_key=key),
                    ),
                    metadata=(("traceparent", cancel_header),),
                    timeout=15,
                )
            name = "ibbroker.v1.TradingService/PlaceOrder"

            def complete(spans: list[Span]) -> bool:
                placed = {s.name for s in of_trace(spans, trace_id)}
                cancelled = {s.name for s in of_trace(spans, cancel_trace)}
                return {name, "ib.req_contract_details", "ib.place_order"} <= placed and (
                    "ib.cancel_order" in cancelled
                )

            await collector.wait_for(complete)
    spans = of_trace(collector.spans, trace_id)
    [rpc] = [s for s in spans if s.name == name]
    assert rpc.parent_span_id.hex() == caller_span
    attributes = {a.key: a.value for a in rpc.attributes}
    assert attributes["rpc.grpc.status_code"].int_value == 0
    # The IB requests made for this call are its children: the contract lookup, then the order.
    [lookup] = [s for s in spans if s.name == "ib.req_contract_details"]
    [placed] = [s for s in spans if s.name == "ib.place_order"]
    for child in (lookup, placed):
        assert child.parent_span_id == rpc.span_id
        assert child.kind == Span.SpanKind.SPAN_KIND_CLIENT
    assert lookup.end_time_unix_nano <= placed.start_time_unix_nano
    placed_attributes = {a.key: a.value for a in placed.attributes}
    assert placed_attributes["ib.order_id"].int_value == reply.order.order_id
    assert placed_attributes["ib.client_id"].int_value == lease.client_id
    assert placed_attributes["ib.order_ref"].string_value == reply.order.order_ref
    cancel_spans = of_trace(collector.spans, cancel_trace)
    [cancel_rpc] = [s for s in cancel_spans if s.name.endswith("/CancelOrder")]
    assert cancel_rpc.parent_span_id.hex() == cancel_caller
    [cancelled] = [s for s in cancel_spans if s.name == "ib.cancel_order"]
    assert cancelled.parent_span_id == cancel_rpc.span_id
    print("\n".join(tree(spans, rpc)))  # the tree docs/observability.md shows (pytest -s)
