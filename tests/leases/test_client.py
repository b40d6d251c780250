"""``broker_client.leases``: acquire, background renew, lost-lease visibility, release on exit,
async and sync, against the real in-process server (real time: the client renews on its own)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import grpc
import pytest

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.leases import LeaseLostError, lease, lease_sync
from broker_server.domain.clock import SystemClock
from broker_server.runtime.leases import LeaseEventKind
from tests.leases.conftest import Broker

MakeBroker = Callable[..., Awaitable[Broker]]


def renewals(broker: Broker, lease_id: str) -> int:
    return sum(
        1
        for e in broker.events
        if e.kind is LeaseEventKind.RENEWED and e.lease is not None and e.lease.lease_id == lease_id
    )


async def test_lease_renews_in_the_background_and_releases_on_exit(make_broker: MakeBroker) -> None:
    broker = await make_broker(clock=SystemClock(), min_ttl=0.3)
    assert broker.channel is not None
    async with lease(broker.channel, owner="strategy", ttl=0.6, client_id=101) as held:
        assert held.client_id == 101 and held.epoch == 1
        first_expiry = held.lease.expire_time.ToNanoseconds()
        # Renewed at a third of the TTL: two renewals within about 0.4 s, well before expiry.
        await broker.wait_for_events(lambda _: renewals(broker, held.lease_id) >= 2, within=3)
        assert held.lease.expire_time.ToNanoseconds() > first_expiry
        assert not held.lost.is_set()
        held.check()
        lease_id = held.lease_id
    got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=lease_id))).lease
    assert got.state == lease_pb2.LEASE_STATE_RELEASED


async def test_a_lost_lease_sets_the_event_and_raises_on_next_use(make_broker: MakeBroker) -> None:
    broker = await make_broker(clock=SystemClock(), min_ttl=0.3)
    assert broker.stub is not None
    async with lease(broker.stub, owner="strategy", ttl=0.6) as held:
        # Someone with the owner's credentials releases it behind the helper's back.
        await broker.stub.ReleaseLease(
            pb.ReleaseLeaseRequest(lease_id=held.lease_id, epoch=held.epoch, owner="strategy")
        )
        await asyncio.wait_for(held.lost.wait(), timeout=3)
        with pytest.raises(LeaseLostError) as info:
            held.check()
        assert isinstance(info.value.cause, BrokerError)
        assert info.value.cause.reason == "LEASE_RELEASED"
    assert "lost" in repr(held)


async def test_acquire_failure_raises_broker_error(make_broker: MakeBroker) -> None:
    broker = await make_broker(clock=SystemClock(), client_id_min=100, client_id_max=100)
    assert broker.channel is not None
    async with lease(broker.channel, owner="a") as held:
        with pytest.raises(BrokerError) as info:
            async with lease(broker.channel, owner="b"):
                pass  # pragma: no cover
        assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert info.value.retry_after is not None
        held.check()


async def test_sync_lease_renews_and_releases(make_broker: MakeBroker) -> None:
    broker = await make_broker(clock=SystemClock(), min_ttl=0.3)
    seen: dict[str, object] = {}

    def script() -> None:
        with lease_sync(broker.address, owner="script", ttl=0.6) as held:
            first = held.lease.expire_time.ToNanoseconds()
            deadline = time.monotonic() + 3
            while held.lease.expire_time.ToNanoseconds() == first and time.monotonic() < deadline:
                threading.Event().wait(0.01)
            seen["renewed"] = held.lease.expire_time.ToNanoseconds() > first
            seen["lease_id"] = held.lease_id
            held.check()

    await asyncio.to_thread(script)
    assert seen["renewed"] is True
    got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=str(seen["lease_id"])))).lease
    assert got.state == lease_pb2.LEASE_STATE_RELEASED


def test_client_package_imports_nothing_of_the_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys, broker_client, broker_client.leases, broker_client.errors;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('broker_server', 'ib_insync', 'ib_async', 'opentelemetry')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr


async def test_a_lease_is_lost_when_the_broker_stays_unreachable_past_its_ttl(
    make_broker: MakeBroker,
) -> None:
    broker = await make_broker(clock=SystemClock(), min_ttl=0.3)
    assert broker.channel is not None and broker.server is not None
    async with lease(broker.channel, owner="strategy", ttl=0.6) as held:
        await broker.server.stop(None)  # the broker vanishes; renewals get UNAVAILABLE
        await asyncio.wait_for(held.lost.wait(), timeout=5)
        assert time.monotonic() >= held.deadline
        with pytest.raises(LeaseLostError) as info:
            held.check()
        assert isinstance(info.value.cause, BrokerError)
        assert info.value.cause.code == grpc.StatusCode.UNAVAILABLE


async def test_lease_accepts_an_address(make_broker: MakeBroker) -> None:
    broker = await make_broker(clock=SystemClock())
    async with lease(broker.address, owner="by-address", gateway="paper") as held:
        assert held.client_id == 100
        listed = (await broker.stub.ListLeases(pb.ListLeasesRequest(owner="by-address"))).leases
        assert [x.lease_id for x in listed] == [held.lease_id]
    assert (await broker.stub.ListLeases(pb.ListLeasesRequest(owner="by-address"))).leases == []
