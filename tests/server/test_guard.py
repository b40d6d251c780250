"""The request-parsing guard covers every service the server hosts, also grpc's own."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import AsyncIterator

import grpc
import pytest

from broker_server.app import SERVICE_NAMES
from broker_server.config import ServerConfig
from broker_server.server import GrpcServer

REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"


@pytest.fixture
async def server() -> AsyncIterator[str]:
    grpc_server = GrpcServer(ServerConfig(listen="127.0.0.1:0"), SERVICE_NAMES)
    address = await grpc_server.start("127.0.0.1:0")
    try:
        yield address
    finally:
        await grpc_server.stop(0)


def malformed(rng: random.Random) -> bytes:
    """Bytes that are mostly not a valid message: random tags, truncations, bad UTF-8."""
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind == 1:  # a length-delimited string field with invalid UTF-8
        field = rng.choice([3, 4, 5, 6, 7])
        body = bytes([0xC3, 0x28, 0xFF]) * rng.randrange(1, 4)
        return bytes([(field << 3) | 2, len(body)]) + body
    if kind == 2:  # a length prefix longer than the message
        return bytes([(rng.randrange(1, 9) << 3) | 2, 0x7F]) + b"x"
    return bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])  # a field number out of range


async def test_a_thousand_malformed_reflection_and_health_requests_are_invalid_argument(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    # issue 9 finding 7: reflection answered UNKNOWN (and logged a traceback) to malformed input.
    rng = random.Random(7)
    codes: Counter[grpc.StatusCode] = Counter()
    caplog.set_level(logging.WARNING)
    async with grpc.aio.insecure_channel(server) as channel:
        reflect = channel.stream_stream(REFLECTION)
        for i in range(1_000):
            raw = malformed(rng)
            try:
                if i % 10 == 8:
                    await channel.unary_unary(HEALTH_CHECK)(raw, timeout=5)
                elif i % 10 == 9:
                    async for _ in channel.unary_stream(HEALTH_WATCH)(raw, timeout=5):
                        break
                else:
                    call = reflect(iter([raw]), timeout=5)
                    async for _ in call:
                        pass
                codes[grpc.StatusCode.OK] += 1
            except grpc.aio.AioRpcError as err:
                codes[err.code()] += 1
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}, codes
    assert codes[grpc.StatusCode.INVALID_ARGUMENT] > 500, codes
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, tracebacks[:3]
