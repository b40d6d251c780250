"""TradingService figures, each next to a reference measured in the same run:

- GetCurrentTime through the broker vs ib_insync's reqCurrentTimeAsync straight to the gateway
  vs a bare grpc.aio unary hop (the same RPC answered at once by a stub server): the broker's
  overhead over direct ib_insync, per bare hop (goal <= 1.2);
- PlaceOrder (LMT, answered once IB acknowledged it) through the broker vs ib_insync placeOrder
  to Submitted;
- journaled orders/s with 16 concurrent clients (one PROXIED lease each) vs raw SQLite
  commits/s on the same disk.

The broker runs as ``python -m broker_server serve --config FILE`` in a child process (the real
CLI and app), aimed at a simulator in this process (reqCurrentTime unthrottled, no 50 msg/s
disconnect, so ib_insync's ``MaxRequests = 0`` is used against the simulator only). Latencies
are sequential calls spaced 25 ms apart, under the 45 msg/s the broker paces each session to,
so they measure the round trip and not the pacing. Every loop is bounded in count and time.

    python benchmarks/bench_trading.py [--calls 200] [--orders 100] [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
import ib_insync

from benchmarks.bench_leases import raw_rates
from broker_client.ibbroker.v1 import lease_pb2
from broker_client.ibbroker.v1 import lease_service_pb2 as lpb
from broker_client.ibbroker.v1 import lease_service_pb2_grpc as lgrpc
from broker_client.ibbroker.v1 import trading_pb2 as pb
from broker_client.ibbroker.v1 import trading_service_pb2 as spb
from broker_client.ibbroker.v1 import trading_service_pb2_grpc as sgrpc
from broker_server.sim.config import SimConfig
from broker_server.sim.server import SimServer

ROOT = Path(__file__).resolve().parents[1]
SPACING = 0.025
"""Seconds between sequential calls (40/s, under the broker's 45 msg/s per session)."""
AAPL = pb.Contract(
    symbol="AAPL", security_type=pb.SECURITY_TYPE_STOCK, exchange="SMART", currency="USD"
)


class Child:
    """``ibbroker serve --config FILE`` in a child process; the address from its JSON log."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.address = ""
        self._ready = threading.Event()

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in ("IBBROKER_STORE", "IBBROKER_LISTEN", "IB_HOST", "IB_PORT", "IB_CLIENT_ID"):
            env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "broker_server", "serve", "--config", str(self.config)],
            cwd=ROOT, env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(60):
            raise RuntimeError("the broker did not start within 60 s")

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            if '"grpc_listening"' in line:
                self.address = json.loads(line)["address"]
                self._ready.set()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)


async def timed(
    call: Callable[[], Awaitable[Any]], n: int, spacing: float = SPACING
) -> list[float]:
    """Latencies of ``n`` sequential calls, one started every ``spacing`` seconds at most."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        took = time.perf_counter() - start
        out.append(took)
        if took < spacing:
            await asyncio.sleep(spacing - took)
    return out


async def _now(request: spb.GetCurrentTimeRequest, context: Any) -> spb.GetCurrentTimeResponse:
    return spb.GetCurrentTimeResponse()


BARE = grpc.method_handlers_generic_handler(
    "ibbroker.v1.TradingService",
    {
        "GetCurrentTime": grpc.unary_unary_rpc_method_handler(
            _now,
            request_deserializer=spb.GetCurrentTimeRequest.FromString,
            response_serializer=spb.GetCurrentTimeResponse.SerializeToString,
        )
    },
)
"""A TradingService that answers GetCurrentTime at once: the bare gRPC hop."""


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p99(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.99) - 1)] * 1000


def row(name: str, samples: list[float], note: str = "") -> None:
    print(
        f"{name:<44} p50 {p50(samples):7.2f} ms   p99 {p99(samples):7.2f} ms   (n={len(samples)}) {note}"
    )


async def concurrent_orders(address: str, clients: int, seconds: float) -> tuple[float, int]:
    """Orders/s (each journaled before it is sent, answered once acknowledged) from ``clients``
    concurrent strategies, each with its own channel and PROXIED lease."""
    channels = [grpc.aio.insecure_channel(address) for _ in range(clients)]
    leases = []
    for i, ch in enumerate(channels):
        reply = await lgrpc.LeaseServiceStub(ch).AcquireLease(
            lpb.AcquireLeaseRequest(owner=f"bench-{i}", mode=lease_pb2.LEASE_MODE_PROXIED),
            timeout=30,
        )
        leases.append(reply.lease)
    done = 0
    failed: dict[str, int] = {}
    end = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        nonlocal done
        stub = sgrpc.TradingServiceStub(channels[i])
        lease = leases[i]
        for _ in range(100_000):
            if time.perf_counter() >= end:
                return
            request = spb.PlaceOrderRequest(
                lease_id=lease.lease_id, epoch=lease.epoch, owner=f"bench-{i}",
                idempotency_key=uuid.uuid4().hex,
                single=pb.OrderSpec(contract=AAPL, side=pb.ORDER_SIDE_BUY, quantity="1",
                                    order_type=pb.ORDER_TYPE_LIMIT, limit_price="1.00"),
            )  # fmt: skip
            try:
                await stub.PlaceOrder(request, timeout=10)
                done += 1
            except grpc.aio.AioRpcError as err:
                failed[err.code().name] = failed.get(err.code().name, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    elapsed = time.perf_counter() - start
    for ch in channels:
        await ch.close()
    if failed:
        print(f"  failed calls (not counted): {failed}")
    return done / elapsed, done


async def main(args: argparse.Namespace) -> None:
    logging.disable(logging.CRITICAL)
    sim_cfg = SimConfig(
        port=0, current_time_min_interval=0.0, max_msgs_per_sec=100_000, tick_interval=0
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with SimServer(sim_cfg) as sim:
            config = folder / "broker.toml"
            config.write_text(
                f'[server]\nlisten = "127.0.0.1:0"\nmetrics_log_interval = 0\n'
                f'[store]\npath = "{folder / "broker.sqlite3"}"\n'
                f'[gateways.paper]\nhost = "127.0.0.1"\nport = {sim.port}\n'
            )
            child = Child(config)
            await asyncio.to_thread(child.start)
            try:
                await run(args, sim, child.address, folder)
            finally:
                await asyncio.to_thread(child.stop)


async def run(args: argparse.Namespace, sim: SimServer, address: str, folder: Path) -> None:
    # Direct ib_insync, its pacing off (simulator only).
    ib = ib_insync.IB()
    ib.client.MaxRequests = 0
    await ib.connectAsync("127.0.0.1", sim.port, clientId=7, timeout=20)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((BARE,))
    bare_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with (
        grpc.aio.insecure_channel(address) as ch,
        grpc.aio.insecure_channel(f"127.0.0.1:{bare_port}") as bare_ch,
    ):
        trading, bare = sgrpc.TradingServiceStub(ch), sgrpc.TradingServiceStub(bare_ch)
        for _ in range(20):  # warm up: the data session opens on first use
            await trading.GetCurrentTime(spb.GetCurrentTimeRequest(), timeout=30)
            await bare.GetCurrentTime(spb.GetCurrentTimeRequest())
            await ib.reqCurrentTimeAsync()
        broker_t = await timed(
            lambda: trading.GetCurrentTime(spb.GetCurrentTimeRequest(), timeout=10), args.calls
        )
        direct_t = await timed(ib.reqCurrentTimeAsync, args.calls)
        bare_t = await timed(lambda: bare.GetCurrentTime(spb.GetCurrentTimeRequest()), args.calls)
        print("GetCurrentTime")
        row("  through the broker (gRPC + data session)", broker_t)
        row("  direct ib_insync reqCurrentTimeAsync", direct_t)
        row("  bare grpc.aio unary hop", bare_t)
        over = (p50(broker_t) - p50(direct_t)) / p50(bare_t)
        print(
            f"  broker overhead over direct ib_insync, per bare hop (p50): {over:.2f}   (goal <= 1.2)"
        )

        lease = (
            await lgrpc.LeaseServiceStub(ch).AcquireLease(
                lpb.AcquireLeaseRequest(owner="bench", mode=lease_pb2.LEASE_MODE_PROXIED),
                timeout=30,
            )
        ).lease

        async def place() -> None:
            reply = await trading.PlaceOrder(
                spb.PlaceOrderRequest(
                    lease_id=lease.lease_id, epoch=lease.epoch, owner="bench",
                    idempotency_key=uuid.uuid4().hex,
                    single=pb.OrderSpec(contract=AAPL, side=pb.ORDER_SIDE_BUY, quantity="1",
                                        order_type=pb.ORDER_TYPE_LIMIT, limit_price="1.00"),
                ),
                timeout=10,
            )  # fmt: skip
            assert reply.order.state == pb.ORDER_STATE_ACKNOWLEDGED, reply.order.state

        contract = ib_insync.Stock("AAPL", "SMART", "USD")

        async def direct_place() -> None:
            trade = ib.placeOrder(contract, ib_insync.LimitOrder("BUY", 1, 1.0))
            async with asyncio.timeout(10):
                while trade.orderStatus.status != "Submitted":
                    await trade.statusEvent

        await place()
        await direct_place()
        broker_p = await timed(place, args.orders)
        direct_p = await timed(direct_place, args.orders)
        print("PlaceOrder LMT, until IB acknowledged it")
        row("  through the broker (journal fsync + IB)", broker_p)
        row("  direct ib_insync placeOrder -> Submitted", direct_p)
        print(f"  broker / direct (p50): {p50(broker_p) / p50(direct_p):.2f}")
    ib.disconnect()
    await server.stop(None)
    raw_before = await asyncio.to_thread(raw_rates, folder / "raw.sqlite3", args.seconds)
    rate, n = await concurrent_orders(address, args.clients, args.seconds)
    raw_after = await asyncio.to_thread(raw_rates, folder / "raw.sqlite3", args.seconds)
    raw = statistics.median(raw_before + raw_after)
    print(f"Journaled orders with {args.clients} concurrent clients (one PROXIED lease each)")
    print(f"  orders/s through the broker: {rate:8.0f}   ({n} orders in {args.seconds} s)")
    print(f"  raw SQLite commits/s (WAL, synchronous=FULL, same disk): {raw:8.0f}")
    print(f"  orders/s per raw commit/s: {rate / raw:.2f}   (above 1: group commit)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args()))
