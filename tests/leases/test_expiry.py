"""Expiry that neither compounds nor punishes (docs/leases.md, "Restarts and pauses").

- A crash-looping broker never keeps an abandoned lease: it ends within TTL + one grace of broker
  uptime, however often the broker restarts (issue 9 finding 3, first half).
- A broker paused longer than a TTL (SIGSTOP) does not expire the leases whose clients renewed
  on time (second half): a clock-injected test and one with a real process and real signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from google.protobuf import duration_pb2

from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.aio import within
from broker_server.domain.clock import ManualClock
from broker_server.domain.lease_input import validate_acquire, validate_fenced
from broker_server.runtime.leases import LeaseManager
from broker_server.store.sqlite import SqliteStore
from tests.leases.conftest import Broker, make_config
from tests.leases.test_kill import BrokerProcess, stub_for

MakeBroker = Callable[..., Awaitable[Broker]]
TTL = 6.0
GRACE = TTL / 3
TICK = 0.1  # make_config's sweep_interval: what a restart may count as uptime at most


async def _held(broker: Broker, lease_id: str) -> bool:
    listed = (await broker.stub.ListLeases(pb.ListLeasesRequest())).leases
    return any(lease.lease_id == lease_id for lease in listed)


async def test_a_crash_loop_never_keeps_an_abandoned_lease(make_broker: MakeBroker) -> None:
    broker = await make_broker()
    lease = (
        await broker.stub.AcquireLease(
            pb.AcquireLeaseRequest(owner="gone", ttl=duration_pb2.Duration(seconds=int(TTL)))
        )
    ).lease
    uptime, restarts, ended_at = 0.0, 0, None
    for _ in range(40):  # bounded: 40 restarts, 0.5 s of uptime and 3 s of downtime each
        broker.clock.advance(0.5)  # the broker runs
        uptime += 0.5
        # and stops: its alive mark says when (after a kill -9 the mark of its last tick says
        # so, at most one tick earlier, which the start allows for)
        await broker.stop()
        broker.clock.advance(3.0)  # it is down: this time does not count
        await broker.start()
        restarts += 1
        held = await _held(broker, lease.lease_id)
        if uptime + restarts * TICK < TTL:
            assert held, f"ended early after {uptime} s of uptime and {restarts} restarts"
        if not held:
            ended_at = uptime
            break
    # Before the fix every restart added a full TTL: the lease never ended.
    assert ended_at is not None and ended_at <= TTL + GRACE, (ended_at, restarts)
    got = (await broker.stub.GetLease(pb.GetLeaseRequest(lease_id=lease.lease_id))).lease
    assert got.state == lease_pb2.LEASE_STATE_EXPIRED


async def test_a_client_that_keeps_renewing_keeps_its_lease_through_restarts(
    make_broker: MakeBroker,
) -> None:
    broker = await make_broker()
    lease = (
        await broker.stub.AcquireLease(
            pb.AcquireLeaseRequest(owner="alive", ttl=duration_pb2.Duration(seconds=int(TTL)))
        )
    ).lease
    renew = pb.RenewLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner="alive")
    for _ in range(10):
        broker.clock.advance(TTL / 3)
        await broker.stub.RenewLease(renew)
        await broker.stop()
        broker.clock.advance(TTL * 5)  # down for five TTLs
        await broker.start()
        broker.clock.advance(GRACE * 0.9)  # the client comes back within one renew interval
        await broker.stub.RenewLease(renew)


async def test_a_pause_longer_than_the_ttl_keeps_renewed_leases_and_grace_is_given_once(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path / "pause.sqlite3")
    clock = ManualClock()
    manager = LeaseManager(config, SqliteStore(config.store.path), clock)
    await manager.start()  # with the sweeper and its ticker: pauses are detected
    try:
        policy = manager.policy
        kept = await manager.acquire(validate_acquire(policy, owner="kept", ttl=TTL))
        gone = await manager.acquire(validate_acquire(policy, owner="gone", ttl=TTL))
        clock.advance(60.0)  # the broker was stopped for 60 s: no tick saw that time pass
        # The renew the client sent on time, processed after the resume: before the fix, the
        # lease had already expired (LEASE_EXPIRED).
        renewed = await manager.renew(
            validate_fenced(policy, lease_id=kept.lease_id, owner="kept", epoch=1)
        )
        assert renewed.expire_time == clock.wall() + TTL
        # The abandoned one got one grace from the resume, not a new TTL, and then ends.
        assert manager.table.get(gone.lease_id).deadline == clock.wall() + GRACE
        clock.advance(GRACE)
        await manager.sweep()
        assert not manager.table.get(gone.lease_id).live(clock.wall())
        # A second pause: the renewed lease gets its grace once, and never a second one.
        clock.advance(60.0)
        await manager.sweep()
        deadline = manager.table.get(kept.lease_id).deadline
        assert deadline == clock.wall() + GRACE
        clock.advance(GRACE * 0.5)
        clock.advance(5.0)  # another pause right away: no second grace
        await manager.sweep()
        assert not manager.table.get(kept.lease_id).live(clock.wall())
    finally:
        await manager.stop()


async def test_sigstop_longer_than_the_ttl_of_a_real_broker(tmp_path: Path) -> None:
    config = tmp_path / "broker.toml"
    config.write_text(
        "[leases]\nmin_ttl = 1.0\nsweep_interval = 0.05\npause_threshold = 0.5\n"
        "quarantine_cooldown = 0.2\n"
    )
    broker = BrokerProcess(tmp_path / "store.sqlite3", extra=["--config", str(config)])
    await broker.start()
    assert broker.proc is not None
    ttl = duration_pb2.Duration(seconds=2)  # renewed every 0.5 s: slack for a loaded machine
    failures: list[str] = []
    renewed_after_resume = asyncio.Event()
    resumed_at: list[float] = []
    try:
        async with stub_for(broker.address) as stub:
            kept = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner="k", ttl=ttl))).lease
            gone = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner="g", ttl=ttl))).lease

            async def renew_on_time() -> None:
                request = pb.RenewLeaseRequest(lease_id=kept.lease_id, epoch=1, owner="k")
                for _ in range(200):  # bounded
                    sent = time.monotonic()
                    try:
                        await stub.RenewLease(request, timeout=10)
                    except grpc.aio.AioRpcError as err:
                        failures.append(f"{err.code()}: {err.details()}")
                        renewed_after_resume.set()  # ends the wait: the assert below reports it
                        return
                    if resumed_at and sent > resumed_at[0]:
                        renewed_after_resume.set()
                    await asyncio.sleep(0.5)

            renewer = asyncio.create_task(renew_on_time())
            await asyncio.sleep(0.6)  # a renew or two before the stop
            broker.proc.send_signal(signal.SIGSTOP)
            try:
                await asyncio.sleep(4.0)  # stopped for twice the TTL
            finally:
                broker.proc.send_signal(signal.SIGCONT)
                resumed_at.append(time.monotonic())
            await within(renewed_after_resume.wait(), 10.0)
            assert not failures, failures
            listed = (await stub.ListLeases(pb.ListLeasesRequest(), timeout=5)).leases
            assert [(x.lease_id, x.epoch) for x in listed if x.owner == "k"] == [(kept.lease_id, 1)]

            # The abandoned lease ends within one grace (2/3 s) after the resume.
            async def gone_ended() -> None:
                request = pb.WatchLeasesRequest(owner="g")
                async for reply in stub.WatchLeases(request, timeout=10):
                    if reply.event.kind == lease_pb2.LEASE_EVENT_KIND_EXPIRED:
                        return
                    if reply.event.kind == lease_pb2.LEASE_EVENT_KIND_SNAPSHOT_END:
                        got = await stub.GetLease(pb.GetLeaseRequest(lease_id=gone.lease_id))
                        if got.lease.state == lease_pb2.LEASE_STATE_EXPIRED:
                            return

            await within(gone_ended(), 5.0)
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        assert any('"lease_pause_detected"' in line for line in broker.lines)
    finally:
        await broker.kill(signal.SIGTERM)
