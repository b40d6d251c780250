"""An in-process OTLP trace collector: opentelemetry-proto's TraceService on a grpc.aio server
on 127.0.0.1:0, keeping every span it receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as ts_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class Collector(ts_grpc.TraceServiceServicer):
    """Keeps the spans of every export; :meth:`wait_for` waits on them with a bound."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.exports = 0
        self._changed = asyncio.Condition()
        self.address = ""

    async def Export(
        self, request: ts.ExportTraceServiceRequest, context: grpc.aio.ServicerContext
    ) -> ts.ExportTraceServiceResponse:
        async with self._changed:
            self.exports += 1
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    self.spans.extend(scope.spans)
            self._changed.notify_all()
        return ts.ExportTraceServiceResponse()

    async def wait_for(self, test: Callable[[list[Span]], bool], seconds: float = 15.0) -> None:
        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(lambda: test(self.spans))


@asynccontextmanager
async def running_collector() -> AsyncIterator[Collector]:
    collector = Collector()
    server = grpc.aio.server()
    ts_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    collector.address = f"127.0.0.1:{port}"
    try:
        yield collector
    finally:
        await server.stop(0)
