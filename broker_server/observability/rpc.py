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

The per-call cost is kept to what cannot be avoided (docs/observability.md, "What it costs"):
a method's timed handler is built once and cached (no handler or closure per call), the
series of a method are found once (:mod:`~broker_server.observability.rpc_stats`, not the
OpenTelemetry SDK, records them), and without a tracer a call makes no span, no context switch
and no generator: a clock read before, a status read and a histogram update after.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextvars import Token
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.trace.status import Status, StatusCode

from broker_server.observability.rpc_stats import STATS, Duration, Streams
from broker_server.services.handler_cache import HandlerCache
from broker_server.telemetry import tracer

_PROPAGATOR = TraceContextTextMapPropagator()
_NO_TRACER = trace.NoOpTracer
_CODE_KEY = "rpc.grpc.status_code"
_CODE_NAMES = {int(c.value[0]): c.name for c in grpc.StatusCode}
_CODE_NUMBERS = {c: int(c.value[0]) for c in grpc.StatusCode}
_CANCELLED = _CODE_NUMBERS[grpc.StatusCode.CANCELLED]
_UNKNOWN = _CODE_NUMBERS[grpc.StatusCode.UNKNOWN]
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
    if code is None:
        if error is None:
            return 0
        if isinstance(error, asyncio.CancelledError | GeneratorExit):
            return _CANCELLED
        return _UNKNOWN
    if isinstance(code, grpc.StatusCode):
        return _CODE_NUMBERS[code]
    return int(code)


class _Call:
    """What the calls of one method share: their series and span attributes, bound once."""

    def __init__(self, method: str, streaming: bool) -> None:
        service, name = _split(method)
        self.name = method.lstrip("/")
        self.service = service
        self.method = name
        self.streaming = streaming
        self.attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        self.ok = STATS.duration(service, name, 0)
        self.streams: Streams | None = STATS.streams(service, name) if streaming else None

    def duration(self, code: int) -> Duration:
        """The duration series of status ``code`` (OK is bound; others found once each)."""
        return self.ok if code == 0 else STATS.duration(self.service, self.method, code)

    def finish(
        self, context: grpc.aio.ServicerContext, error: BaseException | None, took: float
    ) -> int:
        """Record one call's duration by its status code; returns the code."""
        code = _status_code(context, error)
        self.duration(code).record(took)
        return code


class _Traced:
    """One call in progress with a tracer installed: its span, current around each step."""

    def __init__(
        self, call: _Call, context: grpc.aio.ServicerContext, current: trace.Tracer
    ) -> None:
        metadata = context.invocation_metadata() or ()
        carrier = {
            key: value for key, value in metadata if key == "traceparent" or key == "tracestate"
        }
        parent = _PROPAGATOR.extract(carrier) if carrier else None
        self.call = call
        self.context = context
        self.span = current.start_span(
            call.name, context=parent, kind=trace.SpanKind.SERVER, attributes=call.attributes
        )
        self.ctx = trace.set_span_in_context(self.span, parent)
        self.started = time.perf_counter()

    def attach(self) -> Token[otel_context.Context]:
        """Make the span current (detach with the token). Attached and detached around each
        step of a stream, never across a ``yield``: a stream can be closed from another context."""
        return otel_context.attach(self.ctx)

    def end(self, error: BaseException | None) -> None:
        """Record the duration by status code, close the span."""
        code = self.call.finish(self.context, error, time.perf_counter() - self.started)
        span = self.span
        if span.is_recording():
            span.set_attribute(_CODE_KEY, code)
            if code != 0:
                span.set_status(Status(StatusCode.ERROR, _CODE_NAMES.get(code, str(code))))
        span.end()


class RpcTelemetryInterceptor(grpc.aio.ServerInterceptor):
    """Metrics and a span for every call; put it first so it sees every refusal too.

    The timed handler of a method is built once and cached, as the auth interceptor and the
    request guard cache theirs (grpc.aio resolves the chain on every call): it is reused while
    the chain below hands on the same handler object, and rebuilt when it does not (a draining
    server's refusal, a per-call stream counter)."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, bool], _Call] = {}
        self._wrapped = HandlerCache()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or not _enabled:
            return handler
        method = handler_call_details.method or ""
        cached = self._wrapped.get(method, handler)
        if cached is not None:
            return cached  # the same handler below: its timed handler, built once
        wrapped = self._wrap(method, handler)
        return self._wrapped.put(method, handler, wrapped)

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        unary = handler.unary_unary
        key = (method, unary is None)
        call = self._calls.get(key)
        if call is None:  # once per registered method: the set is bounded
            call = self._calls[key] = _Call(method, unary is None)
        if unary is not None:
            return _unary_unary(handler, unary, call)
        if handler.unary_stream:
            return _unary_stream(handler, call)
        if handler.stream_unary:
            return _stream_unary(handler, call)
        if handler.stream_stream:
            return _stream_stream(handler, call)
        return handler


async def _run(call: _Call, context: grpc.aio.ServicerContext, work: Awaitable[Any]) -> Any:
    """Await ``work`` (a unary handler, or a stream that writes with ``context.write``),
    timed, in its span when a tracer is installed."""
    current = tracer()
    if isinstance(current, _NO_TRACER):
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await work
        except BaseException as err:
            error = err
            raise
        finally:
            call.finish(context, error, time.perf_counter() - started)
    return await _run_traced(call, context, work, current)


async def _run_traced(
    call: _Call, context: grpc.aio.ServicerContext, work: Awaitable[Any], current: trace.Tracer
) -> Any:
    active = _Traced(call, context, current)
    error: BaseException | None = None
    token = active.attach()
    try:
        return await work
    except BaseException as err:
        error = err
        raise
    finally:
        otel_context.detach(token)
        active.end(error)


async def _run_stream(call: _Call, context: grpc.aio.ServicerContext, work: Awaitable[Any]) -> Any:
    """:func:`_run` for a stream that writes with ``context.write``: counted as open."""
    streams = call.streams
    assert streams is not None
    streams.add(1)
    try:
        return await _run(call, context, work)
    finally:
        streams.add(-1)


async def _iterate(
    call: _Call, context: grpc.aio.ServicerContext, items: AsyncIterator[Any]
) -> AsyncGenerator[Any, None]:
    """Yield a streaming handler's items, timed and counted as open, each step in the span."""
    streams = call.streams
    assert streams is not None
    streams.add(1)
    current = tracer()
    active = None if isinstance(current, _NO_TRACER) else _Traced(call, context, current)
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        while True:
            token = active.attach() if active is not None else None
            try:
                item = await anext(items)
            except StopAsyncIteration:
                break
            finally:
                if token is not None:
                    otel_context.detach(token)
            yield item
    except BaseException as err:
        error = err
        raise
    finally:
        closing = getattr(items, "aclose", None)
        token = active.attach() if active is not None and closing is not None else None
        try:
            if closing is not None:
                await closing()
        finally:
            if token is not None:
                otel_context.detach(token)
            streams.add(-1)
            if active is not None:
                active.end(error)
            else:
                call.finish(context, error, time.perf_counter() - started)


def _unary_unary(
    handler: grpc.RpcMethodHandler, inner: Callable[..., Awaitable[Any]], call: _Call
) -> grpc.RpcMethodHandler:
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        # _run inlined for the no-tracer case: this is the path of every unary call, and it
        # makes no helper coroutine.
        current = tracer()
        if not isinstance(current, _NO_TRACER):
            return await _run_traced(call, context, inner(request, context), current)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await inner(request, context)
        except BaseException as err:
            error = err
            raise
        finally:
            call.finish(context, error, time.perf_counter() - started)

    return grpc.unary_unary_rpc_method_handler(
        unary, handler.request_deserializer, handler.response_serializer
    )


def _unary_stream(handler: grpc.RpcMethodHandler, call: _Call) -> grpc.RpcMethodHandler:
    inner = handler.unary_stream
    if not inspect.isasyncgenfunction(inner):
        # A coroutine that writes with context.write (grpc's Health/Watch).
        async def writer(request: Any, context: grpc.aio.ServicerContext) -> None:
            await _run_stream(call, context, inner(request, context))

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
        return await _run_stream(call, context, inner(requests, context))

    return grpc.stream_unary_rpc_method_handler(
        unary, handler.request_deserializer, handler.response_serializer
    )


def _stream_stream(handler: grpc.RpcMethodHandler, call: _Call) -> grpc.RpcMethodHandler:
    inner = handler.stream_stream
    if not inspect.isasyncgenfunction(inner):

        async def writer(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> None:
            await _run_stream(call, context, inner(requests, context))

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
