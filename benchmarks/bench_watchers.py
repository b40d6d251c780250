"""Event fan-out to 1,000 watch streams through gRPC: the served broker's ``WatchLeases`` next
to a bare ``grpc.aio`` server with the same number of streams, in the same run (goal: broker /
bare <= 1.2 at p50 and p99).

    python benchmarks/bench_watchers.py [--watchers 1000] [--rounds 8] [--repeats 3]

The broker is what ``ibbroker serve --sim --store FILE`` runs (the real CLI in a child process,
default configuration). 1,000 ``WatchLeases`` streams, spread over ``--channels`` client
channels in this process, watch it; a driver on its own channel acquires and releases one lease
per round, which publishes ACQUIRED, then RELEASED and QUARANTINED (and FREED once the ID has
rested) to every stream. The bare server (a child process: ``grpc.aio`` with generic handlers,
no interceptors, one asyncio queue per stream) publishes the same pattern of events of the same
size. A round waits until every stream has its events, bounded by a timeout. The two servers
take turns ``--repeats`` times (the host may be shared) and the latencies are pooled.

Latency of an event = the watcher's wall clock at receipt - the event's ``event_time``, which
both servers stamp when they publish; both run on this host, so the clocks agree (the broker's
event time is the wall clock at its start advanced by the monotonic clock, which drifts from
the wall clock by far less than a millisecond over a run).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

import grpc
from google.protobuf import timestamp_pb2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bare_server import BareServer, serve_until_stopped
from benchmarks.figures import save
from benchmarks.served import ROOT, ServedBroker
from broker_client.ibbroker.v1 import lease_pb2, lease_service_pb2_grpc
from broker_client.ibbroker.v1 import lease_service_pb2 as pb
from broker_server.aio import within

GOAL = 1.2
ROUND_TIMEOUT = 20.0
"""Seconds a round may take before the benchmark gives up."""
OPEN_TIMEOUT = 60.0
"""Seconds all streams may take to open and receive their snapshot."""
K = lease_pb2.LeaseEventKind
LIVE = {K.LEASE_EVENT_KIND_ACQUIRED, K.LEASE_EVENT_KIND_RELEASED, K.LEASE_EVENT_KIND_QUARANTINED}
LIVE |= {K.LEASE_EVENT_KIND_FREED}
WATCH = "/bench.Bare/Watch"
PUBLISH = "/bench.Bare/Publish"


# --- the bare server (child process) -------------------------------------------------------


def _event(kind: lease_pb2.LeaseEventKind.ValueType, sequence: int) -> bytes:
    """A WatchLeasesResponse shaped like the broker's, stamped now."""
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    lease = lease_pb2.Lease(
        lease_id=str(uuid.uuid4()), gateway="paper", client_id=100, epoch=1, owner="driver",
        state=lease_pb2.LEASE_STATE_ACTIVE, mode=lease_pb2.LEASE_MODE_DIRECT,
        acquire_time=now, expire_time=now,
    )  # fmt: skip
    event = lease_pb2.LeaseEvent(
        sequence=sequence, event_time=now, kind=kind, gateway="paper", client_id=100, lease=lease
    )
    return pb.WatchLeasesResponse(event=event).SerializeToString()


def _bare_main(conn: Connection) -> None:
    async def run() -> None:
        queues: set[asyncio.Queue[bytes]] = set()
        sequence = 0

        async def watch(
            _request: bytes, _context: grpc.aio.ServicerContext
        ) -> AsyncIterator[bytes]:
            nonlocal sequence
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            queues.add(queue)
            try:
                yield _event(K.LEASE_EVENT_KIND_SNAPSHOT_END, sequence)
                while True:
                    yield await queue.get()
            finally:
                queues.discard(queue)

        async def publish(request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
            nonlocal sequence
            for raw in request.decode().split(","):
                kind = lease_pb2.LeaseEventKind.ValueType(int(raw))
                sequence += 1
                message = _event(kind, sequence)  # built once, as a bare hub would
                for queue in queues:
                    queue.put_nowait(message)
            return b""

        handler = grpc.method_handlers_generic_handler(
            "bench.Bare",
            {
                "Watch": grpc.unary_stream_rpc_method_handler(watch),
                "Publish": grpc.unary_unary_rpc_method_handler(publish),
            },
        )
        await serve_until_stopped(handler, conn)

    asyncio.run(run())


# --- the watchers (this process) -------------------------------------------------------------


class Tally:
    """Events received, by kind, over all streams; a round waits for a count."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.latencies: list[float] = []
        self._waiting: dict[tuple[int, int], asyncio.Event] = {}

    def add(self, kind: int, latency: float | None) -> None:
        self.counts[kind] += 1
        if latency is not None:
            self.latencies.append(latency)
        event = self._waiting.get((kind, self.counts[kind]))
        if event is not None:
            event.set()

    async def reach(self, kind: int, count: int, limit: float) -> None:
        """Wait until ``count`` events of ``kind`` arrived, at most ``limit`` seconds."""
        if self.counts[kind] >= count:
            return
        event = self._waiting.setdefault((kind, count), asyncio.Event())
        await within(event.wait(), limit)


Open = Callable[[grpc.aio.Channel], grpc.aio.UnaryStreamCall]
Trigger = Callable[[int], Awaitable[None]]


async def fan_out(
    address: str, open_stream: Open, trigger: Trigger, watchers: int, channels: int, rounds: int
) -> tuple[list[float], int]:
    """Open ``watchers`` streams over ``channels`` channels, run ``rounds`` rounds with
    ``trigger(round)``; returns (latencies in ms, streams that saw every round)."""
    tally = Tally()
    chans = [grpc.aio.insecure_channel(address) for _ in range(channels)]
    calls = [open_stream(chans[n % channels]) for n in range(watchers)]

    async def read(call: grpc.aio.UnaryStreamCall) -> None:
        async for response in call:
            event = response.event
            latency = None
            if event.kind in LIVE:
                latency = (time.time() - event.event_time.ToNanoseconds() / 1e9) * 1000.0
            tally.add(event.kind, latency)

    readers = [asyncio.create_task(read(call)) for call in calls]
    try:
        await tally.reach(K.LEASE_EVENT_KIND_SNAPSHOT_END, watchers, OPEN_TIMEOUT)
        for n in range(1, rounds + 1):
            await trigger(n)
            await tally.reach(K.LEASE_EVENT_KIND_QUARANTINED, n * watchers, ROUND_TIMEOUT)
        complete = sum(1 for r in readers if not r.done())
    finally:
        for call in calls:
            call.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for chan in chans:
            await chan.close()
    return tally.latencies, complete


async def run_bare(address: str, watchers: int, channels: int, rounds: int) -> list[float]:
    async with grpc.aio.insecure_channel(address) as driver:
        publish = driver.unary_unary(PUBLISH)

        async def trigger(_n: int) -> None:
            await publish(str(K.LEASE_EVENT_KIND_ACQUIRED).encode(), timeout=10)
            # The broker's driver waits for its ACQUIRED answer before releasing, and so here.
            kinds = f"{K.LEASE_EVENT_KIND_RELEASED},{K.LEASE_EVENT_KIND_QUARANTINED}"
            await publish(kinds.encode(), timeout=10)

        def open_stream(chan: grpc.aio.Channel) -> grpc.aio.UnaryStreamCall:
            watch = chan.unary_stream(
                WATCH, response_deserializer=pb.WatchLeasesResponse.FromString
            )
            return watch(b"")

        latencies, _ = await fan_out(address, open_stream, trigger, watchers, channels, rounds)
        return latencies


async def run_broker(address: str, watchers: int, channels: int, rounds: int) -> list[float]:
    async with grpc.aio.insecure_channel(address) as driver:
        stub = lease_service_pb2_grpc.LeaseServiceStub(driver)

        async def trigger(_n: int) -> None:
            got = (
                await stub.AcquireLease(pb.AcquireLeaseRequest(owner="driver"), timeout=10)
            ).lease
            await stub.ReleaseLease(
                pb.ReleaseLeaseRequest(lease_id=got.lease_id, epoch=got.epoch, owner="driver"),
                timeout=10,
            )

        def open_stream(chan: grpc.aio.Channel) -> grpc.aio.UnaryStreamCall:
            return lease_service_pb2_grpc.LeaseServiceStub(chan).WatchLeases(
                pb.WatchLeasesRequest()
            )

        latencies, _ = await fan_out(address, open_stream, trigger, watchers, channels, rounds)
        return latencies


def quantiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=1000, help="streams per server")
    parser.add_argument("--rounds", type=int, default=8, help="acquire+release rounds per run")
    parser.add_argument("--channels", type=int, default=10, help="client channels")
    parser.add_argument(
        "--repeats", type=int, default=3, help="bare/broker alternations (the host may be busy)"
    )
    parser.add_argument("--root", default=str(ROOT), help="source tree whose broker to serve")
    args = parser.parse_args()
    bare_ms: list[float] = []
    broker_ms: list[float] = []
    for _ in range(args.repeats):
        with BareServer(_bare_main, start_timeout=30) as bare:
            bare_ms += asyncio.run(
                run_bare(bare.address, args.watchers, args.channels, args.rounds)
            )
        with (
            tempfile.TemporaryDirectory() as tmp,
            ServedBroker(Path(tmp) / "leases.sqlite3", root=Path(args.root)) as broker,
        ):
            broker_ms += asyncio.run(
                run_broker(broker.address, args.watchers, args.channels, args.rounds)
            )
    save("watchers", bare_ms=bare_ms, broker_ms=broker_ms, watchers=args.watchers)
    (bare50, bare99), (broker50, broker99) = quantiles(bare_ms), quantiles(broker_ms)
    print(
        f"bare grpc.aio server, {args.watchers} streams:   event latency p50 {bare50:7.1f} ms"
        f"   p99 {bare99:7.1f} ms   ({len(bare_ms)} deliveries)"
    )
    print(
        f"served broker WatchLeases, {args.watchers} streams: event latency p50 {broker50:7.1f} ms"
        f"   p99 {broker99:7.1f} ms   ({len(broker_ms)} deliveries)"
    )
    r50, r99 = broker50 / bare50, broker99 / bare99
    verdict = "meets" if max(r50, r99) <= GOAL else "misses"
    print(f"broker / bare: p50 {r50:.2f}   p99 {r99:.2f}   ({verdict} the goal <= {GOAL})")


if __name__ == "__main__":
    main()
