"""Run a gRPC method handler of any shape behind an admission step, with the admitted
:class:`~broker_server.services.principal.Principal` in the context for the rest of the call.

The wrapped handler is built once per method (the auth interceptor caches it) and reads
everything per call from the call's context: a unary call makes no closure, lambda or handler.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from broker_server.services.principal import CURRENT, Principal

Enter = Callable[[grpc.aio.ServicerContext], Awaitable[Principal]]
Leave = Callable[[grpc.aio.ServicerContext, Principal, bool], None]


def wrap_handler(handler: grpc.RpcMethodHandler, enter: Enter, leave: Leave | None) -> Any:
    """``handler`` run after ``enter`` (which admits the call or aborts it), with the
    principal in the context variable, and ``leave`` (when given) told whether the call
    succeeded."""

    async def run(context: grpc.aio.ServicerContext, call: Callable[[], Awaitable[Any]]) -> Any:
        principal = await enter(context)
        reset = CURRENT.set(principal)
        ok = False
        try:
            result = await call()
            ok = True
            return result
        finally:
            CURRENT.reset(reset)
            if leave is not None:
                leave(context, principal, ok)

    async def stream(
        context: grpc.aio.ServicerContext, items: Callable[[], AsyncIterator[Any]]
    ) -> AsyncIterator[Any]:
        principal = await enter(context)
        reset = CURRENT.set(principal)
        ok = False
        try:
            async for item in items():
                yield item
            ok = True
        finally:
            try:
                CURRENT.reset(reset)
            except ValueError:
                # A cancelled stream's generator is closed by the loop's finaliser, in another
                # context than the one the principal was set in; that context is gone anyway.
                pass
            if leave is not None:
                leave(context, principal, ok)

    des, ser = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary:
        uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            # Inline (no helper coroutine): this is the path of every unary call.
            principal = await enter(context)
            reset = CURRENT.set(principal)
            ok = False
            try:
                result = await uu(request, context)
                ok = True
                return result
            finally:
                CURRENT.reset(reset)
                if leave is not None:
                    leave(context, principal, ok)

        return grpc.unary_unary_rpc_method_handler(unary_unary, des, ser)
    if handler.unary_stream:
        us = handler.unary_stream
        if not inspect.isasyncgenfunction(us):

            async def unary_writer(request: Any, context: grpc.aio.ServicerContext) -> None:
                await run(context, lambda: us(request, context))

            return grpc.unary_stream_rpc_method_handler(unary_writer, des, ser)

        async def unary_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            async for item in stream(context, lambda: us(request, context)):
                yield item

        return grpc.unary_stream_rpc_method_handler(unary_stream, des, ser)
    if handler.stream_unary:
        su = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            return await run(context, lambda: su(requests, context))

        return grpc.stream_unary_rpc_method_handler(stream_unary, des, ser)
    ss = handler.stream_stream
    if not inspect.isasyncgenfunction(ss):

        async def bidi_writer(requests: Any, context: grpc.aio.ServicerContext) -> None:
            await run(context, lambda: ss(requests, context))

        return grpc.stream_stream_rpc_method_handler(bidi_writer, des, ser)

    async def bidi(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        async for item in stream(context, lambda: ss(requests, context)):
            yield item

    return grpc.stream_stream_rpc_method_handler(bidi, des, ser)
