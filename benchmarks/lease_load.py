"""The load generator and the bare reference server of ``bench_leases.py``.

:class:`ClientPool`: N concurrent callers spread over a few spawned client processes, so the
clients' Python does not share one interpreter (and one GIL) with each other or with the
benchmark's own bookkeeping. Each caller has its own channel (as separate strategies would) and
does AcquireLease then ReleaseLease, each waiting for its own answer, until a deadline shared by
every process (``time.monotonic`` is one clock for every process on Linux). Each process reports
the pairs it completed before the deadline and the CPU seconds it used meanwhile, so the
benchmark can show how much of the machine the load generator itself took.

:class:`BareServer`: a ``grpc.aio`` server in a spawned process serving ``LeaseService`` with
two trivial unary methods (AcquireLease answers one prebuilt lease, ReleaseLease an empty
message; no interceptors, no store, no logging). Driven by the same :class:`ClientPool`, it is
the most pairs/s this machine's Python gRPC gives with this process layout, whatever the
broker does.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import resource
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from benchmarks.bare_server import BareServer, serve_until_stopped

MAX_PAIRS = 100_000
"""Upper bound of pairs per caller per measurement, whatever the time limit."""


def cpu_seconds(pid: int, *, main_thread: bool = False) -> float:
    """User + system CPU seconds of process ``pid`` so far, or of its main thread alone (the
    one that runs its event loop); Linux /proc, 0.0 elsewhere."""
    path = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    try:
        with open(path) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the client processes -------------------------------------------------------------------


async def _run_callers(
    address: str, callers: list[int], start: float, deadline: float, lists: bool
) -> tuple[int, int, float]:
    import grpc

    from broker_client.ibbroker.v1 import lease_service_pb2 as pb
    from broker_client.ibbroker.v1 import lease_service_pb2_grpc

    done = 0
    retries = 0
    channels = [grpc.aio.insecure_channel(address) for _ in callers]
    stubs = [lease_service_pb2_grpc.LeaseServiceStub(c) for c in channels]
    try:
        # Connected before the clock starts.
        await asyncio.gather(*(s.ListLeases(pb.ListLeasesRequest(), timeout=10) for s in stubs))

        async def caller(n: int, stub: lease_service_pb2_grpc.LeaseServiceStub) -> None:
            nonlocal done, retries
            owner = f"bench-{n}"
            acquire = pb.AcquireLeaseRequest(owner=owner)
            listing = pb.ListLeasesRequest(owner=owner)
            pairs = 0
            while time.monotonic() < deadline and pairs < MAX_PAIRS:
                if lists:  # the same two round trips, with no lease work behind them
                    await stub.ListLeases(listing, timeout=10)
                    await stub.ListLeases(listing, timeout=10)
                    pairs += 1
                    if time.monotonic() <= deadline:
                        done += 1
                    continue
                try:
                    lease = (await stub.AcquireLease(acquire, timeout=10)).lease
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
                pairs += 1
                if time.monotonic() <= deadline:
                    done += 1

        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0 = time.process_time()
        await asyncio.gather(*(caller(n, s) for n, s in zip(callers, stubs, strict=True)))
        cpu = time.process_time() - cpu0
    finally:
        await asyncio.gather(*(c.close() for c in channels))
    return done, retries, cpu


def _client_main(conn: Connection) -> None:
    while True:
        job = conn.recv()
        if job is None:
            return
        address, callers, start, deadline, lists = job
        try:
            conn.send(asyncio.run(_run_callers(address, callers, start, deadline, lists)))
        except Exception as err:  # reported to the parent, which raises it
            conn.send(err)


@dataclass(frozen=True)
class LoadResult:
    """One measurement of the client pool."""

    pairs: int
    """Acquire+release pairs completed before the deadline, all callers."""
    seconds: float
    """Length of the measurement."""
    retries: int
    """AcquireLease calls answered RESOURCE_EXHAUSTED (every ID held or resting)."""
    client_cpu: float
    """CPU seconds every client process used during the measurement."""
    server_cpu: float
    """CPU seconds the server process used between start and deadline (0.0 when not asked)."""
    gateway_cpu: float = 0.0
    """The same for the gateway process behind the server (0.0 when not asked)."""
    loop_cpu: float = 0.0
    """The server's main thread alone (its event loop) between start and deadline."""

    @property
    def pairs_per_second(self) -> float:
        return self.pairs / self.seconds

    @property
    def client_cores(self) -> float:
        """Cores the client processes kept busy (CPU seconds per second)."""
        return self.client_cpu / self.seconds

    @property
    def server_cores(self) -> float:
        """Cores the server kept busy."""
        return self.server_cpu / self.seconds

    def ms_per_pair(self, cpu: float) -> float:
        """``cpu`` seconds per completed pair, in milliseconds."""
        return 1000 * cpu / self.pairs if self.pairs else float("nan")


class ClientPool:
    """``procs`` spawned client processes, reused for every measurement."""

    def __init__(self, procs: int) -> None:
        ctx = mp.get_context("spawn")
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(procs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_client_main, args=(child,), daemon=True)
            self._conns.append(parent)
            self._procs.append(proc)

    @property
    def size(self) -> int:
        return len(self._procs)

    def __enter__(self) -> ClientPool:
        for proc in self._procs:
            proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self._conns:
            conn.send(None)
        for proc in self._procs:
            proc.join(15)
            if proc.is_alive():
                proc.kill()

    def run(
        self,
        address: str,
        callers: int,
        seconds: float,
        *,
        lists: bool = False,
        server_pid: int | None = None,
        gateway_pid: int | None = None,
    ) -> LoadResult:
        """``callers`` concurrent callers (spread round-robin over the processes) doing pairs
        on ``address`` for ``seconds``; each process connects its channels first. With
        ``lists`` a "pair" is two ListLeases calls (filtered by the caller's own owner, so the
        answer is empty): the same round trips through the same server edge, no lease work.
        ``server_pid`` (and ``gateway_pid``): also read that process's CPU time at the start and
        at the deadline."""
        spread: list[list[int]] = [[] for _ in self._conns]
        for n in range(callers):
            spread[n % len(spread)].append(n)
        busy = [(conn, ids) for conn, ids in zip(self._conns, spread, strict=True) if ids]
        start = time.monotonic() + 1.0  # time for every process to connect its channels
        deadline = start + seconds
        for conn, ids in busy:
            conn.send((address, ids, start, deadline, lists))
        server_cpu = gateway_cpu = loop_cpu = 0.0
        if server_pid is not None:
            time.sleep(max(0.0, start - time.monotonic()))
            server_cpu = -cpu_seconds(server_pid)
            loop_cpu = -cpu_seconds(server_pid, main_thread=True)
            gateway_cpu = -cpu_seconds(gateway_pid) if gateway_pid is not None else 0.0
            time.sleep(max(0.0, deadline - time.monotonic()))
            server_cpu += cpu_seconds(server_pid)
            loop_cpu += cpu_seconds(server_pid, main_thread=True)
            gateway_cpu += cpu_seconds(gateway_pid) if gateway_pid is not None else 0.0
        pairs = retries = 0
        cpu = 0.0
        for conn, _ids in busy:
            if not conn.poll(seconds + 60):
                raise RuntimeError("a client process did not report")
            answer = conn.recv()
            if isinstance(answer, Exception):
                raise answer
            done, again, used = answer
            pairs += done
            retries += again
            cpu += used
        return LoadResult(pairs, seconds, retries, cpu, server_cpu, gateway_cpu, loop_cpu)


# --- the bare server --------------------------------------------------------------------------


def _bare_main(conn: Connection) -> None:
    import grpc
    from google.protobuf import duration_pb2, timestamp_pb2

    from broker_client.ibbroker.v1 import lease_pb2
    from broker_client.ibbroker.v1 import lease_service_pb2 as pb

    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    lease = lease_pb2.Lease(
        lease_id="9b21a895-47d1-414f-b92e-8b7263ecb289", gateway="paper", client_id=100,
        epoch=1, owner="bench", state=lease_pb2.LEASE_STATE_ACTIVE,
        mode=lease_pb2.LEASE_MODE_DIRECT, acquire_time=now, expire_time=now,
        ttl=duration_pb2.Duration(seconds=30),
    )  # fmt: skip
    acquired = pb.AcquireLeaseResponse(lease=lease)
    released = pb.ReleaseLeaseResponse()

    async def acquire(_request: pb.AcquireLeaseRequest, _context: Any) -> pb.AcquireLeaseResponse:
        return acquired

    async def release(_request: pb.ReleaseLeaseRequest, _context: Any) -> pb.ReleaseLeaseResponse:
        return released

    async def list_leases(_request: pb.ListLeasesRequest, _context: Any) -> pb.ListLeasesResponse:
        return pb.ListLeasesResponse()

    def unary(fn: Any, request: Any, response: Any) -> grpc.RpcMethodHandler:
        return grpc.unary_unary_rpc_method_handler(
            fn,
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )

    # The generated servicer's own handlers (what add_LeaseServiceServicer_to_server registers).
    handler = grpc.method_handlers_generic_handler(
        "ibbroker.v1.LeaseService",
        {
            "AcquireLease": unary(acquire, pb.AcquireLeaseRequest, pb.AcquireLeaseResponse),
            "ReleaseLease": unary(release, pb.ReleaseLeaseRequest, pb.ReleaseLeaseResponse),
            "ListLeases": unary(list_leases, pb.ListLeasesRequest, pb.ListLeasesResponse),
        },
    )

    asyncio.run(serve_until_stopped(handler, conn))


def bare_server() -> BareServer:
    """The bare ``grpc.aio`` LeaseService in a spawned process; ``pid`` for its CPU time."""
    return BareServer(_bare_main)


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the benchmark's parent) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
