"""Durable lease throughput: acquire+release pairs per second through gRPC, next to the raw
SQLite commit rate with the same settings, measured in the same run on the same disk.

    python benchmarks/bench_leases.py [--seconds 2] [--dir PATH]

Each pair is an AcquireLease and a ReleaseLease, each acknowledged only after its
``BEGIN IMMEDIATE`` ... ``COMMIT`` is fsynced (WAL, ``synchronous=FULL``); the sweeper adds one
more commit per pair when it frees the ID. The raw rate is one-row transactions on a bare
connection with the same pragmas: the ceiling for one writer thread on this disk.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sqlite3
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc
from broker_server.config import (
    BrokerConfig,
    GatewayConfig,
    LeaseConfig,
    StoreConfig,
)
from broker_server.domain.clock import SystemClock
from broker_server.runtime.leases import LeaseManager
from broker_server.services.lease_service import LeaseServicer
from broker_server.store.sqlite import SqliteStore

MAX_OPS = 20_000


def raw_sqlite_commits_per_second(path: Path, seconds: float) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
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


def _serve(store: str, conn: Connection) -> None:
    """Child process: the LeaseService on its own loop; sends its address, runs until told."""

    async def run() -> None:
        config = BrokerConfig(
            store=StoreConfig(path=store),
            # IDs come back at once, so the range (31 IDs, TWS's limit) never ends the run.
            leases=LeaseConfig(quarantine_cooldown=0.0, sweep_interval=0.01),
            gateways=(GatewayConfig(name="paper"),),
        )
        manager = LeaseManager(config, SqliteStore(store), SystemClock())
        await manager.start()
        server = grpc.aio.server()
        lease_service_pb2_grpc.add_LeaseServiceServicer_to_server(LeaseServicer(manager), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        conn.send(f"127.0.0.1:{port}")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await server.stop(None)
        await manager.stop()

    asyncio.run(run())


class ServerProcess:
    """The LeaseService in a separate process (spawn), so clients and server do not share a GIL."""

    def __init__(self, store: Path) -> None:
        self.parent, child = mp.get_context("spawn").Pipe()
        self.proc = mp.get_context("spawn").Process(target=_serve, args=(str(store), child))
        self.address = ""

    def start(self) -> None:
        self.proc.start()
        if not self.parent.poll(30):
            raise RuntimeError("the lease server did not start")
        self.address = self.parent.recv()

    def stop(self) -> None:
        self.parent.send("stop")
        self.proc.join(30)


async def pairs_per_second(address: str, clients: int, seconds: float) -> tuple[float, int]:
    """(acquire+release pairs per second, RESOURCE_EXHAUSTED retries) with ``clients`` callers."""
    done = 0
    retries = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int, stub: lease_service_pb2_grpc.LeaseServiceStub) -> None:
        nonlocal done, retries
        owner = f"bench-{n}"
        while time.perf_counter() < deadline and done < MAX_OPS:
            try:
                lease = (await stub.AcquireLease(pb.AcquireLeaseRequest(owner=owner))).lease
            except grpc.aio.AioRpcError as err:
                if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise
                retries += 1
                await asyncio.sleep(0.005)  # let the sweeper free IDs
                continue
            await stub.ReleaseLease(
                pb.ReleaseLeaseRequest(lease_id=lease.lease_id, epoch=lease.epoch, owner=owner)
            )
            done += 1

    async with grpc.aio.insecure_channel(address) as channel:
        stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
        await stub.ListLeases(pb.ListLeasesRequest())  # connect before the clock starts
        start = time.perf_counter()
        await asyncio.gather(*(client(n, stub) for n in range(clients)))
        elapsed = time.perf_counter() - start
    return done / elapsed, retries


async def round_trips_per_second(address: str, seconds: float) -> float:
    """ListLeases calls per second, one caller: the gRPC floor without any store write."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = lease_service_pb2_grpc.LeaseServiceStub(channel)
        await stub.ListLeases(pb.ListLeasesRequest())
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds and n < MAX_OPS:
            await stub.ListLeases(pb.ListLeasesRequest())
            n += 1
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each measurement")
    parser.add_argument(
        "--dir", default=None, help="folder for the SQLite files (default: a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        raw = raw_sqlite_commits_per_second(Path(tmp) / "raw.sqlite3", args.seconds)
        server = ServerProcess(Path(tmp) / "leases.sqlite3")
        server.start()
        try:
            floor = asyncio.run(round_trips_per_second(server.address, args.seconds))
            sequential, seq_retries = asyncio.run(pairs_per_second(server.address, 1, args.seconds))
            concurrent, conc_retries = asyncio.run(
                pairs_per_second(server.address, 16, args.seconds)
            )
        finally:
            server.stop()
    print(f"raw SQLite commits/s (WAL, synchronous=FULL, BEGIN IMMEDIATE): {raw:10.0f}")
    print(
        f"gRPC round trips/s without a store write (ListLeases), sequential: {floor:10.0f}"
        f"   (a pair needs 2)"
    )
    print(
        f"gRPC acquire+release pairs/s, sequential:                     {sequential:10.0f}"
        f"   ratio to raw commits {sequential / raw:.3f}   exhausted retries {seq_retries}"
    )
    print(
        f"gRPC acquire+release pairs/s, 16 concurrent clients:          {concurrent:10.0f}"
        f"   ratio to raw commits {concurrent / raw:.3f}   exhausted retries {conc_retries}"
    )
    print("(each pair is 2 acknowledged durable commits, plus 1 when the sweeper frees the ID)")


if __name__ == "__main__":
    main()
