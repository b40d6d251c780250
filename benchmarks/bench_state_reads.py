"""GetConnectionState through gRPC: the served broker next to a bare ``grpc.aio`` hop answering
the same bytes, in the same run (issue 9, finding 12: goal broker / bare <= 1.2 at p99).

    python benchmarks/bench_state_reads.py [--calls 2000] [--concurrency 8] [--repeats 2]

The broker is what ``ibbroker serve --sim --store FILE`` runs (the real CLI in a child process);
its reads serve the snapshot the connection manager publishes. The bare server (a child process:
``grpc.aio`` with a generic handler, no interceptors) answers every call with the serialized
response the broker gave first, so both send the same bytes. ``--concurrency`` callers on one
channel make ``--calls`` calls each turn; the servers take turns ``--repeats`` times and the
latencies are pooled. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.served import ServedBroker
from broker_client.ibbroker.v1 import connection_pb2 as conn_pb
from broker_client.ibbroker.v1 import connection_service_pb2 as svc
from broker_client.ibbroker.v1 import connection_service_pb2_grpc as svc_grpc
from broker_server.aio import within

GOAL = 1.2
TURN_TIMEOUT = 120.0
"""Seconds one server's turn may take."""
BARE = "/bench.Bare/Get"


def _bare_main(conn: Connection, answer: bytes) -> None:
    async def run() -> None:
        async def get(_request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
            return answer

        handler = grpc.method_handlers_generic_handler(
            "bench.Bare", {"Get": grpc.unary_unary_rpc_method_handler(get)}
        )
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        conn.send(f"127.0.0.1:{port}")
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await server.stop(None)

    asyncio.run(run())


async def _first_answer(address: str) -> bytes:
    """The broker's answer once its gateway is CONNECTED (waits on the state stream)."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = svc_grpc.ConnectionServiceStub(channel)

        async def connected() -> None:
            async for reply in stub.WatchConnectionState(svc.WatchConnectionStateRequest()):
                if reply.event.state == conn_pb.CONNECTION_STATE_CONNECTED:
                    return

        await within(connected(), 30)
        reply = await stub.GetConnectionState(svc.GetConnectionStateRequest(), timeout=10)
        return reply.SerializeToString()


async def _hammer(address: str, method: str, calls: int, concurrency: int) -> list[float]:
    request = svc.GetConnectionStateRequest().SerializeToString()
    latencies: list[float] = []
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary(method)

        async def caller() -> None:
            for _ in range(calls // concurrency):
                start = time.perf_counter()
                await call(request, timeout=10)
                latencies.append(time.perf_counter() - start)

        await call(request, timeout=10)  # connect and warm up
        await within(asyncio.gather(*(caller() for _ in range(concurrency))), TURN_TIMEOUT)
    return latencies


def _quantiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per server per turn")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent callers")
    parser.add_argument("--repeats", type=int, default=2, help="broker/bare alternations")
    args = parser.parse_args()
    broker_s: list[float] = []
    bare_s: list[float] = []
    method = "/ibbroker.v1.ConnectionService/GetConnectionState"
    for _ in range(args.repeats):
        with (
            tempfile.TemporaryDirectory() as tmp,
            ServedBroker(Path(tmp) / "leases.sqlite3") as broker,
        ):
            answer = asyncio.run(_first_answer(broker.address))
            broker_s += asyncio.run(_hammer(broker.address, method, args.calls, args.concurrency))
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_bare_main, args=(child, answer), daemon=True)
        proc.start()
        try:
            if not parent.poll(30):
                raise RuntimeError("the bare server did not start")
            address = parent.recv()
            bare_s += asyncio.run(_hammer(address, BARE, args.calls, args.concurrency))
        finally:
            parent.send("stop")
            proc.join(15)
            if proc.is_alive():
                proc.kill()
    (b50, b99), (r50, r99) = _quantiles(broker_s), _quantiles(bare_s)
    size = len(answer)
    print(
        f"served broker GetConnectionState ({size} B):  p50 {b50:6.2f} ms   p99 {b99:6.2f} ms"
        f"   ({len(broker_s)} calls, {args.concurrency} concurrent)"
    )
    print(
        f"bare grpc.aio, same {size} B answer:       p50 {r50:6.2f} ms   p99 {r99:6.2f} ms"
        f"   ({len(bare_s)} calls)"
    )
    q50, q99 = b50 / r50, b99 / r99
    verdict = "meets" if q99 <= GOAL else "misses"
    print(f"broker / bare: p50 {q50:.2f}   p99 {q99:.2f}   ({verdict} the goal p99 <= {GOAL})")


if __name__ == "__main__":
    main()
