"""The telemetry interceptor builds a method's timed handler once (issue 9, finding 12), and
still times every call: a real grpc.aio server, the interceptor in front of a real handler."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from broker_server.observability.rpc import RpcTelemetryInterceptor
from broker_server.observability.rpc_stats import STATS

SERVICE = "test.CacheProbe"


class _Chain(grpc.aio.ServerInterceptor):
    """Below the telemetry: hands on the registered handler, or a fresh one per call."""

    def __init__(self) -> None:
        self.fresh = False

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if not self.fresh or handler is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            handler.unary_unary, handler.request_deserializer, handler.response_serializer
        )


async def test_the_timed_handler_is_built_once_and_every_call_is_timed() -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    async def refuse(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no")
        raise AssertionError("unreachable")

    telemetry, chain = RpcTelemetryInterceptor(), _Chain()
    server = grpc.aio.server(interceptors=[telemetry, chain])
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                SERVICE,
                {
                    "Echo": grpc.unary_unary_rpc_method_handler(echo),
                    "Refuse": grpc.unary_unary_rpc_method_handler(refuse),
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    ok = STATS.duration(SERVICE, "Echo", 0)
    refused = STATS.duration(SERVICE, "Refuse", grpc.StatusCode.FAILED_PRECONDITION.value[0])
    ok_before, refused_before = sum(ok.read()[0]), sum(refused.read()[0])
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(f"/{SERVICE}/Echo")
            for i in range(5):
                assert await call(b"x%d" % i, timeout=5) == b"x%d" % i
            [(below, timed)] = [
                v for k, v in telemetry._wrapped.entries.items() if k.endswith("/Echo")
            ]
            for _ in range(3):
                await call(b"y", timeout=5)
            assert telemetry._wrapped.entries[f"/{SERVICE}/Echo"][1] is timed  # reused, not rebuilt
            chain.fresh = True  # the chain below now hands on a new handler per call
            await call(b"z", timeout=5)
            # never the stale one
            assert telemetry._wrapped.entries[f"/{SERVICE}/Echo"][0] is not below
            refuse_call = channel.unary_unary(f"/{SERVICE}/Refuse")
            for _ in range(2):
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await refuse_call(b"", timeout=5)
                assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    finally:
        await server.stop(None)
    # Every call timed under its status code, cached handler or not.
    assert sum(ok.read()[0]) - ok_before == 9
    assert sum(refused.read()[0]) - refused_before == 2
