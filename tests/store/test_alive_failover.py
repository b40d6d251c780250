"""The alive mark across a failover, with real broker processes on one PostgreSQL: the leader holds
a lease whose client stopped renewing and one whose client keeps renewing, and is SIGKILLed; the
standby takes over after the leadership TTL and counts the downtime from the old leader's alive
mark in the leadership row (the server's clock), as a restart of one broker counts it from its
local file. The abandoned lease ends within its TTL + one grace measured from the old leader's
last alive moment (not a new TTL from the takeover); the renewed one is kept with its epoch; no
local alive file is written beside ``store.path``."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import asyncpg
import grpc

from broker_client.errors import BrokerError
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as pb_grpc
from tests.conftest import free_port
from tests.server.helpers import broker_process
from tests.store.test_failover import TTL, _config, _standby

LEASE_TTL = 9.0
GRACE = LEASE_TTL / 3
RENEW_EVERY = 1.0
"""The renewing client's rhythm: well inside a grace, so it renews on the new leader in time."""
MAX_RENEWALS = 60
"""The renewing loop is bounded in count (and by the test's own end)."""


def _alive_files(folder: Path) -> list[Path]:
    return list(folder.glob("*.alive"))


def _num(value: object) -> float:
    assert isinstance(value, (int, float)), value
    return float(value)


def _seconds(ts: object) -> float:
    return ts.seconds + ts.nanos / 1e9  # type: ignore[attr-defined]


class Renewer:
    """A client that keeps renewing one lease, moving to the next address on UNAVAILABLE."""

    def __init__(self, addresses: list[str], lease: lease_pb2.Lease) -> None:
        self.addresses = addresses
        self.lease = lease
        self.renewed: list[tuple[float, str]] = []
        self.errors: list[tuple[str, str]] = []
        self.stop = threading.Event()
        self.first = threading.Event()
        """Set at the first renewal that succeeded."""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        at = 0
        for _ in range(MAX_RENEWALS):
            if self.stop.wait(RENEW_EVERY):
                return
            address = self.addresses[at]
            try:
                with grpc.insecure_channel(address) as channel:
                    pb_grpc.LeaseServiceStub(channel).RenewLease(
                        pb.RenewLeaseRequest(
                            lease_id=self.lease.lease_id, epoch=self.lease.epoch, owner="kept"
                        ),
                        timeout=RENEW_EVERY,
                    )
                self.renewed.append((time.time(), address))
                self.first.set()
            except grpc.RpcError as err:
                error = BrokerError.from_rpc_error(err)
                self.errors.append((str(error.code), error.reason or ""))
                at = (at + 1) % len(self.addresses)


async def _leadership(dsn: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT epoch, since, alive_at, alive_slack FROM leadership WHERE scope = 'ibbroker'"
        )
    finally:
        await conn.close()
    assert row is not None
    return row


async def test_a_takeover_counts_the_dead_leaders_downtime_from_the_leadership_row(
    tmp_path: Path, pg_dsn: str
) -> None:
    leader_args = ["serve", "--config", str(_config(tmp_path, False)), "--sim"]
    leader_args += ["--listen", f"127.0.0.1:{free_port()}", "--store", str(tmp_path / "a.sqlite3")]
    standby_address = f"127.0.0.1:{free_port()}"
    with broker_process(leader_args, env={"IBBROKER_STORE_DSN": pg_dsn}) as (leader, address, _):
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.LeaseServiceStub(channel)
            request = pb.AcquireLeaseRequest(owner="gone")
            request.ttl.FromSeconds(int(LEASE_TTL))
            abandoned = stub.AcquireLease(request, timeout=10).lease
            request = pb.AcquireLeaseRequest(owner="kept")
            request.ttl.FromSeconds(int(LEASE_TTL))
            kept = stub.AcquireLease(request, timeout=10).lease
        standby, tail = _standby(tmp_path, pg_dsn, int(standby_address.rsplit(":", 1)[1]))
        renewer = Renewer([address, standby_address], kept)
        try:
            tail.wait_for("store_standby", 30)
            renewer.thread.start()
            await asyncio.to_thread(renewer.first.wait, 10)
            assert renewer.renewed, f"no renewal on the leader: {renewer.errors}"
            leader.send_signal(signal.SIGKILL)
            leader.wait(10)
            old = await _leadership(pg_dsn)  # final: a dead leader marks nothing any more
            tail.wait_for("grpc_listening", 30)
            taken = tail.wait_for("store_leadership_taken", 1)
            started = tail.wait_for("leases_started", 1)
            new = await _leadership(pg_dsn)
            assert new["epoch"] == old["epoch"] + 1
            # The downtime is measured on the server's clock alone: the new take's time less the
            # old leader's alive mark and its slack (its local window: TTL * (1 - margin)).
            alive_old = old["alive_at"].timestamp()
            assert old["alive_slack"] == TTL * 0.8
            expected = new["since"].timestamp() - alive_old - old["alive_slack"]
            assert expected > 0
            assert abs(_num(taken["downtime"]) - expected) < 0.01, (taken, expected)
            assert started["alive_mark"] == "store"
            downtime = _num(started["downtime"])
            assert _num(taken["downtime"]) <= downtime < _num(taken["downtime"]) + 10
            with grpc.insecure_channel(standby_address) as channel:
                stub = pb_grpc.LeaseServiceStub(channel)
                got = stub.GetLease(pb.GetLeaseRequest(lease_id=abandoned.lease_id), timeout=10)
                restored = got.lease
                assert restored.state == lease_pb2.LEASE_STATE_ACTIVE
                before, after = _seconds(abandoned.expire_time), _seconds(restored.expire_time)
                # The downtime was added (the standby used to count none) ...
                assert after >= before + downtime - 0.01, (before, after, downtime)
                # ... and the bound holds: TTL + one grace of uptime measured from the old
                # leader's last alive moment, i.e. what the lease had left at that moment plus
                # one grace after the takeover; never a new TTL from the takeover.
                took_over = new["since"].timestamp()
                assert after <= took_over + (before - alive_old) + GRACE + 0.01
                assert after < took_over + LEASE_TTL
                print(
                    f"alive failover: downtime counted {downtime:.3f} s (take {taken['downtime']} s, "
                    f"gap since the mark {took_over - alive_old:.3f} s); abandoned lease kept "
                    f"{after - took_over:.3f} s after the takeover (had "
                    f"{before - alive_old:.3f} s left at the mark, grace {GRACE} s)"
                )
                # The abandoned lease ends on time on the new leader.
                until = time.monotonic() + LEASE_TTL + GRACE + 10
                while True:
                    state = stub.GetLease(
                        pb.GetLeaseRequest(lease_id=abandoned.lease_id), timeout=5
                    ).lease.state
                    if state != lease_pb2.LEASE_STATE_ACTIVE:
                        ended = time.time()
                        break
                    assert time.monotonic() < until, "the abandoned lease never ended"
                    await asyncio.sleep(0.1)
                assert state == lease_pb2.LEASE_STATE_EXPIRED
                assert ended <= after + 1.5  # a sweep interval (0.5 s) and a poll late at most
                # The renewed lease survived the failover with its epoch.
                on_new = [t for t, a in renewer.renewed if a == standby_address]
                assert on_new, f"never renewed on the new leader: {renewer.errors}"
                got = stub.GetLease(pb.GetLeaseRequest(lease_id=kept.lease_id), timeout=5).lease
                assert got.state == lease_pb2.LEASE_STATE_ACTIVE and got.epoch == kept.epoch
                assert not [e for e in renewer.errors if "LEASE_" in e[1]], renewer.errors
            # PostgreSQL mode keeps no local alive file beside store.path.
            assert not _alive_files(tmp_path)
            standby.send_signal(signal.SIGTERM)
            assert standby.wait(15) == 0
        finally:
            renewer.stop.set()
            if renewer.thread.is_alive():
                renewer.thread.join(5)
            if standby.poll() is None:
                standby.kill()
                standby.wait(10)
