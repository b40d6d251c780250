"""Client-side fencing against the real in-process broker, with a TCP proxy between the client and
the broker that stalls, drops and half-closes the connection (issue 9, finding 1).

The property checked is the one the broker promises: the interval during which client A
believes it holds client ID N (from A's own records) never overlaps the interval of B. Every
timing is scaled down (TTL 0.6-1.5 s, cool-down 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest

from broker_client import BrokerError, LeaseLostError, lease, lease_sync
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.domain.clock import SystemClock
from broker_server.runtime.leases import LeaseEvent, LeaseEventKind
from tests.leases.conftest import Broker
from tests.support.proxy import Proxy

MakeBroker = Callable[..., Awaitable[Broker]]


@contextlib.asynccontextmanager
async def sweeping(broker: Broker, every: float = 0.02) -> AsyncIterator[None]:
    """Expire and free leases as the broker's own sweeper does, at a test's pace."""

    async def sweep() -> None:
        for _ in range(2_000):  # bounded: 40 s at most
            await broker.sweep()
            await asyncio.sleep(every)

    task = asyncio.create_task(sweep())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def renewals(events: list[LeaseEvent], lease_id: str) -> int:
    """RENEWED events of one lease the broker has published."""
    return sum(
        1
        for e in events
        if e.kind is LeaseEventKind.RENEWED and e.lease is not None and e.lease.lease_id == lease_id
    )


async def one_id_broker(make_broker: MakeBroker) -> Broker:
    """A broker with one client ID (100), real time, short TTLs and no cool-down."""
    return await make_broker(
        clock=SystemClock(), min_ttl=0.3, cooldown=0.0, client_id_min=100, client_id_max=100
    )


async def acquire_when_free(broker: Broker, owner: str, within: float = 5.0) -> float:
    """Take the broker's only ID as soon as it is handed out again; returns the monotonic time
    the holder started to believe it holds it. Bounded in count and time."""
    assert broker.channel is not None
    async with asyncio.timeout(within):
        for _ in range(1_000):
            try:
                async with lease(broker.channel, owner=owner, ttl=0.6) as held:
                    assert held.client_id == 100
                    return held.acquired_at
            except BrokerError as err:
                assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED
                await asyncio.sleep(0.01)
    raise AssertionError("the ID never came free")


async def test_a_stall_longer_than_the_ttl_loses_the_lease_before_anyone_else_can_have_it(
    make_broker: MakeBroker,
) -> None:
    broker = await one_id_broker(make_broker)
    async with Proxy(broker.address) as proxy, sweeping(broker):
        async with lease(proxy.address, owner="a", ttl=0.6) as a:
            assert a.client_id == 100
            proxy.stall()
            stalled_at = time.monotonic()
            b_started = await acquire_when_free(broker, "b")
            # A's own record ends before B's begins, and A learns it without calling check().
            await asyncio.wait_for(a.lost.wait(), 1)
            assert a.ended_at is not None
            assert a.ended_at <= b_started
            assert a.ended_at - stalled_at <= 0.6 + 0.05  # at most one TTL after the stall
            with pytest.raises(LeaseLostError) as info:
                a.check()
            with pytest.raises(LeaseLostError):
                _ = a.client_id
            assert isinstance(info.value.cause, BrokerError)
            assert info.value.cause.code == grpc.StatusCode.DEADLINE_EXCEEDED
            proxy.resume()
        assert proxy.held_bytes > 0  # renew calls really were held by the stall


async def test_a_sync_holder_loses_the_lease_at_its_deadline_during_a_stall(
    make_broker: MakeBroker,
) -> None:
    broker = await one_id_broker(make_broker)
    records: dict[str, float] = {}
    stalled = threading.Event()
    done = threading.Event()

    def script(address: str) -> None:
        with lease_sync(address, owner="a", ttl=0.6) as a:
            stalled.wait(5)
            # Wait for the renew thread to give up, bounded by twice the TTL.
            assert a.lost.wait(1.2)
            with pytest.raises(LeaseLostError):
                a.check()
            assert a.ended_at is not None
            records.update(started=a.acquired_at, ended=a.ended_at, deadline=a.deadline)
            done.wait(5)

    async with Proxy(broker.address) as proxy, sweeping(broker):
        holder = asyncio.create_task(asyncio.to_thread(script, proxy.address))
        await proxy.wait_until(lambda p: p.accepted > 0)
        await asyncio.sleep(0.1)  # let the acquire answer through (it is not what is tested)
        proxy.stall()
        stalled.set()
        b_started = await acquire_when_free(broker, "b")
        done.set()
        proxy.resume()
        await asyncio.wait_for(holder, 5)
    assert records["ended"] <= records["deadline"] <= b_started


async def test_a_connection_dropped_mid_renew_keeps_the_lease(make_broker: MakeBroker) -> None:
    broker = await one_id_broker(make_broker)
    async with Proxy(broker.address) as proxy, sweeping(broker):
        async with lease(proxy.address, owner="a", ttl=1.5) as a:
            epoch, before = a.epoch, renewals(broker.events, a.lease_id)
            proxy.stall()
            await proxy.wait_until(lambda p: p.held_bytes > 0, within=2)  # a renew is in flight
            await proxy.drop()
            proxy.resume()
            # The renewal is retried on a new connection; the lease never lapses.
            await broker.wait_for_events(lambda e: renewals(e, a.lease_id) > before, within=1.5)
            a.check()
            assert a.epoch == epoch and not a.lost.is_set()
            got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=a.lease_id))).lease
            assert got.state == lease_pb2.LEASE_STATE_ACTIVE
            assert proxy.accepted >= 2


async def test_a_half_closed_connection_mid_renew_keeps_the_lease(make_broker: MakeBroker) -> None:
    broker = await one_id_broker(make_broker)
    async with Proxy(broker.address) as proxy, sweeping(broker):
        async with lease(proxy.address, owner="a", ttl=1.5) as a:
            before = renewals(broker.events, a.lease_id)
            proxy.stall()
            await proxy.wait_until(lambda p: p.held_bytes > 0, within=2)
            proxy.half_close()  # the client reads EOF mid-call; its writes still go through
            proxy.resume()
            await broker.wait_for_events(lambda e: renewals(e, a.lease_id) > before, within=1.5)
            a.check()
            assert not a.lost.is_set()


async def test_a_retried_acquire_whose_lease_ended_is_never_held(make_broker: MakeBroker) -> None:
    broker = await one_id_broker(make_broker)
    assert broker.channel is not None
    request = pb.AcquireLeaseRequest(owner="a", request_id="r-1")
    request.ttl.FromMilliseconds(300)
    first = (await broker.stub.AcquireLease(request)).lease
    async with sweeping(broker):
        await broker.wait_for_events(
            lambda events: any(e.kind is LeaseEventKind.EXPIRED for e in events), within=3
        )
        # Same request_id: the broker answers with the ended lease (or refuses); not held.
        with pytest.raises(BrokerError) as info:
            async with lease(broker.channel, owner="a", ttl=0.3, request_id="r-1"):
                raise AssertionError("an ended lease was taken as held")  # pragma: no cover
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.value.reason == "LEASE_EXPIRED"
    assert first.client_id == 100
