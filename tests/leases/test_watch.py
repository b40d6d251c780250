"""WatchLeases through a real in-process gRPC server, a real SQLite file and a ManualClock."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterable, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from broker_client import BrokerError, watch_leases
from broker_client.channel import aio_channel
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.app import start_broker, stop_broker
from broker_server.config import GatewayConfig
from broker_server.domain.leases import LeaseEventKind
from tests.leases.conftest import Broker, make_config, rpc_error
from tests.server.helpers import fast_config

MakeBroker = Callable[..., Awaitable[Broker]]

SNAPSHOT = lease_pb2.LEASE_EVENT_KIND_SNAPSHOT
ACQUIRED = lease_pb2.LEASE_EVENT_KIND_ACQUIRED
RENEWED = lease_pb2.LEASE_EVENT_KIND_RENEWED
RELEASED = lease_pb2.LEASE_EVENT_KIND_RELEASED
EXPIRED = lease_pb2.LEASE_EVENT_KIND_EXPIRED
QUARANTINED = lease_pb2.LEASE_EVENT_KIND_QUARANTINED
FREED = lease_pb2.LEASE_EVENT_KIND_FREED
RESTORED = lease_pb2.LEASE_EVENT_KIND_RESTORED
FINAL = lease_pb2.LEASE_EVENT_KIND_FINAL
SNAPSHOT_END = lease_pb2.LEASE_EVENT_KIND_SNAPSHOT_END

T0 = 1_700_000_000.0  # the ManualClock's wall reading at start


def acquire(owner: str = "alice", **kwargs: object) -> pb.AcquireLeaseRequest:
    return pb.AcquireLeaseRequest(owner=owner, **kwargs)  # type: ignore[arg-type]


def watch(broker: Broker, **kwargs: Any) -> Any:
    return broker.stub.WatchLeases(pb.WatchLeasesRequest(**kwargs))


async def read(call: Any, n: int) -> list[lease_pb2.LeaseEvent]:
    """The next ``n`` events of a WatchLeases call (fails after 5 s or at the end)."""
    events: list[lease_pb2.LeaseEvent] = []
    async with asyncio.timeout(5):
        while len(events) < n:
            reply = await call.read()
            assert reply is not grpc.aio.EOF, f"stream ended after {events}"
            events.append(reply.event)
    return events


async def read_snapshot(call: Any) -> list[lease_pb2.LeaseEvent]:
    """The snapshot events of a WatchLeases call, up to its SNAPSHOT_END marker (which must come)."""
    events: list[lease_pb2.LeaseEvent] = []
    async with asyncio.timeout(5):
        while True:
            [event] = await read(call, 1)
            if event.kind == SNAPSHOT_END:
                assert all(e.sequence == event.sequence for e in events)  # one snapshot
                assert not event.HasField("lease")
                return events
            assert event.kind == SNAPSHOT
            events.append(event)


async def read_to_end(call: Any) -> list[lease_pb2.LeaseEvent]:
    """Every event until the stream ends; the stream must end OK."""
    events: list[lease_pb2.LeaseEvent] = []
    async with asyncio.timeout(5):
        while (reply := await call.read()) is not grpc.aio.EOF:
            events.append(reply.event)
    assert await call.code() == grpc.StatusCode.OK
    return events


def shape(events: list[lease_pb2.LeaseEvent]) -> list[tuple[str, str, int, str]]:
    """(kind, gateway, client_id, owner) per event, readable in assertion diffs."""
    return [
        (
            lease_pb2.LeaseEventKind.Name(e.kind).removeprefix("LEASE_EVENT_KIND_"),
            e.gateway,
            e.client_id,
            e.lease.owner,
        )
        for e in events
    ]


def seconds(ts: Any) -> float:
    return float(ts.seconds + ts.nanos / 1e9)


async def test_snapshot_first_then_every_event_in_order(broker: Broker) -> None:
    a = (await broker.stub.AcquireLease(acquire("alice"))).lease
    b = (await broker.stub.AcquireLease(acquire("bob"))).lease
    call = watch(broker)
    snap = await read_snapshot(call)
    assert shape(snap) == [("SNAPSHOT", "paper", 100, "alice"), ("SNAPSHOT", "paper", 101, "bob")]
    assert [e.lease for e in snap] == [a, b]
    assert snap[0].sequence == snap[1].sequence  # one snapshot, stamped with the hub's sequence

    c = (await broker.stub.AcquireLease(acquire("carol"))).lease
    broker.clock.advance(1)
    renewed = (
        await broker.stub.RenewLease(
            pb.RenewLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice")
        )
    ).lease
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice")
    )
    broker.clock.advance(5)  # the cool-down: ID 100 is proven free (no prober)
    await broker.sweep()
    broker.clock.advance(24)  # b and c reach their 30 s TTL
    await broker.sweep()

    live = await read(call, 9)
    assert shape(live) == [
        ("ACQUIRED", "paper", 102, "carol"),
        ("RENEWED", "paper", 100, "alice"),
        ("RELEASED", "paper", 100, "alice"),
        ("QUARANTINED", "paper", 100, ""),
        ("FREED", "paper", 100, ""),
        ("EXPIRED", "paper", 101, "bob"),
        ("QUARANTINED", "paper", 101, ""),
        ("EXPIRED", "paper", 102, "carol"),
        ("QUARANTINED", "paper", 102, ""),
    ]
    sequences = [e.sequence for e in live]
    assert sequences == list(range(snap[0].sequence + 1, snap[0].sequence + 10))
    assert live[0].lease == c
    assert live[1].lease == renewed and seconds(renewed.expire_time) == T0 + 31
    assert live[2].lease.state == lease_pb2.LEASE_STATE_RELEASED
    assert seconds(live[2].event_time) == T0 + 1
    # A resting ID has no lease, but says until when it rests.
    assert not live[3].HasField("lease") and seconds(live[3].rest_until) == T0 + 6
    assert not live[4].HasField("lease") and not live[4].HasField("rest_until")
    assert live[5].lease.state == lease_pb2.LEASE_STATE_EXPIRED
    assert seconds(live[5].event_time) == T0 + 30
    # The on_event callback still gets the same events, in the same order.
    assert [e.kind for e in broker.events] == [
        LeaseEventKind.ACQUIRED,
        LeaseEventKind.ACQUIRED,
        *(LeaseEventKind[lease_pb2.LeaseEventKind.Name(e.kind)[17:]] for e in live),
    ]
    call.cancel()


async def test_owner_and_gateway_filters(make_broker: MakeBroker, tmp_path: Path) -> None:
    paper = GatewayConfig(name="paper", port=4002, client_id_min=100, client_id_max=103)
    live = GatewayConfig(
        name="live", port=4001, client_id_min=200, client_id_max=203, monitor_client_id=199
    )
    broker = await make_broker(make_config(tmp_path / "two.sqlite3", gateways=(paper, live)))
    a = (await broker.stub.AcquireLease(acquire("alice", gateway="paper"))).lease
    b = (await broker.stub.AcquireLease(acquire("bob", gateway="live"))).lease
    on_paper = watch(broker, gateway="paper")
    of_alice = watch(broker, owner="alice")
    bob_on_live = watch(broker, gateway="live", owner="bob")
    everything = watch(broker)
    # Each snapshot is filtered too; reading it also proves the watcher is subscribed.
    assert shape(await read_snapshot(on_paper)) == [("SNAPSHOT", "paper", 100, "alice")]
    assert shape(await read_snapshot(of_alice)) == [("SNAPSHOT", "paper", 100, "alice")]
    assert shape(await read_snapshot(bob_on_live)) == [("SNAPSHOT", "live", 200, "bob")]
    assert len(await read_snapshot(everything)) == 2

    await broker.stub.AcquireLease(acquire("bob", gateway="paper"))
    await broker.stub.AcquireLease(acquire("carol", gateway="live"))
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice")
    )
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=b.lease_id, epoch=1, owner="bob")
    )
    assert broker.manager is not None
    broker.manager.end_streams("test over")

    assert shape(await read_to_end(on_paper)) == [
        ("ACQUIRED", "paper", 101, "bob"),
        ("RELEASED", "paper", 100, "alice"),
        ("QUARANTINED", "paper", 100, ""),
        ("FINAL", "paper", 0, ""),
    ]
    # ID-level events carry no owner: they pass every owner filter (the contract), so alice
    # also sees live/200 rest.
    assert shape(await read_to_end(of_alice)) == [
        ("RELEASED", "paper", 100, "alice"),
        ("QUARANTINED", "paper", 100, ""),
        ("QUARANTINED", "live", 200, ""),
        ("FINAL", "paper", 0, ""),
    ]
    # FINAL names the default gateway and still ends a stream filtered on another one.
    assert shape(await read_to_end(bob_on_live)) == [
        ("RELEASED", "live", 200, "bob"),
        ("QUARANTINED", "live", 200, ""),
        ("FINAL", "paper", 0, ""),
    ]
    assert len(await read_to_end(everything)) == 7


async def test_an_empty_snapshot_still_ends_with_its_marker(broker: Broker) -> None:
    call = watch(broker)
    assert await read_snapshot(call) == []  # "no leases", told apart from "nothing yet"
    await broker.stub.AcquireLease(acquire("alice"))
    assert shape(await read(call, 1)) == [("ACQUIRED", "paper", 100, "alice")]
    call.cancel()


async def test_resume_after_a_sequence_replays_what_was_missed(broker: Broker) -> None:
    a = (await broker.stub.AcquireLease(acquire("alice"))).lease
    call = watch(broker)
    [first] = await read_snapshot(call)
    assert (first.kind, first.lease) == (SNAPSHOT, a)
    b = (await broker.stub.AcquireLease(acquire("bob"))).lease
    assert shape(await read(call, 1)) == [("ACQUIRED", "paper", 101, "bob")]
    call.cancel()
    await broker.stub.ReleaseLease(
        pb.ReleaseLeaseRequest(lease_id=b.lease_id, epoch=1, owner="bob")
    )

    # Resuming after the snapshot's sequence: everything after it, no snapshot.
    resumed = watch(broker, resume_after_sequence=first.sequence)
    missed = await read(resumed, 3)
    assert shape(missed) == [
        ("ACQUIRED", "paper", 101, "bob"),
        ("RELEASED", "paper", 101, "bob"),
        ("QUARANTINED", "paper", 101, ""),
    ]
    assert [e.sequence for e in missed] == [first.sequence + i for i in (1, 2, 3)]
    # Then live, nothing in between.
    await broker.stub.RenewLease(pb.RenewLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice"))
    assert shape(await read(resumed, 1)) == [("RENEWED", "paper", 100, "alice")]
    resumed.cancel()

    # A sequence this process never had (an earlier broker's, or a future one): a snapshot.
    assert broker.manager is not None
    for stale in (1, broker.manager.events.sequence + 10):
        fresh = watch(broker, resume_after_sequence=stale)
        [snap] = await read_snapshot(fresh)
        assert (snap.kind, snap.lease) == (SNAPSHOT, a)
        assert snap.sequence == broker.manager.events.sequence
        fresh.cancel()


class HeldSessions:
    """A ProxiedSessionPool whose open_session waits until the test lets it succeed or fail."""

    def __init__(self) -> None:
        self.opening = asyncio.Event()
        self.go = asyncio.Event()
        self.fail = False

    async def open_session(self, gateway: str, client_id: int, lease_id: str) -> None:
        self.opening.set()
        await self.go.wait()
        if self.fail:
            raise RuntimeError("no session")

    async def close_session(self, gateway: str, client_id: int) -> None:
        pass


@pytest.mark.parametrize("fail", [False, True])
async def test_the_snapshot_leaves_out_an_acquire_still_in_flight(
    make_broker: MakeBroker, fail: bool
) -> None:
    sessions = HeldSessions()
    sessions.fail = fail
    broker = await make_broker(sessions=sessions)
    held = (await broker.stub.AcquireLease(acquire("alice"))).lease
    proxied = asyncio.ensure_future(
        broker.stub.AcquireLease(acquire("bob", mode=lease_pb2.LEASE_MODE_PROXIED))
    )
    await asyncio.wait_for(sessions.opening.wait(), 5)  # bob's lease is in the table, unacked
    call = watch(broker)
    assert shape(await read_snapshot(call)) == [("SNAPSHOT", "paper", 100, "alice")]
    sessions.go.set()
    if fail:
        with pytest.raises(grpc.aio.AioRpcError):
            await proxied
        # Never announced, so nothing to take back: only the ID's rest is reported.
        assert shape(await read(call, 1)) == [("QUARANTINED", "paper", 101, "")]
    else:
        await proxied
        assert shape(await read(call, 1)) == [("ACQUIRED", "paper", 101, "bob")]
    assert held.client_id == 100
    call.cancel()


async def _stream_error(call: AsyncIterable[object]) -> BrokerError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async with asyncio.timeout(5):
            async for _ in call:
                raise AssertionError("the stream yielded for a bad request")
    return BrokerError.from_rpc_error(info.value)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"gateway": "nope"}, ["gateway"]),
        ({"gateway": "g" * 100_000}, ["gateway"]),
        ({"owner": "o" * 257}, ["owner"]),
        ({"gateway": "nope", "owner": "o" * 257}, ["gateway", "owner"]),
    ],
)
async def test_bad_watch_is_invalid_argument_with_field_violations(
    broker: Broker, fields: dict[str, str], expected: list[str]
) -> None:
    err = await _stream_error(watch(broker, **fields))
    assert (err.code, err.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT")
    assert sorted(f for f, _ in err.field_violations) == expected
    assert all(len(d) < 200 for _, d in err.field_violations)
    # ListLeases validates its filter the same way.
    listed = await rpc_error(broker.stub.ListLeases(pb.ListLeasesRequest(**fields)))
    assert listed.field_violations == err.field_violations


async def test_a_slow_watcher_is_coalesced_and_blocks_nobody(
    make_broker: MakeBroker, tmp_path: Path
) -> None:
    config = make_config(tmp_path / "slow.sqlite3")
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, watcher_queue_size=4)
    )
    broker = await make_broker(config)
    assert broker.manager is not None
    hub = broker.manager.events
    a = (await broker.stub.AcquireLease(acquire("alice"))).lease
    never_reads = watch(broker)  # a gRPC watcher that reads nothing until the end
    fast = watch(broker)
    slow = hub.subscribe()  # a watcher stuck in the broker itself
    assert (await anext(slow)).kind is LeaseEventKind.SNAPSHOT
    assert (await anext(slow)).kind is LeaseEventKind.SNAPSHOT_END
    await read_snapshot(fast)

    expires = []
    for _ in range(12):  # three times the queue size; no renew waits for a watcher
        broker.clock.advance(1)
        renew = pb.RenewLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice")
        lease = (await asyncio.wait_for(broker.stub.RenewLease(renew), 5)).lease
        expires.append(seconds(lease.expire_time))
        [event] = await read(fast, 1)
        assert event.kind == RENEWED and seconds(event.lease.expire_time) == expires[-1]
    assert hub.coalesced_total >= 1
    # The slow watcher lost its backlog and gets the current state instead, then goes on live.
    caught_up = await asyncio.wait_for(anext(slow), 5)
    assert caught_up.kind is LeaseEventKind.SNAPSHOT and caught_up.lease is not None
    assert caught_up.lease.expire_time == expires[-1]
    assert (await asyncio.wait_for(anext(slow), 5)).kind is LeaseEventKind.SNAPSHOT_END
    broker.clock.advance(1)
    await broker.stub.RenewLease(pb.RenewLeaseRequest(lease_id=a.lease_id, epoch=1, owner="alice"))
    assert (await asyncio.wait_for(anext(slow), 5)).kind is LeaseEventKind.RENEWED
    await slow.aclose()
    # The gRPC watcher that read nothing still ends up at the current lease.
    async with asyncio.timeout(5):
        while True:
            [event] = await read(never_reads, 1)
            assert event.kind in (SNAPSHOT, SNAPSHOT_END, RENEWED)
            if seconds(event.lease.expire_time) == expires[-1] + 1:
                break
    never_reads.cancel()
    fast.cancel()


async def test_watch_leases_resumes_across_a_broker_restart(broker: Broker) -> None:
    a = (await broker.stub.AcquireLease(acquire("alice"))).lease
    broker.port = int(broker.address.rsplit(":", 1)[1])  # come back on the same address
    async with grpc.aio.insecure_channel(broker.address) as channel:
        events = watch_leases(channel, owner="alice", initial_backoff=0.01, max_backoff=0.05)
        first = await asyncio.wait_for(anext(events), 5)
        assert (first.kind, first.lease.lease_id) == (SNAPSHOT, a.lease_id)
        assert (await asyncio.wait_for(anext(events), 5)).kind == SNAPSHOT_END

        assert broker.manager is not None
        broker.manager.end_streams("restarting")
        final = await asyncio.wait_for(anext(events), 5)
        assert final.kind == FINAL
        broker.clock.advance(10)  # the restart takes time: the new sequences start later
        await broker.restart()

        resumed = await asyncio.wait_for(anext(events), 10)
        # The new broker holds none of the old events: a fresh snapshot of the restored lease.
        assert (resumed.kind, resumed.lease.lease_id) == (SNAPSHOT, a.lease_id)
        assert resumed.sequence > final.sequence
        # Running time counts, an instant restart adds nothing: the same expiry.
        assert seconds(resumed.lease.expire_time) == seconds(a.expire_time)
        assert (await asyncio.wait_for(anext(events), 5)).kind == SNAPSHOT_END
        await broker.stub.AcquireLease(acquire("alice"))
        acquired = await asyncio.wait_for(anext(events), 5)
        assert (acquired.kind, acquired.client_id) == (ACQUIRED, 101)
        await events.aclose()

    # The RESTORED event was published before anyone watched; a resume just before it has it.
    restored = watch(broker, resume_after_sequence=broker.manager.events.sequence - 2)
    assert shape(await read(restored, 2)) == [
        ("RESTORED", "paper", 100, "alice"),
        ("ACQUIRED", "paper", 101, "alice"),
    ]
    restored.cancel()


async def test_shutdown_ends_lease_watchers_with_final_and_ok(tmp_path: Path) -> None:
    broker = await start_broker(fast_config(tmp_path / "store.sqlite3"), with_sim=True)
    stopped = False
    try:
        async with aio_channel(broker.address) as channel:
            stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
            lease = (await stub.AcquireLease(acquire("alice"), timeout=5)).lease
            call = stub.WatchLeases(pb.WatchLeasesRequest(owner="alice"))
            [snap] = await read_snapshot(call)
            assert (snap.kind, snap.lease.lease_id) == (SNAPSHOT, lease.lease_id)

            stopping = asyncio.create_task(stop_broker(broker))
            events = await read_to_end(call)
            assert events[-1].kind == FINAL
            assert all(e.kind != SNAPSHOT for e in events)
            await asyncio.wait_for(stopping, broker.config.server.grace_period + 5)
            stopped = True
    finally:
        if not stopped:
            await stop_broker(broker)
