"""Durable lease throughput of the served broker: acquire+release pairs per second through gRPC
from 16 concurrent clients, per raw SQLite commit per second measured in the same run on the
same disk (goal: >= 0.5).

    python benchmarks/bench_leases.py [--seconds 3] [--clients 16] [--dir PATH]

The broker is what ``ibbroker serve --store FILE`` runs: the real CLI in a child process
(``serve --sim --store FILE --config bench.toml``), with the app's own store configuration
(WAL, ``synchronous=FULL``, group commit). The config file changes only what the ID range
needs to keep up with a load test: released IDs rest 0 s (``leases.quarantine_cooldown``) and
the sweeper, which proves them free with a probe connect to the simulator, runs every 10 ms.
Every acquire and every release is acknowledged only after its commit is fsynced.

The raw rate is one-row ``BEGIN IMMEDIATE`` ... ``COMMIT`` transactions, one after the other,
on a bare connection with the same pragmas in the same folder: what one fsync costs on this
disk. It is measured in slices before and after the broker runs (the disk may be shared); the
ratio uses the median slice. The same store driven alone (no gRPC) shows what group commit
gives by itself; ListLeases round trips from the same 16 clients show the gRPC ceiling. The store's
own commits during the 16-client run come from the broker's ``ibbroker.store.*`` counters.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import save
from benchmarks.served import ROOT, ServedBroker, write_config
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc

MAX_OPS = 50_000
"""Upper bound of commits / pairs per measurement, whatever the time limit."""
GOAL = 0.5

CONFIG = """
[server]
metrics_log_interval = 0.25

[leases]
quarantine_cooldown = 0.0
sweep_interval = 0.01
"""


def raw_rates(path: Path, seconds: float, slices: int = 3) -> list[float]:
    """Raw commit rates over ``slices`` equal parts of ``seconds`` (the disk is shared and
    noisy: the benchmark reports the median of every slice before and after)."""
    return [raw_sqlite_commits_per_second(path, seconds / slices) for _ in range(slices)]


def raw_sqlite_commits_per_second(path: Path, seconds: float) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds and n < MAX_OPS:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", (f"row-{n}",))
        conn.execute("COMMIT")
        n += 1
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


async def pairs_per_second(address: str, clients: int, seconds: float) -> tuple[float, int, int]:
    """(pairs/s, pairs, RESOURCE_EXHAUSTED retries) with ``clients`` concurrent callers, each
    on its own channel (as separate strategies would be)."""
    done = 0
    retries = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int, stub: lease_service_pb2_grpc.LeaseServiceStub) -> None:
        nonlocal done, retries
        owner = f"bench-{n}"
        while time.perf_counter() < deadline and done < MAX_OPS:
            try:
                lease = (
                    await stub.AcquireLease(pb.AcquireLeaseRequest(owner=owner), timeout=10)
                ).lease
            except grpc.aio.AioRpcError as err:
                if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise
                retries += 1
                await asyncio.sleep(0.005)  # the sweeper frees IDs every 10 ms
                continue
            await stub.ReleaseLease(
                pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner=owner),
                timeout=10,
            )
            done += 1

    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    try:
        stubs = [lease_service_pb2_grpc.LeaseServiceStub(c) for c in channels]
        for stub in stubs:  # connect before the clock starts
            await stub.ListLeases(pb.ListLeasesRequest(), timeout=10)
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(client(n, stub) for n, stub in enumerate(stubs)))
        elapsed = time.perf_counter() - start
    finally:
        for channel in channels:
            await channel.close()
    return done / elapsed, done, retries


async def store_pairs_per_second(path: Path, clients: int, seconds: float) -> float:
    """Durable pairs/s through the Store API alone (no gRPC, no runtime): ``clients``
    coroutines each doing save_acquire, save_end and save_free (the sweeper's write) on its own
    client ID, awaiting each, as the runtime does. Isolates what the store costs."""
    from broker_server.domain.leases import (
        LeaseMode,
        LeaseRecord,
        LeaseState,
        Quarantine,
        QuarantineReason,
    )
    from broker_server.store.sqlite import SqliteStore

    store = SqliteStore(path)
    await store.open()
    done = 0

    async def client(client_id: int) -> None:
        nonlocal done
        epoch = 0
        while time.perf_counter() < deadline and done < MAX_OPS:
            epoch += 1
            now = time.time()
            lease = LeaseRecord(
                f"{client_id}-{epoch}", "paper", client_id, epoch, "bench", LeaseMode.DIRECT,
                LeaseState.ACTIVE, 30.0, now, now + 30.0,
            )  # fmt: skip
            await asyncio.wrap_future(store.save_acquire(lease))
            ended = LeaseRecord(
                lease.lease_id, "paper", client_id, epoch, "bench", LeaseMode.DIRECT,
                LeaseState.RELEASED, 30.0, now, now, end_time=now,
            )  # fmt: skip
            rest = Quarantine("paper", client_id, now, LeaseMode.DIRECT, QuarantineReason.RELEASED)
            await asyncio.wrap_future(store.save_end(ended, rest))
            await asyncio.wrap_future(store.save_free("paper", client_id))
            done += 1

    start = time.perf_counter()
    deadline = start + seconds
    try:
        await asyncio.gather(*(client(100 + n) for n in range(clients)))
    finally:
        await store.close()
    return done / (time.perf_counter() - start)


async def round_trips_per_second(address: str, clients: int, seconds: float) -> float:
    """ListLeases calls per second from ``clients`` concurrent callers: the same gRPC path
    without a store write, so half of it is the most pairs/s any store could give."""
    done = 0

    async def client(stub: lease_service_pb2_grpc.LeaseServiceStub) -> None:
        nonlocal done
        while time.perf_counter() < deadline and done < 2 * MAX_OPS:
            await stub.ListLeases(pb.ListLeasesRequest(), timeout=10)
            done += 1

    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    try:
        stubs = [lease_service_pb2_grpc.LeaseServiceStub(c) for c in channels]
        for stub in stubs:
            await stub.ListLeases(pb.ListLeasesRequest(), timeout=10)
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(client(stub) for stub in stubs))
        return done / (time.perf_counter() - start)
    finally:
        for channel in channels:
            await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--dir", default=None, help="folder for the SQLite files (default: temp)")
    parser.add_argument(
        "--root", default=str(ROOT), help="source tree whose broker to serve (compare versions)"
    )
    args = parser.parse_args()
    sys.path.insert(0, args.root)  # the store measured alone comes from the same tree
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        raw_before = raw_rates(folder / "raw.sqlite3", args.seconds)
        alone = asyncio.run(
            store_pairs_per_second(folder / "alone.sqlite3", args.clients, args.seconds)
        )
        config = write_config(folder / "bench.toml", CONFIG)
        with ServedBroker(folder / "leases.sqlite3", config, root=Path(args.root)) as broker:
            floor = asyncio.run(round_trips_per_second(broker.address, args.clients, args.seconds))
            sequential, _, _ = asyncio.run(pairs_per_second(broker.address, 1, args.seconds))
            commits0 = broker.metric("ibbroker.store.commits", outcome="ok")
            calls0 = broker.metric("ibbroker.store.calls", outcome="ok")
            concurrent, pairs, retries = asyncio.run(
                pairs_per_second(broker.address, args.clients, args.seconds)
            )
            commits = broker.metric("ibbroker.store.commits", outcome="ok") - commits0
            calls = broker.metric("ibbroker.store.calls", outcome="ok") - calls0
        raw_after = raw_rates(folder / "raw.sqlite3", args.seconds)
    raw = statistics.median(raw_before + raw_after)
    ratio = concurrent / raw
    save(
        "leases",
        raw_commits_per_s=raw_before + raw_after,
        store_alone_pairs_per_s=alone,
        grpc_round_trips_per_s=floor,
        pairs_per_s_1_client=sequential,
        pairs_per_s=concurrent,
        clients=args.clients,
        goal_pairs_per_raw_commit=GOAL,
    )
    print(
        f"raw SQLite commits/s (WAL, synchronous=FULL, BEGIN IMMEDIATE, same disk): {raw:8.0f}"
        f"   (median; slices {min(raw_before + raw_after):.0f}..{max(raw_before + raw_after):.0f})"
    )
    print(
        f"store alone (no gRPC), {args.clients} callers, acquire+end+free pairs/s:  {alone:8.0f}"
        f"   per raw commit/s {alone / raw:.2f}"
    )
    print(
        f"served broker, gRPC round trips/s without a store write, {args.clients} clients: "
        f"{floor:8.0f}   (so at most {floor / 2:.0f} pairs/s whatever the store)"
    )
    print(f"served broker, durable acquire+release pairs/s, 1 client:           {sequential:8.0f}")
    print(
        f"served broker, durable acquire+release pairs/s, {args.clients} clients:        "
        f"{concurrent:8.0f}   exhausted retries {retries}"
    )
    if commits:
        print(
            f"store during the {args.clients}-client run: {commits:.0f} commits for {calls:.0f} "
            f"calls ({calls / commits:.1f} calls per commit, {commits / max(pairs, 1):.2f} "
            "commits per pair)"
        )
    else:
        print("store during the run: no ibbroker.store.commits counter (a broker before #9)")
    verdict = "meets" if ratio >= GOAL else "misses"
    print(
        f"pairs/s per raw commit/s at {args.clients} clients: {ratio:.2f}   "
        f"({verdict} the goal >= {GOAL}); pairs/s per gRPC ceiling: {concurrent / (floor / 2):.2f}"
    )


if __name__ == "__main__":
    main()
