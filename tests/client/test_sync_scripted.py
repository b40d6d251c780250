"""The blocking lease holder end to end on a ``grpc_testing`` channel: the test plays the broker
and answers each call the holder makes with a scripted response (real time, short TTL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import grpc_testing
import pytest

from broker_client import BrokerError, LeaseLostError, lease_sync
from broker_client.fencing import LeasePolicy
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["LeaseService"]
ACQUIRE = SERVICE.methods_by_name["AcquireLease"]
RENEW = SERVICE.methods_by_name["RenewLease"]
RELEASE = SERVICE.methods_by_name["ReleaseLease"]
TTL = 0.6


def lease(state: lease_pb2.LeaseState.ValueType = lease_pb2.LEASE_STATE_ACTIVE) -> lease_pb2.Lease:
    granted = lease_pb2.Lease(
        lease_id="L1", client_id=101, epoch=7, owner="script", gateway="paper", state=state
    )
    granted.ttl.FromMilliseconds(int(TTL * 1000))
    granted.expire_time.FromNanoseconds(int((time.time() + TTL) * 1e9))
    return granted


class Holder:
    """Runs ``lease_sync`` on a thread against the testing channel; records what it saw."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.release = threading.Event()
        self.seen: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with lease_sync(self.channel, owner="script", ttl=TTL, policy=LeasePolicy()) as held:
                self.seen["client_id"] = held.client_id
                self.seen["held"] = held
                self.release.wait(10)
        except BaseException as err:
            self.seen["error"] = err

    def __enter__(self) -> Holder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()


@pytest.fixture
def channel() -> Iterator[Any]:
    yield grpc_testing.channel([SERVICE], grpc_testing.strict_real_time())


def answer(channel: Any, method: Any, response: Any = None, code: Any = None) -> Any:
    """Take the holder's next call of ``method`` and answer it; returns its request."""
    _, request, rpc = channel.take_unary_unary(method)
    if code is None:
        rpc.terminate(response, (), grpc.StatusCode.OK, "")
    else:
        rpc.terminate(None, (), code, "scripted")
    return request


def test_renewal_retries_unavailable_then_takes_an_ended_answer_as_lost(channel: Any) -> None:
    with Holder(channel) as holder:
        first = answer(channel, ACQUIRE, code=grpc.StatusCode.UNAVAILABLE)
        again = answer(channel, ACQUIRE, pb.AcquireLeaseResponse(lease=lease()))
        assert again.request_id == first.request_id != ""
        renew = answer(channel, RENEW, code=grpc.StatusCode.UNAVAILABLE)
        assert (renew.lease_id, renew.epoch, renew.owner) == ("L1", 7, "script")
        answer(channel, RENEW, pb.RenewLeaseResponse(lease=lease()))
        # The broker says the lease has ended, with an OK status: the holder believes it.
        answer(channel, RENEW, pb.RenewLeaseResponse(lease=lease(lease_pb2.LEASE_STATE_EXPIRED)))
        held = holder.seen["held"]
        assert held.lost.wait(2)
        with pytest.raises(LeaseLostError, match="LEASE_STATE_EXPIRED"):
            held.check()
    holder.thread.join(5)
    assert holder.seen["client_id"] == 101 and "error" not in holder.seen


def test_a_held_lease_is_released_on_exit(channel: Any) -> None:
    with Holder(channel) as holder:
        answer(channel, ACQUIRE, pb.AcquireLeaseResponse(lease=lease()))
        answer(channel, RENEW, pb.RenewLeaseResponse(lease=lease()))
        holder.release.set()
        released = answer(channel, RELEASE, pb.ReleaseLeaseResponse())
        assert (released.lease_id, released.epoch) == ("L1", 7)
    holder.thread.join(5)
    assert "error" not in holder.seen


def test_an_acquire_answered_with_an_ended_lease_is_refused(channel: Any) -> None:
    with Holder(channel) as holder:
        answer(
            channel, ACQUIRE, pb.AcquireLeaseResponse(lease=lease(lease_pb2.LEASE_STATE_EXPIRED))
        )
    holder.thread.join(5)
    error = holder.seen["error"]
    assert isinstance(error, BrokerError) and error.reason == "LEASE_EXPIRED"
    assert "client_id" not in holder.seen
