"""Typed errors, deadlines and the read-only retry of ``BrokerClient``, against an in-process
``grpc.aio`` server on 127.0.0.1:0 whose answers the test scripts (rich ``google.rpc.Status``
with ErrorInfo / RetryInfo / BadRequest, as the broker sends them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from broker_client import (
    BreakerOpenError,
    BrokerClient,
    BrokerError,
    BrokerUnavailableError,
    ClientIdExhaustedError,
    DeadlineExceededError,
    GatewayError,
    InvalidArgumentError,
    LeaseError,
    LeaseStaleEpochError,
    RetryPolicy,
)
from broker_client.errors import BY_REASON
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_client.ibbroker.v1 import errors_pb2
from tests.conftest import free_port


def rich(code: grpc.StatusCode, reason: str = "", retry: float | None = None) -> Any:
    """A ``grpc.Status`` carrying the broker's details."""
    details = []
    if reason:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="ibbroker.v1"))
        details.append(info)
    if retry is not None:
        delay = any_pb2.Any()
        hint = error_details_pb2.RetryInfo()
        hint.retry_delay.FromMilliseconds(int(retry * 1000))
        delay.Pack(hint)
        details.append(delay)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field="gateway", description="x")
                ]
            )
        )
        details.append(bad)
    return rpc_status.to_status(
        status_pb2.Status(code=getattr(code_pb2, code.name), message="scripted", details=details)
    )


@dataclass
class Scripted(svc_grpc.ConnectionServiceServicer):
    """Answers each call with the next scripted status (None: a real answer)."""

    script: list[Any] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    hang: asyncio.Event = field(default_factory=asyncio.Event)

    async def _answer(self, name: str, context: Any, reply: Any) -> Any:
        self.calls.append(name)
        status = self.script.pop(0) if self.script else None
        if status == "hang":
            await self.hang.wait()
        elif status is not None:
            await context.abort_with_status(status)
        return reply

    async def GetConnectionState(self, request: Any, context: Any) -> Any:
        return await self._answer(
            "GetConnectionState",
            context,
            svc.GetConnectionStateResponse(gateways=[pb.GatewayStatus(gateway="paper")]),
        )

    async def Reconnect(self, request: Any, context: Any) -> Any:
        return await self._answer("Reconnect", context, svc.ReconnectResponse())


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[Scripted, str]]:
    servicer = Scripted()  # type: ignore[abstract]  # the base answers UNIMPLEMENTED for the rest
    server = grpc.aio.server()
    svc_grpc.add_ConnectionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield servicer, f"127.0.0.1:{port}"
    finally:
        servicer.hang.set()
        await server.stop(None)


FAST = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)


async def test_each_reason_becomes_its_exception_class(scripted: tuple[Scripted, str]) -> None:
    servicer, address = scripted
    cases: list[tuple[Any, type[BrokerError]]] = [
        (rich(grpc.StatusCode.UNAVAILABLE, "BREAKER_OPEN", retry=1.5), BreakerOpenError),
        (
            rich(grpc.StatusCode.RESOURCE_EXHAUSTED, "CLIENT_ID_EXHAUSTED", 2),
            ClientIdExhaustedError,
        ),
        (rich(grpc.StatusCode.ABORTED, "LEASE_STALE_EPOCH"), LeaseStaleEpochError),
        (rich(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"), InvalidArgumentError),
        (rich(grpc.StatusCode.FAILED_PRECONDITION, "A_REASON_FROM_A_NEWER_BROKER"), BrokerError),
    ]
    async with BrokerClient(address, retry=RetryPolicy(attempts=1)) as client:
        for status, kind in cases:
            servicer.script.append(status)
            with pytest.raises(BrokerError) as info:
                await client.get_connection_state()
            assert type(info.value) is kind
    assert servicer.calls == ["GetConnectionState"] * len(cases)  # none repeated (attempts=1)


async def test_details_are_decoded(scripted: tuple[Scripted, str]) -> None:
    servicer, address = scripted
    servicer.script = [
        rich(grpc.StatusCode.UNAVAILABLE, "BREAKER_OPEN", retry=1.5),
        rich(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    ]
    async with BrokerClient(address, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(GatewayError) as breaker:
            await client.get_connection_state()
        with pytest.raises(InvalidArgumentError) as bad:
            await client.get_connection_state()
    assert breaker.value.reason == "BREAKER_OPEN" and breaker.value.retry_delay == 1.5
    assert breaker.value.retryable
    assert bad.value.field_violations == (("gateway", "x"),) and bad.value.retry_delay is None


def test_every_mapped_reason_is_a_proto_reason_and_classes_group_them() -> None:
    proto = {name.removeprefix("ERROR_REASON_") for name in errors_pb2.ErrorReason.keys()}
    assert set(BY_REASON) <= proto
    # Every reason has its class (a newer broker's reason falls back to BrokerError at run
    # time); adding an ErrorReason means adding its class to broker_client/errors.py BY_REASON.
    missing = proto - {"UNSPECIFIED"} - set(BY_REASON)
    assert not missing, f"add a class for {sorted(missing)} to broker_client/errors.py BY_REASON"
    assert issubclass(BY_REASON["LEASE_EXPIRED"], LeaseError)
    assert issubclass(BY_REASON["CONNECTION_REFUSED"], GatewayError)


async def test_a_read_is_retried_on_unavailable_honouring_retry_delay(
    scripted: tuple[Scripted, str],
) -> None:
    servicer, address = scripted
    servicer.script = [
        rich(grpc.StatusCode.UNAVAILABLE, "RECONNECTING", retry=0.2),
        rich(grpc.StatusCode.UNAVAILABLE),
    ]
    async with BrokerClient(address, retry=FAST) as client:
        started = time.monotonic()
        [gateway] = await client.get_connection_state()
        assert time.monotonic() - started >= 0.05  # the 0.2 s hint, capped by max_backoff
    assert gateway.gateway == "paper"
    assert servicer.calls == ["GetConnectionState"] * 3


async def test_a_read_gives_up_after_its_attempts(scripted: tuple[Scripted, str]) -> None:
    servicer, address = scripted
    servicer.script = [rich(grpc.StatusCode.UNAVAILABLE, "NOT_CONNECTED")] * 5
    async with BrokerClient(address, retry=RetryPolicy(attempts=3, initial_backoff=0.01)) as client:
        with pytest.raises(BrokerError) as info:
            await client.get_connection_state()
    assert info.value.reason == "NOT_CONNECTED"
    assert len(servicer.calls) == 3


async def test_a_write_is_never_repeated(scripted: tuple[Scripted, str]) -> None:
    servicer, address = scripted
    servicer.script = [rich(grpc.StatusCode.UNAVAILABLE)]
    async with BrokerClient(address, retry=FAST) as client:
        with pytest.raises(BrokerUnavailableError):
            await client.reconnect("paper", reason="test")
    assert servicer.calls == ["Reconnect"]


async def test_every_call_has_a_deadline(scripted: tuple[Scripted, str]) -> None:
    servicer, address = scripted
    servicer.script = ["hang"]
    async with BrokerClient(address, timeout=0.2, retry=FAST) as client:
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            await client.get_connection_state()
        assert time.monotonic() - started < 5


async def test_a_dead_address_fails_within_the_deadline_with_a_clear_error() -> None:
    async with BrokerClient(f"127.0.0.1:{free_port()}", timeout=1.0, retry=FAST) as client:
        started = time.monotonic()
        with pytest.raises(BrokerUnavailableError) as info:
            await client.get_connection_state()
        assert time.monotonic() - started < 4 * 1.0 + 1
    assert "127.0.0.1" in info.value.message or "connect" in info.value.message
