"""Market data fan-out: tick latency from the simulator's send to each subscriber's receipt, at
1 and at 500 subscribers of one instrument ticking 100/s (goal p99 <= 20 ms at 500), the
broker's CPU share, the effect of one stopped reader on the others' p99 (goal <= +10 %), and
50 instruments x 20 subscribers: IB lines used at the simulator (must be 50) and broker RSS.

    python benchmarks/bench_market_data.py [--subscribers 500] [--procs 4] [--seconds 4]
        [--stopped-subscribers 50] [--stopped-rounds 10] [--stopped-seconds 1.2]
        [--subscriber-kinds python,node]
        [--phases fanout,stopped,wide]

Processes (multiprocessing, spawn, all on loopback): the simulator runs in this process (it
stamps each trade tick with its send time, RT Volume, epoch milliseconds, and counts lines per
client); the broker (connection manager, market-data runtime, grpc.aio server with the
market-data endpoints, default market-data settings) in its own process; the subscribers in
``--procs`` client processes, each reading its share of the streams and recording, for every
UPDATE whose last trade changed, receipt wall time - the tick's send time. The simulator's
stamp has millisecond resolution (floored), so latencies read up to 1 ms high; the 1-subscriber
run in the same sitting is the reference. Each phase also prints the events per second the
streams received and how many updates conflation merged: when the client processes cannot
read everything (Python gRPC clients read some 10-20k messages/s per core), the latency is
theirs. The clients use ``broker_client.market_data``'s channel options (a small per-stream
window), so a slow reader gets conflated fresh quotes rather than a backlog. Every phase is
bounded by ``--seconds`` and a timeout.

The fan-out phase runs once per ``--subscriber-kinds``: Python processes (grpc.aio) and Node
processes (grpc-js, ``benchmarks/md_subscriber.mjs``, skipped when ``node`` or the Node
client's dependencies are missing), each with its own 1-subscriber reference. Every phase also
prints the CPU the broker and the subscriber processes spent per event received, over the same
window: the side that spends more per event is the limit (a latency figure alone cannot tell,
on a machine shared with other work). Profiles: ``py-spy record --pid PID --native`` on the
broker or a subscriber process during a long ``--seconds`` run (docs/market_data.md).

The stopped-reader phase compares like with like on a shared machine: the same
``--stopped-subscribers`` reading streams (in ``--procs`` processes) stay up through one
unmeasured warm-up round and ``--stopped-rounds`` rounds of each arm, interleaved with the
order rotating: *without*, *with* (one extra stream, opened by a separate client process on its
own channel, its snapshot read and then never read again; the broker keeps it open, under
``too_slow_after``, for the whole round) and *without again* (the noise floor: the same
comparison with no stopped reader on either side). Each round settles ``SETTLE`` seconds, then
measures ``--stopped-seconds``. It prints every round's p99 (and, for the stopped stream, the
events that waited unread and the updates the broker merged for it: proof it was held up), the
median of the rounds per arm, with/without and without-again/without, and the verdict: meets
the goal (<= +10 %), above it but within the noise floor (not resolved), or fails beyond it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AAPL = 265598
SYNTHETIC_BASE = 900_000
WARMUP = 1.0
"""Seconds after all snapshots before latencies are recorded."""
PHASE_TIMEOUT = 120.0
"""Seconds any phase may take before the benchmark gives up."""


# -- broker process ---------------------------------------------------------------------------


def _broker_process(conn: Connection, sim_port: int) -> None:
    import logging

    import grpc

    from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
    from broker_server.config import GatewayConfig, MarketDataConfig, TradingConfig
    from broker_server.domain.clock import SystemClock
    from broker_server.runtime.connections import ConnectionManager
    from broker_server.runtime.market_data import MarketDataManager
    from broker_server.runtime.md_sessions import PooledDataSessions
    from broker_server.runtime.session_pacing import SessionPacers
    from broker_server.services.market_data_service import market_data_servicer

    logging.disable(logging.CRITICAL)

    async def main() -> None:
        manager = ConnectionManager([GatewayConfig(name="paper", port=sim_port, timeout=5)])
        await manager.connect(timeout=10)
        clock = SystemClock()
        config = MarketDataConfig()
        pacers = SessionPacers(TradingConfig(), clock)
        md = MarketDataManager(PooledDataSessions(manager, pacers.pace), config, clock)
        server = grpc.aio.server()
        spb_grpc.add_TradingServiceServicer_to_server(market_data_servicer(md), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        conn.send(port)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # stop
        await md.close()
        await server.stop(0.5)
        await pacers.close()
        await manager.close()

    asyncio.run(main())


# -- client processes -------------------------------------------------------------------------


def _client_process(
    conn: Connection,
    port: int,
    con_ids: list[int],
    per_instrument: int,
    seconds: float,
) -> None:
    import grpc

    from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
    from broker_client.ibbroker.v1 import trading_pb2 as tpb
    from broker_client.ibbroker.v1 import trading_service_pb2 as spb
    from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
    from broker_client.market_data import market_data_channel_options

    snapshot = md_pb.MARKET_DATA_EVENT_KIND_SNAPSHOT
    update = md_pb.MARKET_DATA_EVENT_KIND_UPDATE
    last_field = md_pb.MARKET_DATA_FIELD_LAST

    async def main() -> None:
        # A small receive window per stream (what broker_client.market_data's channels use):
        # a reader that falls behind gets conflated fresh quotes instead of a backlog.
        channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=market_data_channel_options())
            for _ in range(4)
        ]
        stubs = [spb_grpc.TradingServiceStub(c) for c in channels]
        calls = []
        for i, con_id in enumerate(c for c in con_ids for _ in range(per_instrument)):
            request = spb.WatchMarketDataRequest(contract=tpb.Contract(con_id=con_id), owner="b")
            calls.append(stubs[i % len(stubs)].WatchMarketData(request))
        latencies: list[float] = []
        counts = {"events": 0, "conflated": 0}
        measuring = asyncio.Event()
        ready = 0
        all_ready = asyncio.Event()

        async def read(call: Any) -> None:
            nonlocal ready
            async for response in call:
                event = response.event
                if event.kind == snapshot:
                    ready += 1
                    if ready == len(calls):
                        all_ready.set()
                    continue
                if measuring.is_set():
                    counts["events"] += 1
                    counts["conflated"] += event.conflated_updates
                if (
                    measuring.is_set()
                    and event.kind == update
                    and last_field in event.changed
                    and event.quote.HasField("last_trade_time")
                ):
                    sent = event.quote.last_trade_time.ToNanoseconds() / 1e9
                    latencies.append(time.time() - sent)

        tasks = [asyncio.create_task(read(call)) for call in calls]
        await asyncio.wait_for(all_ready.wait(), PHASE_TIMEOUT)
        conn.send("ready")
        conn.recv()  # go
        await asyncio.sleep(WARMUP)  # streams and windows settle before anything is recorded
        measuring.set()
        await asyncio.sleep(seconds)
        measuring.clear()
        for task in tasks:
            task.cancel()
        for call in calls:
            call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in channels:
            await c.close()
        conn.send((latencies, counts))

    asyncio.run(main())


# -- the stopped-reader phase: interleaved rounds on long-lived processes ---------------------

ARMS = ("without", "with", "without2")
"""The stopped-reader phase's arms: ``with`` has one extra stream nobody reads; ``without2`` is
a second arm without it, the noise floor (A vs A)."""
SETTLE = 0.5
"""Seconds between a round's set-up (the stopped stream opened, or nothing) and its measuring:
about 50 ticks, more than the ~20 events that fill a stopped stream's receive window."""


def _round_client_process(conn: Connection, port: int, con_id: int, count: int) -> None:
    """``count`` streams of ``con_id``, read in full and kept open across rounds; on "start" a
    round's recording begins, on "stop" its latencies and counts go back; "exit" ends."""
    import grpc

    from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
    from broker_client.ibbroker.v1 import trading_pb2 as tpb
    from broker_client.ibbroker.v1 import trading_service_pb2 as spb
    from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
    from broker_client.market_data import market_data_channel_options

    snapshot = md_pb.MARKET_DATA_EVENT_KIND_SNAPSHOT
    update = md_pb.MARKET_DATA_EVENT_KIND_UPDATE
    last_field = md_pb.MARKET_DATA_FIELD_LAST

    async def main() -> None:
        channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=market_data_channel_options())
            for _ in range(4)
        ]
        stubs = [spb_grpc.TradingServiceStub(c) for c in channels]
        request = spb.WatchMarketDataRequest(contract=tpb.Contract(con_id=con_id), owner="b")
        calls = [stubs[i % len(stubs)].WatchMarketData(request) for i in range(count)]
        latencies: list[float] = []
        counts = {"events": 0, "conflated": 0}
        measuring = False
        ready = 0
        all_ready = asyncio.Event()

        async def read(call: Any) -> None:
            nonlocal ready
            async for response in call:
                event = response.event
                if event.kind == snapshot:
                    ready += 1
                    if ready == len(calls):
                        all_ready.set()
                    continue
                if not measuring:
                    continue
                counts["events"] += 1
                counts["conflated"] += event.conflated_updates
                if (
                    event.kind == update
                    and last_field in event.changed
                    and event.quote.HasField("last_trade_time")
                ):
                    sent = event.quote.last_trade_time.ToNanoseconds() / 1e9
                    latencies.append(time.time() - sent)

        tasks = [asyncio.create_task(read(call)) for call in calls]
        await asyncio.wait_for(all_ready.wait(), PHASE_TIMEOUT)
        conn.send("ready")
        loop = asyncio.get_running_loop()
        while (command := await loop.run_in_executor(None, conn.recv)) != "exit":
            if command == "start":
                latencies, counts = [], {"events": 0, "conflated": 0}
                measuring = True
            else:  # stop
                measuring = False
                conn.send((latencies, counts))
        for task in tasks:
            task.cancel()
        for call in calls:
            call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in channels:
            await c.close()

    asyncio.run(main())


HELD_UP = 20
"""Updates merged in one event that show the stopped stream was held up (not a stray merge)."""


def _stopped_reader_process(conn: Connection, port: int, con_id: int) -> None:
    """The stopped reader, a client of its own: on "open" it opens a stream on its own channel
    (the client's market-data options), reads the snapshot and never reads again; on "close"
    (after the round's measuring) it reports whether the broker had ended the stream, else
    drains it to show it was held up: the events that waited unread, then the first event the
    broker had to conflate and how many updates it merged. Then it cancels the stream."""
    import grpc

    from broker_client.ibbroker.v1 import market_data_pb2 as md_pb
    from broker_client.ibbroker.v1 import trading_pb2 as tpb
    from broker_client.ibbroker.v1 import trading_service_pb2 as spb
    from broker_client.ibbroker.v1 import trading_service_pb2_grpc as spb_grpc
    from broker_client.market_data import market_data_channel_options

    async def main() -> None:
        channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=market_data_channel_options()
        )
        stub = spb_grpc.TradingServiceStub(channel)
        request = spb.WatchMarketDataRequest(contract=tpb.Contract(con_id=con_id), owner="stop")
        loop = asyncio.get_running_loop()

        async def open_stream() -> Any:
            call = stub.WatchMarketData(request)
            async with asyncio.timeout(PHASE_TIMEOUT):
                while (await call.read()).event.kind != md_pb.MARKET_DATA_EVENT_KIND_SNAPSHOT:
                    pass
            return call

        # Connect before the first round: the first stream of a fresh connection may run
        # before the small per-stream window is settled, and would not be held up at once.
        (await open_stream()).cancel()
        conn.send("ready")
        call: Any = None
        while (command := await loop.run_in_executor(None, conn.recv)) != "exit":
            if command == "open":
                call = await open_stream()
                conn.send("opened")  # from here on nobody reads this stream
            else:  # close: was the stream really held up? Drain what waited unread.
                ended = call.done()
                buffered = merged = 0
                try:
                    async with asyncio.timeout(1.0):
                        # The broker conflated what it could not send: the first event after
                        # the buffered ones carries how many updates it merged (a held-up
                        # stream shows ~100 a second; an odd merged update while it still
                        # flowed shows a few).
                        while not ended and merged < HELD_UP and buffered < 1000:
                            response = await call.read()
                            if response is grpc.aio.EOF:
                                break
                            merged = max(merged, response.event.conflated_updates)
                            buffered += 1
                except TimeoutError:
                    pass
                except grpc.aio.AioRpcError:
                    ended = True  # ended by the broker (SUBSCRIBER_TOO_SLOW) while draining
                call.cancel()
                conn.send((ended, buffered, merged))
        await channel.close()

    asyncio.run(main())


async def _ask(pipe: Connection, message: str) -> Any:
    """Send ``message`` to a child process and wait (bounded) for its answer."""
    pipe.send(message)
    loop = asyncio.get_running_loop()
    if not await loop.run_in_executor(None, pipe.poll, PHASE_TIMEOUT):
        raise RuntimeError(f"a child process did not answer {message!r} in time")
    return pipe.recv()


async def _phase_stopped(
    ctx: Any, port: int, broker_pid: int, n: int, procs: int, rounds: int, seconds: float
) -> None:
    """``rounds`` rounds of each arm (``ARMS``) after one unmeasured warm-up round, the arms'
    order rotating from cycle to cycle so that none always runs first. The same ``n`` reading
    subscribers (in ``procs`` processes) stay up through every round; the stopped reader is a
    separate client process, so the reading processes do the same work in every arm and only
    the broker (and the machine) sees the difference. Prints per-round p99s, their median per
    arm, the ratio with/without, the noise floor without2/without and the verdict."""
    procs = max(1, min(procs, n))
    pipes: list[Connection] = []
    children: list[Any] = []
    for p in range(procs):
        ours, theirs = ctx.Pipe()
        count = n // procs + (p < n % procs)
        children.append(ctx.Process(target=_round_client_process, args=(theirs, port, AAPL, count)))
        pipes.append(ours)
    stop_pipe, theirs = ctx.Pipe()
    children.append(ctx.Process(target=_stopped_reader_process, args=(theirs, port, AAPL)))
    for child in children:
        child.start()
    loop = asyncio.get_running_loop()
    try:
        for pipe in [*pipes, stop_pipe]:
            if not await loop.run_in_executor(None, pipe.poll, PHASE_TIMEOUT):
                raise RuntimeError("a client process did not get its snapshots in time")
            pipe.recv()
        p99s: dict[str, list[float]] = {arm: [] for arm in ARMS}
        pooled: dict[str, list[float]] = {arm: [] for arm in ARMS}
        schedule = [ARMS[0]] + [
            ARMS[(c + i) % len(ARMS)] for c in range(rounds) for i in range(len(ARMS))
        ]
        for number, arm in enumerate(schedule):
            if arm == "with":
                await _ask(stop_pipe, "open")
            await asyncio.sleep(SETTLE)
            cpu0, wall0 = _cpu_seconds(broker_pid), time.monotonic()
            for pipe in pipes:
                pipe.send("start")
            await asyncio.sleep(seconds)
            latencies: list[float] = []
            events = conflated = 0
            for pipe in pipes:
                got, counts = await _ask(pipe, "stop")
                latencies.extend(got)
                events += counts["events"]
                conflated += counts["conflated"]
            cpu = (_cpu_seconds(broker_pid) - cpu0) / (time.monotonic() - wall0)
            note = ""
            if arm == "with":
                ended, buffered, merged = await _ask(stop_pipe, "close")
                if ended:
                    note = "  stopped stream: ended by the broker"
                elif merged >= HELD_UP:
                    note = f"  stopped stream: {buffered - 1} events unread, {merged} merged"
                else:
                    note = f"  stopped stream NOT held up (most merged in one event: {merged})"
            p50, p99, _ = _stats(latencies)
            label = "warm-up, not counted" if number == 0 else arm
            print(
                f"    round {number:2d} {label:<20} n={len(latencies):>5}  p50={p50 * 1e3:6.2f} "
                f"ms  p99={p99 * 1e3:6.2f} ms  {events / seconds:6.0f} events/s "
                f"({conflated / seconds:4.0f} merged)  broker CPU {cpu * 100:4.0f} %{note}"
            )
            if number:
                p99s[arm].append(p99)
                pooled[arm].extend(latencies)
    finally:
        for pipe in pipes:
            pipe.send("exit")
        stop_pipe.send("exit")
        for child in children:
            child.join(10)
            if child.is_alive():
                child.kill()
    med = {arm: statistics.median(values) for arm, values in p99s.items()}
    effect = med["with"] / med["without"] - 1
    noise = med["without2"] / med["without"] - 1
    print(
        f"{n} subscribers, median p99 of {rounds} rounds: without {med['without'] * 1e3:.2f} ms, "
        f"with one stopped reader {med['with'] * 1e3:.2f} ms, without (again) "
        f"{med['without2'] * 1e3:.2f} ms"
    )
    # A round's p99 is set by its slowest one or two ticks (all streams of a tick share its
    # delay), so it jumps from round to round; the p99 of each arm's pooled samples is steadier.
    pool = {arm: _stats(values)[1] for arm, values in pooled.items()}
    print(
        f"pooled over the rounds: p99 without {pool['without'] * 1e3:.2f} ms, with "
        f"{pool['with'] * 1e3:.2f} ms ({(pool['with'] / pool['without'] - 1) * 100:+.1f} %), "
        f"without again {pool['without2'] * 1e3:.2f} ms "
        f"({(pool['without2'] / pool['without'] - 1) * 100:+.1f} %)"
    )
    if effect <= 0.10:
        verdict = "meets the goal"
    elif effect <= 0.10 + abs(noise):
        verdict = "above +10 % but within the noise floor: not resolved"
    else:
        verdict = "FAILS the goal beyond the noise floor"
    if abs(noise) > 0.10:
        verdict += "; the noise floor is wider than the goal, so this run cannot resolve 10 %"
    print(
        f"stopped reader: others' p99 {effect * 100:+.1f} % (goal <= +10 %); noise floor "
        f"(without again vs without) {noise * 100:+.1f} %: {verdict}"
    )


# -- measuring --------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stats(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    if not ordered:
        return (float("nan"),) * 3
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


class _PythonClients:
    """One subscriber process in Python (grpc.aio), talking over a multiprocessing pipe."""

    def __init__(self, ctx: Any, port: int, share: list[int], each: int, seconds: float) -> None:
        self._pipe, theirs = ctx.Pipe()
        self._child = ctx.Process(target=_client_process, args=(theirs, port, share, each, seconds))
        self._child.start()
        self.pid: int = self._child.pid

    async def ready(self) -> None:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self._pipe.poll, PHASE_TIMEOUT):
            raise RuntimeError("a client process did not get its snapshots in time")
        self._pipe.recv()

    def go(self) -> None:
        self._pipe.send("go")

    async def result(self) -> tuple[list[float], dict[str, int]]:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self._pipe.poll, PHASE_TIMEOUT):
            raise RuntimeError("a client process did not report in time")
        got: tuple[list[float], dict[str, int]] = self._pipe.recv()
        self._child.join(10)
        return got


class _NodeClients:
    """One subscriber process in Node (grpc-js): benchmarks/md_subscriber.mjs over stdio."""

    SCRIPT = Path(__file__).resolve().parent / "md_subscriber.mjs"

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self.pid = proc.pid

    @classmethod
    def available(cls) -> bool:
        """``node`` is on PATH and the Node client's dependencies are installed."""
        grpc_js = cls.SCRIPT.parents[1] / "clients" / "node" / "node_modules" / "@grpc" / "grpc-js"
        return shutil.which("node") is not None and grpc_js.is_dir()

    @classmethod
    async def start(cls, port: int, share: list[int], each: int, seconds: float) -> _NodeClients:
        args = [str(port), ",".join(map(str, share)), str(each), str(seconds), str(WARMUP)]
        proc = await asyncio.create_subprocess_exec(
            "node", str(cls.SCRIPT), *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=1 << 26,  # the result line holds every latency
        )  # fmt: skip
        return cls(proc)

    async def _line(self) -> bytes:
        assert self._proc.stdout is not None
        async with asyncio.timeout(PHASE_TIMEOUT):
            line = await self._proc.stdout.readline()
        if not line:
            raise RuntimeError("a Node subscriber process ended early")
        return line

    async def ready(self) -> None:
        await self._line()

    def go(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(b"go\n")

    async def result(self) -> tuple[list[float], dict[str, int]]:
        data = json.loads(await self._line())
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        async with asyncio.timeout(10):
            await self._proc.wait()
            await self._proc.stdin.wait_closed()
        return data["latencies"], {"events": data["events"], "conflated": data["conflated"]}


async def _phase(
    ctx: Any,
    port: int,
    broker_pid: int,
    con_ids: list[int],
    per_instrument: int,
    procs: int,
    seconds: float,
    kind: str = "python",
) -> tuple[list[float], float]:
    """Run one phase with ``procs`` subscriber processes of ``kind`` (python, node); returns
    the pooled latencies and the broker's CPU share while measuring (and prints what the
    subscribers received, and the CPU each side spent per event)."""
    total = len(con_ids) * per_instrument
    procs = max(1, min(procs, total))
    children: list[Any] = []
    for p in range(procs):
        # Split the streams evenly: by instrument when there are many, else by count.
        if len(con_ids) >= procs:
            share, each = con_ids[p::procs], per_instrument
        else:
            share, each = con_ids, per_instrument // procs + (p < per_instrument % procs)
        if kind == "node":
            children.append(await _NodeClients.start(port, share, each, seconds))
        else:
            children.append(_PythonClients(ctx, port, share, each, seconds))
    for child in children:
        await child.ready()
    cpu0, wall0 = _cpu_seconds(broker_pid), time.monotonic()
    clients0 = sum(_cpu_seconds(c.pid) for c in children)
    for child in children:
        child.go()
    latencies: list[float] = []
    events = conflated = 0
    # CPU of broker and subscribers over the same window (warm-up and measuring): per event
    # delivered, it tells which side is the limit.
    await asyncio.sleep(WARMUP + seconds)
    clients_cpu = sum(_cpu_seconds(c.pid) for c in children) - clients0
    broker_cpu = _cpu_seconds(broker_pid) - cpu0
    window = time.monotonic() - wall0
    for child in children:
        got, counts = await child.result()
        latencies.extend(got)
        events += counts["events"]
        conflated += counts["conflated"]
    rate = events / seconds
    print(
        f"    {total} streams received {rate:8.0f} events/s "
        f"({conflated / seconds:8.0f} updates/s merged by conflation); CPU per event "
        f"received: broker {broker_cpu / window / max(rate, 1) * 1e6:5.1f} us, subscribers "
        f"{clients_cpu / window / max(rate, 1) * 1e6:5.1f} us ({clients_cpu / window * 100:.0f} "
        f"% of a core in {procs} processes)"
    )
    return latencies, broker_cpu / window


def _line(name: str, latencies: list[float], cpu: float | None = None) -> tuple[float, float]:
    p50, p99, worst = _stats(latencies)
    extra = f"  broker CPU {cpu * 100:5.1f} % of a core" if cpu is not None else ""
    print(
        f"{name:<44} n={len(latencies):>6}  p50={p50 * 1e3:6.2f} ms  p99={p99 * 1e3:6.2f} ms  "
        f"max={worst * 1e3:7.2f} ms{extra}"
    )
    return p50, p99


async def run(args: argparse.Namespace) -> int:
    from broker_server.sim.market import Instrument
    from broker_server.sim.server import SimConfig, SimServer

    instruments = [AAPL] + [SYNTHETIC_BASE + i for i in range(49)]
    sim = SimServer(
        SimConfig(port=0, tick_interval=0, current_time_min_interval=0, tick_rates=((AAPL, 100.0),))
    )
    for i in range(49):
        sim.market.instruments.append(
            Instrument(
                SYNTHETIC_BASE + i, f"SYN{i}", "STK", "SMART", "USD", f"SYN{i}", "NMS",
                50.0 + i, 0.01, f"SYNTHETIC {i}", valid_exchanges="SMART",
            )
        )  # fmt: skip
    sim.market.__post_init__()  # quotes for the added instruments (keeps the seeded walk)
    await sim.start()
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    broker = ctx.Process(target=_broker_process, args=(theirs, sim.port))
    broker.start()
    loop = asyncio.get_running_loop()
    try:
        if not await loop.run_in_executor(None, ours.poll, PHASE_TIMEOUT):
            raise RuntimeError("the broker did not start")
        port = ours.recv()
        assert broker.pid is not None
        print(f"one instrument at 100 ticks/s; {args.procs} client processes; {args.seconds:g} s")
        kinds = [k for k in args.subscriber_kinds.split(",") if k and "fanout" in args.phases]
        if "node" in kinds and not _NodeClients.available():
            print(
                "node subscribers skipped: needs `node` and clients/node/node_modules (make test)"
            )
            kinds.remove("node")
        # Each kind of subscriber process, the 1-subscriber reference and the fan-out
        # alternating, in the same run (the machine's load changes from one minute to the next).
        for kind in kinds:
            one, cpu1 = await _phase(ctx, port, broker.pid, [AAPL], 1, 1, args.seconds, kind)
            _line(f"1 subscriber, {kind} (reference)", one, cpu1)
            many, cpu_n = await _phase(
                ctx, port, broker.pid, [AAPL], args.subscribers, args.procs, args.seconds, kind,
            )  # fmt: skip
            _, p99_many = _line(f"{args.subscribers} subscribers, {kind}", many, cpu_n)
            lines_one = sum(sim.market_data_lines().values())
            print(
                f"IB lines at the simulator for {args.subscribers} subscribers: {lines_one} "
                f"(must be 1); p99 {p99_many * 1e3:.2f} ms (goal <= 20 ms)"
            )
        if "stopped" in args.phases:
            # At a size the client processes read in full (a saturated reader measures itself),
            # interleaved rounds without/with/without-again (the noise floor).
            await _phase_stopped(
                ctx, port, broker.pid, args.stopped_subscribers, args.procs,
                args.stopped_rounds, args.stopped_seconds,
            )  # fmt: skip
        if "wide" in args.phases:
            rss0 = _rss_mib(broker.pid)
            wide, cpu_w = await _phase_wide(ctx, port, broker.pid, instruments, args, sim)
            print(
                f"50 instruments x 20 subscribers: IB lines at the simulator {wide} (must be 50); "
                f"broker RSS {_rss_mib(broker.pid):.1f} MiB (before: {rss0:.1f} MiB); "
                f"broker CPU {cpu_w * 100:.1f} % of a core"
            )
    finally:
        ours.send("stop")
        broker.join(20)
        await sim.stop()
    return 0


async def _phase_wide(
    ctx: Any, port: int, pid: int, instruments: list[int], args: argparse.Namespace, sim: Any
) -> tuple[int, float]:
    for con_id in instruments[1:]:
        sim.set_tick_rate(con_id, 4.0)
    lines: list[int] = []

    async def count_lines() -> None:
        # Sample the simulator's line count while the 1,000 streams are open.
        for _ in range(int(PHASE_TIMEOUT * 10)):
            lines.append(sum(sim.market_data_lines().values()))
            await asyncio.sleep(0.1)

    counter = asyncio.create_task(count_lines())
    try:
        latencies, cpu = await _phase(ctx, port, pid, instruments, 20, args.procs, args.seconds)
    finally:
        counter.cancel()
    _line("50 x 20 subscribers (latency)", latencies)
    return max(lines, default=0), cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--stopped-subscribers", type=int, default=50)
    parser.add_argument(
        "--stopped-rounds", type=int, default=10, help="measured rounds of each stopped-phase arm"
    )
    parser.add_argument(
        "--stopped-seconds", type=float, default=1.2, help="measuring time of a stopped round"
    )
    parser.add_argument(
        "--subscriber-kinds",
        default="python,node",
        help="subscriber processes of the fan-out phase, each run in turn: python (grpc.aio), "
        "node (grpc-js, benchmarks/md_subscriber.mjs)",
    )
    parser.add_argument(
        "--phases",
        default="fanout,stopped,wide",
        help="comma-separated phases to run: fanout (1 and N subscribers), stopped, wide",
    )
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
