"""``BrokerClientSync`` on a ``grpc_testing`` channel: the test plays the broker and answers each
call with a scripted status, so the retry plan, deadlines and typed errors are checked call by
call (the same plan runs under the async client)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import grpc
import grpc_testing
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from broker_client import (
    BreakerOpenError,
    BrokerClientSync,
    BrokerUnavailableError,
    LeaseNotFoundError,
    RetryPolicy,
)
from broker_client.ibbroker.v1 import connection_pb2 as pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lsvc
from broker_server.domain.clock import SystemClock
from tests.leases.conftest import Broker

CONNECTIONS = svc.DESCRIPTOR.services_by_name["ConnectionService"]
LEASES = lsvc.DESCRIPTOR.services_by_name["LeaseService"]
GET_STATE = CONNECTIONS.methods_by_name["GetConnectionState"]
RECONNECT = CONNECTIONS.methods_by_name["Reconnect"]
GET_LEASE = LEASES.methods_by_name["GetLease"]
FAST = RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.02)


def details(code: grpc.StatusCode, reason: str, retry: float | None = None) -> Any:
    """Trailing metadata carrying a google.rpc.Status with ErrorInfo (and RetryInfo)."""
    packed = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="ibbroker.v1"))
    packed.append(info)
    if retry is not None:
        hint = error_details_pb2.RetryInfo()
        hint.retry_delay.FromMilliseconds(int(retry * 1000))
        wrapped = any_pb2.Any()
        wrapped.Pack(hint)
        packed.append(wrapped)
    status = status_pb2.Status(
        code=getattr(code_pb2, code.name), message="scripted", details=packed
    )
    return (("grpc-status-details-bin", status.SerializeToString()),)


class Caller:
    """Runs one client call on a thread; keeps its result or error."""

    def __init__(self, call: Any) -> None:
        self.outcome: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call: Any) -> None:
        try:
            self.outcome["result"] = call()
        except BaseException as err:
            self.outcome["error"] = err

    def join(self) -> dict[str, Any]:
        self.thread.join(5)
        assert not self.thread.is_alive()
        return self.outcome


@pytest.fixture
def channel() -> Iterator[Any]:
    yield grpc_testing.channel([CONNECTIONS, LEASES], grpc_testing.strict_real_time())


def client(channel: Any) -> BrokerClientSync:
    return BrokerClientSync(
        "scripted", channel=channel, timeout=2.0, retry=FAST, metadata=(("authorization", "t"),)
    )


def fail(channel: Any, method: Any, code: grpc.StatusCode, trailing: Any = ()) -> Any:
    metadata, request, rpc = channel.take_unary_unary(method)
    rpc.terminate(None, trailing, code, "scripted")
    return metadata, request


def test_a_read_is_retried_on_unavailable_then_answers(channel: Any) -> None:
    caller = Caller(lambda: client(channel).get_connection_state("paper"))
    metadata, request = fail(
        channel,
        GET_STATE,
        grpc.StatusCode.UNAVAILABLE,
        details(grpc.StatusCode.UNAVAILABLE, "RECONNECTING", 0.01),
    )
    assert request.gateway == "paper" and ("authorization", "t") in metadata
    fail(channel, GET_STATE, grpc.StatusCode.UNAVAILABLE)
    _, _, rpc = channel.take_unary_unary(GET_STATE)
    reply = svc.GetConnectionStateResponse(gateways=[pb.GatewayStatus(gateway="paper")])
    rpc.terminate(reply, (), grpc.StatusCode.OK, "")
    outcome = caller.join()
    assert [g.gateway for g in outcome["result"]] == ["paper"]


def test_a_read_gives_up_after_its_attempts_with_the_typed_error(channel: Any) -> None:
    caller = Caller(lambda: client(channel).get_connection_state())
    for _ in range(FAST.attempts):
        fail(
            channel,
            GET_STATE,
            grpc.StatusCode.UNAVAILABLE,
            details(grpc.StatusCode.UNAVAILABLE, "BREAKER_OPEN", 0.01),
        )
    error = caller.join()["error"]
    assert isinstance(error, BreakerOpenError) and error.retry_delay == pytest.approx(0.01)


def test_a_refusal_is_not_retried(channel: Any) -> None:
    caller = Caller(lambda: client(channel).get_lease("L1"))
    fail(
        channel,
        GET_LEASE,
        grpc.StatusCode.NOT_FOUND,
        details(grpc.StatusCode.NOT_FOUND, "LEASE_NOT_FOUND"),
    )
    assert isinstance(caller.join()["error"], LeaseNotFoundError)


def test_a_write_is_called_once(channel: Any) -> None:
    caller = Caller(lambda: client(channel).reconnect("paper", reason="operator"))
    _, request = fail(channel, RECONNECT, grpc.StatusCode.UNAVAILABLE)
    assert request.reason == "operator"
    assert isinstance(caller.join()["error"], BrokerUnavailableError)


def test_a_lease_read_answers(channel: Any) -> None:
    caller = Caller(lambda: client(channel).get_lease("L1"))
    _, request, rpc = channel.take_unary_unary(GET_LEASE)
    lease = lease_pb2.Lease(lease_id=request.lease_id, client_id=101)
    rpc.terminate(lsvc.GetLeaseResponse(lease=lease), (), grpc.StatusCode.OK, "")
    assert caller.join()["result"].client_id == 101


async def test_the_sync_client_against_the_real_broker(
    make_broker: Callable[..., Awaitable[Broker]],
) -> None:
    broker = await make_broker(clock=SystemClock())

    def script() -> tuple[int, list[str], str]:
        with BrokerClientSync(broker.address, timeout=5) as sync:
            with sync.lease(owner="script", ttl=5) as held:
                listed = [lease.lease_id for lease in sync.list_leases(owner="script")]
                got = sync.get_lease(held.lease_id)
                return held.client_id, listed, lease_pb2.LeaseState.Name(got.state)

    client_id, listed, state = await asyncio.to_thread(script)
    assert client_id == 100 and len(listed) == 1 and state == "LEASE_STATE_ACTIVE"
    assert (await broker.stub.ListLeases(lsvc.ListLeasesRequest(owner="script"))).leases == []
