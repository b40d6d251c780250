"""One server interceptor for RPC metrics and spans, for every handler shape.

OpenTelemetry's own ``grpc.aio`` server interceptor wraps a server-streaming handler in a way
that breaks handlers written with ``context.write`` (grpc's Health/Watch is one), so this one
wraps each shape itself, the way :class:`broker_server.server.MalformedRequestInterceptor` does:
a unary call, a coroutine that writes with ``context.write``, an async generator, and the client
streams.

Per call it records ``rpc.server.duration`` (seconds; attributes ``rpc.system``,
``rpc.service``, ``rpc.method``, ``rpc.grpc.status_code``, after OpenTelemetry's RPC semantic
conventions), keeps ``rpc.server.active_streams`` (streams open now, per method) and, when a
tracer is installed, runs the handler inside a SERVER span whose parent is the W3C
``traceparent`` the caller sent in its metadata. Labels come from the registered methods only
(an unknown method never reaches a handler), so their number is bounded.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import metrics as otel
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.status import Status, StatusCode

from broker_server.telemetry import tracer

_meter = otel.get_meter("ibbroker")
_duration = _meter.create_histogram(
    "rpc.server.duration",
    unit="s",
    description="Duration of inbound RPCs (a stream: until it ends), by method and status code.",
)
_active_streams = _meter.create_up_down_counter(
    "rpc.server.active_streams",
    unit="{stream}",
    description="Streaming RPCs open now, by method (the subscribers of each Watch stream).",
)
_PROPAGATOR = TraceContextTextMapPropagator()
_enabled = True


def instrument_rpcs(enabled: bool) -> None:
    """Switch the interceptor on or off for the process (``telemetry.instrument_rpcs``; off
    only to measure what it costs: the interceptor then hands every handler through as is)."""
    global _enabled
    _enabled = enabled


def _split(method: str) -> tuple[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return service, name


def _status_code(context: grpc.aio.ServicerContext, error: BaseException | None) -> int:
    """The call's final gRPC status code as a number (what ``rpc.grpc.status_code`` holds)."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return int(code.value[0])
    if isinstance(code, int):
        return code
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return int(grpc.StatusCode.CANCELLED.value[0])
    if error is not None:
        return int(grpc.StatusCode.UNKNOWN.value[0])
    return 0


class _Call:
    """What the calls of one method share: their labels, and how each is observed."""

    def __init__(self, method: str, streaming: bool) -> None:
        service, name = _split(method)
        self.method = method
        self.streaming = streaming
        self.labels = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        self._by_code: dict[int, dict[str, str | int]] = {}

    def labels_of(self, code: int) -> dict[str, str | int]:
        """The duration's attributes for status ``code`` (built once per method and code)."""
        labels = self._by_code.get(code)
        if labels is None:
            labels = self._by_code[code] = {**self.labels, _CODE_KEY: code}
        return labels

    def begin(self, context: grpc.aio.ServicerContext) -> _Active:
        """Start timing and the span (a child of the caller's ``traceparent``, if any)."""
        if self.streaming:
            _active_streams.add(1, self.labels)
        current = tracer()
        if isinstance(current, trace.NoOpTracer):  # no exporter: no span, no context work
            return _Active(self, context, None, None)
        carrier = {key: value for key, value in (context.invocation_metadata() or ())}
        parent = _PROPAGATOR.extract(carrier) if "traceparent" in carrier else None
        span = current.start_span(
            self.method.lstrip("/"),
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes=self.labels,
        )
        return _Active(self, context, span, trace.set_span_in_context(span, parent))


class _Active:
    """One call in progress: :meth:`step` runs handler code inside its span."""

    def __init__(
        self,
        call: _Call,
        context: grpc.aio.ServicerContext,
        span: trace.Span | None,
        ctx: otel_context.Context | None,
    ) -> None:
        self.call = call
        self.context = context
        self.span = span
        self.ctx = ctx
        self.started = time.perf_counter()

    @contextmanager
    def step(self) -> Iterator[None]:
        """The span is current for the code inside. Attached and detached around each step of
        a stream, never across a ``yield``: a stream can be closed from another context."""
        if self.ctx is None:
            yield
            return
        token = otel_context.attach(self.ctx)
        try:
            yield
        finally:
            otel_context.detach(token)

    def end(self, error: BaseException | None) -> None:
        """Record the duration by status code, close the span."""
        code = _status_code(self.context, error)
        labels = self.call.labels
        if self.call.streaming:
            _active_streams.add(-1, labels)
        _duration.record(time.perf_counter() - self.started, self.call.labels_of(code))
        span = self.span
        if span is None:
            return
        if span.is_recording():
            span.set_attribute(_CODE_KEY, code)
            if code != 0:
                span.set_status(Status(StatusCode.ERROR, _CODE_NAMES.get(code, str(code))))
        span.end()


_CODE_KEY = "rpc.grpc.status_code"
_CODE_NAMES = {int(c.value[0]): c.name for c in grpc.StatusCode}


class RpcTelemetryInterceptor(grpc.aio.ServerInterceptor):
    """Metrics and a span for every call; put it first so it sees every refusal too."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, bool], _Call] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or not _enabled:
            return handler
        method = handler_call_details.method or ""
        streaming = not handler.unary_unary
        key = (method, streaming)
        call = self._calls.get(key)
        if call is None:  # once per registered method: the set is bounded
            call = self._calls[key] = _Call(method, streaming)
        if handler.unary_unary:
            return _unary_unary(handler, call)
        if handler.unary_stream:
            return _unary_stream(handler, call)
        if handler.stream_unary:
            return _stream_unary(handler, call)
        if handler.stream_stream:
            return _stream_stream(handler, call)
        return handler


async def _run(call: _Call, context: grpc.aio.ServicerContext, work: Awaitable[Any]) -> Any:
    active = call.begin(context)
    error: BaseException | None = None
    try:
        with active.step():
            return await work
    except BaseException as err:
        error = err
        raise
    finally:
        active.end(error)


async def _iterate(
    call: _Call, context: grpc.aio.ServicerContext, items: AsyncIterator[Any]
) -> AsyncGenerator[Any, None]:
    active = call.begin(context)
    error: BaseException | None = None
    try:
        while True:
            with active.step():
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    break
            yield item
    except BaseException as err:
        error = err
        raise
    finally:
        closing = getattr(items, "aclose", None)
        if closing is not None:
            with active.step():
                await closing()
        active.end(error)


def _unary_unary(handler: grpc.RpcMethodHandler, call: _Call) -> grpc.RpcMethodHandler:
    inner = handler.unary_unary

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await _run(call, context, inner(request, context))

    return grpc.unary_unary_rpc_method_handler(
        unary, handler.request_deserializer, handler.response_serializer
    )


def _unary_stream(handler: grpc.RpcMethodHandler, call: _Call) -> grpc.RpcMethodHandler:
    inner = handler.unary_stream
    if not inspect.isasyncgenfunction(inner):
        # A coroutine that writes with context.write (grpc's Health/Watch).
        async def writer(request: Any, context: grpc.aio.ServicerContext) -> None:
            await _run(call, context, inner(request, context))

        return grpc.unary_stream_rpc_method_handler(
            writer, handler.request_deserializer, handler.response_serializer
        )

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async for item in _closing(_iterate(call, context, inner(request, context))):
            yield item

    return grpc.unary_stream_rpc_method_handler(
        stream, handler.request_deserializer, handler.response_serializer
    )


def _stream_unary(handler: grpc.RpcMethodHandler, call: _Call) -> grpc.RpcMethodHandler:
    inner = handler.stream_unary

    async def unary(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        return await _run(call, context, inner(requests, context))

    return grpc.stream_unary_rpc_method_handler(
        unary, handler.request_deserializer, handler.response_serializer
    )


def _stream_stream(handler: grpc.RpcMethodHandler, call: _Call) -> grpc.RpcMethodHandler:
    inner = handler.stream_stream
    if not inspect.isasyncgenfunction(inner):

        async def writer(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> None:
            await _run(call, context, inner(requests, context))

        return grpc.stream_stream_rpc_method_handler(
            writer, handler.request_deserializer, handler.response_serializer
        )

    async def stream(
        requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        async for item in _closing(_iterate(call, context, inner(requests, context))):
            yield item

    return grpc.stream_stream_rpc_method_handler(
        stream, handler.request_deserializer, handler.response_serializer
    )


async def _closing(items: AsyncGenerator[Any, None]) -> AsyncIterator[Any]:
    """Yield from ``items`` and close it however this ends (a cancelled stream too), so its
    ``finally`` (the duration, the span's end) runs now rather than at garbage collection."""
    try:
        async for item in items:
            yield item
    finally:
        await items.aclose()
