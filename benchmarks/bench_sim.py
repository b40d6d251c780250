"""Round-trip latency: reqCurrentTime through the simulator vs a bare asyncio echo; and the
tick rate one instrument achieves at 100 and 500 ticks/s vs a bare asyncio timer loop.

Both servers run in separate processes (multiprocessing, spawn) on loopback; the clients run
in this process. The simulator's reqCurrentTime limit, pacing limit and market ticker are
turned off, and so is ib_insync's own throttle (``ib.client.MaxRequests = 0``), so the
figure is the protocol path itself. Bounded by ``--count`` and ``--max-seconds``.

    python benchmarks/bench_sim.py [--count 2000] [--max-seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import struct
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WARMUP = 200


AAPL = 265598
TICK_WINDOW = 2.0
"""Seconds over which the tick rate is counted."""


def _sim_process(conn: Connection, tick_rate: float = 0.0) -> None:
    from broker_server.sim.server import SimConfig, SimServer

    async def main() -> None:
        config = SimConfig(
            port=0,
            current_time_min_interval=0.0,
            max_msgs_per_sec=0,
            tick_interval=0.0,
            farm_status_on_connect=False,
            tick_rates=((AAPL, tick_rate),) if tick_rate else (),
        )
        async with SimServer(config) as sim:
            conn.send(sim.port)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def _echo_process(conn: Connection) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Echo, "127.0.0.1", 0)
        conn.send(server.sockets[0].getsockname()[1])
        await loop.run_in_executor(None, conn.recv)
        server.close()

    asyncio.run(main())


class _EchoClient(asyncio.Protocol):
    def __init__(self) -> None:
        self.waiter: asyncio.Future[None] | None = None
        self.expected = 0
        self.got = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.got >= self.expected and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def roundtrip(self, payload: bytes) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        self.expected, self.got = len(payload), 0
        self.transport.write(payload)
        await self.waiter


async def bench(
    echo_port: int, sim_port: int, count: int, deadline: float
) -> tuple[list[float], list[float]]:
    """Alternate batches of echo and sim round trips so drift hits both sides alike."""
    from ib_insync import IB

    loop = asyncio.get_running_loop()
    _, echo = await loop.create_connection(_EchoClient, "127.0.0.1", echo_port)
    ib = IB()
    await ib.connectAsync("127.0.0.1", sim_port, clientId=1, timeout=5)
    ib.client.MaxRequests = 0
    # The same bytes a reqCurrentTime request carries.
    payload = struct.pack(">I", 5) + b"49\x001\x00"
    echo_out: list[float] = []
    sim_out: list[float] = []
    batch = 100
    done = -WARMUP
    while done < count and time.monotonic() < deadline:
        for _ in range(batch):
            start = time.perf_counter()
            await echo.roundtrip(payload)
            if done >= 0:
                echo_out.append(time.perf_counter() - start)
        for _ in range(batch):
            start = time.perf_counter()
            await ib.reqCurrentTimeAsync()
            if done >= 0:
                sim_out.append(time.perf_counter() - start)
        done += batch
    ib.disconnect()
    echo.transport.close()
    return echo_out, sim_out


async def count_ticks(sim_port: int, window: float) -> int:
    """Raw client: subscribe AAPL, count last-price ticks (tickPrice type 4) in ``window``."""
    from broker_server.sim.codec import API_PREFIX, FrameDecoder, encode_msg, frame, split_fields

    reader, writer = await asyncio.open_connection("127.0.0.1", sim_port)
    writer.write(API_PREFIX + frame(b"v157..176"))
    writer.write(encode_msg(71, 2, 1, ""))
    contract = (AAPL, "AAPL", "STK", "", 0.0, "", "", "SMART", "", "USD", "", "")
    writer.write(encode_msg(1, 11, 1, *contract, 0, "", 0, 0, ""))
    frames = FrameDecoder()
    ticks = 0
    end = time.monotonic() + window
    while (left := end - time.monotonic()) > 0:
        try:
            data = await asyncio.wait_for(reader.read(65536), left)
        except TimeoutError:
            break
        if not data:
            break
        for body in frames.feed(data):
            f = split_fields(body)
            if f[0] == "1" and f[3] == "4":
                ticks += 1
    writer.close()
    return ticks


async def timer_rate(rate: float, window: float) -> int:
    """Reference: how many iterations a bare asyncio fixed-schedule loop makes in ``window``."""
    loop = asyncio.get_running_loop()
    due = start = loop.time()
    n = 0
    while loop.time() - start < window:
        due += 1.0 / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        n += 1
    return n


def _spawn(
    target: Callable[..., None], *args: object
) -> tuple[mp.process.BaseProcess, Connection, int]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args), daemon=True)
    proc.start()
    if not parent.poll(15):
        proc.terminate()
        raise RuntimeError(f"{target} did not start")
    port: int = parent.recv()
    return proc, parent, port


def _summary(name: str, samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"{name:<34} n={len(ordered):>5}  median={median * 1e6:8.1f} us  p99={p99 * 1e6:8.1f} us")
    return median, p99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="timed round trips per side")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time cap")
    args = parser.parse_args()

    procs = []
    try:
        echo_proc, echo_ctl, echo_port = _spawn(_echo_process)
        procs.append((echo_proc, echo_ctl))
        sim_proc, sim_ctl, sim_port = _spawn(_sim_process)
        procs.append((sim_proc, sim_ctl))
        deadline = time.monotonic() + args.max_seconds
        echo, sim = asyncio.run(bench(echo_port, sim_port, args.count, deadline))
    finally:
        for proc, ctl in procs:
            ctl.send("stop")
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
    print("loopback, servers in separate processes (spawn), clients in this process")
    echo_median, echo_p99 = _summary("asyncio echo (framed 5-byte msg)", echo)
    sim_median, sim_p99 = _summary("sim reqCurrentTime via ib_insync", sim)
    print(
        f"ratio sim/echo: median {sim_median / echo_median:.2f}x  p99 {sim_p99 / echo_p99:.2f}x "
        f"(aim: under 2x)"
    )
    for rate in (100.0, 500.0):
        proc, ctl, port = _spawn(_sim_process, rate)
        try:
            ticks = asyncio.run(count_ticks(port, TICK_WINDOW))
        finally:
            ctl.send("stop")
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
        reference = asyncio.run(timer_rate(rate, TICK_WINDOW))
        print(
            f"tick rate {rate:>5.0f}/s: sim delivered {ticks / TICK_WINDOW:7.1f}/s, "
            f"bare asyncio timer {reference / TICK_WINDOW:7.1f}/s "
            f"(ratio {ticks / max(1, reference):.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
