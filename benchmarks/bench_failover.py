"""Failover time on one PostgreSQL: a leader broker is SIGKILLed and a standby broker takes
over; the time from the kill to the standby's broker proper listening (it has then reloaded the
leases and connected its gateway), over ``--trials`` kills, min/median/max, next to the
leadership TTL (goal: median <= TTL + 2 s).

    python benchmarks/bench_failover.py [--trials 20] [--ttl 1.0] [--dsn URI]

Real processes: ``ibbroker serve --sim`` twice, ``store.backend = "postgres"``,
``store.standby = true``, on the ``pgserver`` wheel's server (or ``--dsn``). Each trial: 8
clients acquire a lease each on the leader (30 s TTL), the standby waits, SIGKILL, and the new
leader must serve all 8 as ACTIVE with their epochs (0 lost leases before their TTL; they are
released after the check, so the ID range lasts); the leadership epoch must rise by one per failover and no
client ID may be ACTIVE twice in the store. The survivor becomes the next trial's leader and a
fresh standby is started. Bounded: every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import grpc

from benchmarks.progress import track
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as pb_grpc
from tests.conftest import free_port
from tests.server.helpers import LogTail
from tests.support.postgres import fresh_database, start_server

WAIT = 60.0
CLIENTS = 8


def spawn(folder: Path, dsn: str, config: Path, n: int) -> tuple[subprocess.Popen[str], LogTail]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker_server", "serve", "--config", str(config), "--sim",
         "--listen", f"127.0.0.1:{free_port()}", "--store", str(folder / f"b{n}.sqlite3")],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "IBBROKER_STORE_DSN": dsn},
    )  # fmt: skip
    assert proc.stderr is not None
    return proc, LogTail(proc.stderr)


async def _store_facts(dsn: str) -> tuple[int, int]:
    """The leadership epoch, and how many client IDs are ACTIVE more than once."""
    conn = await asyncpg.connect(dsn)
    try:
        epoch = int(await conn.fetchval("SELECT epoch FROM leadership"))
        doubles = int(
            await conn.fetchval(
                "SELECT count(*) FROM (SELECT 1 FROM leases WHERE state = 'ACTIVE' "
                "GROUP BY gateway, client_id HAVING count(*) > 1) AS d"
            )
        )
        return epoch, doubles
    finally:
        await conn.close()


def run(dsn: str, trials: int, ttl: float) -> list[float]:
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "broker.toml"
        config.write_text(
            f'[store]\nbackend = "postgres"\nleadership_ttl = {ttl}\nstandby = true\n'
            # Released IDs rest briefly, so 8 leases per trial never exhaust the 31-ID range.
            "[leases]\nquarantine_cooldown = 0.2\n"
        )
        procs: list[subprocess.Popen[str]] = []
        try:
            leader, tail = spawn(folder, dsn, config, 0)
            procs.append(leader)
            address = str(tail.wait_for("grpc_listening", WAIT)["address"])
            held: list[tuple[float, lease_pb2.Lease]] = []
            for trial in track(range(1, trials + 1), "failovers", trials):
                with grpc.insecure_channel(address) as channel:
                    stub = pb_grpc.LeaseServiceStub(channel)
                    for client in range(CLIENTS):
                        request = pb.AcquireLeaseRequest(owner=f"t{trial}c{client}")
                        got = stub.AcquireLease(request, timeout=10).lease
                        held.append((time.monotonic(), got))
                standby, standby_tail = spawn(folder, dsn, config, trial)
                procs.append(standby)
                standby_tail.wait_for("store_standby", WAIT)
                leader.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                leader.wait(10)
                address = str(standby_tail.wait_for("grpc_listening", WAIT)["address"])
                took = time.monotonic() - killed
                with grpc.insecure_channel(address) as channel:
                    stub = pb_grpc.LeaseServiceStub(channel)
                    for _at, lease in held:
                        now = stub.GetLease(pb.GetLeaseRequest(lease_id=lease.lease_id), timeout=10)
                        assert now.lease.epoch == lease.epoch, "the new leader lost a lease"
                        assert now.lease.state == lease_pb2.LEASE_STATE_ACTIVE, (
                            "a lease ended early"
                        )
                    for _at, lease in held:  # checked: give the IDs back (31 per gateway)
                        release = pb.ReleaseLeaseRequest(
                            lease_id=lease.lease_id, epoch=lease.epoch, owner=lease.owner
                        )
                        stub.ReleaseLease(release, timeout=10)
                    held.clear()
                epoch, doubles = asyncio.run(_store_facts(dsn))
                assert epoch == trial + 1, f"leadership epoch {epoch} after {trial} failovers"
                assert doubles == 0, "a client ID is ACTIVE twice"
                times.append(took)
                print(f"trial {trial}: {took:.2f} s", flush=True)
                leader = standby
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--ttl", type=float, default=1.0)
    parser.add_argument("--dsn", default="", help="a PostgreSQL server of your own")
    args = parser.parse_args()
    servers: Iterator[str] = iter([args.dsn]) if args.dsn else start_server()
    server = next(servers)
    try:
        dsn = asyncio.run(fresh_database(server))
        times = run(dsn, args.trials, args.ttl)
    finally:
        for _ in servers:
            pass
    print(
        f"failover (SIGKILL -> standby serving) over {len(times)} trials: "
        f"min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s; TTL {args.ttl} s, goal median <= {args.ttl + 2:.1f} s: "
        f"{'met' if statistics.median(times) <= args.ttl + 2 else 'NOT met'}; "
        f"{CLIENTS} leases per trial all served by each new leader, 0 client IDs held twice, "
        "leadership epochs +1 per failover"
    )


if __name__ == "__main__":
    main()
